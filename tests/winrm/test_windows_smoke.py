"""scripts/windows-smoke, run as an admin would, against a Windows
workstation reached with ansible_connection=winrm (the endpoint of wsman.py;
its fixture.ps1 answered by smoke_twin.py)."""

import os
import subprocess

import yaml

import powershell_host
import smoke_twin
import twin
import wsman
from winsandbox import Machine

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SMOKE = os.path.join(REPO, "scripts", "windows-smoke")
USER, PASSWORD = "tbadmin", "Smoke-Test-1!"
TEST_HOME = "C:\\Users\\tbtest"
DEFAULT_HOME = "C:\\Users\\Public\\Documents"


class Station:
    def __init__(self, tmp_path, scripts=None):
        self.tmp_path = tmp_path
        self.machine = Machine(str(tmp_path / "win1"))
        self.machine.add_user("tbtest", "S-1-5-21-1111-2222-3333-1101")
        known = {smoke_twin.script_bytes(): ("fixture", smoke_twin.run)}
        known.update(scripts or {})
        self.endpoint = wsman.Endpoint(self.machine.base, USER, PASSWORD, scripts=known)
        self.inventory = tmp_path / "inventory.yml"

    def __enter__(self):
        self.endpoint.__enter__()
        self.inventory.write_text(yaml.safe_dump({"all": {"hosts": {"pc-test-01": {
            "ansible_connection": "winrm", "ansible_host": "127.0.0.1", "ansible_port": self.endpoint.port,
            "ansible_user": USER, "ansible_password": PASSWORD, "ansible_winrm_transport": "ntlm",
            "ansible_winrm_scheme": "http"}, "pc-other": {"ansible_host": "192.0.2.1"}}}}))
        return self

    def __exit__(self, *exc):
        self.endpoint.__exit__(*exc)

    def smoke(self, *args, home=TEST_HOME):
        where = ["--user-folder", home] if home else []
        return subprocess.run([SMOKE, str(self.inventory), "pc-test-01", "--log", str(self.tmp_path / "smoke.log")]
                              + where + list(args),
                              capture_output=True, text=True, timeout=300, check=False)

    def home_entries(self, home=TEST_HOME):
        return sorted(os.listdir(self.machine.host(home)))

    def scripts_run(self):
        return [c[0] for c in self.endpoint.stats.commands]


def test_smoke_passes_on_a_sound_workstation_and_leaves_nothing(tmp_path):
    with Station(tmp_path) as station:
        run = station.smoke()
    assert run.returncode == 0, run.stdout + run.stderr + (tmp_path / "smoke.log").read_text()
    lines = run.stdout.splitlines()
    assert lines[-1].startswith("VERDICT: PASS")
    assert sum(1 for l in lines if l.startswith("PASS ")) == 13 and not any(l.startswith("FAIL") for l in lines)
    assert len(lines) <= 24  # one screen
    assert station.home_entries() == []
    assert station.scripts_run() == ["fixture", "collect", "autoconfig", "fixture", "collect", "fixture", "collect",
                                     "commit", "collect", "fixture", "fixture"]
    # Only the test host was contacted, never pc-other.
    assert "pc-other" not in (tmp_path / "smoke.log").read_text()


def test_smoke_keep_leaves_the_profile_for_a_look_in_the_default_folder(tmp_path):
    with Station(tmp_path) as station:
        os.makedirs(station.machine.host(DEFAULT_HOME))
        run = station.smoke("--keep", home=None)
    assert run.returncode == 0, run.stdout
    [folder] = station.home_entries(DEFAULT_HOME)
    assert folder.startswith("rectorat-tb-smoke-") and "KEPT" in run.stdout
    profile = os.path.join(station.machine.host(DEFAULT_HOME), folder, "smoke.default-esr")
    with open(os.path.join(profile, "prefs.js"), "rb") as f:
        assert b'user_pref("mail.server.server1.offline_download", true);\r\n' in f.read()


def test_smoke_fails_when_the_host_does_not_keep_what_commit_wrote(tmp_path):
    """A host where commit answers as usual but the files are back as they
    were (say, a filter driver undoing writes): the verdict must say so."""
    commit = powershell_host.windows_host().load_script("commit")

    def commit_undone(root, request):
        paths = [twin.Twin(root).host_path(p["path"] + "\\" + w["name"]) for p in request.get("profiles") or []
                 for w in p.get("writes", [])]
        before = dict((p, open(p, "rb").read()) for p in paths if os.path.exists(p))
        response = twin.run_script(root, "commit", request)
        for path, data in before.items():
            with open(path, "wb") as f:
                f.write(data)
        return response

    with Station(tmp_path, scripts={commit: ("commit", commit_undone)}) as station:
        run = station.smoke()
    assert run.returncode == 1
    failed = [l for l in run.stdout.splitlines() if l.startswith("FAIL")]
    assert any("second apply" in l for l in failed) and any("prefs.js" in l for l in failed), run.stdout
    assert run.stdout.splitlines()[-1].startswith("VERDICT: FAIL")
    assert station.home_entries() == []


def test_smoke_refuses_a_relative_user_folder_and_touches_nothing(tmp_path):
    with Station(tmp_path) as station:
        run = subprocess.run([SMOKE, str(station.inventory), "pc-test-01", "--user-folder", "Users\\tbtest"],
                             capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 1
    assert "FAIL  create the throwaway profile" in run.stdout and "not an absolute folder" in run.stdout
    assert station.home_entries() == []
    assert station.scripts_run() == ["fixture", "fixture"]


def test_help_tells_to_run_it_on_a_test_workstation_first():
    run = subprocess.run([SMOKE, "--help"], capture_output=True, text=True, check=True)
    assert "TEST workstation" in run.stdout and "INVENTORY" not in run.stderr
