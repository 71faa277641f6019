# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Collect: a read-only snapshot of a POSIX host's Thunderbird profiles.

Twin of ``collect.ps1`` (Windows); both follow the protocol of docs/design.md.
No Thunderbird logic lives here: only which folders to look in and which
files to read. Every path below a home is opened one component at a time with
O_NOFOLLOW, so a symlink planted by a user is reported, never followed.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import errno
import fcntl
import hashlib
import os
import pwd
import stat

PROTOCOL = 1
PROFILE_FILES = ("prefs.js", "user.js", "folderCache.json", "compatibility.ini", "rectorat-offline.json")
ROOT_FILES = ("profiles.ini", "installs.ini")
STORE_DIRS = ("ImapMail", "Mail")
MAX_TREE_ENTRIES = 200000
DEFAULT_MAX_FILE_BYTES = 16 * 1024 * 1024

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


class SymlinkInPath(Exception):
    def __init__(self, component):
        Exception.__init__(self, component)
        self.component = component


def open_dir_below(base, rel_parts):
    """Open ``base/rel_parts...`` without following any symlink below ``base``.

    Raises SymlinkInPath naming the first component that is a symlink, or
    OSError (ENOENT, ENOTDIR, EACCES...).
    """
    fd = os.open(base, _DIR_FLAGS & ~os.O_NOFOLLOW)
    walked = []
    try:
        for part in rel_parts:
            walked.append(part)
            try:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
                    st = os.stat(part, dir_fd=fd, follow_symlinks=False)
                    if stat.S_ISLNK(st.st_mode):
                        raise SymlinkInPath("/".join(walked))
                raise
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def file_record(dir_fd, name, max_bytes, with_content=True):
    """FILE of the protocol for ``name`` in ``dir_fd``; None when absent."""
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None
        return {"error": "cannot stat %s: %s" % (name, exc.strerror)}
    record = {"size": st.st_size, "uid": st.st_uid, "gid": st.st_gid,
              "mode": stat.S_IMODE(st.st_mode), "mtime": st.st_mtime, "error": None}
    if stat.S_ISLNK(st.st_mode):
        record["error"] = "%s is a symbolic link" % name
        return record
    if not stat.S_ISREG(st.st_mode):
        record["error"] = "%s is not a regular file" % name
        return record
    if not with_content:
        return record
    if st.st_size > max_bytes:
        record["error"] = "%s is too large (%d bytes, limit %d)" % (name, st.st_size, max_bytes)
        return record
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        record["error"] = "cannot open %s: %s" % (name, exc.strerror)
        return record
    try:
        chunks = []
        remaining = max_bytes + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        data = b"".join(chunks)
    except OSError as exc:
        record["error"] = "cannot read %s: %s" % (name, exc.strerror)
        return record
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        record["error"] = "%s is too large (limit %d bytes)" % (name, max_bytes)
        return record
    record["size"] = len(data)
    record["sha256"] = hashlib.sha256(data).hexdigest()
    record["b64"] = base64.b64encode(data).decode("ascii")
    return record


def is_locked(dir_fd):
    """Thunderbird holds an fcntl lock on .parentlock while it runs."""
    try:
        fd = os.open(".parentlock", os.O_RDWR | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return False, None
        if exc.errno == errno.ELOOP:
            return True, ".parentlock is a symbolic link"
        return True, "cannot open .parentlock: %s" % exc.strerror
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except (IOError, OSError) as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES):
            return True, None
        return True, "cannot test .parentlock: %s" % exc.strerror
    finally:
        os.close(fd)
    return False, None


def list_tree(dir_fd, top, entries, errors):
    """Append ENTRY dicts for everything below ``top`` (not following links)."""
    stack = [(top, None)]
    while stack:
        rel, parent_fd = stack.pop()
        try:
            if parent_fd is None:
                fd = os.open(rel, _DIR_FLAGS, dir_fd=dir_fd)
            else:
                fd = os.open(rel.rsplit("/", 1)[-1], _DIR_FLAGS, dir_fd=parent_fd)
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                errors.append("cannot open %s: %s" % (rel, exc.strerror))
            continue
        try:
            names = sorted(os.listdir(fd))
        except OSError as exc:
            errors.append("cannot list %s: %s" % (rel, exc.strerror))
            os.close(fd)
            continue
        subdirs = []
        for name in names:
            child = rel + "/" + name
            try:
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except OSError as exc:
                errors.append("cannot stat %s: %s" % (child, exc.strerror))
                continue
            kind = "dir" if stat.S_ISDIR(st.st_mode) else "link" if stat.S_ISLNK(st.st_mode) else "file"
            entries.append({"rel": child, "type": kind, "size": st.st_size,
                            "mtime": st.st_mtime, "uid": st.st_uid})
            if kind == "dir":
                subdirs.append(child)
            if len(entries) > MAX_TREE_ENTRIES:
                errors.append("more than %d files below the profile; listing stopped" % MAX_TREE_ENTRIES)
                os.close(fd)
                return
        for child in reversed(subdirs):
            stack.append((child, None))
        os.close(fd)


def read_msf_files(dir_fd, tree, cache_record, max_bytes):
    """The msf rule of the protocol: read a .msf below ImapMail/ when
    folderCache.json is absent or older than it."""
    cache_mtime = None
    if cache_record and not cache_record.get("error"):
        cache_mtime = cache_record["mtime"]
    out = {}
    for entry in tree:
        rel = entry["rel"]
        if entry["type"] != "file" or not rel.startswith("ImapMail/") or not rel.endswith(".msf"):
            continue
        if cache_mtime is not None and entry["mtime"] <= cache_mtime:
            continue
        parent, name = rel.rsplit("/", 1)
        try:
            fd = open_dir_below_fd(dir_fd, parent.split("/"))
        except (OSError, SymlinkInPath) as exc:
            out[rel] = {"error": "cannot open folder of %s: %s" % (rel, exc)}
            continue
        try:
            out[rel] = file_record(fd, name, max_bytes)
        finally:
            os.close(fd)
    return out


def open_dir_below_fd(dir_fd, parts):
    fd = os.dup(dir_fd)
    for part in parts:
        try:
            child = os.open(part, _DIR_FLAGS, dir_fd=fd)
        finally:
            os.close(fd)
        fd = child
    return fd


def collect_profile(home, rel_parts, root, owner, explicit, max_bytes):
    path = os.path.join(home, *rel_parts) if rel_parts else home
    profile = {"path": path, "home": home, "root": root, "user": owner["user"], "uid": owner["uid"],
               "gid": owner["gid"], "explicit": explicit, "running": False, "lock_error": None,
               "symlink": None, "files": {}, "tree": [], "msf": {}, "error": None}
    try:
        fd = open_dir_below(home, rel_parts)
    except SymlinkInPath as exc:
        profile["symlink"] = exc.component
        return profile
    except OSError as exc:
        profile["error"] = "cannot open profile folder: %s" % exc.strerror
        return profile
    try:
        st = os.fstat(fd)
        profile["dir_uid"] = st.st_uid
        profile["running"], profile["lock_error"] = is_locked(fd)
        for name in PROFILE_FILES:
            profile["files"][name] = file_record(fd, name, max_bytes)
        errors = []
        for top in STORE_DIRS:
            list_tree(fd, top, profile["tree"], errors)
        if errors:
            profile["tree_errors"] = errors
        profile["msf"] = read_msf_files(fd, profile["tree"], profile["files"]["folderCache.json"], max_bytes)
    finally:
        os.close(fd)
    return profile


def has_prefs(dir_fd, name):
    """A profile folder, or a symlink to one (kept so that it is reported)."""
    try:
        child = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
            return False
        return os.path.isfile(os.path.join("/proc/self/fd/%d" % dir_fd, name, "prefs.js"))
    try:
        st = os.stat("prefs.js", dir_fd=child, follow_symlinks=False)
        return stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)
    except OSError:
        return False
    finally:
        os.close(child)


def candidate_profiles(root_fd):
    """Relative parts of every direct child and Profiles/ child with a prefs.js."""
    found = []
    for prefix in ((), ("Profiles",)):
        try:
            fd = open_dir_below_fd(root_fd, prefix)
        except OSError:
            continue
        try:
            for name in sorted(os.listdir(fd)):
                if has_prefs(fd, name):
                    found.append(prefix + (name,))
        finally:
            os.close(fd)
    return found


def collect_root(home, rel, kind, owner, max_bytes, roots, profiles):
    parts = tuple(p for p in rel.split("/") if p)
    try:
        fd = open_dir_below(home, parts)
    except SymlinkInPath as exc:
        roots.append(dict(owner, path=os.path.join(home, *parts), home=home, kind=kind,
                          redirected=False, files={}, symlink=exc.component))
        return
    except OSError:
        return
    try:
        files = dict((name, file_record(fd, name, max_bytes)) for name in ROOT_FILES)
        children = candidate_profiles(fd)
    finally:
        os.close(fd)
    root_path = os.path.join(home, *parts) if parts else home
    roots.append(dict(owner, path=root_path, home=home, kind=kind, redirected=False,
                      files=files, symlink=None))
    for child in children:
        profiles.append(collect_profile(home, parts + child, root_path, owner, False, max_bytes))


def owner_of(uid, gid):
    try:
        entry = pwd.getpwuid(uid)
        return {"user": entry.pw_name, "uid": uid, "gid": gid}
    except KeyError:
        return {"user": None, "uid": uid, "gid": gid}


def local_users(names, errors):
    """(name, uid, gid, home) of the requested users, or of every user."""
    if names is None:
        seen = set()
        users = []
        for entry in pwd.getpwall():
            if entry.pw_dir in seen or not entry.pw_dir.startswith("/") or entry.pw_dir == "/":
                continue
            seen.add(entry.pw_dir)
            users.append(entry)
        return users
    users = []
    for name in names:
        try:
            users.append(pwd.getpwnam(name))
        except KeyError:
            errors.append("no local user named %s" % name)
    return users


def collect_explicit(path, max_bytes, roots, profiles, errors):
    path = os.path.abspath(path)
    try:
        st = os.lstat(path)
    except OSError as exc:
        errors.append("%s: %s" % (path, exc.strerror))
        return
    if stat.S_ISLNK(st.st_mode):
        errors.append("%s is a symbolic link; give the real folder" % path)
        return
    if not stat.S_ISDIR(st.st_mode):
        errors.append("%s is not a folder" % path)
        return
    owner = owner_of(st.st_uid, st.st_gid)
    parent, name = os.path.split(path.rstrip("/")) if path != "/" else ("/", "")
    if os.path.isfile(os.path.join(path, "profiles.ini")) and not os.path.exists(os.path.join(path, "prefs.js")):
        collect_root(parent, name, "explicit", owner, max_bytes, roots, profiles)
    elif os.path.lexists(os.path.join(path, "prefs.js")):
        profiles.append(collect_profile(parent, (name,), None, owner, True, max_bytes))
    else:
        errors.append("%s holds neither prefs.js nor profiles.ini" % path)


def collect(request):
    """Snapshot of the host, as described by the collect protocol."""
    max_bytes = request.get("max_file_bytes") or DEFAULT_MAX_FILE_BYTES
    response = {"protocol": PROTOCOL, "os": "posix", "sep": "/", "errors": [],
                "roots": [], "profiles": []}
    errors, roots, profiles = response["errors"], response["roots"], response["profiles"]
    if request.get("profiles"):
        for path in request["profiles"]:
            collect_explicit(path, max_bytes, roots, profiles, errors)
        return response
    for user in local_users(request.get("users"), errors):
        owner = {"user": user.pw_name, "uid": user.pw_uid, "gid": user.pw_gid}
        for candidate in request.get("root_candidates", []):
            collect_root(user.pw_dir, candidate["rel"], candidate["kind"], owner,
                         max_bytes, roots, profiles)
    return response
