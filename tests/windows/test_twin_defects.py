"""Each Windows PowerShell 5.1 defect found by reviewing collect.ps1 and
commit.ps1, and commit.ps1's parity with commit.py, through the twin (which
follows the scripts line for line and enforces .NET Framework's limits)."""

import base64
import hashlib
import json
import os
import re
import subprocess

import pytest

import sandbox
import twin
from treestate import tree_state
from twin import Twin
from winsandbox import Machine

ALICE_SID = "S-1-5-21-1-1001"
BOB_SID = "S-1-5-21-1-1002"
ROOT = "C:\\Users\\alice\\AppData\\Roaming\\Thunderbird"
PROFILE = ROOT + "\\Profiles\\aaaa.default-esr"
SECOND = ROOT + "\\Profiles\\bbbb.travail"
STAMP = "20261127T000000Z"
SCRIPT_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                          "plugins", "plugin_utils", "powershell")


def build(tmp_path, *profiles, **kwargs):
    machine = Machine(str(tmp_path))
    machine.add_user("alice", ALICE_SID, **kwargs)
    for path in profiles or (PROFILE,):
        machine.write_profile(path, [sandbox.imap("imap.ac-test.fr", "alice")])
    return machine


def collect(tmp_path, **request):
    base = {"protocol": 1, "users": None, "profiles": None,
            "root_candidates": [{"rel": "AppData/Roaming/Thunderbird", "kind": "appdata"}]}
    base.update(request)
    return twin.run_script(str(tmp_path), "collect", base)


def commit_request(machine, writes, path=PROFILE):
    host = machine.host(path)
    entries = []
    for name, data in writes:
        current = None
        if os.path.exists(os.path.join(host, name)):
            with open(os.path.join(host, name), "rb") as f:
                current = hashlib.sha256(f.read()).hexdigest()
        entries.append({"rel": name, "expect_sha256": current, "b64": base64.b64encode(data).decode()})
    return {"protocol": 1, "backup": True, "stamp": STAMP,
            "profiles": [{"path": path, "home": "C:\\Users\\alice", "uid": None, "gid": None, "writes": entries}]}


def read(machine, path):
    with open(machine.host(path), "rb") as f:
        return f.read()


def set_owner(machine, path, sid):
    owners_path = os.path.join(machine.base, "owners.json")
    owners = json.load(open(owners_path)) if os.path.exists(owners_path) else {}
    owners[path.lower()] = sid
    with open(owners_path, "w") as f:
        json.dump(owners, f)


# -- paths ------------------------------------------------------------------

def test_long_paths_past_260_characters_are_listed_and_read(tmp_path):
    machine = build(tmp_path)
    deep = PROFILE + "\\ImapMail\\imap.ac-test.fr"
    for level in range(12):
        deep += "\\Archives-%02d-de-la-boite-partagee.sbd" % level
    os.makedirs(machine.host(deep))
    with open(machine.host(deep + "\\INBOX.msf"), "wb") as f:
        f.write(b"// <!-- <mdb:mork:z v=\"1.4\"/> -->\n")
    assert len(deep + "\\INBOX.msf") > 500
    [snapshot] = collect(tmp_path)["profiles"]
    assert snapshot["error"] is None and "tree_errors" not in snapshot
    rel = (deep + "\\INBOX.msf")[len(PROFILE) + 1:].replace("\\", "/")
    assert rel in [entry["rel"] for entry in snapshot["tree"]]
    assert snapshot["msf"][rel]["b64"]


def test_the_twin_refuses_what_net_framework_refuses():
    computer = Twin("/nonexistent")
    with pytest.raises(OSError, match="too long"):
        computer.host_path("C:\\" + "x" * 300)
    with pytest.raises(OSError, match="current folder"):
        computer.host_path("D:")
    assert computer.host_path("\\\\?\\D:\\") == os.path.join("/nonexistent", "D")
    with pytest.raises(OSError, match="syntax is incorrect"):
        computer.host_path("\\\\?\\D:\\\\x")  # not normalized: no separators collapsed


def test_drive_root_profile_is_collected_and_written(tmp_path):
    machine = build(tmp_path, "D:\\TBProfile")
    response = collect(tmp_path, profiles=["D:\\TBProfile"])
    assert response["errors"] == []
    [snapshot] = response["profiles"]
    assert (snapshot["path"], snapshot["home"], snapshot["error"]) == ("D:\\TBProfile", "D:\\", None)
    request = commit_request(machine, [("prefs.js", b"// new\r\n")], path="D:\\TBProfile")
    request["profiles"][0]["home"] = snapshot["home"]
    [result] = twin.run_script(str(tmp_path), "commit", request)["profiles"]
    assert result["status"] == "written", result
    assert read(machine, "D:\\TBProfile\\prefs.js") == b"// new\r\n"


# -- commit: read-only, failed Replace, parent.lock ---------------------------

def test_read_only_user_js_is_refused_before_anything_is_written(tmp_path):
    machine = build(tmp_path)
    host = machine.host(PROFILE)
    with open(os.path.join(host, "user.js"), "wb") as f:
        f.write(b'user_pref("mail.server.server1.offline_download", false);\r\n')
    os.chmod(os.path.join(host, "user.js"), 0o444)
    before = tree_state(host)
    request = commit_request(machine, [("prefs.js", b"// new\r\n"), ("user.js", b"// new\r\n")])
    [result] = Twin(str(tmp_path)).invoke_commit(request)["profiles"]
    assert result["status"] == "error" and "user.js is read-only" in result["error"]
    assert result["written"] == [] and result["backups"] == []
    assert tree_state(host) == before


@pytest.mark.parametrize("code", [1175, 1176, 1177])
def test_a_failed_replace_keeps_the_file(tmp_path, code):
    machine = build(tmp_path)
    host = machine.host(PROFILE)
    old = read(machine, PROFILE + "\\prefs.js")
    computer = Twin(str(tmp_path))
    computer.replace_failures = {"prefs.js": code}
    [result] = computer.invoke_commit(commit_request(machine, [("prefs.js", b"// new\r\n")]))["profiles"]
    assert result["status"] == "error" and result["written"] == []
    assert read(machine, PROFILE + "\\prefs.js") == old
    assert not [n for n in os.listdir(host) if n.endswith(".tmp") or n.endswith(".bak")]


def test_a_failed_second_replace_puts_the_first_file_back(tmp_path):
    machine = build(tmp_path)
    host = machine.host(PROFILE)
    before = tree_state(host)
    computer = Twin(str(tmp_path))
    computer.replace_failures = {"folderCache.json": 1176}
    request = commit_request(machine, [("prefs.js", b"// new\r\n"), ("folderCache.json", b"{}")])
    [result] = computer.invoke_commit(request)["profiles"]
    assert result["status"] == "error" and result["written"] == [] and result["backups"] == []
    assert tree_state(host) == before


class NoBackupName(Twin):
    """Invoke-Replace as commit.ps1 first had it: Replace with no backup name."""

    def invoke_replace(self, source, target, old):
        self.file_replace(source, target, None)


def test_the_first_script_shape_loses_the_file_in_the_twin_as_on_windows(tmp_path):
    machine = build(tmp_path)
    computer = NoBackupName(str(tmp_path))
    computer.replace_failures = {"prefs.js": 1176}
    [result] = computer.invoke_commit(commit_request(machine, [("prefs.js", b"// new\r\n")]))["profiles"]
    assert result["status"] == "error"
    assert not os.path.exists(machine.host(PROFILE + "\\prefs.js"))


def test_thunderbirds_own_parent_lock_is_kept(tmp_path):
    machine = build(tmp_path)
    lock = os.path.join(machine.host(PROFILE), "parent.lock")
    with open(lock, "wb"):
        pass
    os.utime(lock, (1700000000, 1700000000))
    [result] = Twin(str(tmp_path)).invoke_commit(commit_request(machine, [("prefs.js", b"// new\r\n")]))["profiles"]
    assert result["status"] == "written"
    assert os.stat(lock).st_mtime == 1700000000


def test_a_parent_lock_made_by_the_run_is_removed(tmp_path):
    machine = build(tmp_path)
    [result] = Twin(str(tmp_path)).invoke_commit(commit_request(machine, [("prefs.js", b"// new\r\n")]))["profiles"]
    assert result["status"] == "written"
    assert "parent.lock" not in os.listdir(machine.host(PROFILE))


# -- commit parity with commit.py -------------------------------------------

def dead_pid():
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_stale_temp_files_of_a_killed_run_are_removed(tmp_path):
    machine = build(tmp_path)
    host = machine.host(PROFILE)
    pid = dead_pid()
    stale = [".prefs.js.rectorat-%d.tmp" % pid, ".prefs.js.%s.bak.rectorat-%d.tmp" % (STAMP, pid)]
    live = ".user.js.rectorat-1.tmp"      # pid 1 runs
    for name in stale + [live]:
        with open(os.path.join(host, name), "wb") as f:
            f.write(b"partial")
    [result] = Twin(str(tmp_path)).invoke_commit(commit_request(machine, [("prefs.js", b"// new\r\n")]))["profiles"]
    assert result["status"] == "written"
    names = os.listdir(host)
    assert not set(stale) & set(names) and live in names


def test_temp_files_of_an_earlier_process_with_this_process_id_are_removed(tmp_path):
    # Windows reuses process ids: a killed run's temp file may carry the id
    # of the run that comes next, which must not take it for its own.
    machine = build(tmp_path)
    host = machine.host(PROFILE)
    old = read(machine, PROFILE + "\\prefs.js")
    stale = ".prefs.js.rectorat-%d.tmp" % os.getpid()    # the twin's $PID
    with open(os.path.join(host, stale), "wb") as f:
        f.write(b"partial")
    [result] = Twin(str(tmp_path)).invoke_commit(commit_request(machine, [("prefs.js", b"// new\r\n")]))["profiles"]
    assert result["status"] == "written", result["error"]
    assert stale not in os.listdir(host) and read(machine, PROFILE + "\\prefs.js.%s.bak" % STAMP) == old


def test_a_temp_name_with_other_digits_is_left_alone(tmp_path):
    # .NET's \\d matches every Unicode digit and [int] refuses "\u0661\u0662":
    # such a name, which no run makes, must not stop the profile's commit.
    machine = build(tmp_path)
    odd = os.path.join(machine.host(PROFILE), ".prefs.js.rectorat-\u0661\u0662.tmp")
    with open(odd, "wb") as f:
        f.write(b"someone's")
    [result] = Twin(str(tmp_path)).invoke_commit(commit_request(machine, [("prefs.js", b"// new\r\n")]))["profiles"]
    assert result["status"] == "written", result["error"]
    assert os.path.exists(odd)


def test_old_bytes_left_by_a_killed_replace_go_back_to_their_name(tmp_path):
    machine = build(tmp_path)
    host = machine.host(PROFILE)
    old = read(machine, PROFILE + "\\folderCache.json")
    leftover = ".folderCache.json.old.rectorat-%d.tmp" % dead_pid()
    os.rename(os.path.join(host, "folderCache.json"), os.path.join(host, leftover))
    [result] = Twin(str(tmp_path)).invoke_commit(commit_request(machine, [("prefs.js", b"// new\r\n")]))["profiles"]
    assert result["status"] == "written"
    assert read(machine, PROFILE + "\\folderCache.json") == old


def test_an_identical_backup_of_the_same_second_is_reused(tmp_path):
    machine = build(tmp_path)
    old = read(machine, PROFILE + "\\prefs.js")
    backup = machine.host(PROFILE + "\\prefs.js.%s.bak" % STAMP)
    with open(backup, "wb") as f:
        f.write(old)
    [result] = Twin(str(tmp_path)).invoke_commit(commit_request(machine, [("prefs.js", b"// new\r\n")]))["profiles"]
    assert result["status"] == "written" and result["backups"] == ["prefs.js.%s.bak" % STAMP]
    assert read(machine, PROFILE + "\\prefs.js.%s.bak" % STAMP) == old


def test_a_different_backup_of_the_same_second_stops_the_profile(tmp_path):
    machine = build(tmp_path)
    backup = machine.host(PROFILE + "\\prefs.js.%s.bak" % STAMP)
    with open(backup, "wb") as f:
        f.write(b"other bytes")
    before = tree_state(machine.host(PROFILE))
    [result] = Twin(str(tmp_path)).invoke_commit(commit_request(machine, [("prefs.js", b"// new\r\n")]))["profiles"]
    assert result["status"] == "error" and "already exists" in result["error"]
    assert tree_state(machine.host(PROFILE)) == before


def test_owner_is_checked_under_the_lock(tmp_path):
    machine = build(tmp_path)
    set_owner(machine, PROFILE, ALICE_SID)
    request = commit_request(machine, [("prefs.js", b"// new\r\n")])
    set_owner(machine, PROFILE + "\\prefs.js", BOB_SID)    # after collect, before commit
    before = tree_state(machine.host(PROFILE))
    [result] = Twin(str(tmp_path)).invoke_commit(request)["profiles"]
    assert result["status"] == "error" and BOB_SID in result["error"]
    assert tree_state(machine.host(PROFILE)) == before
    set_owner(machine, PROFILE + "\\prefs.js", "S-1-5-32-544")   # Administrators may own it
    [result] = Twin(str(tmp_path)).invoke_commit(request)["profiles"]
    assert result["status"] == "written"


def test_collect_reports_a_file_owned_by_another_user(tmp_path):
    machine = build(tmp_path)
    set_owner(machine, PROFILE, ALICE_SID)
    set_owner(machine, PROFILE + "\\prefs.js", BOB_SID)
    [snapshot] = collect(tmp_path)["profiles"]
    assert BOB_SID in snapshot["files"]["prefs.js"]["error"] and "b64" not in snapshot["files"]["prefs.js"]
    assert snapshot["files"]["folderCache.json"]["b64"]


def test_files_commit_wrote_are_read_and_written_again(tmp_path):
    # [IO.File]::Replace keeps the DACL, not the owner: what commit wrote is
    # owned by the account the scripts run as, which must not make the next
    # run refuse the profile.
    machine = build(tmp_path)
    for path in (PROFILE, PROFILE + "\\prefs.js", PROFILE + "\\folderCache.json"):
        set_owner(machine, path, ALICE_SID)
    request = commit_request(machine, [("prefs.js", b"// new\r\n"), ("user.js", b"// user\r\n")])
    [result] = Twin(str(tmp_path)).invoke_commit(request)["profiles"]
    assert result["status"] == "written"
    owners = Twin(str(tmp_path))
    assert owners.owner_of(PROFILE + "\\prefs.js") == owners.owner_of(PROFILE + "\\user.js") == twin.RUNNING_ACCOUNT
    [snapshot] = collect(tmp_path)["profiles"]
    for name in ("prefs.js", "user.js"):
        assert snapshot["files"][name]["error"] is None and snapshot["files"][name]["b64"]
    request = commit_request(machine, [("prefs.js", b"// again\r\n"), ("user.js", b"// user 2\r\n")])
    request["stamp"] = "20261127T000001Z"
    [result] = Twin(str(tmp_path)).invoke_commit(request)["profiles"]
    assert result["status"] == "written", result["error"]


def test_one_profile_failing_leaves_the_others_written(tmp_path):
    machine = build(tmp_path, PROFILE, SECOND)
    request = commit_request(machine, [("prefs.js", b"// new\r\n")])
    request["profiles"][0]["writes"][0]["b64"] = "not base64!"
    request["profiles"] += commit_request(machine, [("prefs.js", b"// second\r\n")], path=SECOND)["profiles"]
    first, second = Twin(str(tmp_path)).invoke_commit(request)["profiles"]
    assert first["status"] == "error" and second["status"] == "written"
    assert read(machine, SECOND + "\\prefs.js") == b"// second\r\n"


# -- budgets ------------------------------------------------------------------

def test_the_run_budget_caps_what_is_read_and_the_other_profile_says_why(tmp_path):
    build(tmp_path, PROFILE, SECOND)
    first = collect(tmp_path)["profiles"][0]
    spent = sum(r["size"] for r in first["files"].values() if r and r.get("b64"))
    spent += sum(r["size"] for r in first["msf"].values() if r and r.get("b64"))
    response = collect(tmp_path, max_run_bytes=spent + 10)
    one, two = response["profiles"]
    assert one["files"]["prefs.js"]["b64"] and one["error"] is None
    assert "read budget" in two["files"]["prefs.js"]["error"] and "b64" not in two["files"]["prefs.js"]
    read_bytes = sum(r["size"] for p in response["profiles"] for r in list(p["files"].values()) + list(p["msf"].values())
                     if r and r.get("b64"))
    assert read_bytes <= spent + 10


def test_profile_count_and_time_budgets(tmp_path):
    build(tmp_path, PROFILE, SECOND)
    one, two = collect(tmp_path, max_profiles=1)["profiles"]
    assert one["error"] is None and "more than 1 profiles" in two["error"]
    response = collect(tmp_path, max_seconds=-1)
    assert [p["error"] for p in response["profiles"]] == ["not read: the time budget of the host (-1 s) is spent"] * 2


# -- registry -------------------------------------------------------------------

def test_registry_keys_are_closed(tmp_path):
    build(tmp_path, appdata="%USERPROFILE%\\AppData\\Roaming")
    computer = Twin(str(tmp_path))
    response = computer.invoke_collect({"protocol": 1, "users": None, "profiles": None,
                                        "root_candidates": [{"rel": "AppData/Roaming/Thunderbird", "kind": "appdata"}]})
    assert len(response["profiles"]) == 1 and computer.open_keys == 0


def test_every_registry_key_the_script_opens_is_disposed_in_a_finally():
    with open(os.path.join(SCRIPT_DIR, "collect.ps1")) as f:
        text = f.read()
    opened = re.findall(r"\$(\w+) = \S+OpenSubKey\(", text)
    assert len(opened) == 3
    for name in opened:
        assert re.search(r"finally \{\s+(if \(\$null -ne \$%s\) \{\s+)?\$%s\.Dispose\(\)" % (name, name), text), name


def test_a_file_of_another_size_than_collect_saw_is_not_read(tmp_path):
    machine = build(tmp_path)
    request = commit_request(machine, [("prefs.js", b"// new\r\n")])
    request["profiles"][0]["writes"][0]["expect_size"] = 1
    computer = Twin(str(tmp_path))
    computer.read_raw_file = None      # reading it would fail the test
    before = tree_state(machine.host(PROFILE))
    [result] = computer.invoke_commit(request)["profiles"]
    assert result["status"] == "conflict" and "its size" in result["error"]
    assert tree_state(machine.host(PROFILE)) == before


def test_an_explicit_path_through_a_junction_below_the_home_is_refused(tmp_path):
    machine = build(tmp_path)
    machine.add_user("bob", BOB_SID)
    bob_root = "C:\\Users\\bob\\AppData\\Roaming\\Thunderbird"
    machine.write_profile(bob_root + "\\Profiles\\cccc.default-esr", [sandbox.imap("imap.ac-test.fr", "bob")])
    alice_root = machine.host(ROOT)
    os.rename(alice_root, alice_root + "-old")
    os.symlink(machine.host(bob_root), alice_root)     # a junction to bob's folder
    response = collect(tmp_path, profiles=[ROOT + "\\Profiles\\cccc.default-esr"])
    assert response["profiles"] == [] and response["roots"] == []
    assert response["errors"] == [ROOT + "\\Profiles\\cccc.default-esr: AppData/Roaming/Thunderbird is a junction "
                                  "or a symbolic link; give the real folder"]


def test_an_explicit_profile_is_walked_from_its_users_home(tmp_path):
    build(tmp_path)
    [snapshot] = collect(tmp_path, profiles=[PROFILE])["profiles"]
    assert (snapshot["path"], snapshot["home"], snapshot["user"], snapshot["error"]) == (
        PROFILE, "C:\\Users\\alice", "alice", None)
