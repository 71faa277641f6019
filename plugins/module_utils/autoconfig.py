# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan of ``thunderbird_autoconfig`` for one Thunderbird installation (pure).

Input: what ``autoconfig_io.read_installation`` saw (the bytes of
``application.ini``, of every ``defaults/pref/*.js`` file and of the two file
names the hook uses). Output: the status the module reports and the file
operations that bring the installation to the requested state.

The hook is two NEW files: ``defaults/pref/PREF_NAME`` (names the script) and
``CFG_NAME`` beside the binary. The plan never replaces or removes a file it
did not write (recognised by ``autoconfig_script.MARKER``), so ``absent``
returns the installation to its exact bytes.

Thunderbird reads ``defaults/pref/*.js`` in descending name order, so the file
whose name sorts first wins (measured with 153.8.0esr: of ``a-``, ``b-``,
``c-test.js`` setting one pref, ``a-`` won). PREF_NAME sorts before usual
names, which is what lets the hook chain to a site's own AutoConfig file.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import re

from ansible_collections.rectorat.thunderbird.plugins.module_utils import autoconfig_script as script
from ansible_collections.rectorat.thunderbird.plugins.module_utils import prefs as prefs_grammar

PREF_NAME = "00-rectorat-offline.js"
CFG_NAME = "rectorat-offline.cfg"
DEFAULT_OBSCURE = 13  # Thunderbird's default of general.config.obscure_value
KINDS = ("system", "tarball", "snap", "flatpak", "windows")
_SAFE_CFG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def kind_of(path, os_family="posix"):
    """system | tarball | snap | flatpak | windows, from where ``path`` is."""
    if os_family == "windows":
        return "windows"
    norm = "/" + path.strip("/") + "/"
    if norm.startswith("/snap/") or "/snapd/" in norm:
        return "snap"
    if "/flatpak/" in norm or norm.startswith("/app/"):
        return "flatpak"
    if re.match(r"^/usr/(lib|lib32|lib64|libexec|share)/", norm):
        return "system"
    return "tarball"


def version_of(application_ini):
    """``Version`` of the ``[App]`` section of application.ini bytes, or None."""
    if not application_ini:
        return None
    section = None
    for raw in application_ini.decode("utf-8", "replace").splitlines():
        line = raw.strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
        elif section == "App" and line.lower().startswith("version="):
            return line.split("=", 1)[1].strip() or None
    return None


def is_ours(data):
    return data is not None and script.MARKER.encode("ascii") in data[:400]


def site_autoconfig(pref_files):
    """The AutoConfig set up by files other than ours: None or a dict with
    ``pref_file`` (the winning file), ``cfg`` (its general.config.filename),
    ``obscure`` (general.config.obscure_value in effect for it) and ``ahead``
    (files read after ours that set any general.config.* pref: they would
    override the hook's own settings)."""
    filename, obscure, ahead = {}, {}, []
    for name in sorted(pref_files):
        data = pref_files[name]
        if name == PREF_NAME or data is None:
            continue
        try:
            doc = prefs_grammar.parse(data)
        except ValueError:
            continue
        for entry in doc.entries:
            if entry.name.startswith("general.config.") and name < PREF_NAME:
                ahead.append(name)
            if entry.name == "general.config.filename" and isinstance(entry.value, str) and entry.value:
                filename[name] = entry.value
            elif entry.name == "general.config.obscure_value" and isinstance(entry.value, int) \
                    and not isinstance(entry.value, bool):
                obscure[name] = entry.value
    if not filename and not ahead:
        return None
    winner = sorted(filename or ahead)[0]
    value = obscure[sorted(obscure)[0]] if obscure else DEFAULT_OBSCURE
    return {"pref_file": winner, "cfg": filename.get(winner), "obscure": value,
            "ahead": sorted(set(ahead))}


def _sha(data):
    return None if data is None else hashlib.sha256(data).hexdigest()


def _record(snapshot, status, message, operations=None):
    return {
        "path": snapshot["path"],
        "version": snapshot.get("version"),
        "kind": snapshot["kind"],
        "status": status,
        "message": message,
        "operations": operations or [],
    }


def _op(action, where, name, before, after=None):
    """A file operation guarded by the SHA-256 of the bytes read (None = absent)."""
    return {"action": action, "dir": where, "name": name, "guard": _sha(before),
            "before": before, "after": after}


def plan_installation(snapshot, params):
    """Status and operations for one installation snapshot.

    snapshot: path, kind, version, error, pref_files (name -> bytes of every
    ``defaults/pref/*.js``), cfg_files (name -> bytes or None, for CFG_NAME
    and the site's script), pref_dir (shown in messages).
    """
    if snapshot["kind"] in ("snap", "flatpak"):
        return _record(snapshot, "unsupported",
                       "%s installations are read-only; use thunderbird_offline on the profiles"
                       % snapshot["kind"])
    if snapshot.get("error"):
        return _record(snapshot, "error", snapshot["error"])
    pref_files = snapshot["pref_files"]
    ours_pref = pref_files.get(PREF_NAME)
    ours_cfg = snapshot["cfg_files"].get(CFG_NAME)
    for name, data in ((PREF_NAME, ours_pref), (CFG_NAME, ours_cfg)):
        if data is not None and not is_ours(data):
            return _record(snapshot, "conflict", "%s exists and was not written by this module; "
                           "left as it is" % name)
    if params["state"] == "absent":
        ops = []
        if ours_pref is not None:
            ops.append(_op("remove", "pref", PREF_NAME, ours_pref))
        if ours_cfg is not None:
            ops.append(_op("remove", "install", CFG_NAME, ours_cfg))
        if not ops:
            return _record(snapshot, "unchanged", "no hook installed")
        return _record(snapshot, "changed", "hook removed", ops)

    site = site_autoconfig(pref_files)
    chain = None
    if site is not None and site["ahead"]:
        return _record(snapshot, "conflict", "%s sets general.config.* and is read after %s, "
                       "so it would win; left as it is" % (site["ahead"][0], PREF_NAME))
    if site is not None:
        where = "%s sets general.config.filename to %r" % (site["pref_file"], site["cfg"])
        if not params["chain"]:
            return _record(snapshot, "conflict", where + "; left as it is (chain: true runs "
                           "that script from the hook)")
        if site["cfg"] == CFG_NAME or not _SAFE_CFG.match(site["cfg"]):
            return _record(snapshot, "conflict", where + ", a name the hook cannot chain to")
        if snapshot["cfg_files"].get(site["cfg"]) is None:
            return _record(snapshot, "conflict", where + " but that file is not in the installation")
        chain = {"file": site["cfg"], "obscure": site["obscure"] % 256}
    options = script.script_options(params.get("servers"), params.get("sync_age_days"),
                                    params.get("size_limit_kb"), params.get("lock"), chain)
    ops = []
    # The script first, the pref file that activates it last.
    new_cfg = script.render_script(options)
    if ours_cfg != new_cfg:
        ops.append(_op("write", "install", CFG_NAME, ours_cfg, new_cfg))
    new_pref = script.render_prefs(CFG_NAME)
    if ours_pref != new_pref:
        ops.append(_op("write", "pref", PREF_NAME, ours_pref, new_pref))
    chained = " (chained to %s)" % site["cfg"] if chain else ""
    if not ops:
        return _record(snapshot, "unchanged", "hook installed" + chained)
    verb = "hook updated" if ours_cfg is not None or ours_pref is not None else "hook installed"
    return _record(snapshot, "changed", verb + chained, ops)


def public(record):
    """The record as the module returns it (without file contents)."""
    return dict((k, record[k]) for k in ("path", "version", "kind", "status", "message"))


def diff_of(record, pref_dir, install_dir, sep="/"):
    """Ansible diff entries for the operations of ``record``."""
    diffs = []
    for op in record["operations"]:
        folder = pref_dir if op["dir"] == "pref" else install_dir
        path = folder.rstrip(sep) + sep + op["name"]
        before = op["before"].decode("utf-8", "replace") if op["before"] is not None else ""
        after = op["after"].decode("utf-8", "replace") if op["after"] is not None else ""
        diffs.append({"before_header": path if op["before"] is not None else "(absent)",
                      "after_header": path if op["after"] is not None else "(absent)",
                      "before": before, "after": after})
    return diffs


def describe(snapshot):
    """What ``thunderbird_info`` says of an installation snapshot: path,
    version, kind, ``hook`` (installed | absent | foreign: a file of the
    hook's name not written by this module), ``site_autoconfig`` (the
    general.config.filename set by another file, or null) and ``error``."""
    out = {"path": snapshot["path"], "version": snapshot.get("version"), "kind": snapshot["kind"],
           "hook": None, "site_autoconfig": None, "error": snapshot.get("error")}
    if out["error"] or snapshot["kind"] in ("snap", "flatpak"):
        return out
    mine = [snapshot["pref_files"].get(PREF_NAME), snapshot["cfg_files"].get(CFG_NAME)]
    if any(data is not None and not is_ours(data) for data in mine):
        out["hook"] = "foreign"
    else:
        out["hook"] = "installed" if all(data is not None for data in mine) else "absent"
    site = site_autoconfig(snapshot["pref_files"])
    out["site_autoconfig"] = site.get("cfg") if site else None
    return out
