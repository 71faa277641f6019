"""The AutoConfig hook's own logic, run by node in a small model of the
Thunderbird globals it uses (tests/unit/js/hook_runner.js): which start-up
notification runs the pass, that it runs exactly once, what a late
mail-startup-done does after the fallback, folders added while running.
The real Thunderbird is in tests/e2e/test_autoconfig_e2e.py and
tests/e2e/test_autoconfig_live_e2e.py."""

import json
import os
import shutil
import subprocess

import pytest

from ansible_collections.rectorat.thunderbird.plugins.module_utils import autoconfig_script as script

RUNNER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "js", "hook_runner.js")
OFFLINE, TRASH, JUNK, VIRTUAL = 0x08000000, 0x00000100, 0x40000000, 0x00000020

pytestmark = pytest.mark.skipif(shutil.which("node") is None and os.environ.get("CI") != "true",
                                reason="node not installed")

SERVERS = [
    {"key": "server1", "folders": [["INBOX", 0], ["Projets", 0], ["Trash", TRASH], ["Junk", JUNK],
                                   ["Search", VIRTUAL], ["Kept", OFFLINE]]},
    {"key": "server2", "type": "pop3", "folders": [["Inbox", 0]]},
]


def run(tmp_path, steps, model=None, **options):
    kw = dict(servers=None, sync_age_days=0, size_limit_kb=0, lock=False, chain=None)
    kw.update(options)
    hook = tmp_path / "hook.cfg"
    hook.write_bytes(script.render_script(script.script_options(**kw)))
    scenario = tmp_path / "scenario.json"
    scenario.write_text(json.dumps({"servers": SERVERS if model is None else model, "steps": steps}))
    proc = subprocess.run(["node", RUNNER, str(hook), str(scenario)], capture_output=True, text=True,
                          check=False, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def last_report(out):
    assert out["reports"], out
    return out["reports"][-1]


def test_normal_start_runs_the_pass_at_mail_startup_done_and_cancels_the_fallback(tmp_path):
    out = run(tmp_path, [{"notify": "final-ui-startup"}, {"notify": "mail-startup-done"}, {"fire_timers": True}])
    report = last_report(out)
    assert (report["trigger"], report["passes"]) == ("mail-startup-done", 1)
    assert report["final_ui_startup"] and report["mail_startup_done"] and report["completed"]
    assert report["dialogs_at_start"] == 0
    assert out["timers"][0] == {"delay": script.FALLBACK_SECONDS * 1000, "cancelled": True, "fired": False}
    [imap, pop] = out["servers"]
    assert imap["offline_download"] is True and pop["offline_download"] is False
    assert sorted(imap["offline"]) == ["INBOX", "Kept", "Projets"] and pop["offline"] == []
    assert report["folders_flagged"] == 2 and report["accounts"][0]["folders"] == 3
    assert report["errors"] == []
    assert out["listeners"] == {"mfn": 1, "session": 1, "server": 1}


def test_a_modal_that_holds_mail_startup_done_back_gets_the_fallback_pass_once(tmp_path):
    out = run(tmp_path, [{"notify": "final-ui-startup"}, {"notify": "common-dialog-loaded"}, {"fire_timers": True}])
    report = last_report(out)
    assert (report["trigger"], report["passes"], report["mail_startup_done"]) == ("fallback", 1, None)
    assert report["dialogs_at_start"] == 1
    assert report["completed"] and report["folders_flagged"] == 2
    assert sorted(out["servers"][0]["offline"]) == ["INBOX", "Kept", "Projets"]
    assert out["descendantReads"] == {"server1": 1}

    # The user closes the dialog: mail-startup-done comes late; no second pass.
    later = run(tmp_path, [{"notify": "final-ui-startup"}, {"notify": "common-dialog-loaded"},
                           {"fire_timers": True}, {"notify": "mail-startup-done"},
                           {"notify": "common-dialog-loaded"}, {"fire_timers": True}])
    report = last_report(later)
    assert (report["trigger"], report["passes"]) == ("fallback", 1)
    assert report["mail_startup_done"], "the late notification is recorded"
    assert report["dialogs_at_start"] == 1, "a dialog after start-up counted"
    assert later["descendantReads"] == {"server1": 1}, "the pass ran twice"
    assert later["listeners"] == {"mfn": 1, "session": 1, "server": 1}, "listeners registered twice"


def test_the_fallback_configured_delay_and_no_pass_while_shutting_down(tmp_path):
    out = run(tmp_path, [{"notify": "final-ui-startup"}, {"shutting_down": True}, {"fire_timers": True}],
              fallback_seconds=3)
    assert out["timers"] == [{"delay": 3000, "cancelled": False, "fired": True}]
    assert out["reports"] == [] and out["descendantReads"] == {}
    quit_first = run(tmp_path, [{"notify": "final-ui-startup"}, {"notify": "quit-application-granted"},
                                {"fire_timers": True}])
    assert quit_first["timers"][0]["cancelled"] and quit_first["reports"] == []


def test_nothing_runs_before_final_ui_startup(tmp_path):
    out = run(tmp_path, [{"fire_timers": True}])
    assert out["timers"] == [] and out["reports"] == [] and out["descendantReads"] == {}


def test_folders_added_while_running_are_flagged_once_and_special_ones_never(tmp_path):
    steps = [{"notify": "final-ui-startup"}, {"notify": "mail-startup-done"},
             {"add_folder": {"server": "server1", "name": "Nouveau", "flags": 0, "via": ["mfn", "session"]}},
             {"add_folder": {"server": "server1", "name": "Serveur", "flags": 0, "via": ["session"]}},
             {"add_folder": {"server": "server1", "name": "Corbeille", "flags": TRASH, "via": ["session"]}},
             {"add_folder": {"server": "server2", "name": "Pop", "flags": 0, "via": ["session"]}},
             {"fire_timers": True}]
    out = run(tmp_path, steps)
    report = last_report(out)
    assert sorted(out["servers"][0]["offline"]) == ["INBOX", "Kept", "Nouveau", "Projets", "Serveur"]
    assert out["servers"][1]["offline"] == []
    assert report["folders_flagged"] == 4 and report["folders_added"] == 5
    # Updated once each (as a click on them would), so autosync fetches their mail now.
    assert sorted(out["servers"][0]["updated"]) == ["Nouveau:1", "Serveur:1"] and report["folders_updated"] == 2
    assert out["servers"][0]["updated"] and out["servers"][1]["updated"] == []
    assert report["accounts"][0]["folders"] == 5, "a folder reported twice was counted twice"
    assert report["errors"] == []


def test_servers_filter_and_lock(tmp_path):
    model = [dict(SERVERS[0], hostname="imap.ac-exemple.fr"),
             {"key": "server3", "hostname": "other.example", "folders": [["INBOX", 0]]}]
    out = run(tmp_path, [{"notify": "final-ui-startup"}, {"notify": "mail-startup-done"}],
              model=model, servers=["IMAP.ac-exemple.fr"], lock=True)
    assert [s["offline_download"] for s in out["servers"]] == [True, False]
    assert out["servers"][1]["offline"] == []
    assert sorted(out["locked"]) == sorted("mail.server.server1." + n for n in (
        "offline_download", "autosync_max_age_days", "limit_offline_message_size"))
