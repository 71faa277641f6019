# -*- coding: utf-8 -*-
"""Benchmark of the role's report tasks alone (issue 11 item 2).

    .venv/bin/python tests/bench/report_bench.py [--hosts 300] [--repeats 3]

Every inventory host (local connection, no module run) gets a registered
result of two profiles and three accounts; then one play writes the report
with, interleaved and repeated:

- ``none``: no report (the play's own cost, subtracted from the others);
- ``tasks``: the report as release 0.1.0 wrote it, kept here as the
  baseline: the offline_report filter in a lazily templated task var (so
  evaluated by each of the three tasks that use it), a ``file`` task and two
  ``copy`` tasks (each a module run through the local connection);
- ``action``: the role's report.yml as it is now (one
  thunderbird_offline_report action, evaluated once, written in-process).

Prints the medians (wall and CPU seconds of ansible-playbook and its
children) and the ratio of the report's own cost, action / tasks.
"""

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BIN = os.path.dirname(sys.executable)

OLD_REPORT_TASKS = """\
- name: Report for every host of the play (0.1.0)
  run_once: true
  delegate_to: localhost
  become: false
  check_mode: false
  diff: false
  vars:
    report_path: "{{ thunderbird_offline_report_dir | ansible.builtin.expanduser | ansible.builtin.realpath }}"
    report: >-
      {{ hostvars | rectorat.thunderbird.offline_report(ansible_play_hosts_all, ansible_play_hosts,
                                                         check_mode=ansible_check_mode,
                                                         generated=now(utc=true, fmt='%Y-%m-%d %H:%M UTC')) }}
  block:
    - name: Create the report folder
      ansible.builtin.file:
        path: "{{ report_path }}"
        state: directory
        mode: u+rwx
      changed_when: false
    - name: Write the CSV report
      ansible.builtin.copy:
        content: "{{ report.csv }}"
        dest: "{{ report_path }}/thunderbird_offline.csv"
        mode: "0640"
      changed_when: false
    - name: Write the HTML report
      ansible.builtin.copy:
        content: "{{ report.html }}"
        dest: "{{ report_path }}/thunderbird_offline.html"
        mode: "0640"
      changed_when: false
    - name: Show the report's counts
      ansible.builtin.debug:
        msg: "{{ report.counts }}"
"""


def account(key, kind, email, ready):
    return {"key": key, "server_key": "server" + key[-1], "name": email, "type": kind,
            "hostname": "imap.ac-exemple.fr" if kind == "imap" else "pop.ac-exemple.fr", "port": 993,
            "email": email, "socket_type": "tls", "auth_method": "password_cleartext", "password_exposed": False,
            "offline_download": ready, "sync_age_days": None, "size_limit_kb": None, "folders_total": 6,
            "folders_offline": 6 if ready else 0, "store_bytes": 123456, "backup_ready": ready, "problems": [],
            "before": {"offline_download": False, "folders_offline": 0, "backup_ready": False}}


def sample_result():
    profiles = [
        {"path": "/home/eleve%d/.thunderbird/x.default" % n, "name": "default", "user": "eleve%d" % n,
         "running": False, "error": None, "status": "changed", "changes": ["mail.server.server1.offline_download"],
         "accounts": accounts}
        for n, accounts in ((1, [account("account1", "imap", "a@ac-exemple.fr", True),
                                 account("account2", "pop3", "b@ac-exemple.fr", True)]),
                            (2, [account("account3", "imap", "c@ac-exemple.fr", True)]))]
    return {"changed": True, "ansible_facts": {"thunderbird": {"profiles": profiles, "errors": []}}}


def write_setup(work, hosts):
    inventory = {"fleet": {"hosts": dict(("poste-%04d" % i, {}) for i in range(hosts)),
                           "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}
    with open(os.path.join(work, "inventory.json"), "w") as f:
        json.dump(inventory, f)
    with open(os.path.join(work, "sample.json"), "w") as f:
        json.dump({"sample_result": sample_result()}, f)
    with open(os.path.join(work, "old_report.yml"), "w") as f:
        f.write(OLD_REPORT_TASKS)
    report_tasks = {
        "none": [],
        "tasks": [{"name": "Old report", "ansible.builtin.import_tasks": "old_report.yml"}],
        "action": [{"name": "Role report", "ansible.builtin.import_tasks": os.path.join(
            REPO, "roles", "thunderbird_offline", "tasks", "report.yml")}],
    }
    for name, tasks in report_tasks.items():
        play = [{"hosts": "fleet", "gather_facts": False, "vars_files": ["sample.json"],
                 "vars": {"thunderbird_offline_report_dir": os.path.join(work, "report-" + name)},
                 "tasks": [{"name": "Registered result", "ansible.builtin.set_fact": {
                     "thunderbird_offline_result": "{{ sample_result }}"}}] + tasks}]
        with open(os.path.join(work, "play-%s.json" % name), "w") as f:
            json.dump(play, f)
    return list(report_tasks)


def run_once(work, name):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", os.path.join(work, "inventory.json"),
                           os.path.join(work, "play-%s.json" % name)], cwd=work, capture_output=True, text=True,
                          env=dict(os.environ, ANSIBLE_FORKS="5", ANSIBLE_NOCOLOR="1",
                                   ANSIBLE_RETRY_FILES_ENABLED="0"), check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit("%s failed:\n%s\n%s" % (name, proc.stdout[-3000:], proc.stderr[-3000:]))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def check_reports(work, hosts):
    with open(os.path.join(work, "report-tasks", "thunderbird_offline.csv"), encoding="utf-8") as f:
        old = f.read()
    with open(os.path.join(work, "report-action", "thunderbird_offline.csv"), encoding="utf-8") as f:
        new = f.read()
    if old != new or new.count("\n") != 1 + 3 * hosts:
        raise SystemExit("the two reports differ, or do not hold every host")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--hosts", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    sys.path.insert(0, os.path.join(REPO, "tests"))
    import conftest  # noqa: F401  (makes the collection of this checkout findable)
    work = tempfile.mkdtemp(prefix="report-bench-")
    try:
        names = write_setup(work, args.hosts)
        figures = dict((n, []) for n in names)
        for _repeat in range(args.repeats):
            for name in names:
                figures[name].append(run_once(work, name))
        check_reports(work, args.hosts)
    finally:
        shutil.rmtree(work)
    med = dict((n, (statistics.median(w for w, _c in runs), statistics.median(c for _w, c in runs)))
               for n, runs in figures.items())
    print("report benchmark: %d hosts, %d repeats (medians)" % (args.hosts, args.repeats))
    for name in names:
        print("  %-7s wall %6.2f s  cpu %6.2f s" % (name, med[name][0], med[name][1]))
    cost = dict((n, (med[n][0] - med["none"][0], med[n][1] - med["none"][1])) for n in ("tasks", "action"))
    for name in ("tasks", "action"):
        print("  report cost, %-6s wall %5.2f s  cpu %5.2f s" % (name, cost[name][0], cost[name][1]))
    print("  ratio action / tasks: wall %s  cpu %s" % (
        ratio(cost["action"][0], cost["tasks"][0]), ratio(cost["action"][1], cost["tasks"][1])))


def ratio(part, whole):
    """part / whole; a cost at or below zero is within the noise of the
    ``none`` run it is measured against."""
    if part <= 0 or whole <= 0:
        return "~0 (within the noise of 'none')"
    return "%.2f" % (part / whole)


if __name__ == "__main__":
    main()
