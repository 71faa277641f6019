"""The role's report renderer (plugin_utils/report.py) on hand-made module
results: every host gets a line, categories, check mode, escaping."""

import csv
import io

from ansible_collections.rectorat.thunderbird.plugins.plugin_utils import report


def imap(key="account1", ready=True, before=None, **extra):
    account = {"key": key, "server_key": "server1", "name": "Boîte académique", "type": "imap",
               "hostname": "imap.ac-exemple.fr", "port": 993, "email": "a@ac-exemple.fr", "socket_type": "tls",
               "auth_method": "password_cleartext", "password_exposed": False, "offline_download": ready,
               "sync_age_days": None, "size_limit_kb": None, "folders_total": 4,
               "folders_offline": 4 if ready else 0, "store_bytes": 2048, "backup_ready": ready, "problems": []}
    if before is not None:
        account["before"] = before
    account.update(extra)
    return account


def profile(accounts, status="unchanged", **extra):
    record = {"path": "/home/u/.thunderbird/x.default", "name": "default", "user": "u", "running": False,
              "error": None, "status": status, "accounts": accounts, "changes": []}
    record.update(extra)
    return record


def result(*profiles, **extra):
    out = {"changed": any(p["status"] == "changed" for p in profiles),
           "ansible_facts": {"thunderbird": {"profiles": list(profiles), "errors": extra.pop("errors", [])}}}
    out.update(extra)
    return out


def rows_of(entries, check_mode=False):
    return report.build(entries, check_mode=check_mode)


def parse_csv(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_hosts_without_a_result_are_unreachable_or_not_run():
    assert report.classify_host("a", None, active=False) == "unreachable"
    assert report.classify_host("a", None, active=True) == "not_run"
    assert report.classify_host("a", {"unreachable": True, "msg": "x"}, active=False) == "unreachable"
    assert report.classify_host("a", {"failed": True, "msg": "x"}, active=True) == "failed"
    assert report.classify_host("a", result(), active=True) == "ok"


def test_every_host_has_a_line():
    built = rows_of([
        {"host": "off", "state": "unreachable", "result": {"unreachable": True, "msg": "Connection refused"}},
        {"host": "gone", "state": "unreachable", "result": None},
        {"host": "later", "state": "not_run", "result": None},
        {"host": "empty", "state": "ok", "result": result()},
        {"host": "nouser", "state": "ok", "result": result(errors=["no local user named bob"])},
    ])
    by_host = dict((r["host"], r) for r in built["rows"])
    assert [r["host"] for r in built["rows"]] == ["empty", "gone", "later", "nouser", "off"]
    assert by_host["off"]["category"] == "host_unreachable" and by_host["off"]["message"] == "Connection refused"
    assert by_host["gone"]["category"] == "host_unreachable" and "before this role" in by_host["gone"]["message"]
    assert by_host["later"]["category"] == "host_not_run"
    assert by_host["empty"]["category"] == "host_empty"
    assert by_host["nouser"]["category"] == "host_error"
    assert built["counts"]["unreachable"] == 3 and built["counts"]["errors"] == 1
    assert len(parse_csv(built["csv"])) == 5


def test_failed_host_keeps_its_profiles():
    failed = result(profile([imap(ready=False)], status="error", running=True,
                            error="Thunderbird is running with this profile"),
                    failed=True, msg="Thunderbird is running with a profile that needs changes")
    rows = rows_of([{"host": "p", "state": "failed", "result": failed}])["rows"]
    assert [(r["host_status"], r["category"]) for r in rows] == [
        ("failed", "host_failed"), ("failed", "profile_error"), ("failed", "imap_pending_running")]


def test_categories_of_a_changed_profile():
    fixed = imap("account1", ready=True, before={"offline_download": False, "sync_age_days": None,
                                                 "size_limit_kb": None, "folders_offline": 0,
                                                 "backup_ready": False})
    already = imap("account2", ready=True, before={"offline_download": True, "sync_age_days": None,
                                                   "size_limit_kb": None, "folders_offline": 4,
                                                   "backup_ready": True})
    pop = dict(imap("account3"), type="pop3", offline_download=None, folders_total=None, folders_offline=None)
    local = dict(imap("account4"), type="none", hostname="Local Folders", socket_type="plain")
    record = profile([fixed, already, pop, local], status="changed", changes=["folder INBOX flagged offline"])
    applied = rows_of([{"host": "p", "state": "ok", "result": result(record)}])
    assert [r["category"] for r in applied["rows"]] == ["imap_fixed", "imap_ready", "pop", "local"]
    assert {r["profile_status"] for r in applied["rows"]} == {"changed"}
    assert applied["rows"][0]["backup_ready_before"] == "false" and applied["rows"][0]["backup_ready"] == "true"
    assert applied["rows"][3]["security"] == "" and applied["rows"][3]["server"] == ""
    assert applied["counts"]["accounts"] == 3  # Local Folders is not a mail account
    checked = rows_of([{"host": "p", "state": "ok", "result": result(record)}], check_mode=True)
    assert [r["category"] for r in checked["rows"]][:2] == ["imap_to_fix", "imap_ready"]
    assert {r["profile_status"] for r in checked["rows"]} == {"would_change"}
    assert {r["mode"] for r in checked["rows"]} == {"check"}
    assert checked["counts"]["imap_fixed"] == 1
    assert 'id="check-mode"' in checked["html"] and 'id="check-mode"' not in applied["html"]


def test_running_and_out_of_scope_imap_accounts():
    running = profile([imap(ready=False)], status="skipped_running", running=True)
    out_of_scope = profile([imap(ready=False)], status="unchanged", path="/home/v/.thunderbird/y")
    rows = rows_of([{"host": "p", "state": "ok", "result": result(running, out_of_scope)}])["rows"]
    assert [r["category"] for r in rows] == ["imap_pending_running", "imap_not_ready"]
    assert rows[0]["sync_age_days"] == 0 and rows[0]["size_limit_kb"] == 0  # every age, no limit


def test_csv_and_html_escape_what_users_typed():
    nasty = 'Perso, "Boîte" <script>alert(1)</script>\nsuite'
    built = rows_of([{"host": "p", "state": "ok",
                      "result": result(profile([imap(name=nasty)]))}])
    assert parse_csv(built["csv"])[0]["account_name"] == nasty
    assert "<script>alert(1)" not in built["html"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in built["html"]


def test_page_lists_every_column_once():
    assert sorted(report.DISPLAY) == sorted(report.COLUMNS)
    html = rows_of([{"host": "p", "state": "ok", "result": result(profile([imap()]))}])["html"]
    for column in report.COLUMNS:
        assert html.count('<th data-column="%s"' % column) == 1
