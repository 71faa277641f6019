# -*- coding: utf-8 -*-
"""Shared machinery of the hardening suite: sandboxes, before/after snapshots,
the judge that counts what went wrong, and the tally.

The pytest tests and ``scripts/hardening-tally`` count with the same code
(``judge``, ``Outcome``, ``summarize``): a test passes exactly when its
outcome has nothing to count, and the tally adds up the outcomes the tests
recorded.
"""

import base64
import fcntl
import hashlib
import json
import os
import re
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "lib"))

import after_facts  # noqa: E402  (tests/lib/after_facts.py)
import sandbox as tbsandbox  # noqa: E402  (tests/lib/sandbox.py)
from hardening_tally import Outcome, record  # noqa: E402,F401  (the counting, shared with scripts/hardening-tally)

from ansible_collections.rectorat.thunderbird.plugins.module_utils import (  # noqa: E402
    collect, commit, plan, prefs, workflow)

OWNER = 4242        # the profile's user, unprivileged
OTHER = 4343        # another user, whose files must never change
MANAGED = ("prefs.js", "user.js", "folderCache.json")
OFFLINE = 0x08000000
NEVER_OFFLINE = 0x00000100 | 0x40000000 | 0x00000020  # Trash, Junk, virtual
BACKUP_NAME = re.compile(r"^(prefs\.js|user\.js|folderCache\.json)\.\d{8}T\d{6}Z\.bak$")
# Prefs the module may set (see plan.wanted_prefs); any other value must survive.
OFFLINE_PREFS = re.compile(
    r"^mail\.server\.[^.]+\.(offline_download|autosync_max_age_days|limit_offline_message_size|max_size)$")
KEEP_BYTES = 64 * 1024 * 1024
DEFAULT_PARAMS = {"users": None, "profiles": None, "servers": None, "sync_age_days": 0,
                  "size_limit_kb": 0, "if_running": "skip", "backup": True}
# Where sandboxes are made: /tmp, or the tmpfs of mount_sandbox_parent().
SANDBOX_PARENT = ["/tmp"]
AFTER_FACTS_KEY = "_after_facts_mismatches"  # added to a run's result by module_run


# --- snapshots ------------------------------------------------------------------

def content_digest(name, dir_fd=None):
    """sha256 of a regular file's data segments with their offsets: a sparse
    file of 64 GiB is hashed without reading its holes."""
    digest = hashlib.sha256()
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
    try:
        size = os.fstat(fd).st_size
        offset = 0
        while offset < size:
            try:
                start = os.lseek(fd, offset, os.SEEK_DATA)
            except OSError:
                break
            end = os.lseek(fd, start, os.SEEK_HOLE)
            digest.update(b"@%d:" % start)
            os.lseek(fd, start, os.SEEK_SET)
            remaining = end - start
            while remaining > 0:
                chunk = os.read(fd, min(remaining, 1 << 20))
                if not chunk:
                    break
                digest.update(chunk)
                remaining -= len(chunk)
            offset = end
    finally:
        os.close(fd)
    return "%d:%s" % (size, digest.hexdigest())


def entry_state(name, dir_fd=None, keep_bytes=False):
    """[kind, content, uid, gid, mode(, bytes)] of one path, not following links."""
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None
    mode = st.st_mode
    if stat.S_ISLNK(mode):
        content, kind = os.readlink(name, dir_fd=dir_fd), "link"
    elif stat.S_ISREG(mode):
        kind = "file"
        content = content_digest(name, dir_fd) if st.st_size else "0:"
    elif stat.S_ISDIR(mode):
        kind, content = "dir", None
    else:
        kind, content = "special", "%o:%d" % (stat.S_IFMT(mode), st.st_rdev)
    state = [kind, content, st.st_uid, st.st_gid, stat.S_IMODE(mode)]
    if keep_bytes and kind == "file" and st.st_size <= KEEP_BYTES:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=dir_fd)
        with os.fdopen(fd, "rb") as f:
            state.append(f.read())
    return state


def snapshot(tops):
    """path -> entry_state for every path below each of ``tops`` (and the tops).
    The bytes of the files the module may write are kept, for the judge.
    Walks with directory fds, so that trees deeper than PATH_MAX are fine."""
    out = {}
    for top in tops:
        out[top] = entry_state(top)
        if out[top] is None or out[top][0] != "dir":
            continue
        for root, dirs, files, root_fd in os.fwalk(top):
            for name in dirs + files:
                keep = name in MANAGED or bool(BACKUP_NAME.match(name))
                out[os.path.join(root, name)] = entry_state(name, root_fd, keep_bytes=keep)
    return out


def same_state(a, b):
    """Equal as far as the user can tell: type, content, owner, group, mode."""
    if a is None or b is None:
        return a is b
    return a[:5] == b[:5]


def same_tree(a, b):
    return set(a) == set(b) and all(same_state(a[p], b[p]) for p in a)


def data_of(state):
    if state is None or len(state) < 6:
        return None
    return state[5]


def encode_snapshot(snap):
    """JSON-able copy (kept bytes in base64), to send a snapshot from a child."""
    return dict((path, state if state is None or len(state) < 6 else
                 state[:5] + [base64.b64encode(state[5]).decode("ascii")])
                for path, state in snap.items())


def decode_snapshot(snap):
    return dict((path, state if state is None or len(state) < 6 else
                 state[:5] + [base64.b64decode(state[5])])
                for path, state in snap.items())


# --- sandboxes --------------------------------------------------------------------

def chown_tree(path, uid, gid=None):
    gid = uid if gid is None else gid
    os.lchown(path, uid, gid)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.lchown(os.path.join(root, name), uid, gid)


class Sandbox:
    """A throw-away tree: the user's home (``home``, uid OWNER), another
    user's home (``other``, uid OTHER), a root-owned canary, and the
    expectations of the case built in it."""

    def __init__(self, base=None):
        self.base = base or tempfile.mkdtemp(prefix="tbhard-", dir=SANDBOX_PARENT[0])
        os.chmod(self.base, 0o755)
        self.home = os.path.join(self.base, "home")
        self.other = os.path.join(self.base, "other")
        self.root = os.path.join(self.home, ".thunderbird")
        self.canary = os.path.join(self.base, "canary", "root-secret")
        for path, uid, mode in ((self.home, OWNER, 0o755), (self.other, OTHER, 0o755),
                                (os.path.dirname(self.canary), 0, 0o755), (self.root, OWNER, 0o700)):
            os.makedirs(path, exist_ok=True)
            os.chown(path, uid, uid)
            os.chmod(path, mode)
        self.write(self.canary, b"root only; must never change\n", uid=0, mode=0o600)
        self.params = dict(DEFAULT_PARAMS, profiles=[self.root])
        self.expected = {}          # profile path -> (status, error regex or None)
        self.host_errors = []       # regexes, one per expected host-level error
        self.profile_dirs = set()   # every folder whose files count as a profile's
        self.watch = []             # paths outside base to snapshot too
        self.after_collect = []     # hooks run in the child: hook(sandbox, snapshot)
        self.child_setup = []       # hooks run in the child before the run
        self.verify = []            # extra checks: fn(sandbox, result) -> [problems]
        self.validate_files = True  # check changed files against the old ones
        self.second_run = True
        self.mounts = []
        self.cleanups = []
        self.children = []          # processes started by hooks (lock holders)
        self.ini_profiles = []      # profiles listed in the profiles.ini written at the end

    # files
    def write(self, path, data, uid=OWNER, gid=None, mode=0o600):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if isinstance(data, str):
            data = data.encode("utf-8")
        with open(path, "wb") as f:
            f.write(data)
        os.chown(path, uid, uid if gid is None else gid)
        os.chmod(path, mode)
        return path

    def read(self, path):
        with open(path, "rb") as f:
            return f.read()

    def symlink(self, target, path, uid=OWNER):
        os.symlink(target, path)
        os.lchown(path, uid, uid)
        return path

    # profiles
    def profile(self, name="aaaa.default", accounts=None, parent=None, uid=OWNER, expect="changed",
                error=None, **kw):
        """A Thunderbird-shaped profile (tests/lib/sandbox.py) owned by ``uid``."""
        parent = parent or self.root
        if accounts is None:
            accounts = [tbsandbox.imap("imap.ac-test.fr", "alice", offline=False),
                        tbsandbox.pop("pop.ac-test.fr", "alice.pop")]
        path = tbsandbox.write_profile(os.path.join(parent, name), accounts, **kw)
        chown_tree(path, uid)
        self.profile_dirs.add(path)
        if expect is not None:
            self.expect(path, expect, error)
        if parent == self.root and self.ini_profiles is not None:
            self.ini_profiles.append(name)
        return path

    def fixture_profile(self, name, fixture="synced-killed", expect="changed", error=None):
        """A copy of a profile written by the real Thunderbird
        (tests/fixtures/tb-profiles; synced-killed has no folderCache.json, so
        the folders' flags live only in their .msf summaries)."""
        path = os.path.join(self.root, name)
        shutil.copytree(os.path.join(os.path.dirname(HERE), "fixtures", "tb-profiles", fixture), path)
        chown_tree(path, OWNER)
        self.profile_dirs.add(path)
        self.ini_profiles.append(name)
        if expect is not None:
            self.expect(path, expect, error)
        return path

    def other_profile(self, name="zzzz.other", mode=0o700, **kw):
        """A profile of the other user, in the other user's home."""
        root = os.path.join(self.other, ".thunderbird")
        os.makedirs(root, exist_ok=True)
        os.chown(root, OTHER, OTHER)
        path = self.profile(name, parent=root, uid=OTHER, expect=None, **kw)
        os.chmod(path, mode)
        return path

    def profiles_ini(self, text, name="profiles.ini"):
        data = text.encode("utf-8") if isinstance(text, str) else text
        return self.write(os.path.join(self.root, name), data, mode=0o644)

    def expect(self, path, status, error=None):
        self.profile_dirs.add(path)
        self.expected[path] = (status, error)

    def expect_host_error(self, regex):
        self.host_errors.append(regex)

    # mounts (root only; a failing mount fails the case)
    def mount_tmpfs(self, path, size="1m", extra=""):
        os.makedirs(path, exist_ok=True)
        options = "size=%s,mode=0755%s" % (size, "," + extra if extra else "")
        subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tbhard", path], check=True)
        self.mounts.append(path)
        return path

    def bind_readonly(self, path):
        subprocess.run(["mount", "--bind", path, path], check=True)
        self.mounts.append(path)
        subprocess.run(["mount", "-o", "remount,bind,ro", path], check=True)
        return path

    def remount_readonly(self, path):
        subprocess.run(["mount", "-o", "remount,ro", path], check=True)

    def bind_file(self, source, target):
        subprocess.run(["mount", "--bind", source, target], check=True)
        self.mounts.append(target)

    def fill(self, mount, leave_bytes=0, name="filler"):
        """Fill the file system of ``mount`` with a root-owned file, leaving
        about ``leave_bytes`` free."""
        path = os.path.join(mount, name)
        with open(path, "wb") as f:
            try:
                while True:
                    f.write(b"\xa5" * 65536)
                    f.flush()
            except OSError:
                pass
        size = os.path.getsize(path)
        os.truncate(path, max(0, size - leave_bytes))
        return path

    def exhaust_inodes(self, mount):
        folder = os.path.join(mount, "inodes")
        os.mkdir(folder)
        for i in range(1 << 20):
            try:
                os.close(os.open(os.path.join(folder, "%d" % i), os.O_CREAT | os.O_WRONLY, 0o600))
            except OSError:
                return i
        raise AssertionError("%s never ran out of inodes" % mount)

    def real_user(self):
        """A local user (uid/gid OWNER, names may share ids) whose home is
        ``home``, for discovery through ``users``; removed with the sandbox."""
        name = "tbh%d%s" % (os.getpid(), os.path.basename(self.base)[-6:].lower())
        name = re.sub(r"[^a-z0-9]", "x", name)[:31]
        retry(["groupadd", "-o", "-g", str(OWNER), name])
        self.cleanups.append(lambda: group_exists(name) and retry(["groupdel", "-f", name]))
        retry(["useradd", "-M", "-N", "-o", "-u", str(OWNER), "-g", str(OWNER), "-d", self.home,
               "-s", "/usr/sbin/nologin", name])
        # -f: other processes may run as uid OWNER (it is shared on purpose).
        self.cleanups.append(lambda: retry(["userdel", "-f", name]))
        return name

    def hold_lock(self, profile):
        """Lock ``.parentlock`` from another process, as a running Thunderbird does."""
        lockfile = os.path.join(profile, ".parentlock")
        if not os.path.lexists(lockfile):
            self.write(lockfile, b"", mode=0o644)
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(read_end)
                fd = os.open(lockfile, os.O_RDWR)
                fcntl.lockf(fd, fcntl.LOCK_EX)
                os.write(write_end, b"L")
                signal.pause()
            finally:
                os._exit(0)
        os.close(write_end)
        assert os.read(read_end, 1) == b"L"
        os.close(read_end)
        self.children.append(pid)
        return pid

    def stop_children(self):
        for pid in self.children:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except OSError:
                pass
        self.children = []

    def write_profiles_ini(self):
        if self.ini_profiles:
            tbsandbox.write_profiles_ini(self.root, self.ini_profiles, default=self.ini_profiles[0])
            for name in ("profiles.ini", "installs.ini"):
                path = os.path.join(self.root, name)
                if os.path.exists(path):
                    os.chown(path, OWNER, OWNER)

    def tops(self):
        return [self.base] + list(self.watch)

    def destroy(self):
        """Undo everything; a cleanup that fails is raised after the rest is done."""
        self.stop_children()
        failures = []
        for fn in reversed(self.cleanups):
            try:
                fn()
            except Exception as exc:  # pylint: disable=broad-except
                failures.append(exc)
        self.cleanups = []
        for path in reversed(self.mounts):
            subprocess.run(["umount", "-l", path], check=False)
        self.mounts = []
        shutil.rmtree(self.base, ignore_errors=True)
        if failures:
            raise failures[0]


def group_exists(name):
    return subprocess.run(["getent", "group", name], capture_output=True, check=False).returncode == 0


def retry(command, check=True, attempts=20):
    """useradd & co. fail while another process holds /etc/passwd's lock."""
    for attempt in range(attempts):
        proc = subprocess.run(command, capture_output=True, text=True, check=False)
        if proc.returncode == 0 or "lock" not in proc.stderr or attempt == attempts - 1:
            break
        time.sleep(0.2)
    if check and proc.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(command), proc.stderr))
    return proc


def mount_sandbox_parent():
    """A tmpfs for the corpus' sandboxes (fast to fill and to throw away; fsync
    costs nothing). Returns a function that unmounts it."""
    path = tempfile.mkdtemp(prefix="tbhard-tmpfs-", dir="/tmp")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3g,nr_inodes=2m,mode=0755", "tbhard", path], check=True)
    SANDBOX_PARENT[0] = path

    def unmount():
        SANDBOX_PARENT[0] = "/tmp"
        subprocess.run(["umount", "-l", path], check=False)
        os.rmdir(path)
    return unmount


# --- running the module's code in a child process -------------------------------------

class ChildResult:
    def __init__(self, value=None, crash=None, rss_kb=0, seconds=0.0, killed=False):
        self.value = value
        self.crash = crash
        self.rss_kb = rss_kb
        self.seconds = seconds
        self.killed = killed


def baseline_rss_kb():
    """Peak RSS of a child that does nothing (what fork inherits)."""
    return run_forked(lambda: None, timeout=30).rss_kb


def run_forked(fn, timeout=120, on_start=None):
    """Run ``fn()`` in a forked child; its JSON-able return value comes back.

    An exception in the child is a crash (with its traceback); so is a child
    that outlives ``timeout``. ``on_start(pid)`` runs in the parent once the
    child exists (the kill test sends SIGKILL from there); a child killed by
    SIGKILL comes back with ``killed`` set.
    """
    read_end, write_end = os.pipe()
    started = time.time()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.close(read_end)
            try:
                payload = {"value": fn()}
            except BaseException:
                payload = {"crash": traceback.format_exc()}
            view = memoryview(json.dumps(payload).encode("utf-8"))
            while view:
                view = view[os.write(write_end, view):]
        except BaseException:
            code = 70
        finally:
            os._exit(code)
    os.close(write_end)
    if on_start is not None:
        on_start(pid)
    chunks, deadline, timed_out = [], started + timeout, False
    try:
        while True:
            ready = select.select([read_end], [], [], max(0.0, deadline - time.time()))[0]
            if not ready:
                os.kill(pid, signal.SIGKILL)
                timed_out = True
                break
            chunk = os.read(read_end, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_end)
    status, usage = os.wait4(pid, 0)[1:]
    seconds = time.time() - started
    if timed_out:
        return ChildResult(crash="timeout: still running after %ds" % timeout,
                           rss_kb=usage.ru_maxrss, seconds=seconds)
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
        return ChildResult(killed=True, rss_kb=usage.ru_maxrss, seconds=seconds)
    try:
        payload = json.loads(b"".join(chunks).decode("utf-8"))
    except ValueError:
        return ChildResult(crash="child ended with status %r and no result" % status,
                           rss_kb=usage.ru_maxrss, seconds=seconds)
    return ChildResult(payload.get("value"), payload.get("crash"), usage.ru_maxrss, seconds)


def module_run(params, after_collect=(), sb=None, enforce=True, check_mode=False,
               commit_fn=None):
    """workflow.run as the thunderbird_offline module does it, with the
    case's hooks between collect and plan."""
    seen = {}

    def collect_fn(request):
        snap = collect.collect(request)
        for hook in after_collect:
            hook(sb, snap)
        seen["snapshot"] = snap
        return snap
    result = workflow.run(params, enforce=enforce, check_mode=check_mode,
                          collect_fn=collect_fn, commit_fn=commit_fn or commit.commit)
    if enforce and "snapshot" in seen:
        planned = plan.plan(seen["snapshot"], workflow.options_from_params(params, enforce))
        result[AFTER_FACTS_KEY] = after_facts.mismatches(
            seen["snapshot"], planned["commit"], result["ansible_facts"]["thunderbird"]["profiles"])
    return result


def slim(result):
    """The result without the diff texts (the module drops them without --diff)."""
    result = dict(result)
    result["diff"] = len(result.get("diff") or [])
    return result


def run_case_child(sb, timeout=120):
    """First run of a case, in a child: hooks, workflow.run, and the snapshot
    taken right after the last hook (the state the run had to respect)."""
    def child():
        mid = {}
        hooks = list(sb.after_collect)
        if hooks:
            def resnap(box, snap):
                mid["snapshot"] = encode_snapshot(snapshot(box.tops()))
            hooks.append(resnap)
        for setup in sb.child_setup:
            setup(sb)
        try:
            result = module_run(sb.params, hooks, sb)
        finally:
            sb.stop_children()
        return {"result": slim(result), "mid": mid.get("snapshot")}
    return run_forked(child, timeout=timeout)


# --- the judge --------------------------------------------------------------------------

def records_of(result):
    facts = (result or {}).get("ansible_facts", {}).get("thunderbird", {})
    return dict((r["path"], r) for r in facts.get("profiles", [])), facts.get("errors", [])


def owner_profile(path, profile_dirs):
    best = None
    for folder in profile_dirs:
        if path == folder or path.startswith(folder + "/"):
            if best is None or len(folder) > len(best):
                best = folder
    return best


def check_prefs_file(old, new):
    """Problems of a rewritten prefs.js/user.js: it must parse cleanly and
    keep every value but the offline settings."""
    doc = prefs.parse(new)
    if doc.errors or doc.stopped_at is not None:
        return ["does not parse after the write: %s" % (doc.errors[:1] or "NUL at %s" % doc.stopped_at)]
    before = prefs.parse(old).values
    problems = []
    for name in set(before) | set(doc.values):
        if OFFLINE_PREFS.match(name):
            continue
        if name not in doc.values:
            problems.append("pref %s lost" % name)
        elif name not in before:
            problems.append("pref %s added" % name)
        elif not prefs.same_value(before[name], doc.values[name]):
            problems.append("pref %s changed from %r to %r" % (name, before[name], doc.values[name]))
    if old.startswith(b"\xef\xbb\xbf") != new.startswith(b"\xef\xbb\xbf"):
        problems.append("byte-order mark not kept")
    return problems[:5]


def check_folder_cache(profile, old, new):
    """Problems of a rewritten folderCache.json: every old entry kept, only
    the Offline bit added; new entries only for .msf files below ImapMail/."""
    try:
        after = json.loads(new.decode("utf-8"))
    except ValueError as exc:
        return ["not valid JSON after the write: %s" % exc]
    before = json.loads(old.decode("utf-8")) if old is not None else {}
    problems = []
    for key, entry in before.items():
        if key not in after:
            problems.append("entry %s lost" % key)
            continue
        new_entry = after[key]
        if isinstance(entry, dict) and isinstance(new_entry, dict):
            for member in set(entry) | set(new_entry):
                if member == "flags" and isinstance(entry.get("flags"), int):
                    if new_entry.get("flags") not in (entry["flags"], entry["flags"] | OFFLINE):
                        problems.append("flags of %s changed beyond the Offline bit" % key)
                elif entry.get(member) != new_entry.get(member) and not (
                        entry.get(member) != entry.get(member)):  # NaN
                    problems.append("member %s of %s changed" % (member, key))
        elif entry != new_entry:
            problems.append("entry %s changed" % key)
    for key in set(after) - set(before):
        if not (key.startswith(profile + "/ImapMail/") and key.endswith(".msf")):
            problems.append("unexpected new entry %s" % key)
        elif not (isinstance(after[key], dict) and isinstance(after[key].get("flags"), int)):
            problems.append("new entry %s has no flags" % key)
        elif not after[key]["flags"] & (OFFLINE | NEVER_OFFLINE):
            problems.append("new entry %s is not flagged offline" % key)
    return problems[:5]


def judge_files(out, before, after, statuses, expected, profile_dirs, validate=True):
    """Count every difference between two snapshots into ``out``."""
    for path in sorted(set(before) | set(after)):
        old, new = before.get(path), after.get(path)
        if same_state(old, new):
            continue
        profile = owner_profile(path, profile_dirs)
        what = "%s: %s -> %s" % (path, brief(old), brief(new))
        if profile is None:
            out.outside_writes.append(what)
            continue
        written = statuses.get(profile) == "changed" and expected.get(profile, ("changed",))[0] == "changed"
        if not written:
            out.refused_changed.append(what)
            continue
        rel = path[len(profile) + 1:]
        if path == profile or "/" in rel:
            out.outside_writes.append(what)
        elif rel in MANAGED:
            if not validate:
                continue
            out.corrupted.extend("%s: %s" % (path, p) for p in check_written(profile, rel, old, new))
        elif BACKUP_NAME.match(rel) and old is None:
            source = before.get(os.path.join(profile, BACKUP_NAME.match(rel).group(1)))
            if source is None or data_of(new) != data_of(source) or new[2:5] != source[2:5]:
                out.corrupted.append("%s: backup is not the old file with its owner and mode" % path)
        elif old is None and rel.startswith(".") and rel.endswith(".tmp"):
            out.leftovers.append(path)
        else:
            out.outside_writes.append(what)


def check_written(profile, rel, old, new):
    if new is None:
        return ["deleted"]
    if new[0] != "file":
        return ["is now a %s" % new[0]]
    problems = []
    if old is not None and old[0] == "file" and new[2:5] != old[2:5]:
        problems.append("owner/group/mode %s became %s" % (old[2:5], new[2:5]))
    if old is None and (new[2], new[3], new[4]) != (OWNER, OWNER, 0o600):
        problems.append("new file has owner/group/mode %s" % (new[2:5],))
    data = data_of(new)
    if data is None:
        return problems
    if rel == "folderCache.json":
        problems += check_folder_cache(profile, data_of(old), data)
    elif old is not None:
        problems += check_prefs_file(data_of(old), data)
    return problems


def brief(state):
    if state is None:
        return "absent"
    return "%s %s uid=%s gid=%s mode=%o" % (state[0], (state[1] or "")[:24], state[2], state[3], state[4])


def judge_result(out, result, expected, host_errors):
    """Statuses and error messages against the case's expectations."""
    records, errors = records_of(result)
    for path, (status, regex) in sorted(expected.items()):
        record = records.get(path)
        if record is None:
            out.wrong.append("no record for %s" % path)
            continue
        if record["status"] != status:
            out.wrong.append("%s: status %s (error %r), expected %s" % (
                path, record["status"], record.get("error"), status))
        elif regex and not re.search(regex, record.get("error") or ""):
            out.wrong.append("%s: error %r does not match %r" % (path, record.get("error"), regex))
        if record["status"] == "error" and not (record.get("error") or "").strip():
            out.wrong.append("%s: error without a message" % path)
    for path in sorted(set(records) - set(expected)):
        out.wrong.append("unexpected record %s (status %s, error %r)" % (
            path, records[path]["status"], records[path].get("error")))
    remaining = list(errors)
    for regex in host_errors:
        match = [e for e in remaining if re.search(regex, e)]
        if not match:
            out.wrong.append("no host error matching %r in %r" % (regex, errors))
        else:
            remaining.remove(match[0])
    for error in remaining:
        out.wrong.append("unexpected host error %r" % error)
    if result is not None and result.get("changed") != any(r["status"] == "changed" for r in records.values()):
        out.wrong.append("changed=%r does not match the statuses" % result.get("changed"))
    return dict((path, r["status"]) for path, r in records.items())


def judge(case, group, sb, first, before, after, second=None, after_second=None, via="inprocess"):
    """The outcome of a case: ``first`` is the ChildResult of the run,
    ``second`` that of the run again (must change nothing)."""
    out = Outcome(case, group, via)
    out.seconds, out.rss_kb = first.seconds, first.rss_kb
    if first.crash:
        out.crashes.append(first.crash.strip().splitlines()[-1] + "\n" + first.crash)
    value = first.value or {}
    result = value.get("result")
    if value.get("mid"):
        before = decode_snapshot(value["mid"])
    statuses = {}
    if result is not None:
        out.wrong.extend("after-facts: " + line for line in result.get(AFTER_FACTS_KEY, []))
        statuses = judge_result(out, result, sb.expected, sb.host_errors)
        for check in sb.verify:
            out.wrong.extend(check(sb, result))
    judge_files(out, before, after, statuses, sb.expected, sb.profile_dirs, sb.validate_files)
    if second is not None:
        judge_second(out, statuses, sb.profile_dirs, second, after, after_second)
    return out


def split_by_profile(outcome, names):
    """One Outcome per profile of a shared sandbox (``names``: path -> case
    name): each problem goes to the profile whose path it names, the rest
    (host errors, writes outside every profile) to ``<case>/host``."""
    outcomes = dict((path, Outcome(name, outcome.group, outcome.via)) for path, name in names.items())
    rest = Outcome(outcome.case + "/host", outcome.group, outcome.via)
    for field in Outcome.FIELDS:
        for item in getattr(outcome, field):
            owner = None
            for path in names:
                if path in item and (owner is None or len(path) > len(owner)):
                    owner = path
            getattr(outcomes[owner] if owner else rest, field).append(item)
    for item in outcomes.values():
        item.seconds = outcome.seconds
    return list(outcomes.values()) + [rest]


def judge_second(out, statuses, profile_dirs, second, after, after_second):
    """The run again: profiles written by the first run stay as they are, and
    nothing outside the profiles moves. (Profiles refused the first time may
    change now: their lock or their swapped file is gone.)"""
    if second.crash:
        out.crashes.append("second run: " + second.crash)
    written = set(p for p, s in statuses.items() if s == "changed")
    records = records_of((second.value or {}).get("result") or {})[0]
    for path in sorted(written):
        record = records.get(path)
        if record is not None and record["status"] != "unchanged":
            out.wrong.append("second run: %s is %s (%s)" % (path, record["status"], record["changes"] or record["error"]))
    for path in sorted(set(after) | set(after_second)):
        if same_state(after.get(path), after_second.get(path)):
            continue
        profile = owner_profile(path, profile_dirs)
        if profile is None:
            out.outside_writes.append("second run: %s" % path)
        elif profile in written:
            out.wrong.append("second run touched %s" % path)


TEMP_NAME = re.compile(r"^\..+\.rectorat-\d+\.tmp$")


def judge_kill(name, profile_dirs, old, new, killed, after_kill, rerun, after_rerun, third, after_third):
    """The kill test: ``old``/``new`` are the snapshots before and after an
    uninterrupted run. Right after the kill every file is whole (old or new;
    a backup is the whole old file; our temp files may be there). The rerun
    must finish the job, leaving exactly ``new`` plus backups and no temp
    file; the third run must change nothing."""
    out = Outcome(name, "kill", "kill")
    new = dict((p, st) for p, st in new.items() if not BACKUP_NAME.match(os.path.basename(p)))
    for path in sorted(set(old) | set(after_kill)):
        state = after_kill.get(path)
        if same_state(state, old.get(path)) or same_state(state, new.get(path)):
            continue
        profile = owner_profile(path, profile_dirs)
        base = os.path.basename(path)
        if profile is None:
            out.outside_writes.append("after the kill: %s" % path)
        elif os.path.dirname(path) == profile and BACKUP_NAME.match(base) and old.get(path) is None:
            if not same_backup(state, old.get(os.path.join(profile, BACKUP_NAME.match(base).group(1)))):
                out.corrupted.append("after the kill: backup %s is not the whole old file" % path)
        elif os.path.dirname(path) == profile and TEMP_NAME.match(base) and old.get(path) is None:
            continue
        else:
            out.corrupted.append("after the kill: %s is %s, neither old (%s) nor new (%s)" % (
                path, brief(state), brief(old.get(path)), brief(new.get(path))))
    if killed.crash:
        out.crashes.append("killed run: %s" % killed.crash)
    for label, run in (("rerun", rerun), ("third run", third)):
        if run.crash:
            out.crashes.append("%s: %s" % (label, run.crash))
            return out
        records, errors = records_of((run.value or {}).get("result"))
        out.wrong.extend("%s: host error %s" % (label, e) for e in errors)
        for path, record in sorted(records.items()):
            if record["status"] not in ("changed", "unchanged") or (label == "third run" and record["status"] != "unchanged"):
                out.wrong.append("%s: %s is %s (%s)" % (label, path, record["status"], record.get("error")))
    for path in sorted(set(new) | set(after_rerun)):
        state = after_rerun.get(path)
        if same_state(state, new.get(path)):
            continue
        profile = owner_profile(path, profile_dirs)
        base = os.path.basename(path)
        if profile is not None and os.path.dirname(path) == profile and BACKUP_NAME.match(base):
            if not same_backup(state, old.get(os.path.join(profile, BACKUP_NAME.match(base).group(1)))):
                out.corrupted.append("after the rerun: backup %s is not the whole old file" % path)
        elif profile is not None and TEMP_NAME.match(base):
            out.leftovers.append("after the rerun: %s" % path)
        elif profile is None:
            out.outside_writes.append("after the rerun: %s" % path)
        else:
            out.corrupted.append("after the rerun: %s is %s, expected %s" % (path, brief(state), brief(new.get(path))))
    for path in sorted(set(after_rerun) | set(after_third)):
        if not same_state(after_rerun.get(path), after_third.get(path)):
            out.wrong.append("third run touched %s" % path)
    return out


def same_backup(backup, source):
    return (backup is not None and source is not None and backup[0] == "file"
            and backup[1] == source[1] and backup[2:5] == source[2:5])


class Case:
    """One corpus case: ``build(sandbox)`` makes the tree, the expectations
    and the hooks; limits on time and memory are checked too."""

    def __init__(self, name, group, build, timeout=60, max_seconds=None, max_rss_mb=None):
        self.name, self.group, self.build = name, group, build
        self.timeout, self.max_seconds, self.max_rss_mb = timeout, max_seconds, max_rss_mb

    def __repr__(self):
        return self.name


_BASELINE = []


def run_case(case, record_outcome=True):
    """Build, snapshot, run (twice), snapshot, judge; the sandbox is removed."""
    if not _BASELINE:
        _BASELINE.append(baseline_rss_kb())
    sb = Sandbox()
    try:
        case.build(sb)
        if not os.path.lexists(os.path.join(sb.root, "profiles.ini")):
            sb.write_profiles_ini()
        before = snapshot(sb.tops())
        first = run_case_child(sb, timeout=case.timeout)
        after = snapshot(sb.tops())
        second = after_second = None
        written = any(r["status"] == "changed" for r in records_of((first.value or {}).get("result"))[0].values())
        if sb.second_run and written and first.crash is None:
            second = run_forked(lambda: {"result": slim(module_run(sb.params))}, timeout=case.timeout)
            after_second = snapshot(sb.tops())
        outcome = judge(case.name, case.group, sb, first, before, after, second, after_second)
        extra_kb = max(0, first.rss_kb - _BASELINE[0])
        outcome.rss_kb = extra_kb
        if case.max_seconds is not None and first.seconds > case.max_seconds:
            outcome.wrong.append("took %.1fs, limit %ss" % (first.seconds, case.max_seconds))
        if case.max_rss_mb is not None and extra_kb > case.max_rss_mb * 1024:
            outcome.wrong.append("used %d MiB more than an idle child, limit %d MiB" % (
                extra_kb // 1024, case.max_rss_mb))
    finally:
        sb.destroy()
    if record_outcome:
        record(outcome)
    return outcome
