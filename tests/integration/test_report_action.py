"""The report action (rectorat.thunderbird.thunderbird_offline_report)
through a real ansible-playbook, on what the role does not exercise: a
folder it cannot write, and a check-mode run that leaves it alone."""

import json

from playbook import run_playbook

RESULT = {"changed": False, "ansible_facts": {"thunderbird": {"errors": [], "profiles": [
    {"path": "/home/u/.thunderbird/x.default", "name": "default", "user": "u", "running": False,
     "error": None, "status": "unchanged", "changes": [], "accounts": [
         {"key": "account1", "type": "imap", "name": "Boîte", "email": "=HYPERLINK(\"x\")",
          "hostname": "imap.ac-test.fr", "port": 993, "backup_ready": True, "offline_download": True,
          "folders_total": 2, "folders_offline": 2, "problems": []}]}]}}}


def play(path, **task_keywords):
    task = {"name": "Report", "rectorat.thunderbird.thunderbird_offline_report": {"path": str(path)},
            "register": "written", "ignore_errors": True}
    task.update(task_keywords)
    return [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "Result", "ansible.builtin.set_fact": {"thunderbird_offline_result": RESULT}}, task]}]


def test_a_folder_it_cannot_create_is_a_clear_failure(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the report folder should be")
    run = run_playbook(tmp_path, play(blocker / "report"))
    (outcome,) = [r for r in run.results if r["task"] == "Report"]
    assert outcome["outcome"] == "failed", outcome
    assert "cannot write the report in %s" % (blocker / "report") in outcome["result"]["msg"], outcome
    assert blocker.read_text() == "a file where the report folder should be"


def test_check_mode_writes_nothing_and_returns_the_counts(tmp_path):
    folder = tmp_path / "report"
    run = run_playbook(tmp_path, play(folder), "--check")
    result = run.result("Report")
    assert not result.get("failed") and result["changed"] is False, result
    assert result["counts"]["hosts"] == 1 and result["counts"]["imap_ready"] == 1, json.dumps(result)
    assert not folder.exists()


def test_writes_both_files_for_every_host(tmp_path):
    folder = tmp_path / "report"
    run = run_playbook(tmp_path, play(folder))
    assert run.result("Report")["csv"] == str(folder / "thunderbird_offline.csv")
    text = (folder / "thunderbird_offline.csv").read_text(encoding="utf-8")
    assert text.splitlines()[1].startswith("localhost,ok,u,") and "'=HYPERLINK" in text
    assert "<!DOCTYPE html>" in (folder / "thunderbird_offline.html").read_text(encoding="utf-8")
