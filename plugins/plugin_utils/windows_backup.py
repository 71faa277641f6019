# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""thunderbird_backup for a Windows host, on the controller.

collect.ps1 says which profiles there are (module_utils/backup_flow.py picks
them as on Linux); backup.ps1 'scan' lists each profile's files and the
archives already in its dest folder; the decisions of module_utils/backup.py
(what to leave out, unchanged or not, the manifest, retention) are made here;
backup.ps1 'write' then archives with the host's tar.exe, under parent.lock,
checks the archive, renames it and removes what retention names. At most
three round trips per host: collect, scan, write (none in check mode, nor
when nothing is to be written).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import calendar
import re
import time

from ansible_collections.rectorat.thunderbird.plugins.module_utils import backup as bk


# Windows gives a program (tar.exe) a path without the '.' or ' ' that ends
# a name in it (GetFullPathName): it would read or write another file.
TRIMMED_BY_WINDOWS = re.compile(r"[. ](?:[\\/]|$)")


def dest_folder(user, name):
    """(user folder, profile folder) below ``dest``: bk.archive_folder's,
    a final '.' or ' ' made '_' (the folder is made in the long-path form, which
    keeps them, and tar.exe would be given it without them)."""
    return tuple(re.sub(r"[. ]+$", lambda m: "_" * len(m.group()), part) for part in bk.archive_folder(user, name))


def trimmed_name(dest, entry, listing, dirs):
    """The first path tar.exe would get as another one, or None."""
    for path in [dest.rstrip("\\/"), entry["path"]] + [f["path"] for f in listing] + dirs:
        if TRIMMED_BY_WINDOWS.search(path):
            return path
    return None


def utc_stamp():
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())


def next_stamp(stamp, taken):
    """``stamp``, or the first second after it that no archive has."""
    seconds = calendar.timegm(time.strptime(stamp, "%Y%m%dT%H%M%SZ"))
    while stamp in taken:
        seconds += 1
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(seconds))
    return stamp


def join(dest, *names):
    """The Windows path of ``names`` below ``dest``, which may be written with
    "/" (backup.ps1 takes it so too)."""
    return "\\".join([dest.replace("/", "\\").rstrip("\\")] + list(names))


def kept_listing(files, dirs):
    """Files and folders an archive holds: bk.is_excluded leaves out a
    folder with everything below it, as the Linux walk does."""
    left_out = [d + "/" for d in dirs if bk.is_excluded(d)]

    def kept(rel):
        return not bk.is_excluded(rel) and not any(rel.startswith(prefix) for prefix in left_out)

    return ([{"path": f["path"], "size": f["size"], "mtime_ns": f["mtime_ns"]} for f in files if kept(f["path"])],
            sorted(d for d in dirs if kept(d)))


def existing_archives(scan, host):
    """{stamp: (good, manifest or None)} as archive_io.existing_archives says
    on Linux; a manifest past the read budget leaves its archive counted as
    good for retention (never removed first) but not compared with."""
    manifests = dict((m["name"], m) for m in scan.get("manifests") or [])
    out = {}
    for archive in scan.get("archives") or []:
        match = bk.ARCHIVE_RE.match(archive["name"])
        if not match:
            continue
        stamp = match.group(1)
        record = manifests.get(bk.manifest_name(stamp))
        manifest = None
        if record is not None and record.get("unread"):
            out[stamp] = (True, None)
            continue
        if record is not None and record.get("b64") is not None:
            try:
                manifest = bk.parse_manifest(base64.b64decode(record["b64"]))
            except (bk.BadManifest, ValueError, TypeError):
                manifest = None
        if manifest is not None and bk.made_elsewhere(manifest, host):
            continue
        good = bool(manifest and (manifest.get("archive") or {}).get("bytes") == archive["size"])
        out[stamp] = (good, manifest if good else None)
    return out


def taken_stamps(scan):
    """Every stamp named in the dest folder, another host's archives (left
    out of existing_archives) and manifests without their zip included: in
    a shared dest the new archive's names must be free, as File.Move does
    not replace."""
    taken = set()
    for record in (scan.get("archives") or []) + (scan.get("manifests") or []):
        match = bk.ARCHIVE_RE.match(record["name"]) or bk.MANIFEST_RE.match(record["name"])
        if match:
            taken.add(match.group(1))
    return taken


class WindowsBackup:
    """``backup_many`` of backup_flow.run for a Windows host (PowerShellHost)."""

    def __init__(self, host, compression, stamp_fn=utc_stamp):
        self.host = host
        self.compression = compression
        self.stamp_fn = stamp_fn

    def __call__(self, entries, dest, keep, check_mode):
        outcomes, plans = {}, {}
        to_scan = []
        for entry in entries:
            if entry.get("running"):
                outcomes[entry["path"]] = self.outcome("skipped_running", error="Thunderbird has this profile open")
            elif entry.get("lock_error"):
                outcomes[entry["path"]] = self.outcome("error", error=entry["lock_error"])
            else:
                to_scan.append(entry)
        if not to_scan:
            return outcomes
        started = time.time()
        scan = self.host.run_script("backup", {
            "mode": "scan", "dest": dest, "prune": sorted(bk.EXCLUDED_TOP), "max_files": bk.MAX_FILES,
            "max_manifest_bytes": bk.MAX_MANIFEST_BYTES,
            "profiles": [self.where(entry) for entry in to_scan]})
        scanned = dict((s["path"], s) for s in scan["profiles"])
        for entry in to_scan:
            found = scanned.get(entry["path"])
            if found is None or found.get("error"):
                outcomes[entry["path"]] = self.outcome("error", error=(found or {}).get("error") or "not scanned")
                continue
            outcome, plan = self.decide(entry, found, dest, keep, scan.get("host"))
            outcome["seconds"] = time.time() - started
            outcomes[entry["path"]] = outcome
            if plan is not None:
                plans[entry["path"]] = plan
        if check_mode or not plans:
            return outcomes
        started = time.time()
        written = self.host.run_script("backup", {
            "mode": "write", "dest": dest, "profiles": [plans[path] for path in sorted(plans)]})
        for done in written["profiles"]:
            outcome = outcomes[done["path"]]
            outcome["seconds"] = done.get("seconds", time.time() - started)
            if done["status"] != "done":
                outcomes[done["path"]] = self.outcome(
                    "skipped_running" if done["status"] == "running" else "error", error=done["error"],
                    seconds=outcome["seconds"])
                continue
            outcome["removed"] = done.get("removed") or []
            if outcome["status"] == "backed_up":
                outcome.update(bytes=done["bytes"], sha256=done["sha256"])
        return outcomes

    @staticmethod
    def outcome(status, **fields):
        out = {"status": status, "archive": None, "bytes": None, "files": None, "sha256": None,
               "removed": [], "error": None}
        out.update(fields)
        return out

    @staticmethod
    def where(entry):
        return {"path": entry["path"], "home": entry.get("home"),
                "folder": list(dest_folder(entry.get("user"), entry.get("name")))}

    def decide(self, entry, found, dest, keep, host):
        """(outcome, write request of the profile or None) from its scan."""
        folder = dest_folder(entry.get("user"), entry.get("name"))
        listing, dirs = kept_listing(found.get("files") or [], found.get("dirs") or [])
        trimmed = trimmed_name(dest, entry, listing, dirs)
        if trimmed is not None:
            return self.outcome("error", error="refused: %s has a name ending in '.' or ' ', which Windows would give "
                                "tar.exe without them (another file)" % trimmed), None
        archives = existing_archives(found, host)
        good = sorted((s for s, (g, m) in archives.items() if g and m), reverse=True)
        last = archives[good[0]][1] if good else None
        plan = dict(self.where(entry), remove=[], manifest=None)
        if last is not None and bk.unchanged(listing, last) and last.get("dirs", []) == dirs:
            outcome = self.outcome("unchanged", archive=join(dest, *folder + (bk.archive_name(good[0]),)),
                                   bytes=last["archive"]["bytes"], files=len(listing),
                                   sha256=last["archive"]["sha256"])
            goodness = dict((s, g) for s, (g, _m) in archives.items())
        else:
            stamp = next_stamp(self.stamp_fn(), taken_stamps(found))
            manifest = bk.build_manifest(dict(entry, host=host), [dict(f, sha256=None) for f in listing], stamp)
            manifest["dirs"] = dirs
            plan.update(stamp=stamp, manifest=manifest, compression=self.compression)
            outcome = self.outcome("backed_up", archive=join(dest, *folder + (bk.archive_name(stamp),)),
                                   files=len(listing))
            goodness = dict([(s, g) for s, (g, _m) in archives.items()] + [(stamp, True)])
        outcome["removed"] = plan["remove"] = bk.retention_plan(goodness, keep)
        if plan["manifest"] is None and not plan["remove"]:
            plan = None
        return outcome, plan
