# -*- coding: utf-8 -*-
"""Parse + plan of a profile whose prefs.js is 1 MB, timed (no ssh, no Ansible).

Usage: python plan_microbench.py COLLECTIONS_PATH [--target-bytes N] [--repeats N]
Prints one JSON object. Run it with the interpreter the module runs under on
the workstations (the module's plan runs there), Python 3.8 or later.

The profile is written with sandbox.py: 20 IMAP accounts (6 folders each, a
folderCache.json, one .msf per folder) and enough other prefs, like those
add-ons and the calendar leave, to reach the size: strings with escapes and
non-ASCII text, integers, booleans, and a few JSON blobs of tens of KB.
Collect (reading the files) is run once and not timed; what is timed (wall
and CPU time, median, min and max in ms) is
``prefs.parse`` of prefs.js alone and ``plan.plan`` of the whole snapshot,
which decodes, parses, reads the folder cache and the summaries, edits
prefs.js and builds the commit request (without the --diff texts, which a
run without --diff does not build).
"""

import json
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))
import sandbox  # noqa: E402  (tests/lib, path set just above)

ACCOUNTS = 20


def filler_prefs(budget):
    """Prefs that are not about mail accounts, about ``budget`` bytes once written."""
    prefs = {}
    size = 0
    index = 0
    blob = json.dumps({"placements": {"nav-bar": ["button-%d" % i for i in range(400)]},
                       "seen": ["addon-%d@example.org" % i for i in range(300)], "dirtyAreaCache": []})
    while size < budget:
        kind = index % 7
        name = "extensions.addon%04d.%s" % (index // 7, ("title", "enabled", "count", "path", "blob", "label", "css")[kind])
        if kind == 0:
            value = u"Agenda de l'établissement n°%d — \"salle des profs\"" % index
        elif kind == 1:
            value = index % 2 == 0
        elif kind == 2:
            value = index * 7919 % 2147483647
        elif kind == 3:
            value = u"C:\\Users\\élève\\AppData\\Roaming\\Thunderbird\\Profiles\\x%d.default\\" % index
        elif kind == 4 and index % 1400 == 4:
            value = blob
        else:
            value = u"ligne 1\nligne 2 fin %d" % index
        prefs[name] = value
        size += len(('user_pref("%s", %s);\n' % (name, sandbox.literal(value))).encode("utf-8"))
        index += 1
    return prefs


def write_big_profile(folder, target_bytes):
    accounts = [sandbox.imap("imap%02d.ac-exemple.fr" % i, "user%02d" % i, offline=(i % 3 == 0))
                for i in range(ACCOUNTS)]
    base_size = len(sandbox.format_prefs(sandbox.profile_prefs(accounts)))
    path = sandbox.write_profile(os.path.join(folder, "big0000.default-esr"), accounts,
                                 extra_prefs=filler_prefs(target_bytes - base_size))
    return path


def median_ms(fn, repeats, clock=time.perf_counter):
    times = []
    for dummy in range(repeats):
        start = clock()
        fn()
        times.append((clock() - start) * 1000.0)
    times.sort()
    return times[len(times) // 2], times[0], times[-1]


def timed(fn, repeats):
    """Median, min, max in ms of wall time and of this process' CPU time
    (steadier when other work shares the machine)."""
    return {"wall": median_ms(fn, repeats), "cpu": median_ms(fn, repeats, time.process_time)}


def main(argv):
    collections = argv[0]
    target = 1024 * 1024
    repeats = 15
    if "--target-bytes" in argv:
        target = int(argv[argv.index("--target-bytes") + 1])
    if "--repeats" in argv:
        repeats = int(argv[argv.index("--repeats") + 1])
    sys.path.insert(0, collections)
    from ansible_collections.rectorat.thunderbird.plugins.module_utils import collect, plan, prefs

    folder = tempfile.mkdtemp(prefix="tbbench-plan-")
    try:
        path = write_big_profile(folder, target)
        with open(os.path.join(path, "prefs.js"), "rb") as f:
            data = f.read()
        snapshot = collect.collect(plan.collect_request(None, [path]))
        options = plan.Options(enforce=True, stamp="20260101T000000Z", diff=False)
        planned = plan.plan(snapshot, options)
        record = planned["profiles"][0]
        assert record["error"] is None, record["error"]
        parse_ms = timed(lambda: prefs.parse(data), repeats)
        plan_ms = timed(lambda: plan.plan(snapshot, options), repeats)
    finally:
        shutil.rmtree(folder)
    print(json.dumps({
        "python": "%d.%d.%d" % sys.version_info[:3],
        "prefs_bytes": len(data),
        "prefs_entries": len(prefs.parse(data).entries),
        "accounts": len(record["accounts"]),
        "changes": len(record["changes"]),
        "writes": [w["rel"] for w in planned["commit"]["profiles"][0]["writes"]],
        "repeats": repeats,
        "parse_ms": parse_ms,
        "plan_ms": plan_ms,
    }))


if __name__ == "__main__":
    main(sys.argv[1:])
