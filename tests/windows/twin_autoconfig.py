# -*- coding: utf-8 -*-
"""Python twin of autoconfig.ps1 (after prelude.ps1), on a Windows-shaped
tree (see twin.py for the layout and the PowerShell 5.1 rules it models).

Each method is the function of the same name in autoconfig.ps1 and follows
it line for line. One more part of the computer is modelled:
``base/denied.json`` lists Windows folders (lower case) in which the
account the scripts run as cannot create, replace or delete a file, as
``C:\\Program Files`` for an account without an administrator's token
(.NET's UnauthorizedAccessException, here PermissionError).
"""

import base64
import errno
import json
import os
import re

from twin import PROTOCOL, Hashtable, Twin, assigned, from_base64, ps_eq, ps_long, ps_match, ps_ne, ps_string, ps_true

# The script's \z (end of the string) is Python's \Z; both read $ as "at the end
# or before a final newline".
HOOK_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\Z"
HOOK_TEMP_PATTERN = r"^\.([A-Za-z0-9][A-Za-z0-9._-]{0,127}?)(\.old)?\.rectorat-([0-9]{1,9})\.tmp$"
HOOK_MAX_FILES = 256


def ps_like(value, pattern):
    """``-like``: a wildcard pattern, without regard to case. Only * and ?
    are modelled: PowerShell's [..] has no [!..] negation (fnmatch's has)
    and ` escapes, so a pattern with either is refused here."""
    if "[" in pattern or "`" in pattern:
        raise NotImplementedError("-like %r is not modelled by the twin" % pattern)
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.match(regex + r"\Z", value, re.I | re.S) is not None


def ps_cmatch(value, pattern):
    """``-cmatch``: a .NET regular expression, case sensitive."""
    return re.search(pattern, value) is not None


def message(exc):
    """``(Get-InnerException $_).Message``."""
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc)


class AutoconfigTwin(Twin):

    # -- the computer: access denied ------------------------------------------

    def denied(self):
        try:
            with open(os.path.join(self.base, "denied.json")) as f:
                return json.load(f)
        except IOError:
            return []

    def check_write(self, path):
        """UnauthorizedAccessException for a file whose folder is denied."""
        folder = self.owner_key(path).rsplit("\\", 1)[0]
        if folder in self.denied():
            raise PermissionError(errno.EACCES, "Access to the path '%s' is denied." % path)

    def file_replace(self, source, target, backup):
        self.check_write(target)
        Twin.file_replace(self, source, target, backup)

    def file_move(self, source, target):
        self.check_write(target)
        Twin.file_move(self, source, target)

    def file_delete(self, path):
        if self.file_exists(path):  # no such file: nothing to refuse
            self.check_write(path)
        Twin.file_delete(self, path)

    def get_files(self, folder):
        """DirectoryInfo(folder).GetFiles(): files and links to files."""
        return [i for i in self.list_folder(self.convert_to_long_path(folder)) if not i.is_dir]

    # -- autoconfig.ps1 --------------------------------------------------------

    def resolve_install_folder(self, path):
        parts = path.replace("/", "\\").rstrip("\\").split("\\")
        if not ps_match(parts[0], r"^[A-Za-z]:$"):
            raise self.new_refusal("error", "%s is not an absolute path on a drive" % path)
        current = parts[0]
        for i in range(1, len(parts)):
            if ps_eq(parts[i], ".") or ps_eq(parts[i], ".."):
                raise self.new_refusal("error", "%s: . and .. are not accepted" % path)
            if not ps_true(parts[i]):
                continue
            info = self.get_child_entry(current, parts[i])
            if info is None:
                return None
            if self.test_reparse_point(info):
                raise self.new_refusal("error", "refused: %s\\%s is a junction or a symbolic link" % (current, info.name))
            if not info.is_dir:
                raise self.new_refusal("error", "%s\\%s is not a folder" % (current, info.name))
            current = current + "\\" + info.name
        return current

    def read_hook_files(self, folder, patterns, max_bytes, budget):
        files = Hashtable()
        count = 0
        for info in self.get_files(folder):
            wanted = False
            for pattern in patterns:
                if ps_like(info.name, ps_string(pattern)):
                    wanted = True
            if not wanted:
                continue
            count = count + 1
            if count > HOOK_MAX_FILES:
                raise self.new_refusal("error", "more than %d files to read in %s" % (HOOK_MAX_FILES, folder))
            if self.test_reparse_point(info):
                raise self.new_refusal("error", "%s\\%s is a symbolic link" % (folder, info.name))
            limit = min(max_bytes, ps_long(budget["left"]))
            if info.length > limit:
                raise self.new_refusal("error", "%s is larger than %d bytes, or the read budget of the run is spent"
                                       % (info.name, limit))
            read = self.read_raw_file(info.full, limit)
            if read["data"] is None:
                raise self.new_refusal("error", "%s grew past %d bytes while it was read" % (info.name, limit))
            budget["left"] = ps_long(budget["left"]) - len(read["data"])
            files[info.name] = base64.b64encode(read["data"]).decode("ascii")
        return files

    def read_installation(self, entry, max_bytes, budget):
        result = {"path": ps_string(assigned(self.get_field(entry, "path"))), "found": False, "error": None,
                  "dir": None, "pref_dir": None, "markers": [], "install": {}, "pref": {}}
        try:
            folder = self.resolve_install_folder(result["path"])
            if ps_eq(None, folder):
                return result
            result["found"] = True
            result["dir"] = folder
            for marker in assigned(self.get_list_field(entry, "markers")):
                if self.get_child_entry(folder, ps_string(marker)) is not None:
                    result["markers"].append(ps_string(marker))
            result["install"] = self.read_hook_files(folder, assigned(self.get_list_field(entry, "install_files")),
                                                     max_bytes, budget)
            result["pref_dir"] = self.resolve_install_folder(folder + "\\defaults\\pref")
            if not ps_eq(None, result["pref_dir"]):
                result["pref"] = self.read_hook_files(result["pref_dir"],
                                                      assigned(self.get_list_field(entry, "pref_files")),
                                                      max_bytes, budget)
        except Exception as exc:  # the script's catch: everything
            result["error"] = message(exc)
        return result

    @staticmethod
    def get_hook_temp_name(folder, name):
        return "%s\\.%s.rectorat-%d.tmp" % (folder.rstrip("\\"), name, os.getpid())

    def remove_hook_temp(self, folder, name):
        for entry in self.get_files(folder):
            match = re.match(HOOK_TEMP_PATTERN, entry.name)
            if not match or match.group(1) != name or self.test_reparse_point(entry):
                continue
            run_id = ps_long(match.group(3))
            if run_id != os.getpid() and self.test_process_alive(run_id):
                continue
            target = folder.rstrip("\\") + "\\" + name
            if ps_eq(match.group(2) or "", ".old") and not self.file_exists(target):
                self.file_move(entry.full, target)
            else:
                self.file_delete(entry.full)

    def test_hook_guard(self, folder, op, max_bytes):
        name = ps_string(assigned(self.get_field(op, "name")))
        info = self.get_child_entry(folder, name)
        actual = None
        if info is not None:
            if self.test_reparse_point(info) or info.is_dir:
                raise self.new_refusal("error", "%s is not a regular file; nothing written" % name)
            if info.readonly:
                raise self.new_refusal("error", "%s is read-only; nothing written" % name)
            read = self.read_raw_file(info.full, max_bytes)
            actual = "larger than %d bytes" % max_bytes
            if read["data"] is not None:
                actual = self.get_sha256_hex(read["data"])
        if ps_ne(actual, assigned(self.get_field(op, "guard"))):
            raise self.new_refusal("error", "%s changed since it was read; nothing written, run again" % name)
        return info is not None

    def write_new_file(self, path, data):
        self.check_write(path)
        Twin.write_new_file(self, path, data)

    def invoke_hook_replace(self, source, target, old):
        self.invoke_replace(source, target, old)
        try:
            self.file_delete(old)
        except OSError:
            pass

    def invoke_installation_write(self, entry, max_bytes):
        result = {"path": ps_string(assigned(self.get_field(entry, "path"))), "error": None, "done": []}
        temps = Hashtable()
        try:
            install = self.resolve_install_folder(result["path"])
            if ps_eq(None, install):
                raise self.new_refusal("error", "%s: not found" % result["path"])
            dirs = {"install": self.convert_to_long_path(install), "pref": None}
            pref = self.resolve_install_folder(install + "\\defaults\\pref")
            if not ps_eq(None, pref):
                dirs["pref"] = self.convert_to_long_path(pref)
            ops = assigned(self.get_list_field(entry, "ops"))
            exists = Hashtable()
            for op in ops:
                where = ps_string(assigned(self.get_field(op, "dir")))
                name = ps_string(assigned(self.get_field(op, "name")))
                action = ps_string(assigned(self.get_field(op, "action")))
                if where not in ("install", "pref") or dirs.get(where) is None \
                        or not ps_cmatch(name, HOOK_NAME_PATTERN):
                    raise self.new_refusal("error", "refusing to write '%s' in '%s'" % (name, where))
                if action not in ("write", "remove"):  # -ceq
                    raise self.new_refusal("error", "unknown action '%s' for %s; nothing written" % (action, name))
                self.remove_hook_temp(dirs[where], name)
                exists[where + "\\" + name] = self.test_hook_guard(dirs[where], op, max_bytes)
            for op in ops:
                where = ps_string(assigned(self.get_field(op, "dir")))
                name = ps_string(assigned(self.get_field(op, "name")))
                if ps_string(assigned(self.get_field(op, "action"))) == "write":  # -ceq
                    temps[where + "\\" + name] = self.get_hook_temp_name(dirs[where], name)
                    self.write_new_file(temps[where + "\\" + name],
                                        from_base64(ps_string(assigned(self.get_field(op, "b64")))))
            for op in ops:
                where = ps_string(assigned(self.get_field(op, "dir")))
                name = ps_string(assigned(self.get_field(op, "name")))
                key = where + "\\" + name
                target = dirs[where].rstrip("\\") + "\\" + name
                if ps_string(assigned(self.get_field(op, "action"))) == "remove":  # -ceq
                    self.file_delete(target)
                elif exists[key]:
                    self.invoke_hook_replace(temps[key], target, self.get_hook_temp_name(dirs[where], name + ".old"))
                else:
                    self.file_move(temps[key], target)
                temps.pop(key, None)
                result["done"].append(name)
        except Exception as exc:  # the script's catch: everything
            result["error"] = message(exc)
            if isinstance(exc, PermissionError):
                result["error"] = "access denied (%s): only administrators can write in the installation" % message(exc)
        finally:
            for tmp in list(temps.values()):
                try:
                    self.file_delete(tmp)
                except Exception:  # the script's catch: everything
                    pass
        return result

    def invoke_autoconfig(self, request):
        mode = ps_string(assigned(self.get_field(request, "mode")))
        if mode != "read" and mode != "write":  # -cne
            raise ValueError("unknown mode %s" % mode)
        max_bytes = ps_long(assigned(self.get_field(request, "max_file_bytes")))
        budget = {"left": ps_long(assigned(self.get_field(request, "max_run_bytes")))}
        results = []
        for entry in assigned(self.get_list_field(request, "installations")):
            if ps_eq(None, entry):
                continue
            try:
                if mode == "read":
                    results.append(self.read_installation(entry, max_bytes, budget))
                else:
                    results.append(self.invoke_installation_write(entry, max_bytes))
            except Exception as exc:  # the script's catch: kept to its own installation
                results.append({"path": ps_string(assigned(self.get_field(entry, "path"))), "found": True,
                                "error": message(exc)})
        return {"protocol": PROTOCOL, "installations": results}


def run_autoconfig(base, request):
    twin = AutoconfigTwin(base)
    return twin.invoke_script("autoconfig", twin.invoke_autoconfig, json.dumps(request))
