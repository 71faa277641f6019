# -*- coding: utf-8 -*-
"""thunderbird_backup throughput against `zip -r -1` and `tar -cf` (not a test).

Usage: python backup_bench.py [--size-mb 2048] [--dir /var/tmp/tbh9-bench] [--keep]

Writes a synthetic profile of --size-mb (mbox files of mail-like text, 10 %
of it incompressible attachments, a few thousand small files) in --dir, then,
on the same disk and one after the other, times:
  - archive_io.backup_profile (what the module runs: lock, walk, zip with
    deflate level 1, SHA-256, read back + CRC check, fsync, rename),
  - `zip -r -1 -q` of the same folder,
  - `tar -cf` of the same folder (no compression),
  - backup_profile with compression=deflated (zlib level 1, as zip -1),
  - a second backup_profile with nothing changed (the `unchanged` path).
Each tool reads the profile once before the timed runs so all start from the
same page cache. Peak RSS of the backup process is read from getrusage.
Prints one JSON object with the figures and the ratios:
  vs_fastest  = backup seconds (stored, the default) / min(zip, tar) seconds   (target <= 1.3)
  deflated_vs_zip = backup seconds (deflated) / zip -r -1 seconds
  peak_rss_mb = peak RSS of the backup process            (target < 100)
  unchanged_ratio = unchanged run seconds / first run     (target < 0.02)
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
WORDS = ("bonjour", "réunion", "élèves", "conseil", "classe", "rectorat", "académie", "the", "and", "of",
         "message", "pièce", "jointe", "semaine", "demain", "professeur", "emploi", "du", "temps", "cordialement")

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from ansible_collections.rectorat.thunderbird.plugins.module_utils import archive_io
entry = json.loads(sys.argv[2])
started = time.time()
outcome = archive_io.backup_profile(entry, sys.argv[3], 3, False, compress=sys.argv[4] == "deflated")
outcome["seconds"] = time.time() - started
outcome["peak_rss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps(outcome))
"""


def text_block(rng, size):
    out, n = [], 0
    while n < size:
        line = " ".join(rng.choice(WORDS) for _unused in range(rng.randint(6, 14))) + " %d\n" % rng.randint(0, 10 ** 6)
        out.append(line)
        n += len(line.encode("utf-8"))
    return "".join(out).encode("utf-8")[:size]


def make_profile(path, size_mb):
    rng = random.Random(9)
    os.makedirs(os.path.join(path, "Mail", "Local Folders"), exist_ok=True)
    with open(os.path.join(path, "prefs.js"), "w") as f:
        f.write('user_pref("mail.accountmanager.accounts", "");\n')
    blocks = [text_block(rng, 1 << 20) for _unused in range(8)]
    total, index = 0, 0
    target = size_mb << 20
    while total < target:
        folder = os.path.join(path, "ImapMail", "imap.example.test", "Dossier%03d.sbd" % (index // 20))
        os.makedirs(folder, exist_ok=True)
        size = min(rng.randint(8, 40) << 20, target - total)
        with open(os.path.join(folder, "Box%04d" % index), "wb") as f:
            written = 0
            while written < size:
                chunk = os.urandom(1 << 20) if rng.random() < 0.1 else blocks[rng.randrange(8)]
                chunk = chunk[:size - written]
                f.write(chunk)
                written += len(chunk)
        with open(os.path.join(folder, "Box%04d.msf" % index), "wb") as f:
            f.write(text_block(rng, 20000))
        total += size
        index += 1
    for i in range(3000):
        with open(os.path.join(path, "Mail", "Local Folders", "small%04d.eml" % i), "wb") as f:
            f.write(text_block(rng, rng.randint(500, 6000)))
    return total


def timed(cmd):
    started = time.time()
    subprocess.run(cmd, check=True)
    return time.time() - started


def backup(collections, entry, dest, compression="stored"):
    proc = subprocess.run([sys.executable, "-c", CHILD, collections, json.dumps(entry), dest, compression],
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)


def warm(path):
    subprocess.run(["tar", "-cf", "/dev/null", path], check=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mb", type=int, default=2048)
    parser.add_argument("--dir", default="/var/tmp/tbh9-bench")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    collections = os.path.join(REPO, ".tmp", "dev-collections")
    link = os.path.join(collections, "ansible_collections", "rectorat", "thunderbird")
    if not os.path.exists(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(REPO, link)
    shutil.rmtree(args.dir, ignore_errors=True)
    profile = os.path.join(args.dir, "profile")
    dest = os.path.join(args.dir, "dest")
    os.makedirs(dest)
    os.makedirs(os.path.join(args.dir, "dest-deflated"))
    size = make_profile(profile, args.size_mb)
    entry = {"path": profile, "home": None, "uid": None, "gid": None, "user": "bench", "name": "default"}
    figures = {"profile_bytes": size}
    warm(profile)
    first = backup(collections, entry, dest)
    assert first["status"] == "backed_up", first
    figures["backup_seconds"] = round(first["seconds"], 2)
    figures["archive_bytes"] = first["bytes"]
    figures["peak_rss_mb"] = round(first["peak_rss_kb"] / 1024.0, 1)
    warm(profile)
    figures["zip_seconds"] = round(timed(["zip", "-r", "-1", "-q", os.path.join(args.dir, "out.zip"), profile]), 2)
    figures["zip_bytes"] = os.path.getsize(os.path.join(args.dir, "out.zip"))
    os.remove(os.path.join(args.dir, "out.zip"))
    warm(profile)
    figures["tar_seconds"] = round(timed(["tar", "-cf", os.path.join(args.dir, "out.tar"), profile]), 2)
    os.remove(os.path.join(args.dir, "out.tar"))
    warm(profile)
    deflated = backup(collections, entry, os.path.join(args.dir, "dest-deflated"), "deflated")
    figures["deflated_seconds"] = round(deflated["seconds"], 2)
    figures["deflated_bytes"] = deflated["bytes"]
    figures["deflated_vs_zip"] = round(deflated["seconds"] / figures["zip_seconds"], 2)
    second = backup(collections, entry, dest)
    assert second["status"] == "unchanged", second
    figures["unchanged_seconds"] = round(second["seconds"], 3)
    figures["backup_mb_per_s"] = round(size / 1048576.0 / first["seconds"], 1)
    figures["vs_zip"] = round(first["seconds"] / figures["zip_seconds"], 2)
    figures["vs_tar"] = round(first["seconds"] / figures["tar_seconds"], 2)
    figures["vs_fastest"] = round(first["seconds"] / min(figures["zip_seconds"], figures["tar_seconds"]), 2)
    figures["unchanged_ratio"] = round(second["seconds"] / first["seconds"], 4)
    figures["targets_met"] = {"vs_fastest<=1.3": figures["vs_fastest"] <= 1.3,
                              "peak_rss_mb<100": figures["peak_rss_mb"] < 100,
                              "unchanged_ratio<0.02": figures["unchanged_ratio"] < 0.02}
    print(json.dumps(figures, indent=1, sort_keys=True))
    if not args.keep:
        shutil.rmtree(args.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
