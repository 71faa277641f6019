"""thunderbird_autoconfig: pure plan (autoconfig.py), script text, and the
I/O (autoconfig_io.py) on a fake installation laid out like Debian's."""

import os
import shutil
import subprocess

import pytest

from ansible_collections.rectorat.thunderbird.plugins.module_utils import autoconfig as ac
from ansible_collections.rectorat.thunderbird.plugins.module_utils import autoconfig_io as io
from ansible_collections.rectorat.thunderbird.plugins.module_utils import autoconfig_script as script
from ansible_collections.rectorat.thunderbird.plugins.module_utils import hook_report

APP_INI = b"[App]\nVendor=Mozilla\nName=Thunderbird\nVersion=153.8.0\n[Gecko]\nMinVersion=153.8.0\n"
PRESENT = {"state": "present", "servers": None, "sync_age_days": 0, "size_limit_kb": 0,
           "lock": False, "chain": False}


def params(**kw):
    return dict(PRESENT, **kw)


def snapshot(pref_files=None, cfg_files=None, kind="system"):
    return {"path": "/usr/lib/thunderbird", "kind": kind, "version": "153.8.0", "error": None,
            "pref_files": dict({"vendor.js": b'pref("x", 1);\n'}, **(pref_files or {})),
            "cfg_files": dict({ac.CFG_NAME: None}, **(cfg_files or {})), "pref_dir": "/p"}


@pytest.mark.parametrize("path,kind", [
    ("/usr/lib/thunderbird", "system"), ("/usr/lib64/thunderbird", "system"),
    ("/opt/thunderbird", "tarball"), ("/snap/thunderbird/current", "snap"),
    ("/var/lib/flatpak/app/org.mozilla.Thunderbird/current/active/files", "flatpak"),
    ("/tmp/x/usr/lib/thunderbird", "tarball")])
def test_kind_from_the_path(path, kind):
    assert ac.kind_of(path) == kind


def test_version_from_application_ini():
    assert ac.version_of(APP_INI) == "153.8.0"
    assert ac.version_of(b"[Gecko]\nVersion=1\n") is None
    assert ac.version_of(None) is None


def test_present_installs_script_then_pref_file_and_is_idempotent():
    record = ac.plan_installation(snapshot(), params())
    assert record["status"] == "changed"
    assert [(o["action"], o["name"]) for o in record["operations"]] == [
        ("write", ac.CFG_NAME), ("write", ac.PREF_NAME)]
    assert all(o["guard"] is None for o in record["operations"])
    written = dict((o["name"], o["after"]) for o in record["operations"])
    again = ac.plan_installation(snapshot({ac.PREF_NAME: written[ac.PREF_NAME]},
                                          {ac.CFG_NAME: written[ac.CFG_NAME]}), params())
    assert again["status"] == "unchanged" and again["operations"] == []
    changed_options = ac.plan_installation(snapshot({ac.PREF_NAME: written[ac.PREF_NAME]},
                                                    {ac.CFG_NAME: written[ac.CFG_NAME]}),
                                           params(lock=True))
    assert [o["name"] for o in changed_options["operations"]] == [ac.CFG_NAME]
    assert changed_options["message"] == "hook updated"


def test_absent_removes_only_the_hook_files():
    pref, cfg = script.render_prefs(ac.CFG_NAME), script.render_script(script.script_options(None, 0, 0, False, None))
    record = ac.plan_installation(snapshot({ac.PREF_NAME: pref}, {ac.CFG_NAME: cfg}), params(state="absent"))
    assert [(o["action"], o["name"]) for o in record["operations"]] == [
        ("remove", ac.PREF_NAME), ("remove", ac.CFG_NAME)]
    assert ac.plan_installation(snapshot(), params(state="absent"))["status"] == "unchanged"


def test_files_of_the_hook_names_written_by_someone_else_are_a_conflict():
    for state in ("present", "absent"):
        record = ac.plan_installation(snapshot(cfg_files={ac.CFG_NAME: b"// site\n"}), params(state=state))
        assert record["status"] == "conflict" and record["operations"] == []


SITE = {"autoconfig.js": b'pref("general.config.filename", "site.cfg");\npref("general.config.obscure_value", 0);\n'}


def test_site_autoconfig_is_a_conflict_without_chain():
    record = ac.plan_installation(snapshot(SITE, {"site.cfg": b"//\n"}), params())
    assert record["status"] == "conflict"
    assert "autoconfig.js sets general.config.filename to 'site.cfg'" in record["message"]
    assert record["operations"] == []


def test_chain_embeds_the_site_script_and_its_obscure_value():
    record = ac.plan_installation(snapshot(SITE, {"site.cfg": b"//\n"}), params(chain=True))
    assert record["status"] == "changed" and "chained to site.cfg" in record["message"]
    cfg = record["operations"][0]["after"]
    assert b'"chain": {"file": "site.cfg", "obscure": 0}' in cfg
    default_obscure = {"autoconfig.js": b'pref("general.config.filename", "site.cfg");\n'}
    cfg = ac.plan_installation(snapshot(default_obscure, {"site.cfg": b"//\n"}), params(chain=True))["operations"][0]["after"]
    assert b'"obscure": 13' in cfg


def test_chain_refused_when_the_site_file_would_win_or_is_missing():
    early = {"!site.js": SITE["autoconfig.js"]}
    record = ac.plan_installation(snapshot(early, {"site.cfg": b"//\n"}), params(chain=True))
    assert record["status"] == "conflict" and "would win" in record["message"]
    obscure_only = {"!x.js": b'pref("general.config.obscure_value", 13);\n'}
    assert ac.plan_installation(snapshot(obscure_only), params())["status"] == "conflict"
    missing = ac.plan_installation(snapshot(SITE, {"site.cfg": None}), params(chain=True))
    assert missing["status"] == "conflict" and "not in the installation" in missing["message"]


def test_snap_and_flatpak_are_unsupported_and_errors_pass_through():
    assert ac.plan_installation(snapshot(kind="snap"), params())["status"] == "unsupported"
    assert ac.plan_installation(snapshot(kind="flatpak"), params())["status"] == "unsupported"
    broken = dict(snapshot(), error="boom")
    assert ac.plan_installation(broken, params())["status"] == "error"


def test_script_options_and_marker():
    options = script.script_options(["IMAP.Ac-Exemple.fr", "imap.ac-exemple.fr"], 30, -5, True, None)
    assert options["servers"] == ["imap.ac-exemple.fr"]
    assert (options["sync_age_days"], options["size_limit_kb"], options["lock"]) == (30, 0, True)
    text = script.render_script(options)
    assert text.startswith(b"// " + script.MARKER.encode())
    assert ac.is_ours(text) and ac.is_ours(script.render_prefs(ac.CFG_NAME))


@pytest.mark.skipif(shutil.which("node") is None and os.environ.get("CI") != "true",
                    reason="node not installed")
def test_script_is_valid_javascript(tmp_path):
    for chain in (None, {"file": "site.cfg", "obscure": 13}):
        path = tmp_path / "hook.js"
        path.write_bytes(script.render_script(script.script_options(["h"], 7, 100, True, chain)))
        proc = subprocess.run(["node", "--check", str(path)], capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stderr


# ---------------------------------------------------------------- I/O

@pytest.fixture
def install(tmp_path):
    """tmp/usr/lib/thunderbird with defaults -> ../../share/thunderbird/defaults."""
    os.chmod(str(tmp_path), 0o755)
    lib = tmp_path / "usr" / "lib" / "thunderbird"
    share = tmp_path / "usr" / "share" / "thunderbird" / "defaults" / "pref"
    lib.mkdir(parents=True)
    share.mkdir(parents=True)
    (lib / "application.ini").write_bytes(APP_INI)
    (lib / "thunderbird-bin").write_bytes(b"\x7fELF")
    (share / "vendor.js").write_bytes(b'pref("x", 1);\n')
    os.symlink("../../share/thunderbird/defaults", str(lib / "defaults"))
    return lib


def snapshot_of_tree(root):
    out = {}
    for folder, dirs, files in os.walk(str(root)):
        for name in dirs + files:
            path = os.path.join(folder, name)
            st = os.lstat(path)
            content = os.readlink(path) if os.path.islink(path) else (
                open(path, "rb").read() if os.path.isfile(path) else None)
            out[os.path.relpath(path, str(root))] = (content, st.st_mode, st.st_uid, st.st_gid)
    return out


def test_io_present_absent_restores_exact_bytes_through_the_debian_link(install):
    top = install.parent.parent.parent
    before = snapshot_of_tree(top)
    records, diffs = io.run(params(install_dirs=[str(install)]), check_mode=True)
    assert records[0]["status"] == "changed" and len(diffs) == 2
    assert snapshot_of_tree(top) == before, "check mode wrote something"

    records = io.run(params(install_dirs=[str(install)]), check_mode=False)[0]
    assert (records[0]["status"], records[0]["kind"], records[0]["version"]) == ("changed", "tarball", "153.8.0")
    pref = top / "usr" / "share" / "thunderbird" / "defaults" / "pref" / ac.PREF_NAME
    assert pref.exists() and (install / ac.CFG_NAME).exists()
    assert oct(os.stat(str(pref)).st_mode & 0o777) == "0o644"
    assert io.run(params(install_dirs=[str(install)]), check_mode=False)[0][0]["status"] == "unchanged"

    records = io.run(params(state="absent", install_dirs=[str(install)]), check_mode=False)[0]
    assert records[0]["status"] == "changed"
    assert snapshot_of_tree(top) == before


def test_io_keeps_owner_and_mode_of_its_own_file_when_updating(install):
    io.run(params(install_dirs=[str(install)]), check_mode=False)
    cfg = install / ac.CFG_NAME
    os.chmod(str(cfg), 0o640)
    os.chown(str(cfg), 0, 65534)
    records = io.run(params(install_dirs=[str(install)], lock=True), check_mode=False)[0]
    assert records[0]["status"] == "changed"
    st = os.stat(str(cfg))
    assert (st.st_mode & 0o777, st.st_gid) == (0o640, 65534)
    assert b'"lock": true' in cfg.read_bytes()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a link to another user")
def test_io_refuses_a_link_another_user_controls(install):
    link = install / "defaults"
    os.lchown(str(link), 65534, 65534)
    records = io.run(params(install_dirs=[str(install)]), check_mode=False)[0]
    assert records[0]["status"] == "error" and "belongs to uid 65534" in records[0]["message"]
    assert not (install / ac.CFG_NAME).exists()


def test_io_refuses_a_folder_others_can_write(install):
    os.chmod(str(install), 0o777)
    records = io.run(params(install_dirs=[str(install)]), check_mode=False)[0]
    assert records[0]["status"] == "error" and "written by group or others" in records[0]["message"]


def test_io_not_a_thunderbird_and_missing_folder(tmp_path):
    os.chmod(str(tmp_path), 0o755)
    empty = tmp_path / "empty"
    empty.mkdir()
    records = io.run(params(install_dirs=[str(empty), str(tmp_path / "missing")]), check_mode=False)[0]
    assert [r["status"] for r in records] == ["error", "error"]
    assert "holds no Thunderbird" in records[0]["message"]


def test_io_guard_stops_when_a_file_appeared_meanwhile(install):
    snap, install_fd, pref_fd = io.read_installation(str(install))
    try:
        record = ac.plan_installation(snap, params())
        (install / ac.CFG_NAME).write_bytes(b"// someone else\n")
        io.apply(record, install_fd, pref_fd)
    finally:
        io.close(install_fd, pref_fd)
    assert record["status"] == "error" and "changed since it was read" in record["message"]
    assert (install / ac.CFG_NAME).read_bytes() == b"// someone else\n"


def test_describe_reports_hook_and_site_autoconfig():
    pref, cfg = script.render_prefs(ac.CFG_NAME), script.render_script(script.script_options(None, 0, 0, False, None))
    assert ac.describe(snapshot())["hook"] == "absent"
    installed = ac.describe(snapshot(dict(SITE, **{ac.PREF_NAME: pref}), {ac.CFG_NAME: cfg}))
    assert (installed["hook"], installed["site_autoconfig"]) == ("installed", "site.cfg")
    assert ac.describe(snapshot(cfg_files={ac.CFG_NAME: b"// other\n"}))["hook"] == "foreign"
    assert ac.describe(snapshot(kind="snap"))["hook"] is None


def test_at_start_facts_from_the_hook_report():
    data = (b'{"completed": "2026-01-01T00:00:00Z", "updated": "2026-01-01T00:00:02Z", "folders_flagged": 3,'
            b' "locked": ["a", "b"], "errors": ["x"], "accounts": [{"server": "server1", "hostname": "h",'
            b' "folders": 4, "folders_flagged": 3, "offline_download": true, "extra": 1}]}')
    facts = hook_report.at_start_facts(data)
    assert facts == {"time": "2026-01-01T00:00:02Z", "completed": True, "trigger": None,
                     "folders_flagged": 3, "locked": 2,
                     "errors": ["x"], "error": None,
                     "accounts": [{"server": "server1", "hostname": "h", "folders": 4, "folders_flagged": 3,
                                   "offline_download": True}]}
    assert hook_report.at_start_facts(data.replace(b'"updated"', b'"trigger": "fallback", "updated"'))["trigger"] == "fallback"
    assert hook_report.at_start_facts(None) is None
    assert "does not parse" in hook_report.at_start_facts(b"{")["error"]
    assert hook_report.at_start_facts(None, "rectorat-offline.json is a symbolic link")["error"].endswith("link")
    assert "larger" in hook_report.at_start_facts(b" " * (hook_report.MAX_HOOK_REPORT + 1))["error"]


def test_profile_facts_carry_the_hook_report_and_a_bad_report_refuses_nothing(tmp_path):
    from ansible_collections.rectorat.thunderbird.plugins.module_utils import collect, plan
    profile = tmp_path / "p"
    profile.mkdir()
    (profile / "prefs.js").write_bytes(b'user_pref("mail.accountmanager.accounts", "");\n')
    (profile / hook_report.REPORT_NAME).write_bytes(b'{"completed": "t", "folders_flagged": 2}')
    snap = collect.collect(plan.collect_request(None, [str(profile)]))
    [record] = plan.plan(snap, plan.Options())["profiles"]
    assert record["error"] is None and record["at_start"]["folders_flagged"] == 2
    os.remove(str(profile / hook_report.REPORT_NAME))
    os.symlink("/etc/hostname", str(profile / hook_report.REPORT_NAME))
    snap = collect.collect(plan.collect_request(None, [str(profile)]))
    [record] = plan.plan(snap, plan.Options())["profiles"]
    assert record["error"] is None and "symbolic link" in record["at_start"]["error"]


def test_discovery_keeps_folders_that_hold_a_thunderbird(tmp_path, monkeypatch):
    for name, marker in (("thunderbird", "application.ini"), ("thunderbird-128", "thunderbird-bin"),
                         ("thunderbird-notes", None)):
        folder = tmp_path / "opt" / name
        folder.mkdir(parents=True)
        if marker:
            (folder / marker).write_bytes(b"")
    monkeypatch.setattr(io, "SEARCH", (str(tmp_path / "opt" / "thunderbird*"),))
    assert io.find_installations() == [str(tmp_path / "opt" / "thunderbird"),
                                       str(tmp_path / "opt" / "thunderbird-128")]
    assert io.find_installations(["/x"]) == ["/x"]
