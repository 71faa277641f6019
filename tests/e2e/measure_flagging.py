"""Measure how a real Thunderbird reacts to ways of flagging existing IMAP
folders offline (bit 0x08000000) in a profile it already synced with
``offline_download=false``.

    python tests/e2e/measure_flagging.py [--messages N] [--workdir /tmp/e2e-measure]
                                         [--fixtures tests/fixtures/tb-profiles]

Prints one table row per case and writes ``results.json`` in the workdir.
The figures are written up in docs/measurements.md.
"""

import argparse
import json
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tbharness as h  # noqa: E402

SPECIAL = set(h.SPECIAL_FOLDERS)
TRASH_FLAG = 0x00000100
JUNK_FLAG = 0x40000000
POSITIVE_WAIT = int(os.environ.get("TBE2E_POSITIVE_WAIT", "45"))  # s; ~12 s on an idle machine
SECOND_RUN_NEW = 2      # messages added per folder before the second run


# ------------------------------------------------------------ crude Mork reading

def _mork_value(text, i):
    """Read a Mork cell value up to its closing ')'. Returns (bytes, next index)."""
    out = bytearray()
    while text[i] != ")":
        c = text[i]
        if c == "\\":
            nxt = text[i + 1]
            if nxt in "\r\n":
                i += 2
                if nxt == "\r" and text[i:i + 1] == "\n":
                    i += 1
                continue
            out += nxt.encode("latin-1")
            i += 2
        elif c == "$":
            out.append(int(text[i + 1:i + 3], 16))
            i += 3
        else:
            out += c.encode("latin-1")
            i += 1
    return bytes(out), i + 1


def _mork_dict(text, i, columns, atoms):
    """Parse ``<...>`` starting after '<'. Returns next index."""
    target = atoms
    while True:
        c = text[i]
        if c == ">":
            return i + 1
        if c == "<":
            end = text.index(">", i)
            if "a=c" in text[i:end]:
                target = columns
            i = end + 1
        elif c == "(":
            eq = text.index("=", i)
            key = text[i + 1:eq].strip()
            value, i = _mork_value(text, eq + 1)
            target[key.upper()] = value
        elif text.startswith("//", i):
            i = text.index("\n", i)
        else:
            i += 1


def _mork_row(text, i, columns, atoms, scope_of_table):
    """Parse ``[...]`` starting after '['. Returns (scope name, cells, next index)."""
    j = i
    while text[j] not in "(]":
        j += 1
    head = text[i:j].strip()
    scope = scope_of_table
    if ":" in head:
        scope = _scope_name(head.split(":", 1)[1], columns)
    cells = {}
    i = j
    while text[i] != "]":
        if text[i] != "(":
            i += 1
            continue
        k = i + 1
        while text[k] not in "=^)" or k == i + 1:
            k += 1
        col = text[i + 1:k].lstrip("^").upper()
        col_name = columns.get(col, col.encode("latin-1")).decode("latin-1")
        if text[k] == "^":
            end = text.index(")", k)
            cells[col_name] = atoms.get(text[k + 1:end].upper(), b"")
            i = end + 1
        elif text[k] == "=":
            cells[col_name], i = _mork_value(text, k + 1)
        else:
            i = k + 1
    return scope, cells, i + 1


def _scope_name(token, columns):
    token = token.strip()
    if token.startswith("^"):
        return columns.get(token[1:].upper(), b"").decode("latin-1")
    return token


def read_msf_folder_info(path):
    """name -> bytes of the dbfolderinfo row of a .msf (crude Mork reader)."""
    with open(path, "rb") as f:
        text = f.read().decode("latin-1")
    columns, atoms, info = {}, {}, {}
    tables = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            i = text.find("\n", i)
            i = n if i < 0 else i
        elif text.startswith("@$$", i):
            i = text.index("@", i + 3) + 1
        elif c == "<":
            i = _mork_dict(text, i + 1, columns, atoms)
        elif c == "{":
            if tables and text[i + 1:].lstrip().startswith("("):
                i = text.index("}", i) + 1
                continue
            j = i + 1
            while text[j] not in "{[(" and not text[j].isspace():
                j += 1
            head = text[i + 1:j]
            tables.append(_scope_name(head.split(":", 1)[1], columns) if ":" in head else "")
            i = j
        elif c == "}":
            if tables:
                tables.pop()
            i += 1
        elif c == "[":
            scope, cells, i = _mork_row(text, i + 1, columns, atoms,
                                        tables[-1] if tables else "")
            if scope.endswith(":dbfolderinfo:all"):
                info.update(cells)
        else:
            i += 1
    return info


def msf_reader():
    """(path -> {name: bytes}) of the project's Mork reader when it exists, else
    of the crude one above; and which one it is."""
    utils = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                         "plugins", "module_utils")
    if os.path.exists(os.path.join(utils, "mork.py")):
        if utils not in sys.path:
            sys.path.insert(0, utils)
        import mork

        def project_reader(path):
            with open(path, "rb") as f:
                cells = mork.read_folder_info(f.read())
            return {k: v.encode("utf-8", "surrogateescape") for k, v in cells.items()}

        return project_reader, "plugins/module_utils/mork.py read_folder_info"
    return read_msf_folder_info, "crude reader in measure_flagging.py"


def _hex_int(value, default=0):
    try:
        return int(value.decode("ascii"), 16)
    except (AttributeError, ValueError):
        return default


def infer_delimiter(profile):
    """The server's hierarchy delimiter, seen in the onlineName of a nested folder's .msf."""
    reader = msf_reader()[0]
    for folder, path in imap_msf_paths(profile).items():
        if "/" not in folder:
            continue
        online = reader(path).get("onlineName") or b""
        online = online.decode("utf-8", "replace") if isinstance(online, bytes) else online
        leaf_parent = folder.split("/")
        for ch in set(online) - set("".join(leaf_parent)):
            if online == ch.join(h.encode_mutf7(p) for p in leaf_parent):
                return ch
    return None


def synthesised_entry(msf_path, minimal=False, delimiter=None, server_counts=False):
    """A folderCache.json entry built from a .msf folder-info row."""
    reader = msf_reader()[0]
    info = reader(msf_path)
    flags = _hex_int(info.get("flags"))
    if not flags & (TRASH_FLAG | JUNK_FLAG):
        flags |= h.OFFLINE_FLAG
    if minimal:
        return {"flags": flags}
    entry = {
        "flags": flags,
        "totalMsgs": _hex_int(info.get("numMsgs")),
        "totalUnreadMsgs": _hex_int(info.get("numNewMsgs")),
        "pendingMsgs": _hex_int(info.get("totPendingMsgs")),
        "pendingUnreadMsgs": _hex_int(info.get("unreadPendingMsgs")),
        "expungedBytes": _hex_int(info.get("expungedBytes")),
        "folderSize": _hex_int(info.get("folderSize"), -1),
    }
    online = info.get("onlineName")
    if online:
        entry["onlineName"] = online.decode("utf-8", "replace")
    if delimiter:
        entry["hierDelim"] = ord(delimiter)
    if server_counts in (True, "serverTotal"):
        entry["serverTotal"] = entry["totalMsgs"]
    if server_counts in (True, "nextUID") and "highestRecordedUID" in info:
        entry["nextUID"] = _hex_int(info["highestRecordedUID"]) + 1
    return entry


# ------------------------------------------------------------ profile edits

def imap_msf_paths(profile):
    paths = {}
    for store in h.imap_store_dirs(profile):
        for root, dirs, files in os.walk(store):
            for name in files:
                if name.endswith(".msf"):
                    full = os.path.join(root, name)
                    paths[h._folder_name(os.path.relpath(full, store)[:-4])] = full
    return paths


def should_flag(entry_or_flags):
    flags = entry_or_flags if isinstance(entry_or_flags, int) else entry_or_flags["flags"]
    return not flags & (TRASH_FLAG | JUNK_FLAG)


def write_cache(profile, data):
    with open(os.path.join(profile, "folderCache.json"), "w", encoding="utf-8") as f:
        json.dump(data, f)


def fix_nothing(profile):
    return "prefs.js only"


def fix_or_flags(profile):
    cache = h.read_folder_cache(profile)
    msf = set(imap_msf_paths(profile).values())
    for key, entry in cache.items():
        if key in msf and should_flag(entry):
            entry["flags"] |= h.OFFLINE_FLAG
    write_cache(profile, cache)
    return "flags |= 0x08000000 in folderCache.json"


def fix_rebuild_cache(profile, minimal=False, with_delimiter=False, server_counts=False):
    delimiter = infer_delimiter(profile) if with_delimiter else None
    if with_delimiter and not delimiter:
        raise RuntimeError("no nested folder to infer the hierarchy delimiter from")
    path = os.path.join(profile, "folderCache.json")
    if os.path.exists(path):
        os.remove(path)
    cache = {p: synthesised_entry(p, minimal, delimiter, server_counts)
             for p in imap_msf_paths(profile).values()}
    write_cache(profile, cache)
    return "folderCache.json rebuilt from .msf" + (
        " (flags only)" if minimal else " + hierDelim %r" % delimiter if delimiter else "") + (
        " + serverTotal, nextUID" if server_counts is True else
        " + %s" % server_counts if server_counts else "")


def fix_one_entry_missing(profile, folder="Projets/2026"):
    fix_or_flags(profile)
    cache = h.read_folder_cache(profile)
    msf = imap_msf_paths(profile)[folder]
    del cache[msf]
    cache[msf] = synthesised_entry(msf)
    write_cache(profile, cache)
    return "cache flagged, %s entry synthesised from .msf" % folder


def fix_move_msf(profile):
    away = profile + ".msf-moved"
    shutil.rmtree(away, ignore_errors=True)
    cache = h.read_folder_cache(profile) or {}
    for folder, path in imap_msf_paths(profile).items():
        dest = os.path.join(away, os.path.relpath(path, profile))
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.move(path, dest)
        cache.pop(path, None)
    if h.read_folder_cache(profile) is not None:
        write_cache(profile, cache)
    return ".msf moved out, their cache entries dropped"


# ------------------------------------------------------------ runs

def flags_of(profile):
    """folder -> (cache flags or None, .msf flags or None)."""
    cache = h.imap_cache_entries(profile)
    reader = msf_reader()[0]
    out = {}
    for folder, path in imap_msf_paths(profile).items():
        msf_flags = None
        try:
            info = reader(path)
            value = info.get("flags")
            msf_flags = value if isinstance(value, int) else _hex_int(value, None)
        except Exception:
            pass
        entry = cache.get(folder)
        out[folder] = (entry["flags"] if entry else None, msf_flags)
    return out


def expected_bodies(srv, folders):
    return {f: srv.message_count(f) for f in folders if f not in SPECIAL}


def run_once(srv, profile, wait_for_all=True):
    mark = srv.mark_logs()
    expected = expected_bodies(srv, h.FOLDERS)
    tb = h.Thunderbird(profile)
    with tb:
        reached = tb.wait_for(h.bodies_reached(profile, expected), POSITIVE_WAIT)
        t_all = round(tb.elapsed(), 1) if reached else None
        tb.wait_idle(quiet=3, timeout=20)
    return {
        "t_all_bodies_s": t_all,
        "ended": tb.how_ended,
        "peak_pss_mb": tb.peak_pss_kb // 1024,
        "bodies": h.bodies_on_disk(profile),
        "server_body_fetches": srv.body_fetches_since(mark),
        "server_header_fetches": srv.header_fetches_since(mark),
        "cache_written": h.read_folder_cache(profile) is not None,
        "flags_after": flags_of(profile),
    }


def measure_case(srv, snapshot, profile, name, fix, runs=2):
    counts = {f: srv.message_count(f) for f in h.FOLDERS}
    restore(snapshot, profile)
    h.set_pref(profile, "mail.server.server1.offline_download", True)
    what = fix(profile)
    result = {"case": name, "fix": what, "flags_before": flags_of(profile)}
    for run in range(1, runs + 1):
        if run > 1:
            for folder in ("INBOX", "Projets/2026"):
                srv.add_messages(folder, SECOND_RUN_NEW)
        result["run%d" % run] = run_once(srv, profile)
    for folder, count in counts.items():
        srv.trim_folder(folder, count)
    return result


def restore(snapshot, profile):
    """Put the snapshot back at the very path it was synced at (keys stay valid)."""
    shutil.rmtree(profile, ignore_errors=True)
    shutil.rmtree(profile + ".msf-moved", ignore_errors=True)
    shutil.copytree(snapshot, profile, symlinks=True)


def snapshot_of(profile):
    snap = profile + ".snapshot"
    shutil.rmtree(snap, ignore_errors=True)
    shutil.copytree(profile, snap, symlinks=True)
    return snap


def cache_entry_shape(profile):
    """Members and JSON types of each folderCache.json entry Thunderbird wrote."""
    cache = h.read_folder_cache(profile) or {}
    shape = {}
    for key, entry in cache.items():
        rel = os.path.relpath(key, profile)
        shape[rel] = {k: type(v).__name__ for k, v in sorted(entry.items())}
    return shape


def copy_fixture(profile, dest):
    """prefs.js, folderCache.json, compatibility.ini and the mail trees (.msf + small mbox)."""
    shutil.rmtree(dest, ignore_errors=True)
    os.makedirs(dest)
    for name in ("prefs.js", "folderCache.json", "compatibility.ini", "times.json"):
        if os.path.exists(os.path.join(profile, name)):
            shutil.copy2(os.path.join(profile, name), os.path.join(dest, name))
    for tree in ("ImapMail", "Mail"):
        src = os.path.join(profile, tree)
        for root, dirs, files in os.walk(src):
            for name in files:
                path = os.path.join(root, name)
                if os.path.getsize(path) > 256 * 1024:
                    continue
                target = os.path.join(dest, os.path.relpath(path, profile))
                os.makedirs(os.path.dirname(target), exist_ok=True)
                shutil.copy2(path, target)


# ------------------------------------------------------------ report

def fmt_bodies(bodies, srv):
    cells = []
    for folder in h.FOLDERS:
        cells.append("%d/%d" % (bodies.get(folder, 0), srv.message_count(folder)))
    return " ".join("%-7s" % c for c in cells)


def special_unflagged(flags):
    return all(not (flags.get(f, (None, None))[0] or 0) & h.OFFLINE_FLAG for f in SPECIAL)


def print_table(results, srv_counts):
    head = "%-4s %-48s %-40s %-7s %-9s %-7s %s" % (
        "case", "fix", "run1 bodies " + "/".join(h.FOLDERS), "t_all", "srv_body",
        "TrJk", "last run (flags kept? +%d new per run)" % SECOND_RUN_NEW)
    print(head)
    print("-" * len(head))
    for r in results:
        last = max(int(k[3:]) for k in r if k.startswith("run"))
        r1, r2 = r["run1"], r["run%d" % last]
        kept = all(bool((r2["flags_after"].get(f, (0, 0))[0] or 0) & h.OFFLINE_FLAG)
                   for f in h.FOLDERS if f not in SPECIAL)
        print("%-4s %-48s %-40s %-7s %-9s %-7s %s" % (
            r["case"], r["fix"][:48],
            " ".join(str(r1["bodies"].get(f, 0)) for f in h.FOLDERS),
            r1["t_all_bodies_s"] if r1["t_all_bodies_s"] is not None else "-",
            r1["server_body_fetches"],
            "unflag" if special_unflagged(r1["flags_after"]) else "FLAGGED",
            "bodies %s cache-flags-kept=%s" % (
                " ".join(str(r2["bodies"].get(f, 0)) for f in h.FOLDERS), kept)))


def first_syncs(srv, args, results, orderly, killed):
    """Sync one profile (orderly quit) and one (SIGKILL) with offline_download=false."""
    h.make_profile(orderly, srv.port, False)
    t0 = time.time()
    tb = h.sync_profile(orderly)
    results["first_sync"] = {
        "seconds": round(time.time() - t0, 1), "ended": tb.how_ended,
        "peak_pss_mb": tb.peak_pss_kb // 1024,
        "bodies": h.bodies_on_disk(orderly),
        "cache_written": h.read_folder_cache(orderly) is not None,
        "flags": flags_of(orderly)}
    results["cache_entry_shape"] = cache_entry_shape(orderly)

    h.make_profile(killed, srv.port, False)
    tbk = h.sync_profile(killed, kill=True)
    results["killed_sync"] = {"ended": tbk.how_ended,
                              "cache_written": h.read_folder_cache(killed) is not None,
                              "msf": sorted(imap_msf_paths(killed)),
                              "flags": flags_of(killed)}
    if args.fixtures:
        true_profile = os.path.join(args.workdir, "synced-offline-true")
        h.make_profile(true_profile, srv.port, True)
        with h.Thunderbird(true_profile) as tbt:
            tbt.wait_for(h.bodies_reached(true_profile, expected_bodies(srv, h.FOLDERS)),
                         POSITIVE_WAIT)
            tbt.wait_idle(quiet=3, timeout=20)
        copy_fixture(orderly, os.path.join(args.fixtures, "synced-offline-false"))
        copy_fixture(true_profile, os.path.join(args.fixtures, "synced-offline-true"))
        copy_fixture(killed, os.path.join(args.fixtures, "synced-killed"))
        results["fixtures"] = {"synced-offline-false": orderly,
                               "synced-offline-true": true_profile,
                               "synced-killed": killed}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--workdir", default="/tmp/e2e-measure")
    parser.add_argument("--fixtures", default=None,
                        help="copy the synced profiles there (tests/fixtures/tb-profiles)")
    parser.add_argument("--cases", default="a,b,c,c2,c3,d,e,k0,k,k3")
    parser.add_argument("--runs", type=int, default=2,
                        help="Thunderbird starts per case (new mail added before each but the first)")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse the mailbox and synced snapshots already in --workdir")
    args = parser.parse_args()
    missing = h.missing_tools()
    if missing:
        sys.exit("missing: %s" % ", ".join(missing))
    os.makedirs(args.workdir, exist_ok=True)
    wanted = args.cases.split(",")
    results = {"messages": args.messages, "mork_reader": msf_reader()[1], "cases": []}
    orderly = os.path.join(args.workdir, "synced-offline-false")
    killed = os.path.join(args.workdir, "synced-killed")
    snap, killed_snap = orderly + ".snapshot", killed + ".snapshot"
    reuse = args.reuse and os.path.isdir(snap) and os.path.isdir(killed_snap)
    with h.ImapServer(messages=args.messages, workdir=os.path.join(args.workdir, "imap"),
                      populate=not reuse) as srv:
        if not reuse:
            first_syncs(srv, args, results, orderly, killed)
            snapshot_of(orderly)
            snapshot_of(killed)
        cases = [
            ("a", snap, orderly, fix_nothing),
            ("b", snap, orderly, fix_or_flags),
            ("c", snap, orderly, fix_rebuild_cache),
            ("c2", snap, orderly, lambda p: fix_rebuild_cache(p, minimal=True)),
            ("d", snap, orderly, fix_one_entry_missing),
            ("e", snap, orderly, fix_move_msf),
            ("k0", killed_snap, killed, lambda p: "killed first sync; prefs.js only"),
            ("k", killed_snap, killed,
             lambda p: "killed first sync; " + fix_rebuild_cache(p)),
            ("c3", snap, orderly, lambda p: fix_rebuild_cache(p, with_delimiter=True)),
            ("k3", killed_snap, killed,
             lambda p: "killed first sync; " + fix_rebuild_cache(p, with_delimiter=True)),
            ("c4", snap, orderly, lambda p: fix_rebuild_cache(
                p, with_delimiter=True, server_counts=True)),
            ("c5", snap, orderly, lambda p: fix_rebuild_cache(
                p, with_delimiter=True, server_counts="serverTotal")),
            ("c6", snap, orderly, lambda p: fix_rebuild_cache(
                p, with_delimiter=True, server_counts="nextUID")),
            ("k4", killed_snap, killed, lambda p: "killed first sync; " + fix_rebuild_cache(
                p, with_delimiter=True, server_counts=True)),
        ]
        for name, snapshot, profile, fix in cases:
            if name not in wanted:
                continue
            base_counts = {f: srv.message_count(f) for f in h.FOLDERS}
            res = measure_case(srv, snapshot, profile, name, fix, args.runs)
            res["server_messages_before"] = base_counts
            results["cases"].append(res)
            print("case %s done: %s" % (name, [res["run%d" % i]["bodies"] for i in
                                               range(1, args.runs + 1)]), flush=True)
            with open(os.path.join(args.workdir, "results-%s.json" % name), "w") as f:
                json.dump(res, f, indent=1, ensure_ascii=False)
            with open(os.path.join(args.workdir, "results.json"), "w") as f:
                json.dump(results, f, indent=1, ensure_ascii=False)
        print()
        print_table(results["cases"], None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
