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
_NEVER_OFFLINE = TRASH | JUNK | VIRTUAL | NOSELECT

# .msf folder-info cell -> folderCache.json member. Thunderbird writes the
# numbers unsigned (Junk's flags read 1074274324), as the .msf hex gives them.
SUMMARY_TO_CACHE = (
    ("flags", "flags", "hex"),
    ("numMsgs", "totalMsgs", "hex"),
    ("numNewMsgs", "totalUnreadMsgs", "hex"),
    ("expungedBytes", "expungedBytes", "hex"),
    ("folderSize", "folderSize", "hex"),
    ("boxFlags", "boxFlags", "hex"),
    ("hierDelim", "hierDelim", "hex"),
    ("onlineName", "onlineName", "str"),
)


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
        self.problem = None

    @property
    def wanted(self):
        """Should be offline: every folder but Trash, Junk, virtual and
        non-selectable ones (unknown flags count as wanted)."""
        return not (self.flags or 0) & _NEVER_OFFLINE

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


def cache_entry_from_summary(summary):
    entry = OrderedDict()
    for cell, member, kind in SUMMARY_TO_CACHE:
        value = summary.get(cell)
        if value is None:
            continue
        if kind == "hex":
            value = _hex(value)
            if value is None:
                continue
        entry[member] = value
    return entry


def flag_offline(cache, folders):
    """New folderCache.json content with every wanted folder flagged offline.

    Returns (new_cache, flagged) where ``flagged`` lists the folders changed;
    folders whose flags are unknown are left alone (the caller reports them).
    """
    new_cache = OrderedDict((k, OrderedDict(v) if isinstance(v, dict) else v) for k, v in (cache or {}).items())
    flagged = []
    for folder in folders:
        if not folder.wanted or folder.offline or folder.flags is None:
            continue
        if folder.source == "cache":
            new_cache[folder.key]["flags"] = folder.flags | OFFLINE
        else:
            entry = cache_entry_from_summary(folder.summary)
            entry["flags"] = folder.flags | OFFLINE
            new_cache[folder.key] = entry
        flagged.append(folder)
    return new_cache, flagged

