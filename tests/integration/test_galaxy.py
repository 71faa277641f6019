"""The collection as users get it: built with ansible-galaxy, installed from
the tarball, documented by ansible-doc, run from the installed copy, packed
into an execution environment by ansible-builder, with a changelog that
antsibull-changelog accepts.

Every ansible command here is given ANSIBLE_COLLECTIONS_PATH explicitly, so a
copy of the collection installed elsewhere (~/.ansible/collections) can
neither stand in for the one under test nor hide it.
"""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile

import pytest
import yaml

import sandbox
from playbook import run_playbook

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
NAMESPACE, NAME = "rectorat", "thunderbird"
FQCN = NAMESPACE + "." + NAME
# Plugin folders whose files are not plugins with their own documentation.
UNDOCUMENTED_DIRS = ("module_utils", "doc_fragments", "action", "plugin_utils")


def galaxy_version():
    with open(os.path.join(REPO, "galaxy.yml")) as f:
        return yaml.safe_load(f)["version"]


def tool(name, *args, collections=None, cwd=None, check=True):
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", NO_COLOR="1",
               PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    if collections is not None:
        env["ANSIBLE_COLLECTIONS_PATH"] = collections
    proc = subprocess.run([os.path.join(BIN, name)] + list(args), env=env, cwd=cwd or REPO,
                          capture_output=True, text=True, timeout=600, check=False)
    if check:
        assert proc.returncode == 0, "%s %s\n%s\n%s" % (name, args, proc.stdout[-4000:], proc.stderr[-4000:])
    return proc


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def collection_dir(collections):
    return os.path.join(collections, "ansible_collections", NAMESPACE, NAME)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The collection built from this checkout and installed from its tarball."""
    top = tmp_path_factory.mktemp("galaxy")
    build, installed = str(top / "build"), str(top / "installed")
    tool("ansible-galaxy", "collection", "build", "--force", "--output-path", build, REPO, collections=installed)
    tarball = os.path.join(build, "%s-%s-%s.tar.gz" % (NAMESPACE, NAME, galaxy_version()))
    assert os.path.isfile(tarball), os.listdir(build)
    tool("ansible-galaxy", "collection", "install", "--force", "-p", installed, tarball, collections=installed)
    return {"tarball": tarball, "collections": installed, "top": str(top)}


@pytest.fixture(scope="module")
def under_test(built):
    """The installed copy this test run is about: scripts/test's, else ours."""
    return os.environ.get("RECTORAT_COLLECTIONS_PATH") or built["collections"]


# --- build and install ------------------------------------------------------------

def test_tarball_holds_the_collection_and_none_of_the_checkouts_clutter(built):
    with tarfile.open(built["tarball"]) as tar:
        names = set(m.name.rstrip("/") for m in tar.getmembers())
        manifest = json.load(tar.extractfile("MANIFEST.json"))
    for needed in ("MANIFEST.json", "FILES.json", "README.md", "meta/runtime.yml",
                   "meta/execution-environment.yml", "meta/ee-requirements.txt",
                   "plugins/modules/thunderbird_info.py", "plugins/modules/thunderbird_offline.py",
                   "roles/thunderbird_offline/meta/argument_specs.yml", "changelogs/config.yaml"):
        assert needed in names, needed
    clutter = [n for n in names if n.split("/")[0] in (".venv", ".tmp", ".git", ".hypothesis", ".pytest_cache")
               or "__pycache__" in n or n.endswith((".pyc", ".tar.gz"))]
    assert clutter == []
    info = manifest["collection_info"]
    assert (info["namespace"], info["name"], info["version"]) == (NAMESPACE, NAME, galaxy_version())


def test_installed_copy_matches_its_manifest_file_by_file(built):
    root = collection_dir(built["collections"])
    with open(os.path.join(root, "FILES.json")) as f:
        files = [e for e in json.load(f)["files"] if e["ftype"] == "file"]
    assert len(files) > 20
    assert [e["name"] for e in files if sha256_file(os.path.join(root, e["name"])) != e["chksum_sha256"]] == []
    proc = tool("ansible-galaxy", "collection", "verify", "--offline", "-p", built["collections"], FQCN,
                collections=built["collections"])
    assert "Installed collection found at '%s'" % root in proc.stdout, proc.stdout
    assert "Successfully verified" in proc.stdout


def a_profile(tmp_path):
    home = tmp_path / "home"
    root = home / ".thunderbird"
    sandbox.write_profile(str(root / "k2x9.default-esr"), [sandbox.imap("imap.ac-exemple.fr", "alice")])
    sandbox.write_profiles_ini(str(root), ["k2x9.default-esr"], default="k2x9.default-esr")
    return str(root)


def run_info_module(tmp_path, collections):
    """thunderbird_info through ansible-playbook -vvv; (run, module file used)."""
    root = a_profile(tmp_path)
    env = {} if collections is None else {"ANSIBLE_COLLECTIONS_PATH": collections}
    run = run_playbook(tmp_path, [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "info", FQCN + ".thunderbird_info": {"profiles": [root]}, "register": "info"}]}], "-vvv", env=env)
    used = re.findall(r"Using module file (\S+thunderbird_info\.py)", run.stdout)
    return run, used


def test_module_runs_from_the_installed_tarball(built, tmp_path):
    run, used = run_info_module(tmp_path, built["collections"])
    assert run.rc == 0, run.stdout[-4000:]
    assert used and all(os.path.realpath(u).startswith(os.path.realpath(built["collections"]) + os.sep)
                        for u in used), used
    profiles = run.result("info")["ansible_facts"]["thunderbird"]["profiles"]
    assert [(p["name"], [a["hostname"] for a in p["accounts"] if a["type"] == "imap"]) for p in profiles] == \
        [("default-esr", ["imap.ac-exemple.fr"])]


def test_this_test_run_uses_the_installed_copy(tmp_path):
    installed = os.environ.get("RECTORAT_COLLECTIONS_PATH")
    if not installed:
        pytest.skip("plain pytest runs against a link to the checkout; scripts/test installs the tarball")
    root = collection_dir(installed)
    assert os.path.isfile(os.path.join(root, "MANIFEST.json")) and not os.path.islink(root)
    assert not os.path.realpath(root).startswith(os.path.realpath(REPO) + os.sep + "plugins")
    assert os.environ["ANSIBLE_COLLECTIONS_PATH"] == installed
    from ansible_collections.rectorat.thunderbird.plugins.module_utils import plan
    assert os.path.realpath(plan.__file__).startswith(os.path.realpath(root) + os.sep)
    # Built from the checkout as it is: the code that runs is the code in the tree.
    with open(os.path.join(root, "FILES.json")) as f:
        listed = dict((e["name"], e["chksum_sha256"]) for e in json.load(f)["files"] if e["ftype"] == "file")
    for top in ("plugins", "roles", "meta"):
        for folder, _dirs, files in os.walk(os.path.join(REPO, top)):
            for name in files:
                if name.endswith(".pyc"):
                    continue
                rel = os.path.relpath(os.path.join(folder, name), REPO)
                assert listed.get(rel) == sha256_file(os.path.join(REPO, rel)), "%s differs from the install" % rel
    # ...and ansible-playbook, with the environment every other test gets, runs it.
    run, used = run_info_module(tmp_path, None)
    assert run.rc == 0, run.stdout[-4000:]
    assert used and all(os.path.realpath(u).startswith(os.path.realpath(root) + os.sep) for u in used), used


# --- documentation -------------------------------------------------------------------

def documented_plugins(root):
    """(type, name) of every plugin of the installed copy that has documentation."""
    found = []
    plugins = os.path.join(root, "plugins")
    for kind in sorted(os.listdir(plugins)):
        if kind in UNDOCUMENTED_DIRS or not os.path.isdir(os.path.join(plugins, kind)):
            continue
        names = set()
        for name in os.listdir(os.path.join(plugins, kind)):
            stem, ext = os.path.splitext(name)
            # Filters and tests are documented by a YAML file named after each.
            wanted = (".yml", ".yaml") if kind in ("filter", "test") else (".py", ".ps1")
            if ext in wanted and not stem.startswith("_"):
                names.add(stem)
        found += [("module" if kind == "modules" else kind, n) for n in sorted(names)]
    return found


def test_ansible_doc_renders_every_plugin_of_the_installed_copy(under_test):
    root = collection_dir(under_test)
    plugins = documented_plugins(root)
    assert ("module", "thunderbird_info") in plugins and ("module", "thunderbird_offline") in plugins
    assert ("filter", "offline_report") in plugins
    for kind, name in plugins:
        proc = tool("ansible-doc", "-t", kind, "--json", "%s.%s" % (FQCN, name), collections=under_test)
        doc = json.loads(proc.stdout)["%s.%s" % (FQCN, name)]
        assert doc["doc"]["short_description"] and doc["doc"]["description"], (kind, name)
        assert os.path.realpath(doc["doc"]["filename"]).startswith(os.path.realpath(root) + os.sep), doc["doc"]["filename"]
        assert "rectorat" not in proc.stderr, proc.stderr  # no warning about our docs
        text = tool("ansible-doc", "-t", kind, "%s.%s" % (FQCN, name), collections=under_test).stdout
        assert "EXAMPLES" in text and ("RETURN" in text or kind != "module"), (kind, name, text[:2000])
        if kind == "module":
            assert "OPTIONS" in text and "ATTRIBUTES" in text, (name, text[:2000])
    listed = json.loads(tool("ansible-doc", "-t", "module", "--list", "--json", FQCN, collections=under_test).stdout)
    assert sorted(listed) == sorted("%s.%s" % (FQCN, n) for k, n in plugins if k == "module")


def test_ansible_doc_renders_every_role_of_the_installed_copy(under_test):
    root = collection_dir(under_test)
    roles = sorted(os.listdir(os.path.join(root, "roles")))
    assert "thunderbird_offline" in roles
    listed = json.loads(tool("ansible-doc", "-t", "role", "--list", "--json", FQCN, collections=under_test).stdout)
    assert sorted(listed) == ["%s.%s" % (FQCN, r) for r in roles]
    for role in roles:
        proc = tool("ansible-doc", "-t", "role", "--json", "%s.%s" % (FQCN, role), collections=under_test)
        doc = json.loads(proc.stdout)["%s.%s" % (FQCN, role)]
        assert os.path.realpath(doc["path"]) == os.path.realpath(root)
        main = doc["entry_points"]["main"]
        with open(os.path.join(root, "roles", role, "meta", "argument_specs.yml")) as f:
            spec = yaml.safe_load(f)["argument_specs"]["main"]
        assert main["short_description"] == spec["short_description"]
        assert sorted(main["options"]) == sorted(spec["options"])
        text = tool("ansible-doc", "-t", "role", "%s.%s" % (FQCN, role), collections=under_test).stdout
        assert all(option in text for option in spec["options"]), text[:3000]


# --- changelog --------------------------------------------------------------------------

def test_changelog_fragments_pass_antsibull_changelog_lint():
    if not os.path.exists(os.path.join(BIN, "antsibull-changelog")):
        pytest.fail("antsibull-changelog is not installed (tests/requirements.txt)")
    fragments = os.path.join(REPO, "changelogs", "fragments")
    released = os.path.join(REPO, "changelogs", "changelog.yaml")
    assert [n for n in os.listdir(fragments) if n.endswith(".yml")] or os.path.exists(released), \
        "neither a changelog fragment nor a released changelog"
    proc = tool("antsibull-changelog", "lint", check=False)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


def test_antsibull_changelog_lint_rejects_a_bad_fragment(tmp_path):
    work = tmp_path / "collection"
    work.mkdir()
    shutil.copy(os.path.join(REPO, "galaxy.yml"), str(work))
    shutil.copytree(os.path.join(REPO, "changelogs"), str(work / "changelogs"))
    (work / "changelogs" / "fragments" / "typo.yml").write_text("minor_change:\n  - a section that does not exist\n")
    proc = tool("antsibull-changelog", "lint", cwd=str(work), check=False)
    assert proc.returncode != 0 and "typo.yml" in proc.stdout + proc.stderr


# --- execution environment -------------------------------------------------------------------

def load_yaml(path):
    with open(path) as f:
        return yaml.safe_load(f)


def test_execution_environment_definition_builds_a_context_with_the_tarball(built, tmp_path):
    ee_file = os.path.join(REPO, "execution-environment.yml")
    ee = load_yaml(ee_file)
    assert ee["version"] == 3
    tarball_name = os.path.basename(built["tarball"])
    # The definition names the tarball of galaxy.yml's version, where the build puts it.
    (extra,) = [e for e in ee["additional_build_files"] if e["dest"] == "collections"]
    assert os.path.basename(extra["src"]) == tarball_name
    (wanted,) = ee["dependencies"]["galaxy"]["collections"]
    assert (wanted["name"], wanted["type"]) == ("/build/collections/" + tarball_name, "file")
    with open(os.path.join(REPO, "tests", "requirements.txt")) as f:
        pins = dict(line.strip().split("==") for line in f if "==" in line)
    assert ee["dependencies"]["ansible_core"]["package_pip"] == "ansible-core==" + pins["ansible-core"]
    assert sorted(ee["dependencies"]["python"]) == sorted("%s==%s" % (p, pins[p]) for p in ("pywinrm", "pypsrp"))

    # A copy of the definition with the tarball where it expects it: the
    # checkout's .tmp is left alone.
    work = tmp_path / "ee"
    shutil.copytree(REPO, str(work), ignore=lambda folder, names: [
        n for n in names if folder == REPO and n not in ("execution-environment.yml", "meta", "ee")])
    os.makedirs(os.path.dirname(str(work / extra["src"])))
    shutil.copy(built["tarball"], str(work / extra["src"]))
    context = tmp_path / "context"
    proc = tool("ansible-builder", "create", "-f", str(work / "execution-environment.yml"), "-c", str(context),
                "--output-filename", "Containerfile", cwd=str(work))
    assert "No matches" not in proc.stdout + proc.stderr and "does not exist" not in proc.stdout + proc.stderr
    build = context / "_build"
    assert sha256_file(str(build / "collections" / tarball_name)) == sha256_file(built["tarball"])
    assert load_yaml(str(build / "requirements.yml")) == {"collections": [wanted]}
    assert sorted((build / "requirements.txt").read_text().split()) == sorted(ee["dependencies"]["python"])
    containerfile = (context / "Containerfile").read_text()
    assert "ansible-core==%s" % pins["ansible-core"] in containerfile
    assert "ansible-galaxy collection install" in containerfile and "-r requirements.yml" in containerfile


def test_collection_declares_its_own_needs_to_ansible_builder(built):
    proc = tool("ansible-builder", "introspect", "--sanitize", built["collections"])
    deps = yaml.safe_load(proc.stdout)
    python = sorted(re.split(r"[<>=\s]", line, maxsplit=1)[0] for line in deps["python"])
    assert python == ["pypsrp", "pywinrm"]
    assert any(line.startswith("openssh-client") for line in deps["system"]), deps
    assert all("rectorat.thunderbird" in line for line in deps["python"] + deps["system"])
