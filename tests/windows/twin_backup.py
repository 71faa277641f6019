# -*- coding: utf-8 -*-
"""Python twin of backup.ps1 (after prelude.ps1), on a Windows-shaped tree
(see twin.py for the layout and the PowerShell 5.1 rules it models).

Each method is the function of the same name in backup.ps1 and follows it
line for line. tar.exe is emulated by ``invoke_tar`` with Python's zipfile
(ZIP64 where needed, stored or deflated, names from the -T list read in the
ANSI code page, "-C" lines, no recursion with -n; -x -O reads every member
and fails on a bad CRC); ``C:\\Windows\\System32\\tar.exe`` must exist in
the tree, as on Windows 10 1803 and later.
"""

import base64
import hashlib
import json
import os
import re
import shutil
import stat
import time
import unicodedata
import uuid
import zipfile

from twin import (PROTOCOL, ENV, RUNNING_ACCOUNT, Twin, Refusal, assigned, ps_decimal, ps_eq, ps_long, ps_ne,
                  ps_string, ps_true)

ARCHIVE_PATTERN = r"^[0-9]{8}T[0-9]{6}Z\.zip$"
MANIFEST_PATTERN = r"^[0-9]{8}T[0-9]{6}Z\.manifest\.json$"
BACKUP_TEMP_PATTERN = r"^\.[0-9]{8}T[0-9]{6}Z\.(zip|manifest\.json)\.rectorat-(?:(.+)-)?([0-9]{1,9})\.tmp$"
MANIFEST_MEMBER = "rectorat-backup-manifest.json"
DEFAULT_BACKUP_BUDGET = {"max_files": 200000, "max_run_files": 400000, "max_manifest_bytes": 268435456,
                         "max_run_manifest_bytes": 67108864}
EPOCH_TICKS = 621355968000000000  # 1970-01-01 in .NET ticks (100 ns since 0001-01-01)
TEMP_PATH = "C:\\Windows\\Temp\\"  # [IO.Path]::GetTempPath() of the connecting account
ANSI_CODE_PAGE = "cp1252"  # [Text.Encoding]::Default of a French or English Windows
# The page bsdtar reads its -T list in: setlocale(LC_ALL, "") gives the ANSI
# page of the connecting account's locale (its "Format"), not GetACP.
TAR_LIST_CODE_PAGE = ANSI_CODE_PAGE


class TarFailed(Exception):
    pass


def computer_name():
    """$env:COMPUTERNAME."""
    return ENV.get("computername", "PC01")


def backup_temp_suffix():
    """$BackupTempSuffix: '.rectorat-' + $env:COMPUTERNAME + '-' + $PID + '.tmp'."""
    return ".rectorat-" + computer_name() + "-" + str(os.getpid()) + ".tmp"


class BackupTwin(Twin):
    # Tests set a member name whose CRC the emulated tar.exe breaks on write,
    # or one it leaves out.
    corrupt_member = None
    drop_member = None

    @staticmethod
    def convert_to_unix_ns(mtime_ns):
        """Ticks are 100 ns: what .NET gives is the time to 100 ns, in
        [decimal] (a [long] product, ps_long_product, is a [double] before 1677)."""
        ticks = mtime_ns // 100 + EPOCH_TICKS  # DateTime.Ticks
        return (ps_decimal(ticks) - EPOCH_TICKS) * 100

    def get_profile_listing(self, folder, prune, max_files):
        files, dirs = [], []
        stack = [("", folder)]
        while stack:
            prefix, full = stack.pop()
            children = self.list_folder(self.convert_to_long_path(full))
            subdirs = []
            # Sort-Object -Property Name: without regard to case.
            for child in sorted(children, key=lambda c: c.name.lower()):
                if ps_eq(prefix, "") and child.name in prune:  # -ccontains
                    continue
                rel = prefix + child.name
                if self.test_reparse_point(child):
                    raise self.new_refusal("error", "refused: %s is a symbolic link" % rel)
                if child.is_dir:
                    dirs.append(rel)
                    subdirs.append((rel + "/", full + "\\" + child.name))
                else:
                    files.append({"path": rel, "size": child.length,
                                  "mtime_ns": self.convert_to_unix_ns(os.lstat(child.host).st_mtime_ns)})
                if len(files) + len(dirs) > max_files:
                    raise self.new_refusal("error", "more than %d files in the profile, or left to list in this run"
                                           % max_files)
            stack.extend(reversed(subdirs))
        return {"files": files, "dirs": dirs}

    def get_dest_folder(self, dest, parts, create):
        current = dest.replace("/", "\\").rstrip("\\")
        if not self.directory_exists(self.convert_to_long_path(current)):
            raise self.new_refusal("error", "dest %s does not exist or is not a folder" % dest)
        for part in parts:
            info = self.get_child_entry(current, part)
            if info is None:
                if not create:
                    return None
                os.makedirs(self.host_path(self.convert_to_long_path(current + "\\" + part)), exist_ok=True)
                self.set_owner(current + "\\" + part, RUNNING_ACCOUNT)
                current = current + "\\" + part
                continue
            if self.test_reparse_point(info):
                raise self.new_refusal("error", "refused: %s is a symbolic link below dest" % info.full)
            if not info.is_dir:
                raise self.new_refusal("error", "%s in dest is not a folder" % info.full)
            current = current + "\\" + info.name
        return current

    def get_dest_archive(self, folder, budget):
        archives, manifests = [], []
        if not ps_true(folder):
            return {"archives": archives, "manifests": manifests}
        children = [i for i in self.list_folder(self.convert_to_long_path(folder)) if not i.is_dir]
        for child in sorted(children, key=lambda c: c.name.lower(), reverse=True):
            if self.test_reparse_point(child):
                continue
            if re.match(ARCHIVE_PATTERN, child.name):  # -cmatch
                archives.append({"name": child.name, "size": child.length})
            elif re.match(MANIFEST_PATTERN, child.name):
                record = {"name": child.name, "b64": None, "unread": True}
                if child.length <= min(budget["max_manifest_bytes"], budget["manifest_left"]):
                    read = self.read_raw_file(child.full, budget["max_manifest_bytes"])
                    if read["data"] is not None:
                        budget["manifest_left"] -= len(read["data"])
                        record["b64"] = base64.b64encode(read["data"]).decode("ascii")
                        record["unread"] = False
                manifests.append(record)
        return {"archives": archives, "manifests": manifests}

    def get_profile_scan(self, entry, dest, budget, prune):
        result = {"path": assigned(self.get_field(entry, "path")), "error": None, "files": None, "dirs": None,
                  "archives": None, "manifests": None}
        try:
            folder = self.resolve_profile_folder(entry)
            listing = self.get_profile_listing(folder, prune, min(budget["max_files"], budget["files_left"]))
            budget["files_left"] -= len(listing["files"]) + len(listing["dirs"])
            result["files"] = listing["files"]
            result["dirs"] = listing["dirs"]
            found = self.get_dest_archive(
                self.get_dest_folder(dest, assigned(self.get_list_field(entry, "folder")), False), budget)
            result["archives"] = found["archives"]
            result["manifests"] = found["manifests"]
        except Exception as exc:  # the script's catch: everything
            result["error"] = str(exc) if not isinstance(exc, OSError) else (exc.strerror or str(exc))
        return result

    def get_file_digest(self, path, rel, listed, folder_owner):
        long_path = self.convert_to_long_path(path)
        with open(self.host_path(long_path), "rb") as f:
            stream = {"path": long_path, "length": os.fstat(f.fileno()).st_size}
            owner = self.get_handle_owner(stream)
            if self.test_foreign_owner(owner, folder_owner):
                raise self.new_refusal("error", "refused: %s is owned by %s, not by the owner of the profile folder "
                                       "(%s)" % (rel, owner, folder_owner))
            mtime = self.convert_to_unix_ns(os.stat(self.host_path(long_path)).st_mtime_ns)
            if stream["length"] != ps_long(assigned(self.get_field(listed, "size"))) \
                    or mtime != ps_decimal(assigned(self.get_field(listed, "mtime_ns"))):
                raise self.new_refusal("error", "%s changed since the profile was listed; nothing written, run again"
                                       % rel)
            digest = hashlib.sha256()
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
            return digest.hexdigest()

    def get_file_sha256(self, path):
        digest, size = hashlib.sha256(), 0
        with open(self.host_path(self.convert_to_long_path(path)), "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
                size += len(chunk)
        return {"size": size, "sha256": digest.hexdigest()}

    def convert_to_ansi_byte(self, text, what):
        try:
            return text.encode(ANSI_CODE_PAGE)  # ExceptionFallback
        except UnicodeEncodeError:
            raise self.new_refusal("error", "%s cannot be given to tar.exe in code page 1252" % what)

    @staticmethod
    def narrow_argv(argument):
        """What tar.exe (main(argc, char **argv)) gets for an argument: the
        command line in the ANSI code page with Windows' best fit, a letter
        the page lacks becoming its base letter or '?' (libarchive issue
        #2092: ``tar -c -f \u0100.tar`` writes ``A.tar``)."""
        out = []
        for char in argument:
            try:
                char.encode(ANSI_CODE_PAGE)
                out.append(char)
            except UnicodeEncodeError:
                base = unicodedata.normalize("NFKD", char)[0]
                out.append(base if base.encode(ANSI_CODE_PAGE, "replace") != b"?" and base != char else "?")
        return "".join(out)

    def invoke_tar(self, arguments):
        tar = ENV["systemroot"] + "\\System32\\tar.exe"
        if not self.file_exists(tar):
            raise self.new_refusal("error", "%s not found: Windows 10 1803 or later ships it" % tar)
        for argument in arguments:
            self.convert_to_ansi_byte(argument, "the path " + argument)
        arguments = [self.narrow_argv(a) for a in arguments]
        try:
            if arguments[0] == "-c":
                self.tar_create(arguments)
            else:
                self.tar_extract_to_null(arguments)
        except (TarFailed, OSError, zipfile.BadZipFile) as exc:
            raise self.new_refusal("error", "tar.exe failed (1): %s" % exc)

    def tar_create(self, arguments):
        """bsdtar -c -n -f ZIP --format zip --options zip:compression=X,zip:hdrcharset=UTF-8 -C DIR -T LIST."""
        options = dict(o.split("=", 1) for o in arguments[arguments.index("--options") + 1].split(","))
        assert arguments[1:3] == ["-n", "-f"] and arguments[arguments.index("--format") + 1] == "zip"
        compress = zipfile.ZIP_DEFLATED if options["zip:compression"] == "deflate" else zipfile.ZIP_STORED
        assert options["zip:hdrcharset"] == "UTF-8"
        directory = arguments[arguments.index("-C") + 1]
        with open(self.host_path(arguments[arguments.index("-T") + 1]), "rb") as f:
            lines = f.read().decode(TAR_LIST_CODE_PAGE).split("\n")
        target = self.host_path(arguments[3])
        with zipfile.ZipFile(target, "x", compression=compress, allowZip64=True) as zf:
            next_is_dir = False
            for line in lines:
                if next_is_dir:
                    directory, next_is_dir = line, False
                elif line == "-C":
                    next_is_dir = True
                elif line and line != self.drop_member:
                    source = self.host_path(directory + "\\" + line.replace("/", "\\"))
                    st = os.lstat(source)
                    if stat.S_ISLNK(st.st_mode):
                        raise TarFailed("%s: a link" % line)
                    if stat.S_ISDIR(st.st_mode):
                        zf.writestr(zipfile.ZipInfo(line + "/", time.gmtime(st.st_mtime)[:6]), b"")
                        continue
                    info = zipfile.ZipInfo.from_file(source, line)
                    info.compress_type = compress
                    with open(source, "rb") as src, zf.open(info, "w", force_zip64=st.st_size > (1 << 30)) as out:
                        shutil.copyfileobj(src, out, 1 << 20)
        if self.corrupt_member is not None:
            self.break_crc(target, self.corrupt_member)

    @staticmethod
    def break_crc(target, name):
        """Flip one byte of a stored member's data: its CRC no longer matches."""
        with zipfile.ZipFile(target) as zf:
            info = zf.getinfo(name)
        with open(target, "r+b") as f:
            f.seek(info.header_offset + 26)
            skip = int.from_bytes(f.read(2), "little") + int.from_bytes(f.read(2), "little")
            f.seek(info.header_offset + 30 + skip)
            byte = f.read(1)
            f.seek(-1, os.SEEK_CUR)
            f.write(bytes([byte[0] ^ 0xFF]))

    def tar_extract_to_null(self, arguments):
        """bsdtar -x -O -f ZIP: every member read, its CRC checked."""
        assert arguments[:3] == ["-x", "-O", "-f"]
        with zipfile.ZipFile(self.host_path(arguments[3])) as zf:
            for info in zf.infolist():
                with zf.open(info) as member:
                    while member.read(1 << 20):
                        pass

    def test_archive_member(self, zip_path, expected):
        left = expected
        with zipfile.ZipFile(self.host_path(self.convert_to_long_path(zip_path))) as archive:
            for member in archive.infolist():
                name = member.filename
                if name not in left or left[name] != member.file_size:
                    raise self.new_refusal("error", "read back: %s is not in the listing or has another size" % name)
                del left[name]
        if len(left) > 0:
            raise self.new_refusal("error", "read back: %d file(s) missing from the archive" % len(left))

    def remove_stale_backup_temp(self, folder):
        names = [i.name for i in self.list_folder(self.convert_to_long_path(folder)) if not i.is_dir]
        live = {}
        for name in names:
            match = re.match(BACKUP_TEMP_PATTERN, name)
            if match:
                computer = ps_string(match.group(2))  # no key 2 in $Matches: $null
                if (computer != "" and ps_ne(computer, computer_name())) or (
                        ps_long(match.group(3)) != os.getpid() and self.test_process_alive(ps_long(match.group(3)))):
                    live[name[1:17]] = True
                else:
                    self.file_delete(self.convert_to_long_path(folder + "\\" + name))
        for name in names:
            if re.match(MANIFEST_PATTERN, name):
                stamp = name[0:16]
                if stamp not in live and (stamp + ".zip") not in names:  # -cnotcontains
                    self.file_delete(self.convert_to_long_path(folder + "\\" + name))

    def write_profile_archive(self, folder, dest_dir, entry, staging, result):
        manifest = assigned(self.get_field(entry, "manifest"))
        stamp = ps_string(assigned(self.get_field(entry, "stamp")))
        folder_owner = self.get_folder_owner(folder)
        expected = {}
        lines = []
        for name in assigned(self.get_list_field(manifest, "dirs")):
            lines.append(ps_string(name))
            expected[ps_string(name) + "/"] = 0
        for file in assigned(self.get_list_field(manifest, "files")):
            rel = ps_string(assigned(self.get_field(file, "path")))
            file["sha256"] = self.get_file_digest(folder + "\\" + rel.replace("/", "\\"), rel, file, folder_owner)
            expected[rel] = ps_long(assigned(self.get_field(file, "size")))
            lines.append(rel)
        lines.append("-C")
        lines.append(staging)
        lines.append(MANIFEST_MEMBER)
        os.makedirs(self.host_path(staging))
        inner = json.dumps(manifest, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        with open(self.host_path(staging + "\\" + MANIFEST_MEMBER), "wb") as f:
            f.write(inner)
        expected[MANIFEST_MEMBER] = len(inner)
        list_bytes = self.convert_to_ansi_byte("\n".join(lines) + "\n", "a file name of the profile")
        with open(self.host_path(staging + "\\files.lst"), "wb") as f:
            f.write(list_bytes)
        tmp_zip = dest_dir + "\\." + stamp + ".zip" + backup_temp_suffix()
        result["temps"].append(tmp_zip)
        store = "store"
        if ps_eq(ps_string(assigned(self.get_field(entry, "compression"))), "deflated"):
            store = "deflate"
        self.invoke_tar(["-c", "-n", "-f", tmp_zip, "--format", "zip", "--options",
                         "zip:compression=%s,zip:hdrcharset=UTF-8" % store,
                         "-C", folder, "-T", staging + "\\files.lst"])
        self.test_archive_member(tmp_zip, expected)
        self.invoke_tar(["-x", "-O", "-f", tmp_zip])
        made = self.get_file_sha256(tmp_zip)
        manifest["archive"] = {"name": stamp + ".zip", "bytes": made["size"], "sha256": made["sha256"]}
        data = json.dumps(manifest, separators=(",", ":"), ensure_ascii=False)
        tmp_manifest = dest_dir + "\\." + stamp + ".manifest.json" + backup_temp_suffix()
        result["temps"].append(tmp_manifest)
        with open(self.host_path(self.convert_to_long_path(tmp_manifest)), "wb") as f:
            f.write(data.encode("utf-8"))
        self.file_move(self.convert_to_long_path(tmp_manifest),
                       self.convert_to_long_path(dest_dir + "\\" + stamp + ".manifest.json"))
        self.file_move(self.convert_to_long_path(tmp_zip), self.convert_to_long_path(dest_dir + "\\" + stamp + ".zip"))
        result["bytes"] = made["size"]
        result["sha256"] = made["sha256"]

    def remove_old_archive(self, dest_dir, stamps, removed):
        for stamp in stamps:
            for name in (ps_string(stamp) + ".zip", ps_string(stamp) + ".manifest.json"):
                if not (re.match(ARCHIVE_PATTERN, name) or re.match(MANIFEST_PATTERN, name)):
                    continue
                info = self.get_child_entry(dest_dir, name)
                if info is None or self.test_reparse_point(info) or info.is_dir:
                    continue
                self.file_delete(self.convert_to_long_path(info.full))
                if name.endswith(".zip"):
                    removed.append(ps_string(stamp))

    def remove_backup_leftover(self, temps, staging):
        for temp in temps:
            try:
                self.file_delete(self.convert_to_long_path(temp))
            except OSError:
                pass
        try:
            if os.path.isdir(self.host_path(staging)):
                shutil.rmtree(self.host_path(staging))
        except OSError:
            pass

    def invoke_profile_backup(self, entry, dest):
        started = time.monotonic()
        result = {"path": assigned(self.get_field(entry, "path")), "status": "done", "error": None, "bytes": None,
                  "sha256": None, "removed": [], "temps": []}
        lock = None
        staging = TEMP_PATH + "rectorat-backup-" + str(os.getpid()) + "-" + uuid.uuid4().hex
        try:
            folder = self.resolve_profile_folder(entry)
            lock = self.open_profile_lock(self.convert_to_long_path(folder))
            dest_dir = self.get_dest_folder(dest, assigned(self.get_list_field(entry, "folder")), True)
            self.remove_stale_backup_temp(dest_dir)
            if not ps_eq(None, assigned(self.get_field(entry, "manifest"))):
                self.write_profile_archive(folder, dest_dir, entry, staging, result)
            self.remove_old_archive(dest_dir, assigned(self.get_list_field(entry, "remove")), result["removed"])
        except Exception as exc:  # the script's catch: everything
            result["status"] = "error"
            if isinstance(exc, Refusal):
                result["status"] = exc.status
            result["error"] = str(exc) if not isinstance(exc, OSError) else (exc.strerror or str(exc))
        finally:
            self.remove_backup_leftover(result["temps"], staging)
            if lock is not None:
                lock.dispose()
        del result["temps"]
        result["seconds"] = time.monotonic() - started
        return result

    def invoke_backup(self, request):
        budget = {}
        for name in DEFAULT_BACKUP_BUDGET:
            budget[name] = ps_long(DEFAULT_BACKUP_BUDGET[name])
            if ps_true(assigned(self.get_field(request, name))):
                budget[name] = ps_long(assigned(self.get_field(request, name)))
        budget["manifest_left"] = budget["max_run_manifest_bytes"]
        budget["files_left"] = budget["max_run_files"]
        dest = ps_string(assigned(self.get_field(request, "dest")))
        prune = assigned(self.get_list_field(request, "prune"))
        results = []
        for entry in assigned(self.get_list_field(request, "profiles")):
            if ps_eq(ps_string(assigned(self.get_field(request, "mode"))), "scan"):
                results.append(self.get_profile_scan(entry, dest, budget, prune))
            else:
                results.append(self.invoke_profile_backup(entry, dest))
        return {"protocol": PROTOCOL, "host": computer_name(), "profiles": results}


def run_backup(base, request):
    twin = BackupTwin(base)
    return twin.invoke_script("backup", twin.invoke_backup, json.dumps(request))
