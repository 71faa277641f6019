# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet report of the thunderbird_backup role: one row per profile (plus
one per unreachable/failed host and per host error), counts, CSV and a
self-contained HTML page in the style of the offline report."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.rectorat.thunderbird.plugins.plugin_utils.report_page import (
    blank_row, esc, human_bytes as _human_bytes, page, render_csv as _render_csv, style)

COLUMNS = ("host", "host_status", "mode", "user", "profile", "path", "status", "archive", "bytes",
           "files", "seconds", "imap_online_only", "removed", "message")
HEADERS_FR = {
    "host": u"poste", "host_status": u"état du poste", "mode": u"mode", "user": u"utilisateur",
    "profile": u"profil", "path": u"dossier du profil", "status": u"sauvegarde", "archive": u"archive",
    "bytes": u"taille", "files": u"fichiers", "seconds": u"secondes",
    "imap_online_only": u"comptes IMAP non couverts (courrier resté sur le serveur)",
    "removed": u"anciennes archives supprimées", "message": u"message",
}
STATUS_FR = {"backed_up": u"archivé", "would_back_up": u"à archiver", "unchanged": u"inchangé",
             "skipped_running": u"laissé : Thunderbird ouvert", "error": u"erreur",
             "host_unreachable": u"poste injoignable", "host_failed": u"poste en échec",
             "host_not_run": u"non traité", "host_error": u"erreur du poste", "host_empty": u"aucun profil"}
COUNTS = (("hosts", u"postes"), ("profiles", u"profils"), ("backed_up", u"archivés"),
          ("unchanged", u"inchangés"), ("skipped_running", u"laissés (Thunderbird ouvert)"),
          ("errors", u"erreurs"), ("unreachable", u"postes injoignables"),
          ("imap_online_only", u"comptes IMAP non couverts"), ("bytes", u"octets archivés"))


def classify_host(result, active):
    if isinstance(result, dict) and result:
        if result.get("unreachable"):
            return "unreachable"
        if result.get("failed") and not result.get("profiles"):
            return "failed"
        if result.get("skipped"):
            return "not_run"
        return "ok"
    return "not_run" if active else "unreachable"


def _blank(host, state, mode):
    return blank_row(COLUMNS, host, state, mode)


def host_rows(host, state, result, check_mode):
    mode = "check" if check_mode else "apply"
    result = result or {}
    rows = []
    if state != "ok":
        status = {"unreachable": "host_unreachable", "failed": "host_failed"}.get(state, "host_not_run")
        rows.append(dict(_blank(host, state, mode), status=status,
                         message=str(result.get("msg") or u"host unreachable, or failed before this role ran")))
    for error in result.get("errors") or []:
        rows.append(dict(_blank(host, state, mode), status="host_error", message=str(error)))
    for record in result.get("profiles") or []:
        status = record.get("status") or "error"
        if check_mode and status == "backed_up":
            status = "would_back_up"
        online_only = record.get("imap_online_only") or []
        message = record.get("error") or ""
        if online_only:
            message = (message + u"; " if message else u"") + (
                u"the archive does not hold the mail of %d IMAP account(s) that keep no offline copy"
                % len(online_only))
        rows.append(dict(_blank(host, state, mode), user=record.get("user") or "", profile=record.get("name") or "",
                         path=record.get("path") or "", status=status, archive=record.get("archive") or "",
                         bytes="" if record.get("bytes") is None else record["bytes"],
                         files="" if record.get("files") is None else record["files"],
                         seconds="" if record.get("seconds") is None else record["seconds"],
                         imap_online_only=u"; ".join(str(a) for a in online_only),
                         removed=u"; ".join(record.get("removed") or []), message=message))
    if not rows:
        rows.append(dict(_blank(host, state, mode), status="host_empty", message=u"no Thunderbird profile found"))
    return rows


def count(rows):
    statuses = [r["status"] for r in rows]
    return {
        "hosts": len(set(r["host"] for r in rows)),
        "profiles": sum(1 for r in rows if r["path"] != ""),
        "backed_up": statuses.count("backed_up") + statuses.count("would_back_up"),
        "unchanged": statuses.count("unchanged"),
        "skipped_running": statuses.count("skipped_running"),
        "errors": sum(1 for s in statuses if s in ("error", "host_error", "host_failed")),
        "unreachable": sum(1 for s in statuses if s in ("host_unreachable", "host_not_run")),
        "imap_online_only": sum(len([a for a in r["imap_online_only"].split(u"; ") if a]) for r in rows),
        "bytes": sum(int(r["bytes"]) for r in rows if r["status"] == "backed_up" and r["bytes"] != ""),
    }


def render_csv(rows):
    return _render_csv(rows, COLUMNS)


def human_bytes(value):
    return _human_bytes(value, u"To")


def _display(column, value):
    if column == "bytes":
        return human_bytes(value)
    if column == "status":
        return STATUS_FR.get(value, value)
    return u"%s" % value


def render_html(rows, check_mode, generated):
    counts = count(rows)
    cards = u"".join(
        u'<div class="card card-%s" data-count="%s"><span class="value">%s</span><span class="label">%s</span></div>'
        % (k, k, esc(human_bytes(counts[k]) if k == "bytes" else u"%d" % counts[k]), esc(label))
        for k, label in COUNTS)
    heads = u"".join(u'<th scope="col">%s</th>' % esc(HEADERS_FR[c]) for c in COLUMNS)
    body = u"\n".join(u'<tr data-status="%s">%s</tr>' % (esc(r["status"]), u"".join(
        u'<td data-column="%s" data-value="%s">%s</td>' % (c, esc(r[c]), esc(_display(c, r[c])))
        for c in COLUMNS)) for r in rows)
    banner = (u'<p class="banner" id="check-mode">Rapport de simulation (--check) : aucune archive n\'a été '
              u'écrite.</p>' if check_mode else u"")
    return page(u"Thunderbird : sauvegarde des profils", u"simulation (--check)" if check_mode else u"application",
                generated, banner, counts, cards, _CONTENT % {"heads": heads, "body": body}, _STYLE)


def build(entries, check_mode=False, generated=""):
    """``entries``: dicts host, state, result. Rows, counts, csv, html."""
    rows = []
    for entry in sorted(entries, key=lambda e: e["host"]):
        rows.extend(host_rows(entry["host"], entry["state"], entry.get("result"), check_mode))
    return {"rows": rows, "counts": count(rows), "csv": render_csv(rows),
            "html": render_html(rows, check_mode, generated)}


_STYLE = style(card_rules=u"""\
.card-errors .value, .card-unreachable .value, .card-imap_online_only .value { color: #b3261e; }
.card-backed_up .value, .card-unchanged .value { color: #1d6b2f; }
.card-skipped_running .value { color: #9a5b00; }
""", table_rules=u"""\
th { background: #eef0f6; position: sticky; top: 0; }
tr[data-status="error"] td, tr[data-status^="host_"] td { background: #fdecea; }
tr[data-status="skipped_running"] td { background: #fff8e1; }
td[data-column="archive"], td[data-column="path"], td[data-column="message"] { overflow-wrap: anywhere; max-width: 24rem; }
""")

_CONTENT = u"""<p>Un compte IMAP « non couvert » garde son courrier sur le serveur seulement : son archive ne le contient pas.
Lancez le rôle rectorat.thunderbird.thunderbird_offline, puis laissez Thunderbird télécharger.</p>
<table id="profiles">
<thead><tr>%(heads)s</tr></thead>
<tbody>
%(body)s
</tbody>
</table>"""
