# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the fleet reports (report.py for thunderbird_offline,
backup_report.py for thunderbird_backup) share: the CSV, whose cells never
reach a spreadsheet as a formula, and the self-contained HTML page (its
skeleton and its base style)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import csv
import io
import json
import re

from html import escape as _escape

# A spreadsheet reads a cell starting with one of these as a formula (or, for
# TAB and CR, may drop the blank and then read one): an email such as
# "=HYPERLINK(...)" must stay text. A number (e.g. -1) is no formula.
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?\Z")


def text(value):
    return value if isinstance(value, str) else str(value)


def esc(value):
    return _escape(text(value), quote=True)


def csv_cell(value):
    """The CSV text of a cell; a leading formula character gets a ``'`` before it."""
    cell = text(value)
    if cell.startswith(FORMULA_LEADS) and not _NUMBER.match(cell):
        return "'" + cell
    return cell


def render_csv(rows, columns):
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(dict((k, csv_cell(row[k])) for k in columns))
    return out.getvalue()


def blank_row(columns, host, host_status, mode):
    row = dict((c, "") for c in columns)
    row.update(host=host, host_status=host_status, mode=mode)
    return row


def human_bytes(value, largest):
    """``value`` bytes in French units up to ``largest`` (o, Ko, Mo, Go, To)."""
    if value == "":
        return ""
    size = float(value)
    for unit in (u"o", u"Ko", u"Mo", u"Go", u"To"):
        if size < 1024 or unit == largest:
            number = ("%d" % size) if unit == u"o" else ("%.1f" % size).replace(".", ",")
            return u"%s %s" % (number, unit)
        size /= 1024.0
    return value  # pragma: no cover


def style(meta_extra=u"", card_extra=u"", card_rules=u"", table_rules=u""):
    """The page's CSS: the base both reports share, with each report's own
    additions to ``.meta`` and ``.card`` and its own rules (lines ending in a
    newline) after the cards and after the table's."""
    return _STYLE % {"meta": meta_extra, "card": card_extra, "cards": card_rules, "table": table_rules}


def page(title, mode, generated, banner, counts, cards, content, css, script=u"", body_attrs=u""):
    """The self-contained page: ``content`` (HTML) comes after the count
    cards; ``script``, when given, is inlined (and allowed by the CSP)."""
    return _PAGE % {
        "title": esc(title), "mode": esc(mode), "generated": esc(generated), "banner": banner,
        "counts_json": esc(json.dumps(counts, sort_keys=True)), "cards": cards, "content": content,
        "style": css, "body_attrs": body_attrs,
        "script_src": u"; script-src 'unsafe-inline'" if script else u"",
        "script": u"<script>%s</script>\n" % script if script else u"",
    }


_STYLE = u"""
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #1b1b1b; background: #fafafa; }
h1 { font-size: 1.4rem; margin: 0 0 .3rem; }
.meta { color: #555;%(meta)s }
.banner { background: #fff3cd; border: 1px solid #e0b000; padding: .6rem 1rem; border-radius: 6px; }
#counts { display: flex; flex-wrap: wrap; gap: .6rem; margin: 1rem 0; }
.card { border: 1px solid #ccd; border-radius: 8px; background: #fff; padding: .6rem .9rem; min-width: 9rem;%(card)s }
.card .value { display: block; font-size: 1.6rem; font-weight: 700; }
.card .label { display: block; font-size: .85rem; color: #444; }
%(cards)stable { border-collapse: collapse; background: #fff; font-size: .85rem; }
th, td { border: 1px solid #d6d6e0; padding: .25rem .45rem; text-align: left; vertical-align: top; }
%(table)s"""

_PAGE = u"""<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'%(script_src)s">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>%(title)s</title>
<style>%(style)s</style>
</head>
<body%(body_attrs)s>
<h1>%(title)s</h1>
<p class="meta">Mode : %(mode)s. Généré le %(generated)s.</p>
%(banner)s
<section id="counts" data-counts="%(counts_json)s">%(cards)s</section>
%(content)s
%(script)s</body>
</html>
"""
