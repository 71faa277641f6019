"""A real report for the browser tests: the role run for real on the sandbox
fleet (tbbrw_* users) with a switched-off workstation, a failing one and a
server filter, so that every category of the page is non-zero."""

import csv
import os

import pytest
import yaml

import fleet
from playbook import run_playbook

PREFIX = "tbbrw_"


@pytest.fixture(scope="session")
def report(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("the fleet is made of real local users: root only")
    tmp = tmp_path_factory.mktemp("browser-report")
    with fleet.exclusive(PREFIX):
        return make_report(tmp)


def stand_in_installation(tmp):
    """A folder that looks like a Thunderbird installation to thunderbird_autoconfig."""
    install = tmp / "thunderbird"
    (install / "defaults" / "pref").mkdir(parents=True)
    (install / "application.ini").write_text("[App]\nName=Thunderbird\nVersion=153.8.0\n")
    (install / "thunderbird-bin").write_text("")
    return str(install)


def make_report(tmp):
    fleet.teardown(PREFIX)
    fleet.build(PREFIX)
    try:
        inventory = tmp / "inventory.yml"
        hosts = fleet.inventory(PREFIX, unreachable=True, failing=True, servers=["imap.college-exemple.fr"])
        # A workstation whose Thunderbird (a stand-in installation, never this
        # machine's own) gets the at-start hook: elise's open profile there is
        # applied at next start rather than pending.
        hosts["workstations"]["hosts"]["poste-04"] = dict(
            hosts["workstations"]["hosts"]["poste-01"], thunderbird_offline_users=[PREFIX + "elise"],
            thunderbird_offline_at_start=True, thunderbird_offline_install_dirs=[stand_in_installation(tmp)])
        inventory.write_text(yaml.safe_dump(hosts))
        play = [{"name": "Thunderbird offline", "hosts": "workstations", "gather_facts": False,
                 "roles": [{"role": "rectorat.thunderbird.thunderbird_offline",
                            "vars": {"thunderbird_offline_report_dir": str(tmp / "report")}}]}]
        run = run_playbook(tmp, play, inventory=inventory)
    finally:
        fleet.teardown(PREFIX)
    html = tmp / "report" / "thunderbird_offline.html"
    assert html.is_file(), run.stdout + run.stderr
    with open(tmp / "report" / "thunderbird_offline.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return {"html": html, "rows": rows}
