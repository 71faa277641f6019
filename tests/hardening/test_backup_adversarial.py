"""thunderbird_backup / thunderbird_restore against hostile conditions: the
real module run as a process (ANSIBLE_MODULE_ARGS), real files, a real
tmpfs for a full or read-only dest, a real kill -9.

Own users (prefix tbh9_adv) and base folder (/srv/tbh9/adv).
"""

import errno
import fcntl
import glob
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile

import pytest

import hardening_tally as tally

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BASE = "/srv/tbh9/adv"
USER = "tbh9_adv"
MODULES = "ansible_collections.rectorat.thunderbird.plugins.modules."
# Runs archive_io.backup_profile in a process of its own, each file read
# slowly, so the test can act while the archive is being written.
SLOW_BACKUP = r"""
import json, sys, time
from ansible_collections.rectorat.thunderbird.plugins.module_utils import archive_io
real = archive_io.add_file
def slow(*args, **kw):
    out = real(*args, **kw)
    sys.stdout.write("file\n"); sys.stdout.flush()
    time.sleep(%(delay)s)
    return out
archive_io.add_file = slow
entry = json.loads(sys.argv[1])
print(json.dumps(archive_io.backup_profile(entry, sys.argv[2], 3, False)), flush=True)
"""


def collections_path():
    return os.environ["ANSIBLE_COLLECTIONS_PATH"].split(os.pathsep)[0]


def module(name, args, tmp_path):
    path = tmp_path / ("args-%s-%d.json" % (name, len(list(tmp_path.glob("args-*")))))
    path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    proc = subprocess.run([sys.executable, "-m", MODULES + name, str(path)], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=collections_path()), timeout=300, check=False)
    try:
        return json.loads(proc.stdout)
    except ValueError:
        raise AssertionError("module %s printed no JSON: %s %s" % (name, proc.stdout, proc.stderr))


@pytest.fixture
def user():
    import pwd
    subprocess.run(["userdel", "-r", USER], capture_output=True, check=False)
    shutil.rmtree(BASE, ignore_errors=True)
    os.makedirs(BASE)
    subprocess.run(["useradd", "--create-home", "--home-dir", os.path.join(BASE, USER), "--skel", "/dev/null",
                    "--shell", "/usr/sbin/nologin", USER], check=True)
    entry = pwd.getpwnam(USER)
    yield entry
    subprocess.run(["userdel", "-r", USER], capture_output=True, check=False)
    for mount in sorted(glob.glob(BASE + "/mnt-*"), reverse=True):
        subprocess.run(["umount", "-l", mount], capture_output=True, check=False)
    shutil.rmtree(BASE, ignore_errors=True)


def make_profile(user, files=None):
    """~/.thunderbird with profiles.ini and one profile named "default"."""
    root = os.path.join(user.pw_dir, ".thunderbird")
    profile = os.path.join(root, "abcd.default")
    files = files or {
        "prefs.js": b'user_pref("mail.accountmanager.accounts", "account1");\n'
                    b'user_pref("mail.account.account1.server", "server1");\n'
                    b'user_pref("mail.server.server1.type", "none");\n'
                    b'user_pref("mail.server.server1.directory-rel", "[ProfD]Mail/Local Folders");\n',
        "Mail/Local Folders/Inbox": b"From - Mon Jan  5 10:00:00 2026\nSubject: x\n\nbody\n",
        "Mail/Local Folders/Archives.sbd/2025": b"From - Mon Jan  5 10:00:00 2026\nSubject: y\n\nold\n",
        "logins.json": b"{}", "key4.db": b"\x00" * 1024,
        "cache2/entries/ABC": b"cache", "crashes/x.dmp": b"dump",
    }
    for rel, data in files.items():
        path = os.path.join(profile, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
    with open(os.path.join(root, "profiles.ini"), "w") as f:
        f.write("[General]\nStartWithLastProfile=1\nVersion=2\n\n[Profile0]\nName=default\nIsRelative=1\n"
                "Path=abcd.default\nDefault=1\n")
    subprocess.run(["chown", "-R", "%s:%s" % (user.pw_uid, user.pw_gid), user.pw_dir], check=True)
    return profile


def big_file(profile, user, rel, mb):
    path = os.path.join(profile, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        for _unused in range(mb):
            f.write(os.urandom(1 << 20))
    os.chown(path, user.pw_uid, user.pw_gid)


def tree(path):
    out = {}
    for root, dirs, files in os.walk(path):
        for name in files:
            full = os.path.join(root, name)
            with open(full, "rb") as f:
                out[os.path.relpath(full, path)] = hashlib.sha256(f.read()).hexdigest()
    return out


def tmpfs(name, size, mode=0o755):
    path = os.path.join(BASE, "mnt-" + name)
    os.makedirs(path)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=%o" % (size, mode), "tmpfs", path], check=True)
    return path


def backup(user, dest, tmp_path, **kw):
    result = module("thunderbird_backup", dict({"users": [user.pw_name], "dest": dest}, **kw), tmp_path)
    assert len(result["profiles"]) == 1, result
    return result, result["profiles"][0]


def test_archive_content_idempotence_and_retention(user, tmp_path):
    profile = make_profile(user)
    dest = os.path.join(BASE, "dest")
    os.makedirs(dest)
    with open(os.path.join(dest, "README.txt"), "w") as f:
        f.write("not an archive")
    result, entry = backup(user, dest, tmp_path)
    assert result["changed"] and entry["status"] == "backed_up", result
    with zipfile.ZipFile(entry["archive"]) as zf:
        names = set(zf.namelist())
    assert {"prefs.js", "logins.json", "key4.db", "Mail/Local Folders/Archives.sbd/2025"} <= names
    assert not [n for n in names if n.startswith(("cache2", "crashes")) or n.endswith("parentlock")], names
    assert entry["files"] == 5 and entry["sha256"] == hashlib.sha256(open(entry["archive"], "rb").read()).hexdigest()
    again = backup(user, dest, tmp_path)[1]
    assert again["status"] == "unchanged" and again["archive"] == entry["archive"]
    # Four changes, keep=2: two archives stay, the foreign file too.
    for i in range(4):
        with open(os.path.join(profile, "Mail/Local Folders/Inbox"), "ab") as f:
            f.write(b"more %d\n" % i)
        assert backup(user, dest, tmp_path, keep=2)[1]["status"] == "backed_up"
    folder = os.path.dirname(entry["archive"])
    assert len(glob.glob(folder + "/*.zip")) == 2 and len(glob.glob(folder + "/*.manifest.json")) == 2
    assert os.path.exists(os.path.join(dest, "README.txt"))
    check = module("thunderbird_backup", {"users": [user.pw_name], "dest": dest, "_ansible_check_mode": True},
                   tmp_path)
    assert check["profiles"][0]["status"] == "unchanged", check


def test_profile_locked_by_thunderbird_is_skipped_or_fails(user, tmp_path):
    profile = make_profile(user)
    dest = os.path.join(BASE, "dest")
    os.makedirs(dest)
    lock = os.open(os.path.join(profile, ".parentlock"), os.O_RDWR | os.O_CREAT, 0o644)
    os.fchown(lock, user.pw_uid, user.pw_gid)
    holder = subprocess.Popen([sys.executable, "-c", "import fcntl,os,sys,time\n"
                               "fd=os.open(sys.argv[1],os.O_RDWR)\nfcntl.lockf(fd,fcntl.LOCK_EX)\n"
                               "print('locked',flush=True)\ntime.sleep(60)",
                               os.path.join(profile, ".parentlock")], stdout=subprocess.PIPE, text=True)
    os.close(lock)
    try:
        assert holder.stdout.readline().strip() == "locked"
        result, entry = backup(user, dest, tmp_path)
        assert entry["status"] == "skipped_running" and not result["changed"], result
        failed = module("thunderbird_backup", {"users": [user.pw_name], "dest": dest, "if_running": "fail"},
                        tmp_path)
        assert failed.get("failed") and "running" in failed["msg"], failed
    finally:
        holder.kill()
        holder.wait()
    assert glob.glob(dest + "/**/*.zip", recursive=True) == []


def test_thunderbird_cannot_take_the_lock_during_the_backup(user, tmp_path):
    profile = make_profile(user)
    dest = os.path.join(BASE, "dest")
    os.makedirs(dest)
    entry = {"path": profile, "home": user.pw_dir, "uid": user.pw_uid, "gid": user.pw_gid,
             "user": user.pw_name, "name": "default"}
    proc = subprocess.Popen([sys.executable, "-c", SLOW_BACKUP % {"delay": 0.5}, json.dumps(entry), dest],
                            stdout=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=collections_path()))
    assert proc.stdout.readline().strip() == "file"
    # What Thunderbird does at start: a non-blocking fcntl lock of .parentlock.
    fd = os.open(os.path.join(profile, ".parentlock"), os.O_RDWR)
    try:
        with pytest.raises(OSError) as exc:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert exc.value.errno in (errno.EAGAIN, errno.EACCES)
        outcome = json.loads(proc.stdout.read().strip().splitlines()[-1])
        assert proc.wait() == 0 and outcome["status"] == "backed_up", outcome
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free again once the backup ended
    finally:
        os.close(fd)


def test_a_file_swapped_during_the_backup_is_refused_not_archived(user, tmp_path):
    """Issue 13's classes in backup: the file read is checked on its open
    descriptor against what the walk saw (same inode, same owner). One case
    of the tally (group ``backup-swap``)."""
    out = tally.Outcome("backup-swap/prefs-to-root-file-mid-archive", "backup-swap")
    profile = make_profile(user)
    dest = os.path.join(BASE, "dest")
    os.makedirs(dest)
    secret = os.path.join(BASE, "root-secret")  # same file system, outside the profile
    with open(secret, "wb") as f:
        f.write(b"SECRET of root")
    os.chmod(secret, 0o600)
    entry = {"path": profile, "home": user.pw_dir, "uid": user.pw_uid, "gid": user.pw_gid,
             "user": user.pw_name, "name": "default"}
    proc = subprocess.Popen([sys.executable, "-c", SLOW_BACKUP % {"delay": 1.0}, json.dumps(entry), dest],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=collections_path()))
    assert proc.stdout.readline().strip() == "file"
    os.rename(secret, os.path.join(profile, "prefs.js"))  # prefs.js comes last in the sorted listing
    lines, errors = proc.communicate()
    lines = lines.strip().splitlines()
    if proc.returncode != 0 or not lines:
        out.crashes.append("the backup exited %d: %s" % (proc.returncode, errors.strip()[-300:]))
    else:
        outcome = json.loads(lines[-1])
        if outcome["status"] != "error" or "prefs.js was replaced" not in (outcome.get("error") or ""):
            out.wrong.append("outcome %r, not an error naming prefs.js replaced" % outcome)
    for path in glob.glob(dest + "/**/*", recursive=True):
        if os.path.isfile(path):
            with open(path, "rb") as f:
                if b"SECRET" in f.read():
                    out.wrong.append("root's file reached %s" % path)
                else:
                    out.leftovers.append(path)  # a refused backup leaves no file in dest
    tally.record(out)
    assert out.clean(), out.report()


def test_dest_full_leaves_nothing(user, tmp_path):
    profile = make_profile(user)
    big_file(profile, user, "Mail/Local Folders/Big", 3)
    dest = tmpfs("full", "1m")
    before = tree(profile)
    result, entry = backup(user, dest, tmp_path)
    assert entry["status"] == "error" and "full" in entry["error"], entry
    assert [f for _r, _d, files in os.walk(dest) for f in files] == []
    assert {k: v for k, v in tree(profile).items() if k != ".parentlock"} == before


def test_dest_read_only(user, tmp_path):
    make_profile(user)
    dest = tmpfs("ro", "4m")
    subprocess.run(["mount", "-o", "remount,ro", dest], check=True)
    result, entry = backup(user, dest, tmp_path)
    assert entry["status"] == "error" and "Read-only" in entry["error"], entry


def test_dest_missing_or_a_file(user, tmp_path):
    make_profile(user)
    entry = backup(user, os.path.join(BASE, "nowhere"), tmp_path)[1]
    assert entry["status"] == "error" and "cannot open dest" in entry["error"], entry
    plain = os.path.join(BASE, "plain-file")
    with open(plain, "w") as f:
        f.write("x")
    entry = backup(user, plain, tmp_path)[1]
    assert entry["status"] == "error" and "cannot open dest" in entry["error"], entry
    assert open(plain).read() == "x"


def test_symlink_in_profile_is_refused(user, tmp_path):
    profile = make_profile(user)
    os.symlink("/etc/shadow", os.path.join(profile, "Mail", "Local Folders", "Drafts"))
    os.lchown(os.path.join(profile, "Mail", "Local Folders", "Drafts"), user.pw_uid, user.pw_gid)
    dest = os.path.join(BASE, "dest")
    os.makedirs(dest)
    entry = backup(user, dest, tmp_path)[1]
    assert entry["status"] == "error" and "symbolic link" in entry["error"], entry
    assert glob.glob(dest + "/**/*.zip", recursive=True) == []


def test_symlinks_in_dest(user, tmp_path):
    make_profile(user)
    dest = os.path.join(BASE, "dest")
    elsewhere = os.path.join(BASE, "elsewhere")
    os.makedirs(dest)
    os.makedirs(elsewhere)
    os.symlink(elsewhere, os.path.join(dest, user.pw_name))
    entry = backup(user, dest, tmp_path)[1]
    assert entry["status"] == "error" and "symbolic link" in entry["error"], entry
    assert os.listdir(elsewhere) == []
    # A link named like an old archive is neither an archive nor removed by retention.
    os.unlink(os.path.join(dest, user.pw_name))
    folder = os.path.join(dest, user.pw_name, "default")
    os.makedirs(folder)
    victim = os.path.join(elsewhere, "precious")
    with open(victim, "w") as f:
        f.write("keep me")
    os.symlink(victim, os.path.join(folder, "20000101T000000Z.zip"))
    os.symlink(victim, os.path.join(folder, "20000101T000000Z.manifest.json"))
    for _unused in range(3):
        with open(os.path.join(user.pw_dir, ".thunderbird/abcd.default/prefs.js"), "a") as f:
            f.write("// %s\n" % time.time())
        assert backup(user, dest, tmp_path, keep=1)[1]["status"] == "backed_up"
    assert os.path.islink(os.path.join(folder, "20000101T000000Z.zip")) and open(victim).read() == "keep me"


def test_kill_9_mid_archive(user, tmp_path):
    profile = make_profile(user)
    for i in range(4):
        big_file(profile, user, "Mail/Local Folders/Box%d" % i, 1)
    dest = os.path.join(BASE, "dest")
    os.makedirs(dest)
    entry = {"path": profile, "home": user.pw_dir, "uid": user.pw_uid, "gid": user.pw_gid,
             "user": user.pw_name, "name": "default"}
    proc = subprocess.Popen([sys.executable, "-c", SLOW_BACKUP % {"delay": 5}, json.dumps(entry), dest],
                            stdout=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=collections_path()))
    assert proc.stdout.readline().strip() == "file"
    folder = os.path.join(dest, user.pw_name, "default")
    temps = os.listdir(folder)
    assert len(temps) == 1 and ".rectorat-" in temps[0] and temps[0].endswith("-%d.tmp" % proc.pid), temps
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not glob.glob(folder + "/*.zip") and not glob.glob(folder + "/*.manifest.json")
    fd = os.open(os.path.join(profile, ".parentlock"), os.O_RDWR)
    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the kill released the lock
    os.close(fd)
    entry = backup(user, dest, tmp_path)[1]
    assert entry["status"] == "backed_up", entry
    assert sorted(os.listdir(folder)) == sorted([os.path.basename(entry["archive"]),
                                                 os.path.basename(entry["archive"])[:-4] + ".manifest.json"])


# ---------------------------------------------------------------- restore

def good_archive(user, tmp_path):
    make_profile(user)
    dest = os.path.join(BASE, "dest")
    os.makedirs(dest, exist_ok=True)
    return backup(user, dest, tmp_path)[1]["archive"]


def rewrite(src, dst, change):
    """Copy the zip ``src`` to ``dst`` through ``change(name, data) -> [(name, data, attr)]``."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            for name, data, attr in change(info.filename, zin.read(info)):
                out = zipfile.ZipInfo(name, info.date_time)
                out.external_attr = attr if attr is not None else info.external_attr
                out.create_system = 3
                zout.writestr(out, data)


def restore(src, user, tmp_path, **kw):
    return module("thunderbird_restore", dict({"src": src, "user": user.pw_name}, **kw), tmp_path)


def no_restore_happened(user):
    return not os.path.exists(os.path.join(user.pw_dir, ".thunderbird", "default"))


@pytest.mark.parametrize("case", ["dotdot", "absolute", "symlink", "tampered", "extra", "crc"])
def test_restore_refuses_a_bad_archive(user, tmp_path, case):
    archive = good_archive(user, tmp_path)
    shutil.rmtree(os.path.join(user.pw_dir, ".thunderbird"))
    bad = os.path.join(BASE, "bad-%s.zip" % case)

    def change(name, data):
        if name != "prefs.js":
            return [(name, data, None)]
        if case == "dotdot":
            return [(name, data, None), ("../../evil", b"x", None)]
        if case == "absolute":
            return [(name, data, None), ("/tmp/evil", b"x", None)]
        if case == "symlink":
            return [(name, data, None), ("Mail/link", b"/etc/shadow", 0o120777 << 16)]
        if case == "tampered":
            return [(name, data.replace(b"none", b"nonE"), None)]
        return [(name, data, None), ("extra.txt", b"x", None)]
    if case == "crc":
        shutil.copy(archive, bad)
        with zipfile.ZipFile(bad) as zf:
            info = zf.getinfo("key4.db")
        with open(bad, "r+b") as f:
            f.seek(info.header_offset + 30 + len(info.filename) + len(info.extra) + 1)
            byte = f.read(1)
            f.seek(-1, 1)
            f.write(bytes([byte[0] ^ 0xFF]))
    else:
        rewrite(archive, bad, change)
    result = restore(bad, user, tmp_path)
    assert result.get("failed") and result["status"] == "error", result
    assert no_restore_happened(user)
    assert not os.path.exists("/tmp/evil") and not os.path.exists(os.path.join(BASE, "evil"))


def test_restore_force_and_idempotence(user, tmp_path):
    archive = good_archive(user, tmp_path)
    original = tree(os.path.join(user.pw_dir, ".thunderbird", "abcd.default"))
    assert restore(archive, user, tmp_path)["changed"] is False  # the very profile archived
    with open(os.path.join(user.pw_dir, ".thunderbird", "abcd.default", "prefs.js"), "a") as f:
        f.write("// changed since\n")
    changed = tree(os.path.join(user.pw_dir, ".thunderbird", "abcd.default"))
    refused = restore(archive, user, tmp_path)
    assert refused.get("failed") and "force" in refused["msg"], refused
    done = restore(archive, user, tmp_path, force=True)
    assert done["changed"] and done["moved_aside"], done
    assert tree(done["moved_aside"]) == changed
    assert done["path"].endswith("/abcd.default")
    restored = tree(done["path"])
    assert restored == {k: v for k, v in original.items() if not k.startswith(("cache2", "crashes", ".parent"))}
    assert restore(archive, user, tmp_path)["changed"] is False


def test_archives_another_host_made_in_a_shared_dest_are_left_alone(user, tmp_path):
    profile = make_profile(user)
    dest = os.path.join(BASE, "dest")
    os.makedirs(dest)
    entry = backup(user, dest, tmp_path)[1]
    folder = os.path.dirname(entry["archive"])
    with open(entry["archive"][:-4] + ".manifest.json") as f:
        manifest = json.load(f)
    manifest["profile"]["host"] = "another-workstation"
    shutil.copy(entry["archive"], os.path.join(folder, "20000101T000000Z.zip"))
    with open(os.path.join(folder, "20000101T000000Z.manifest.json"), "w") as f:
        json.dump(manifest, f)
    for i in range(2):
        with open(os.path.join(profile, "prefs.js"), "a") as f:
            f.write("// %d\n" % i)
        assert backup(user, dest, tmp_path, keep=1)[1]["status"] == "backed_up"
    names = sorted(os.listdir(folder))
    assert "20000101T000000Z.zip" in names and "20000101T000000Z.manifest.json" in names
    assert len([n for n in names if n.endswith(".zip")]) == 2, names
