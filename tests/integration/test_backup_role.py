"""The thunderbird_backup role through a real ansible-playbook on the sandbox
fleet (real tbh9r_* users; elise's profile held open by a "Thunderbird"), with
a switched-off workstation: --check, a first run, a second run, the report of
each, and what lands in dest."""

import csv
import glob
import os
import zipfile

import pytest
import yaml

import fleet
from playbook import run_playbook

PREFIX = "tbh9r_"
ROLE = "rectorat.thunderbird.thunderbird_backup"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the fleet is made of real local users: root only")


def read_csv(path):
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    with fleet.exclusive(PREFIX):
        fleet.teardown(PREFIX)
        fleet.build(PREFIX)
        try:
            tmp = tmp_path_factory.mktemp("backup-role")
            dest = os.path.join(fleet.fleet_base(PREFIX), "backups")
            os.makedirs(dest)
            inventory = tmp / "inventory.yml"
            inventory.write_text(yaml.safe_dump(fleet.inventory(PREFIX, unreachable=True)))
            out = {}
            for name, args in (("check", ["--check"]), ("first", []), ("second", [])):
                report_dir = tmp / ("report-" + name)
                play = [{"name": "Backup", "hosts": "workstations", "gather_facts": False,
                         "roles": [{"role": ROLE, "vars": {
                             "thunderbird_backup_users": "{{ thunderbird_offline_users | default([]) }}",
                             "thunderbird_backup_dest": dest,
                             "thunderbird_backup_report_dir": str(report_dir)}}]}]
                run = run_playbook(tmp, play, *args, inventory=inventory)
                out[name] = {"run": run, "rows": read_csv(report_dir / "thunderbird_backup.csv"),
                             "html": (report_dir / "thunderbird_backup.html").read_text(encoding="utf-8"),
                             "archives": sorted(glob.glob(dest + "/*/*/*.zip"))}
            yield out
        finally:
            fleet.teardown(PREFIX)


def statuses(rows):
    return dict((r["user"] + "/" + r["profile"], r["status"]) for r in rows if r["path"])


def test_check_mode_writes_nothing_and_says_what_would_be_archived(runs):
    check = runs["check"]
    assert check["run"].rc == 4, check["run"].stdout  # the switched-off workstation
    assert check["archives"] == []
    got = statuses(check["rows"])
    assert got[PREFIX + "elise/default-esr"] == "skipped_running"
    assert sum(1 for s in got.values() if s == "would_back_up") == 6, got


def test_first_run_archives_every_profile_but_the_open_one(runs):
    first = runs["first"]
    got = statuses(first["rows"])
    assert got[PREFIX + "elise/default-esr"] == "skipped_running"
    assert sorted(s for s in got.values()) == ["backed_up"] * 6 + ["skipped_running"], got
    assert len(first["archives"]) == 6
    for archive in first["archives"]:
        with zipfile.ZipFile(archive) as zf:
            assert zf.testzip() is None and "prefs.js" in zf.namelist()
    # fanny's prefs.js does not parse: her mail is archived all the same.
    assert any(PREFIX + "fanny" in a for a in first["archives"])
    unreachable = [r for r in first["rows"] if r["host"] == "poste-eteint"]
    assert [r["status"] for r in unreachable] == ["host_unreachable"]


def test_report_names_imap_accounts_an_archive_does_not_hold(runs):
    rows = dict((r["user"], r) for r in runs["first"]["rows"] if r["path"])
    assert rows[PREFIX + "bruno"]["imap_online_only"] != "", rows[PREFIX + "bruno"]
    assert rows[PREFIX + "alice"]["imap_online_only"] == ""  # POP only
    assert "comptes IMAP non couverts" in runs["first"]["html"]


def test_second_run_is_unchanged(runs):
    second = runs["second"]
    assert statuses(second["rows"]).values() and all(
        s in ("unchanged", "skipped_running") for s in statuses(second["rows"]).values())
    assert second["archives"] == runs["first"]["archives"]
    assert second["run"].recap("poste-01")["changed"] == 0
