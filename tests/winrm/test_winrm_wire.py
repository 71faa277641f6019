"""The collection's Windows path over the real wire: ansible-playbook with
Ansible's own ``winrm`` connection plugin and pywinrm, NTLM with message
encryption over HTTP, to the WS-Management endpoint of wsman.py, whose
commands run the Python twin of collect.ps1/commit.ps1 on Windows-shaped
trees (the same trees as tests/windows)."""

import fcntl
import json
import os

import pytest
import yaml

from ansible_collections.rectorat.thunderbird.plugins.module_utils import autoconfig as ac
from ansible_collections.rectorat.thunderbird.plugins.module_utils import autoconfig_script as script

from wire_figures import FIGURES
from playbook import run_playbook
from test_windows_autoconfig import PROGRAM_FILES, build_installation, files_of
from test_windows_flow import ALICE_FIRST, ALICE_SECOND, BOB_PROFILE, build_alice_and_bob
from treestate import tree_state
from winsandbox import Machine
import psrp
import wsman

USER, PASSWORD = "tbadmin", "Wire-Test-1!"


class WireHost:
    """A Windows sandbox behind the endpoint, and an inventory that reaches it
    with ansible_connection=winrm."""

    def __init__(self, tmp_path, endpoint, machine, connection):
        self.tmp_path, self.endpoint, self.machine = tmp_path, endpoint, machine
        self.connection = connection
        self.inventory = tmp_path / "inventory.yml"
        self.write_inventory()

    def write_inventory(self, **extra):
        host = dict(ansible_connection=self.connection, ansible_host="127.0.0.1", ansible_port=self.endpoint.port,
                    ansible_user=USER, ansible_password=PASSWORD, **extra)
        if self.connection == "winrm":
            host.update(ansible_winrm_transport="ntlm", ansible_winrm_scheme="http")
        else:
            host.update(ansible_psrp_auth="ntlm", ansible_psrp_protocol="http")
        self.inventory.write_text(yaml.safe_dump({"all": {"hosts": {"win1": host}}}))

    def play(self, module, args=None, *cli):
        plays = [{"hosts": "win1", "gather_facts": False,
                  "tasks": [{"name": "task", module: args or {}, "register": "r"}]}]
        return run_playbook(self.tmp_path, plays, *cli, inventory=self.inventory)

    def scripts_run(self):
        return [c[0] for c in self.endpoint.stats.commands]

    def read(self, path):
        with open(self.machine.host(path), "rb") as f:
            return f.read()


@pytest.fixture(params=["winrm", "psrp"])
def wire(tmp_path, request):
    machine = Machine(str(tmp_path / "win1"))
    build_alice_and_bob(machine)
    with wsman.Endpoint(machine.base, USER, PASSWORD) as endpoint:
        yield WireHost(tmp_path, endpoint, machine, request.param)


def by_path(result):
    return dict((p["path"], p) for p in result["ansible_facts"]["thunderbird"]["profiles"])


# The MaxEnvelopeSize each client asks for: pywinrm keeps 150 KB, pypsrp
# goes to 500 KB once the server speaks PSRP 2.2 or later.
CLIENT_MAX_ENVELOPE = {"winrm": 153600, "psrp": 512000}


def assert_within_windows_limits(stats, connection):
    summary = stats.summary()
    assert summary["largest_request"] <= wsman.MAX_ENVELOPE_SIZE and stats.rejected == []
    assert summary["largest_response"] <= CLIENT_MAX_ENVELOPE[connection]
    assert all(chars <= 8191 for dummy, chars, dummy2, dummy3 in stats.commands)
    return summary


def test_info_over_winrm_reports_every_profile_and_writes_nothing(wire):
    before = tree_state(wire.machine.base)
    run = wire.play("rectorat.thunderbird.thunderbird_info")
    assert run.rc == 0, run.stdout + run.stderr
    result = run.result("task", "win1")
    profiles = by_path(result)
    assert set(profiles) == {ALICE_FIRST, ALICE_SECOND, BOB_PROFILE}
    assert profiles[ALICE_FIRST]["accounts"][0]["folders_total"] == 4
    assert result["changed"] is False and tree_state(wire.machine.base) == before
    assert wire.scripts_run() == ["collect", "autoconfig"]
    summary = assert_within_windows_limits(wire.endpoint.stats, wire.connection)
    # Output and exit code come in separate Receive responses.
    assert summary["receives"] >= 2 and summary["sends"] >= 1
    actions = set(r[0] for r in wire.endpoint.stats.requests)
    expected = {"Create", "Command", "Send", "Receive", "Delete"}
    if wire.connection == "winrm":
        expected.add("Signal")  # terminate after each command; psrp signals only a pipeline it replaces
    assert expected <= actions, actions


def test_check_mode_over_winrm_changes_no_byte(wire):
    before = tree_state(wire.machine.base)
    run = wire.play("rectorat.thunderbird.thunderbird_offline", {}, "--check", "--diff")
    assert run.rc == 0, run.stdout + run.stderr
    result = run.result("task", "win1")
    assert result["changed"] is True and by_path(result)[BOB_PROFILE]["status"] == "changed"
    assert tree_state(wire.machine.base) == before
    assert wire.scripts_run() == ["collect"]


def test_apply_over_winrm_then_second_run_changes_nothing(wire):
    run = wire.play("rectorat.thunderbird.thunderbird_offline")
    assert run.rc == 0, run.stdout + run.stderr
    profiles = by_path(run.result("task", "win1"))
    assert (profiles[ALICE_FIRST]["status"], profiles[ALICE_SECOND]["status"],
            profiles[BOB_PROFILE]["status"]) == ("changed", "unchanged", "changed")
    assert b'user_pref("mail.server.server1.offline_download", true);\r\n' in wire.read(ALICE_FIRST + "\\prefs.js")
    assert wire.scripts_run() == ["collect", "commit"]
    after_first = tree_state(wire.machine.base)
    again = wire.play("rectorat.thunderbird.thunderbird_offline")
    assert again.rc == 0 and again.recap("win1")["changed"] == 0, again.stdout + again.stderr
    assert tree_state(wire.machine.base) == after_first
    assert wire.scripts_run() == ["collect", "commit", "collect"]
    assert_within_windows_limits(wire.endpoint.stats, wire.connection)


def test_running_profile_over_winrm_is_skipped_and_untouched(wire):
    with open(wire.machine.host(ALICE_FIRST + "\\parent.lock"), "wb") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # Thunderbird's open, sharing nothing
        before = wire.read(ALICE_FIRST + "\\prefs.js")
        run = wire.play("rectorat.thunderbird.thunderbird_offline")
        assert wire.read(ALICE_FIRST + "\\prefs.js") == before
    assert run.rc == 0, run.stdout + run.stderr
    profiles = by_path(run.result("task", "win1"))
    assert profiles[ALICE_FIRST]["status"] == "skipped_running" and profiles[BOB_PROFILE]["status"] == "changed"


def pad_prefs(wire, megabytes):
    """Grow ALICE_FIRST's prefs.js to ``megabytes`` MiB; returns the padding."""
    prefs = wire.machine.host(ALICE_FIRST + "\\prefs.js")
    line = 'user_pref("extensions.rectorat.pad%06d", "%s");\r\n'
    count = (megabytes * 1024 * 1024 - os.path.getsize(prefs)) // len(line % (0, "x" * 200)) + 1
    padding = "".join(line % (index, "x" * 200) for index in range(count)).encode("ascii")
    with open(prefs, "ab") as f:
        f.write(padding)
    return padding


def test_five_megabyte_prefs_spans_many_envelopes_each_way(wire):
    padding = pad_prefs(wire, 5)
    size = os.path.getsize(wire.machine.host(ALICE_FIRST + "\\prefs.js"))
    wire.endpoint.stats.reset()
    run = wire.play("rectorat.thunderbird.thunderbird_offline", {"profiles": [ALICE_FIRST]})
    assert run.rc == 0, run.stdout + run.stderr
    [record] = run.result("task", "win1")["ansible_facts"]["thunderbird"]["profiles"]
    assert record["status"] == "changed", record
    written = wire.read(ALICE_FIRST + "\\prefs.js")
    assert b'user_pref("mail.server.server1.offline_download", true);\r\n' in written
    assert padding in written and len(written) > len(padding)
    stats = wire.endpoint.stats
    summary = assert_within_windows_limits(stats, wire.connection)
    assert wire.scripts_run() == ["collect", "commit"]
    # The commit's stdin takes many Send envelopes, the collect's answer many Receive.
    assert summary["sends"] > 10 and summary["receives"] > 20
    FIGURES.append("%s, 5 MB prefs.js (%d bytes): %d envelopes sent (%d Send), %d received (%d Receive answers); "
                   "largest sent %d bytes (HTTP body %d), largest received %d bytes (HTTP body %d); "
                   "limit 512000 bytes" % (
                       wire.connection, size, summary["requests"], summary["sends"], summary["responses"],
                       summary["receives"],
                       summary["largest_request"], summary["largest_request_body"],
                       summary["largest_response"], summary["largest_response_body"]))
    commands = [{"script": s, "command_chars": c, "stdin_bytes": b, "rc": rc} for s, c, b, rc in stats.commands]
    FIGURES.append("%s, commands: %s" % (wire.connection, json.dumps(commands)))


def test_seven_megabyte_prefs_is_sent_as_input_objects_below_the_psrp_limit(wire):
    """The commit request of a 7 MB prefs.js is above 12 MB of base64: in one
    stdin line it would be one input object over psrp's 10 MB default."""
    padding = pad_prefs(wire, 7)
    wire.endpoint.stats.reset()
    run = wire.play("rectorat.thunderbird.thunderbird_offline", {"profiles": [ALICE_FIRST]})
    assert run.rc == 0, run.stdout + run.stderr
    [record] = run.result("task", "win1")["ansible_facts"]["thunderbird"]["profiles"]
    assert record["status"] == "changed", record
    written = wire.read(ALICE_FIRST + "\\prefs.js")
    assert b'user_pref("mail.server.server1.offline_download", true);\r\n' in written and padding in written
    stats = wire.endpoint.stats
    [collect, commit] = stats.commands
    assert (collect[0], commit[0], commit[3]) == ("collect", "commit", 0)
    assert commit[2] > psrp.MAX_OBJECT_SIZE  # the commit's stdin, as one object, would be refused
    largest = stats.summary()["largest_input_object"]
    if wire.connection == "psrp":
        assert 1024 * 1024 < largest < psrp.MAX_OBJECT_SIZE
    else:
        assert largest == 0  # WinRS: stdin is a stream, not input objects
    FIGURES.append("%s, 7 MB prefs.js: commit stdin %d bytes, largest PSRP input object %d bytes (limit %d)" % (
        wire.connection, commit[2], largest, psrp.MAX_OBJECT_SIZE))
    assert_within_windows_limits(stats, wire.connection)
    after_first = tree_state(wire.machine.base)
    again = wire.play("rectorat.thunderbird.thunderbird_offline", {"profiles": [ALICE_FIRST]})
    assert again.rc == 0 and again.recap("win1")["changed"] == 0, again.stdout + again.stderr
    assert tree_state(wire.machine.base) == after_first


def test_backup_over_winrm_then_second_run_is_unchanged(wire):
    """thunderbird_backup's three scripts (collect, backup scan, backup write)
    over the wire; backup.ps1's twin emulates the host's tar.exe."""
    tar = wire.machine.host("C:\\Windows\\System32\\tar.exe")
    os.makedirs(os.path.dirname(tar))
    open(tar, "wb").close()
    os.makedirs(wire.machine.host("D:\\Sauvegardes"))
    run = wire.play("rectorat.thunderbird.thunderbird_backup", {"dest": "D:\\Sauvegardes"})
    assert run.rc == 0, run.stdout + run.stderr
    result = run.result("task", "win1")
    assert result["summary"]["backed_up"] == 3 and result["changed"] is True
    assert wire.scripts_run() == ["collect", "backup", "backup"]
    again = wire.play("rectorat.thunderbird.thunderbird_backup", {"dest": "D:\\Sauvegardes"})
    assert again.rc == 0 and again.recap("win1")["changed"] == 0, again.stdout + again.stderr
    assert wire.scripts_run() == ["collect", "backup", "backup", "collect", "backup"]
    assert_within_windows_limits(wire.endpoint.stats, wire.connection)


def test_autoconfig_over_winrm_installs_then_unchanged_then_absent_gives_the_bytes_back(wire):
    """thunderbird_autoconfig's read and write (autoconfig.ps1) over the wire."""
    build_installation(wire.machine, PROGRAM_FILES)
    before = files_of(wire.machine)
    run = wire.play("rectorat.thunderbird.thunderbird_autoconfig", {"lock": True})
    assert run.rc == 0, run.stdout + run.stderr
    assert run.result("task", "win1")["installations"] == [{
        "path": PROGRAM_FILES, "version": "153.8.0", "kind": "windows", "status": "changed",
        "message": "hook installed"}]
    options = script.script_options(None, 0, 0, True, None)
    assert wire.read(PROGRAM_FILES + "\\" + ac.CFG_NAME) == script.render_script(options)
    assert wire.scripts_run() == ["autoconfig", "autoconfig"]
    again = wire.play("rectorat.thunderbird.thunderbird_autoconfig", {"lock": True})
    assert again.rc == 0 and again.recap("win1")["changed"] == 0, again.stdout + again.stderr
    absent = wire.play("rectorat.thunderbird.thunderbird_autoconfig", {"state": "absent"})
    assert absent.rc == 0 and absent.recap("win1")["changed"] == 1, absent.stdout + absent.stderr
    assert files_of(wire.machine) == before
    assert wire.scripts_run() == ["autoconfig"] * 5
    assert_within_windows_limits(wire.endpoint.stats, wire.connection)
