# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the at-start hook last did in a profile, read from the small JSON
file it writes there. Kept apart from ``autoconfig`` (which generates the
hook) because every ``thunderbird_offline`` and ``thunderbird_info`` run
reads it: their payload need not carry the hook's generator."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

REPORT_NAME = "rectorat-offline.json"
MAX_HOOK_REPORT = 256 * 1024


def at_start_facts(data, error=None):
    """Summary of the ``rectorat-offline.json`` the hook wrote in a profile
    (None when there is none)."""
    if error:
        return {"error": error}
    if data is None:
        return None
    if len(data) > MAX_HOOK_REPORT:
        return {"error": "%s is larger than %d bytes" % (REPORT_NAME, MAX_HOOK_REPORT)}
    try:
        report = json.loads(data.decode("utf-8"))
        keys = ("server", "hostname", "folders", "folders_flagged", "offline_download")
        accounts = [dict((k, a.get(k)) for k in keys)
                    for a in report.get("accounts") or [] if isinstance(a, dict)]
        return {
            "time": report.get("updated") or report.get("started"),
            "completed": bool(report.get("completed")),
            "trigger": report.get("trigger") if isinstance(report.get("trigger"), str) else None,
            "accounts": accounts,
            "folders_flagged": int(report.get("folders_flagged") or 0),
            "locked": len(report.get("locked") or []),
            "errors": [str(e) for e in (report.get("errors") or [])][:10],
            "error": None,
        }
    except (ValueError, TypeError, AttributeError) as exc:
        return {"error": "%s does not parse: %s" % (REPORT_NAME, exc)}
