# -*- coding: utf-8 -*-
"""Python twin of prelude.ps1, collect.ps1 and commit.ps1, run on a
Windows-shaped tree.

PowerShell cannot run here, so the tests run this twin instead, through a
fake Windows connection (connection_plugins/fakewin.py). Each method of
``Twin`` is the function of the same name in the scripts (``Get-ChildEntry``
is ``get_child_entry``; test_windows_scripts.py checks that none is missing)
and follows it line for line. Two layers keep it honest:

- PowerShell 5.1's semantics, where they differ from Python's, are the small
  functions of the first section below, each named after the rule it models
  (``array_subexpression`` is ``@()``, whose Count is 1 over a ``$null``;
  ``emit`` is writing to the pipeline, which unrolls arrays; ``ps_eq`` is a
  case-insensitive ``-eq`` that converts its right side to the left's type).
  The twin calls them wherever the script relies on that rule, so that a
  script line that trips on it fails here too;
- the .NET calls are emulated on this file system, with their Windows
  limits: ``base/C/...`` is ``C:\\...``, ``base/UNC/srv/share/...`` is
  ``\\\\srv\\share\\...``; names match without regard to case; a path of 260
  characters or more is refused unless it has the ``\\\\?\\`` form
  (PathTooLongException of .NET Framework); a ``\\\\?\\`` path reaches the file
  system as written, so one with a double separator (``\\\\?\\D:\\\\x``) is
  refused, as is a name with a control character; a drive-relative path (``D:``) is
  refused, since it means the process' current folder on that drive; a
  symbolic link stands for a reparse point; a file without write permission
  has the ReadOnly attribute; another process holding parent.lock open,
  sharing nothing, is an flock held on it by another process;
  ``[IO.File]::Replace`` keeps the replaced file's ACL (here, its mode) and
  fails on a read-only target;
- ``base/registry.json`` holds the registry values the scripts read:
  ``{"ProfileList": [{"sid", "ProfileImagePath", "account"}],
  "HKU": {sid: {"AppData": value}}}`` ("account" is what translating the SID
  gives, null when that fails; a SID under "HKU" is a loaded hive). The
  twin counts the registry keys left open (``open_keys``);
- ``base/owners.json`` maps a Windows path (lower case) to its owner SID;
  anything not listed is owned by Administrators (S-1-5-32-544). A file the
  scripts create is owned by the account they run as (``RUNNING_ACCOUNT``:
  "Object creator", the default owner policy of Windows client editions),
  a moved file keeps its owner, and ``[IO.File]::Replace`` keeps the
  replaced file's DACL but not its owner (the replacement's stays).
"""

import base64
import decimal
import errno
import fcntl
import hashlib
import json
import os
import re
import stat
import time

PROTOCOL = 1
PROFILE_FILES = ("prefs.js", "user.js", "folderCache.json", "compatibility.ini")
ROOT_FILES = ("profiles.ini", "installs.ini")
STORE_DIRS = ("ImapMail", "Mail")
MAX_TREE_ENTRIES = 200000
DEFAULT_MAX_FILE_BYTES = 16777216
DEFAULT_BUDGET = {"max_profile_bytes": 33554432, "max_run_bytes": 67108864, "max_run_entries": 400000,
                  "max_profiles": 500, "max_seconds": 300}
# The account the scripts run as (the Ansible connection's administrator).
RUNNING_ACCOUNT = "S-1-5-21-9-500"
TRUSTED_OWNERS = ("S-1-5-18", "S-1-5-32-544", RUNNING_ACCOUNT)
DEFAULT_OWNER = "S-1-5-32-544"
NOT_USER_FOLDERS = ("Public", "Default", "Default User", "All Users")
ALLOWED = ("prefs.js", "user.js", "folderCache.json")
TEMP_PATTERN = r"^\.(prefs\.js|user\.js|folderCache\.json)(\.[0-9]{8}T[0-9]{6}Z\.bak|\.old)?\.rectorat-([0-9]{1,9})\.tmp$"
ENV = {"systemdrive": "C:", "systemroot": "C:\\Windows"}
MAX_PATH = 260
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1
DECIMAL_MAX = (1 << 96) - 1
LONG_PREFIX = "\\\\?\\"


# -- PowerShell 5.1 semantics ------------------------------------------------

class Output(tuple):
    """What a function or a pipeline writes: each object, in order."""


def emit(value):
    """``return $value``: writes $value to the pipeline, unrolling an array
    or a list one level (not a dictionary, not a string); an empty array
    writes nothing, and a ``$null`` is written as one object."""
    if isinstance(value, (list, tuple)) and not isinstance(value, Output):
        return Output(value)
    return Output((value,))


def emit_whole(value):
    """``return , $value``: the array itself, as one object."""
    return Output((value,))


def assigned(output):
    """``$x = <pipeline>`` and ``(<pipeline>)``: nothing written gives
    ``$null``, one object gives that object, several give an array."""
    if not output:
        return None
    if len(output) == 1:
        return output[0]
    return list(output)


def array_subexpression(value):
    """``@(...)``: over a pipeline, every object it wrote (none: empty);
    over a value, an array stays as it is and anything else, ``$null``
    included, becomes an array of one: ``@($null).Count`` is 1."""
    if isinstance(value, (Output, list, tuple)):
        return list(value)
    return [value]


def ps_true(value):
    """How ``if`` and ``-not`` judge a value (LanguagePrimitives.IsTrue)."""
    if isinstance(value, (list, tuple)):
        return len(value) > 1 or (len(value) == 1 and ps_true(value[0]))
    if value is None:
        return False
    if isinstance(value, str):
        return value != ""
    if isinstance(value, (bool, int, float)):
        return value != 0
    return True


def ps_convert(value, like):
    """The right side of a comparison converted to the left side's type."""
    if value is None:
        return None
    if isinstance(like, bool):
        return ps_true(value)
    if isinstance(like, (int, float)):
        try:
            return type(like)(value)
        except (TypeError, ValueError):
            return value
    if isinstance(like, str):
        if isinstance(value, bool):
            return "True" if value else "False"
        return str(value)
    return value


def ps_eq(left, right):
    """``-eq`` (and ``-ieq``): strings compare without regard to case, the
    right side is converted to the left side's type ("1" -eq 1 and
    1 -eq "01"), and a collection on the left gives its equal elements."""
    if isinstance(left, (list, tuple)):
        return [item for item in left if ps_eq(item, right)]
    if left is None or right is None:
        return left is None and right is None
    right = ps_convert(right, left)
    if isinstance(left, str) and isinstance(right, str):
        return left.lower() == right.lower()
    return left == right


def ps_ne(left, right):
    if isinstance(left, (list, tuple)):
        return [item for item in left if not ps_eq(item, right)]
    return not ps_eq(left, right)


def ps_contains(collection, value):
    """``-contains`` / ``-notcontains``: ``-eq`` against each element."""
    return any(ps_eq(item, value) for item in array_subexpression(collection))


def ps_long(value):
    """``[long]$value`` (and ``[int]``): ``$null`` is 0, "12" is 12, 2.5
    rounds to even; a string of other digits than 0-9 ("\u0661", which .NET's
    ``\\d`` matches) is refused, as .NET parses ASCII digits only."""
    if value is None:
        return 0
    if isinstance(value, str):
        if not value.isascii():
            raise ValueError('Cannot convert value "%s" to type "System.Int64"' % value)
        text = value.strip()
        # Digits alone parse as an integer, exactly; others ("2.5", "1e3") as a double.
        value = int(text) if re.match(r"^[+-]?[0-9]+$", text) else float(text) if text else 0
    result = int(round(value))
    if not INT64_MIN <= result <= INT64_MAX:
        raise ValueError('Cannot convert value "%s" to type "System.Int64": Value was either too large or too small '
                         'for an Int64.' % value)
    return result


def win32_trimmed(names, ends_with_separator):
    """What Windows does to the names of a path not in the long-path form (as
    GetFullPathName): a name ending in one '.' loses it, and the last name
    loses its trailing dots and spaces unless the path ends with a separator.
    Names made of dots only are left to the relative-component rule."""
    out = []
    for index, name in enumerate(names):
        if name.strip("."):
            if index == len(names) - 1 and not ends_with_separator:
                name = name.rstrip(". ")
            elif name.endswith(".") and not name.endswith(".."):
                name = name[:-1]
        out.append(name)
    return [name for name in out if name]


def ps_long_product(left, right):
    """``$a * $b`` of two integers: past Int64 the product is a [double],
    silently (``[long]::MaxValue * 2`` is 1.84467440737096E+19)."""
    product = left * right
    if INT64_MIN <= product <= INT64_MAX:
        return product
    return float(product)


def ps_decimal(value):
    """``[decimal]$value``: 28 significant digits, so every [long] and every
    file time in nanoseconds fits; ``$null`` is 0. A [double] keeps 15
    significant digits only (.NET Framework's Decimal(Double))."""
    if value is None:
        return 0
    if isinstance(value, float):
        return decimal.Decimal(format(value, ".15g"))
    if isinstance(value, str):
        text = value.strip()
        if not text.isascii():
            raise ValueError('Cannot convert value "%s" to type "System.Decimal"' % value)
        return decimal.Decimal(text) if text else 0
    if abs(value) > DECIMAL_MAX:
        raise OverflowError("Value was either too large or too small for a Decimal.")
    return int(value)


def ps_string(value):
    """``[string]$value``: ``$null`` is the empty string; an array is its
    items joined with ``$OFS``, a space."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, (list, tuple)):
        return " ".join(ps_string(item) for item in value)
    return str(value)


class Hashtable(dict):
    """``@{}``: string keys match without regard to case, and a key set
    again keeps the case it was first set with."""

    def _key(self, key):
        if isinstance(key, str):
            for known in self:
                if isinstance(known, str) and known.lower() == key.lower():
                    return known
        return key

    def __setitem__(self, key, value):
        dict.__setitem__(self, self._key(key), value)

    def __getitem__(self, key):
        return dict.__getitem__(self, self._key(key))

    def __contains__(self, key):
        return dict.__contains__(self, self._key(key))

    def pop(self, key, *default):
        return dict.pop(self, self._key(key), *default)


def from_base64(text):
    """``[Convert]::FromBase64String``: white space is skipped; any other
    character outside the alphabet, or a wrong length or padding, is a
    FormatException (here ValueError), where Python would drop it."""
    try:
        return base64.b64decode(re.sub(r"[ \t\r\n]", "", text), validate=True)
    except ValueError:
        raise ValueError("The input is not a valid Base-64 string as it contains a non-base 64 character, more "
                         "than two padding characters, or an illegal character among the padding characters.")


def ps_match(value, pattern):
    """``-match``: a .NET regular expression, without regard to case."""
    return re.search(pattern, value, re.I) is not None


# -- .NET on this file system -------------------------------------------------

class Refusal(Exception):
    def __init__(self, status, message):
        Exception.__init__(self, message)
        self.status = status


class PathTooLong(OSError):
    def __init__(self, path):
        OSError.__init__(self, errno.ENAMETOOLONG, "The specified path, file name, or both are too long. The fully "
                         "qualified file name must be less than 260 characters (%d: %s...)" % (len(path), path[:40]))


class DirectoryNotFound(OSError):
    pass


class ReplaceFailed(OSError):
    """ReplaceFile's error 1175, 1176 or 1177."""


class Info:
    """What a FileSystemInfo tells; ``full`` is its FullName (in the \\\\?\\
    form when it was listed through that form)."""

    def __init__(self, full, name, host):
        st = os.lstat(host)
        self.full = full
        self.name = name
        self.host = host
        self.reparse = stat.S_ISLNK(st.st_mode)
        self.is_dir = os.path.isdir(host) if self.reparse else stat.S_ISDIR(st.st_mode)
        self.length = 0 if self.reparse or self.is_dir else st.st_size
        self.mtime = st.st_mtime
        self.readonly = not self.reparse and not self.is_dir and not st.st_mode & stat.S_IWUSR


class RegistryKey:
    """A Microsoft.Win32.RegistryKey: an open handle until disposed."""

    def __init__(self, twin, values):
        self.twin, self.values = twin, values
        twin.open_keys += 1

    def get_value(self, name):
        return self.values.get(name)

    def dispose(self):
        self.twin.open_keys -= 1


def expand(value, env=None):
    """[Environment]::ExpandEnvironmentVariables: %NAME% → value, unknown kept."""
    env = dict(ENV, **(env or {}))
    return re.sub(r"%([^%]+)%", lambda m: env.get(m.group(1).lower(), m.group(0)), value)


class Twin:
    def __init__(self, base):
        self.base = os.path.abspath(base)
        self.open_keys = 0
        # Tests set {file name: 1175|1176|1177} to make [IO.File]::Replace fail.
        self.replace_failures = {}

    # -- the computer ------------------------------------------------------

    def host_path(self, path):
        """Host path of a Windows path, each component matched without regard
        to case; components that do not exist are kept as given."""
        normalized = not path.startswith(LONG_PREFIX)
        if path.startswith(LONG_PREFIX):
            # The \\?\ form is passed to the file system as it is: "/" is a
            # character of a name (one no file name may hold), and no
            # separators are collapsed.
            if "/" in path or "\\\\" in path[len(LONG_PREFIX):]:
                raise OSError(errno.EINVAL, "The filename, directory name, or volume label syntax is incorrect: "
                              + path)
            path = path[len(LONG_PREFIX):]
            if path.upper().startswith("UNC\\"):
                path = "\\\\" + path[4:]
        else:
            path = path.replace("/", "\\")
            if len(path) >= MAX_PATH:
                raise PathTooLong(path)
        if path.startswith("\\\\"):
            parts = ["UNC"] + [p for p in path[2:].split("\\") if p]
        elif re.match(r"^[A-Za-z]:(\\|$)", path) and path != path[:2]:
            parts = [path[0].upper()] + [p for p in path[2:].split("\\") if p]
        elif re.match(r"^[A-Za-z]:", path):
            raise OSError(errno.EINVAL, "%s is relative to the current folder of this process on %s" % (
                path, path[:2]))
        else:
            raise OSError(errno.EINVAL, "not an absolute Windows path: %s" % path)
        if normalized:
            parts = parts[:1] + win32_trimmed(parts[1:], path.endswith("\\"))
        host = self.base
        for part in parts:
            if part in (".", ".."):
                raise OSError(errno.EINVAL, "relative component in %s" % path)
            if re.search(r"[\x00-\x1f]", part):  # no Windows file name holds a control character
                raise OSError(errno.EINVAL, "Illegal characters in path: %r" % path)
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

    def list_folder(self, path, pattern=None, dirs_only=False):
        """DirectoryInfo(path).GetFileSystemInfos(pattern) / GetDirectories():
        FullNames are ``path`` joined to each name, as .NET builds them."""
        if path.startswith("\\\\") and not path.startswith(LONG_PREFIX) or path.upper().startswith(LONG_PREFIX + "UNC\\"):
            share = path if not path.startswith(LONG_PREFIX) else "\\\\" + path[len(LONG_PREFIX) + 4:]
            if not os.path.isdir(self.host_path("\\".join(share.split("\\")[:4]))):
                raise OSError(errno.ENOENT, "The network path was not found")
        host = self.host_path(path)
        if not os.path.exists(host):
            raise DirectoryNotFound(errno.ENOENT, "Could not find a part of the path '%s'" % path)
        if not os.path.isdir(host):
            raise OSError(errno.ENOTDIR, "The directory name is invalid: %s" % path)
        names = os.listdir(host)
        if pattern is not None:
            names = [n for n in names if n.lower() == pattern.lower()]
        infos = [Info(path.rstrip("\\") + "\\" + n, n, os.path.join(host, n)) for n in names]
        return [i for i in infos if i.is_dir] if dirs_only else infos

    def registry(self):
        try:
            with open(os.path.join(self.base, "registry.json")) as f:
                return json.load(f)
        except IOError:
            return None

    def open_registry_key(self, hive, path):
        """RegistryKey.OpenSubKey: the key, or None when it does not exist."""
        registry = self.registry() or {}
        if hive == "HKLM" and path == "ProfileList":
            return RegistryKey(self, {"subkeys": [k["sid"] for k in registry.get("ProfileList", [])]})
        if hive == "ProfileList":
            for key in registry.get("ProfileList", []):
                if key["sid"] == path:
                    return RegistryKey(self, key)
            return None
        if hive == "HKU":
            values = registry.get("HKU", {}).get(path)
            return RegistryKey(self, values) if values is not None else None
        return None

    @staticmethod
    def owner_key(path):
        if path.upper().startswith(LONG_PREFIX + "UNC\\"):
            path = "\\\\" + path[len(LONG_PREFIX) + 4:]
        elif path.startswith(LONG_PREFIX):
            path = path[len(LONG_PREFIX):]
        return path.rstrip("\\").lower()

    def owners(self):
        try:
            with open(os.path.join(self.base, "owners.json")) as f:
                return json.load(f)
        except IOError:
            return {}

    def owner_of(self, path):
        """Owner SID of a file or folder (base/owners.json)."""
        return self.owners().get(self.owner_key(path), DEFAULT_OWNER)

    def set_owner(self, path, sid):
        owners = self.owners()
        owners[self.owner_key(path)] = sid
        with open(os.path.join(self.base, "owners.json"), "w") as f:
            json.dump(owners, f)

    def file_replace(self, source, target, backup):
        """[IO.File]::Replace(source, target, backup): the target keeps its
        DACL (here, its mode) but takes the replacement's owner; refused on a read-only target. A failure set
        in ``replace_failures`` leaves the files as ReplaceFile documents."""
        host_source, host_target = self.host_path(source), self.host_path(target)
        if not os.stat(host_target).st_mode & stat.S_IWUSR:
            raise PermissionError(errno.EACCES, "Access to the path '%s' is denied." % target)
        code = self.replace_failures.get(os.path.basename(host_target))
        if code == 1175 or (code == 1176 and backup is not None):
            raise ReplaceFailed(errno.EIO, "Unable to remove the file to be replaced (%d)" % code)
        if code in (1176, 1177):
            if backup is None:
                os.unlink(host_target)
            else:
                self.set_owner(backup, self.owner_of(target))
                os.rename(host_target, self.host_path(backup))
            raise ReplaceFailed(errno.EIO, "Unable to move the replacement file to the file to be replaced (%d)"
                                % code)
        old_owner, new_owner = self.owner_of(target), self.owner_of(source)
        if backup is not None:
            os.link(host_target, self.host_path(backup))
            self.set_owner(backup, old_owner)
        os.chmod(host_source, stat.S_IMODE(os.stat(host_target).st_mode))
        os.replace(host_source, host_target)
        self.set_owner(target, new_owner)

    def file_move(self, source, target):
        """[IO.File]::Move: fails when the target exists."""
        host_source, host_target = self.host_path(source), self.host_path(target)
        os.link(host_source, host_target)
        os.unlink(host_source)
        self.set_owner(target, self.owner_of(source))

    def file_delete(self, path):
        """[IO.File]::Delete: no error when the file does not exist."""
        try:
            os.unlink(self.host_path(path))
        except FileNotFoundError:
            pass

    def directory_exists(self, path):
        """DirectoryInfo(path).Exists: false, never an error, on a path
        that cannot be opened (an invalid name included)."""
        try:
            return os.path.isdir(self.host_path(path))
        except OSError:
            return False

    def file_exists(self, path):
        try:
            return os.path.isfile(self.host_path(path))
        except OSError:
            return False

    @staticmethod
    def process_alive(pid):
        """[Diagnostics.Process]::GetProcessById succeeds."""
        try:
            os.kill(pid, 0)
        except OSError as exc:
            return exc.errno != errno.ESRCH
        return True

    # -- prelude.ps1 ---------------------------------------------------------

    @staticmethod
    def get_inner_exception(exc):
        return exc

    @staticmethod
    def get_field(mapping, name):
        if mapping is not None and name in mapping:
            return emit(mapping[name])
        return emit(None)

    def get_list_field(self, mapping, name):
        items = []
        value = assigned(self.get_field(mapping, name))
        if not ps_eq(None, value):
            for item in array_subexpression(value):
                items.append(item)
        return emit_whole(items)

    @staticmethod
    def split_native_path(path):
        path = path.rstrip("\\")
        slash = path.rindex("\\")
        parent = path[:slash]
        if ps_match(parent, r"^[A-Za-z]:$"):
            parent = parent + "\\"
        return {"parent": parent, "name": path[slash + 1:]}

    @staticmethod
    def convert_to_long_path(path):
        if path.startswith(LONG_PREFIX):
            return path
        if path.startswith("\\\\"):
            return LONG_PREFIX + "UNC\\" + path[2:]
        if ps_match(path, r"^[A-Za-z]:$"):
            return LONG_PREFIX + path + "\\"
        return LONG_PREFIX + path

    @staticmethod
    def test_reparse_point(info):
        return info.reparse

    @staticmethod
    def test_sharing_violation(exc):
        return isinstance(exc, BlockingIOError)

    def get_child_entry(self, folder, name):
        if "*" in name or "?" in name:
            return None
        try:
            found = self.list_folder(self.convert_to_long_path(folder), name)
        except DirectoryNotFound:
            return None
        for info in found:
            if ps_eq(info.name, name):
                return info
        if len(found) > 0:
            return found[0]
        return None

    def get_handle_owner(self, stream):
        return self.owner_of(stream["path"])

    def get_folder_owner(self, folder):
        self.host_path(self.convert_to_long_path(folder))
        return self.owner_of(folder)

    @staticmethod
    def test_foreign_owner(owner, folder_owner):
        if not ps_true(folder_owner):
            return False
        return ps_ne(owner, folder_owner) and not ps_contains(TRUSTED_OWNERS, owner)

    def read_raw_file(self, path, limit):
        path = self.convert_to_long_path(path)
        with open(self.host_path(path), "rb") as f:
            stream = {"path": path, "length": os.fstat(f.fileno()).st_size}
            result = {"data": None, "size": stream["length"], "owner": self.get_handle_owner(stream)}
            if stream["length"] > limit:
                return result
            data = f.read(limit + 1)
            result["size"] = len(data)
            if len(data) <= limit:
                result["data"] = data
            return result

    @staticmethod
    def get_sha256_hex(data):
        return hashlib.sha256(data).hexdigest()

    def invoke_script(self, name, body, request_json):
        try:
            request = json.loads(request_json)
            response = body(request)
        except Exception as exc:  # the script's catch: everything
            response = {"protocol": PROTOCOL, "fatal": "%s.ps1 (after the prelude): %s" % (name, exc)}
        return response

    # -- collect.ps1 ---------------------------------------------------------

    @staticmethod
    def join_native(folder, rel):
        return folder.rstrip("\\") + "\\" + rel.replace("/", "\\")

    @staticmethod
    def convert_to_unix_time(mtime):
        return mtime

    def get_file_record(self, folder, name, max_bytes, folder_owner):
        budget = self.budget
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
        limit = min(max_bytes, budget["profile_left"], budget["run_left"])  # [Math]::Min of [Math]::Min
        if info.length > limit:
            record["error"] = ("%s not read: the read budget of the profile (%d bytes) or of the run (%d bytes) "
                               "is spent" % (name, budget["max_profile_bytes"], budget["max_run_bytes"]))
            return record
        try:
            read = self.read_raw_file(info.full, limit)
        except OSError as exc:
            record["error"] = "cannot read %s: %s" % (name, exc.strerror)
            return record
        if read["data"] is None:
            record["error"] = "%s grew past %d bytes while it was read" % (name, limit)
            return record
        if self.test_foreign_owner(read["owner"], folder_owner):
            record["error"] = "%s is owned by %s, not by the owner of its folder (%s)" % (
                name, read["owner"], folder_owner)
            return record
        budget["profile_left"] -= len(read["data"])
        budget["run_left"] -= len(read["data"])
        record["size"] = len(read["data"])
        record["sha256"] = self.get_sha256_hex(read["data"])
        record["b64"] = base64.b64encode(read["data"]).decode("ascii")
        return record

    def test_profile_lock(self, folder):
        lock = self.get_child_entry(folder, "parent.lock")
        if lock is None:
            return {"running": False, "error": None}
        if self.test_reparse_point(lock):
            return {"running": True, "error": "parent.lock is a symbolic link"}
        try:
            path = self.convert_to_long_path(lock.full)
            fd = os.open(self.host_path(path), os.O_RDWR)
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
        budget = self.budget
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
                children = self.list_folder(self.convert_to_long_path(full))
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
                if ps_eq(kind, "dir"):
                    subdirs.append((child_rel, child.full))
                budget["entries_left"] -= 1
                if len(entries) > MAX_TREE_ENTRIES or budget["entries_left"] < 0:
                    errors.append("more than %d files below the profile or %d in the run; listing stopped" % (
                        MAX_TREE_ENTRIES, budget["max_run_entries"]))
                    return
            stack.extend(reversed(subdirs))

    def get_msf_record(self, profile_dir, tree, cache_record, max_bytes, folder_owner):
        cache_time = None
        if cache_record is not None and cache_record["error"] is None:
            cache_time = cache_record["mtime"]
        out = {}
        for entry in tree:
            rel = entry["rel"]
            # -like is case-insensitive too.
            if entry["type"] != "file" or not rel.lower().startswith("imapmail/") or not rel.lower().endswith(".msf"):
                continue
            if cache_time is not None and entry["mtime"] <= cache_time:
                continue
            slash = rel.rindex("/")
            folder = self.join_native(profile_dir, rel[:slash])
            out[rel] = self.get_file_record(folder, rel[slash + 1:], max_bytes, folder_owner)
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
        budget = self.budget
        snapshot = {
            "path": self.join_native(base, "\\".join(parts)), "home": base, "root": root,
            "user": owner["user"], "sid": owner["sid"], "uid": None, "gid": None, "explicit": explicit,
            "running": False, "lock_error": None, "symlink": None, "redirected": redirected,
            "files": {}, "tree": [], "msf": {}, "error": None,
        }
        try:
            where = self.resolve_below(base, parts)
        except OSError as exc:
            snapshot["error"] = "cannot open profile folder: %s" % exc.strerror
            return snapshot
        if where["symlink"] is not None:
            snapshot["symlink"] = where["symlink"]
            return snapshot
        if where["path"] is None:
            snapshot["error"] = "cannot open profile folder: not found"
            return snapshot
        snapshot["path"] = where["path"]
        budget["profiles_left"] -= 1
        if budget["profiles_left"] < 0:
            snapshot["error"] = "not read: this host has more than %d profiles" % budget["max_profiles"]
            return snapshot
        if time.monotonic() - budget["clock"] > budget["max_seconds"]:
            snapshot["error"] = "not read: the time budget of the host (%d s) is spent" % budget["max_seconds"]
            return snapshot
        budget["profile_left"] = budget["max_profile_bytes"]
        try:
            folder_owner = self.get_folder_owner(where["path"])
            lock = self.test_profile_lock(where["path"])
            snapshot["running"] = lock["running"]
            snapshot["lock_error"] = lock["error"]
            for name in PROFILE_FILES:
                snapshot["files"][name] = self.get_file_record(where["path"], name, max_bytes, folder_owner)
            tree_errors = []
            for top in STORE_DIRS:
                self.add_tree_entry(where["path"], top, snapshot["tree"], tree_errors)
            if len(tree_errors) > 0:
                snapshot["tree_errors"] = tree_errors
            cache = snapshot["files"]["folderCache.json"]
            snapshot["msf"] = self.get_msf_record(where["path"], snapshot["tree"], cache, max_bytes, folder_owner)
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
                children = self.list_folder(self.convert_to_long_path(folder), dirs_only=True)
            except OSError:
                continue
            for child in sorted(children, key=lambda c: c.name.lower()):
                if self.test_has_pref(child):
                    found.append(prefix + child.name)
        return emit_whole(found)

    def add_root(self, base, rel, kind, owner, max_bytes, redirected, roots, profiles):
        budget = self.budget
        parts = [p for p in re.split(r"[/\\]", rel) if p]
        where = self.resolve_below(base, parts)
        if where["symlink"] is not None:
            roots.append({"path": self.join_native(base, "\\".join(parts)), "user": owner["user"],
                          "sid": owner["sid"], "uid": None, "gid": None, "home": base, "kind": kind,
                          "redirected": redirected, "files": {}, "symlink": where["symlink"]})
            return
        if where["path"] is None:
            return
        files = {}
        budget["profile_left"] = budget["max_profile_bytes"]
        root_owner = self.get_folder_owner(where["path"])
        for name in ROOT_FILES:
            files[name] = self.get_file_record(where["path"], name, max_bytes, root_owner)
        children = assigned(self.get_candidate_profile(where["path"]))
        roots.append({"path": where["path"], "user": owner["user"], "sid": owner["sid"], "uid": None,
                      "gid": None, "home": base, "kind": kind, "redirected": redirected, "files": files,
                      "symlink": None})
        for child in children:
            child_parts = array_subexpression(parts) + array_subexpression(child.split("/"))
            profiles.append(self.get_profile_snapshot(base, child_parts, where["path"], owner,
                                                      False, max_bytes, redirected))

    def resolve_account_name(self, sid):
        for entry in (self.registry() or {}).get("ProfileList", []):
            if entry["sid"] == re.sub(r"\.bak$", "", sid):
                return entry.get("account")
        return None

    def get_app_data_folder(self, sid, user_home, user_name):
        if not ps_true(sid):
            return None
        key = None
        try:
            key = self.open_registry_key("HKU", sid)
            if key is None:
                return None
            raw = key.get_value("AppData")
        except OSError:
            return None
        finally:
            if key is not None:
                key.dispose()
        if not ps_true(raw):
            return None
        value = re.sub("%USERPROFILE%", lambda m: user_home, ps_string(raw), flags=re.I)
        value = re.sub("%USERNAME%", lambda m: user_name, value, flags=re.I)
        return expand(value).rstrip("\\")

    def get_profile_image_path(self, profile_list, sid):
        del profile_list
        key = self.open_registry_key("ProfileList", sid)
        if key is None:
            return None
        try:
            return key.get_value("ProfileImagePath")
        finally:
            key.dispose()

    def get_user_home(self, errors):
        users = []
        seen = {}
        profile_list = None
        try:
            profile_list = self.open_registry_key("HKLM", "ProfileList")
            sids = []
            if profile_list is not None:
                sids = profile_list.get_value("subkeys")
            for sid in sids:
                if not ps_match(sid, r"^S-1-(5-21|12-1)-"):
                    continue
                raw = self.get_profile_image_path(profile_list, sid)
                if not ps_true(raw):
                    continue
                user_home = expand(ps_string(raw)).rstrip("\\")
                # A PowerShell hashtable's keys match without regard to case.
                if user_home.lower() in seen:
                    continue
                seen[user_home.lower()] = True
                account = self.resolve_account_name(sid)
                name = user_home[user_home.rfind("\\") + 1:]
                if ps_true(account):
                    name = account[account.rfind("\\") + 1:]
                users.append({"user": name, "account": account, "sid": sid, "home": user_home,
                              "appdata": self.get_app_data_folder(sid, user_home, name)})
        except OSError as exc:
            errors.append("cannot read the ProfileList of the registry: %s" % exc.strerror)
        finally:
            if profile_list is not None:
                profile_list.dispose()
        if len(users) > 0:
            return emit_whole(users)
        users_dir = ENV["systemdrive"] + "\\Users"
        try:
            folders = self.list_folder(users_dir, dirs_only=True)
        except OSError as exc:
            errors.append("cannot list %s: %s" % (users_dir, exc.strerror))
            return emit_whole(users)
        for folder in sorted(folders, key=lambda f: f.name):
            if self.test_reparse_point(folder) or ps_contains(NOT_USER_FOLDERS, folder.name):
                continue
            users.append({"user": folder.name, "account": None, "sid": None, "home": folder.full, "appdata": None})
        return emit_whole(users)

    @staticmethod
    def select_user(users, names, errors):
        if names is None:
            return emit_whole(users)
        picked = []
        for name in names:
            matched = False
            for user in users:
                leaf = user["home"][user["home"].rfind("\\") + 1:]
                if ps_eq(user["user"], name) or ps_eq(user["account"], name) or ps_eq(leaf, name):
                    matched = True
                    if not any(p is user for p in picked):
                        picked.append(user)
            if not matched:
                errors.append("no local user named %s" % name)
        return emit_whole(picked)

    @staticmethod
    def test_below(path, folder):
        return path.lower().startswith(folder.rstrip("\\").lower() + "\\")

    def add_user_root(self, user, candidates, max_bytes, roots, profiles, errors):
        owner = {"user": user["user"], "sid": user["sid"]}
        roaming = self.join_native(user["home"], "AppData\\Roaming")
        for candidate in candidates:
            rel = ps_string(assigned(self.get_field(candidate, "rel")))
            kind = ps_string(assigned(self.get_field(candidate, "kind")))
            base, redirected = user["home"], False
            if ps_match(rel, r"^AppData[/\\]Roaming([/\\]|$)") and ps_true(user["appdata"]) \
                    and ps_ne(user["appdata"], roaming):
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

    @staticmethod
    def get_path_root(path):
        if path.startswith("\\\\"):
            names = path[2:].split("\\")
            return "\\\\" + names[0] + "\\" + names[1]
        return path[:2] + "\\"

    def add_explicit(self, path, users, max_bytes, roots, profiles, errors):
        native = path.replace("/", "\\")
        if not (ps_match(native, r"^[A-Za-z]:\\") or native.startswith("\\\\")):
            errors.append("%s is not an absolute Windows path" % path)
            return
        native = native.rstrip("\\")
        owner = {"user": None, "sid": None}
        base = self.get_path_root(native)
        for user in users:
            if self.test_below(native, user["home"]):
                owner = {"user": user["user"], "sid": user["sid"]}
                base = user["home"]
        parts = [p for p in native[len(base.rstrip("\\")):].split("\\") if ps_true(p)]
        where = self.resolve_below(base, parts)
        if where["symlink"] is not None:
            errors.append("%s: %s is a junction or a symbolic link; give the real folder" % (native, where["symlink"]))
            return
        if where["path"] is None:
            errors.append("%s: not found, or not a folder" % native)
            return
        ini = self.get_child_entry(where["path"], "profiles.ini")
        prefs = self.get_child_entry(where["path"], "prefs.js")
        if ini is not None and not ini.is_dir and prefs is None:
            self.add_root(base, "\\".join(parts), "explicit", owner, max_bytes, False, roots, profiles)
        elif prefs is not None:
            profiles.append(self.get_profile_snapshot(base, parts, None, owner, True, max_bytes, False))
        else:
            errors.append("%s holds neither prefs.js nor profiles.ini" % native)

    def new_budget(self, request):
        budget = {"clock": time.monotonic()}
        for name in DEFAULT_BUDGET:
            budget[name] = ps_long(DEFAULT_BUDGET[name])
            if ps_true(assigned(self.get_field(request, name))):
                budget[name] = ps_long(assigned(self.get_field(request, name)))
        budget["profile_left"] = budget["max_profile_bytes"]
        budget["run_left"] = budget["max_run_bytes"]
        budget["entries_left"] = budget["max_run_entries"]
        budget["profiles_left"] = budget["max_profiles"]
        return budget

    def invoke_collect(self, request):
        max_bytes = ps_long(DEFAULT_MAX_FILE_BYTES)
        if ps_true(assigned(self.get_field(request, "max_file_bytes"))):
            max_bytes = ps_long(assigned(self.get_field(request, "max_file_bytes")))
        self.budget = self.new_budget(request)
        errors, roots, profiles = [], [], []
        response = {"protocol": PROTOCOL, "os": "windows", "sep": "\\", "errors": errors,
                    "roots": roots, "profiles": profiles}
        users = assigned(self.get_user_home(errors))
        paths = assigned(self.get_list_field(request, "profiles"))
        if len(paths) > 0:
            for path in paths:
                try:
                    self.add_explicit(ps_string(path), users, max_bytes, roots, profiles, errors)
                except OSError as exc:
                    errors.append("%s: %s" % (path, exc.strerror))
            return response
        candidates = assigned(self.get_list_field(request, "root_candidates"))
        names = None
        if "users" in request and not ps_eq(None, request["users"]):
            names = array_subexpression(request["users"])
        for user in assigned(self.select_user(users, names, errors)):
            self.add_user_root(user, candidates, max_bytes, roots, profiles, errors)
        return response

    # -- commit.ps1 ----------------------------------------------------------

    @staticmethod
    def new_refusal(status, message):
        return Refusal(status, message)

    def resolve_profile_folder(self, entry):
        path = ps_string(assigned(self.get_field(entry, "path"))).rstrip("\\")
        base = ps_string(assigned(self.get_field(entry, "home"))).rstrip("\\")
        if ps_true(base) and path.lower().startswith(base.lower() + "\\"):
            parts = path[len(base) + 1:].split("\\")
        else:
            split = self.split_native_path(path)
            base = split["parent"]
            parts = [split["name"]]
        current = base.rstrip("\\")
        walked = []
        for part in parts:
            if not ps_true(part):
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
        path = folder + "\\parent.lock"
        try:
            if existing is None:
                fd = os.open(self.host_path(path), os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
                return self.hold_lock(fd, path, delete_on_close=True)
            fd = os.open(self.host_path(path), os.O_RDWR)
            return self.hold_lock(fd, path, delete_on_close=False)
        except OSError as exc:
            if self.test_sharing_violation(exc):
                raise self.new_refusal("running", "Thunderbird started with this profile")
            raise self.new_refusal("error", "cannot open parent.lock: %s" % exc.strerror)

    def hold_lock(self, fd, path, delete_on_close):
        """FileShare.None: fails with a sharing violation while another process holds it."""
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise
        return LockStream(fd, self.host_path(path) if delete_on_close else None)

    def test_guard(self, folder, writes, max_bytes):
        current = {}
        folder_owner = self.get_folder_owner(folder)
        for write in writes:
            name = ps_string(assigned(self.get_field(write, "rel")))
            if not ps_contains(ALLOWED, name):
                raise self.new_refusal("error", "refusing to write '%s': not a file this collection manages" % name)
            info = self.get_child_entry(folder, name)
            data = actual = None
            if info is not None:
                if self.test_reparse_point(info):
                    raise self.new_refusal("error", "%s is a symbolic link" % name)
                if info.is_dir:
                    raise self.new_refusal("error", "%s is not a regular file" % name)
                if info.readonly:
                    raise self.new_refusal("error", "%s is read-only (locked by an administrator?); nothing written"
                                           % name)
                size = assigned(self.get_field(write, "expect_size"))
                if not ps_eq(None, size) and ps_ne(info.length, size):
                    raise self.new_refusal("conflict", "%s changed since it was read (its size); nothing written, "
                                           "run again" % name)
                read = self.read_raw_file(info.full, max_bytes)
                if self.test_foreign_owner(read["owner"], folder_owner):
                    raise self.new_refusal("error", "%s is owned by %s, not by the owner of the profile folder (%s); "
                                           "nothing written" % (name, read["owner"], folder_owner))
                data = read["data"]
                actual = "larger than %d bytes" % max_bytes
                if data is not None:
                    actual = self.get_sha256_hex(data)
            if ps_ne(actual, assigned(self.get_field(write, "expect_sha256"))):
                raise self.new_refusal("conflict", "%s changed since it was read; nothing written, run again" % name)
            current[name] = {"exists": info is not None, "data": data}
        return current

    def test_process_alive(self, process_id):
        return self.process_alive(process_id)

    def remove_stale_temp(self, folder):
        entries = [i for i in self.list_folder(folder) if not i.is_dir]
        for entry in entries:
            match = re.match(TEMP_PATTERN, entry.name)
            if not match or self.test_reparse_point(entry):
                continue
            run_id = ps_long(match.group(3))
            if run_id != os.getpid() and self.test_process_alive(run_id):
                continue
            target = folder + "\\" + match.group(1)
            if ps_eq(match.group(2) or "", ".old") and not self.file_exists(target):
                self.file_move(entry.full, target)
            else:
                self.file_delete(entry.full)

    @staticmethod
    def get_temp_name(folder, name):
        return "%s\\.%s.rectorat-%d.tmp" % (folder, name, os.getpid())

    def write_new_file(self, path, data):
        host = self.host_path(path)
        fd = os.open(host, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666 & ~self.umask())
        self.set_owner(path, RUNNING_ACCOUNT)
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

    def write_backup(self, folder, name, data, max_bytes):
        existing = self.get_child_entry(folder, name)
        if existing is not None:
            read = None
            if not existing.is_dir and not self.test_reparse_point(existing):
                read = self.read_raw_file(existing.full, max_bytes)
            if read is not None and read["data"] is not None \
                    and ps_eq(self.get_sha256_hex(read["data"]), self.get_sha256_hex(data)):
                return False
            raise self.new_refusal("error", "%s already exists and holds other bytes; nothing written, run again"
                                   % name)
        tmp = self.get_temp_name(folder, name)
        self.write_new_file(tmp, data)
        try:
            self.file_move(tmp, folder + "\\" + name)
        except BaseException:
            self.file_delete(tmp)
            raise
        return True

    def invoke_replace(self, source, target, old):
        try:
            self.file_replace(source, target, old)
        except OSError:
            if not self.file_exists(target) and self.file_exists(old):
                self.file_move(old, target)
            raise

    def restore_replaced(self, folder, names, current):
        ok = True
        for name in names:
            target = folder + "\\" + name
            old = self.get_temp_name(folder, name + ".old")
            try:
                if current[name]["exists"]:
                    self.file_delete(target)
                    self.file_move(old, target)
                else:
                    self.file_delete(target)
            except OSError:
                ok = False
        return ok

    def invoke_profile_commit(self, entry, backup, stamp, max_bytes):
        result = {"path": assigned(self.get_field(entry, "path")), "status": "written", "error": None,
                  "written": [], "backups": []}
        lock = None
        folder = None
        made = []
        temps = {}
        current = {}
        replaced = []
        try:
            folder = self.convert_to_long_path(self.resolve_profile_folder(entry))
            lock = self.open_profile_lock(folder)
            writes = assigned(self.get_list_field(entry, "writes"))
            self.remove_stale_temp(folder)
            current = self.test_guard(folder, writes, max_bytes)
            for write in writes:
                name = ps_string(assigned(self.get_field(write, "rel")))
                state = current[name]
                if backup and state["exists"]:
                    backup_name = "%s.%s.bak" % (name, stamp)
                    if self.write_backup(folder, backup_name, state["data"], max_bytes):
                        made.append(backup_name)
                    result["backups"].append(backup_name)
                tmp = self.get_temp_name(folder, name)
                self.write_new_file(tmp, from_base64(ps_string(assigned(self.get_field(write, "b64")))))
                temps[name] = tmp
            for write in writes:
                name = ps_string(assigned(self.get_field(write, "rel")))
                target = folder + "\\" + name
                if current[name]["exists"]:
                    self.invoke_replace(temps[name], target, self.get_temp_name(folder, name + ".old"))
                else:
                    self.file_move(temps[name], target)
                del temps[name]
                replaced.append(name)
            result["written"].extend(replaced)
            del replaced[:]
            for name in result["written"]:
                old = self.get_temp_name(folder, name + ".old")
                try:
                    self.file_delete(old)
                except OSError:
                    pass
        except Exception as exc:  # the script's catch: everything
            result["status"] = "error"
            if isinstance(exc, Refusal):
                result["status"] = exc.status
            result["error"] = str(exc) if not isinstance(exc, OSError) else (exc.strerror or str(exc))
            if self.restore_replaced(folder, replaced, current):
                for backup_name in made:
                    self.file_delete(folder + "\\" + backup_name)
                del result["backups"][:]
            else:
                result["error"] = "%s; putting the old bytes of %s back failed too: the backups hold them" % (
                    result["error"], ", ".join(replaced))
        finally:
            for tmp in temps.values():
                if self.file_exists(tmp):
                    self.file_delete(tmp)
            if lock is not None:
                lock.dispose()
        return result

    def invoke_commit(self, request):
        backup = True
        if not ps_eq(None, assigned(self.get_field(request, "backup"))):
            backup = ps_true(assigned(self.get_field(request, "backup")))
        max_bytes = ps_long(DEFAULT_MAX_FILE_BYTES)
        if ps_true(assigned(self.get_field(request, "max_file_bytes"))):
            max_bytes = ps_long(assigned(self.get_field(request, "max_file_bytes")))
        stamp = ps_string(assigned(self.get_field(request, "stamp")))
        results = []
        for entry in assigned(self.get_list_field(request, "profiles")):
            if ps_eq(None, entry):
                continue
            try:
                results.append(self.invoke_profile_commit(entry, backup, stamp, max_bytes))
            except Exception as exc:  # the script's catch: kept to its own profile
                results.append({"path": assigned(self.get_field(entry, "path")), "status": "error",
                                "error": str(exc), "written": [], "backups": []})
        return {"protocol": PROTOCOL, "profiles": results}


class LockStream:
    """The FileStream of parent.lock; with FileOptions.DeleteOnClose (``host``
    set) the file goes when it is closed."""

    def __init__(self, fd, host):
        self.fd, self.host = fd, host

    def dispose(self):
        try:
            if self.host is not None:
                os.unlink(self.host)
        finally:
            os.close(self.fd)


def run_script(base, name, request):
    """What running collect.ps1, commit.ps1, backup.ps1 or autoconfig.ps1 (after the
    prelude) on the computer ``base`` answers to ``request`` (a dict). Kept
    for fakewin.py and the WinRM test endpoint."""
    if name == "backup":
        import twin_backup  # beside this file; it builds on Twin
        return twin_backup.run_backup(base, request)
    if name == "autoconfig":
        import twin_autoconfig  # beside this file; it builds on Twin
        return twin_autoconfig.run_autoconfig(base, request)
    twin = Twin(base)
    body = twin.invoke_collect if name == "collect" else twin.invoke_commit
    return twin.invoke_script(name, body, json.dumps(request))
