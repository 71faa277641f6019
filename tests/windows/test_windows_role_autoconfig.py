"""The thunderbird_offline role on a Windows host (real ansible-playbook, the
fake connection, the twins of collect/commit/autoconfig.ps1): a profile held
open by Thunderbird is skipped and, the hook being installed in Program
Files, reported as applied at next start; the installation is counted as
covered; --check writes nothing, a second run changes nothing."""

import csv
import fcntl
import os

import yaml

from ansible_collections.rectorat.thunderbird.plugins.module_utils import autoconfig as ac

from playbook import run_playbook
from test_windows_autoconfig import ENV, PROGRAM_FILES, build_installation, files_of
from test_windows_flow import ALICE_FIRST, BOB_PROFILE, build_alice_and_bob
from winsandbox import Machine

ROLE = "rectorat.thunderbird.thunderbird_offline"


def run_role(tmp_path, machine, name, *cli, **role_vars):
    report = tmp_path / ("report-" + name)
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"win1": {
        "ansible_connection": "fakewin", "fakewin_root": machine.base}}}}))
    play = [{"name": "Thunderbird offline", "hosts": "all", "gather_facts": False,
             "roles": [{"role": ROLE, "vars": dict(thunderbird_offline_report_dir=str(report), **role_vars)}]}]
    run = run_playbook(tmp_path, play, *cli, inventory=inventory, env=ENV)
    with open(report / "thunderbird_offline.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return run, rows


def test_role_on_windows_installs_the_hook_and_reports_open_profiles_as_applied_at_next_start(tmp_path):
    machine = Machine(str(tmp_path / "win1"))
    build_alice_and_bob(machine)
    build_installation(machine, PROGRAM_FILES)
    with open(machine.host(ALICE_FIRST + "\\parent.lock"), "wb") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # Thunderbird has alice's profile open
        before = files_of(machine)
        check, check_rows = run_role(tmp_path, machine, "check", "--check")
        assert check.rc == 0, check.stdout + check.stderr
        assert files_of(machine) == before
        first, rows = run_role(tmp_path, machine, "first")
        assert first.rc == 0, first.stdout + first.stderr
        second, second_rows = run_role(tmp_path, machine, "second")
    assert second.rc == 0 and second.recap("win1")["changed"] == 0, second.stdout + second.stderr

    [hook] = [r["result"] for r in first.results
              if r["host"] == "win1" and r["task"].endswith("Set offline synchronisation in every Thunderbird profile")]
    assert [(i["path"], i["kind"], i["status"]) for i in hook["installations"]] == [
        (PROGRAM_FILES, "windows", "changed")]
    assert os.path.exists(machine.host(PROGRAM_FILES + "\\" + ac.CFG_NAME))
    assert os.path.exists(machine.host(PROGRAM_FILES + "\\defaults\\pref\\" + ac.PREF_NAME))
    for report in (check_rows, rows, second_rows):
        imap = [r for r in report if r["profile"] == ALICE_FIRST and r["type"] == "imap"]
        assert [r["category"] for r in imap] == ["imap_at_next_start"]
        installs = [r for r in report if r["category"].startswith("installation")]
        assert [r["category"] for r in installs] == ["installation_covered"]
        assert PROGRAM_FILES in installs[0]["message"]
    bob = [r["category"] for r in rows if r["profile"] == BOB_PROFILE and r["type"] == "imap"]
    assert bob == ["imap_fixed"]


def test_role_without_the_hook_on_windows_reports_open_profiles_as_pending(tmp_path):
    machine = Machine(str(tmp_path / "win1"))
    build_alice_and_bob(machine)
    build_installation(machine, PROGRAM_FILES)
    with open(machine.host(ALICE_FIRST + "\\parent.lock"), "wb") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        run, rows = run_role(tmp_path, machine, "off", thunderbird_offline_at_start=False)
    assert run.rc == 0, run.stdout + run.stderr
    imap = [r["category"] for r in rows if r["profile"] == ALICE_FIRST and r["type"] == "imap"]
    assert imap == ["imap_pending_running"]
    assert not os.path.exists(machine.host(PROGRAM_FILES + "\\" + ac.CFG_NAME))
    assert [r for r in rows if r["category"].startswith("installation")] == []
