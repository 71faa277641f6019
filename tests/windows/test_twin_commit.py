"""commit.ps1's all-or-nothing rule, through its Python twin: a failure while
preparing the files leaves the profile exactly as it was."""

import base64
import hashlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import sandbox  # noqa: E402
from treestate import tree_state  # noqa: E402
from twin import Twin  # noqa: E402
from winsandbox import Machine  # noqa: E402

PROFILE = "C:\\Users\\alice\\AppData\\Roaming\\Thunderbird\\Profiles\\aaaa.default-esr"


def request(host, writes):
    entries = []
    for name, data in writes:
        with open(os.path.join(host, name), "rb") as f:
            current = hashlib.sha256(f.read()).hexdigest()
        entries.append({"rel": name, "expect_sha256": current, "b64": base64.b64encode(data).decode()})
    return {"protocol": 1, "backup": True, "stamp": "20261127T000000Z",
            "profiles": [{"path": PROFILE, "writes": entries}]}


def test_failure_preparing_the_second_file_leaves_the_profile_as_it_was(tmp_path):
    machine = Machine(str(tmp_path))
    machine.add_user("alice", "S-1-5-21-1-1001")
    host = machine.write_profile(PROFILE, [sandbox.imap("imap.ac-test.fr", "alice")])
    # Something already stands where the second file's temp file must be created.
    os.mkdir(os.path.join(host, ".folderCache.json.rectorat-%d.tmp" % os.getpid()))
    before = tree_state(host)
    response = Twin(str(tmp_path)).invoke_commit(
        request(host, [("prefs.js", b"// new\n"), ("folderCache.json", b"{}")]))
    [result] = response["profiles"]
    assert result["status"] == "error" and result["written"] == [] and result["backups"] == []
    assert tree_state(host) == before


def test_both_files_written_with_backups(tmp_path):
    machine = Machine(str(tmp_path))
    machine.add_user("alice", "S-1-5-21-1-1001")
    host = machine.write_profile(PROFILE, [sandbox.imap("imap.ac-test.fr", "alice")])
    old = open(os.path.join(host, "prefs.js"), "rb").read()
    response = Twin(str(tmp_path)).invoke_commit(
        request(host, [("prefs.js", b"// new\r\n"), ("folderCache.json", b"{}")]))
    [result] = response["profiles"]
    assert result["status"] == "written" and result["written"] == ["prefs.js", "folderCache.json"]
    assert open(os.path.join(host, "prefs.js"), "rb").read() == b"// new\r\n"
    assert open(os.path.join(host, "prefs.js.20261127T000000Z.bak"), "rb").read() == old
    assert not [n for n in os.listdir(host) if n.endswith(".tmp")]
