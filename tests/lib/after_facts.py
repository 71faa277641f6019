# -*- coding: utf-8 -*-
"""Check that the facts plan reports after its changes, which it derives from
the facts before plus the changes, equal a full parse of the written files.

The full parse is plan.plan (facts only) on the same snapshot with each
written file replaced by its new bytes, so every prefs file, user.js and
folderCache.json is parsed again from scratch; the .msf summaries are those
the snapshot already holds (commit writes none).
"""

import base64
import hashlib

from ansible_collections.rectorat.thunderbird.plugins.module_utils import plan


def written_snapshot(snapshot, commit_request):
    writes = dict((p["path"], p["writes"]) for p in commit_request["profiles"])
    profiles = []
    for snap in snapshot.get("profiles", []):
        files = dict(snap["files"])
        for write in writes.get(snap["path"], []):
            data = base64.b64decode(write["b64"])
            files[write["rel"]] = dict(files.get(write["rel"]) or {}, b64=write["b64"], size=len(data),
                                       sha256=hashlib.sha256(data).hexdigest(), error=None)
        profiles.append(dict(snap, files=files))
    return dict(snapshot, profiles=profiles)


def mismatches(snapshot, commit_request, records):
    """One line per account of a ``changed`` record whose reported facts
    differ from the reparsed ones."""
    fresh = plan.plan(written_snapshot(snapshot, commit_request), plan.Options())
    reparsed = dict((r["path"], r["accounts"]) for r in fresh["profiles"])
    problems = []
    for record in records:
        if record["status"] != "changed":
            continue
        derived = [dict((k, v) for k, v in a.items() if k != "before") for a in record["accounts"]]
        again = reparsed.get(record["path"])
        if again is None or len(again) != len(derived):
            problems.append("%s: the reparse has other accounts" % record["path"])
            continue
        for mine, theirs in zip(derived, again):
            for key in sorted(set(mine) | set(theirs)):
                if mine.get(key) != theirs.get(key):
                    problems.append("%s %s %s: derived %r, reparsed %r" % (
                        record["path"], mine.get("key"), key, mine.get(key), theirs.get(key)))
    return problems
