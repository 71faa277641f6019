# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Folders of an IMAP account and their Offline flag (pure).

Thunderbird reads a folder's flags from its entry in folderCache.json when
there is one, else from the folder's .msf summary. Flagging a folder offline
therefore means: OR the Offline bit into its folderCache.json entry, or, for a
folder that has no entry, add one built from its .msf folder-info row (see
docs/measurements.md for what the real Thunderbird does with each).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
from collections import OrderedDict

OFFLINE = 0x08000000
TRASH = 0x00000100
JUNK = 0x40000000
VIRTUAL = 0x00000020
NOSELECT = 0x01000000
_NEVER_OFFLINE = TRASH | JUNK | VIRTUAL

# .msf folder-info cell -> folderCache.json member. Thunderbird writes the
# numbers unsigned (Junk's flags read 1074274324), as the .msf hex gives them.
SUMMARY_TO_CACHE = (
    ("flags", "flags", 0),
    ("numMsgs", "totalMsgs", 0),
    ("numNewMsgs", "totalUnreadMsgs", 0),
    ("totPendingMsgs", "pendingMsgs", 0),
    ("unreadPendingMsgs", "pendingUnreadMsgs", 0),
    ("expungedBytes", "expungedBytes", 0),
    ("folderSize", "folderSize", -1),
)
# hierDelim Thunderbird writes while it does not know the server's delimiter.
UNKNOWN_DELIMITER = 94


class FolderCacheError(Exception):
    pass


def parse_folder_cache(data):
    """folderCache.json bytes → OrderedDict key → entry (dict)."""
    try:
        cache = json.loads(data.decode("utf-8"), object_pairs_hook=OrderedDict)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FolderCacheError("folderCache.json is not valid JSON: %s" % exc)
    except RecursionError:
        raise FolderCacheError("folderCache.json is nested too deeply to be a folder cache")
    if not isinstance(cache, dict):
        raise FolderCacheError("folderCache.json is not a JSON object")
    return cache


def serialize_folder_cache(cache):
    try:
        return json.dumps(cache, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:
        # An escape like \uD800 without its pair decodes to a lone surrogate.
        raise FolderCacheError("folderCache.json holds a string that is not valid Unicode "
                               "(an unpaired surrogate escape); not rewriting it")


def native_path(profile_path, rel, sep):
    return profile_path.rstrip(sep) + sep + rel.replace("/", sep)


def folder_name(store_rel, msf_rel):
    """"ImapMail/h/Projets.sbd/2026.msf" → "Projets/2026"."""
    inner = msf_rel[len(store_rel) + 1:-len(".msf")]
    return "/".join(p[:-4] if p.endswith(".sbd") else p for p in inner.split("/"))


class Folder:
    def __init__(self, rel, key, name):
        self.rel = rel
        self.key = key
        self.name = name
        self.flags = None
        self.source = None
        self.summary = None
        self.entry = None
        self.problem = None

    @property
    def wanted(self):
        """Gets the Offline flag: every folder but Trash, Junk and virtual
        ones (unknown flags count as wanted). Thunderbird flags \\Noselect
        parents too in a profile that keeps mail offline."""
        return not (self.flags or 0) & _NEVER_OFFLINE

    @property
    def counted(self):
        """Counts in folders_total: wanted, and able to hold messages."""
        return self.wanted and not (self.flags or 0) & NOSELECT

    @property
    def offline(self):
        return self.flags is not None and bool(self.flags & OFFLINE)


def _under(key, prefix, sep):
    if sep == "\\":
        return key.lower().startswith(prefix.lower())
    return key.startswith(prefix)


def account_folders(store_rel, profile_path, sep, tree, cache, summaries):
    """Folders of the account whose mail folder is ``store_rel``.

    A folder is any ``.msf`` below the mail folder, plus any folderCache.json
    entry below it (Thunderbird knows the folder even if its .msf is gone).
    ``summaries`` maps an .msf rel path to its folder-info dict, or to an
    error message when it could not be read.
    """
    store_prefix = store_rel + "/"
    folders = OrderedDict()
    for entry in tree:
        rel = entry["rel"]
        if entry["type"] == "file" and rel.startswith(store_prefix) and rel.endswith(".msf"):
            folders[rel] = Folder(rel, native_path(profile_path, rel, sep), folder_name(store_rel, rel))
    native_prefix = native_path(profile_path, store_rel, sep) + sep
    cache_keys = {}
    known = set(_fold(rel, sep) for rel in folders)
    for key in cache or {}:
        if key.endswith(".msf") and _under(key, native_prefix, sep):
            rel = store_prefix + key[len(native_prefix):].replace(sep, "/")
            cache_keys[_fold(rel, sep)] = key
            if _fold(rel, sep) not in known:
                known.add(_fold(rel, sep))
                folders[rel] = Folder(rel, key, folder_name(store_rel, rel))
    for rel, folder in folders.items():
        key = cache_keys.get(_fold(rel, sep))
        entry = cache.get(key) if key is not None and cache else None
        if isinstance(entry, dict) and isinstance(entry.get("flags"), int):
            folder.key = key
            folder.entry = entry
            folder.flags = entry["flags"]
            folder.source = "cache"
            continue
        summary = summaries.get(rel)
        if isinstance(summary, dict):
            folder.summary = summary
            flags = _hex(summary.get("flags"))
            if flags is not None:
                folder.flags = flags
                folder.source = "summary"
            else:
                folder.problem = "no flags in %s" % rel
        elif summary:
            folder.problem = summary
    return sorted(folders.values(), key=lambda f: f.name.lower())


def _fold(rel, sep):
    """The form in which two paths of the host compare equal."""
    return rel.lower() if sep == "\\" else rel


def _hex(value):
    if not isinstance(value, str):
        return None
    try:
        return int(value, 16)
    except ValueError:
        return None


def cache_entry_from_summary(summary, delimiter):
    """A folderCache.json entry equivalent to what Thunderbird writes, built
    from a .msf folder-info row. Measured (docs/measurements.md): without
    ``hierDelim`` Thunderbird recreates nested folders under another name, and
    without ``serverTotal``/``nextUID`` it may skip the download."""
    entry = OrderedDict()
    for cell, member, missing in SUMMARY_TO_CACHE:
        value = _hex(summary.get(cell))
        entry[member] = missing if value is None else value
    if summary.get("onlineName"):
        entry["onlineName"] = summary["onlineName"]
    if delimiter is not None:
        entry["hierDelim"] = delimiter
    entry["serverTotal"] = entry["totalMsgs"]
    highest = _hex(summary.get("highestRecordedUID"))
    if highest is not None:
        entry["nextUID"] = highest + 1
    return entry


def hierarchy_delimiter(folders):
    """The account's IMAP hierarchy delimiter (as a code point), or None.

    From a cache entry Thunderbird wrote, else from a nested folder whose
    .msf onlineName joins its path parts with one character."""
    for folder in folders:
        if folder.source == "cache" and folder.entry is not None:
            value = folder.entry.get("hierDelim")
            if isinstance(value, int) and value != UNKNOWN_DELIMITER:
                return value
    for folder in folders:
        parts = folder.name.split("/")
        online = (folder.summary or {}).get("onlineName") or ""
        if len(parts) < 2 or not isinstance(online, str):
            continue
        for char in set(online) - set("".join(parts)):
            if online == char.join(parts):
                return ord(char)
    return None


def flag_offline(cache, folders):
    """New folderCache.json content with every wanted folder of one account
    flagged offline.

    Returns (new_cache, flagged) where ``flagged`` lists the folders changed.
    When anything is flagged, every folder of the account that lacks an entry
    gets one built from its .msf (flagged only if wanted), as in the recipe
    measured with the real client; folders whose flags are unknown are left
    alone (the caller reports them).
    """
    new_cache = OrderedDict((k, OrderedDict(v) if isinstance(v, dict) else v) for k, v in (cache or {}).items())
    flagged = [f for f in folders if f.wanted and not f.offline and f.flags is not None]
    if not flagged:
        return new_cache, []
    delimiter = hierarchy_delimiter(folders)
    for folder in folders:
        if folder.flags is None:
            continue
        flags = folder.flags | OFFLINE if folder.wanted else folder.flags
        if folder.source == "cache":
            new_cache[folder.key]["flags"] = flags
        else:
            entry = cache_entry_from_summary(folder.summary, delimiter)
            entry["flags"] = flags
            new_cache[folder.key] = entry
    return new_cache, flagged
