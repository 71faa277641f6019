# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""I/O of ``thunderbird_autoconfig`` on POSIX hosts: find Thunderbird
installations, read what the plan needs, apply its file operations.

An installation is system content. Its folders are reached by a walk that
accepts a symbolic link (Debian: ``/usr/lib/thunderbird/defaults`` ->
``../../share/thunderbird/defaults``) only when the link and every folder
on the way belong to root (or to the user running the module) and cannot be
written by anyone else; a link or folder another user controls is refused.
The folders are then opened once, without following links, and checked to
be the very ones the walk saw; every read and write goes through those
descriptors.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import glob
import hashlib
import os
import stat

from ansible_collections.rectorat.thunderbird.plugins.module_utils import autoconfig
from ansible_collections.rectorat.thunderbird.plugins.module_utils.commit import (
    Refused, UnexpectedSize, discard, read_current, temp_name, write_new)

MAX_READ = 1024 * 1024
MAX_LINKS = 16
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
SEARCH = (
    "/usr/lib/thunderbird", "/usr/lib64/thunderbird", "/usr/lib/thunderbird-esr",
    "/usr/lib64/thunderbird-esr", "/opt/thunderbird*", "/usr/local/thunderbird*",
    "/snap/thunderbird/current", "/var/lib/flatpak/app/org.mozilla.Thunderbird/current/active/files",
)
MARKERS = ("application.ini", "thunderbird-bin", "thunderbird", "libxul.so")


class Untrusted(Exception):
    pass


def _trusted(st, path):
    if st.st_uid not in (0, os.geteuid()):
        raise Untrusted("%s belongs to uid %d, not to root" % (path, st.st_uid))
    if stat.S_ISLNK(st.st_mode):
        return
    if st.st_mode & 0o022 and not (stat.S_ISDIR(st.st_mode) and st.st_mode & stat.S_ISVTX):
        raise Untrusted("%s can be written by group or others" % path)


def trusted_resolve(path):
    """Absolute path with every link resolved, each link and folder on the way
    checked by ``_trusted``; returns (resolved path, [(path, lstat), ...])."""
    if not os.path.isabs(path):
        raise Untrusted("%s is not an absolute path" % path)
    pending = [p for p in path.split("/") if p]
    resolved, seen, links = "/", [], 0
    _trusted(os.lstat("/"), "/")
    while pending:
        part = pending.pop(0)
        if part == ".":
            continue
        if part == "..":
            resolved = os.path.dirname(resolved)
            continue
        candidate = os.path.join(resolved, part)
        st = os.lstat(candidate)
        _trusted(st, candidate)
        if stat.S_ISLNK(st.st_mode):
            links += 1
            if links > MAX_LINKS:
                raise Untrusted("too many symbolic links below %s" % path)
            target = os.readlink(candidate)
            if target.startswith("/"):
                resolved = "/"
            pending = [p for p in target.split("/") if p] + pending
            continue
        if pending and not stat.S_ISDIR(st.st_mode):
            raise Untrusted("%s is not a folder" % candidate)
        seen.append((candidate, st))
        resolved = candidate
    return resolved, seen


def open_trusted_dir(path):
    """fd of the folder ``path`` leads to, checked against the trusted walk."""
    resolved, seen = trusted_resolve(path)
    fd = os.open(resolved, _DIR)
    st = os.fstat(fd)
    expected = seen[-1][1] if seen else os.lstat("/")
    if (st.st_dev, st.st_ino) != (expected.st_dev, expected.st_ino):
        os.close(fd)
        raise Untrusted("%s changed while it was being checked" % resolved)
    return fd, resolved


def find_installations(install_dirs=None):
    """Installation folders: ``install_dirs`` as given, else the usual places
    that hold a Thunderbird (``MARKERS``)."""
    if install_dirs:
        return list(install_dirs)
    found = []
    for pattern in SEARCH:
        for path in sorted(glob.glob(pattern)):
            if path in found or not os.path.isdir(path):
                continue
            if any(os.path.exists(os.path.join(path, m)) for m in MARKERS):
                found.append(path)
            elif os.path.isdir(os.path.join(path, "lib", "thunderbird")):
                found.append(os.path.join(path, "lib", "thunderbird"))
    return found


def _read(dir_fd, name):
    """Bytes of a regular file below ``dir_fd`` (None when absent), size-capped."""
    try:
        return read_current(dir_fd, name, MAX_READ)[0]
    except UnexpectedSize:
        raise Refused("error", "%s is larger than %d bytes" % (name, MAX_READ))


def read_installation(path):
    """Snapshot of one installation for ``autoconfig.plan_installation``."""
    snap = {"path": path, "kind": autoconfig.kind_of(path), "version": None, "error": None,
            "pref_files": {}, "cfg_files": {}, "pref_dir": None}
    if snap["kind"] in ("snap", "flatpak"):
        return snap, None, None
    install_fd = pref_fd = None
    try:
        install_fd, resolved = open_trusted_dir(path)
        snap["version"] = autoconfig.version_of(_read(install_fd, "application.ini"))
        if not any(_exists(install_fd, m) for m in MARKERS):
            raise Untrusted("%s holds no Thunderbird (none of %s)" % (path, ", ".join(MARKERS)))
        pref_fd, pref_dir = open_trusted_dir(os.path.join(resolved, "defaults", "pref"))
        snap["pref_dir"] = pref_dir
        for name in sorted(os.listdir(pref_fd)):
            if name.endswith(".js"):
                snap["pref_files"][name] = _read(pref_fd, name)
        snap["cfg_files"][autoconfig.CFG_NAME] = _read(install_fd, autoconfig.CFG_NAME)
        site = autoconfig.site_autoconfig(snap["pref_files"])
        if site and site.get("cfg") and "/" not in site["cfg"] and site["cfg"] not in ("", ".", ".."):
            snap["cfg_files"][site["cfg"]] = _read(install_fd, site["cfg"])
        return snap, install_fd, pref_fd
    except (OSError, Untrusted, Refused) as exc:
        for fd in (install_fd, pref_fd):
            if fd is not None:
                os.close(fd)
        snap["error"] = _message(exc)
        return snap, None, None


def _exists(dir_fd, name):
    try:
        os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        return True
    except OSError:
        return False


def _message(exc):
    if isinstance(exc, OSError) and exc.strerror:
        return "%s: %s" % (exc.filename or "", exc.strerror) if exc.filename else exc.strerror
    return str(exc)


def _guard(dir_fd, op):
    """The stat of the file the operation replaces (None when new), once its
    bytes are checked to be those the plan saw."""
    changed = Refused("error", "%s changed since it was read; nothing more written" % op["name"])
    try:
        data, st = read_current(dir_fd, op["name"], MAX_READ)
    except UnexpectedSize:
        raise changed  # larger than anything this module reads and guards
    if (None if data is None else hashlib.sha256(data).hexdigest()) != op["guard"]:
        raise changed
    return st


def apply(record, install_fd, pref_fd):
    """Carry out the operations of a plan record; returns the record, its
    status ``error`` (and message) if something failed."""
    done = []
    try:
        for op in record["operations"]:
            dir_fd = pref_fd if op["dir"] == "pref" else install_fd
            st = _guard(dir_fd, op)
            if op["action"] == "remove":
                os.unlink(op["name"], dir_fd=dir_fd)
            else:
                folder = os.fstat(dir_fd)
                uid, gid = (st.st_uid, st.st_gid) if st else (folder.st_uid, folder.st_gid)
                mode = stat.S_IMODE(st.st_mode) if st else 0o644
                tmp = temp_name(op["name"])
                write_new(dir_fd, tmp, op["after"], uid, gid, mode)
                try:
                    os.rename(tmp, op["name"], src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
                except BaseException:
                    discard(dir_fd, [tmp])
                    raise
            os.fsync(dir_fd)
            done.append(op["name"])
    except (OSError, Refused) as exc:
        record["status"] = "error"
        record["message"] = "%s%s" % (_message(exc), "" if not done else
                                      " (already done: %s)" % ", ".join(done))
    return record


def close(*fds):
    for fd in fds:
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass


def run(params, check_mode):
    """Plan (and unless ``check_mode`` apply) every installation; returns
    (records, diffs)."""
    records, diffs = [], []
    for path in find_installations(params.get("install_dirs")):
        snap, install_fd, pref_fd = read_installation(path)
        try:
            record = autoconfig.plan_installation(snap, params)
            if record["operations"]:
                diffs.extend(autoconfig.diff_of(record, snap["pref_dir"] or "", path))
                if not check_mode:
                    apply(record, install_fd, pref_fd)
        finally:
            close(install_fd, pref_fd)
        records.append(record)
    return records, diffs


def describe_all(install_dirs=None):
    """``autoconfig.describe`` of every installation found (read only)."""
    out = []
    for path in find_installations(install_dirs):
        snap, install_fd, pref_fd = read_installation(path)
        close(install_fd, pref_fd)
        out.append(autoconfig.describe(snap))
    return out
