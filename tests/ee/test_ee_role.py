"""The role from inside the execution-environment image, run as AWX runs a
job (awxjob.py: ansible-runner transmit | worker | process, each in a podman
container of the image), against a fleet of real local users reached over a
loopback sshd as an admin that becomes root with sudo: --check, apply, a
second apply that changes nothing, and the report in a folder mounted into
the worker's container.

The image is built (or found up to date in podman's layer cache) by
scripts/build-ee, as CI does on every submission."""

import csv
import os
import re
import subprocess
import sys
import textwrap

import ansible.release
import pytest
import yaml

import awxjob
import fleet

sys.path.insert(0, os.path.join(awxjob.REPO, "tests", "bench"))
import benchlib  # noqa: E402  (the loopback sshd and its admin user)

PREFIX = "tbh14_"
BASE = "/srv/tbh14"
ROLE = "rectorat.thunderbird.thunderbird_offline"
EE_USER = 1000  # the image's USER, as the worker pod runs it

pytestmark = [
    pytest.mark.ee,
    # CI runs as root: there it must run, never skip.
    pytest.mark.skipif(os.geteuid() != 0 and os.environ.get("CI") != "true",
                       reason="podman as root, real local users and an sshd: root only"),
]

PLAYBOOK = """\
- name: Thunderbird offline
  hosts: workstations
  gather_facts: false
  roles:
    - role: %s
""" % ROLE


@pytest.fixture(scope="module")
def image():
    """scripts/build-ee: the image tag, from the build's own output."""
    proc = subprocess.run([os.path.join(awxjob.REPO, "scripts", "build-ee")], capture_output=True, text=True,
                          timeout=1800, check=False)
    assert proc.returncode == 0, "scripts/build-ee failed:\n%s\n%s" % (proc.stdout[-3000:], proc.stderr[-3000:])
    with open(os.path.join(awxjob.EE_DIR, "image-size.txt")) as f:
        return f.read().split()[0]


@pytest.fixture(scope="module")
def ssh_fleet(tmp_path_factory):
    """fleet.py's six users (elise's profile held open), plus a loopback sshd
    and an admin with a key and NOPASSWD sudo (benchlib)."""
    state = tmp_path_factory.mktemp("tbh14-ssh")
    door = benchlib.Fleet(PREFIX, str(state), base=BASE)
    with fleet.exclusive(PREFIX):
        door.stop_sshd()
        fleet.teardown(PREFIX, BASE)
        door.teardown()
        manifest = fleet.build(PREFIX, BASE)
        door.prepare()
        door.start_sshd()
        try:
            yield {"manifest": manifest, "port": door.port, "admin": door.admin,
                   "key": os.path.join(door.state, "ssh", "client_key")}
        finally:
            door.stop_sshd()
            fleet.teardown(PREFIX, BASE)
            door.teardown()


def readme_extra_vars():
    """The job templates' extra variables, as the README gives them."""
    with open(os.path.join(awxjob.REPO, "README.md"), encoding="utf-8") as f:
        text = f.read()
    section = text[text.index("## Tarball and execution environment"):]
    block = re.search(r"Extra variables.*?```yaml\n(.*?)```", section, re.S).group(1)
    return yaml.safe_load(textwrap.dedent(block))


def inventory(ssh):
    """fleet.py's two workstations, reached over ssh instead of locally."""
    hosts = fleet.inventory(PREFIX)["workstations"]["hosts"]
    for host in hosts.values():
        del host["ansible_connection"]
    return {"workstations": {"hosts": hosts, "vars": {
        "ansible_host": "127.0.0.1", "ansible_port": ssh["port"],
        "ansible_ssh_common_args": "-o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no"}}}


@pytest.fixture(scope="module")
def jobs(image, ssh_fleet, tmp_path_factory):
    """Job template "check", then "apply" twice, as the README's; each writes
    its report below the README's report folder, mounted into the worker."""
    tmp = tmp_path_factory.mktemp("ee-jobs")
    reports = tmp / "reports"
    reports.mkdir()
    os.chown(str(reports), EE_USER, 0)
    extra_vars = readme_extra_vars()
    mount = "%s:%s:z" % (reports, os.path.dirname(extra_vars["thunderbird_offline_report_dir"]))
    before = fleet.hash_homes(PREFIX, BASE)
    # AWX's command line: the machine credential's user and become, "Show
    # Changes" (--diff), and --check for the job type Check.
    template = "-u %s --become --become-method sudo --diff" % ssh_fleet["admin"]
    out = {}
    for name, cmdline in (("check", template + " --check"), ("apply", template), ("again", template)):
        job_dir = tmp / name
        awxjob.write_private_data_dir(
            str(job_dir), PLAYBOOK, inventory(ssh_fleet),
            # AWX adds awx_job_id to the job template's extra vars.
            dict(extra_vars, awx_job_id=name), ssh_fleet["key"],
            {"ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"})
        job = awxjob.run_job(image, str(job_dir), cmdline, mounts=[mount])
        out[name] = {"job": job, "rows": read_csv(reports / ("job-" + name) / "thunderbird_offline.csv"),
                     "homes": fleet.hash_homes(PREFIX, BASE)}
    out["before"] = before
    out["reports"] = reports
    return out


def read_csv(path):
    with open(str(path), encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def damien_imap(rows):
    return dict((r["server"], r["category"]) for r in rows if r["user"] == PREFIX + "damien" and r["type"] == "imap")


def statuses(rows, host):
    return dict((r["user"][len(PREFIX):], r["profile_status"]) for r in rows if r["host"] == host and r["user"])


def test_the_image_runs_the_controllers_ansible_core_and_the_collection(image):
    proc = subprocess.run(awxjob.PODMAN + [image, "sh", "-c",
                                           "ansible --version; ansible-galaxy collection list rectorat.thunderbird"],
                          env=awxjob.podman_env(), capture_output=True, text=True, timeout=120, check=True)
    assert "ansible [core %s]" % ansible.release.__version__ in proc.stdout
    assert "rectorat.thunderbird" in proc.stdout and "/usr/share/ansible/collections" in proc.stdout
    with open(os.path.join(awxjob.EE_DIR, "python-packages.txt")) as f:
        packages = dict(line.strip().split("==") for line in f if "==" in line)
    for name in ("ansible-core", "ansible-runner", "pywinrm", "pypsrp"):
        assert name in packages, packages


def test_check_job_changes_nothing_on_the_workstations_and_writes_the_report(jobs):
    check = jobs["check"]
    assert (check["job"].status, check["job"].rc) == ("successful", 0), check["job"].stdout
    assert fleet.compare(jobs["before"], check["homes"]) == {"changed": [], "added": [], "removed": [], "backups": {}}
    assert {r["mode"] for r in check["rows"]} == {"check"}
    assert statuses(check["rows"], "poste-01") == {"alice": "unchanged", "bruno": "would_change", "chloe": "unchanged"}
    # The README's extra vars limit the changes to imap.ac-exemple.fr: damien's
    # other servers are reported as not ready and left alone.
    assert statuses(check["rows"], "poste-02") == {
        "damien": "unchanged", "elise": "skipped_running", "fanny": "error"}
    assert damien_imap(check["rows"]) == {"imap.college-exemple.fr": "imap_not_ready",
                                          "imap.perso.example": "imap_not_ready"}
    assert '+user_pref("mail.server.server1.offline_download", true);' in check["job"].stdout


def test_the_job_ran_in_the_image_over_ssh_as_the_admin_with_sudo(jobs, ssh_fleet):
    apply = jobs["apply"]
    # ansible-runner in the image loaded the credential's key into an agent
    # and ran ansible-playbook with the credential's user and become.
    (shell,) = [part for part in apply["job"].command["command"] if "ansible-playbook" in part]
    assert apply["job"].command["command"][0] == "ssh-agent"
    assert "ansible-playbook -u %s --become --become-method sudo --diff -i" % ssh_fleet["admin"] in shell
    assert apply["job"].command["cwd"] == "/runner/project"
    # The module wrote the users' files on this machine, which the container
    # does not hold: it reached them over ssh, as root through sudo.
    changed = fleet.compare(jobs["before"], apply["homes"])["changed"]
    assert "home/%sbruno/.thunderbird/b2runo00.default-esr/prefs.js" % PREFIX in changed, changed
    # The report was written in the container, by its user, into the mount.
    assert (jobs["reports"] / "job-apply" / "thunderbird_offline.csv").stat().st_uid == EE_USER
    assert (jobs["reports"] / "job-apply" / "thunderbird_offline.html").is_file()


def test_apply_fixes_then_a_second_apply_changes_nothing(jobs):
    apply, again = jobs["apply"], jobs["again"]
    assert (apply["job"].status, again["job"].status) == ("successful", "successful")
    assert apply["job"].recap("poste-01")["changed"] == 1, apply["job"].stdout
    # poste-02: elise's Thunderbird is open, fanny's prefs.js is broken and
    # damien's servers are not in the README's thunderbird_offline_servers.
    assert apply["job"].recap("poste-02")["changed"] == 0, apply["job"].stdout
    assert not [path for path in fleet.compare(jobs["before"], apply["homes"])["changed"]
                if not path.startswith("home/%sbruno/" % PREFIX)]
    for host in ("poste-01", "poste-02"):
        assert again["job"].recap(host)["changed"] == 0, again["job"].stdout
        assert again["job"].recap(host)["failed"] == 0
    assert {r["mode"] for r in apply["rows"]} == {"apply"}
    assert statuses(apply["rows"], "poste-01") == {"alice": "unchanged", "bruno": "changed", "chloe": "unchanged"}
    bruno = [r for r in apply["rows"] if r["user"] == PREFIX + "bruno" and r["type"] == "imap"][0]
    assert (bruno["backup_ready_before"], bruno["backup_ready"]) == ("false", "true")
    assert statuses(again["rows"], "poste-01")["bruno"] == "unchanged"
    assert damien_imap(again["rows"]) == damien_imap(apply["rows"])
    assert again["homes"] == apply["homes"]
    print("\n".join(["in-image recap, check:"] + jobs["check"]["job"].recap_lines()
                    + ["in-image recap, apply:"] + apply["job"].recap_lines()
                    + ["in-image recap, second apply:"] + again["job"].recap_lines()))
