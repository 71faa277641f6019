# -*- coding: utf-8 -*-
"""The memory and stall attacks of issue 13 at the audit's own scale, with the
module code (collect -> plan -> commit through workflow.run, as root, each in
a forked child): wall time, peak RSS above an idle child, and the size of the
facts. The hardening corpus proves the behaviour on small inputs; this script
gives the figures of docs/hardening.md.

Run as root from the repository (sandboxes under /srv/tbh13):

    .venv/bin/python tests/bench/audit_bench.py
"""

import fcntl
import json
import os
import shutil
import signal
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "hardening"))
sys.path.insert(0, os.path.join(REPO, "tests", "lib"))


def collection_on_path():
    """This checkout as rectorat.thunderbird, as tests/conftest.py links it."""
    top = os.path.join(REPO, ".tmp", "dev-collections")
    link = os.path.join(top, "ansible_collections", "rectorat", "thunderbird")
    if not os.path.islink(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(REPO, link)
    sys.path.insert(0, top)


collection_on_path()
import hlib  # noqa: E402
import sandbox  # noqa: E402

from ansible_collections.rectorat.thunderbird.plugins.module_utils import budget, collect  # noqa: E402

OWNER = hlib.OWNER
BASE = "/srv/tbh13"
PARAMS = dict(hlib.DEFAULT_PARAMS)


def profile(parent, name):
    path = sandbox.write_profile(os.path.join(parent, name), [sandbox.imap("imap.ac-test.fr", "alice")])
    hlib.chown_tree(path, OWNER)
    return path


def measure(label, fn, limit_note):
    baseline = hlib.baseline_rss_kb()
    child = hlib.run_forked(fn, timeout=900)
    extra = max(0, child.rss_kb - baseline) / 1024.0
    crash = "  CRASH " + child.crash.strip().splitlines()[-1] if child.crash else ""
    print("%-58s %7.2f s %8.1f MiB  %s%s" % (label, child.seconds, extra, child.value or "", crash))
    print("    %s" % limit_note)


def statuses(result):
    counts = {}
    for record in result["ansible_facts"]["thunderbird"]["profiles"]:
        key = record["status"]
        counts[key] = counts.get(key, 0) + 1
    return "statuses %s, facts %d KiB" % (counts, len(json.dumps(result)) // 1024)


def run_module(paths, enforce):
    result = hlib.workflow.run(dict(PARAMS, profiles=paths), enforce=enforce, check_mode=False,
                               collect_fn=collect.collect, commit_fn=hlib.commit.commit)
    return statuses(result)


def planted_backups(top):
    home = os.path.join(top, "planted")
    first, second = profile(home, "a.default"), profile(home, "b.default")
    now = int(time.time())
    for t in range(now, now + 91):
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(t))
        for name in ("prefs.js", "folderCache.json"):
            path = os.path.join(first, "%s.%s.bak" % (name, stamp))
            with open(path, "wb"):
                pass
            os.truncate(path, 64 << 30)
            os.chown(path, OWNER, OWNER)
    measure("thunderbird_offline, 182 planted 64 GiB backup names",
            lambda: run_module([first, second], True),
            "audit: MemoryError, module failed, no facts")


def msf_links(top):
    home = os.path.join(top, "links")
    path = os.path.join(home, "a.default")
    shutil.copytree(os.path.join(REPO, "tests", "fixtures", "tb-profiles", "synced-killed"), path)
    store = os.path.join(path, "ImapMail", "127.0.0.1")
    first = os.path.join(store, "m1.msf")
    with open(first, "wb") as f:
        f.write(b"x" * (16 << 20))
    for i in range(2, 301):
        os.link(first, os.path.join(store, "m%d.msf" % i))
    hlib.chown_tree(path, OWNER)
    measure("thunderbird_info, 300 hard links of a 16 MiB .msf",
            lambda: run_module([path], False),
            "audit: MemoryError at about 22 MiB per link")


def prefs_links(top):
    home = os.path.join(top, "prefs-links")
    paths = [profile(home, "p%02d.default" % i) for i in range(40)]
    big = os.path.join(paths[0], "prefs.js")
    with open(big, "ab") as f:
        f.write(b"// " + b"x" * ((16 << 20) - 4096) + b"\n")
    for path in paths[1:]:
        os.unlink(os.path.join(path, "prefs.js"))
        os.link(big, os.path.join(path, "prefs.js"))

    def collect_only():
        snap = collect.collect({"profiles": paths})
        kept = [f["b64"] for p in snap["profiles"] for f in p["files"].values() if f and f.get("b64")]
        read = sum(1 for p in snap["profiles"] if (p["files"].get("prefs.js") or {}).get("b64"))
        return "collect: prefs.js read in %d of 40 profiles, %d MiB of base64 kept" % (
            read, sum(len(b) for b in kept) >> 20)
    measure("collect, 40 profiles hard-linking one 16 MiB prefs.js", collect_only,
            "run budget %d MiB: without it, 40 x 16 MiB read and kept" % (budget.MAX_RUN_BYTES >> 20))


def many_profiles(top):
    root = os.path.join(top, "many", ".thunderbird")
    os.makedirs(root)
    template = profile(os.path.join(top, "many"), "template")
    for i in range(5000):
        shutil.copytree(template, os.path.join(root, "p%04d.default" % i), copy_function=os.link)
    sandbox.write_profiles_ini(root, ["p%04d.default" % i for i in range(5000)])
    hlib.chown_tree(root, OWNER)
    measure("thunderbird_info, 5000 tiny profiles in one root",
            lambda: run_module([root], False),
            "cap %d profiles; audit: 16 MB of facts" % budget.MAX_PROFILES)


def lease(top):
    path = profile(os.path.join(top, "lease"), "a.default")
    lock = os.path.join(path, ".parentlock")
    with open(lock, "wb"):
        pass
    os.chown(lock, OWNER, OWNER)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGIO, signal.SIG_IGN)
        os.setgid(OWNER)
        os.setuid(OWNER)
        fd = os.open(lock, os.O_RDONLY)
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_WRLCK)
        os.write(write_end, b"L")
        signal.pause()
        os._exit(0)
    os.read(read_end, 1)
    try:
        measure("thunderbird_offline, a write lease held on .parentlock",
                lambda: run_module([path], True),
                "audit: 47.8 s (the lease-break time) instead of 1.7 s")
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def main():
    if os.geteuid() != 0:
        sys.exit("run as root")
    os.makedirs(BASE, exist_ok=True)
    top = tempfile.mkdtemp(prefix="bench-", dir=BASE)
    os.chmod(top, 0o755)
    try:
        print("limits: %d MiB per file, %d MiB per profile, %d MiB per run, %d profiles, %d s per host" % (
            budget.MAX_FILE_BYTES >> 20, budget.MAX_PROFILE_BYTES >> 20, budget.MAX_RUN_BYTES >> 20,
            budget.MAX_PROFILES, budget.MAX_SECONDS))
        for scenario in (planted_backups, msf_links, prefs_links, many_profiles, lease):
            scenario(top)
    finally:
        shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    main()
