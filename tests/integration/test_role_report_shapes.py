"""The role's report in every fleet shape, each through a real
ansible-playbook: every host unreachable, serial batches, --limit, and hosts
that fail inside the role (the module refuses, or cannot even start)."""

import csv
import os

import pytest
import yaml

import fleet
from playbook import run_playbook

PREFIX = "tbh12r_"
BASE = "/srv/tbh12r"
ROLE = "rectorat.thunderbird.thunderbird_offline"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the fleet is made of real local users: root only")


def switched_off():
    """A workstation that does not answer: ssh to a loopback port nobody listens on."""
    return {"ansible_host": "127.0.0.1", "ansible_port": fleet.closed_port(), "ansible_user": "nobody",
            "ansible_connection": "ssh", "ansible_ssh_common_args": "-o ConnectTimeout=5 -o StrictHostKeyChecking=no"}


def play(report_dir, **extra):
    """The role, then a task that shows which hosts are still in the play."""
    entry = {"name": "Thunderbird offline", "hosts": "workstations", "gather_facts": False,
             "roles": [{"role": ROLE, "vars": {"thunderbird_offline_report_dir": str(report_dir)}}],
             "post_tasks": [{"name": "Still in the play", "ansible.builtin.debug": {"msg": "after the role"}}]}
    entry.update(extra)
    return [entry]


def read_csv(path):
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def host_states(rows):
    """host -> the set of (host_status, category) of its rows."""
    out = {}
    for row in rows:
        out.setdefault(row["host"], set()).add((row["host_status"], row["category"]))
    return out


def still_in_play(run):
    return sorted(r["host"] for r in run.results if r["task"] == "Still in the play")


@pytest.fixture(scope="module")
def sandbox_fleet():
    with fleet.exclusive(PREFIX):
        fleet.teardown(PREFIX, BASE)
        manifest = fleet.build(PREFIX, BASE)
        yield manifest
        fleet.teardown(PREFIX, BASE)


@pytest.fixture
def fleet_inventory(sandbox_fleet, tmp_path):
    """poste-01, poste-02, poste-03 (fails: Thunderbird open, if_running=fail),
    poste-eteint (switched off) and poste-sans-python (the module cannot start)."""
    inventory = fleet.inventory(PREFIX, unreachable=True, failing=True)
    hosts = inventory["workstations"]["hosts"]
    hosts["poste-eteint"] = switched_off()
    hosts["poste-sans-python"] = dict(hosts["poste-01"], ansible_python_interpreter="/nonexistent/python3")
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(inventory))
    return path


@pytest.mark.parametrize("mode", ["apply", "check"])
def test_every_host_unreachable_still_writes_the_report(tmp_path, mode):
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"workstations": {"hosts": {
        "salle-b-01": switched_off(), "salle-b-02": switched_off(), "salle-b-03": switched_off()}}}))
    report = tmp_path / "report"
    args = ["--check"] if mode == "check" else []
    run = run_playbook(tmp_path, play(report), *args, inventory=inventory)
    rows = read_csv(report / "thunderbird_offline.csv")
    assert host_states(rows) == dict((h, {("unreachable", "host_unreachable")})
                                     for h in ("salle-b-01", "salle-b-02", "salle-b-03")), run.stdout
    assert all("connect" in r["message"].lower() for r in rows), rows
    assert {r["mode"] for r in rows} == {mode}
    assert 'data-count="unreachable" data-value="3"' in (report / "thunderbird_offline.html").read_text("utf-8")
    assert sorted(os.listdir(report)) == ["thunderbird_offline.csv", "thunderbird_offline.html"]  # no temp file
    assert {oct(os.stat(report / n).st_mode & 0o777) for n in os.listdir(report)} == {"0o640"}
    # Ansible's own verdict is unchanged: unreachable in the recap, out of
    # the play, exit status 4 (HOST_UNREACHABLE).
    assert run.rc == 4, run.stdout
    for host in ("salle-b-01", "salle-b-02", "salle-b-03"):
        assert run.recap(host)["unreachable"] == 1 and run.recap(host)["failed"] == 0, run.stdout
    assert still_in_play(run) == []


def test_serial_batches_end_in_one_report_of_every_batch(fleet_inventory, tmp_path):
    """serial: 3 -> [poste-01, poste-02, poste-03], [poste-eteint,
    poste-sans-python]: the second batch has no host left, which ends the
    play; its report, written last, still holds the first batch."""
    report = tmp_path / "report"
    run = run_playbook(tmp_path, play(report, serial=3, order="sorted"), inventory=fleet_inventory)
    states = host_states(read_csv(report / "thunderbird_offline.csv"))
    assert states["poste-01"] == {("ok", c) for c in ("pop", "imap_fixed", "imap_ready", "local")}, states
    assert ("ok", "imap_fixed") in states["poste-02"] and ("ok", "profile_error") in states["poste-02"]
    assert ("failed", "host_failed") in states["poste-03"]
    assert states["poste-eteint"] == {("unreachable", "host_unreachable")}
    assert states["poste-sans-python"] == {("failed", "host_failed")}
    assert sorted(states) == ["poste-01", "poste-02", "poste-03", "poste-eteint", "poste-sans-python"]
    rows = read_csv(report / "thunderbird_offline.csv")
    missing_python = [r["message"] for r in rows if r["host"] == "poste-sans-python"]
    assert "nonexistent" in missing_python[0] or "interpreter" in missing_python[0].lower(), missing_python
    assert run.recap("poste-eteint")["unreachable"] == 1
    assert run.recap("poste-sans-python")["failed"] == 1 and run.recap("poste-03")["failed"] == 1
    assert still_in_play(run) == ["poste-01", "poste-02"]
    assert run.rc == 4, run.stdout  # HOST_UNREACHABLE: Ansible puts it before HOST_FAILED


def test_limit_reports_only_the_hosts_of_the_run(fleet_inventory, tmp_path):
    report = tmp_path / "report"
    run = run_playbook(tmp_path, play(report), "--limit", "poste-01,poste-eteint", inventory=fleet_inventory)
    rows = read_csv(report / "thunderbird_offline.csv")
    states = host_states(rows)
    assert sorted(states) == ["poste-01", "poste-eteint"], run.stdout
    assert states["poste-eteint"] == {("unreachable", "host_unreachable")}
    assert {r["user"] for r in rows if r["host"] == "poste-01"} == {PREFIX + u for u in ("alice", "bruno", "chloe")}
    assert still_in_play(run) == ["poste-01"]
    assert run.rc == 4, run.stdout


def test_a_batch_with_no_host_left_ends_the_play_and_the_rest_is_not_run(tmp_path):
    """serial: 1 over switched-off workstations: Ansible stops the play after
    the first batch; its report holds the later hosts as not run."""
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"workstations": {"hosts": {
        "salle-c-01": switched_off(), "salle-c-02": switched_off(), "salle-c-03": switched_off()}}}))
    report = tmp_path / "report"
    run = run_playbook(tmp_path, play(report, serial=1, order="sorted"), inventory=inventory)
    assert host_states(read_csv(report / "thunderbird_offline.csv")) == {
        "salle-c-01": {("unreachable", "host_unreachable")},
        "salle-c-02": {("not_run", "host_not_run")}, "salle-c-03": {("not_run", "host_not_run")}}, run.stdout
    assert run.recap("salle-c-01")["unreachable"] == 1
    assert "salle-c-02" not in run.stdout.split("PLAY RECAP", 1)[1]
    assert run.rc == 4
