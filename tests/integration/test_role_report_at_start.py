"""The role's report with the at-start hook, through the offline_report
filter on hand-made hostvars: a profile skipped because Thunderbird was open
is "applied at next start" only where an installation of the host has the
hook; each installation is a row, counted as covered or not."""

import csv
import io

from ansible_collections.rectorat.thunderbird.plugins.filter.offline_report import offline_report

RUNNING = {"path": "/home/u/.thunderbird/x.default", "name": "default", "user": "u", "running": True,
           "error": None, "status": "skipped_running", "changes": [],
           "accounts": [{"key": "account1", "type": "imap", "hostname": "imap.ac-exemple.fr",
                         "offline_download": False, "folders_total": 3, "folders_offline": 0,
                         "backup_ready": False, "problems": []}]}


def host(installations, skipped=False):
    hostvars = {"thunderbird_offline_result": {"changed": False,
                                               "ansible_facts": {"thunderbird": {"profiles": [RUNNING],
                                                                                 "errors": []}}}}
    if skipped:
        hostvars["thunderbird_offline_autoconfig_result"] = {"skipped": True, "changed": False}
    elif installations is not None:
        hostvars["thunderbird_offline_autoconfig_result"] = {"changed": True, "installations": installations}
    return hostvars


def install(status, path="/usr/lib/thunderbird"):
    return {"path": path, "version": "153.8.0", "kind": "system", "status": status, "message": "m"}


def test_applied_at_next_start_only_where_the_hook_is():
    hostvars = {
        "covered": host([install("changed"), install("unsupported", "/snap/thunderbird/current")]),
        "unchanged": host([install("unchanged")]),
        "conflict": host([install("conflict")]),
        "off": host(None, skipped=True),
        "old": host(None),
    }
    built = offline_report(hostvars, sorted(hostvars))
    rows = list(csv.DictReader(io.StringIO(built["csv"])))
    imap = dict((r["host"], r["category"]) for r in rows if r["type"] == "imap")
    assert imap == {"covered": "imap_at_next_start", "unchanged": "imap_at_next_start",
                    "conflict": "imap_pending_running", "off": "imap_pending_running",
                    "old": "imap_pending_running"}
    installs = [(r["host"], r["category"]) for r in rows if r["category"].startswith("installation")]
    assert installs == [("conflict", "installation_not_covered"), ("covered", "installation_covered"),
                        ("covered", "installation_not_covered"), ("unchanged", "installation_covered")]
    assert built["counts"]["imap_at_next_start"] == 2 and built["counts"]["imap_pending_running"] == 3
    assert built["counts"]["installations_covered"] == 2
    assert built["counts"]["profiles"] == 5 and built["counts"]["accounts"] == 5
    assert 'data-count="installations_covered" data-value="2"' in built["html"]
