"""The thunderbird_offline role through a real ansible-playbook, on the
sandbox fleet (real tbrole_* users), with a switched-off workstation and one
whose run fails: check mode, first run, second run, and the report of each."""

import csv
import os
import re

import pytest
import yaml

import fleet
from playbook import run_playbook

PREFIX = "tbrole_"
ROLE = "rectorat.thunderbird.thunderbird_offline"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the fleet is made of real local users: root only")


@pytest.fixture(scope="module")
def sandbox_fleet():
    with fleet.exclusive(PREFIX):
        fleet.teardown(PREFIX)
        manifest = fleet.build(PREFIX)
        yield manifest
        fleet.teardown(PREFIX)


@pytest.fixture(scope="module")
def runs(sandbox_fleet, tmp_path_factory):
    """--check --diff, then two real runs, each with its own report folder."""
    tmp = tmp_path_factory.mktemp("role")
    inventory = tmp / "inventory.yml"
    inventory.write_text(yaml.safe_dump(fleet.inventory(PREFIX, unreachable=True, failing=True)))
    before = fleet.hash_homes(PREFIX)
    out = {}
    for name, args in (("check", ["--check", "--diff"]), ("first", []), ("second", [])):
        report_dir = tmp / ("report-" + name)
        play = [{"name": "Thunderbird offline", "hosts": "workstations", "gather_facts": False,
                 "roles": [{"role": ROLE, "vars": {"thunderbird_offline_report_dir": str(report_dir)}}]}]
        run = run_playbook(tmp, play, *args, inventory=inventory)
        out[name] = {"run": run, "rows": read_csv(report_dir / "thunderbird_offline.csv"),
                     "html": (report_dir / "thunderbird_offline.html").read_text(encoding="utf-8"),
                     "homes": fleet.hash_homes(PREFIX)}
        if name == "check":
            out[name]["compare"] = fleet.compare(before, out[name]["homes"])
    return out


def read_csv(path):
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def category_counts(rows):
    """The report's counts, recomputed from the CSV alone."""
    cats = [r["category"] for r in rows]
    return {
        "pop": cats.count("pop"),
        "imap_ready": cats.count("imap_ready"),
        "imap_fixed": cats.count("imap_fixed") + cats.count("imap_to_fix"),
        "imap_pending_running": cats.count("imap_pending_running"),
        "imap_not_ready": cats.count("imap_not_ready"),
        "password_exposed": sum(1 for r in rows if r["password_exposed"] == "true"),
        "errors": sum(1 for c in cats if c in ("profile_error", "host_error", "host_failed")),
        "unreachable": sum(1 for c in cats if c in ("host_unreachable", "host_not_run")),
    }


def statuses(rows, host):
    return dict((r["user"][len(PREFIX):], r["profile_status"]) for r in rows if r["host"] == host and r["user"])


def test_check_mode_writes_nothing_on_the_hosts_but_writes_the_report(runs):
    check = runs["check"]
    assert check["compare"] == {"changed": [], "added": [], "removed": [], "backups": {}}
    assert {r["mode"] for r in check["rows"]} == {"check"}
    assert 'id="check-mode"' in check["html"]
    assert statuses(check["rows"], "poste-01") == {"alice": "unchanged", "bruno": "would_change", "chloe": "unchanged"}
    assert statuses(check["rows"], "poste-02") == {
        "damien": "would_change", "elise": "skipped_running", "fanny": "error"}
    assert category_counts(check["rows"])["imap_fixed"] == 3
    assert '+user_pref("mail.server.server1.offline_download", true);' in check["run"].stdout


def test_unreachable_and_failed_hosts_are_in_the_report(runs):
    for name in ("check", "first", "second"):
        rows = runs[name]["rows"]
        off = [r for r in rows if r["host"] == "poste-eteint"]
        assert [(r["host_status"], r["category"]) for r in off] == [("unreachable", "host_unreachable")], name
        assert "connect" in off[0]["message"].lower()
        failed = [r for r in rows if r["host"] == "poste-03"]
        assert ("failed", "host_failed") in [(r["host_status"], r["category"]) for r in failed], name
        assert any("running" in r["message"] for r in failed if r["category"] == "host_failed")
        assert runs[name]["run"].recap("poste-eteint")["unreachable"] == 1
        assert runs[name]["run"].recap("poste-03")["failed"] == 1


def test_first_run_fixes_and_reports_fixed_accounts(runs):
    first = runs["first"]
    assert first["run"].recap("poste-01")["changed"] == 1
    assert first["run"].recap("poste-02")["changed"] == 1
    assert {r["mode"] for r in first["rows"]} == {"apply"}
    assert statuses(first["rows"], "poste-01") == {"alice": "unchanged", "bruno": "changed", "chloe": "unchanged"}
    counts = category_counts(first["rows"])
    assert counts == {"pop": 2, "imap_ready": 1, "imap_fixed": 3, "imap_pending_running": 2, "imap_not_ready": 0,
                      "password_exposed": 2, "errors": 3, "unreachable": 1}
    bruno = [r for r in first["rows"] if r["user"] == PREFIX + "bruno" and r["type"] == "imap"][0]
    assert (bruno["backup_ready_before"], bruno["backup_ready"], bruno["keep_messages"]) == ("false", "true", "true")
    assert bruno["folders_offline"] == bruno["folders_total"] != "0"


def test_second_run_changes_nothing_report_included(runs):
    second = runs["second"]
    for host in ("poste-01", "poste-02"):
        assert second["run"].recap(host)["changed"] == 0, second["run"].stdout
    assert second["homes"] == runs["first"]["homes"]
    counts = category_counts(second["rows"])
    assert counts["imap_fixed"] == 0 and counts["imap_ready"] == 4
    assert statuses(second["rows"], "poste-02")["damien"] == "unchanged"


def test_page_counts_are_the_csv_counts(runs):
    for name in ("check", "first", "second"):
        shown = dict((k, int(v)) for k, v in re.findall(r'data-count="([a-z_]+)" data-value="(\d+)"', runs[name]["html"]))
        for key, value in category_counts(runs[name]["rows"]).items():
            assert shown[key] == value, (name, key)


def test_no_report_dir_writes_no_report(sandbox_fleet, tmp_path):
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump(fleet.inventory(PREFIX)))
    play = [{"hosts": "workstations", "gather_facts": False, "roles": [{"role": ROLE}]}]
    run = run_playbook(tmp_path, play, "--check", inventory=inventory)
    assert run.rc == 0, run.stdout
    names = {"Write the fleet report on the controller (CSV and HTML)", "Show the report's counts"}
    report_tasks = [r for r in run.results if r["task"].split(" : ")[-1] in names]
    assert report_tasks and all(r["outcome"] == "skipped" for r in report_tasks), report_tasks
    assert "thunderbird_offline.csv" not in run.stdout
