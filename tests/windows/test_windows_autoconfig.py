"""thunderbird_autoconfig on Windows hosts: the controller's side
(plugin_utils/windows_autoconfig.py, the plan of module_utils/autoconfig.py)
against the twin of autoconfig.ps1, through the same stand-in for cmd.exe
and powershell.exe as the fake connection and the WinRM test endpoint
(tests/winrm/powershell_host.py), on Windows-shaped installations; and the
action plugin through a real ansible-playbook and the fake connection."""

import hashlib
import json
import os
import stat
import sys

import pytest
import yaml

from ansible_collections.rectorat.thunderbird.plugins.module_utils import autoconfig as ac
from ansible_collections.rectorat.thunderbird.plugins.module_utils import autoconfig_script as script
from ansible_collections.rectorat.thunderbird.plugins.plugin_utils import windows_autoconfig as wa
from ansible_collections.rectorat.thunderbird.plugins.plugin_utils.windows_host import PowerShellHost

import twin_autoconfig
from playbook import run_playbook
from winsandbox import Machine

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "winrm"))
import powershell_host  # noqa: E402  (tests/winrm, put on the path just above)

ENV = {"ANSIBLE_CONNECTION_PLUGINS": os.path.join(HERE, "connection_plugins")}
PROGRAM_FILES = "C:\\Program Files\\Mozilla Thunderbird"
X86 = "C:\\Program Files (x86)\\Mozilla Thunderbird"
APP_INI = b"[App]\r\nVendor=Mozilla\r\nName=Thunderbird\r\nVersion=153.8.0\r\nBuildID=20260101000000\r\n"
CHANNEL = b'pref("app.update.channel", "esr");\r\n'
PRESENT = {"state": "present", "install_dirs": None, "servers": None, "sync_age_days": 0, "size_limit_kb": 0,
           "lock": False, "chain": False}


def build_installation(machine, path, version_ini=APP_INI):
    """A Thunderbird installation as the Windows installer lays it out."""
    folder = machine.host(path)
    os.makedirs(os.path.join(folder, "defaults", "pref"))
    for name, data in (("thunderbird.exe", b"MZ\x90\x00"), ("application.ini", version_ini),
                       ("defaults/pref/channel-prefs.js", CHANNEL)):
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)
    return folder


def files_of(machine):
    """Every file below C:\\ with its bytes and mode (the twin's own
    bookkeeping beside C/ left out): what 'byte for byte' compares."""
    out = {}
    root = os.path.join(machine.base, "C")
    for folder, _dirs, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, root)] = (f.read(), stat.S_IMODE(os.lstat(path).st_mode))
    return out


class Station:
    """A Windows computer reached through the stand-in for powershell.exe."""

    def __init__(self, base):
        self.machine = Machine(base)
        self.scripts = []
        self.host = PowerShellHost(self.execute)

    def execute(self, command, in_data):
        outcome = powershell_host.run(self.machine.base, command, in_data)
        self.scripts.append((outcome.script, (outcome.request or {}).get("mode")))
        return {"rc": outcome.rc, "stdout": outcome.stdout.decode("ascii"), "stderr": outcome.stderr.decode()}

    def run(self, check_mode=False, **params):
        records, diffs = wa.run(self.host, dict(PRESENT, **params), check_mode)
        return [ac.public(r) for r in records], diffs

    def path(self, windows_path):
        return self.machine.host(windows_path)

    def read(self, windows_path):
        with open(self.path(windows_path), "rb") as f:
            return f.read()

    def write(self, windows_path, data):
        with open(self.path(windows_path), "wb") as f:
            f.write(data)


@pytest.fixture
def station(tmp_path):
    station = Station(str(tmp_path / "win1"))
    build_installation(station.machine, PROGRAM_FILES)
    return station


def hook_files(station, folder=PROGRAM_FILES):
    return (station.read(folder + "\\defaults\\pref\\" + ac.PREF_NAME), station.read(folder + "\\" + ac.CFG_NAME))


def test_present_installs_the_linux_hook_then_second_run_writes_nothing(station):
    installations, diffs = station.run()
    assert installations == [{"path": PROGRAM_FILES, "version": "153.8.0", "kind": "windows",
                              "status": "changed", "message": "hook installed"}]
    assert station.scripts == [("autoconfig", "read"), ("autoconfig", "write")]
    pref, cfg = hook_files(station)
    # The very files the plan gives a Linux installation for the same options.
    options = script.script_options(None, 0, 0, False, None)
    assert cfg == script.render_script(options) and pref == script.render_prefs(ac.CFG_NAME)
    assert [d["after_header"] for d in diffs] == [PROGRAM_FILES + "\\" + ac.CFG_NAME,
                                                  PROGRAM_FILES + "\\defaults\\pref\\" + ac.PREF_NAME]
    leftovers = [n for d in ("", "defaults/pref") for n in os.listdir(os.path.join(station.path(PROGRAM_FILES), d))
                 if n.endswith(".tmp")]
    assert leftovers == []
    before = files_of(station.machine)
    again, again_diffs = station.run()
    assert [i["status"] for i in again] == ["unchanged"] and again_diffs == []
    assert station.scripts[2:] == [("autoconfig", "read")] and files_of(station.machine) == before


def test_check_mode_writes_nothing_and_shows_the_diff(station):
    before = files_of(station.machine)
    installations, diffs = station.run(check_mode=True)
    assert [i["status"] for i in installations] == ["changed"] and len(diffs) == 2
    assert diffs[0]["before_header"] == "(absent)" and "rectorat" in diffs[0]["after"]
    assert files_of(station.machine) == before and station.scripts == [("autoconfig", "read")]


def test_absent_gives_back_the_exact_bytes_of_before_present(station):
    before = files_of(station.machine)
    station.run(lock=True)
    station.run(sync_age_days=30)  # an update: the hook's files are replaced
    assert files_of(station.machine) != before
    installations, diffs = station.run(state="absent")
    assert [(i["status"], i["message"]) for i in installations] == [("changed", "hook removed")]
    assert [d["after_header"] for d in diffs] == ["(absent)", "(absent)"]
    assert files_of(station.machine) == before
    again, _diffs = station.run(state="absent")
    assert [(i["status"], i["message"]) for i in again] == [("unchanged", "no hook installed")]


def site_autoconfig(station, cfg_name="mozilla.cfg", pref_name="autoconfig.js"):
    station.write(PROGRAM_FILES + "\\defaults\\pref\\" + pref_name,
                  b'pref("general.config.filename", "%s");\r\npref("general.config.obscure_value", 0);\r\n'
                  % cfg_name.encode())
    station.write(PROGRAM_FILES + "\\" + cfg_name, b"// site\r\nlockPref(\"mail.site\", true);\r\n")


def test_a_site_autoconfig_is_a_conflict_and_is_left_as_it_is(station):
    site_autoconfig(station)
    before = files_of(station.machine)
    installations, diffs = station.run()
    [item] = installations
    assert item["status"] == "conflict" and "autoconfig.js sets general.config.filename to 'mozilla.cfg'" \
        in item["message"]
    assert diffs == [] and files_of(station.machine) == before
    assert station.scripts == [("autoconfig", "read")]


def test_chain_runs_the_site_script_found_without_regard_to_case(station):
    site_autoconfig(station, cfg_name="Mozilla.cfg")
    os.rename(station.path(PROGRAM_FILES + "\\Mozilla.cfg"), os.path.join(station.path(PROGRAM_FILES), "mozilla.CFG"))
    before = files_of(station.machine)
    installations, _diffs = station.run(chain=True)
    assert [(i["status"], i["message"]) for i in installations] == [("changed", "hook installed (chained to Mozilla.cfg)")]
    pref, cfg = hook_files(station)
    assert b"Mozilla.cfg" in cfg
    after = files_of(station.machine)
    assert dict((k, v) for k, v in after.items() if k in before) == before  # the site's files untouched
    again, _diffs = station.run(chain=True)
    assert [i["status"] for i in again] == ["unchanged"]
    station.run(state="absent")
    assert files_of(station.machine) == before


def test_the_hooks_files_are_known_whatever_the_case_of_their_names(station):
    before = files_of(station.machine)
    station.run()
    pref = station.path(PROGRAM_FILES + "\\defaults\\pref")
    os.rename(os.path.join(pref, ac.PREF_NAME), os.path.join(pref, ac.PREF_NAME.upper()))
    assert [i["status"] for i in station.run()[0]] == ["unchanged"]
    assert [i["status"] for i in station.run(state="absent")[0]] == ["changed"]
    assert files_of(station.machine) == before


def test_a_file_of_the_hooks_name_not_written_by_the_module_is_a_conflict(station):
    station.write(PROGRAM_FILES + "\\" + ac.CFG_NAME, b"// an admin's own file\r\n")
    before = files_of(station.machine)
    installations, _diffs = station.run()
    assert [i["status"] for i in installations] == ["conflict"] and files_of(station.machine) == before
    assert [i["status"] for i in station.run(state="absent")[0]] == ["conflict"]
    assert files_of(station.machine) == before


def test_default_search_finds_both_program_files_and_nothing_else(station):
    assert [i["path"] for i in station.run(check_mode=True)[0]] == [PROGRAM_FILES]
    build_installation(station.machine, X86, APP_INI.replace(b"153.8.0", b"140.5.0"))
    installations, _diffs = station.run()
    assert [(i["path"], i["version"], i["status"]) for i in installations] == [
        (PROGRAM_FILES, "153.8.0", "changed"), (X86, "140.5.0", "changed")]


def test_no_thunderbird_installed_reports_no_installation(tmp_path):
    station = Station(str(tmp_path / "win1"))
    os.makedirs(station.path("C:\\Program Files"))
    assert station.run() == ([], [])
    assert station.scripts == [("autoconfig", "read")]


def test_install_dirs_are_taken_as_given_each_error_kept_to_its_own(station):
    portable = "D:\\Apps\\ThunderbirdPortable\\App\\Thunderbird"
    build_installation(station.machine, portable)
    os.makedirs(station.path("C:\\Empty"))
    os.makedirs(station.path("C:\\NoPref"))
    station.write("C:\\NoPref\\thunderbird.exe", b"MZ")
    dirs = ["d:/apps/thunderbirdportable/app/thunderbird", "C:\\Missing", "C:\\Empty", "C:\\NoPref", "relative\\tb"]
    installations, _diffs = station.run(install_dirs=dirs)
    got = dict((i["path"], (i["status"], i["message"])) for i in installations)
    assert got["d:/apps/thunderbirdportable/app/thunderbird"] == ("changed", "hook installed")
    assert got["C:\\Missing"] == ("error", "C:\\Missing: not found")
    assert got["C:\\Empty"] == ("error", "C:\\Empty holds no Thunderbird (none of thunderbird.exe, application.ini)")
    assert got["C:\\NoPref"] == ("error", "C:\\NoPref\\defaults\\pref: not found")
    assert got["relative\\tb"] == ("error", "relative\\tb is not an absolute path on a drive")
    assert station.read(portable + "\\" + ac.CFG_NAME).startswith(b"// ")


def test_an_installation_at_the_root_of_a_drive_is_written(station):
    """D:\\ resolves to D:, whose \\\\?\\ form is \\\\?\\D:\\: joined to a name with
    one more separator, it would be \\\\?\\D:\\\\name, which Windows does not
    normalize (the twin refuses it, as the file system does)."""
    build_installation(station.machine, "D:\\")
    installations, diffs = station.run(install_dirs=["D:\\"])
    assert [(i["status"], i["message"]) for i in installations] == [("changed", "hook installed")]
    assert [d["after_header"] for d in diffs] == ["D:\\" + ac.CFG_NAME, "D:\\defaults\\pref\\" + ac.PREF_NAME]
    assert station.read("D:\\" + ac.CFG_NAME) == script.render_script(script.script_options(None, 0, 0, False, None))
    assert [i["status"] for i in station.run(install_dirs=["D:\\"], lock=True)[0]] == ["changed"]  # a Replace
    assert [i["status"] for i in station.run(install_dirs=["D:\\"], state="absent")[0]] == ["changed"]
    assert sorted(os.listdir(station.path("D:\\"))) == ["application.ini", "defaults", "thunderbird.exe"]


def test_a_junction_on_the_way_is_refused(station):
    real = station.path("C:\\Data\\tb")
    os.makedirs(os.path.dirname(real))
    os.rename(station.path(PROGRAM_FILES), real)
    os.symlink(real, station.path(PROGRAM_FILES))
    before = files_of(station.machine)
    [item] = station.run()[0]
    assert item["status"] == "error" and "is a junction or a symbolic link" in item["message"]
    assert files_of(station.machine) == before


def deny(station, *folders):
    with open(os.path.join(station.machine.base, "denied.json"), "w") as f:
        json.dump([folder.lower() for folder in folders], f)


def test_access_denied_in_program_files_is_a_clear_error_of_that_installation_only(station):
    """Program Files is writable by administrators only: a connection whose
    token is not an administrator's reads but cannot write."""
    build_installation(station.machine, X86)
    deny(station, PROGRAM_FILES)
    before = files_of(station.machine)
    installations, _diffs = station.run()
    first, second = installations
    assert first["status"] == "error" and first["message"].startswith("access denied (Access to the path '")
    assert "only administrators can write in the installation" in first["message"]
    assert second["status"] == "changed"
    after = files_of(station.machine)
    assert dict((k, v) for k, v in after.items() if not k.startswith("Program Files (x86)")) == \
        dict((k, v) for k, v in before.items() if not k.startswith("Program Files (x86)"))


def test_a_read_only_hook_file_is_an_error_and_nothing_is_written(station):
    station.run()
    os.chmod(station.path(PROGRAM_FILES + "\\" + ac.CFG_NAME), 0o444)
    before = files_of(station.machine)
    [item] = station.run(lock=True)[0]
    assert item["status"] == "error" and item["message"] == ac.CFG_NAME + " is read-only; nothing written"
    assert files_of(station.machine) == before


def write_request(station, ops, path=PROGRAM_FILES):
    return twin_autoconfig.run_autoconfig(station.machine.base, {
        "mode": "write", "max_file_bytes": wa.MAX_FILE_BYTES, "installations": [{"path": path, "ops": ops}]})


def test_write_checks_every_guard_before_the_first_byte(station):
    before = files_of(station.machine)
    ops = [{"action": "write", "dir": "install", "name": ac.CFG_NAME, "guard": None, "b64": "eA=="},
           {"action": "write", "dir": "pref", "name": "channel-prefs.js", "guard": "0" * 64, "b64": "eA=="}]
    [answer] = write_request(station, ops)["installations"]
    assert answer["error"] == "channel-prefs.js changed since it was read; nothing written, run again"
    assert answer["done"] == [] and files_of(station.machine) == before


@pytest.mark.parametrize("where, name", [("install", "..\\evil.cfg"), ("pref", "a/b.js"), ("other", "x.js"),
                                         ("install", ".hidden"), ("install", ac.CFG_NAME + "\n")])
def test_write_refuses_a_name_or_folder_outside_the_hook(station, where, name):
    before = files_of(station.machine)
    ops = [{"action": "write", "dir": where, "name": name, "guard": None, "b64": "eA=="}]
    [answer] = write_request(station, ops)["installations"]
    assert answer["error"] == "refusing to write '%s' in '%s'" % (name, where)
    assert files_of(station.machine) == before


@pytest.mark.parametrize("action", ["Remove", "delete", True, None])
def test_write_refuses_an_action_other_than_write_or_remove(station, action):
    """An unknown action is refused before anything is touched, not taken
    for a removal; and [string] first, since `$true -ceq 'write'` is true."""
    station.run()
    before = files_of(station.machine)
    guard = hashlib.sha256(station.read(PROGRAM_FILES + "\\" + ac.CFG_NAME)).hexdigest()
    ops = [{"action": action, "dir": "install", "name": ac.CFG_NAME, "guard": guard, "b64": "eA=="}]
    [answer] = write_request(station, ops)["installations"]
    assert answer["error"] == "unknown action '%s' for %s; nothing written" % (
        {True: "True", None: ""}.get(action, action), ac.CFG_NAME)
    assert answer["done"] == [] and files_of(station.machine) == before


def test_a_path_given_as_a_list_is_joined_with_spaces_as_string_casts_do(station):
    """[string] of an array joins its items with $OFS (a space); a list of
    one is unrolled by Get-Field and is that one path."""
    [one] = twin_autoconfig.run_autoconfig(station.machine.base, {
        "mode": "read", "max_file_bytes": 1024, "max_run_bytes": 1024,
        "installations": [{"path": [PROGRAM_FILES], "markers": ["thunderbird.exe"]}]})["installations"]
    assert (one["path"], one["found"], one["error"], one["markers"]) == (PROGRAM_FILES, True, None, ["thunderbird.exe"])
    [two] = twin_autoconfig.run_autoconfig(station.machine.base, {
        "mode": "read", "max_file_bytes": 1024, "max_run_bytes": 1024,
        "installations": [{"path": ["tb", "x86"], "markers": []}]})["installations"]
    assert (two["path"], two["error"]) == ("tb x86", "tb x86 is not an absolute path on a drive")


def test_names_read_are_hashtable_keys_without_regard_to_case(station):
    """Two files whose names differ in case only (a case-sensitive folder)
    are one key of the script's @{}: the twin's answer has one too."""
    station.write(PROGRAM_FILES + "\\defaults\\pref\\site.js", b"// a\r\n")
    station.write(PROGRAM_FILES + "\\defaults\\pref\\SITE.js", b"// b\r\n")
    [seen] = wa.read_installations(station.host, [PROGRAM_FILES])
    assert sorted(name.lower() for name in seen["pref"]) == ["channel-prefs.js", "site.js"]


def test_bytes_that_are_not_base64_are_an_error_and_nothing_is_written(station):
    """[Convert]::FromBase64String refuses a character outside the alphabet
    (Python's b64decode would drop it): after every guard, before any file
    is put in place; the temp file already written is removed."""
    before = files_of(station.machine)
    ops = [{"action": "write", "dir": "install", "name": ac.CFG_NAME, "guard": None, "b64": "eA=="},
           {"action": "write", "dir": "pref", "name": ac.PREF_NAME, "guard": None, "b64": "eA==!"}]
    [answer] = write_request(station, ops)["installations"]
    assert answer["error"].startswith("The input is not a valid Base-64 string")
    assert answer["done"] == [] and files_of(station.machine) == before


@pytest.mark.parametrize("code", [1175, 1176, 1177])
def test_a_failed_replace_keeps_the_old_bytes_and_reports_what_was_done(station, code):
    """[IO.File]::Replace failing as ReplaceFile documents (1177: the old
    file already moved to the backup name) on the second file: its old
    bytes are back under its name, the first file stays written and is
    reported done, no temp file is left."""
    station.run()
    old_pref = station.read(PROGRAM_FILES + "\\defaults\\pref\\" + ac.PREF_NAME)
    ops = [{"action": "write", "dir": where, "name": name, "b64": "eA==",
            "guard": hashlib.sha256(station.read(folder + name)).hexdigest()}
           for where, name, folder in (("install", ac.CFG_NAME, PROGRAM_FILES + "\\"),
                                       ("pref", ac.PREF_NAME, PROGRAM_FILES + "\\defaults\\pref\\"))]
    computer = twin_autoconfig.AutoconfigTwin(station.machine.base)
    computer.replace_failures = {ac.PREF_NAME: code}
    [answer] = computer.invoke_autoconfig({"mode": "write", "max_file_bytes": wa.MAX_FILE_BYTES,
                                           "installations": [{"path": PROGRAM_FILES, "ops": ops}]})["installations"]
    assert "(%d)" % code in answer["error"] and answer["done"] == [ac.CFG_NAME]
    assert station.read(PROGRAM_FILES + "\\" + ac.CFG_NAME) == b"x"
    assert station.read(PROGRAM_FILES + "\\defaults\\pref\\" + ac.PREF_NAME) == old_pref
    assert [n for d in ("", "defaults/pref") for n in os.listdir(os.path.join(station.path(PROGRAM_FILES), d))
            if n.endswith(".tmp")] == []


class TempStuck(twin_autoconfig.AutoconfigTwin):
    """A computer where a temp file this run wrote cannot be deleted (held
    open by a scanner, say)."""

    def file_delete(self, path):
        if path.endswith(".rectorat-%d.tmp" % os.getpid()) and ".old." not in path:
            raise PermissionError(13, "The process cannot access the file '%s'" % path)
        twin_autoconfig.AutoconfigTwin.file_delete(self, path)


def test_a_temp_file_that_cannot_be_removed_keeps_the_real_error(station):
    """The finally's clean-up failing must not replace the installation's
    answer (its error and what was done); the next run removes the file."""
    station.run()
    guard = hashlib.sha256(station.read(PROGRAM_FILES + "\\" + ac.CFG_NAME)).hexdigest()
    ops = [{"action": "write", "dir": "install", "name": ac.CFG_NAME, "guard": guard, "b64": "eA=="}]
    computer = TempStuck(station.machine.base)
    computer.replace_failures = {ac.CFG_NAME: 1175}
    [answer] = computer.invoke_autoconfig({"mode": "write", "max_file_bytes": wa.MAX_FILE_BYTES,
                                           "installations": [{"path": PROGRAM_FILES, "ops": ops}]})["installations"]
    assert "(1175)" in answer["error"] and answer["done"] == []
    assert [i["status"] for i in station.run(lock=True)[0]] == ["changed"]
    assert [n for n in os.listdir(station.path(PROGRAM_FILES)) if n.endswith(".tmp")] == []


def test_a_killed_runs_temp_files_are_cleaned_and_old_bytes_put_back(station):
    station.run()
    cfg = station.read(PROGRAM_FILES + "\\" + ac.CFG_NAME)
    folder = station.path(PROGRAM_FILES)
    # A Replace cut short: the old file aside, the new one not yet in place.
    os.rename(os.path.join(folder, ac.CFG_NAME), os.path.join(folder, ".%s.old.rectorat-999999999.tmp" % ac.CFG_NAME))
    with open(os.path.join(folder, ".%s.rectorat-999999999.tmp" % ac.CFG_NAME), "wb") as f:
        f.write(b"half")
    # Read saw no script, so the plan wrote a new one; write puts the old
    # bytes back first, and then the guard (no file) fails: nothing written.
    [item] = station.run(lock=True)[0]
    assert (item["status"], item["message"]) == (
        "error", ac.CFG_NAME + " changed since it was read; nothing written, run again")
    assert station.read(PROGRAM_FILES + "\\" + ac.CFG_NAME) == cfg
    assert [n for n in os.listdir(folder) if n.endswith(".tmp")] == []
    [item] = station.run(lock=True)[0]
    assert (item["status"], item["message"]) == ("changed", "hook updated")


def test_a_pref_file_past_the_read_budget_is_an_error(station):
    station.write(PROGRAM_FILES + "\\defaults\\pref\\big.js", b"//" + b"x" * wa.MAX_FILE_BYTES)
    [item] = station.run()[0]
    assert item["status"] == "error" and "big.js is larger than 1048576 bytes" in item["message"]


# -- through a real ansible-playbook and the fake connection -------------------

def play(tmp_path, machine, tasks, *cli):
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"win1": {
        "ansible_connection": "fakewin", "fakewin_root": machine.base}}}}))
    plays = [{"hosts": "win1", "gather_facts": False, "tasks": tasks}]
    return run_playbook(tmp_path, plays, *cli, inventory=inventory, env=ENV)


def test_the_action_plugin_on_a_windows_host(station, tmp_path):
    task = {"name": "hook", "rectorat.thunderbird.thunderbird_autoconfig": {"lock": True}, "register": "r"}
    before = files_of(station.machine)
    check = play(tmp_path, station.machine, [task], "--check", "--diff")
    assert check.rc == 0, check.stdout + check.stderr
    result = check.result("hook", "win1")
    assert result["changed"] is True and result["msg"] == "1 changed" and len(result["diff"]) == 2
    assert files_of(station.machine) == before
    first = play(tmp_path, station.machine, [task])
    assert first.rc == 0 and first.recap("win1")["changed"] == 1, first.stdout + first.stderr
    assert first.result("hook", "win1")["installations"] == [{
        "path": PROGRAM_FILES, "version": "153.8.0", "kind": "windows", "status": "changed",
        "message": "hook installed"}]
    assert station.read(PROGRAM_FILES + "\\" + ac.CFG_NAME) == script.render_script(
        script.script_options(None, 0, 0, True, None))
    second = play(tmp_path, station.machine, [task])
    assert second.rc == 0 and second.recap("win1")["changed"] == 0, second.stdout
    absent = play(tmp_path, station.machine, [{"name": "hook", "rectorat.thunderbird.thunderbird_autoconfig":
                                               {"state": "absent"}, "register": "r"}])
    assert absent.rc == 0 and absent.recap("win1")["changed"] == 1
    assert files_of(station.machine) == before


def test_info_reports_the_windows_installations(station, tmp_path):
    site_autoconfig(station)
    build_installation(station.machine, X86)
    task = {"name": "info", "rectorat.thunderbird.thunderbird_info": {}, "register": "r"}
    station.run(install_dirs=[X86])
    before = files_of(station.machine)
    run = play(tmp_path, station.machine, [task])
    assert run.rc == 0, run.stdout + run.stderr
    assert run.result("info", "win1")["ansible_facts"]["thunderbird"]["installations"] == [
        {"path": PROGRAM_FILES, "version": "153.8.0", "kind": "windows", "hook": "absent",
         "site_autoconfig": "mozilla.cfg", "error": None},
        {"path": X86, "version": "153.8.0", "kind": "windows", "hook": "installed", "site_autoconfig": None,
         "error": None}]
    assert files_of(station.machine) == before


def test_the_action_plugin_checks_options_before_any_command(station, tmp_path):
    run = play(tmp_path, station.machine, [{"name": "hook", "rectorat.thunderbird.thunderbird_autoconfig":
                                            {"state": "maybe"}, "register": "r"}])
    assert run.rc != 0 and "state" in run.result("hook", "win1")["msg"]
