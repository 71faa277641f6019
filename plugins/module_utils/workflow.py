# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""collect → plan → commit, the same sequence for Linux modules and for the
Windows action plugin, which pass their own collect and commit callables."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

from ansible_collections.rectorat.thunderbird.plugins.module_utils import budget
from ansible_collections.rectorat.thunderbird.plugins.module_utils import plan as planner

COMMIT_STATUS = {"running": "skipped_running", "conflict": "error", "error": "error"}


def options_from_params(params, enforce, diff=True):
    return planner.Options(
        diff=diff,
        enforce=enforce,
        servers=params.get("servers"),
        sync_age_days=params.get("sync_age_days") or 0,
        size_limit_kb=params.get("size_limit_kb") or 0,
        if_running=params.get("if_running") or "skip",
        backup=params.get("backup", True),
        stamp=time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()),
        seconds=budget.MAX_SECONDS,
    )


def apply_commit_response(records, response):
    by_path = dict((p["path"], p) for p in response.get("profiles", []))
    for record in records:
        before = record.pop("accounts_before", None)
        outcome = by_path.get(record["path"])
        if outcome is None or outcome["status"] == "written":
            if outcome:
                record["backups"] = outcome.get("backups", [])
            continue
        record["status"] = COMMIT_STATUS.get(outcome["status"], "error")
        record["error"] = outcome.get("error")
        record["running"] = record["running"] or outcome["status"] == "running"
        if before is not None:
            record["accounts"] = before
        record["changes"] = []


def run(params, enforce, check_mode, collect_fn, commit_fn, os_family="posix", diff=True):
    """The module result (without ``failed``): changed, msg, facts, and with
    ``diff`` (Ansible's --diff), the diff."""
    options = options_from_params(params, enforce, diff)
    request = planner.collect_request(params.get("users"), params.get("profiles"), os_family)
    snapshot = collect_fn(request)
    planned = planner.plan(snapshot, options)
    records = planned["profiles"]
    if enforce and not check_mode and planned["commit"]["profiles"]:
        apply_commit_response(records, commit_fn(planned["commit"]))
    for record in records:
        record.pop("accounts_before", None)
    summary = planner.summarize(records, planned["errors"])
    result = {
        "changed": any(r["status"] == "changed" for r in records),
        "summary": summary,
        "ansible_facts": {"thunderbird": {"profiles": records, "summary": summary,
                                          "errors": planned["errors"]}},
        "warnings": ["%s: %s" % (r["path"], r["error"]) for r in records if r["error"]] + planned["errors"],
        "msg": message(summary, enforce, check_mode),
    }
    if enforce and diff:
        result["diff"] = planned["diff"]
    if enforce and options.if_running == "fail" and any(
            r["running"] and r["status"] != "unchanged" for r in records):
        result["failed"] = True
        result["msg"] = "Thunderbird is running with a profile that needs changes: " + ", ".join(
            r["path"] for r in records if r["running"] and r["status"] != "unchanged")
    return result


def message(summary, enforce, check_mode):
    text = "%(profiles)d profile(s), %(accounts)d account(s): %(pop3)d POP, %(imap)d IMAP " \
           "(%(imap_backup_ready)d ready for backup)" % summary
    if enforce:
        verb = "would change" if check_mode else "changed"
        text += "; %s %d profile(s)" % (verb, summary["profiles_changed"])
    if summary["profiles_error"]:
        text += "; %d profile(s) in error" % summary["profiles_error"]
    return text
