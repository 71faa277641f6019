"""The role at fleet scale: 20 simulated workstations over ssh, one of them
unreachable. Every workstation must be in the report, each reachable one must
run exactly one remote Python (the module), and the unreachable one must be
left alone. No timing is asserted here (run_bench.py prints the figures)."""

import hashlib
import os
import shutil

import pytest

import benchlib as bl

HOSTS = 20
UNREACHABLE = {7}

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="creates users and starts sshd: root only"),
    pytest.mark.skipif(not os.path.exists("/usr/sbin/sshd"), reason="needs openssh-server"),
]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    state = tmp_path_factory.mktemp("tbscale")
    fleet = bl.Fleet("tbscale_", str(state))
    fleet.teardown()  # what an interrupted run left
    fleet.prepare()
    fleet.build_hosts(HOSTS)
    fleet.start_sshd()
    bl.write_ansible_cfg(fleet.state, forks=10)
    try:
        yield fleet
    finally:
        fleet.teardown()
        shutil.rmtree(str(state), ignore_errors=True)


def profile_hashes(fleet, index):
    """sha256 of every file of the workstation's users' Thunderbird folders."""
    out = {}
    for user in fleet.host_users(index):
        root = os.path.join(fleet.home(user), ".thunderbird")
        for folder, _dirs, files in os.walk(root):
            for name in files:
                path = os.path.join(folder, name)
                with open(path, "rb") as f:
                    out[os.path.relpath(path, fleet.base)] = hashlib.sha256(f.read()).hexdigest()
    return out


def run_role(fleet, name, *args):
    fleet.reset_profiles()
    counter = bl.Counter(os.path.join(fleet.state, "count-" + name))
    counter.reset()
    inventory = fleet.inventory(os.path.join(fleet.state, "inventory-%s.yml" % name), HOSTS, UNREACHABLE, counter)
    before = dict((i, profile_hashes(fleet, i)) for i in range(HOSTS))
    result = bl.run_playbook(fleet.state, name, bl.playbook("role"), inventory, args)
    after = dict((i, profile_hashes(fleet, i)) for i in range(HOSTS))
    return result, counter.read(), bl.read_report(fleet.state, name), before, after


def assert_every_host_reported(fleet, name, result, rows):
    hosts = [fleet.host_name(i) for i in range(HOSTS)]
    down = set(fleet.host_name(i) for i in UNREACHABLE)
    coverage = bl.report_coverage(rows, hosts, down, check_mode=name == "check")
    assert coverage["all_hosts"] and not coverage["extra_hosts"], coverage
    assert coverage["unreachable_ok"], [r for r in rows if r["host"] in down]
    assert coverage["reachable_ok"], coverage
    assert result.hosts_with("unreachable") == sorted(down), result.output[-3000:]
    assert result.hosts_with("failed") == [], result.output[-3000:]
    with open(os.path.join(fleet.state, "runs", name, "report", "thunderbird_offline.html"), encoding="utf-8") as f:
        html = f.read()
    assert [h for h in hosts if ">%s<" % h not in html] == []


def assert_one_module_run_per_reachable_host(fleet, runs):
    per_host = [len(runs.get(fleet.host_name(i), [])) for i in range(HOSTS)]
    assert per_host == [0 if i in UNREACHABLE else 1 for i in range(HOSTS)], per_host


def test_check_mode_reports_every_host_and_writes_nothing(fleet):
    result, runs, rows, before, after = run_role(fleet, "check", "--check")
    assert result.rc == 4, result.output[-3000:]  # 4: some host unreachable
    assert_every_host_reported(fleet, "check", result, rows)
    assert_one_module_run_per_reachable_host(fleet, runs)
    assert after == before
    assert set(r["mode"] for r in rows if r["category"] != "host_unreachable") == {"check"}


def test_apply_reports_every_host_changes_reachable_ones_only(fleet):
    result, runs, rows, before, after = run_role(fleet, "apply")
    assert result.rc == 4, result.output[-3000:]
    assert_every_host_reported(fleet, "apply", result, rows)
    assert_one_module_run_per_reachable_host(fleet, runs)
    for index in range(HOSTS):
        if index in UNREACHABLE:
            assert after[index] == before[index]
            continue
        changed = sorted(os.path.basename(p) for p in after[index] if before[index].get(p) != after[index][p])
        # prefs.js of the seed profile (user a); folderCache.json of both; plus the backups.
        assert changed.count("prefs.js") == 1 and changed.count("folderCache.json") == 2, (index, changed)
        assert all(n in ("prefs.js", "folderCache.json") or n.endswith(".bak") for n in changed), changed
