# -*- coding: utf-8 -*-
"""A sandbox fleet of workstation users, for molecule, the demo and tests.

Creates real local users (``useradd``) whose names start with a prefix such as
``tbdemo_`` or ``tbmol_`` and whose homes live under a dedicated base folder
(``/srv/tbfleet/<prefix>`` by default), each with Thunderbird profiles owned by
them, built with sandbox.py. Nothing outside the base folder is written, and
teardown only removes users that carry the prefix *and* have their home below
the base folder, so a real user is never touched.

Run as root:
    python3 fleet.py build    --prefix tbdemo_ [--base DIR] [--no-lock]
    python3 fleet.py teardown --prefix tbdemo_ [--base DIR]
    python3 fleet.py hash     --prefix tbdemo_ [--base DIR]   (JSON on stdout)
    python3 fleet.py compare  --prefix tbdemo_ --before FILE  (JSON on stdout)
    python3 fleet.py inventory --prefix tbdemo_ [--unreachable]  (JSON inventory on stdout)
    python3 fleet.py unlock   --prefix tbdemo_   (stop holding elise's Thunderbird lock)
"""

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sandbox  # noqa: E402  (sibling module, path set just above)

DEFAULT_BASE = "/srv/tbfleet"
LOCKER_MARK = "tbfleet-locker"
SAFE_PREFIX = re.compile(r"^tb[a-z0-9]{1,12}_$")

ACADEMIC = "imap.ac-exemple.fr"

# user suffix → (profile folder, profile description, ...); see build_user.
FLEET = {
    "alice": [("a1lice00.default-esr", "pop")],
    "bruno": [("b2runo00.default-esr", "imap_online")],
    "chloe": [("c3hloe00.default-esr", "imap_offline")],
    "damien": [("d4travail.travail", "imap_seed"), ("d4perso00.perso", "pop_and_imap_unflagged")],
    "elise": [("e5lise00.default-esr", "imap_online_locked")],
    "fanny": [("f6anny00.default-esr", "broken_prefs")],
}


def accounts_for(kind, user):
    """The accounts of one profile kind."""
    if kind == "pop":
        # No TLS and a cleartext password: the password crosses the network readable.
        return [sandbox.pop("pop.ac-exemple.fr", user, socket=0, auth=3)]
    if kind in ("imap_online", "imap_online_locked", "broken_prefs"):
        return [sandbox.imap(ACADEMIC, user, offline=False)]
    if kind == "imap_offline":
        return [sandbox.imap(ACADEMIC, user, offline=True)]
    if kind == "imap_seed":
        # The seed screenshot: no security, 30 days, 50 KB limit, online only.
        return [sandbox.imap("imap.college-exemple.fr", user, offline=False, socket=0, auth=3,
                             autosync_max_age_days=30, limit_offline_message_size=True, max_size=50)]
    if kind == "pop_and_imap_unflagged":
        # offline_download left at Thunderbird's default (true) but the folders
        # were discovered while it was off: only the folder flags are missing.
        return [sandbox.pop("pop.laposte.example", user, socket=3, auth=3),
                sandbox.imap("imap.perso.example", user, offline=None, flagged=False, socket=2)]
    raise ValueError(kind)


@contextlib.contextmanager
def exclusive(prefix):
    """Hold the fleet's lock file, so that two test sessions on one machine
    take turns with the same users instead of tearing down each other's."""
    folder = "/run/lock" if os.path.isdir("/run/lock") else "/tmp"
    with open(os.path.join(folder, "tbfleet-%s.lock" % prefix.rstrip("_")), "a") as handle:
        fcntl.lockf(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.lockf(handle, fcntl.LOCK_UN)


def check_prefix(prefix):
    if not SAFE_PREFIX.match(prefix):
        raise SystemExit("fleet: prefix %r must look like tbdemo_ (tb + letters/digits + _)" % prefix)


def fleet_base(prefix, base=None):
    return os.path.abspath(base or os.path.join(DEFAULT_BASE, prefix.rstrip("_")))


def home_of(base, name):
    return os.path.join(base, "home", name)


def user_names(prefix):
    return [prefix + suffix for suffix in FLEET]


def run(*cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def create_user(name, home):
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        os.makedirs(os.path.dirname(home), exist_ok=True)
        run("useradd", "--create-home", "--home-dir", home, "--skel", "/dev/null",
            "--shell", "/usr/sbin/nologin", "--comment", "Thunderbird sandbox fleet", name)
        entry = pwd.getpwnam(name)
    if os.path.realpath(entry.pw_dir) != os.path.realpath(home):
        raise SystemExit("fleet: user %s exists with home %s, not %s; refusing" % (name, entry.pw_dir, home))
    os.chmod(home, 0o750)
    return entry


def chown_tree(path, uid, gid):
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.lchown(os.path.join(root, name), uid, gid)
    os.lchown(path, uid, gid)


def break_prefs(profile):
    """A prefs.js a crash or a hand edit left unparsable."""
    with open(os.path.join(profile, "prefs.js"), "ab") as f:
        f.write(b'user_pref("mail.server.server1.offline_download", fals);\n'
                b'user_pref("mail.server.server1.name", "unterminated);\n')


def build_user(base, prefix, suffix):
    name = prefix + suffix
    home = home_of(base, name)
    entry = create_user(name, home)
    root = os.path.join(home, ".thunderbird")
    if os.path.exists(root):
        shutil.rmtree(root)
    os.makedirs(root)
    profiles = []
    for folder, kind in FLEET[suffix]:
        path = sandbox.write_profile(os.path.join(root, folder), accounts_for(kind, name))
        if kind == "broken_prefs":
            break_prefs(path)
        if kind == "imap_online":
            # Not Thunderbird's 0600: a write must keep the mode it finds.
            os.chmod(os.path.join(path, "prefs.js"), 0o640)
        profiles.append({"path": path, "kind": kind})
    folders = [folder for folder, _kind in FLEET[suffix]]
    sandbox.write_profiles_ini(root, folders, default=folders[0])
    chown_tree(root, entry.pw_uid, entry.pw_gid)
    return {"user": name, "uid": entry.pw_uid, "gid": entry.pw_gid, "home": home, "profiles": profiles}


def locker_pidfile(base):
    return os.path.join(base, "locker.pid")


def start_locker(base, profile, uid, gid):
    """Hold Thunderbird's lock on ``profile`` from a helper process running
    as the profile's user, as a running Thunderbird does."""
    stop_locker(base)
    lock = os.path.join(profile, ".parentlock")
    if not os.path.exists(lock):
        open(lock, "w").close()
        os.lchown(lock, uid, gid)
        os.chmod(lock, 0o644)
    code = ("import fcntl, os, signal, sys\n"
            "fd = os.open(sys.argv[2], os.O_RDWR)\n"
            "fcntl.lockf(fd, fcntl.LOCK_EX)\n"
            "print('locked', flush=True)\n"
            "signal.pause()\n")
    # The system Python, which the user can run; else the helper runs as root
    # (the lock is the same to Thunderbird and to the module).
    python, ids = ("/usr/bin/python3", dict(user=uid, group=gid, extra_groups=[])) \
        if os.access("/usr/bin/python3", os.X_OK) else (sys.executable, {})
    proc = subprocess.Popen([python, "-c", code, LOCKER_MARK, lock], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            start_new_session=True, close_fds=True, **ids)
    if proc.stdout.readline().strip() != b"locked":
        proc.kill()
        raise SystemExit("fleet: the lock helper did not take the lock on %s" % lock)
    proc.stdout.close()
    link = os.path.join(profile, "lock")
    if os.path.lexists(link):
        os.unlink(link)
    os.symlink("127.0.0.1:+%d" % proc.pid, link)
    os.lchown(link, uid, gid)
    with open(locker_pidfile(base), "w") as f:
        f.write("%d\n" % proc.pid)
    return proc.pid


def is_locker(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return LOCKER_MARK.encode() in f.read().split(b"\0")
    except OSError:
        return False


def stop_locker(base):
    pidfile = locker_pidfile(base)
    try:
        with open(pidfile) as f:
            pid = int(f.read().strip() or 0)
    except (OSError, ValueError):
        return
    if pid and is_locker(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.time() + 5
        while is_locker(pid) and time.time() < deadline:
            time.sleep(0.05)
        try:
            os.waitpid(pid, os.WNOHANG)  # our child when build() ran in this process
        except ChildProcessError:
            pass
    os.unlink(pidfile)


def build(prefix, base=None, lock=True):
    """Create the fleet (again, from scratch for the profiles); returns its manifest."""
    check_prefix(prefix)
    base = fleet_base(prefix, base)
    for folder in (os.path.dirname(base), base, os.path.join(base, "home")):
        if not os.path.isdir(folder):
            os.makedirs(folder)
            os.chmod(folder, 0o755)  # the users traverse it to their homes
    stop_locker(base)
    umask = os.umask(0o077)  # Thunderbird's own modes: 0700 folders, 0600 files
    try:
        users = [build_user(base, prefix, suffix) for suffix in FLEET]
    finally:
        os.umask(umask)
    manifest = {"prefix": prefix, "base": base, "users": users, "locker_pid": None}
    if lock:
        locked = [(u, p) for u in users for p in u["profiles"] if p["kind"] == "imap_online_locked"]
        user, profile = locked[0]
        manifest["locker_pid"] = start_locker(base, profile["path"], user["uid"], user["gid"])
        profile["locked"] = True
    with open(os.path.join(base, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    return manifest


def fleet_users(prefix, base):
    """Existing users that belong to this fleet: the prefix and a home below base."""
    found = []
    for entry in pwd.getpwall():
        if entry.pw_name.startswith(prefix) and os.path.realpath(entry.pw_dir).startswith(base + os.sep):
            found.append(entry)
    return found


def remove_user(name, wait=15.0):
    """userdel, waiting while a session of the user ends (userdel exits 8)."""
    deadline = time.time() + wait
    while True:
        proc = subprocess.run(["userdel", name], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              check=False)
        if proc.returncode == 0:
            return
        if proc.returncode != 8 or time.time() > deadline:
            raise SystemExit("fleet: userdel %s: %s" % (name, proc.stderr.strip()))
        time.sleep(0.5)


def teardown(prefix, base=None):
    check_prefix(prefix)
    base = fleet_base(prefix, base)
    stop_locker(base)
    for entry in fleet_users(prefix, base):
        remove_user(entry.pw_name)
    if os.path.isdir(base):
        shutil.rmtree(base)


def hash_homes(prefix, base=None):
    """Every entry below the fleet users' homes: content hash, owner, mode, mtime."""
    base = fleet_base(prefix, base)
    state = {}
    for name in user_names(prefix):
        home = home_of(base, name)
        for root, dirs, files in os.walk(home):
            dirs.sort()
            for entry in [root] + [os.path.join(root, f) for f in sorted(files)]:
                st = os.lstat(entry)
                item = {"uid": st.st_uid, "gid": st.st_gid, "mode": stat.S_IMODE(st.st_mode),
                        "mtime_ns": st.st_mtime_ns}
                if stat.S_ISLNK(st.st_mode):
                    item["link"] = os.readlink(entry)
                elif stat.S_ISREG(st.st_mode):
                    with open(entry, "rb") as f:
                        item["sha256"] = hashlib.sha256(f.read()).hexdigest()
                if entry == root and root != home:
                    item["dir"] = True
                state[os.path.relpath(entry, base)] = item
            for d in dirs:
                path = os.path.join(root, d)
                if os.path.islink(path):
                    state[os.path.relpath(path, base)] = {"link": os.readlink(path)}
    return state


def closed_port():
    """A loopback port nothing listens on (just released by the kernel)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def inventory(prefix, python="/usr/bin/python3", unreachable=False, failing=False, servers=None):
    """An Ansible inventory (dict) of the fleet as workstations reached
    locally: poste-01 (alice, bruno, chloe) and poste-02 (damien, elise,
    fanny); optionally a workstation that is switched off (unreachable), one
    that fails (elise's open profile with if_running=fail) and a server
    filter on poste-02."""
    # The workstations are this machine: never put the at-start hook into its own Thunderbird.
    local = {"ansible_connection": "local", "ansible_python_interpreter": python,
             "thunderbird_offline_at_start": False}
    hosts = {
        "poste-01": dict(local, thunderbird_offline_users=[prefix + u for u in ("alice", "bruno", "chloe")]),
        "poste-02": dict(local, thunderbird_offline_users=[prefix + u for u in ("damien", "elise", "fanny")]),
    }
    if servers:
        hosts["poste-02"]["thunderbird_offline_servers"] = list(servers)
    if failing:
        hosts["poste-03"] = dict(local, thunderbird_offline_users=[prefix + "elise"],
                                 thunderbird_offline_if_running="fail")
    if unreachable:
        hosts["poste-eteint"] = {"ansible_host": "127.0.0.1", "ansible_port": closed_port(),
                                 "ansible_user": "nobody", "ansible_connection": "ssh",
                                 "ansible_ssh_common_args": "-o ConnectTimeout=5 -o StrictHostKeyChecking=no"}
    return {"workstations": {"hosts": hosts}}


BACKUP = re.compile(r"^(?P<original>.+)\.\d{8}T\d{6}Z\.bak$")


def compare(before, after):
    """What changed between two hash_homes() states.

    ``changed``: files whose bytes, owner, mode or mtime differ, and folders
    whose owner or mode differ (a folder's mtime moves when a file is added);
    ``added``/``removed``: entries; ``backups``: each added ``*.<stamp>.bak``
    with whether its bytes, owner and mode are those of its original before.
    """
    changed = []
    for rel in sorted(set(before) & set(after)):
        old, new = before[rel], after[rel]
        if "sha256" in old or "link" in old or "sha256" in new:
            if old != new:
                changed.append(rel)
        elif any(old.get(k) != new.get(k) for k in ("uid", "gid", "mode")):
            changed.append(rel)
    added = sorted(set(after) - set(before))
    backups = {}
    for rel in added:
        match = BACKUP.match(rel)
        if match:
            original = before.get(match.group("original"), {})
            backups[rel] = {"original": match.group("original"),
                            "same_bytes": original.get("sha256") == after[rel].get("sha256"),
                            "same_owner_mode": all(original.get(k) == after[rel].get(k) for k in ("uid", "gid", "mode"))}
    return {"changed": changed, "added": added, "removed": sorted(set(before) - set(after)), "backups": backups}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("action", choices=["build", "teardown", "hash", "compare", "inventory", "unlock"])
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--base")
    parser.add_argument("--no-lock", action="store_true", help="do not hold the Thunderbird lock of elise")
    parser.add_argument("--before", help="compare: a saved 'hash' output; the homes now are compared to it")
    parser.add_argument("--python", default="/usr/bin/python3", help="inventory: the workstations' Python")
    parser.add_argument("--unreachable", action="store_true", help="inventory: add a switched-off workstation")
    args = parser.parse_args(argv)
    if args.action == "build":
        json.dump(build(args.prefix, args.base, lock=not args.no_lock), sys.stdout, indent=1)
    elif args.action == "teardown":
        teardown(args.prefix, args.base)
    elif args.action == "unlock":
        stop_locker(fleet_base(args.prefix, args.base))
    elif args.action == "inventory":
        json.dump(inventory(args.prefix, args.python, unreachable=args.unreachable), sys.stdout, indent=1)
    elif args.action == "compare":
        with open(args.before) as f:
            before = json.load(f)
        json.dump(compare(before, hash_homes(args.prefix, args.base)), sys.stdout, indent=1, sort_keys=True)
    else:
        json.dump(hash_homes(args.prefix, args.base), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
