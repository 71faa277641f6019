"""Windows PowerShell 5.1 defects found by reviewing backup.ps1 (after the
prelude), through its twin (tests/windows/twin_backup.py), which follows the
script line for line and refuses what .NET Framework refuses."""

import os

import pytest

import sandbox
import twin_backup
from twin import Twin
from winsandbox import Machine

ALICE_SID = "S-1-5-21-1-1001"
PROFILE = "C:\\Users\\alice\\AppData\\Roaming\\Thunderbird\\Profiles\\aaaa.default-esr"
DEST = "D:\\Sauvegardes\\tb"
ARCHIVE = "20261201T000000Z.zip"


def scan(tmp_path, dest):
    machine = Machine(str(tmp_path))
    machine.add_user("alice", ALICE_SID)
    machine.write_profile(PROFILE, [sandbox.imap("imap.ac-test.fr", "alice")])
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
