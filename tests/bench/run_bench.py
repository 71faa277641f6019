# -*- coding: utf-8 -*-
"""Benchmark of the thunderbird_offline role on simulated workstations.

Run as root from the repository (after scripts/bootstrap):

    .venv/bin/python tests/bench/run_bench.py                 # 100 workstations, 3 repeats
    .venv/bin/python tests/bench/run_bench.py --growth-only   # ping and the role on 10, 100, 1000 workstations
    .venv/bin/python tests/bench/run_bench.py --hosts 20 --repeats 1   # a quick look

Each workstation is an inventory host of its own with its own two users and
Thunderbird profiles, reached over ssh through a loopback sshd started for the
run (benchlib.py), with pipelining, as an admin that becomes root with sudo.
In one run it measures, interleaved and repeated, and prints medians and
ratios: Ansible's fixed cost (a play with no task), the floor
(ansible.builtin.ping), the module alone, the role in --check and applied,
and a hand-written baseline role that edits prefs.js with lineinfile
(playbooks/roles/tb_prefs_lineinfile). It counts the remote Python runs per host and
measures their payload bytes, times parse + plan of a 1 MB prefs.js, shows how
the role's time grows with the number of workstations, and checks that with 5%
of the workstations unreachable every workstation is in the role's report.

Wall time is what an admin waits for; CPU seconds (controller and
workstations, read from cgroups) are also printed because they hardly move
when other work shares the machine. docs/scale.md explains the method.
"""

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def reexec_in_venv():
    """Run under the repository's virtualenv, which has ansible-core."""
    try:
        import ansible  # noqa: F401
    except ImportError:
        venv_python = os.path.join(REPO, ".venv", "bin", "python")
        if os.path.exists(venv_python) and os.path.realpath(sys.executable) != os.path.realpath(venv_python):
            os.execv(venv_python, [venv_python] + sys.argv)
        raise SystemExit("bench: ansible-core not found; run scripts/bootstrap first")


reexec_in_venv()
sys.path.insert(0, HERE)
import benchlib as bl  # noqa: E402  (needs the venv, checked just above)

TARGETS = {"role_vs_ping": 1.3, "baseline_vs_role": 5.0, "plan_ms": 50.0, "payload_vs_ping": 1.2,
           "growth_per_host": 1.1}


class Scenario:
    def __init__(self, name, book, args=(), fresh=False, label=None, changes=1):
        self.name = name
        self.book = book
        self.args = list(args)
        self.fresh = fresh  # works on the profiles: they are rebuilt as new before each run
        self.label = label or name
        self.changes = changes  # tasks that must report changed on each host


SCENARIOS = [
    Scenario("empty", "empty", label="empty play (Ansible's fixed cost)"),
    Scenario("ping", "ping", label="ansible.builtin.ping (the floor)"),
    Scenario("module", "module", fresh=True, label="thunderbird_offline module alone, apply"),
    Scenario("role_check", "role", ["--check"], fresh=True, label="role --check"),
    Scenario("role_apply", "role", fresh=True, label="role, apply"),
    Scenario("baseline", "baseline", fresh=True, label="baseline: lineinfile role, apply"),
]
# Item 4 of issue 11: the role without its argument validation task, and the
# role as shipped, with the at-start hook (into each workstation's stand-in
# installation, in the same module run).
EXTRA = [
    Scenario("role_novalidate", "role_novalidate", fresh=True, label="role, apply, rolespec_validate: false"),
    Scenario("role_hook", "role", ["-e", "thunderbird_offline_at_start=true"], fresh=True,
             label="role, apply, with the at-start hook"),
]
BY_NAME = dict((s.name, s) for s in SCENARIOS + EXTRA)


class Bench:
    def __init__(self, args):
        self.args = args
        self.fleet = bl.Fleet(args.prefix, args.state)
        self.cpu = None
        self.results = {"settings": {}, "runs": [], "counts": {}, "payload": {}, "plan": {}, "scale": {},
                        "correctness": {}}
        self.inventories = {}

    # --- setup / teardown
    def setup(self, host_count):
        self.fleet.stop_sshd()
        self.fleet.prepare()
        say("building %d workstations (%d users) under %s ..." % (host_count, 2 * host_count, self.fleet.base))
        started = time.monotonic()
        self.fleet.build_hosts(host_count)
        say("  done in %.0f s" % (time.monotonic() - started))
        self.cpu = bl.CpuGroups(self.args.prefix.rstrip("_"))
        self.fleet.start_sshd(self.cpu.join("workstations"))
        bl.write_ansible_cfg(self.fleet.state, self.args.forks)
        self.counter = bl.Counter(os.path.join(self.fleet.state, "count"))

    def teardown(self):
        self.fleet.stop_sshd()
        if self.cpu is not None:
            self.cpu.remove()
        if self.args.keep:
            say("kept the workstations' users and homes (--keep); remove them with --teardown-only")
            return
        say("removing the workstations' users and homes ...")
        self.fleet.teardown()

    def inventory(self, count, unreachable=(), counting=False):
        key = (count, tuple(unreachable), counting)
        if key not in self.inventories:
            suffix = "-counting" if counting else ""
            path = os.path.join(self.fleet.state, "inventory-%d-%d%s.yml" % (count, len(unreachable), suffix))
            self.inventories[key] = self.fleet.inventory(path, count, unreachable,
                                                         self.counter if counting else None)
        return self.inventories[key]

    # --- one run
    def run(self, scenario, count, run_name, unreachable=(), counting=False):
        if scenario.fresh:
            self.fleet.reset_profiles(count)
            self.fleet.reset_installs(count)
        if counting:
            self.counter.reset()
        result = bl.run_playbook(self.fleet.state, run_name, bl.playbook(scenario.book),
                                 self.inventory(count, unreachable, counting), scenario.args, cpu=self.cpu)
        self.check_run(scenario, count, run_name, result, unreachable)
        return result

    def check_run(self, scenario, count, run_name, result, unreachable):
        """A run that did not do its job is not a measurement: stop."""
        hosts = [self.fleet.host_name(i) for i in range(count)] if scenario.name != "empty" else []
        problems = []
        if result.rc not in (0, 4) or (result.rc == 4 and not unreachable):
            problems.append("ansible-playbook exited %d" % result.rc)
        missing = [h for h in hosts if h not in result.recap]
        if missing:
            problems.append("no recap for %s" % missing[:5])
        for index, host in enumerate(hosts):
            recap = result.recap.get(host, {})
            if index in unreachable:
                if not recap.get("unreachable"):
                    problems.append("%s should be unreachable: %s" % (host, recap))
                continue
            if recap.get("failed") or recap.get("unreachable"):
                problems.append("%s: %s" % (host, recap))
            elif scenario.name != "ping" and recap.get("changed") != scenario.changes:
                problems.append("%s changed=%s, expected %d" % (host, recap.get("changed"), scenario.changes))
        if scenario.book == "role":
            rows = bl.read_report(self.fleet.state, run_name)
            absent = sorted(set(hosts) - set(r["host"] for r in rows))
            if absent:
                problems.append("hosts missing from the report: %s" % absent[:5])
        if problems:
            raise SystemExit("bench: run %s is not valid:\n  %s\n--- output tail:\n%s" % (
                run_name, "\n  ".join(problems[:10]), result.output[-3000:]))

    def record(self, scenario, count, repeat, result):
        entry = {"scenario": scenario.name, "hosts": count, "repeat": repeat, "seconds": result.seconds,
                 "cpu": result.cpu, "memory": result.memory}
        if scenario.book.startswith("role"):
            entry["hosts_in_report"] = len(set(r["host"] for r in bl.read_report(
                self.fleet.state, "%s-%d-%d" % (scenario.name, count, repeat))))
        self.results["runs"].append(entry)
        return entry

    # --- parts of the bench
    def settings(self):
        with open(os.path.join(self.fleet.state, "ansible.cfg")) as f:
            cfg = f.read()
        remote = subprocess.run([bl.REMOTE_PYTHON, "--version"], capture_output=True, text=True,
                                check=False).stdout.strip()
        from ansible import __version__ as ansible_version
        s = {"hosts": self.args.hosts, "repeats": self.args.repeats, "forks": self.args.forks,
             "cpus": os.cpu_count(), "ansible_core": ansible_version,
             "controller_python": platform.python_version(), "remote_python": remote,
             "collection": os.path.join(bl.collections_path(), "ansible_collections", "rectorat", "thunderbird"),
             "cpu_accounting": self.cpu.kind or "unavailable", "loadavg_start": os.getloadavg()[0]}
        self.results["settings"] = s
        say("")
        say("== settings")
        say("%d workstations, each: 2 users, 2 profiles, 2 IMAP accounts (12 folders) + 1 POP; "
            "repeats %d; %d CPUs; load average %.1f at start" % (s["hosts"], s["repeats"], s["cpus"], s["loadavg_start"]))
        say("ansible-core %s on Python %s; workstations run %s; collection %s"
            % (s["ansible_core"], s["controller_python"], s["remote_python"], s["collection"]))
        say("ssh to 127.0.0.1:%d as %s, become: sudo; one ssh master connection per workstation; "
            "CPU accounting: %s" % (self.fleet.port, self.fleet.admin, s["cpu_accounting"]))
        say("ansible.cfg:\n    " + cfg.strip().replace("\n", "\n    "))

    def micro_plan(self):
        say("")
        say("== parse + plan of a profile with a 1 MB prefs.js (no ssh, no Ansible; median of 15)")
        for label, python in (("workstation", bl.REMOTE_PYTHON), ("controller", sys.executable)):
            proc = subprocess.run([python, os.path.join(HERE, "plan_microbench.py"), bl.collections_path()],
                                  capture_output=True, text=True, check=True)
            data = json.loads(proc.stdout)
            self.results["plan"][label] = data
            say("  %-11s Python %-7s %d bytes, %d prefs, %d accounts: parse %.1f ms (CPU %.1f), "
                "parse + plan %.1f ms (CPU %.1f), medians" % (
                    label, data["python"], data["prefs_bytes"], data["prefs_entries"], data["accounts"],
                    data["parse_ms"]["wall"][0], data["parse_ms"]["cpu"][0],
                    data["plan_ms"]["wall"][0], data["plan_ms"]["cpu"][0]))

    def count_invocations(self):
        count = min(self.args.hosts, self.args.count_hosts)
        say("")
        say("== remote Python runs per workstation and payload bytes (%d workstations, untimed pass)" % count)
        for scenario in self.timed_scenarios():
            if scenario.name == "empty":
                continue
            self.run(scenario, count, "count-" + scenario.name, counting=True)
            seen = self.counter.read()
            per_host = [len(seen.get(self.fleet.host_name(i), [])) for i in range(count)]
            sizes = sorted(set(size for runs in seen.values() for size, _us in runs))
            self.results["counts"][scenario.name] = {"per_host": per_host, "payload_sizes": sizes}
            if scenario.name in ("ping", "module"):
                self.results["payload"][scenario.name] = {
                    "bytes": sizes[0], "members": bl.payload_zip_members(self.counter.payload(sizes[0]))}
            say("  %-34s %s per workstation (min %d, max %d); payload bytes %s" % (
                scenario.label, describe_counts(per_host), min(per_host), max(per_host),
                ", ".join(str(s) for s in sizes)))
        if "ping" in self.results["payload"] and "module" in self.results["payload"]:
            self.print_payload()

    def print_payload(self):
        ping, module = self.results["payload"]["ping"], self.results["payload"]["module"]
        ratio = module["bytes"] / ping["bytes"]
        self.results["payload"]["ratio"] = ratio
        ours = [(n, c) for n, c in module["members"] if "/rectorat/" in n and not n.endswith("__init__.py")]
        others = dict(ping["members"])
        extra = [(n, c) for n, c in module["members"]
                 if "/rectorat/" not in n and n not in others and not n.endswith("__init__.py")]
        say("  payload: module %d bytes / ping %d bytes = %.2fx   [target < %.1fx: %s]" % (
            module["bytes"], ping["bytes"], ratio, TARGETS["payload_vs_ping"],
            verdict(ratio < TARGETS["payload_vs_ping"])))
        say("    compressed bytes of the collection's files in it (base64 adds a third): " + ", ".join(
            "%s %d" % (n.rsplit("/", 1)[-1], c) for n, c in sorted(ours, key=lambda x: -x[1])))
        if extra:
            say("    other files not in ping's payload: " + ", ".join(
                "%s %d" % (n.split("module_utils/", 1)[-1], c) for n, c in sorted(extra, key=lambda x: -x[1])))

    def timed(self):
        n = self.args.hosts
        say("")
        say("== timed runs on %d workstations (%d repeats, interleaved; wall s | CPU s controller + workstations)"
            % (n, self.args.repeats))
        for repeat in range(1, self.args.repeats + 1):
            for scenario in self.timed_scenarios():
                result = self.run(scenario, n, "%s-%d-%d" % (scenario.name, n, repeat))
                entry = self.record(scenario, n, repeat, result)
                say("  repeat %d  %-34s %7.1f s | %s | %s" % (
                    repeat, scenario.label, entry["seconds"], cpu_text(entry["cpu"]), memory_text(entry["memory"])))

    def timed_scenarios(self):
        chosen = self.args.scenarios.split(",") if self.args.scenarios else list(BY_NAME)
        unknown = sorted(set(chosen) - set(BY_NAME))
        if unknown:
            raise SystemExit("bench: unknown scenario(s) %s; known: %s" % (unknown, ", ".join(BY_NAME)))
        if self.args.no_baseline and "baseline" in chosen:
            chosen.remove("baseline")
        return [BY_NAME[name] for name in BY_NAME if name in chosen]

    def growth_sizes(self):
        if self.args.growth_sizes:
            return sorted(set(int(s) for s in self.args.growth_sizes.split(",")))
        if self.args.growth_only:
            return [10, 100, 1000]
        return sorted(set((10, self.args.hosts)))

    def scale(self):
        sizes = self.growth_sizes()
        for size in sizes:
            if size == self.args.hosts and not self.args.growth_only:
                continue  # measured by timed()
            started = time.monotonic()
            self.fleet.build_hosts(size)
            say("")
            repeats = self.args.growth_repeats or self.args.repeats
            say("== growth: %d workstations (%d repeats; built in %.0f s)" % (
                size, repeats, time.monotonic() - started))
            for repeat in range(1, repeats + 1):
                for scenario in (BY_NAME["ping"], BY_NAME["role_apply"]):
                    result = self.run(scenario, size, "%s-%d-%d" % (scenario.name, size, repeat))
                    entry = self.record(scenario, size, repeat, result)
                    say("  repeat %d  %-34s %7.1f s | %s | %s%s" % (
                        repeat, scenario.label, entry["seconds"], cpu_text(entry["cpu"]), memory_text(entry["memory"]),
                        "; %d workstations in the report" % entry["hosts_in_report"]
                        if "hosts_in_report" in entry else ""))
        self.results["scale"]["sizes"] = sizes

    def correctness(self):
        n = self.args.hosts
        down = max(1, int(math.ceil(n * 0.05)))
        unreachable = set(int(i * n / down) + n // (2 * down) for i in range(down))
        say("")
        say("== correctness at scale: role applied to %d workstations, %d of them unreachable (%s)" % (
            n, len(unreachable), ", ".join(self.fleet.host_name(i) for i in sorted(unreachable))))
        result = self.run(BY_NAME["role_apply"], n, "correctness-%d" % n, unreachable=unreachable, counting=True)
        rows = bl.read_report(self.fleet.state, "correctness-%d" % n)
        verdicts = bl.report_coverage(rows, [self.fleet.host_name(i) for i in range(n)],
                                      set(self.fleet.host_name(i) for i in unreachable))
        seen = self.counter.read()
        runs = [len(seen.get(self.fleet.host_name(i), [])) for i in range(n)]
        verdicts["one_run_per_reachable_host"] = all(
            runs[i] == (0 if i in unreachable else 1) for i in range(n))
        verdicts["recap_unreachable"] = sorted(result.hosts_with("unreachable"))
        self.results["correctness"] = verdicts
        say("  every workstation in the CSV report: %s (%d of %d)" % (
            verdict(verdicts["all_hosts"]), verdicts["hosts_in_report"], n))
        say("  unreachable workstations reported as unreachable: %s; reachable ones with both IMAP accounts "
            "fixed: %s" % (verdict(verdicts["unreachable_ok"]), verdict(verdicts["reachable_ok"])))
        say("  exactly one remote Python run per reachable workstation, none on the others: %s"
            % verdict(verdicts["one_run_per_reachable_host"]))

    # --- summary
    def summary(self):
        if not self.args.growth_only:
            self.summary_main()
        self.summary_growth()

    def summary_main(self):
        n = self.args.hosts
        wall, cpu = medians(self.results["runs"], n)
        say("")
        say("== medians on %d workstations (wall s | CPU s)" % n)
        for scenario in BY_NAME.values():
            if scenario.name in wall:
                say("  %-34s %7.1f s | %6.1f CPU s  (%.0f ms wall per workstation)" % (
                    scenario.label, wall[scenario.name], cpu.get(scenario.name, float("nan")),
                    1000 * wall[scenario.name] / n))
        ratios = {}
        say("")
        say("== ratios (wall; CPU in brackets)")
        for name, num, den, target, better in (
                ("role apply / ping", "role_apply", "ping", TARGETS["role_vs_ping"], "le"),
                ("role --check / ping", "role_check", "ping", TARGETS["role_vs_ping"], "le"),
                ("role, no validation / ping", "role_novalidate", "ping", TARGETS["role_vs_ping"], "le"),
                ("role with hook / ping", "role_hook", "ping", TARGETS["role_vs_ping"], "le"),
                ("module alone / ping", "module", "ping", None, None),
                ("baseline / role apply", "baseline", "role_apply", TARGETS["baseline_vs_role"], "ge")):
            if num not in wall or den not in wall:
                continue
            r_wall, r_cpu = wall[num] / wall[den], (cpu[num] / cpu[den]) if cpu else float("nan")
            ratios[name] = {"wall": r_wall, "cpu": r_cpu}
            mark = ""
            if target:
                ok = r_wall <= target if better == "le" else r_wall >= target
                mark = "  [target %s %.1fx: %s]" % ("<=" if better == "le" else ">=", target, verdict(ok))
            say("  %-27s %5.2fx  (%.2fx)%s" % (name, r_wall, r_cpu, mark))
        if "empty" in wall:
            fixed = wall["empty"]
            say("  marginal, fixed cost of an empty play (%.1f s) taken off: role apply / ping %.2fx; "
                "baseline / role apply %.2fx" % (
                    fixed, (wall["role_apply"] - fixed) / (wall["ping"] - fixed) if "role_apply" in wall else float("nan"),
                    (wall["baseline"] - fixed) / (wall["role_apply"] - fixed) if "baseline" in wall else float("nan")))
        self.results["ratios"] = ratios
        plan_ms = self.results["plan"].get("workstation", {}).get("plan_ms", {}).get("wall", [float("nan")])[0]
        say("  parse + plan of 1 MB prefs.js on the workstation's Python: %.1f ms  [target < %.0f ms: %s]" % (
            plan_ms, TARGETS["plan_ms"], verdict(plan_ms < TARGETS["plan_ms"])))
        if "ratio" in self.results["payload"]:
            ratio = self.results["payload"]["ratio"]
            say("  payload module / ping: %.2fx  [target < %.1fx: %s]" % (
                ratio, TARGETS["payload_vs_ping"], verdict(ratio < TARGETS["payload_vs_ping"])))
        counts = self.results["counts"]
        if counts:
            one = all(c == 1 for name in ("module", "role_check", "role_apply", "role_novalidate", "role_hook")
                      if name in counts for c in counts[name]["per_host"])
            say("  remote Python runs per workstation: role %s, ping %s, baseline %s  [target: exactly 1 for the role: %s]"
                % (describe_counts(counts["role_hook"]["per_host"] if "role_hook" in counts else
                                   counts["role_apply"]["per_host"]), describe_counts(counts["ping"]["per_host"]),
                   describe_counts(counts.get("baseline", {}).get("per_host", [0])), verdict(one)))

    def summary_growth(self):
        sizes = self.results["scale"].get("sizes", [])
        if sizes:
            say("")
            say("== growth of the role (apply) with the number of workstations (medians)")
            say("  %6s %8s %8s %13s %12s %11s %16s %14s %12s %11s" % (
                "hosts", "ping s", "role s", "role ms/host", "role / ping", "role CPU s", "CPU role / ping",
                "CPU ms/host", "in report", "peak MB"))
            per_host = {}
            for size in sizes:
                w, c = medians(self.results["runs"], size)
                if "role_apply" not in w or "ping" not in w:
                    continue
                role_runs = [r for r in self.results["runs"] if r["scenario"] == "role_apply" and r["hosts"] == size]
                in_report = min(r.get("hosts_in_report", 0) for r in role_runs)
                peak = max(r["memory"].get("controller_pss_mb", float("nan")) for r in role_runs)
                cpu_role = c.get("role_apply", float("nan"))
                per_host[size] = (w["role_apply"] / size, cpu_role / size)
                say("  %6d %8.1f %8.1f %13.0f %12.2f %11.1f %16.2f %14.0f %12s %11.0f" % (
                    size, w["ping"], w["role_apply"], 1000 * w["role_apply"] / size, w["role_apply"] / w["ping"],
                    cpu_role, cpu_role / c.get("ping", float("nan")), 1000 * cpu_role / size,
                    "%d of %d" % (in_report, size), peak))
            say("  (peak MB: the controller's peak memory during the role run, summed PSS of ansible-playbook, "
                "its workers and the ssh clients)")
            largest = max(per_host) if per_host else 0
            if 100 in per_host and largest > 100:
                wall_ratio = per_host[largest][0] / per_host[100][0]
                cpu_ratio = per_host[largest][1] / per_host[100][1]
                self.results["scale"]["per_host_ratio"] = {"size": largest, "wall": wall_ratio, "cpu": cpu_ratio}
                say("  role cost per workstation at %d / at 100: %.2fx wall, %.2fx CPU  [target <= %.1fx: %s]" % (
                    largest, wall_ratio, cpu_ratio, TARGETS["growth_per_host"],
                    verdict(wall_ratio <= TARGETS["growth_per_host"])))
        self.results["settings"]["loadavg_end"] = os.getloadavg()[0]
        say("")
        say("load average %.1f at start, %.1f at end (other work on the machine inflates wall time, "
            "hardly CPU seconds)" % (self.results["settings"]["loadavg_start"], self.results["settings"]["loadavg_end"]))


def medians(runs, hosts):
    wall, cpu = {}, {}
    for name in BY_NAME:
        mine = [r for r in runs if r["scenario"] == name and r["hosts"] == hosts]
        if mine:
            wall[name] = statistics.median(r["seconds"] for r in mine)
            if all(r["cpu"] for r in mine):
                cpu[name] = statistics.median(sum(r["cpu"].values()) for r in mine)
    return wall, cpu


def describe_counts(per_host):
    values = sorted(set(per_host))
    return str(values[0]) if len(values) == 1 else "%d-%d" % (values[0], values[-1])


def cpu_text(cpu):
    if not cpu:
        return "CPU n/a"
    return "%5.1f + %5.1f CPU s" % (cpu["controller"], cpu["workstations"])


def memory_text(memory):
    if not memory:
        return "memory n/a"
    return "peak %.0f MB (largest process %.0f MB)" % (memory.get("controller_pss_mb", float("nan")),
                                                       memory["main_rss_mb"])


def verdict(ok):
    return "met" if ok else "NOT MET"


def say(text):
    print(text, flush=True)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--hosts", type=int, default=100, help="simulated workstations (default 100)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each scenario (default 3)")
    parser.add_argument("--forks", type=int, default=10, help="ansible forks (default 10, for 2 CPUs)")
    parser.add_argument("--growth-sizes",
                        help="comma-separated workstation counts of the growth runs (default 10,100,1000 with "
                             "--growth-only, else 10 and --hosts)")
    parser.add_argument("--growth-repeats", type=int, help="runs of each growth size (default --repeats)")
    parser.add_argument("--scenarios", help="comma-separated scenarios of the timed runs (default all: %s)"
                        % ", ".join(s.name for s in SCENARIOS + EXTRA))
    parser.add_argument("--count-hosts", type=int, default=20,
                        help="workstations of the untimed counting pass (default 20)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the (slow) baseline's timed runs")
    parser.add_argument("--growth-only", action="store_true",
                        help="only ping and the role on --growth-sizes workstations (default 10, 100, 1000)")
    parser.add_argument("--prefix", default="tbbench_", help="prefix of the users created (default tbbench_)")
    parser.add_argument("--state", default="/tmp/tbbench", help="state folder: sshd, inventories, run outputs")
    parser.add_argument("--json", help="also write every figure to this JSON file")
    parser.add_argument("--keep", action="store_true", help="keep the users and homes at the end")
    parser.add_argument("--teardown-only", action="store_true", help="remove what a --keep run left, and exit")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if os.geteuid() != 0:
        raise SystemExit("bench: run as root (it creates users and starts sshd)")
    bench = Bench(args)
    if args.teardown_only:
        bench.fleet.stop_sshd()
        bench.fleet.teardown()
        return
    started = time.monotonic()
    try:
        bench.setup(args.hosts)
        bench.settings()
        if not args.growth_only:
            bench.micro_plan()
            bench.count_invocations()
            bench.timed()
        bench.scale()
        if not args.growth_only:
            bench.correctness()
        bench.summary()
    finally:
        bench.teardown()
        if args.json:
            with open(args.json, "w") as f:
                json.dump(bench.results, f, indent=1, default=str)
    say("bench took %.0f s" % (time.monotonic() - started))


if __name__ == "__main__":
    main()
