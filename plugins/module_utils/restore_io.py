# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Restore I/O on POSIX hosts: put an archive of thunderbird_backup into a
user's Thunderbird folder.

The whole archive is verified first (manifest, every member's name, type,
size, CRC and SHA-256); nothing is written before that passed. Files are
then extracted, as the user, into a temp folder beside the target, and the
folder is renamed into place; profiles.ini and installs.ini are replaced
atomically. The decisions are in restore.py and backup.py.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import hashlib
import os
import re
import shutil
import stat
import time
import zipfile
import zlib

from ansible_collections.rectorat.thunderbird.plugins.module_utils import backup as bk
from ansible_collections.rectorat.thunderbird.plugins.module_utils import restore as rs
from ansible_collections.rectorat.thunderbird.plugins.module_utils.archive_io import (
    Refused, list_profile, member_chunks, read_small, write_file_atomic)
from ansible_collections.rectorat.thunderbird.plugins.module_utils.collect import (
    SymlinkInPath, is_locked, open_dir_below)
from ansible_collections.rectorat.thunderbird.plugins.module_utils.commit import (
    EffectiveUser, process_alive, write_all)
from ansible_collections.rectorat.thunderbird.plugins.module_utils.nofollow_dirs_io import open_dirs, steps

ROOT_REL = ".thunderbird"
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_TEMP_DIR = re.compile(r"^\.(.+)\.rectorat-restore-(\d+)\.tmp$")


def open_archive(src):
    """A ZipFile on ``src`` (opened without following a final symlink)."""
    try:
        fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise Refused("error", "refused: %s is a symbolic link" % src)
        raise Refused("error", "cannot open %s: %s" % (src, exc.strerror))
    raw = os.fdopen(fd, "rb")
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        raw.close()
        raise Refused("error", "%s is not a regular file" % src)
    try:
        return zipfile.ZipFile(raw)
    except (zipfile.BadZipfile, zipfile.LargeZipFile, OSError) as exc:
        raw.close()
        raise Refused("error", "%s is not a readable zip: %s" % (src, exc))


def member_kind(info):
    mode = info.external_attr >> 16
    if info.create_system == 3 and mode and stat.S_ISLNK(mode):
        return "link"
    if info.filename.endswith("/"):
        return "dir"
    if info.create_system == 3 and mode and not stat.S_ISREG(mode):
        return "special"
    return "file"


def verify(zf):
    """The manifest, once every member passed; Refused otherwise."""
    try:
        data = zf.read(bk.MANIFEST_MEMBER)
    except KeyError:
        raise Refused("error", "the archive holds no %s: not made by thunderbird_backup" % bk.MANIFEST_MEMBER)
    except (zipfile.BadZipfile, OSError) as exc:
        raise Refused("error", "the manifest cannot be read: %s" % exc)
    try:
        manifest = bk.parse_manifest(data)
    except bk.BadManifest as exc:
        raise Refused("error", str(exc))
    expected = dict((f["path"], f) for f in manifest["files"])
    seen = set()
    for info in zf.infolist():
        name = info.filename
        problem = bk.member_problem(name)
        if problem:
            raise Refused("error", "refused: %s" % problem)
        kind = member_kind(info)
        if kind == "link":
            raise Refused("error", "refused: member %s is a symbolic link" % name)
        if kind == "special":
            raise Refused("error", "refused: member %s is not a regular file" % name)
        if kind == "dir" or name == bk.MANIFEST_MEMBER:
            continue
        want = expected.get(name)
        if want is None:
            raise Refused("error", "member %s is not in the manifest" % name)
        if name in seen:
            raise Refused("error", "member %s is in the archive twice" % name)
        seen.add(name)
        digest, size = hashlib.sha256(), 0
        try:
            for chunk in member_chunks(zf, info):
                digest.update(chunk)
                size += len(chunk)
        except (zipfile.BadZipfile, EOFError, OSError, zlib.error) as exc:
            raise Refused("error", "member %s is damaged: %s" % (name, exc))
        if size != want["size"] or digest.hexdigest() != want["sha256"]:
            raise Refused("error", "member %s does not match the manifest (tampered or damaged)" % name)
    missing = set(expected) - seen
    if missing:
        raise Refused("error", "%d file(s) of the manifest are missing from the archive, e.g. %s"
                      % (len(missing), sorted(missing)[0]))
    for rel in manifest.get("dirs") or []:
        problem = bk.member_problem(rel)
        if problem:
            raise Refused("error", "refused: %s" % problem)
    return manifest


def extract(zf, manifest, target_fd):
    """Every member into the (new, empty) folder ``target_fd``."""
    for rel in manifest.get("dirs") or []:
        os.close(open_dirs(target_fd, steps(rel), create=True))
    modes = {}
    for info in zf.infolist():
        mode = (info.external_attr >> 16) & 0o777
        modes[info.filename] = mode if mode else 0o600
    for entry in manifest["files"]:
        rel = entry["path"]
        parent, _sep, name = rel.rpartition("/")
        dir_fd = open_dirs(target_fd, steps(parent), create=True)
        try:
            fd = os.open(name, _CREATE, modes.get(rel, 0o600) & 0o700 | 0o600, dir_fd=dir_fd)
            try:
                for chunk in member_chunks(zf, rel):
                    write_all(fd, chunk)
                os.fchmod(fd, modes.get(rel, 0o600) & 0o777)
                os.utime(fd, ns=(entry["mtime_ns"], entry["mtime_ns"]))
                os.fsync(fd)
            finally:
                os.close(fd)
        finally:
            os.close(dir_fd)


def remove_stale(root_fd, root_path):
    for name in os.listdir(root_fd):
        match = _TEMP_DIR.match(name)
        if match and not process_alive(int(match.group(2))):
            shutil.rmtree(os.path.join(root_path, name), ignore_errors=True)


def same_as_manifest(root_fd, rel, manifest, uid):
    """True when ``rel`` holds exactly the archived files (size, mtime)."""
    try:
        fd = open_dirs(root_fd, steps(rel))
    except Refused:
        return False
    if fd is None:
        return False
    try:
        files, dirs = list_profile(fd, uid)
    except Refused:
        return False
    finally:
        os.close(fd)
    return bk.unchanged(files, manifest) and dirs == sorted(manifest.get("dirs") or [])


def is_empty(root_fd, rel):
    fd = open_dirs(root_fd, steps(rel))
    if fd is None:
        return True
    try:
        return not [n for n in os.listdir(fd) if not bk.is_excluded(n)]
    finally:
        os.close(fd)


def restore(params, pw_entry, check_mode):
    """Result dict: changed, status, path, name, files, moved_aside, error."""
    src = params["src"]
    uid, gid, home = pw_entry.pw_uid, pw_entry.pw_gid, pw_entry.pw_dir
    zf = open_archive(src)
    try:
        manifest = verify(zf)
        name = params.get("name") or (manifest.get("profile") or {}).get("name") or "restored"
        result = {"changed": False, "status": "unchanged", "name": name, "path": None, "user": pw_entry.pw_name,
                  "files": len(manifest["files"]), "moved_aside": None, "archive": src}
        with EffectiveUser(uid, gid):
            home_fd = open_dir_below(home, ())
            try:
                root_fd = open_dirs(home_fd, [ROOT_REL], create=not check_mode)
            finally:
                os.close(home_fd)
            try:
                root_path = os.path.join(home, ROOT_REL)
                profiles_ini = read_small(root_fd, "profiles.ini", 1 << 20) if root_fd is not None else None
                installs_ini = read_small(root_fd, "installs.ini", 1 << 20) if root_fd is not None else None
                rel = rs.target_folder(profiles_ini, name)
                result["path"] = os.path.join(root_path, *rel.split("/"))
                new_ini, new_installs = rs.registered(profiles_ini, installs_ini, name, rel, params["default"])
                same_files = root_fd is not None and same_as_manifest(root_fd, rel, manifest, uid)
                ini_ok = new_ini == profiles_ini and new_installs == installs_ini
                if same_files and ini_ok:
                    return result
                result.update(changed=True, status="restored" if not same_files else "registered")
                if check_mode:
                    return result
                remove_stale(root_fd, root_path)
                if not same_files:
                    place(zf, manifest, root_fd, root_path, rel, params["force"], result)
                if new_installs is not None and new_installs != installs_ini:
                    write_file_atomic(root_fd, "installs.ini", new_installs, mode=0o644)
                if new_ini != profiles_ini:
                    write_file_atomic(root_fd, "profiles.ini", new_ini, mode=0o644)
                os.fsync(root_fd)
            finally:
                if root_fd is not None:
                    os.close(root_fd)
        return result
    finally:
        zf.close()


def place(zf, manifest, root_fd, root_path, rel, force, result):
    parent, _sep, folder = rel.rpartition("/")
    parent_fd = open_dirs(root_fd, steps(parent), create=True)
    try:
        existing = open_dirs(parent_fd, [folder])
        if existing is not None:
            try:
                locked, problem = is_locked(existing)
                if locked:
                    raise Refused("error", problem or "Thunderbird has %s open" % result["path"])
            finally:
                os.close(existing)
            if not is_empty(parent_fd, folder):
                if not force:
                    raise Refused("error", "%s already holds a profile; use force to set it aside"
                                  % result["path"])
        tmp = ".%s.rectorat-restore-%d.tmp" % (folder, os.getpid())
        os.mkdir(tmp, 0o700, dir_fd=parent_fd)
        try:
            tmp_fd = os.open(tmp, _DIR, dir_fd=parent_fd)
            try:
                extract(zf, manifest, tmp_fd)
                os.fsync(tmp_fd)
            finally:
                os.close(tmp_fd)
            if existing is not None:
                aside = "%s.%s.old" % (folder, time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))
                if is_empty(parent_fd, folder):
                    shutil.rmtree(os.path.join(root_path, rel), ignore_errors=False)
                else:
                    os.rename(folder, aside, src_dir_fd=parent_fd, dst_dir_fd=parent_fd)
                    result["moved_aside"] = os.path.join(os.path.dirname(result["path"]), aside)
            os.rename(tmp, folder, src_dir_fd=parent_fd, dst_dir_fd=parent_fd)
            os.fsync(parent_fd)
        except BaseException:
            shutil.rmtree(os.path.join(root_path, parent, tmp) if parent else os.path.join(root_path, tmp),
                          ignore_errors=True)
            raise
    finally:
        os.close(parent_fd)


def run(params, pw_entry, check_mode):
    try:
        return restore(params, pw_entry, check_mode)
    except Refused as exc:
        return {"changed": False, "status": "error", "error": str(exc), "archive": params["src"]}
    except SymlinkInPath as exc:
        return {"changed": False, "status": "error", "archive": params["src"],
                "error": "refused: %s is a symbolic link" % exc.component}
    except OSError as exc:
        return {"changed": False, "status": "error", "archive": params["src"],
                "error": "%s: %s" % (exc.filename or params["src"], exc.strerror)}
