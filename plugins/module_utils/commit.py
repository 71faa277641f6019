# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Commit: apply a commit request on a POSIX host (twin of ``commit.ps1``).

Per profile: hold Thunderbird's own lock so that it cannot start meanwhile,
check every guard (the file is still the one collect read) before writing
anything, keep a backup, then replace each file atomically (temp file in the
same folder, fsync, rename) with the old owner, group and mode. When run as
root, the writes happen with the profile user's effective uid and gid, so a
write can never land where that user could not write.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import errno
import fcntl
import hashlib
import os
import re
import stat
import struct

from ansible_collections.rectorat.thunderbird.plugins.module_utils.budget import MAX_FILE_BYTES
from ansible_collections.rectorat.thunderbird.plugins.module_utils.collect import (
    LOCK_FLAGS, ForeignOwner, SymlinkInPath, open_dir_below, read_at_most)

PROTOCOL = 1
ALLOWED = ("prefs.js", "user.js", "folderCache.json")
_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
# FS_IOC_GETFLAGS and its append-only and immutable bits (linux/fs.h).
_FS_IOC_GETFLAGS = 0x80086601
_FS_APPEND_FL, _FS_IMMUTABLE_FL = 0x00000020, 0x00000010
# Temp files this module makes: .<file>[.<stamp>.bak].rectorat-<pid>.tmp
_TEMP = re.compile(r"^\.(?:prefs\.js|user\.js|folderCache\.json)(?:\.\d{8}T\d{6}Z\.bak)?"
                   r"\.rectorat-(\d+)\.tmp$")


class Refused(Exception):
    def __init__(self, status, message):
        Exception.__init__(self, message)
        self.status = status


class UnexpectedSize(Exception):
    """The file is not the size it must have: it is not read."""


class EffectiveUser:
    """Switch effective uid/gid to the profile's user while writing (root only)."""

    def __init__(self, uid, gid):
        self.uid, self.gid = uid, gid
        self.active = os.geteuid() == 0 and uid not in (None, 0)

    def __enter__(self):
        if self.active:
            self.groups = os.getgroups()
            os.setgroups([])
            os.setegid(self.gid)
            os.seteuid(self.uid)
        return self

    def __exit__(self, *exc):
        if self.active:
            os.seteuid(0)
            os.setegid(0)
            os.setgroups(self.groups)
        return False


def read_current(dir_fd, name, max_bytes):
    """(bytes, stat) of ``name``, or (None, None) when it does not exist.
    The size comes from fstat first: a file larger than ``max_bytes`` is not
    read (UnexpectedSize), and nothing is read past the size fstat gave."""
    try:
        fd = os.open(name, _READ, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None, None
        if exc.errno == errno.ELOOP:
            raise Refused("error", "%s is a symbolic link" % name)
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Refused("error", "%s is not a regular file" % name)
        if st.st_size > max_bytes:
            raise UnexpectedSize(name)
        data = read_at_most(fd, st.st_size)
        if len(data) != st.st_size:
            raise UnexpectedSize(name)
        return data, st
    finally:
        os.close(fd)


def write_all(fd, data):
    """Every byte of ``data`` to ``fd`` (os.write may write fewer)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def write_new(dir_fd, name, data, uid, gid, mode):
    """Create ``name`` (must not exist) with ``data``, owner and mode; fsynced."""
    fd = os.open(name, _CREATE, 0o600, dir_fd=dir_fd)
    try:
        write_all(fd, data)
        if uid is not None and gid is not None and (os.fstat(fd).st_uid, os.fstat(fd).st_gid) != (uid, gid):
            os.fchown(fd, uid, gid)
        os.fchmod(fd, mode)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(name, dir_fd=dir_fd)
        raise
    os.close(fd)


def hold_profile_lock(dir_fd, create=False):
    """Lock .parentlock as Thunderbird does; returns its fd (or None when the
    profile has none and ``create`` is false: with ``create``, it is made as
    Thunderbird would, so that no Thunderbird can start while it is held).
    Raises Refused when Thunderbird holds it."""
    try:
        fd = os.open(".parentlock", LOCK_FLAGS | (os.O_CREAT if create else 0), 0o644, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None
        if exc.errno == errno.ELOOP:
            raise Refused("error", "refused: .parentlock is a symbolic link")
        if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
            raise Refused("error", "cannot open .parentlock: another process holds a lease on it")
        raise Refused("error", "cannot open .parentlock: %s" % exc.strerror)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except (IOError, OSError):
        os.close(fd)
        raise Refused("running", "Thunderbird started with this profile")
    return fd


def check_guards(dir_fd, writes, uid=None, max_bytes=MAX_FILE_BYTES):
    """Current stat of each file to write, after checking every guard
    (same size and bytes as collect saw, still owned by the profile's user)."""
    current = {}
    for write in writes:
        name = write["rel"]
        if name not in ALLOWED:
            raise Refused("error", "refusing to write %r: not a file this collection manages" % name)
        expected = write.get("expect_sha256")
        if expected is None:
            limit = 0  # a new file: one already there is a conflict, whatever its size
        elif write.get("expect_size") is not None:
            limit = write["expect_size"]
        else:
            limit = max_bytes
        try:
            data, st = read_current(dir_fd, name, limit)
        except UnexpectedSize:
            data, st = b"", None
            expected = "a file of another size"
        actual = hashlib.sha256(data).hexdigest() if data is not None else None
        if actual != expected:
            raise Refused("conflict", "%s changed since it was read; nothing written, run again" % name)
        if st is not None and uid is not None and st.st_uid != uid:
            raise Refused("error", "%s is now owned by uid %d, not by the profile's user (uid %d); "
                          "nothing written" % (name, st.st_uid, uid))
        current[name] = (data, st)
    return current


def refuse_append_only(dir_fd):
    """In an append-only (chattr +a) or immutable folder a temp file could be
    made but never renamed or removed: nothing is written there."""
    try:
        flags = struct.unpack("i", fcntl.ioctl(dir_fd, _FS_IOC_GETFLAGS, b"\0" * 8)[:4])[0]
    except (IOError, OSError):
        return
    if flags & (_FS_APPEND_FL | _FS_IMMUTABLE_FL):
        raise Refused("error", "the profile folder is append-only or immutable (chattr +a or +i); "
                      "nothing written")


def profile_location(entry):
    """(base, parts): walk from the home when the profile lies below it, so
    that no component below the home can be a symlink."""
    path = entry["path"].rstrip("/")
    home = (entry.get("home") or "").rstrip("/")
    if entry.get("home") and path.startswith(home + "/"):
        return home or "/", tuple(p for p in path[len(home) + 1:].split("/") if p)
    parent, name = os.path.split(path)
    return parent, (name,)


def remove_stale_temps(dir_fd):
    """Temp files of a run that was killed (kill -9, power cut): their
    process is gone. A live process's temp file is left alone."""
    for name in os.listdir(dir_fd):
        match = _TEMP.match(name)
        if match and not process_alive(int(match.group(1))):
            discard(dir_fd, [name])


def process_alive(pid):
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno != errno.ESRCH
    return True


def temp_name(name):
    return ".%s.rectorat-%d.tmp" % (name, os.getpid())


def apply_writes(dir_fd, writes, current, profile_owner, backup, stamp, result):
    """Write every backup and every new file in full before the first rename,
    so that a failure (disk full, read-only, a group the user cannot keep...)
    leaves the profile as it was: what this run made is removed, and a file
    already replaced gets its old bytes back."""
    made, staged, renamed = [], [], []
    try:
        for write in writes:
            rel = write["rel"]
            data, st = current[rel]
            owner = (st.st_uid, st.st_gid) if st else profile_owner
            mode = stat.S_IMODE(st.st_mode) if st else 0o600
            if backup and data is not None:
                backup_name = "%s.%s.bak" % (rel, stamp)
                if place_backup(dir_fd, backup_name, data, owner, mode):
                    made.append(backup_name)
                result["backups"].append(backup_name)
            tmp = temp_name(rel)
            write_new(dir_fd, tmp, base64.b64decode(write["b64"]), owner[0], owner[1], mode)
            made.append(tmp)
            staged.append((tmp, rel))
        for tmp, rel in staged:
            os.rename(tmp, rel, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            made.remove(tmp)
            renamed.append(rel)
        os.fsync(dir_fd)
    except BaseException:
        restored = put_back(dir_fd, renamed, current)
        discard(dir_fd, [name for name in made if restored or not name.endswith(".bak")])
        if not restored:
            raise Refused("error", "writing failed after %s had been replaced, and putting the old "
                          "bytes back failed too; the backups hold them" % ", ".join(renamed))
        result["backups"] = []
        raise
    result["written"] = renamed


def place_backup(dir_fd, name, data, owner, mode):
    """Write the backup under a temp name and rename it into place, so that
    the name never holds part of a file (a kill -9 mid-write leaves only a
    temp file). A backup of that name already there, left by a run killed
    earlier in the same second, is kept if it holds these very bytes.
    True when this run made the backup."""
    try:
        existing = read_current(dir_fd, name, len(data))[0]
    except UnexpectedSize:
        raise Refused("error", "%s already exists and holds other bytes; nothing written, "
                      "run again" % name)
    if existing is not None:
        if existing == data:
            return False
        raise Refused("error", "%s already exists and holds other bytes; nothing written, "
                      "run again" % name)
    tmp = temp_name(name)
    write_new(dir_fd, tmp, data, owner[0], owner[1], mode)
    try:
        os.rename(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        discard(dir_fd, [tmp])
        raise
    return True


def put_back(dir_fd, names, current):
    """Give each of ``names`` its old bytes again; False if any could not be."""
    ok = True
    for name in names:
        data, st = current[name]
        try:
            if data is None:
                os.unlink(name, dir_fd=dir_fd)
                continue
            tmp = temp_name(name)
            write_new(dir_fd, tmp, data, st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode))
            os.rename(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except OSError:
            ok = False
    return ok


def discard(dir_fd, names):
    for name in names:
        try:
            os.unlink(name, dir_fd=dir_fd)
        except OSError:
            pass


def commit_profile(entry, backup, stamp, max_bytes):
    """One profile's outcome; whatever goes wrong (MemoryError included)
    stays in this profile."""
    result = {"path": entry["path"], "status": "written", "error": None, "written": [], "backups": []}
    try:
        write_profile(entry, backup, stamp, max_bytes, result)
    except Refused as exc:
        result.update(status=exc.status, error=str(exc))
    except (SymlinkInPath, ForeignOwner) as exc:
        result.update(status="error", error=refusal_message(exc))
    except OSError as exc:
        result.update(status="error", error="%s: %s" % (exc.filename or entry["path"], exc.strerror))
    except Exception as exc:  # pylint: disable=broad-except
        result.update(status="error", error="nothing written: %s: %s" % (type(exc).__name__, exc))
    if result["status"] != "written":
        result.update(written=[], backups=[])
    return result


def refusal_message(exc):
    if isinstance(exc, SymlinkInPath):
        return "refused: %s is a symbolic link" % exc.component
    return str(exc)


def write_profile(entry, backup, stamp, max_bytes, result):
    """As the profile's user (never as root below a folder root does not
    own): lock, guards, then the writes."""
    parent, parts = profile_location(entry)
    uid, gid = entry.get("uid"), entry.get("gid")
    with EffectiveUser(uid, gid):
        dir_fd = open_dir_below(parent, parts, uid if uid is not None else 0)
        lock_fd = None
        try:
            lock_fd = hold_profile_lock(dir_fd)
            current = check_guards(dir_fd, entry["writes"], uid, max_bytes)
            refuse_append_only(dir_fd)
            remove_stale_temps(dir_fd)
            apply_writes(dir_fd, entry["writes"], current, (uid, gid), backup, stamp, result)
        finally:
            if lock_fd is not None:
                os.close(lock_fd)
            os.close(dir_fd)


def commit(request):
    max_bytes = request.get("max_file_bytes") or MAX_FILE_BYTES
    return {"protocol": PROTOCOL,
            "profiles": [commit_profile(entry, request.get("backup", True), request["stamp"], max_bytes)
                         for entry in request.get("profiles", [])]}
