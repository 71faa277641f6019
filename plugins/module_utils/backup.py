# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backup and restore of whole profiles: the decisions (pure, no I/O).

What goes into an archive, how archives are named, what the manifest holds,
whether a new archive is needed, which old archives retention removes, and
which archive member names a restore accepts. ``archive_io.py`` does the I/O.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import re

FORMAT = "rectorat.thunderbird.backup"
FORMAT_VERSION = 1
MANIFEST_MEMBER = "rectorat-backup-manifest.json"
MAX_FILES = 200000
MAX_MANIFEST_BYTES = 256 * 1024 * 1024

# What Thunderbird rebuilds by itself: caches, crash reports, lock files.
EXCLUDED_TOP = frozenset((
    "cache2", "startupCache", "OfflineCache", "jumpListCache", "shader-cache", "thumbnails",
    "safebrowsing", "crashes", "minidumps", "Crash Reports", "saved-telemetry-pings",
))
EXCLUDED_NAMES = frozenset((".parentlock", "parent.lock", "lock"))

_STAMP = r"\d{8}T\d{6}Z"
ARCHIVE_RE = re.compile(r"^(%s)\.zip$" % _STAMP)
MANIFEST_RE = re.compile(r"^(%s)\.manifest\.json$" % _STAMP)
# .<stamp>.zip.rectorat-<host>-<pid>.tmp and .<stamp>.manifest.json.rectorat-<host>-<pid>.tmp;
# <host>- is missing from the names of earlier runs.
TEMP_RE = re.compile(r"^\.(%s)\.(?:zip|manifest\.json)\.rectorat-(?:(.+)-)?(\d+)\.tmp$" % _STAMP)
_NOT_IN_HOST_TAG = re.compile(r"[^A-Za-z0-9._-]")
_UNSAFE = re.compile(r"[\x00-\x1f/\\:*?\"<>|]")


def is_excluded(rel):
    parts = rel.split("/")
    return parts[0] in EXCLUDED_TOP or parts[-1] in EXCLUDED_NAMES or rel == MANIFEST_MEMBER


def safe_component(name):
    """A folder name for ``dest`` made of a user or profile name: no
    separator, no control character, never ``.``/``..``/empty."""
    text = _UNSAFE.sub("_", name or "").strip()
    if text in ("", ".", ".."):
        return "_" + text.replace(".", "_")
    return text


def archive_folder(user, name, uid=None):
    """(user folder, profile folder) below ``dest``."""
    return safe_component(user if user else "uid%s" % uid), safe_component(name)


def archive_name(stamp):
    return "%s.zip" % stamp


def manifest_name(stamp):
    return "%s.manifest.json" % stamp


def host_tag(hostname):
    """The host's name as it goes into temp names: computers that share a
    dest (cloned workstations, same users) must tell their temp files apart."""
    return _NOT_IN_HOST_TAG.sub("_", hostname or "") or "host"


def temp_name(final, pid, host):
    return ".%s.rectorat-%s-%d.tmp" % (final, host_tag(host), pid)


def temp_is_dead(match, host, alive):
    """Whether the temp file ``match`` (of TEMP_RE) belongs to a run of this
    host that is gone: another host's temp files are never ours to judge."""
    owner = match.group(2)
    if owner is not None and owner != host_tag(host):
        return False
    return not alive(int(match.group(3)))


def build_manifest(profile, files, stamp):
    """``files``: dicts with path, size, mtime_ns, sha256, in archive order."""
    return {
        "format": FORMAT, "version": FORMAT_VERSION, "created": stamp,
        "profile": {"name": profile.get("name"), "user": profile.get("user"), "path": profile.get("path"),
                    "host": profile.get("host")},
        "files": [{"path": f["path"], "size": f["size"], "mtime": f["mtime_ns"] / 1e9,
                   "mtime_ns": f["mtime_ns"], "sha256": f["sha256"]} for f in files],
        "bytes": sum(f["size"] for f in files),
    }


def manifest_bytes(manifest):
    return (json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


class BadManifest(Exception):
    pass


def parse_manifest(data):
    """The manifest dict, or BadManifest saying why not."""
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadManifest("the manifest is not JSON: %s" % exc)
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BadManifest("not a manifest of rectorat.thunderbird.thunderbird_backup")
    if manifest.get("version") != FORMAT_VERSION:
        raise BadManifest("manifest version %r is not supported" % manifest.get("version"))
    files = manifest.get("files")
    if not isinstance(files, list):
        raise BadManifest("the manifest lists no files")
    seen = set()
    for entry in files:
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str) \
                or not isinstance(entry.get("size"), int) or not isinstance(entry.get("sha256"), str):
            raise BadManifest("a manifest entry is malformed: %r" % (entry,))
        problem = member_problem(entry["path"])
        if problem:
            raise BadManifest(problem)
        if entry["path"] in seen:
            raise BadManifest("%s is listed twice" % entry["path"])
        seen.add(entry["path"])
    return manifest


def made_elsewhere(manifest, host):
    """An archive another host made in a shared ``dest``: not this run's to
    compare with nor to remove."""
    made_by = (manifest.get("profile") or {}).get("host")
    return bool(made_by and host and made_by != host)


def fingerprint(files):
    """What decides "unchanged": each file's path, size and mtime."""
    return sorted((f["path"], f["size"], f["mtime_ns"]) for f in files)


def unchanged(listing, manifest):
    """True when ``listing`` (path, size, mtime_ns of the profile now) is
    what the manifest of the last good archive recorded."""
    if manifest is None:
        return False
    try:
        recorded = fingerprint(manifest["files"])
    except (KeyError, TypeError):
        return False
    return recorded == fingerprint(listing)


def retention_plan(archives, keep):
    """Stamps whose archive (and manifest) retention removes.

    ``archives``: {stamp: good} for every archive of this module in the
    profile's folder; good = its manifest beside it matches it. The newest
    good archive is never removed; besides it, the ``keep`` newest archives
    stay. Broken archives older than the newest good one go first.
    """
    keep = max(keep, 1)
    stamps = sorted(archives, reverse=True)
    good = [s for s in stamps if archives[s]]
    kept = set(stamps[:keep])
    if good:
        newest_good = good[0]
        kept.add(newest_good)
        if len(kept) > keep:
            # The newest good one pushed a broken newer one out first.
            for stamp in sorted((s for s in kept if not archives[s]), reverse=False):
                if len(kept) <= keep:
                    break
                kept.discard(stamp)
    return [s for s in stamps if s not in kept]


def member_problem(name):
    """Why an archive member name is refused by a restore, or None."""
    if not name or "\x00" in name:
        return "an empty or NUL-holding member name"
    if "\\" in name:
        return "member %r holds a backslash" % name
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return "member %r is an absolute path" % name
    parts = name.rstrip("/").split("/")
    if any(p in ("", ".", "..") for p in parts):
        return "member %r leaves the profile folder or is not a plain path" % name
    return None


def imap_online_only(accounts):
    """Names of the IMAP accounts whose mail an archive does not hold."""
    out = []
    for account in accounts or []:
        if account.get("type") == "imap" and not account.get("backup_ready"):
            out.append(account.get("email") or account.get("name") or account.get("key"))
    return out
