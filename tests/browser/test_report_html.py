"""The HTML report in a real headless Chromium: it renders, its script runs,
the counts it shows are the CSV's, clicking a header sorts the table and
clicking a count filters it.

The page sorts/filters itself when its URL ends with #sort=<column>[:desc] or
#filter=<count>: its script then clicks the header or the card (a real DOM
click on the same handler a user's click reaches); --dump-dom gives the DOM
after that. No DevTools protocol is needed."""

import os
import re
import shutil
import struct
import subprocess
from html.parser import HTMLParser

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
         "--disable-component-update", "--disable-sync", "--hide-scrollbars"]
OUTPUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "output")
NUMBER_COLUMNS = {"port", "sync_age_days", "size_limit_kb", "folders_offline", "folders_total", "store_bytes"}

pytestmark = pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK), reason="chromium is not installed")


def chromium(tmp_path, url, *args):
    profile = tmp_path / ("chromium-%d" % len(list(tmp_path.glob("chromium-*"))))
    proc = subprocess.run([CHROMIUM] + FLAGS + ["--user-data-dir=%s" % profile] + list(args) + [url],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


class Page(HTMLParser):
    """What the dumped DOM shows: body attributes, cards, table rows."""

    def __init__(self, text):
        HTMLParser.__init__(self)
        self.body = {}
        self.cards = {}
        self.heads = {}
        self.rows = []
        self._card = None
        self._in_value = False
        self._in_tbody = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if tag == "body":
            self.body = attrs
        elif tag == "button" and "card" in classes:
            self._card = attrs["data-count"]
            self.cards[self._card] = {"attr": int(attrs["data-value"]), "text": "",
                                      "pressed": attrs.get("aria-pressed")}
        elif tag == "span" and self._card and "value" in classes:
            self._in_value = True
        elif tag == "th":
            self.heads[attrs["data-column"]] = attrs
        elif tag == "tbody":
            self._in_tbody = True
        elif tag == "tr" and self._in_tbody:
            self.rows.append({"hidden": "hidden" in attrs, "category": attrs.get("data-category"), "cells": {}})
        elif tag == "td" and self._in_tbody:
            self.rows[-1]["cells"][attrs["data-column"]] = attrs["data-value"]

    def handle_endtag(self, tag):
        if tag == "span":
            self._in_value = False
        elif tag == "button":
            self._card = None
        elif tag == "tbody":
            self._in_tbody = False

    def handle_data(self, data):
        if self._in_value and self._card:
            self.cards[self._card]["text"] += data


def csv_counts(rows):
    """Counts recomputed from the CSV, independently of the renderer."""
    cats = [r["category"] for r in rows]
    return {
        "hosts": len({r["host"] for r in rows}),
        "profiles": len({(r["host"], r["profile"]) for r in rows if r["profile"]}),
        "accounts": sum(1 for r in rows if r["account"] and r["type"] != "none"),
        "pop": cats.count("pop"),
        "imap_ready": cats.count("imap_ready"),
        "imap_fixed": cats.count("imap_fixed") + cats.count("imap_to_fix"),
        "imap_pending_running": cats.count("imap_pending_running"),
        "imap_at_next_start": cats.count("imap_at_next_start"),
        "installations_covered": cats.count("installation_covered"),
        "imap_not_ready": cats.count("imap_not_ready"),
        "password_exposed": sum(1 for r in rows if r["password_exposed"] == "true"),
        "errors": sum(1 for c in cats if c in ("profile_error", "host_error", "host_failed")),
        "unreachable": sum(1 for c in cats if c in ("host_unreachable", "host_not_run")),
    }


def as_set(rows):
    return sorted(tuple(sorted(r.items())) for r in rows)


def url(report, fragment=""):
    return "file://%s%s" % (report["html"], fragment)


def test_page_renders_with_the_csv_counts_and_rows(report, tmp_path):
    page = Page(chromium(tmp_path, url(report), "--dump-dom"))
    assert page.body.get("data-script") == "ready"
    expected = csv_counts(report["rows"])
    assert {k: v["attr"] for k, v in page.cards.items()} == expected
    assert {k: int(v["text"]) for k, v in page.cards.items()} == expected
    assert all(v > 0 for v in expected.values()), expected  # the fixture covers every category
    assert as_set(r["cells"] for r in page.rows) == as_set(report["rows"])
    assert not any(r["hidden"] for r in page.rows)


@pytest.mark.parametrize("column, descending", [
    ("store_bytes", True), ("folders_total", False), ("host", True), ("category", False)])
def test_clicking_a_header_sorts_the_table(report, tmp_path, column, descending):
    fragment = "#sort=%s%s" % (column, ":desc" if descending else "")
    page = Page(chromium(tmp_path, url(report, fragment), "--dump-dom"))
    assert page.body.get("data-sorted-by") == fragment[len("#sort="):]
    assert page.heads[column].get("aria-sort") == ("descending" if descending else "ascending")
    values = [r["cells"][column] for r in page.rows]
    if column in NUMBER_COLUMNS:
        keys = [float(v) if v else float("-inf") for v in values]
    else:
        keys = [v.lower() for v in values]
    assert keys == sorted(keys, reverse=descending)
    assert as_set(r["cells"] for r in page.rows) == as_set(report["rows"])


def test_sorting_changes_the_order(report, tmp_path):
    before = [r["cells"]["store_bytes"] for r in Page(chromium(tmp_path, url(report), "--dump-dom")).rows]
    after = [r["cells"]["store_bytes"] for r in
             Page(chromium(tmp_path, url(report, "#sort=store_bytes:desc"), "--dump-dom")).rows]
    assert before != after and sorted(before) == sorted(after)


@pytest.mark.parametrize("count", ["pop", "imap_fixed", "imap_pending_running", "password_exposed", "errors",
                                   "unreachable"])
def test_clicking_a_count_shows_its_rows(report, tmp_path, count):
    page = Page(chromium(tmp_path, url(report, "#filter=" + count), "--dump-dom"))
    shown = [r for r in page.rows if not r["hidden"]]
    assert len(shown) == csv_counts(report["rows"])[count] > 0
    assert page.body.get("data-shown-rows") == str(len(shown))
    assert page.cards[count]["pressed"] == "true"


def test_page_is_self_contained(report):
    text = report["html"].read_text(encoding="utf-8")
    assert "default-src 'none'" in text
    for needle in ("src=", "href=", "url(", "@import", "http://", "https://", "//cdn"):
        assert needle not in text, needle


def test_screenshot(report, tmp_path):
    os.makedirs(OUTPUT, exist_ok=True)
    shot = os.path.join(OUTPUT, "report-screenshot.png")
    if os.path.exists(shot):
        os.unlink(shot)
    chromium(tmp_path, url(report), "--window-size=1400,1000", "--screenshot=%s" % shot)
    with open(shot, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (1400, 1000)
    # A blank or unstyled page compresses to a few KB; this one has colour and text.
    assert len(data) > 30000, len(data)
    assert re.search(rb"IDAT", data)
