# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""thunderbird_backup: select profiles as the other modules do (collect →
plan, read only), then archive each through the given ``backup_fn``."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

from ansible_collections.rectorat.thunderbird.plugins.module_utils import backup as bk
from ansible_collections.rectorat.thunderbird.plugins.module_utils import plan as planner

STATUSES = ("backed_up", "unchanged", "skipped_running", "error")


def _norm(path):
    return path.replace("\\", "/").rstrip("/")


def selected_profiles(params, collect_fn, os_family="posix"):
    """(entries, host errors): every profile with its name, owner, and the
    IMAP accounts an archive would not cover, from the existing facts."""
    request = planner.collect_request(params.get("users"), params.get("profiles"), os_family)
    request["max_file_bytes"] = params.get("max_file_bytes")
    snapshot = collect_fn(request)
    planned = planner.plan(snapshot, planner.Options(enforce=False))
    snaps = dict((_norm(s["path"]), s) for s in snapshot.get("profiles", []))
    entries = []
    for record in planned["profiles"]:
        snap = snaps.get(_norm(record["path"]))
        entry = {"path": record["path"], "user": record.get("user"), "name": record.get("name"),
                 "imap_online_only": bk.imap_online_only(record.get("accounts")),
                 "warning": None, "refused": None}
        if snap is None or snap.get("symlink") or snap.get("error"):
            entry["refused"] = record.get("error") or "profile not readable"
        else:
            entry.update(home=snap.get("home"), uid=snap.get("uid"), gid=snap.get("gid"),
                         running=snap.get("running"), lock_error=snap.get("lock_error"))
            if record.get("error"):
                # A profile whose prefs do not parse is still worth saving.
                entry["warning"] = record["error"]
        entries.append(entry)
    return entries, planned["errors"]


def result_record(entry, outcome, seconds):
    return {
        "path": entry["path"], "user": entry["user"], "name": entry["name"],
        "status": outcome["status"], "archive": outcome.get("archive"), "bytes": outcome.get("bytes"),
        "files": outcome.get("files"), "sha256": outcome.get("sha256"), "seconds": round(seconds, 3),
        "imap_online_only": entry["imap_online_only"], "removed": outcome.get("removed", []),
        "error": outcome.get("error"),
    }


def duplicate_folders(entries):
    """Two profiles of one user with the same name would share a folder."""
    seen, clashes = {}, set()
    for entry in entries:
        if entry["refused"]:
            continue
        key = bk.archive_folder(entry["user"], entry["name"], entry.get("uid"))
        if key in seen:
            clashes.add(entry["path"])
            clashes.add(seen[key])
        seen[key] = entry["path"]
    return clashes


def one_by_one(backup_fn):
    """A ``backup_many`` from a function that archives one profile."""
    def backup_many(entries, dest, keep, check_mode):
        outcomes = {}
        for entry in entries:
            started = time.time()
            outcome = backup_fn(entry, dest, keep, check_mode)
            outcomes[entry["path"]] = dict(outcome, seconds=time.time() - started)
        return outcomes
    return backup_many


def run(params, check_mode, collect_fn, backup_fn=None, os_family="posix", backup_many=None):
    """``backup_fn(entry, dest, keep, check_mode)`` archives one profile;
    or ``backup_many(entries, dest, keep, check_mode)`` gives {path: outcome}
    for all of them at once (a Windows host: one round trip for all)."""
    entries, host_errors = selected_profiles(params, collect_fn, os_family)
    clashes = duplicate_folders(entries)
    todo = [e for e in entries if not e["refused"] and e["path"] not in clashes]
    outcomes = (backup_many or one_by_one(backup_fn))(todo, params["dest"], params["keep"], check_mode)
    records = []
    for entry in entries:
        if entry["refused"]:
            outcome = {"status": "error", "error": entry["refused"]}
        elif entry["path"] in clashes:
            outcome = {"status": "error", "error": "another profile of %s is named %r too; back it up with "
                       "`profiles` and its own dest" % (entry["user"], entry["name"])}
        else:
            outcome = outcomes[entry["path"]]
        records.append(result_record(entry, outcome, outcome.get("seconds") or 0.0))
    counts = dict((s, sum(1 for r in records if r["status"] == s)) for s in STATUSES)
    result = {
        "changed": any(r["status"] == "backed_up" or r["removed"] for r in records),
        "profiles": records,
        "summary": dict(counts, profiles=len(records), host_errors=len(host_errors),
                        bytes=sum(r["bytes"] or 0 for r in records if r["status"] == "backed_up"),
                        imap_online_only=sum(len(r["imap_online_only"]) for r in records)),
        "errors": host_errors,
        "warnings": ["%s: %s" % (e["path"], e["warning"]) for e in entries if e["warning"]] + host_errors
        + ["%s: %d IMAP account(s) keep no offline copy; the archive does not hold their mail: %s"
           % (r["path"], len(r["imap_online_only"]), ", ".join(str(a) for a in r["imap_online_only"]))
           for r in records if r["imap_online_only"]],
    }
    verb = "would archive" if check_mode else "archived"
    result["msg"] = "%d profile(s): %s %d, %d unchanged, %d skipped (Thunderbird open), %d error(s)" % (
        len(records), verb, counts["backed_up"], counts["unchanged"], counts["skipped_running"], counts["error"])
    if params.get("if_running") == "fail" and counts["skipped_running"]:
        result["failed"] = True
        result["msg"] = "Thunderbird is running with: " + ", ".join(
            r["path"] for r in records if r["status"] == "skipped_running")
    return result
