# -*- coding: utf-8 -*-
"""Python twin of collect.ps1 and commit.ps1, run on a Windows-shaped tree.

PowerShell cannot run here, so the tests run this twin instead, through a
fake Windows connection (connection_plugins/fakewin.py). Each method of
``Twin`` is the function of the same name in the scripts (``Get-ChildEntry``
is ``get_child_entry``; test_windows_scripts.py checks that none is missing)
and does what that function does, step for step, with the .NET calls
emulated on this file system:

- a folder ``base`` stands for the computer: ``base/C/...`` is ``C:\\...``,
  ``base/UNC/srv/share/...`` is ``\\\\srv\\share\\...``;
- names match without regard to case, as on NTFS (``GetFileSystemInfos``);
- a symbolic link stands for a reparse point (junction or symbolic link);
- "another process holds parent.lock open, sharing nothing" is an flock held
  on it by another process; an exclusive open is an flock(LOCK_EX|LOCK_NB);
- ``[IO.File]::Replace`` keeps the replaced file's ACL: here, its mode;
- ``base/registry.json`` holds the registry values the scripts read:
  ``{"ProfileList": [{"sid", "ProfileImagePath", "account"}],
  "HKU": {sid: {"AppData": value}}}`` ("account" is what translating the SID
  gives, null when that fails; a SID under "HKU" is a loaded hive).
"""

import base64
import errno
import fcntl
import hashlib
import json
import os
import re
import stat

PROTOCOL = 1
PROFILE_FILES = ("prefs.js", "user.js", "folderCache.json", "compatibility.ini")
ROOT_FILES = ("profiles.ini", "installs.ini")
STORE_DIRS = ("ImapMail", "Mail")
MAX_TREE_ENTRIES = 200000
DEFAULT_MAX_FILE_BYTES = 16777216
NOT_USER_FOLDERS = ("public", "default", "default user", "all users")
ALLOWED = ("prefs.js", "user.js", "folderCache.json")
ENV = {"systemdrive": "C:", "systemroot": "C:\\Windows"}


class Refusal(Exception):
    def __init__(self, status, message):
        Exception.__init__(self, message)
        self.status = status


class Info:
    """What a FileSystemInfo tells."""

    def __init__(self, full, name, host):
        st = os.lstat(host)
        self.full = full
        self.name = name
        self.host = host
        self.reparse = stat.S_ISLNK(st.st_mode)
        self.is_dir = os.path.isdir(host) if self.reparse else stat.S_ISDIR(st.st_mode)
        self.length = 0 if self.reparse or self.is_dir else st.st_size
        self.mtime = st.st_mtime


def expand(value, env=None):
    """[Environment]::ExpandEnvironmentVariables: %NAME% → value, unknown kept."""
    env = dict(ENV, **(env or {}))
    return re.sub(r"%([^%]+)%", lambda m: env.get(m.group(1).lower(), m.group(0)), value)


class Twin:
    def __init__(self, base):
        self.base = os.path.abspath(base)

    # -- the computer ------------------------------------------------------

    def host_path(self, path):
        """Host path of a Windows path, each component matched without regard
        to case; components that do not exist are kept as given."""
        path = path.replace("/", "\\")
        if path.startswith("\\\\"):
            parts = ["UNC"] + [p for p in path[2:].split("\\") if p]
        elif re.match(r"^[A-Za-z]:", path):
            parts = [path[0].upper()] + [p for p in path[2:].split("\\") if p]
        else:
            raise OSError(errno.EINVAL, "not an absolute Windows path: %s" % path)
        host = self.base
        for part in parts:
            if part in (".", ".."):
                raise OSError(errno.EINVAL, "relative component in %s" % path)
            host = os.path.join(host, self.disk_name(host, part) or part)
        return host

    @staticmethod
    def disk_name(host_dir, name):
        try:
            names = os.listdir(host_dir)
        except OSError:
            return None
        if name in names:
            return name
        for candidate in sorted(names):
            if candidate.lower() == name.lower():
                return candidate
        return None

    def registry(self):
        try:
            with open(os.path.join(self.base, "registry.json")) as f:
                return json.load(f)
        except IOError:
            return None

    # -- helpers shared by both scripts -------------------------------------

    @staticmethod
    def get_inner_exception(exc):
        return exc

    @staticmethod
    def get_field(mapping, name):
        return mapping.get(name) if mapping is not None else None

    @staticmethod
    def join_native(folder, rel):
        return folder.rstrip("\\") + "\\" + rel.replace("/", "\\")

    @staticmethod
    def convert_to_unix_time(mtime):
        return mtime

    @staticmethod
    def test_reparse_point(info):
        return info.reparse

    @staticmethod
    def test_sharing_violation(exc):
        return isinstance(exc, BlockingIOError)

    def get_child_entry(self, folder, name):
        if "*" in name or "?" in name:
            return None
        host_dir = self.host_path(folder)
        if folder.startswith("\\\\") and not os.path.isdir(self.host_path("\\".join(folder.split("\\")[:4]))):
            raise OSError(errno.ENOENT, "The network path was not found")
        if not os.path.exists(host_dir):
            return None
        if not os.path.isdir(host_dir):
            raise OSError(errno.ENOTDIR, "The directory name is invalid: %s" % folder)
        disk = self.disk_name(host_dir, name)
        if disk is None:
            return None
        return Info(folder.rstrip("\\") + "\\" + disk, disk, os.path.join(host_dir, disk))

    @staticmethod
    def read_raw_file(info_or_host, limit=None):
        with open(info_or_host, "rb") as f:
            return f.read() if limit is None else f.read(limit + 1)

    @staticmethod
    def get_sha256_hex(data):
        return hashlib.sha256(data).hexdigest()

    # -- collect.ps1 ---------------------------------------------------------

    def get_file_record(self, folder, name, max_bytes):
        info = self.get_child_entry(folder, name)
        if info is None:
            return None
        record = {"size": 0, "uid": None, "gid": None, "mode": None, "error": None,
                  "mtime": self.convert_to_unix_time(info.mtime)}
        if self.test_reparse_point(info):
            record["error"] = "%s is a symbolic link" % name
            return record
        if info.is_dir:
            record["error"] = "%s is not a regular file" % name
            return record
        record["size"] = info.length
        if info.length > max_bytes:
            record["error"] = "%s is too large (%d bytes, limit %d)" % (name, info.length, max_bytes)
            return record
        try:
            data = self.read_raw_file(info.host, max_bytes)
        except OSError as exc:
            record["error"] = "cannot read %s: %s" % (name, exc.strerror)
            return record
        if len(data) > max_bytes:
            record["error"] = "%s is too large (limit %d bytes)" % (name, max_bytes)
            return record
        record["size"] = len(data)
        record["sha256"] = self.get_sha256_hex(data)
        record["b64"] = base64.b64encode(data).decode("ascii")
        return record

    def test_profile_lock(self, folder):
        lock = self.get_child_entry(folder, "parent.lock")
        if lock is None:
            return {"running": False, "error": None}
        if self.test_reparse_point(lock):
            return {"running": True, "error": "parent.lock is a symbolic link"}
        try:
            fd = os.open(lock.host, os.O_RDWR)
        except FileNotFoundError:
            return {"running": False, "error": None}
        except OSError as exc:
            return {"running": True, "error": "cannot test parent.lock: %s" % exc.strerror}
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            if self.test_sharing_violation(exc):
                return {"running": True, "error": None}
        finally:
            os.close(fd)
        return {"running": False, "error": None}

    def add_tree_entry(self, profile_dir, top, entries, errors):
        top_info = self.get_child_entry(profile_dir, top)
        if top_info is None:
            return
        if self.test_reparse_point(top_info):
            errors.append("cannot open %s: it is a symbolic link" % top_info.name)
            return
        if not top_info.is_dir:
            errors.append("cannot open %s: not a folder" % top_info.name)
            return
        stack = [(top_info.name, top_info.full)]
        while stack:
            rel, full = stack.pop()
            try:
                host = self.host_path(full)
                children = [Info(full + "\\" + n, n, os.path.join(host, n)) for n in os.listdir(host)]
            except OSError as exc:
                errors.append("cannot list %s: %s" % (rel, exc.strerror))
                continue
            subdirs = []
            for child in sorted(children, key=lambda c: c.name.lower()):
                child_rel = rel + "/" + child.name
                kind, size = "file", 0
                if self.test_reparse_point(child):
                    kind = "link"
                elif child.is_dir:
                    kind = "dir"
                else:
                    size = child.length
                entries.append({"rel": child_rel, "type": kind, "size": size, "uid": None,
                                "mtime": self.convert_to_unix_time(child.mtime)})
                if kind == "dir":
                    subdirs.append((child_rel, child.full))
                if len(entries) > MAX_TREE_ENTRIES:
                    errors.append("more than %d files below the profile; listing stopped" % MAX_TREE_ENTRIES)
                    return
            stack.extend(reversed(subdirs))

    def get_msf_record(self, profile_dir, tree, cache_record, max_bytes):
        cache_time = None
        if cache_record is not None and cache_record["error"] is None:
            cache_time = cache_record["mtime"]
        out = {}
        for entry in tree:
            rel = entry["rel"]
            if entry["type"] != "file" or not rel.lower().startswith("imapmail/") or not rel.lower().endswith(".msf"):
                continue
            if cache_time is not None and entry["mtime"] <= cache_time:
                continue
            folder, name = rel.rsplit("/", 1)
            out[rel] = self.get_file_record(self.join_native(profile_dir, folder), name, max_bytes)
        return out

    def resolve_below(self, base, parts):
        path = base.rstrip("\\")
        walked = []
        for part in parts:
            info = self.get_child_entry(path, part)
            if info is None:
                return {"path": None, "symlink": None}
            walked.append(info.name)
            if self.test_reparse_point(info):
                return {"path": None, "symlink": "/".join(walked)}
            if not info.is_dir:
                return {"path": None, "symlink": None}
            path = path + "\\" + info.name
        return {"path": path, "symlink": None}

    def get_profile_snapshot(self, base, parts, root, owner, explicit, max_bytes, redirected):
        snapshot = {
            "path": self.join_native(base, "\\".join(parts)), "home": base, "root": root,
            "user": owner["user"], "sid": owner["sid"], "uid": None, "gid": None, "explicit": explicit,
            "running": False, "lock_error": None, "symlink": None, "redirected": redirected,
            "files": {}, "tree": [], "msf": {}, "error": None,
        }
        where = self.resolve_below(base, parts)
        if where["symlink"] is not None:
            snapshot["symlink"] = where["symlink"]
            return snapshot
        if where["path"] is None:
            snapshot["error"] = "cannot open profile folder: not found"
            return snapshot
        snapshot["path"] = where["path"]
        try:
            lock = self.test_profile_lock(where["path"])
            snapshot["running"] = lock["running"]
            snapshot["lock_error"] = lock["error"]
            for name in PROFILE_FILES:
                snapshot["files"][name] = self.get_file_record(where["path"], name, max_bytes)
            tree_errors = []
            for top in STORE_DIRS:
                self.add_tree_entry(where["path"], top, snapshot["tree"], tree_errors)
            if tree_errors:
                snapshot["tree_errors"] = tree_errors
            snapshot["msf"] = self.get_msf_record(where["path"], snapshot["tree"],
                                                  snapshot["files"]["folderCache.json"], max_bytes)
        except OSError as exc:
            snapshot["error"] = "cannot read profile folder: %s" % exc.strerror
        return snapshot

    def test_has_pref(self, folder):
        if self.test_reparse_point(folder):
            return os.path.isfile(os.path.join(folder.host, "prefs.js"))
        prefs = self.get_child_entry(folder.full, "prefs.js")
        return prefs is not None and not (prefs.is_dir and not self.test_reparse_point(prefs))

    def get_candidate_profile(self, root_dir):
        found = []
        dirs = [(root_dir, "")]
        profiles_dir = self.get_child_entry(root_dir, "Profiles")
        if profiles_dir is not None and profiles_dir.is_dir and not self.test_reparse_point(profiles_dir):
            dirs.append((profiles_dir.full, profiles_dir.name + "/"))
        for folder, prefix in dirs:
            try:
                host = self.host_path(folder)
                children = [Info(folder + "\\" + n, n, os.path.join(host, n)) for n in os.listdir(host)]
            except OSError:
                continue
            for child in sorted((c for c in children if c.is_dir), key=lambda c: c.name.lower()):
                if self.test_has_pref(child):
                    found.append(prefix + child.name)
        return found

    def add_root(self, base, rel, kind, owner, max_bytes, redirected, roots, profiles):
        parts = [p for p in re.split(r"[/\\]", rel) if p]
        where = self.resolve_below(base, parts)
        if where["symlink"] is not None:
            roots.append({"path": self.join_native(base, "\\".join(parts)), "user": owner["user"],
                          "sid": owner["sid"], "uid": None, "gid": None, "home": base, "kind": kind,
                          "redirected": redirected, "files": {}, "symlink": where["symlink"]})
            return
        if where["path"] is None:
            return
        files = dict((name, self.get_file_record(where["path"], name, max_bytes)) for name in ROOT_FILES)
        children = self.get_candidate_profile(where["path"])
        roots.append({"path": where["path"], "user": owner["user"], "sid": owner["sid"], "uid": None,
                      "gid": None, "home": base, "kind": kind, "redirected": redirected, "files": files,
                      "symlink": None})
        for child in children:
            profiles.append(self.get_profile_snapshot(base, parts + child.split("/"), where["path"], owner,
                                                      False, max_bytes, redirected))

    def resolve_account_name(self, sid):
        for entry in (self.registry() or {}).get("ProfileList", []):
            if entry["sid"] == re.sub(r"\.bak$", "", sid):
                return entry.get("account")
        return None

    def get_app_data_folder(self, sid, user_home, user_name):
        if not sid:
            return None
        raw = (self.registry() or {}).get("HKU", {}).get(sid, {}).get("AppData")
        if not raw:
            return None
        value = re.sub("%USERPROFILE%", lambda m: user_home, raw, flags=re.I)
        value = re.sub("%USERNAME%", lambda m: user_name, value, flags=re.I)
        return expand(value).rstrip("\\")

    def get_user_home(self, errors):
        users = []
        seen = set()
        registry = self.registry()
        keys = registry.get("ProfileList", []) if registry else []
        for key in keys:
            sid = key["sid"]
            if not re.match(r"^S-1-(5-21|12-1)-", sid):
                continue
            raw = key.get("ProfileImagePath")
            if not raw:
                continue
            user_home = expand(raw).rstrip("\\")
            if user_home.lower() in seen:
                continue
            seen.add(user_home.lower())
            account = self.resolve_account_name(sid)
            name = user_home.rsplit("\\", 1)[-1]
            if account:
                name = account.rsplit("\\", 1)[-1]
            users.append({"user": name, "account": account, "sid": sid, "home": user_home,
                          "appdata": self.get_app_data_folder(sid, user_home, name)})
        if users:
            return users
        users_dir = ENV["systemdrive"] + "\\Users"
        try:
            host = self.host_path(users_dir)
            folders = [Info(users_dir + "\\" + n, n, os.path.join(host, n)) for n in sorted(os.listdir(host))]
        except OSError as exc:
            errors.append("cannot list %s: %s" % (users_dir, exc.strerror))
            return users
        for folder in folders:
            if not folder.is_dir or self.test_reparse_point(folder) or folder.name.lower() in NOT_USER_FOLDERS:
                continue
            users.append({"user": folder.name, "account": None, "sid": None, "home": folder.full, "appdata": None})
        return users

    @staticmethod
    def select_user(users, names, errors):
        if names is None:
            return users
        picked = []
        for name in names:
            matched = False
            for user in users:
                leaf = user["home"].rsplit("\\", 1)[-1]
                if name.lower() in (user["user"].lower(), (user["account"] or "").lower(), leaf.lower()):
                    matched = True
                    if not any(p is user for p in picked):
                        picked.append(user)
            if not matched:
                errors.append("no local user named %s" % name)
        return picked

    @staticmethod
    def test_below(path, folder):
        return path.lower().startswith(folder.rstrip("\\").lower() + "\\")

    def add_user_root(self, user, candidates, max_bytes, roots, profiles, errors):
        owner = {"user": user["user"], "sid": user["sid"]}
        roaming = self.join_native(user["home"], "AppData\\Roaming")
        for candidate in candidates:
            rel, kind = candidate["rel"], candidate["kind"]
            base, redirected = user["home"], False
            if re.match(r"^AppData[/\\]Roaming([/\\]|$)", rel, re.I) and user["appdata"] \
                    and user["appdata"].lower() != roaming.lower():
                base = user["appdata"]
                rel = rel[len("AppData/Roaming"):]
                redirected = base.startswith("\\\\")
            try:
                self.add_root(base, rel, kind, owner, max_bytes, redirected, roots, profiles)
            except OSError as exc:
                if redirected:
                    errors.append("%s: AppData is redirected to the network share %s, which this session "
                                  "cannot read: %s" % (user["user"], base, exc.strerror))
                else:
                    errors.append("%s: cannot read %s: %s" % (user["user"], self.join_native(base, rel), exc.strerror))

    def add_explicit(self, path, users, max_bytes, roots, profiles, errors):
        native = path.replace("/", "\\")
        if not (re.match(r"^[A-Za-z]:\\", native) or native.startswith("\\\\")):
            errors.append("%s is not an absolute Windows path" % path)
            return
        native = native.rstrip("\\")
        parent, name = native.rsplit("\\", 1)
        info = self.get_child_entry(parent, name)
        if info is None:
            errors.append("%s: not found" % native)
            return
        if self.test_reparse_point(info):
            errors.append("%s is a symbolic link; give the real folder" % native)
            return
        if not info.is_dir:
            errors.append("%s is not a folder" % native)
            return
        owner = {"user": None, "sid": None}
        for user in users:
            if self.test_below(native, user["home"]):
                owner = {"user": user["user"], "sid": user["sid"]}
        ini = self.get_child_entry(info.full, "profiles.ini")
        prefs = self.get_child_entry(info.full, "prefs.js")
        if ini is not None and not ini.is_dir and prefs is None:
            self.add_root(parent, info.name, "explicit", owner, max_bytes, False, roots, profiles)
        elif prefs is not None:
            profiles.append(self.get_profile_snapshot(parent, [info.name], None, owner, True, max_bytes, False))
        else:
            errors.append("%s holds neither prefs.js nor profiles.ini" % native)

    def invoke_collect(self, request):
        max_bytes = DEFAULT_MAX_FILE_BYTES
        if self.get_field(request, "max_file_bytes"):
            max_bytes = int(request["max_file_bytes"])
        errors, roots, profiles = [], [], []
        response = {"protocol": PROTOCOL, "os": "windows", "sep": "\\", "errors": errors,
                    "roots": roots, "profiles": profiles}
        users = self.get_user_home(errors)
        paths = self.get_field(request, "profiles") or []
        if paths:
            for path in paths:
                try:
                    self.add_explicit(path, users, max_bytes, roots, profiles, errors)
                except OSError as exc:
                    errors.append("%s: %s" % (path, exc.strerror))
            return response
        candidates = self.get_field(request, "root_candidates") or []
        for user in self.select_user(users, self.get_field(request, "users"), errors):
            self.add_user_root(user, candidates, max_bytes, roots, profiles, errors)
        return response

    # -- commit.ps1 ----------------------------------------------------------

    @staticmethod
    def new_refusal(status, message):
        return Refusal(status, message)

    def resolve_profile_folder(self, entry):
        path = (entry.get("path") or "").rstrip("\\")
        base = (entry.get("home") or "").rstrip("\\")
        if base and path.lower().startswith(base.lower() + "\\"):
            parts = path[len(base) + 1:].split("\\")
        else:
            base, last = path.rsplit("\\", 1)
            parts = [last]
        current = base
        walked = []
        for part in parts:
            if not part:
                continue
            info = self.get_child_entry(current, part)
            if info is None:
                raise self.new_refusal("error", "%s: profile folder not found" % path)
            walked.append(info.name)
            if self.test_reparse_point(info):
                raise self.new_refusal("error", "refused: %s is a symbolic link" % "/".join(walked))
            if not info.is_dir:
                raise self.new_refusal("error", "%s: not a folder" % path)
            current = current + "\\" + info.name
        return current

    def open_profile_lock(self, folder):
        existing = self.get_child_entry(folder, "parent.lock")
        if existing is not None and self.test_reparse_point(existing):
            raise self.new_refusal("error", "parent.lock is a symbolic link")
        host = os.path.join(self.host_path(folder), existing.name if existing else "parent.lock")
        try:
            fd = os.open(host, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise self.new_refusal("error", "cannot open parent.lock: %s" % exc.strerror)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            os.close(fd)
            if self.test_sharing_violation(exc):
                raise self.new_refusal("running", "Thunderbird started with this profile")
        return DeleteOnClose(fd, host)

    def test_guard(self, folder, writes):
        current = {}
        for write in writes:
            name = write["rel"]
            if name.lower() not in [a.lower() for a in ALLOWED]:
                raise self.new_refusal("error", "refusing to write '%s': not a file this collection manages" % name)
            info = self.get_child_entry(folder, name)
            data = actual = None
            if info is not None:
                if self.test_reparse_point(info):
                    raise self.new_refusal("error", "%s is a symbolic link" % name)
                if info.is_dir:
                    raise self.new_refusal("error", "%s is not a regular file" % name)
                data = self.read_raw_file(info.host)
                actual = self.get_sha256_hex(data)
            if actual != write.get("expect_sha256"):
                raise self.new_refusal("conflict", "%s changed since it was read; nothing written, run again" % name)
            current[name] = {"exists": info is not None, "data": data}
        return current

    def write_new_file(self, path, data):
        host = self.host_path(path)
        fd = os.open(host, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666 & ~self.umask())
        try:
            os.write(fd, data)
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            os.unlink(host)
            raise
        os.close(fd)

    @staticmethod
    def umask():
        mask = os.umask(0)
        os.umask(mask)
        return mask

    def replace_file(self, source, target):
        """[IO.File]::Replace(source, target, null): the target keeps its ACL."""
        host_source, host_target = self.host_path(source), self.host_path(target)
        os.chmod(host_source, stat.S_IMODE(os.stat(host_target).st_mode))
        os.replace(host_source, host_target)

    def move_file(self, source, target):
        """[IO.File]::Move: fails when the target exists."""
        host_source, host_target = self.host_path(source), self.host_path(target)
        os.link(host_source, host_target)
        os.unlink(host_source)

    def invoke_profile_commit(self, entry, backup, stamp):
        result = {"path": entry.get("path"), "status": "written", "error": None, "written": [], "backups": []}
        lock = None
        temps = {}
        swapped = False
        folder = None
        try:
            folder = self.resolve_profile_folder(entry)
            lock = self.open_profile_lock(folder)
            writes = entry.get("writes") or []
            current = self.test_guard(folder, writes)
            for write in writes:
                name = write["rel"]
                state = current[name]
                if backup and state["exists"]:
                    backup_name = "%s.%s.bak" % (name, stamp)
                    self.write_new_file(folder + "\\" + backup_name, state["data"])
                    result["backups"].append(backup_name)
                tmp = "%s\\.%s.rectorat-%d.tmp" % (folder, name, os.getpid())
                self.write_new_file(tmp, base64.b64decode(write["b64"]))
                temps[name] = tmp
            swapped = True
            for write in writes:
                name = write["rel"]
                if current[name]["exists"]:
                    self.replace_file(temps[name], folder + "\\" + name)
                else:
                    self.move_file(temps[name], folder + "\\" + name)
                del temps[name]
                result["written"].append(name)
        except (Refusal, OSError) as exc:
            if isinstance(exc, Refusal):
                result.update(status=exc.status, error=str(exc))
            else:
                result.update(status="error", error=exc.strerror or str(exc))
            if not swapped:
                for backup_name in result["backups"]:
                    if os.path.exists(self.host_path(folder + "\\" + backup_name)):
                        os.unlink(self.host_path(folder + "\\" + backup_name))
                del result["backups"][:]
        finally:
            for tmp in temps.values():
                if os.path.exists(self.host_path(tmp)):
                    os.unlink(self.host_path(tmp))
            if lock is not None:
                lock.dispose()
        return result

    def invoke_commit(self, request):
        backup = True
        if self.get_field(request, "backup") is not None:
            backup = bool(request["backup"])
        stamp = str(self.get_field(request, "stamp"))
        results = [self.invoke_profile_commit(entry, backup, stamp)
                   for entry in (self.get_field(request, "profiles") or []) if entry is not None]
        return {"protocol": PROTOCOL, "profiles": results}


class DeleteOnClose:
    """The FileStream of parent.lock opened with FileOptions.DeleteOnClose."""

    def __init__(self, fd, host):
        self.fd, self.host = fd, host

    def dispose(self):
        try:
            os.unlink(self.host)
        finally:
            os.close(self.fd)


def run_script(base, name, request):
    """What running collect.ps1 or commit.ps1 on the computer ``base`` answers."""
    twin = Twin(base)
    try:
        if name == "collect":
            return twin.invoke_collect(request)
        return twin.invoke_commit(request)
    except Exception as exc:  # the scripts' top-level catch
        return {"protocol": PROTOCOL, "fatal": "%s.ps1: %s" % (name, exc)}
