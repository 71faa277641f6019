# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backup I/O on POSIX hosts: archive one profile into ``dest``.

Every path below the home and below ``dest`` is opened one component at a
time with O_NOFOLLOW (as collect.py does), so a planted symlink is refused,
never followed. The profile is read while this process holds Thunderbird's
own lock, file by file into a zip written to a temp name through a
non-seekable sink (so the archive's SHA-256 comes in the same pass and
memory stays flat), read back to check every member's CRC, fsynced and only
then renamed to its final name. The decisions are in backup.py.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import hashlib
import io
import os
import socket
import stat
import time
import zipfile
import zlib

from ansible_collections.rectorat.thunderbird.plugins.module_utils import backup as bk
from ansible_collections.rectorat.thunderbird.plugins.module_utils.collect import (
    SymlinkInPath, is_locked, open_dir_below)
from ansible_collections.rectorat.thunderbird.plugins.module_utils.commit import (  # noqa: F401  (Refused: restore_io's too)
    EffectiveUser, Refused, hold_profile_lock, process_alive, profile_location, write_all)
from ansible_collections.rectorat.thunderbird.plugins.module_utils.nofollow_dirs_io import open_dirs

CHUNK = 1 << 20
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


# ---------------------------------------------------------------- profile side

def refuse_if_running(dir_fd):
    """Refused when Thunderbird has the profile open, or when that cannot be told."""
    locked, problem = is_locked(dir_fd)
    if problem:
        raise Refused("error", "cannot tell whether Thunderbird runs: %s" % problem)
    if locked:
        raise Refused("running", "Thunderbird has this profile open")


def list_profile(dir_fd, uid):
    """(files, dirs) of the profile, sorted, excluded names left out.
    files: dicts path, size, mtime_ns. Refused on a symlink, a special
    file, a file owned by someone else, or more than MAX_FILES entries."""
    files, dirs = [], []
    stack = [("", os.dup(dir_fd))]
    try:
        while stack:
            prefix, fd = stack.pop()
            try:
                names = sorted(os.listdir(fd))
                subdirs = []
                for name in names:
                    rel = prefix + name
                    if bk.is_excluded(rel):
                        continue
                    st = os.stat(name, dir_fd=fd, follow_symlinks=False)
                    if stat.S_ISLNK(st.st_mode):
                        raise Refused("error", "refused: %s is a symbolic link" % rel)
                    if uid is not None and st.st_uid != uid:
                        raise Refused("error", "refused: %s is owned by uid %d, not by the profile's user "
                                      "(uid %d)" % (rel, st.st_uid, uid))
                    if stat.S_ISDIR(st.st_mode):
                        subdirs.append(name)
                        dirs.append(rel)
                    elif stat.S_ISREG(st.st_mode):
                        files.append({"path": rel, "size": st.st_size, "mtime_ns": st.st_mtime_ns,
                                      "identity": (st.st_dev, st.st_ino, st.st_uid)})
                    else:
                        raise Refused("error", "refused: %s is not a regular file" % rel)
                    if len(files) + len(dirs) > bk.MAX_FILES:
                        raise Refused("error", "more than %d files in the profile" % bk.MAX_FILES)
                for name in reversed(subdirs):
                    stack.append((prefix + name + "/", os.open(name, _DIR, dir_fd=fd)))
            finally:
                os.close(fd)
    except BaseException:
        for _prefix, fd in stack:
            os.close(fd)
        raise
    files.sort(key=lambda f: f["path"])
    dirs.sort()
    return files, dirs


class DirCache:
    """The fd of the folder of the file being read: consecutive files of a
    sorted listing share it, so each folder is walked to once."""

    def __init__(self, root_fd):
        self.root_fd = root_fd
        self.rel = None
        self.fd = None

    def get(self, rel_dir):
        if rel_dir != self.rel:
            self.close()
            fd = os.dup(self.root_fd)
            try:
                for part in [p for p in rel_dir.split("/") if p]:
                    child = os.open(part, _DIR, dir_fd=fd)
                    os.close(fd)
                    fd = child
            except BaseException:
                os.close(fd)
                raise
            self.fd, self.rel = fd, rel_dir
        return self.fd

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = self.rel = None


# ---------------------------------------------------------------- zip writing

class HashingSink(io.RawIOBase):
    """Write-only, non-seekable: zipfile then writes data descriptors and
    never seeks back, so the archive's SHA-256 is computed as it is written."""

    def __init__(self, fd):
        io.RawIOBase.__init__(self)
        self.fd = fd
        self.sha256 = hashlib.sha256()
        self.count = 0

    def writable(self):
        return True

    def seekable(self):
        return False

    def seek(self, *args):
        raise OSError(errno.ESPIPE, "not seekable")

    def tell(self):
        return self.count

    def write(self, data):
        total = len(memoryview(data))
        write_all(self.fd, data)
        self.sha256.update(data)
        self.count += total
        return total

    def flush(self):
        pass

    def close(self):
        io.RawIOBase.close(self)


def zip_time(mtime_ns):
    t = time.gmtime(mtime_ns // 1000000000)
    if t.tm_year < 1980:
        return (1980, 1, 1, 0, 0, 0)
    return (min(t.tm_year, 2107),) + tuple(t[1:6])


def member_info(name, size, mtime_ns, mode, compress):
    info = zipfile.ZipInfo(name, zip_time(mtime_ns))
    info.external_attr = (mode & 0xFFFF) << 16
    info.create_system = 3
    info.file_size = size
    if compress:
        info.compress_type = zipfile.ZIP_DEFLATED
        info._compresslevel = 1
        if hasattr(info, "compress_level"):
            info.compress_level = 1
    return info


def add_file(zf, dirs, entry, compress):
    """Stream one profile file into the zip; its manifest entry."""
    rel = entry["path"]
    parent, _sep, name = rel.rpartition("/")
    fd = os.open(name, _READ, dir_fd=dirs.get(parent))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Refused("error", "refused: %s is not a regular file" % rel)
        # The open file must be the one the walk checked (owner included):
        # a swap between the two is refused, never archived.
        if (st.st_dev, st.st_ino, st.st_uid) != entry["identity"]:
            raise Refused("error", "refused: %s was replaced while the profile was read" % rel)
        digest = hashlib.sha256()
        size = 0
        info = member_info(rel, st.st_size, st.st_mtime_ns, stat.S_IMODE(st.st_mode) | stat.S_IFREG, compress)
        with zf.open(info, "w", force_zip64=st.st_size > (1 << 30)) as out:
            # Never past the size fstat gave: a file that grows while it is
            # read (or a sparse giant swapped in) cannot grow the archive.
            while size < st.st_size:
                chunk = os.read(fd, min(CHUNK, st.st_size - size))
                if not chunk:
                    raise Refused("error", "refused: %s shrank while it was read" % rel)
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
    finally:
        os.close(fd)
    return {"path": rel, "size": size, "mtime_ns": st.st_mtime_ns, "sha256": digest.hexdigest(),
            "mode": stat.S_IMODE(st.st_mode)}


def write_archive(out_fd, profile_fd, listing, dirs, manifest_of, compress=False):
    """Write the zip to ``out_fd``; (manifest, archive sha256, bytes)."""
    sink = HashingSink(out_fd)
    cache = DirCache(profile_fd)
    done = []
    try:
        with zipfile.ZipFile(sink, "w", allowZip64=True) as zf:
            for rel in dirs:
                zf.writestr(member_info(rel + "/", 0, 0, 0o40755, False), b"")
            for entry in listing:
                done.append(add_file(zf, cache, entry, compress))
            manifest = manifest_of(done)
            zf.writestr(member_info(bk.MANIFEST_MEMBER, 0, time.time_ns() if hasattr(time, "time_ns")
                                    else int(time.time() * 1e9), 0o100644, True),
                        bk.manifest_bytes(manifest))
    finally:
        cache.close()
    return manifest, sink.sha256.hexdigest(), sink.count


def member_chunks(zf, member):
    """The content of one member of ``zf``, CHUNK by CHUNK (zipfile checks
    its CRC at the end)."""
    with zf.open(member) as stream:
        while True:
            chunk = stream.read(CHUNK)
            if not chunk:
                return
            yield chunk


def verify_archive(fd, manifest):
    """Read every member back: zipfile checks each CRC; names and sizes must
    be the manifest's. Raises Refused naming the first problem."""
    expected = dict((f["path"], f["size"]) for f in manifest["files"])
    with os.fdopen(os.dup(fd), "rb") as raw:
        raw.seek(0)
        try:
            with zipfile.ZipFile(raw) as zf:
                for info in zf.infolist():
                    if info.is_dir() or info.filename == bk.MANIFEST_MEMBER:
                        continue
                    size = sum(len(chunk) for chunk in member_chunks(zf, info))
                    if expected.pop(info.filename, None) != size:
                        raise Refused("error", "read back: %s has an unexpected size" % info.filename)
        except (zipfile.BadZipfile, zipfile.LargeZipFile, EOFError, zlib.error) as exc:
            raise Refused("error", "read back of the archive failed: %s" % exc)
    if expected:
        raise Refused("error", "read back: %d file(s) missing from the archive" % len(expected))


# ---------------------------------------------------------------- dest side

def open_dest(dest, parts, create):
    """fd of ``dest/parts...``; folders made (0700) when ``create``."""
    try:
        fd = os.open(dest, _DIR)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR) and os.path.islink(dest):
            raise Refused("error", "refused: dest %s is a symbolic link" % dest)
        raise Refused("error", "cannot open dest %s: %s" % (dest, exc.strerror))
    try:
        return open_dirs(fd, parts, create, shown=dest)
    finally:
        os.close(fd)


def read_small(dir_fd, name, limit):
    try:
        fd = os.open(name, _READ, dir_fd=dir_fd)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
            return None
        chunks = []
        while True:
            chunk = os.read(fd, CHUNK)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def existing_archives(dir_fd, host=None):
    """{stamp: (good, manifest or None)} of this module's archives in the
    folder. Good: a regular file whose manifest beside it parses and gives
    its size. Anything else in the folder, and archives that another host
    made there (a shared dest), are not ours and are ignored."""
    out = {}
    if dir_fd is None:
        return out
    for name in os.listdir(dir_fd):
        match = bk.ARCHIVE_RE.match(name)
        if not match:
            continue
        stamp = match.group(1)
        try:
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        manifest = None
        data = read_small(dir_fd, bk.manifest_name(stamp), bk.MAX_MANIFEST_BYTES)
        if data is not None:
            try:
                manifest = bk.parse_manifest(data)
            except bk.BadManifest:
                manifest = None
        if manifest is not None and bk.made_elsewhere(manifest, host):
            continue
        good = bool(manifest and manifest.get("archive", {}).get("bytes") == st.st_size)
        out[stamp] = (good, manifest if good else None)
    return out


def remove_stale_temps(dir_fd):
    """Temp files of a run of this host that died (kill -9): their process
    is gone. Then a manifest left without its archive (killed between the
    two renames) and without another run's temp files beside it."""
    removed = []
    names = os.listdir(dir_fd)
    live = set()
    host = socket.gethostname()
    for name in names:
        match = bk.TEMP_RE.match(name)
        if not match:
            continue
        if bk.temp_is_dead(match, host, process_alive):
            _unlink(dir_fd, name)
            removed.append(name)
        else:
            live.add(match.group(1))
    for name in names:
        match = bk.MANIFEST_RE.match(name)
        if match and match.group(1) not in live and bk.archive_name(match.group(1)) not in names:
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            if stat.S_ISREG(st.st_mode):
                _unlink(dir_fd, name)
                removed.append(name)
    return removed


def apply_retention(dir_fd, archives, keep):
    removed = []
    for stamp in bk.retention_plan(dict((s, g) for s, (g, _m) in archives.items()), keep):
        for name in (bk.archive_name(stamp), bk.manifest_name(stamp)):
            try:
                st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
                if stat.S_ISREG(st.st_mode):
                    os.unlink(name, dir_fd=dir_fd)
                    if name.endswith(".zip"):
                        removed.append(stamp)
            except OSError:
                pass
    return removed


def write_file_atomic(dir_fd, final, data, mode=0o600):
    """``final`` replaced by ``data`` at once: a temp file, fsynced, renamed."""
    tmp = bk.temp_name(final, os.getpid(), socket.gethostname())
    fd = os.open(tmp, _CREATE, mode, dir_fd=dir_fd)
    try:
        write_all(fd, data)
        os.fsync(fd)
        os.close(fd)
        fd = None
        os.rename(tmp, final, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        if fd is not None:
            os.close(fd)
        _unlink(dir_fd, tmp)
        raise


def _unlink(dir_fd, name):
    try:
        os.unlink(name, dir_fd=dir_fd)
    except OSError:
        pass


# ---------------------------------------------------------------- one profile

def utc_stamp():
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())


def backup_profile(entry, dest, keep, check_mode, compress=False, stamp_fn=utc_stamp):
    """Archive one profile. ``entry``: path, home, uid, gid, user, name.
    Returns dict(status, archive, bytes, files, sha256, removed, error)."""
    result = {"status": None, "archive": None, "bytes": None, "files": None, "sha256": None,
              "removed": [], "error": None}
    folder = bk.archive_folder(entry.get("user"), entry.get("name"), entry.get("uid"))
    base, parts = profile_location(entry)
    try:
        with EffectiveUser(entry.get("uid"), entry.get("gid")):
            profile_fd = open_dir_below(base, parts)
            try:
                lock_fd = None if check_mode else hold_profile_lock(profile_fd, create=True)
            except BaseException:
                os.close(profile_fd)
                raise
        try:
            if check_mode:
                refuse_if_running(profile_fd)
            listing, dirs = list_profile(profile_fd, entry.get("uid"))
            dest_fd = open_dest(dest, folder, create=not check_mode)
            try:
                archives = existing_archives(dest_fd, socket.gethostname())
                good = sorted((s for s, (g, _m) in archives.items() if g), reverse=True)
                last = archives[good[0]][1] if good else None
                if bk.unchanged(listing, last) and last.get("dirs", []) == dirs:
                    result.update(status="unchanged", archive=os.path.join(dest, *folder + (
                        bk.archive_name(good[0]),)), bytes=last["archive"]["bytes"], files=len(listing),
                        sha256=last["archive"]["sha256"])
                else:
                    # A stamp no name of the folder has: not one of a run
                    # earlier in the same second, nor another host's (whose
                    # archives ``archives`` leaves out) in a shared dest.
                    taken = set(os.listdir(dest_fd))
                    stamp = stamp_fn()
                    while bk.archive_name(stamp) in taken or bk.manifest_name(stamp) in taken:
                        time.sleep(0.2)
                        stamp = stamp_fn()
                    result.update(status="backed_up", files=len(listing),
                                  archive=os.path.join(dest, *folder + (bk.archive_name(stamp),)))
                    if not check_mode:
                        remove_stale_temps(dest_fd)
                        made = write_one(dest_fd, profile_fd, listing, dirs, entry, stamp, compress)
                        result.update(bytes=made["archive"]["bytes"], sha256=made["archive"]["sha256"])
                        archives[stamp] = (True, made)
                if not check_mode:
                    remove_stale_temps(dest_fd)
                    result["removed"] = apply_retention(dest_fd, archives, keep)
                else:
                    result["removed"] = bk.retention_plan(
                        dict(list((s, g) for s, (g, _m) in archives.items())
                             + ([(stamp, True)] if result["status"] == "backed_up" else [])), keep)
            finally:
                if dest_fd is not None:
                    os.close(dest_fd)
        finally:
            if lock_fd is not None:
                os.close(lock_fd)
            os.close(profile_fd)
    except Refused as exc:
        result.update(status="skipped_running" if exc.status == "running" else "error", error=str(exc))
    except SymlinkInPath as exc:
        result.update(status="error", error="refused: %s is a symbolic link below the home folder" % exc.component)
    except OSError as exc:
        result.update(status="error", error="%s: %s" % (exc.filename or entry["path"], exc.strerror))
    return result


def write_one(dest_fd, profile_fd, listing, dirs, entry, stamp, compress):
    """Temp zip → fsync → read back → manifest beside → rename. Returns the
    manifest (with its ``archive`` part). Nothing of this run is left on
    failure."""
    final = bk.archive_name(stamp)
    tmp = bk.temp_name(final, os.getpid(), socket.gethostname())
    try:
        fd = os.open(tmp, (_CREATE & ~os.O_WRONLY) | os.O_RDWR, 0o600, dir_fd=dest_fd)
    except OSError as exc:
        raise Refused("error", "cannot create the archive in dest: %s" % exc.strerror)
    try:
        def manifest_of(files):
            manifest = bk.build_manifest(dict(entry, host=socket.gethostname()), files, stamp)
            manifest["dirs"] = dirs
            return manifest
        try:
            manifest, digest, size = write_archive(fd, profile_fd, listing, dirs, manifest_of, compress)
            os.fsync(fd)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise Refused("error", "dest is full: %s" % exc.strerror)
            raise
        verify_archive(fd, manifest)
        manifest["archive"] = {"name": final, "bytes": size, "sha256": digest}
        # Beside first, then the zip's final name: a final-named zip always has its manifest.
        write_file_atomic(dest_fd, bk.manifest_name(stamp), bk.manifest_bytes(manifest))
        os.rename(tmp, final, src_dir_fd=dest_fd, dst_dir_fd=dest_fd)
        os.fsync(dest_fd)
    except BaseException:
        os.close(fd)
        _unlink(dest_fd, tmp)
        raise
    os.close(fd)
    return manifest
