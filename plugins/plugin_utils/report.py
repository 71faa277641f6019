# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report of the thunderbird_offline role: rows, counts, CSV, HTML (pure).

Input: one entry per host of the play, ``{"host", "state", "result"}`` where
``state`` is ``ok``, ``failed``, ``unreachable`` or ``not_run`` and ``result``
the registered result of thunderbird_offline (or None). Every host gives at
least one row, so none is silently missing.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.rectorat.thunderbird.plugins.plugin_utils.report_page import (
    blank_row, esc, human_bytes, page, render_csv as _render_csv, style, text as _text)

COLUMNS = (
    "host", "host_status", "user", "profile", "profile_name", "profile_status", "changes",
    "account", "account_name", "email", "type", "server", "port", "security", "auth_method",
    "password_exposed", "keep_messages", "sync_age_days", "size_limit_kb",
    "folders_offline", "folders_total", "store_bytes", "backup_ready", "backup_ready_before",
    "category", "mode", "message",
)
# The page's column order: what an admin reads first; DETAIL columns are
# shown on demand (every value stays in the page either way).
DISPLAY = (
    "host", "user", "category", "profile_status", "message", "email", "account_name", "type", "server",
    "security", "password_exposed", "keep_messages", "sync_age_days", "size_limit_kb",
    "folders_offline", "folders_total", "store_bytes", "backup_ready",
    "host_status", "profile_name", "profile", "account", "port", "auth_method", "backup_ready_before",
    "changes", "mode",
)
DETAIL = frozenset(DISPLAY[DISPLAY.index("host_status"):])
NUMERIC = frozenset(("port", "sync_age_days", "size_limit_kb", "folders_offline", "folders_total", "store_bytes"))

HOST_ROW_CATEGORY = {"failed": "host_failed", "unreachable": "host_unreachable", "not_run": "host_not_run"}
ERROR_CATEGORIES = frozenset(("profile_error", "host_error", "host_failed"))
UNREACHABLE_CATEGORIES = frozenset(("host_unreachable", "host_not_run"))

# (count key, French label, label in check mode)
COUNTS = (
    ("hosts", u"Postes", None),
    ("profiles", u"Profils", None),
    ("accounts", u"Comptes de messagerie (hors dossiers locaux)", None),
    ("pop", u"Comptes POP (courrier sur le poste)", None),
    ("imap_ready", u"IMAP prêts pour la sauvegarde", None),
    ("imap_fixed", u"IMAP corrigés ce passage", u"IMAP à corriger (simulation)"),
    ("imap_pending_running", u"IMAP en attente : Thunderbird ouvert", None),
    ("imap_at_next_start", u"IMAP appliqués au prochain démarrage (Thunderbird ouvert)", None),
    ("installations_covered", u"Installations de Thunderbird avec le réglage au démarrage", None),
    ("imap_not_ready", u"IMAP non prêts, hors périmètre", None),
    ("password_exposed", u"Mots de passe exposés (sans chiffrement)", None),
    ("errors", u"Erreurs (postes en échec, profils illisibles)", None),
    ("unreachable", u"Postes injoignables ou non traités", None),
)

HEADERS_FR = {
    "host": u"Poste", "host_status": u"État du poste", "user": u"Utilisateur", "profile": u"Profil",
    "profile_name": u"Nom du profil", "profile_status": u"Statut (ce passage)",
    "changes": u"Modifications du profil", "account": u"Clé du compte",
    "account_name": u"Compte", "email": u"Adresse", "type": u"Type", "server": u"Serveur", "port": u"Port",
    "security": u"Sécurité", "auth_method": u"Authentification", "password_exposed": u"Mot de passe exposé",
    "keep_messages": u"Conserver les messages", "sync_age_days": u"Âge max (jours, 0 = tous)",
    "size_limit_kb": u"Taille max (Ko, 0 = aucune)", "folders_offline": u"Dossiers hors ligne",
    "folders_total": u"Dossiers à synchroniser", "store_bytes": u"Taille sur disque",
    "backup_ready": u"Prêt pour la sauvegarde", "backup_ready_before": u"Prêt avant",
    "category": u"Catégorie", "mode": u"Mode", "message": u"Message",
}

CATEGORY_FR = {
    "pop": u"POP", "imap_ready": u"IMAP prêt", "imap_fixed": u"IMAP corrigé",
    "imap_to_fix": u"IMAP à corriger", "imap_pending_running": u"IMAP en attente (Thunderbird ouvert)",
    "imap_not_ready": u"IMAP non prêt", "local": u"Dossiers locaux", "other": u"Autre (flux, forums...)",
    "profile_empty": u"Profil sans compte", "profile_error": u"Profil en erreur",
    "host_error": u"Erreur du poste", "host_failed": u"Poste en échec",
    "host_unreachable": u"Poste injoignable", "host_not_run": u"Poste non traité",
    "host_empty": u"Poste sans profil Thunderbird",
    "imap_at_next_start": u"IMAP appliqué au prochain démarrage (Thunderbird ouvert)",
    "installation_covered": u"Installation avec le réglage au démarrage",
    "installation_not_covered": u"Installation sans le réglage au démarrage",
}

_COMPARED = ("offline_download", "sync_age_days", "size_limit_kb", "folders_offline", "backup_ready")


def classify_host(host, result, active):
    """``state`` of a host: what the registered result and the play say."""
    if isinstance(result, dict) and result:
        if result.get("unreachable"):
            return "unreachable"
        if result.get("failed"):
            return "failed"
        if result.get("skipped"):
            return "not_run"
        return "ok"
    return "not_run" if active else "unreachable"


def _cell(value):
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return value


def _blank(host, host_status, mode):
    return blank_row(COLUMNS, host, host_status, mode)


def _profile_status(record, check_mode):
    status = record.get("status") or ""
    if check_mode and status == "changed":
        return "would_change"
    return status


def _changed_account(account):
    before = account.get("before")
    if not isinstance(before, dict):
        return False
    return any(before.get(k) != account.get(k) for k in _COMPARED if k in before)


def account_category(account, record, check_mode):
    kind = account.get("type")
    if kind == "pop3":
        return "pop"
    if kind == "none":
        return "local"
    if kind != "imap":
        return "other"
    if record.get("status") == "changed" and _changed_account(account):
        return "imap_to_fix" if check_mode else "imap_fixed"
    if account.get("backup_ready"):
        return "imap_ready"
    if record.get("status") == "skipped_running" or record.get("running"):
        return "imap_at_next_start" if record.get("hook_covers") else "imap_pending_running"
    return "imap_not_ready"


def _age(account):
    """0 = every age, as the role's variable; blank when not IMAP."""
    if account.get("type") != "imap":
        return None
    return account.get("sync_age_days") or 0


def _limit(account):
    if account.get("type") != "imap":
        return None
    return account.get("size_limit_kb") or 0


def account_row(base, account, record, check_mode):
    row = dict(base)
    network = account.get("type") != "none"  # Local Folders has no server
    before = account.get("before") if isinstance(account.get("before"), dict) else {}
    row.update(
        account=account.get("key"), account_name=account.get("name"), email=account.get("email"),
        type=account.get("type"), server=account.get("hostname") if network else None,
        port=account.get("port") if network else None,
        security=account.get("socket_type") if network else None,
        auth_method=account.get("auth_method") if network else None,
        password_exposed=account.get("password_exposed") if network else None,
        keep_messages=account.get("offline_download") if account.get("type") == "imap" else None,
        sync_age_days=_age(account), size_limit_kb=_limit(account),
        folders_offline=account.get("folders_offline"), folders_total=account.get("folders_total"),
        store_bytes=account.get("store_bytes"), backup_ready=account.get("backup_ready"),
        backup_ready_before=before.get("backup_ready", account.get("backup_ready")),
        category=account_category(account, record, check_mode),
        message="; ".join(account.get("problems") or []),
    )
    return dict((k, _cell(v)) for k, v in row.items())


def profile_rows(host, host_status, record, check_mode, mode):
    base = _blank(host, host_status, mode)
    base.update(user=_cell(record.get("user")), profile=_cell(record.get("path")),
                profile_name=_cell(record.get("name")),
                profile_status=_profile_status(record, check_mode),
                changes="; ".join(str(c) for c in record.get("changes") or []))
    rows = []
    if record.get("error") or record.get("status") == "error":
        rows.append(dict(base, category="profile_error", message=record.get("error") or "error"))
    accounts = record.get("accounts") or []
    for account in accounts:
        rows.append(account_row(base, account, record, check_mode))
    if not rows:
        rows.append(dict(base, category="profile_empty", message=u"no mail account"))
    return rows


def _facts(result):
    facts = (result or {}).get("ansible_facts") or {}
    return facts.get("thunderbird") or {}


def host_rows(entry, check_mode):
    host, state, result = entry["host"], entry["state"], entry.get("result") or {}
    mode = "check" if check_mode else "apply"
    rows = []
    if state in HOST_ROW_CATEGORY:
        message = result.get("msg") or {
            "unreachable": u"host unreachable, or failed before this role ran",
            "not_run": u"the role did not run on this host",
        }.get(state, u"failed")
        rows.append(dict(_blank(host, state, mode), category=HOST_ROW_CATEGORY[state], message=str(message)))
    facts = _facts(result)
    for error in facts.get("errors") or []:
        rows.append(dict(_blank(host, state, mode), category="host_error", message=str(error)))
    installations = ((entry.get("autoconfig") or {}).get("installations")) or []
    covered = any(i.get("status") in ("changed", "unchanged") for i in installations)
    for record in facts.get("profiles") or []:
        rows.extend(profile_rows(host, state, dict(record, hook_covers=covered), check_mode, mode))
    if not rows:
        rows.append(dict(_blank(host, state, mode), category="host_empty", message=u"no Thunderbird profile found"))
    for item in installations:
        category = "installation_covered" if item.get("status") in ("changed", "unchanged") else "installation_not_covered"
        rows.append(dict(_blank(host, state, mode), category=category, message=u"%s (%s %s): %s, %s" % (
            item.get("path"), item.get("kind"), item.get("version") or "", item.get("status"), item.get("message"))))
    return rows


def build_rows(entries, check_mode):
    rows = []
    for entry in sorted(entries, key=lambda e: e["host"]):
        rows.extend(host_rows(entry, check_mode))
    return rows


def count(rows):
    """The report's counts; each is a plain count of CSV rows (or of distinct
    hosts/profiles), so anyone can recompute them from the CSV."""
    accounts = [r for r in rows if r["account"] != "" and r["type"] != "none"]
    categories = [r["category"] for r in rows]
    return {
        "hosts": len(set(r["host"] for r in rows)),
        "profiles": len(set((r["host"], r["profile"]) for r in rows if r["profile"] != "")),
        "accounts": len(accounts),
        "pop": categories.count("pop"),
        "imap_ready": categories.count("imap_ready"),
        "imap_fixed": categories.count("imap_fixed") + categories.count("imap_to_fix"),
        "imap_pending_running": categories.count("imap_pending_running"),
        "imap_at_next_start": categories.count("imap_at_next_start"),
        "installations_covered": categories.count("installation_covered"),
        "imap_not_ready": categories.count("imap_not_ready"),
        "password_exposed": sum(1 for r in accounts if r["password_exposed"] == "true"),
        "errors": sum(1 for c in categories if c in ERROR_CATEGORIES),
        "unreachable": sum(1 for c in categories if c in UNREACHABLE_CATEGORIES),
    }


def render_csv(rows):
    return _render_csv(rows, COLUMNS)


_DISPLAY_BOOL = {"true": u"oui", "false": u"non"}
_DISPLAY = {
    "category": CATEGORY_FR,
    "profile_status": {"changed": u"modifié", "would_change": u"à modifier", "unchanged": u"inchangé",
                       "skipped_running": u"laissé : Thunderbird ouvert", "error": u"erreur"},
    "host_status": {"ok": u"traité", "failed": u"en échec", "unreachable": u"injoignable",
                    "not_run": u"non traité"},
    "type": {"imap": u"IMAP", "pop3": u"POP", "none": u"local"},
    "security": {"plain": u"aucune", "starttls": u"STARTTLS", "tls": u"SSL/TLS"},
    "mode": {"apply": u"application", "check": u"simulation"},
}


def _display(column, value):
    if column == "store_bytes":
        return human_bytes(value, u"Go")
    if column in _DISPLAY:
        return _DISPLAY[column].get(value, value)
    if value in _DISPLAY_BOOL:
        return _DISPLAY_BOOL[value]
    return _text(value)


def _detail(column):
    return u' class="detail"' if column in DETAIL else u""


def _row_html(row):
    cells = []
    for column in DISPLAY:
        value = _text(row[column])
        cells.append(u'<td data-column="%s" data-value="%s"%s>%s</td>' % (
            column, esc(value), _detail(column), esc(_display(column, value))))
    return u'<tr data-category="%s" data-host-status="%s">%s</tr>' % (
        esc(row["category"]), esc(row["host_status"]), u"".join(cells))


def _card(key, label, value):
    return (u'<button type="button" class="card card-%s" data-count="%s" data-value="%d">'
            u'<span class="value">%d</span><span class="label">%s</span></button>') % (
        esc(key), esc(key), value, value, esc(label))


def render_html(rows, check_mode, generated=""):
    counts = count(rows)
    cards = u"".join(_card(key, (check_label if check_mode and check_label else label), counts[key])
                     for key, label, check_label in COUNTS)
    heads = u"".join(u'<th data-column="%s" data-type="%s" scope="col"%s>%s</th>' % (
        c, "number" if c in NUMERIC else "text", _detail(c), esc(HEADERS_FR[c])) for c in DISPLAY)
    body = u"\n".join(_row_html(r) for r in rows)
    mode = u"simulation (--check) : rien n'a été écrit sur les postes" if check_mode else u"application"
    banner = (u'<p class="banner" id="check-mode">Rapport de simulation (--check) : aucun fichier n\'a été '
              u'modifié ; « IMAP à corriger » compte les comptes que le passage réel corrigerait.</p>'
              if check_mode else u"")
    legend = u"".join(u"<li><code>%s</code> : %s</li>" % (esc(k), esc(v)) for k, v in sorted(CATEGORY_FR.items()))
    return page(u"Thunderbird : courrier conservé sur les postes", mode, generated, banner, counts, cards,
                _CONTENT % {"heads": heads, "body": body, "legend": legend}, _STYLE, script=_SCRIPT,
                body_attrs=u' data-mode="%s"' % ("check" if check_mode else "apply"))


def _host_result(hostvars, host, result_var):
    try:
        host_vars = hostvars[host]
    except KeyError:
        return None
    if result_var not in host_vars:
        return None
    value = host_vars[result_var]
    return value if isinstance(value, dict) else None


def entries_from_hostvars(hostvars, hosts_all, hosts_active=None, result_var="thunderbird_offline_result",
                          autoconfig_var="thunderbird_offline_autoconfig_result"):
    """One entry per host of ``hosts_all`` (the play's hosts), its state from
    the result registered in ``result_var`` and whether it is still active,
    with the at-start hook's installations: those of that result
    (``thunderbird_offline`` with ``at_start``), else of the result registered
    in ``autoconfig_var`` (a ``thunderbird_autoconfig`` task)."""
    active = set(hosts_active if hosts_active is not None else hosts_all)
    entries = []
    for host in hosts_all:
        result = _host_result(hostvars, host, result_var)
        hook = {"installations": result["installations"]} if result and "installations" in result \
            else _host_result(hostvars, host, autoconfig_var)
        entries.append({"host": str(host), "state": classify_host(host, result, host in active), "result": result,
                        "autoconfig": hook})
    return entries


def build(entries, check_mode=False, generated=""):
    rows = build_rows(entries, check_mode)
    return {"rows": rows, "counts": count(rows), "csv": render_csv(rows),
            "html": render_html(rows, check_mode, generated)}


_STYLE = style(meta_extra=u" margin: 0 0 1rem;", card_extra=u"\n        text-align: left; cursor: pointer; font: inherit;",
               card_rules=u"""\
.card[aria-pressed="true"] { outline: 3px solid #2a62c9; }
.card-errors .value, .card-unreachable .value, .card-password_exposed .value { color: #b3261e; }
.card-imap_ready .value, .card-imap_fixed .value, .card-pop .value { color: #1d6b2f; }
.card-imap_pending_running .value, .card-imap_not_ready .value { color: #9a5b00; }
""", table_rules=u"""\
th { background: #eef0f6; cursor: pointer; position: sticky; top: 0; user-select: none; }
th[aria-sort="ascending"]::after { content: " \\25B2"; }
th[aria-sort="descending"]::after { content: " \\25BC"; }
tr[data-category^="host_"] td, tr[data-category="profile_error"] td { background: #fdecea; }
tr[data-category="imap_pending_running"] td { background: #fff8e1; }
td[data-column="message"], td[data-column="changes"] { min-width: 10rem; max-width: 26rem; overflow-wrap: anywhere; }
td[data-column="profile"] { min-width: 18rem; overflow-wrap: anywhere; }
td[data-column="host"], td[data-column="user"] { white-space: nowrap; }
.detail { display: none; }
body.all-columns .detail { display: table-cell; }
.tools { margin: .5rem 0; }
""")

_SCRIPT = u"""
(function () {
  "use strict";
  var table = document.getElementById("accounts");
  var body = table.tBodies[0];
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var cards = Array.prototype.slice.call(document.querySelectorAll("#counts .card"));
  var CATEGORIES = {
    pop: ["pop"], imap_ready: ["imap_ready"], imap_fixed: ["imap_fixed", "imap_to_fix"],
    imap_pending_running: ["imap_pending_running"], imap_not_ready: ["imap_not_ready"],
    imap_at_next_start: ["imap_at_next_start"], installations_covered: ["installation_covered"],
    errors: ["profile_error", "host_error", "host_failed"], unreachable: ["host_unreachable", "host_not_run"]
  };

  function sortKey(row, index, numeric) {
    var value = row.cells[index].getAttribute("data-value");
    if (numeric) { return value === "" ? -Infinity : Number(value); }
    return value.toLowerCase();
  }

  function sortBy(th, descending) {
    var index = heads.indexOf(th);
    var numeric = th.getAttribute("data-type") === "number";
    var rows = Array.prototype.slice.call(body.rows).map(function (row, position) {
      return {row: row, key: sortKey(row, index, numeric), position: position};
    });
    rows.sort(function (a, b) {
      if (a.key < b.key) { return descending ? 1 : -1; }
      if (a.key > b.key) { return descending ? -1 : 1; }
      return a.position - b.position;
    });
    rows.forEach(function (item) { body.appendChild(item.row); });
    heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", descending ? "descending" : "ascending");
    document.body.setAttribute("data-sorted-by", th.getAttribute("data-column") + (descending ? ":desc" : ""));
  }

  function filterBy(card) {
    var pressed = card.getAttribute("aria-pressed") === "true";
    cards.forEach(function (c) { c.setAttribute("aria-pressed", "false"); });
    var key = card.getAttribute("data-count");
    var shown = 0;
    Array.prototype.forEach.call(body.rows, function (row) {
      var visible = true;
      if (!pressed) {
        if (key === "password_exposed") {
          visible = row.querySelector('td[data-column="password_exposed"]').getAttribute("data-value") === "true";
        } else if (CATEGORIES[key]) {
          visible = CATEGORIES[key].indexOf(row.getAttribute("data-category")) >= 0;
        } else if (key === "accounts") {
          visible = row.querySelector('td[data-column="account"]').getAttribute("data-value") !== "" &&
            row.querySelector('td[data-column="type"]').getAttribute("data-value") !== "none";
        }
      }
      row.hidden = !visible;
      if (visible) { shown += 1; }
    });
    if (!pressed) { card.setAttribute("aria-pressed", "true"); }
    document.body.setAttribute("data-filter", pressed ? "" : key);
    document.body.setAttribute("data-shown-rows", String(shown));
  }

  document.getElementById("all-columns").addEventListener("change", function (event) {
    document.body.classList.toggle("all-columns", event.target.checked);
  });
  heads.forEach(function (th) {
    th.addEventListener("click", function () {
      sortBy(th, th.getAttribute("aria-sort") === "ascending");
    });
  });
  cards.forEach(function (card) {
    card.setAttribute("aria-pressed", "false");
    card.addEventListener("click", function () { filterBy(card); });
  });

  // #sort=<column>[:desc] and #filter=<count> click the header or the card
  // once the page is loaded, as a user would: the tests drive the page so.
  var sort = /(?:^#|&)sort=([a-z_]+)(:desc)?/.exec(location.hash);
  if (sort) {
    var th = table.querySelector('th[data-column="' + sort[1] + '"]');
    if (th) { th.click(); if (sort[2]) { th.click(); } }
  }
  var filter = /(?:^#|&)filter=([a-z_]+)/.exec(location.hash);
  if (filter) {
    var card = document.querySelector('#counts .card[data-count="' + filter[1] + '"]');
    if (card) { card.click(); }
  }
  document.body.setAttribute("data-script", "ready");
})();
"""

_CONTENT = u"""<p>Cliquez sur un compteur pour filtrer le tableau, sur un en-tête pour trier. Les attributs
<code>data-value</code> des cellules et le fichier CSV voisin portent les valeurs brutes.</p>
<p class="tools"><label><input type="checkbox" id="all-columns"> Afficher toutes les colonnes
(profil, clé du compte, port, authentification, modifications...)</label></p>
<table id="accounts">
<thead><tr>%(heads)s</tr></thead>
<tbody>
%(body)s
</tbody>
</table>
<h2>Catégories</h2>
<ul id="legend">%(legend)s</ul>"""
