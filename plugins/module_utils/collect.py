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

from ansible_collections.rectorat.thunderbird.plugins.module_utils import budget as budgets

PROTOCOL = 1
PROFILE_FILES = ("prefs.js", "user.js", "folderCache.json", "compatibility.ini", "rectorat-offline.json")
ROOT_FILES = ("profiles.ini", "installs.ini")
# Entries of a Thunderbird root that are never profiles: a symlink named so is
# not reported as a refused profile.
ROOT_ENTRIES = ROOT_FILES + ("profiles.ini.bak", "Crash Reports", "Pending Pings")
STORE_DIRS = ("ImapMail", "Mail")
MAX_TREE_ENTRIES = 200000
PATH_MAX = 4096
DEFAULT_MAX_FILE_BYTES = budgets.MAX_FILE_BYTES

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
# O_NONBLOCK: a lease another process holds on .parentlock must not stall the
# open for the lease-break time (45 s by default); it fails with EAGAIN.
LOCK_FLAGS = os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


class SymlinkInPath(Exception):
    def __init__(self, component):
        Exception.__init__(self, component)
        self.component = component


class ForeignOwner(Exception):
    """A folder on the way to a profile belongs to neither root nor the profile's user."""

    def __init__(self, component, uid, owner_uid):
        Exception.__init__(self, "refused: %s is owned by uid %d, neither root nor the profile's user "
                                 "(uid %s)" % (component, uid, owner_uid))
        self.component = component


def open_dir_below(base, rel_parts, owner_uid=None):
    """Open ``base/rel_parts...`` one component at a time, following no
    symlink below ``base``. With ``owner_uid``, ``base`` and every folder on
    the way (the last one excepted) must belong to root or to ``owner_uid``.

    Raises SymlinkInPath naming the first component that is a symlink,
    ForeignOwner, or OSError (ENOENT, ENOTDIR, EACCES...).
    """
    fd = os.open(base, _DIR_FLAGS & ~os.O_NOFOLLOW)
    walked = [""] if base == "/" else []
    try:
        for part in rel_parts:
            if owner_uid is not None:
                uid = os.fstat(fd).st_uid
                if uid not in (0, owner_uid):
                    raise ForeignOwner("/".join(walked) or base, uid, owner_uid)
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


def file_record(dir_fd, name, budget, owner_uid=None, with_content=True, single_link=False):
    """FILE of the protocol for ``name`` in ``dir_fd``; None when absent.

    The content is read only from the very file ``lstat`` saw (checked on the
    open descriptor), owned by ``owner_uid`` when given, within the budget,
    and never past the size ``fstat`` gives. ``single_link``: a file with
    other hard links is not read (one file linked many times would be read
    as many times).
    """
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
    record["error"] = content_refusal(name, st, budget, owner_uid, single_link)
    if record["error"]:
        return record
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        record["error"] = "cannot open %s: %s" % (name, exc.strerror)
        return record
    try:
        opened = os.fstat(fd)
        if (opened.st_dev, opened.st_ino) != (st.st_dev, st.st_ino):
            record["error"] = "%s changed while it was being read" % name
            return record
        record["error"] = content_refusal(name, opened, budget, owner_uid, single_link)
        if record["error"]:
            return record
        data = read_at_most(fd, opened.st_size)
    except OSError as exc:
        record["error"] = "cannot read %s: %s" % (name, exc.strerror)
        return record
    finally:
        os.close(fd)
    budget.charge(len(data))
    if len(data) > opened.st_size:
        record["error"] = "%s grew while it was being read" % name
        return record
    record["size"] = len(data)
    record["sha256"] = hashlib.sha256(data).hexdigest()
    record["b64"] = base64.b64encode(data).decode("ascii")
    return record


def content_refusal(name, st, budget, owner_uid, single_link):
    if owner_uid is not None and st.st_uid != owner_uid:
        return "%s is owned by uid %d, not by the profile's user (uid %d); not read" % (
            name, st.st_uid, owner_uid)
    if single_link and st.st_nlink > 1:
        return "%s has %d hard links; not read" % (name, st.st_nlink)
    return budget.refusal(name, st.st_size)


def read_at_most(fd, size):
    """``size`` bytes, plus one to tell a file that grew since fstat."""
    chunks = []
    remaining = size + 1
    while remaining > 0:
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def is_locked(dir_fd):
    """Thunderbird holds an fcntl lock on .parentlock while it runs."""
    try:
        fd = os.open(".parentlock", LOCK_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return False, None
        if exc.errno == errno.ELOOP:
            return True, ".parentlock is a symbolic link"
        if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
            return True, "cannot open .parentlock: another process holds a lease on it"
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
    """Append ENTRY dicts for everything below ``top`` (not following links).

    Each folder is opened from the profile's handle one component at a time,
    so a folder swapped for a symlink mid-listing is refused, not followed.
    """
    stack = [top]
    while stack:
        rel = stack.pop()
        if len(rel.encode("utf-8", "surrogateescape")) >= PATH_MAX:
            errors.append("cannot open %s: %s" % (rel, os.strerror(errno.ENAMETOOLONG)))
            continue
        try:
            fd = open_dir_below_fd(dir_fd, rel.split("/"))
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
        stack.extend(reversed(subdirs))
        os.close(fd)


def read_msf_files(dir_fd, tree, cache_record, budget, owner_uid):
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
            out[rel] = file_record(fd, name, budget, owner_uid, single_link=True)
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


def empty_profile(home, rel_parts, root, owner, explicit):
    path = os.path.join(home, *rel_parts) if rel_parts else home
    return {"path": path, "home": home, "root": root, "user": owner["user"], "uid": owner["uid"],
            "gid": owner["gid"], "explicit": explicit, "running": False, "lock_error": None,
            "symlink": None, "files": {}, "tree": [], "msf": {}, "error": None}


def collect_profile(home, rel_parts, root, owner, explicit, budget):
    """PROFILE of the protocol; whatever goes wrong stays in this profile."""
    profile = empty_profile(home, rel_parts, root, owner, explicit)
    refusal = budget.start_profile()
    if refusal:
        profile["error"] = refusal
        return profile
    try:
        read_profile(profile, home, rel_parts, owner, budget)
    except Exception as exc:  # pylint: disable=broad-except
        profile.update(files={}, tree=[], msf={},
                       error="the profile could not be read: %s: %s" % (type(exc).__name__, exc))
    finally:
        budget.end_profile()
    return profile


def read_profile(profile, home, rel_parts, owner, budget):
    try:
        fd = open_dir_below(home, rel_parts, owner["uid"])
    except SymlinkInPath as exc:
        profile["symlink"] = exc.component
        return
    except ForeignOwner as exc:
        profile["error"] = str(exc)
        return
    except OSError as exc:
        profile["error"] = "cannot open profile folder: %s" % exc.strerror
        return
    try:
        st = os.fstat(fd)
        profile["dir_uid"] = st.st_uid
        profile["running"], profile["lock_error"] = is_locked(fd)
        for name in PROFILE_FILES:
            profile["files"][name] = file_record(fd, name, budget, owner["uid"])
        errors = []
        for top in STORE_DIRS:
            list_tree(fd, top, profile["tree"], errors)
        if errors:
            profile["tree_errors"] = errors
        profile["msf"] = read_msf_files(fd, profile["tree"], profile["files"]["folderCache.json"],
                                        budget, owner["uid"])
    finally:
        os.close(fd)


def has_prefs(dir_fd, name):
    """A profile folder, or a symlink that may stand for one: it is reported
    (and refused), never followed, not even to test what it points to."""
    try:
        child = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno not in (errno.ELOOP, errno.ENOTDIR) or name in ROOT_ENTRIES:
            return False
        try:
            return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
        except OSError:
            return False
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


def collect_root(home, rel, kind, owner, budget, roots, profiles):
    parts = tuple(p for p in rel.split("/") if p)
    root_path = os.path.join(home, *parts) if parts else home
    try:
        fd = open_dir_below(home, parts)
    except SymlinkInPath as exc:
        roots.append(dict(owner, path=root_path, home=home, kind=kind,
                          redirected=False, files={}, symlink=exc.component))
        return
    except OSError:
        return
    try:
        files = dict((name, file_record(fd, name, budget, owner["uid"])) for name in ROOT_FILES)
        children = candidate_profiles(fd)
    finally:
        os.close(fd)
    roots.append(dict(owner, path=root_path, home=home, kind=kind, redirected=False,
                      files=files, symlink=None))
    for child in children:
        profiles.append(collect_profile(home, parts + child, root_path, owner, False, budget))


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


def collect_explicit(path, budget, roots, profiles, errors):
    """An admin-given folder, walked from / like a discovered one: no
    component may be a symlink."""
    path = os.path.abspath(path)
    parts = tuple(p for p in path.split("/") if p)
    try:
        fd = open_dir_below("/", parts)
    except SymlinkInPath as exc:
        errors.append("/%s is a symbolic link; give the real folder" % exc.component)
        return
    except OSError as exc:
        if exc.errno == errno.ENOTDIR:
            errors.append("%s is not a folder" % path)
        else:
            errors.append("%s: %s" % (path, exc.strerror))
        return
    try:
        st = os.fstat(fd)
        prefs_js = entry_mode(fd, "prefs.js")
        profiles_ini = entry_mode(fd, "profiles.ini")
    finally:
        os.close(fd)
    owner = owner_of(st.st_uid, st.st_gid)
    # profiles.ini a symlink: a root, whose profiles.ini is then reported, not read.
    if profiles_ini is not None and (stat.S_ISREG(profiles_ini) or stat.S_ISLNK(profiles_ini)) \
            and prefs_js is None:
        collect_root("/", "/".join(parts), "explicit", owner, budget, roots, profiles)
    elif prefs_js is not None:
        profiles.append(collect_profile("/", parts, None, owner, True, budget))
    else:
        errors.append("%s holds neither prefs.js nor profiles.ini" % path)


def entry_mode(dir_fd, name):
    """st_mode of ``name`` itself (a symlink is not followed), or None."""
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode
    except OSError:
        return None


def collect(request):
    """Snapshot of the host, as described by the collect protocol."""
    budget = budgets.Budget(request)
    response = {"protocol": PROTOCOL, "os": "posix", "sep": "/", "errors": [],
                "roots": [], "profiles": []}
    errors, roots, profiles = response["errors"], response["roots"], response["profiles"]
    if request.get("profiles"):
        for path in request["profiles"]:
            contained(errors, path, collect_explicit, path, budget, roots, profiles, errors)
        return response
    for user in local_users(request.get("users"), errors):
        owner = {"user": user.pw_name, "uid": user.pw_uid, "gid": user.pw_gid}
        for candidate in request.get("root_candidates", []):
            contained(errors, os.path.join(user.pw_dir, candidate["rel"]), collect_root, user.pw_dir,
                      candidate["rel"], candidate["kind"], owner, budget, roots, profiles)
    return response


def contained(errors, where, fn, *args):
    """A failure reading one folder is a host error naming it; the run goes on."""
    try:
        fn(*args)
    except Exception as exc:  # pylint: disable=broad-except
        errors.append("%s could not be read: %s: %s" % (where, type(exc).__name__, exc))
