# -*- coding: utf-8 -*-
"""The counting of the hardening suite, shared by its tests and by
``scripts/hardening-tally`` (which runs ``main`` here): an Outcome holds what
went wrong in one case (a test passes exactly when its Outcome is clean),
``record`` appends it to the file named by $HARDENING_TALLY, ``summarize``
adds them up. Standard library only.

Usage (as root, like CI): scripts/hardening-tally [--kills N] [--seed S] [pytest args...]
Exit status 0 only when pytest passed and every count but "cases tried" is 0.
"""

import argparse
import fcntl
import json
import os
import subprocess
import sys
import tempfile

TALLY_ENV = "HARDENING_TALLY"


class Outcome:
    """What went wrong in one case; empty lists mean it went right."""

    FIELDS = ("crashes", "refused_changed", "corrupted", "outside_writes", "leftovers", "wrong")

    def __init__(self, case, group, via="inprocess"):
        self.case, self.group, self.via = case, group, via
        for name in self.FIELDS:
            setattr(self, name, [])
        self.seconds = 0.0
        self.rss_kb = 0
        self.killed = None  # kill test: whether the SIGKILL landed before the run ended

    def clean(self):
        return not any(getattr(self, name) for name in self.FIELDS)

    def report(self):
        lines = ["case %s (%s, %s)" % (self.case, self.group, self.via)]
        for name in self.FIELDS:
            for item in getattr(self, name):
                lines.append("  %s: %s" % (name, item))
        return "\n".join(lines)

    def to_json(self):
        data = dict((name, getattr(self, name)) for name in self.FIELDS)
        data.update(case=self.case, group=self.group, via=self.via,
                    seconds=round(self.seconds, 3), rss_kb=self.rss_kb, killed=self.killed)
        return data


def record(outcome):
    """Append the outcome to the tally file, when the tally script asked for one."""
    path = os.environ.get(TALLY_ENV)
    if not path:
        return
    line = json.dumps(outcome.to_json() if isinstance(outcome, Outcome) else outcome)
    with open(path, "a") as f:
        fcntl.lockf(f, fcntl.LOCK_EX)
        f.write(line + "\n")


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def summarize(items):
    outcomes = [o for o in items if "case" in o]
    tests_failed = [o for o in items if o.get("test_failed")]
    totals = {
        "cases": len(outcomes),
        "crashes": sum(1 for o in outcomes if o["crashes"]),
        "refused_files_changed": sum(len(o["refused_changed"]) for o in outcomes),
        "files_corrupted": sum(len(o["corrupted"]) for o in outcomes),
        "writes_outside": sum(len(o["outside_writes"]) for o in outcomes),
        "temp_files_left": sum(len(o["leftovers"]) for o in outcomes),
        "wrong_outcomes": sum(1 for o in outcomes if o["wrong"]),
        "tests_failed": len(tests_failed),
        "kills_landed": sum(1 for o in outcomes if o.get("killed")),
    }
    by_via, by_group = {}, {}
    for o in outcomes:
        by_via[o["via"]] = by_via.get(o["via"], 0) + 1
        by_group[o["group"]] = by_group.get(o["group"], 0) + 1
    totals["by_via"], totals["by_group"] = by_via, by_group
    totals["clean"] = all(totals[k] == 0 for k in (
        "crashes", "refused_files_changed", "files_corrupted", "writes_outside",
        "temp_files_left", "wrong_outcomes", "tests_failed"))
    totals["slowest"] = sorted(((o["seconds"], o["case"]) for o in outcomes), reverse=True)[:3]
    totals["max_rss_mb"] = round(max([o.get("rss_kb", 0) for o in outcomes] or [0]) / 1024.0, 1)
    return totals


def format_tally(totals):
    lines = [
        "cases tried                %6d   (%s)" % (totals["cases"], ", ".join(
            "%s %d" % kv for kv in sorted(totals["by_via"].items()))),
        "  of which kill -9 that landed mid-run %d" % totals["kills_landed"],
        "crashes                    %6d" % totals["crashes"],
        "refused files changed      %6d" % totals["refused_files_changed"],
        "files corrupted            %6d" % totals["files_corrupted"],
        "writes outside the profile %6d" % totals["writes_outside"],
        "temp files left behind     %6d" % totals["temp_files_left"],
        "wrong outcomes             %6d" % totals["wrong_outcomes"],
        "failed tests               %6d" % totals["tests_failed"],
        "case classes: " + ", ".join("%s %d" % kv for kv in sorted(totals["by_group"].items())),
        "peak RSS of a case: %.1f MiB; slowest: %s" % (totals["max_rss_mb"], ", ".join(
            "%s %.1fs" % (name, sec) for sec, name in totals["slowest"])),
        "RESULT: %s" % ("CLEAN" if totals["clean"] else "PROBLEMS FOUND"),
    ]
    return "\n".join(lines)


def budget_limits(repo):
    """The limits of plugins/module_utils/budget.py (read, not imported: this
    script runs without the collection on its path)."""
    import ast
    path = os.path.join(repo, "plugins", "module_utils", "budget.py")
    with open(path) as f:
        tree = ast.parse(f.read())
    values = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                getattr(node.targets[0], "id", "").startswith("MAX_"):
            values[node.targets[0].id] = eval(compile(ast.Expression(node.value), path, "eval"), {"__builtins__": {}})
    return values


def format_limits(values):
    mib = 1024 * 1024
    return ("limits (budget.py): %d MiB per file, %d MiB per profile, %d MiB per run, "
            "%d profiles and %d s per host" % (
                values["MAX_FILE_BYTES"] // mib, values["MAX_PROFILE_BYTES"] // mib,
                values["MAX_RUN_BYTES"] // mib, values["MAX_PROFILES"], values["MAX_SECONDS"]))


def main(argv=None):
    """Run tests/hardening with a tally file, then print the tally."""
    parser = argparse.ArgumentParser(description="Run the hardening suite and print its tally.")
    parser.add_argument("--kills", type=int, help="kill -9 count of the kill test (default: its CI default)")
    parser.add_argument("--seed", type=int, help="seed of the random kill delays")
    args, pytest_args = parser.parse_known_args(argv)
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(os.path.dirname(here))
    env = dict(os.environ)
    if args.kills is not None:
        env["HARDENING_KILLS"] = str(args.kills)
    if args.seed is not None:
        env["HARDENING_SEED"] = str(args.seed)
    handle, path = tempfile.mkstemp(prefix="hardening-tally-", suffix=".jsonl")
    os.close(handle)
    env[TALLY_ENV] = path
    try:
        command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-m", "hardening", here]
        rc = subprocess.call(command + pytest_args, cwd=repo, env=env)
        totals = summarize(load(path))
    finally:
        os.unlink(path)
    print()
    print("== hardening tally")
    print(format_tally(totals))
    print(format_limits(budget_limits(repo)))
    return 0 if rc == 0 and totals["clean"] and totals["cases"] else 1


if __name__ == "__main__":
    sys.exit(main())
