"""The Windows flow through a real ansible-playbook: the real action plugins,
the fake Windows connection (connection_plugins/fakewin.py), and the Python
twin of collect.ps1/commit.ps1 on Windows-shaped trees (CRLF prefs.js,
backslashed paths, folder names whose case differs from what refers to them)."""

import fcntl
import json
import os
import shutil
import sys

import pytest
import yaml

import sandbox
from playbook import run_playbook
from treestate import tree_state
from winsandbox import Machine

HERE = os.path.dirname(os.path.abspath(__file__))
ENV = {"ANSIBLE_CONNECTION_PLUGINS": os.path.join(HERE, "connection_plugins")}
IMAP = "imap.ac-test.fr"
OFFLINE = 0x08000000
ALICE_SID = "S-1-5-21-1111-2222-3333-1001"
BOB_SID = "S-1-5-21-1111-2222-3333-1002"
# Folder names as they are on disk: "thunderbird" and "profiles" in lower
# case, while profiles.ini and the scripts say "Profiles"/"Thunderbird".
ALICE_ROOT = "C:\\Users\\alice\\AppData\\Roaming\\thunderbird"
ALICE_FIRST = ALICE_ROOT + "\\profiles\\aaaa.default-esr"
ALICE_SECOND = ALICE_ROOT + "\\profiles\\bbbb.travail"
BOB_ROOT = "C:\\Users\\bob\\AppData\\Roaming\\Thunderbird"
BOB_PROFILE = BOB_ROOT + "\\Profiles\\cccc.default-esr"


class Workstation:
    """A Windows sandbox reached through the fake connection."""

    def __init__(self, tmp_path):
        self.machine = Machine(str(tmp_path / "win1"))
        self.log = tmp_path / "fakewin.log"
        self.tmp_path = tmp_path
        self.inventory = tmp_path / "inventory.yml"
        self.write_inventory()

    def write_inventory(self, **host_vars):
        win = dict(ansible_connection="fakewin", fakewin_root=self.machine.base, fakewin_log=str(self.log),
                   **host_vars)
        self.inventory.write_text(yaml.safe_dump({"all": {"hosts": {"win1": win}}}))

    def calls(self):
        if not self.log.exists():
            return []
        return [json.loads(line)["script"] for line in self.log.read_text().splitlines()]

    def host(self, path):
        return self.machine.host(path)

    def read(self, path):
        with open(self.host(path), "rb") as f:
            return f.read()

    def play(self, module, args=None, *cli):
        plays = [{"hosts": "win1", "gather_facts": False,
                  "tasks": [{"name": "task", module: args or {}, "register": "r"}]}]
        return run_playbook(self.tmp_path, plays, *cli, inventory=self.inventory, env=ENV)


def build_alice_and_bob(machine):
    machine.add_user("alice", ALICE_SID)
    machine.write_profile(ALICE_FIRST, [sandbox.imap(IMAP, "alice", offline=False, socket=0),
                                        sandbox.pop("pop.ac-test.fr", "alice.pop")])
    machine.write_profile(ALICE_SECOND, [sandbox.imap(IMAP, "alice", offline=True)])
    # Relative paths with "/" (as Thunderbird writes them) and with "\" and
    # another case (as an admin's script might).
    machine.write_profiles_ini(ALICE_ROOT, [("default-esr", "Profiles/aaaa.default-esr", True),
                                            ("travail", "Profiles\\BBBB.travail", True)],
                               default="Profiles/aaaa.default-esr")
    os.chmod(machine.host(ALICE_FIRST + "\\prefs.js"), 0o640)  # stands for an ACL of its own
    machine.add_user("bob", BOB_SID)
    machine.write_profile(BOB_PROFILE, [sandbox.imap(IMAP, "bob", offline=False)])
    machine.write_profiles_ini(BOB_ROOT, [("default-esr", "Profiles/cccc.default-esr", True)])
    # bob's mail folder is "imapmail" on disk; prefs and folderCache.json say "ImapMail".
    os.rename(machine.host(BOB_PROFILE + "\\ImapMail"), machine.host(BOB_PROFILE + "\\imapmail"))
    os.makedirs(machine.host("C:\\Users\\Public\\AppData\\Roaming\\Thunderbird"))


@pytest.fixture
def win(tmp_path):
    station = Workstation(tmp_path)
    build_alice_and_bob(station.machine)
    return station


def by_path(result):
    return dict((p["path"], p) for p in result["ansible_facts"]["thunderbird"]["profiles"])


def test_info_reports_every_windows_profile_and_writes_nothing(win):
    before = tree_state(win.machine.base)
    run = win.play("rectorat.thunderbird.thunderbird_info")
    assert run.rc == 0, run.stdout + run.stderr
    result = run.result("task", "win1")
    profiles = by_path(result)
    assert set(profiles) == {ALICE_FIRST, ALICE_SECOND, BOB_PROFILE}
    first = profiles[ALICE_FIRST]
    assert (first["name"], first["default"], first["user"], first["version"]) == ("default-esr", True, "alice", "153.8.0")
    assert first["root"] == ALICE_ROOT and first["error"] is None and first["running"] is False
    assert profiles[ALICE_SECOND]["name"] == "travail" and profiles[ALICE_SECOND]["default"] is False
    imap, pop, local = first["accounts"]
    assert imap["store_path"] == ALICE_FIRST + "\\ImapMail\\" + IMAP
    assert (imap["folders_total"], imap["folders_offline"], imap["backup_ready"]) == (4, 0, False)
    assert imap["password_exposed"] is True and pop["backup_ready"] is True and pop["store_bytes"] > 0
    assert profiles[ALICE_SECOND]["accounts"][0]["backup_ready"] is True
    bob = profiles[BOB_PROFILE]["accounts"][0]
    assert (bob["folders_total"], bob["folders_offline"]) == (4, 0), "folders below imapmail/ not found"
    assert bob["store_path"] == BOB_PROFILE + "\\imapmail\\" + IMAP and bob["store_bytes"] > 0
    assert result["changed"] is False and result["summary"]["imap_backup_ready"] == 1
    assert tree_state(win.machine.base) == before
    assert win.calls() == ["collect", "autoconfig"]  # profiles, then installations (none here)
    assert result["ansible_facts"]["thunderbird"]["installations"] == []


def test_check_mode_changes_no_byte(win):
    before = tree_state(win.machine.base)
    run = win.play("rectorat.thunderbird.thunderbird_offline", {}, "--check", "--diff")
    assert run.rc == 0, run.stdout + run.stderr
    result = run.result("task", "win1")
    assert result["changed"] is True
    profiles = by_path(result)
    assert profiles[ALICE_FIRST]["status"] == "changed" and profiles[BOB_PROFILE]["status"] == "changed"
    assert any(d["after_header"] == ALICE_FIRST + "\\prefs.js" for d in result["diff"])
    assert tree_state(win.machine.base) == before
    assert win.calls() == ["collect"]


def test_apply_keeps_crlf_acl_and_backups_then_second_run_changes_nothing(win):
    original = win.read(ALICE_FIRST + "\\prefs.js")
    run = win.play("rectorat.thunderbird.thunderbird_offline")
    assert run.rc == 0, run.stdout + run.stderr
    result = run.result("task", "win1")
    profiles = by_path(result)
    assert (profiles[ALICE_FIRST]["status"], profiles[ALICE_SECOND]["status"],
            profiles[BOB_PROFILE]["status"]) == ("changed", "unchanged", "changed")
    assert win.calls() == ["collect", "commit"]

    prefs = win.read(ALICE_FIRST + "\\prefs.js")
    assert b'user_pref("mail.server.server1.offline_download", true);\r\n' in prefs
    assert b"\n" not in prefs.replace(b"\r\n", b"") and not prefs.startswith(b"\xef\xbb\xbf")
    assert os.stat(win.host(ALICE_FIRST + "\\prefs.js")).st_mode & 0o777 == 0o640
    backups = profiles[ALICE_FIRST]["backups"]
    assert "prefs.js.%s.bak" % backups[0].split(".")[2] in backups
    assert win.read(ALICE_FIRST + "\\" + [b for b in backups if b.startswith("prefs.js.")][0]) == original
    cache = json.loads(win.read(ALICE_FIRST + "\\folderCache.json"))
    inbox = cache[ALICE_FIRST + "\\ImapMail\\" + IMAP + "\\INBOX.msf"]
    trash = cache[ALICE_FIRST + "\\ImapMail\\" + IMAP + "\\Trash.msf"]
    assert inbox["flags"] & OFFLINE and not trash["flags"] & OFFLINE
    bob_cache = json.loads(win.read(BOB_PROFILE + "\\folderCache.json"))
    assert bob_cache[BOB_PROFILE + "\\ImapMail\\" + IMAP + "\\Sent.msf"]["flags"] & OFFLINE
    leftovers = [n for p in (ALICE_FIRST, BOB_PROFILE) for n in os.listdir(win.host(p))
                 if n == "parent.lock" or n.endswith(".tmp")]
    assert leftovers == []
    facts = profiles[ALICE_FIRST]["accounts"][0]
    assert facts["backup_ready"] is True and facts["before"]["backup_ready"] is False

    after_first = tree_state(win.machine.base)
    again = win.play("rectorat.thunderbird.thunderbird_offline")
    assert again.rc == 0 and again.recap("win1")["changed"] == 0, again.stdout
    assert tree_state(win.machine.base) == after_first
    assert win.calls() == ["collect", "commit", "collect"]


def test_running_profile_is_skipped_and_untouched(win):
    lock_path = win.host(ALICE_FIRST + "\\parent.lock")
    with open(lock_path, "wb") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # Thunderbird's open, sharing nothing
        before = win.read(ALICE_FIRST + "\\prefs.js")
        run = win.play("rectorat.thunderbird.thunderbird_offline")
        assert win.read(ALICE_FIRST + "\\prefs.js") == before
    assert run.rc == 0, run.stdout + run.stderr
    profiles = by_path(run.result("task", "win1"))
    assert profiles[ALICE_FIRST]["status"] == "skipped_running" and profiles[ALICE_FIRST]["running"] is True
    assert profiles[BOB_PROFILE]["status"] == "changed"
    assert os.path.exists(lock_path)


def test_running_profile_fails_the_task_with_if_running_fail(win):
    with open(win.host(ALICE_FIRST + "\\parent.lock"), "wb") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        run = win.play("rectorat.thunderbird.thunderbird_offline", {"if_running": "fail"})
    assert run.rc != 0
    assert "Thunderbird is running" in run.result("task", "win1")["msg"]


def test_broken_prefs_is_reported_and_the_others_proceed(win):
    with open(win.host(ALICE_FIRST + "\\prefs.js"), "ab") as f:
        f.write(b'user_pref("mail.server.server1.offline_download", ;\r\n')
    before = win.read(ALICE_FIRST + "\\prefs.js")
    run = win.play("rectorat.thunderbird.thunderbird_offline")
    assert run.rc == 0, run.stdout + run.stderr
    profiles = by_path(run.result("task", "win1"))
    assert profiles[ALICE_FIRST]["status"] == "error" and "prefs.js" in profiles[ALICE_FIRST]["error"]
    assert profiles[BOB_PROFILE]["status"] == "changed"
    assert win.read(ALICE_FIRST + "\\prefs.js") == before


def test_junction_below_the_home_is_refused(win):
    real = win.host("C:\\Data\\tb")
    shutil.move(win.host(BOB_ROOT), real)
    os.symlink(real, win.host(BOB_ROOT))
    before = tree_state(win.machine.base)
    run = win.play("rectorat.thunderbird.thunderbird_offline")
    assert run.rc == 0, run.stdout + run.stderr
    records = run.result("task", "win1")["ansible_facts"]["thunderbird"]["profiles"]
    refused = [r for r in records if r["user"] == "bob"]
    assert len(refused) == 1 and "AppData/Roaming/Thunderbird is a symbolic link" in refused[0]["error"]
    assert all(v == before[k] for k, v in tree_state(win.machine.base).items() if k.startswith("C/Data"))


def test_redirected_appdata_is_followed_and_reported(win, tmp_path):
    share = "\\\\srv\\home$\\carol\\AppData\\Roaming\\Thunderbird"
    win.machine.add_user("carol", "S-1-5-21-1111-2222-3333-1003", appdata="\\\\srv\\home$\\%USERNAME%\\AppData\\Roaming")
    win.machine.write_profile(share + "\\Profiles\\dddd.default-esr", [sandbox.imap(IMAP, "carol")])
    win.machine.write_profiles_ini(share, [("default-esr", "Profiles/dddd.default-esr", True)])
    win.machine.add_user("dave", "S-1-5-21-1111-2222-3333-1004", appdata="\\\\nas\\gone$\\dave\\AppData\\Roaming")
    run = win.play("rectorat.thunderbird.thunderbird_offline", {"users": ["carol", "dave"]})
    assert run.rc == 0, run.stdout + run.stderr
    facts = run.result("task", "win1")["ansible_facts"]["thunderbird"]
    [carol] = facts["profiles"]
    assert carol["path"] == share + "\\Profiles\\dddd.default-esr" and carol["user"] == "carol"
    assert carol["redirected"] is True and carol["status"] == "changed"
    assert b"offline_download\", true" in win.read(share + "\\Profiles\\dddd.default-esr\\prefs.js")
    assert any("dave: AppData is redirected to the network share \\\\nas\\gone$" in e for e in facts["errors"])


def test_users_without_registry_come_from_c_users(win):
    os.remove(os.path.join(win.machine.base, "registry.json"))
    run = win.play("rectorat.thunderbird.thunderbird_info", {"users": ["BOB", "nobody"]})
    assert run.rc == 0, run.stdout + run.stderr
    facts = run.result("task", "win1")["ansible_facts"]["thunderbird"]
    assert [p["path"] for p in facts["profiles"]] == [BOB_PROFILE]
    assert facts["errors"] == ["no local user named nobody"]


def test_explicit_profile_paths_with_slashes_and_other_case(win):
    run = win.play("rectorat.thunderbird.thunderbird_info",
                   {"profiles": ["c:/users/ALICE/appdata/roaming/Thunderbird/Profiles/aaaa.default-esr"]})
    assert run.rc == 0, run.stdout + run.stderr
    [record] = run.result("task", "win1")["ansible_facts"]["thunderbird"]["profiles"]
    # Walked from alice's home, as discovery walks it: the same path as discovery reports
    # (the home as the registry says, each folder below it as on disk).
    assert record["path"] == ALICE_FIRST
    assert record["user"] == "alice" and record["accounts"][0]["folders_total"] == 4


def test_winrm_cmd_shell_is_a_windows_host_too(win):
    win.write_inventory(ansible_shell_type="cmd")
    run = win.play("rectorat.thunderbird.thunderbird_offline")
    assert run.rc == 0, run.stdout + run.stderr
    assert run.result("task", "win1")["changed"] is True and win.calls() == ["collect", "commit"]


def test_options_are_checked_on_the_controller_before_any_command(win):
    run = win.play("rectorat.thunderbird.thunderbird_offline", {"if_running": "maybe"})
    assert run.rc != 0
    assert "if_running" in run.result("task", "win1")["msg"]
    assert win.calls() == []


def strip_paths(record):
    """A profile's facts without what depends on where it lives."""
    record = dict(record)
    for key in ("path", "root", "user", "backups"):
        record.pop(key, None)
    record["accounts"] = [dict((k, v) for k, v in a.items() if k != "store_path") for a in record["accounts"]]
    return record


def test_same_playbook_on_linux_and_windows_gives_equal_facts(tmp_path):
    linux_root = str(tmp_path / "linux" / "home" / ".thunderbird")
    windows = Machine(str(tmp_path / "win1"))
    windows.add_user("alice", ALICE_SID)
    win_root = "C:\\Users\\alice\\AppData\\Roaming\\Thunderbird"
    profiles = [("aaaa.default-esr", [sandbox.imap(IMAP, "alice", offline=False, socket=0),
                                      sandbox.pop("pop.ac-test.fr", "alice.pop")]),
                ("bbbb.travail", [sandbox.imap(IMAP, "alice", offline=None, flagged=False),
                                  sandbox.imap("imap.perso.example", "alice", offline=True)])]
    for name, accounts in profiles:
        sandbox.write_profile(os.path.join(linux_root, name), accounts)
        windows.write_profile(win_root + "\\Profiles\\" + name, accounts)
    sandbox.write_profiles_ini(linux_root, [name for name, dummy in profiles], default="aaaa.default-esr")
    windows.write_profiles_ini(win_root, [(name.split(".")[1], "Profiles/" + name, True) for name, dummy in profiles],
                               default="Profiles/aaaa.default-esr")
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {
        "linux1": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                   "tb_profiles": [linux_root]},
        "win1": {"ansible_connection": "fakewin", "fakewin_root": windows.base}}}}))
    with open(os.path.join(HERE, "playbooks", "site.yml")) as f:
        run = run_playbook(tmp_path, f.read(), inventory=inventory, env=ENV)
    assert run.rc == 0, run.stdout + run.stderr

    for task in ("Report Thunderbird profiles", "Keep every IMAP message on the workstation"):
        linux, win = run.result(task, "linux1"), run.result(task, "win1")
        linux_facts, win_facts = linux["ansible_facts"]["thunderbird"], win["ansible_facts"]["thunderbird"]
        assert len(linux_facts["profiles"]) == 2 and linux_facts["profiles"][0]["accounts"]
        assert [strip_paths(p) for p in win_facts["profiles"]] == [strip_paths(p) for p in linux_facts["profiles"]]
        assert win_facts["summary"] == linux_facts["summary"] and win["changed"] == linux["changed"]
        assert sorted(win) == sorted(linux) and win["msg"] == linux["msg"]
        assert [len(p["backups"]) for p in win_facts["profiles"] if "backups" in p] == \
            [len(p["backups"]) for p in linux_facts["profiles"] if "backups" in p]
    assert run.result("Keep every IMAP message on the workstation", "win1")["changed"] is True

    for name, dummy in profiles:
        linux_prefs = open(os.path.join(linux_root, name, "prefs.js"), "rb").read()
        win_prefs = open(windows.host(win_root + "\\Profiles\\" + name + "\\prefs.js"), "rb").read()
        win_lines = [l for l in win_prefs.split(b"\r\n") if b'.directory"' not in l]
        assert win_lines == linux_prefs.split(b"\n"), name
