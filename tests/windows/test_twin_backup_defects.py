"""Windows PowerShell 5.1 defects found by reviewing backup.ps1 (after the
prelude), through its twin (tests/windows/twin_backup.py), which follows the
script line for line and refuses what .NET Framework refuses."""

import json
import os
import subprocess
import zipfile

import pytest

from ansible_collections.rectorat.thunderbird.plugins.plugin_utils.windows_backup import WindowsBackup

import sandbox
import twin_backup
from twin import Twin, ps_decimal, ps_long, ps_long_product
from winsandbox import Machine

ALICE_SID = "S-1-5-21-1-1001"
PROFILE = "C:\\Users\\alice\\AppData\\Roaming\\Thunderbird\\Profiles\\aaaa.default-esr"
DEST = "D:\\Sauvegardes\\tb"
ARCHIVE = "20261201T000000Z.zip"


def build(tmp_path):
    machine = Machine(str(tmp_path))
    machine.add_user("alice", ALICE_SID)
    machine.write_profile(PROFILE, [sandbox.imap("imap.ac-test.fr", "alice")])
    return machine


def with_tar(tmp_path):
    """The machine, with a tar.exe and an empty dest."""
    machine = build(tmp_path)
    tar = machine.host("C:\\Windows\\System32\\tar.exe")
    os.makedirs(os.path.dirname(tar))
    open(tar, "wb").close()
    os.makedirs(machine.host(DEST))
    return machine


def scan(tmp_path, dest):
    machine = build(tmp_path)
    folder = machine.host(DEST + "\\alice\\aaaa.default-esr")
    os.makedirs(folder)
    open(os.path.join(folder, ARCHIVE), "wb").close()
    request = {"mode": "scan", "dest": dest, "prune": [],
               "profiles": [{"path": PROFILE, "home": "C:\\Users\\alice", "folder": ["alice", "aaaa.default-esr"]}]}
    [result] = twin_backup.run_backup(str(tmp_path), request)["profiles"]
    return result


def test_the_long_path_form_takes_a_slash_as_part_of_a_name(tmp_path):
    """\\\\?\\ turns off Windows' normalization: D:/x is no folder there."""
    os.makedirs(os.path.join(str(tmp_path), "D", "x"))
    computer = Twin(str(tmp_path))
    assert computer.directory_exists("D:/x") and computer.directory_exists("\\\\?\\D:\\x")
    assert not computer.directory_exists("\\\\?\\D:/x")
    with pytest.raises(OSError, match="syntax is incorrect"):
        computer.host_path("\\\\?\\D:\\x/y")


@pytest.mark.parametrize("dest", [DEST, "D:/Sauvegardes/tb", "D:/Sauvegardes\\tb/"])
def test_a_dest_written_with_slashes_is_the_same_folder(tmp_path, dest):
    """Get-DestFolder passes dest to .NET in the \\\\?\\ form, where "/" is
    no separator: D:/Sauvegardes/tb was "does not exist" on Windows."""
    result = scan(tmp_path, dest)
    assert result["error"] is None, result
    assert [a["name"] for a in result["archives"]] == [ARCHIVE]


class TwinHost:
    """PowerShellHost.run_script, answered by the twin, through JSON both ways."""

    def __init__(self, root):
        self.root = root

    def run_script(self, name, request):
        assert name == "backup"
        return json.loads(json.dumps(twin_backup.run_backup(self.root, json.loads(json.dumps(request)))))


class NtfsTimes:
    """os for twin_backup, where one file has a time NTFS keeps and this
    file system cannot (ext4 stops at 1901): FILETIME 0, 1601-01-01."""

    def __init__(self, host_path, mtime_ns):
        self.host_path, self.mtime_ns = host_path, mtime_ns

    def __getattr__(self, name):
        return getattr(os, name)

    def dated(self, st):
        ns = self.mtime_ns
        return os.stat_result(tuple(st)[:8] + (ns // 10 ** 9,) + tuple(st)[9:10],
                              {"st_mtime": ns / 1e9, "st_mtime_ns": ns, "st_atime_ns": st.st_atime_ns,
                               "st_ctime_ns": st.st_ctime_ns})

    def stat(self, path, *args, **kwargs):
        st = os.stat(path, *args, **kwargs)
        return self.dated(st) if os.fspath(path) == self.host_path else st

    def lstat(self, path, *args, **kwargs):
        st = os.lstat(path, *args, **kwargs)
        return self.dated(st) if os.fspath(path) == self.host_path else st


def test_a_file_dated_1601_is_backed_up(tmp_path, monkeypatch):
    """ConvertTo-UnixNs multiplied [long]s: for a time before 1677 the product
    passes Int64 and PowerShell makes it a [double], which the write's [long]
    cast then refuses ("Value was either too large or too small for an
    Int64"): the profile could never be backed up. [decimal] holds it."""
    machine = with_tar(tmp_path)
    old = machine.host(PROFILE + "\\compatibility.ini")
    monkeypatch.setattr(twin_backup, "os", NtfsTimes(old, -11644473600 * 10 ** 9))
    entry = {"path": PROFILE, "home": "C:\\Users\\alice", "user": "alice", "name": "default-esr"}
    outcome = WindowsBackup(TwinHost(str(tmp_path)), "stored")([entry], DEST, 1, False)[PROFILE]
    assert outcome["status"] == "backed_up", outcome["error"]
    with zipfile.ZipFile(machine.host(outcome["archive"])) as zf:
        manifest = json.loads(zf.read("rectorat-backup-manifest.json"))
    [listed] = [f for f in manifest["files"] if f["path"] == "compatibility.ini"]
    assert listed["mtime_ns"] == -11644473600 * 10 ** 9


def test_long_arithmetic_turns_into_double_and_the_cast_back_refuses_it():
    assert ps_long_product(9223372036854775807, 1) == 9223372036854775807
    assert isinstance(ps_long_product(9223372036854775807, 2), float)
    with pytest.raises(ValueError, match="too large or too small for an Int64"):
        ps_long(ps_long_product(-116444736000000000, 100))
    assert ps_decimal(None) == 0 and ps_decimal(-11644473600 * 10 ** 9) == -11644473600 * 10 ** 9


def test_a_dest_written_with_slashes_gets_the_archive_and_reports_its_windows_path(tmp_path):
    machine = with_tar(tmp_path)
    entry = {"path": PROFILE, "home": "C:\\Users\\alice", "user": "alice", "name": "default-esr"}
    outcome = WindowsBackup(TwinHost(str(tmp_path)), "stored")([entry], "D:/Sauvegardes/tb/", 1, False)[PROFILE]
    assert outcome["status"] == "backed_up", outcome["error"]
    assert outcome["archive"].startswith(DEST + "\\alice\\default-esr\\")
    assert zipfile.is_zipfile(machine.host(outcome["archive"]))


def test_decimal_and_long_casts_of_doubles_and_strings():
    """[decimal] of a [double] keeps 15 significant digits; [long] of a
    string of digits is exact up to Int64's end, refused past it."""
    assert ps_decimal(1234567890123456789.0) == 1234567890123460000
    assert ps_decimal("-11644473600000000000") == -11644473600 * 10 ** 9 and ps_decimal("") == 0
    assert ps_long("9223372036854775807") == 9223372036854775807 and ps_long(" 12 ") == 12
    with pytest.raises(ValueError, match="too large or too small for an Int64"):
        ps_long("9223372036854775808")


class Killed(Exception):
    """The run's process ended here: no finally of the script ran."""


class Pid:
    """os for twin_backup, with another process id ($PID)."""

    def __init__(self, pid):
        self.pid = pid

    def __getattr__(self, name):
        return getattr(os, name)

    def getpid(self):
        return self.pid


def dead_pid():
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def back_up(tmp_path, computer, stamp):
    entry = {"path": PROFILE, "home": "C:\\Users\\alice", "user": "alice", "name": "default-esr"}
    with pytest.MonkeyPatch.context() as m:
        m.setitem(twin_backup.ENV, "computername", computer)
        return WindowsBackup(TwinHost(str(tmp_path)), "stored", lambda: stamp)([entry], DEST, 5, False)[PROFILE]


def killed_between_the_renames(tmp_path, computer, stamp):
    """A run of ``computer`` whose process ended after its manifest got its
    name and before its zip did (the state a concurrent run sees then)."""
    real_move = twin_backup.BackupTwin.file_move
    moved = []

    def move(self, source, target):
        if moved:
            raise Killed()
        moved.append(target)
        real_move(self, source, target)

    with pytest.MonkeyPatch.context() as m:
        m.setattr(twin_backup, "os", Pid(dead_pid()))
        m.setattr(twin_backup.BackupTwin, "file_move", move)
        m.setattr(twin_backup.BackupTwin, "remove_backup_leftover", lambda self, temps, staging: None)
        assert back_up(tmp_path, computer, stamp)["status"] == "error"


def test_a_shared_dest_keeps_another_computers_temp_files_and_manifest(tmp_path):
    """Computers whose user and profile names are the same (cloned images)
    write to the same <dest>\\<user>\\<profile>. Their temp files were
    .<stamp>.zip.rectorat-<pid>.tmp: a run on PC01 found no such process and
    deleted PC02's zip being written, and PC02's manifest renamed before its
    zip (which then stayed without a manifest, broken for every retention)."""
    machine = with_tar(tmp_path)
    folder = machine.host(DEST + "\\alice\\default-esr")
    killed_between_the_renames(tmp_path, "PC02", "20261201T000000Z")
    left_by_pc02 = sorted(os.listdir(folder))
    assert len(left_by_pc02) == 2 and "20261201T000000Z.manifest.json" in left_by_pc02

    assert back_up(tmp_path, "PC01", "20261202T000000Z")["status"] == "backed_up"
    assert sorted(os.listdir(folder)) == sorted(left_by_pc02 + ["20261202T000000Z.zip",
                                                                "20261202T000000Z.manifest.json"])

    # PC02's next run removes what its dead run left, and nothing of PC01.
    assert back_up(tmp_path, "PC02", "20261203T000000Z")["status"] == "backed_up"
    assert sorted(os.listdir(folder)) == ["20261202T000000Z.manifest.json", "20261202T000000Z.zip",
                                          "20261203T000000Z.manifest.json", "20261203T000000Z.zip"]


def test_windows_trims_a_name_ending_in_a_dot_or_a_space_outside_the_long_form(tmp_path):
    for name in ("x", "x.", "x ", "x. ."):
        os.makedirs(os.path.join(str(tmp_path), "D", name, name), exist_ok=True)
    computer = Twin(str(tmp_path))
    assert computer.host_path("D:\\x.\\x. .") == os.path.join(str(tmp_path), "D", "x", "x")
    assert computer.host_path("D:\\x \\x ") == os.path.join(str(tmp_path), "D", "x ", "x")
    assert computer.host_path("\\\\?\\D:\\x. .\\x.") == os.path.join(str(tmp_path), "D", "x. .", "x.")


@pytest.mark.parametrize("name", ["Compte prof.", "Travail..."])
def test_a_profile_named_with_a_final_dot_gets_its_archive(tmp_path, name):
    """Its dest folder was made in the \\\\?\\ form, dot included (a folder
    Explorer cannot open), while tar.exe, given the plain path, wrote to the
    folder without the dot: every run failed."""
    machine = with_tar(tmp_path)
    entry = {"path": PROFILE, "home": "C:\\Users\\alice", "user": "alice", "name": name}
    outcome = WindowsBackup(TwinHost(str(tmp_path)), "stored")([entry], DEST, 1, False)[PROFILE]
    assert outcome["status"] == "backed_up", outcome["error"]
    assert not outcome["archive"].split("\\")[-2].endswith(".")
    assert zipfile.is_zipfile(machine.host(outcome["archive"]))
    assert [n for n in os.listdir(machine.host(DEST + "\\alice")) if n.endswith(".")] == []


def test_a_file_whose_name_windows_would_trim_is_refused_not_taken_for_another(tmp_path):
    """tar.exe opens "notes." as "notes": with both there, of one size, the
    archive held the bytes of the other file under that name."""
    machine = with_tar(tmp_path)
    for name, data in (("notes", b"AAAA"), ("notes.", b"BBBB")):
        with open(machine.host(PROFILE + "\\" + name), "wb") as f:
            f.write(data)
    entry = {"path": PROFILE, "home": "C:\\Users\\alice", "user": "alice", "name": "default-esr"}
    outcome = WindowsBackup(TwinHost(str(tmp_path)), "stored")([entry], DEST, 1, False)[PROFILE]
    assert outcome["status"] == "error" and "notes." in outcome["error"], outcome
    assert os.listdir(machine.host(DEST)) == []


def test_a_list_read_in_another_code_page_fails_the_profile_and_writes_nothing(tmp_path, monkeypatch):
    """bsdtar reads its -T list in the page of the connecting account's
    locale; the script writes it in the system's (GetACP). Where they differ
    (a Russian "Format" on a French Windows: 1251, 1252), "Envoyés" is read as
    "Envoyeй", which does not exist: tar.exe fails, the profile with it."""
    machine = with_tar(tmp_path)
    os.makedirs(machine.host(PROFILE + "\\Mail\\Local Folders"))
    with open(machine.host(PROFILE + "\\Mail\\Local Folders\\Envoyés"), "wb") as f:
        f.write(b"From - \r\n")
    monkeypatch.setattr(twin_backup, "TAR_LIST_CODE_PAGE", "cp1251")
    entry = {"path": PROFILE, "home": "C:\\Users\\alice", "user": "alice", "name": "default-esr"}
    outcome = WindowsBackup(TwinHost(str(tmp_path)), "stored")([entry], DEST, 1, False)[PROFILE]
    assert outcome["status"] == "error" and "tar.exe failed" in outcome["error"], outcome
    assert os.listdir(machine.host(DEST + "\\alice\\default-esr")) == []


def test_a_dead_runs_temp_file_named_without_the_computer_is_removed(tmp_path):
    """Temp names before they carried the computer: .<stamp>.zip.rectorat-<pid>.tmp.
    The pattern that required a computer no longer matched them, and a run
    killed before the update left its zip (a whole profile) in dest for ever."""
    machine = with_tar(tmp_path)
    folder = machine.host(DEST + "\\alice\\default-esr")
    os.makedirs(folder)
    left = [".20261201T000000Z.zip.rectorat-%d.tmp" % dead_pid(), "20261201T000000Z.manifest.json"]
    for name in left:
        with open(os.path.join(folder, name), "wb") as f:
            f.write(b"x")

    assert back_up(tmp_path, "PC01", "20261202T000000Z")["status"] == "backed_up"
    assert sorted(os.listdir(folder)) == ["20261202T000000Z.manifest.json", "20261202T000000Z.zip"]
