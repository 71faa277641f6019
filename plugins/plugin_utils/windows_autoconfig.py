# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""thunderbird_autoconfig for a Windows host, on the controller.

autoconfig.ps1 'read' gives, per installation folder, the bytes of
application.ini and of the ``*.cfg`` files beside thunderbird.exe, and of
every ``defaults\\pref\\*.js``; the plan of module_utils/autoconfig.py (the
one Linux hosts run) decides from them; autoconfig.ps1 'write' carries out
its operations, each guarded by the SHA-256 of the bytes read. At most two
round trips per host: read, then write (none in check mode, nor when
nothing is to be written).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64

from ansible_collections.rectorat.thunderbird.plugins.module_utils import autoconfig

SEARCH = ("C:\\Program Files\\Mozilla Thunderbird", "C:\\Program Files (x86)\\Mozilla Thunderbird")
MARKERS = ("thunderbird.exe", "application.ini")
# A site's AutoConfig script is looked for among the *.cfg files.
INSTALL_FILES = ("application.ini", "*.cfg")
PREF_FILES = ("*.js",)
MAX_FILE_BYTES = 1024 * 1024  # as autoconfig_io.MAX_READ
MAX_RUN_BYTES = 16 * 1024 * 1024


def _decoded(files):
    return dict((name, base64.b64decode(b64)) for name, b64 in (files or {}).items())


def _lookup(files, name):
    """Bytes of ``name`` in {name on disk: bytes}, matched as Windows
    matches names (without regard to case); None when absent."""
    for candidate, data in files.items():
        if candidate.lower() == name.lower():
            return data
    return None


def snapshot(seen):
    """What read answered for one installation, as
    ``autoconfig.plan_installation`` takes it (autoconfig_io.read_installation
    on Linux)."""
    path = seen["path"]
    snap = {"path": path, "kind": autoconfig.kind_of(path, "windows"), "version": None, "error": None,
            "pref_files": {}, "cfg_files": {}, "pref_dir": seen.get("pref_dir")}
    install = _decoded(seen.get("install"))
    snap["version"] = autoconfig.version_of(_lookup(install, "application.ini"))
    if seen.get("error"):
        snap["error"] = seen["error"]
    elif not seen.get("found"):
        snap["error"] = "%s: not found" % path
    elif not seen.get("markers"):
        snap["error"] = "%s holds no Thunderbird (none of %s)" % (path, ", ".join(MARKERS))
    elif not seen.get("pref_dir"):
        snap["error"] = "%s\\defaults\\pref: not found" % seen.get("dir", path)
    if snap["error"]:
        return snap
    for name, data in _decoded(seen.get("pref")).items():
        # The hook's own file under another case is the hook's file to Windows.
        snap["pref_files"][autoconfig.PREF_NAME if name.lower() == autoconfig.PREF_NAME.lower() else name] = data
    snap["cfg_files"][autoconfig.CFG_NAME] = _lookup(install, autoconfig.CFG_NAME)
    site = autoconfig.site_autoconfig(snap["pref_files"])
    if site and site.get("cfg"):
        snap["cfg_files"][site["cfg"]] = _lookup(install, site["cfg"])
    return snap


def write_entry(path, record):
    return {"path": path, "ops": [{
        "action": op["action"], "dir": op["dir"], "name": op["name"], "guard": op["guard"],
        "b64": None if op["after"] is None else base64.b64encode(op["after"]).decode("ascii"),
    } for op in record["operations"]]}


def read_installations(host, install_dirs):
    """What autoconfig.ps1 'read' answers for each of ``install_dirs``, or
    for each usual place that holds something."""
    read = host.run_script("autoconfig", {
        "mode": "read", "max_file_bytes": MAX_FILE_BYTES, "max_run_bytes": MAX_RUN_BYTES,
        "installations": [{"path": path, "markers": list(MARKERS), "install_files": list(INSTALL_FILES),
                           "pref_files": list(PREF_FILES)} for path in install_dirs or SEARCH]})
    # A usual place with no Thunderbird in it is not an installation.
    return [seen for seen in read.get("installations") or []
            if install_dirs or seen.get("found") or seen.get("error")]


def run(host, params, check_mode):
    """Plan (and unless ``check_mode`` apply) every installation of the
    host (PowerShellHost); returns (records, diffs) as autoconfig_io.run."""
    records, diffs, writes = [], [], []
    for seen in read_installations(host, params.get("install_dirs")):
        snap = snapshot(seen)
        record = autoconfig.plan_installation(snap, params)
        if record["operations"]:
            diffs.extend(autoconfig.diff_of(record, snap["pref_dir"] or "", seen.get("dir") or snap["path"], sep="\\"))
            writes.append((record, write_entry(snap["path"], record)))
        records.append(record)
    if check_mode or not writes:
        return records, diffs
    written = host.run_script("autoconfig", {"mode": "write", "max_file_bytes": MAX_FILE_BYTES,
                                             "installations": [entry for _record, entry in writes]})
    answers = written.get("installations") or []
    for index, (record, _entry) in enumerate(writes):
        answer = answers[index] if index < len(answers) else {"error": "no answer from the host", "done": []}
        if answer.get("error"):
            done = answer.get("done") or []
            record["status"] = "error"
            record["message"] = "%s%s" % (answer["error"], " (already done: %s)" % ", ".join(done) if done else "")
    return records, diffs


def runner(host):
    """``autoconfig_flow``'s runner for ``host``: (params, check_mode) ->
    (records, diffs)."""
    return lambda params, check_mode: run(host, params, check_mode)


def describe_all(host, install_dirs=None):
    """``autoconfig.describe`` of every installation of the host (read only,
    one round trip): what thunderbird_info reports as ``installations``."""
    return [autoconfig.describe(snapshot(seen)) for seen in read_installations(host, install_dirs)]
