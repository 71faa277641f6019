"""thunderbird_backup on a Windows host through a real ansible-playbook: the
action plugin, the fake Windows connection and the twin of backup.ps1
(tests/windows/twin_backup.py, tar.exe emulated with zipfile) on the
Windows-shaped trees of test_windows_flow.py."""

import fcntl
import hashlib
import json
import os
import zipfile

import pytest

from treestate import tree_state
from test_windows_flow import ALICE_FIRST, ALICE_SECOND, BOB_PROFILE, Workstation, build_alice_and_bob

import twin_backup

DEST = "D:\\Sauvegardes\\tb"
TASK = "rectorat.thunderbird.thunderbird_backup"


@pytest.fixture
def win(tmp_path):
    station = Workstation(tmp_path)
    build_alice_and_bob(station.machine)
    tar = station.host("C:\\Windows\\System32\\tar.exe")
    os.makedirs(os.path.dirname(tar))
    open(tar, "wb").close()
    os.makedirs(station.host(DEST))
    # What Thunderbird rebuilds, left out of every archive.
    os.makedirs(station.host(ALICE_FIRST + "\\cache2\\entries"))
    with open(station.host(ALICE_FIRST + "\\cache2\\entries\\ABCD"), "wb") as f:
        f.write(b"cache")
    with open(station.host(ALICE_FIRST + "\\logins.json"), "wb") as f:
        f.write(b'{"logins": []}')
    return station


def backup(win, *cli, **args):
    run = win.play(TASK, dict({"dest": DEST}, **args), *cli)
    assert run.rc == 0, run.stdout + run.stderr
    result = run.result("task", "win1")
    return result, dict((p["path"], p) for p in result["profiles"])


def dest_files(win, *parts):
    folder = win.host("\\".join((DEST,) + parts))
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def profile_files(win, path):
    """{rel: bytes} of every file of a profile, as the archive must hold it."""
    root = win.host(path)
    out = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not (folder == root and d == "cache2")]
        for name in files:
            full = os.path.join(folder, name)
            with open(full, "rb") as f:
                out[os.path.relpath(full, root).replace(os.sep, "/")] = f.read()
    return out


def test_backup_then_unchanged_with_a_readable_zip_and_its_manifest(win):
    before = profile_files(win, ALICE_FIRST)
    result, profiles = backup(win)
    assert result["changed"] is True and result["summary"]["backed_up"] == 3
    first = profiles[ALICE_FIRST]
    assert first["status"] == "backed_up" and first["imap_online_only"] == ["alice@ac-test.fr"]
    assert profiles[ALICE_SECOND]["imap_online_only"] == []
    stamp = first["archive"].rsplit("\\", 1)[1][:-4]
    assert first["archive"] == DEST + "\\alice\\default-esr\\%s.zip" % stamp
    assert dest_files(win, "alice", "default-esr") == [stamp + ".manifest.json", stamp + ".zip"]
    archive = win.host(first["archive"])
    assert first["bytes"] == os.path.getsize(archive) and first["files"] == len(before)
    with zipfile.ZipFile(archive) as zf:
        assert zf.testzip() is None
        members = dict((i.filename, zf.read(i)) for i in zf.infolist() if not i.is_dir())
        inside = json.loads(members.pop("rectorat-backup-manifest.json"))
    assert members == before and "logins.json" in members and not any(m.startswith("cache2") for m in members)
    with open(archive, "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == first["sha256"]
    with open(win.host(first["archive"][:-4] + ".manifest.json"), "rb") as f:
        beside = json.loads(f.read())
    assert beside["archive"] == {"name": stamp + ".zip", "bytes": first["bytes"], "sha256": first["sha256"]}
    assert beside["files"] == inside["files"] and beside["profile"]["path"] == ALICE_FIRST
    assert dict((f["path"], f["sha256"]) for f in inside["files"]) == dict(
        (rel, hashlib.sha256(data).hexdigest()) for rel, data in before.items())
    assert "ImapMail" in inside["dirs"] and win.calls() == ["collect", "backup", "backup"]
    assert not [n for n in os.listdir(win.host(ALICE_FIRST)) if n == "parent.lock" or n.endswith(".tmp")]
    assert not os.listdir(win.host("C:\\Windows\\Temp")), "staging folder left behind"

    again, profiles = backup(win)
    assert again["changed"] is False and again["summary"]["unchanged"] == 3
    assert profiles[ALICE_FIRST]["archive"] == first["archive"] and profiles[ALICE_FIRST]["sha256"] == first["sha256"]
    assert dest_files(win, "alice", "default-esr") == [stamp + ".manifest.json", stamp + ".zip"]
    assert win.calls()[3:] == ["collect", "backup"], "an unchanged run has nothing to write"


def test_check_mode_writes_nothing(win):
    before = tree_state(win.machine.base)
    result, profiles = backup(win, "--check")
    assert result["changed"] is True and profiles[BOB_PROFILE]["status"] == "backed_up"
    assert profiles[BOB_PROFILE]["bytes"] is None and profiles[BOB_PROFILE]["archive"].startswith(DEST + "\\bob\\")
    assert tree_state(win.machine.base) == before
    assert win.calls() == ["collect", "backup"]


def test_running_profile_is_skipped_and_the_others_archived(win):
    with open(win.host(ALICE_FIRST + "\\parent.lock"), "wb") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # Thunderbird's open, sharing nothing
        result, profiles = backup(win)
    assert profiles[ALICE_FIRST]["status"] == "skipped_running"
    assert profiles[BOB_PROFILE]["status"] == "backed_up"
    assert dest_files(win, "alice", "default-esr") == []
    assert result["summary"]["skipped_running"] == 1


def test_thunderbird_starting_between_scan_and_write_is_skipped(win, monkeypatch):
    """The lock taken by backup.ps1's write is what counts, not collect's look."""
    real = twin_backup.BackupTwin.open_profile_lock

    def started(self, folder):
        if "aaaa" in folder:
            raise self.new_refusal("running", "Thunderbird started with this profile")
        return real(self, folder)

    monkeypatch.setattr(twin_backup.BackupTwin, "open_profile_lock", started)
    result, profiles = backup_in_process(win)
    assert profiles[ALICE_FIRST]["status"] == "skipped_running" and profiles[BOB_PROFILE]["status"] == "backed_up"
    assert dest_files(win, "alice", "default-esr") == []


def backup_in_process(win, after_scan=None):
    """The action's flow without ansible-playbook, so that a test can patch
    the twin, or act (``after_scan``) between the scan and the write."""
    from ansible_collections.rectorat.thunderbird.plugins.module_utils import backup_flow
    from ansible_collections.rectorat.thunderbird.plugins.plugin_utils.windows_backup import WindowsBackup
    from ansible_collections.rectorat.thunderbird.plugins.plugin_utils.windows_host import PowerShellHost
    import twin

    class Host(PowerShellHost):
        def run_script(self, name, request):
            response = json.loads(json.dumps(twin.run_script(win.machine.base, name, json.loads(json.dumps(request)))))
            if request.get("mode") == "scan" and after_scan is not None:
                after_scan()
            return response

    host = Host(None)
    params = {"users": None, "profiles": None, "dest": DEST, "keep": 3, "if_running": "skip", "compression": "stored"}
    result = backup_flow.run(params, False, host.collect, os_family="windows",
                             backup_many=WindowsBackup(host, "stored"))
    return result, dict((p["path"], p) for p in result["profiles"])


def test_a_file_changed_between_scan_and_write_fails_its_profile_only(win):
    def grow():
        with open(win.host(BOB_PROFILE + "\\prefs.js"), "ab") as f:
            f.write(b"// written after the scan\r\n")

    result, profiles = backup_in_process(win, after_scan=grow)
    assert profiles[BOB_PROFILE]["status"] == "error" and "run again" in profiles[BOB_PROFILE]["error"]
    assert dest_files(win, "bob", "default-esr") == []
    assert profiles[ALICE_FIRST]["status"] == "backed_up" and result["summary"]["error"] == 1


def test_if_running_fail_fails_the_task(win):
    with open(win.host(BOB_PROFILE + "\\parent.lock"), "wb") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        run = win.play(TASK, {"dest": DEST, "if_running": "fail"})
    assert run.rc != 0
    result = run.result("task", "win1")
    assert "Thunderbird is running" in result["msg"] and BOB_PROFILE in result["msg"]
    assert result["profiles"] and dest_files(win, "alice", "default-esr")


def test_keep_removes_the_oldest_archives_and_nothing_else(win):
    folder = win.host(DEST + "\\bob\\default-esr")
    stamps = []
    for run in range(3):
        result, profiles = backup(win, keep=2, users=["bob"])
        stamps.append(profiles[BOB_PROFILE]["archive"].rsplit("\\", 1)[1][:-4])
        with open(win.host(BOB_PROFILE + "\\prefs.js"), "ab") as f:
            f.write(b"// changed\r\n")
        if run == 0:
            with open(os.path.join(folder, "notes.txt"), "wb") as f:
                f.write(b"not an archive")
    assert len(set(stamps)) == 3 and profiles[BOB_PROFILE]["removed"] == [stamps[0]]
    assert dest_files(win, "bob", "default-esr") == sorted(
        ["notes.txt"] + [s + ext for s in stamps[1:] for ext in (".zip", ".manifest.json")])


def test_tampered_archive_is_refused_before_it_gets_its_name(win, monkeypatch):
    monkeypatch.setattr(twin_backup.BackupTwin, "corrupt_member", "prefs.js")
    result, profiles = backup_in_process(win)
    assert profiles[BOB_PROFILE]["status"] == "error" and "CRC" in profiles[BOB_PROFILE]["error"]
    assert dest_files(win, "bob", "default-esr") == []
    assert not os.listdir(win.host("C:\\Windows\\Temp"))


@pytest.mark.parametrize("member", ["rectorat-backup-manifest.json", "imapmail"])
def test_an_archive_without_its_manifest_or_a_folder_is_refused(win, monkeypatch, member):
    """The read-back checks every member, the manifest and folders too."""
    monkeypatch.setattr(twin_backup.BackupTwin, "drop_member", member)
    result, profiles = backup_in_process(win)
    assert profiles[BOB_PROFILE]["status"] == "error" and "missing" in profiles[BOB_PROFILE]["error"]
    assert dest_files(win, "bob", "default-esr") == []


def test_a_link_in_the_profile_or_below_dest_is_refused(win):
    os.symlink(win.host("C:\\Users\\bob"), win.host(ALICE_SECOND + "\\elsewhere"))
    os.makedirs(win.host("C:\\other"))
    os.symlink(win.host("C:\\other"), win.host(DEST + "\\bob"))
    result, profiles = backup(win)
    assert profiles[ALICE_SECOND]["status"] == "error" and "elsewhere" in profiles[ALICE_SECOND]["error"]
    assert profiles[BOB_PROFILE]["status"] == "error" and "symbolic link" in profiles[BOB_PROFILE]["error"]
    assert profiles[ALICE_FIRST]["status"] == "backed_up" and os.listdir(win.host("C:\\other")) == []


def test_a_host_without_tar_exe_gets_a_clear_error(win):
    os.unlink(win.host("C:\\Windows\\System32\\tar.exe"))
    result, profiles = backup(win, users=["bob"])
    assert profiles[BOB_PROFILE]["status"] == "error" and "tar.exe not found" in profiles[BOB_PROFILE]["error"]
    assert dest_files(win, "bob", "default-esr") == []


def test_names_tar_exe_can_take_are_archived_and_others_refused_in_full(win):
    """tar.exe reads its list in the ANSI code page (1252 here): "Envoyés"
    goes in as UTF-8; a Cyrillic name cannot be given, so nothing is made."""
    for path in (ALICE_SECOND + "\\Mail\\Local Folders\\Envoyés", BOB_PROFILE + "\\Mail\\Local Folders\\Отправленные"):
        os.makedirs(os.path.dirname(win.host(path)), exist_ok=True)
        with open(win.host(path), "wb") as f:
            f.write(b"From - \r\n")
    result, profiles = backup(win)
    with zipfile.ZipFile(win.host(profiles[ALICE_SECOND]["archive"])) as zf:
        assert zf.read("Mail/Local Folders/Envoyés") == b"From - \r\n"
    assert profiles[BOB_PROFILE]["status"] == "error" and "code page 1252" in profiles[BOB_PROFILE]["error"]
    assert dest_files(win, "bob", "default-esr") == []


def test_a_path_tar_exe_would_get_as_a_look_alike_is_refused(win):
    """tar.exe takes its command line in the ANSI code page too, where Windows
    turns a letter the page lacks into a look-alike (libarchive issue #2092):
    the zip would go to "Archives" beside the "Ārchives" asked for."""
    dest, look_alike = "D:\\Sauvegardes\\Ārchives", "D:\\Sauvegardes\\Archives"
    os.makedirs(win.host(dest))
    os.makedirs(win.host(look_alike + "\\bob\\default-esr"))
    result, profiles = backup(win, dest=dest, users=["bob"])
    assert profiles[BOB_PROFILE]["status"] == "error"
    assert "cannot be given to tar.exe in code page 1252" in profiles[BOB_PROFILE]["error"]
    assert os.listdir(win.host(look_alike + "\\bob\\default-esr")) == []
    assert os.listdir(win.host(dest + "\\bob\\default-esr")) == []


def test_an_archive_another_host_made_in_a_shared_dest_keeps_its_stamp():
    """Two workstations with the same user and profile names back up into one
    folder of a shared dest: the other host's archive of this very second is
    not this run's, but its names are taken (File.Move does not replace)."""
    import base64
    from ansible_collections.rectorat.thunderbird.plugins.module_utils import backup as bk
    from ansible_collections.rectorat.thunderbird.plugins.plugin_utils.windows_backup import WindowsBackup

    stamp = "20260105T101500Z"
    theirs = bk.build_manifest({"name": "default-esr", "user": "eleve", "path": "C:\\x", "host": "PC02"}, [], stamp)
    theirs["archive"] = {"name": stamp + ".zip", "bytes": 22, "sha256": "0" * 64}
    found = {"files": [{"path": "prefs.js", "size": 3, "mtime_ns": 1000}], "dirs": [],
             "archives": [{"name": stamp + ".zip", "size": 22}],
             "manifests": [{"name": stamp + ".manifest.json", "unread": False,
                            "b64": base64.b64encode(bk.manifest_bytes(theirs)).decode("ascii")}]}
    entry = {"path": "C:\\Users\\eleve\\AppData\\Roaming\\Thunderbird\\Profiles\\k.default-esr",
             "user": "eleve", "name": "default-esr", "home": "C:\\Users\\eleve"}
    outcome, plan = WindowsBackup(None, "stored", stamp_fn=lambda: stamp).decide(entry, found, DEST, 1, "PC01")
    assert outcome["status"] == "backed_up" and plan["remove"] == []
    assert plan["stamp"] == "20260105T101501Z"
