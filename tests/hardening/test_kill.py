"""Crash safety: kill -9 a process running the module's collect → plan →
commit at every step of the commit, and at random times, then run again.

Deterministic kill points (every step, up to two thirds of the kills): in the child, the os functions commit uses are
wrapped (only while commit runs) and the child sends itself SIGKILL before
the Nth call, or halfway through the Nth write (half of the bytes written).
No hook in the module itself. Random points (the rest): the parent
sends SIGKILL a random time after the child enters commit, within the time
an uninterrupted commit takes. ``HARDENING_KILLS`` sets how many kills in all (default
keeps this file under two minutes on 2 cores).
"""

import os
import random
import shutil
import signal
import time

import pytest

import hlib
from hlib import OWNER

KILLS = int(os.environ.get("HARDENING_KILLS", "200"))
WRAPPED = ("open", "write", "fchown", "fchmod", "fsync", "close", "rename", "unlink", "link", "replace")
_REAL_KILL = os.kill


def build(base):
    """Two profiles that each need prefs.js, user.js and folderCache.json rewritten."""
    if os.path.exists(base):
        shutil.rmtree(base)
    os.makedirs(base)
    sb = hlib.Sandbox(base)
    user_js = ('user_pref("mail.server.server1.offline_download", false);\n'
               'user_pref("mail.identity.id1.fullName", "Élise");\n')
    for name in ("aaaa.default", "bbbb.second"):
        profile = sb.profile(name, user_js=user_js, accounts=[
            hlib.tbsandbox.imap("imap.ac-test.fr", "alice", offline=False,
                                folders=["INBOX", "Sent", "Archives/%d" % 2020] + ["F%03d" % i for i in range(40)])])
        hlib.chown_tree(profile, OWNER)
        os.chmod(os.path.join(profile, "prefs.js"), 0o640)
    sb.write_profiles_ini()
    return sb


class KillHook:
    """Wrap WRAPPED os functions; while ``active``, count the calls and kill
    the process at ``point`` = (call number, "before" | "mid")."""

    def __init__(self, point=None):
        self.point = point
        self.active = False
        self.calls = []
        for name in WRAPPED:
            setattr(os, name, self._wrap(name, getattr(os, name)))

    def _wrap(self, name, real):
        def wrapper(*args, **kwargs):
            if not self.active:
                return real(*args, **kwargs)
            index = len(self.calls)
            self.calls.append(name)
            if self.point and self.point[0] == index:
                if self.point[1] == "mid" and name == "write":
                    real(args[0], bytes(args[1])[:max(1, len(args[1]) // 2)])
                _REAL_KILL(os.getpid(), signal.SIGKILL)
            return real(*args, **kwargs)
        return wrapper

    def commit(self, request):
        self.started = time.time()
        self.active = True
        try:
            return hlib.commit.commit(request)
        finally:
            self.active = False
            self.ended = time.time()


def run_with_hook(sb, point=None):
    forked_at = time.time()

    def child():
        hook = KillHook(point)
        result = hlib.module_run(sb.params, commit_fn=hook.commit)
        return {"result": hlib.slim(result), "calls": hook.calls,
                "commit": [hook.started - forked_at, hook.ended - forked_at]}
    return hlib.run_forked(child, timeout=60)


def plain_run(sb):
    return hlib.run_forked(lambda: {"result": hlib.slim(hlib.module_run(sb.params))}, timeout=60)


def run_killed_in_commit(sb, delay):
    """A run that the parent kills ``delay`` seconds after the child says
    commit has begun (or not at all, if the commit is over by then)."""
    read_end, write_end = os.pipe()

    def child():
        os.close(read_end)

        took = []

        def commit_fn(request):
            os.write(write_end, b"C")
            started = time.time()
            response = hlib.commit.commit(request)
            took.append(time.time() - started)
            return response
        result = hlib.module_run(sb.params, commit_fn=commit_fn)
        os.close(write_end)
        return {"result": hlib.slim(result), "commit_seconds": took[0] if took else None}

    def killer(pid):
        os.close(write_end)
        if os.read(read_end, 1) == b"C":
            time.sleep(delay)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        os.close(read_end)
    return hlib.run_forked(child, timeout=60, on_start=killer)


@pytest.fixture(scope="module")
def base():
    path = os.path.join("/tmp", "tbhard-kill-%d" % os.getpid())
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def reference(base):
    """Snapshots before and after an uninterrupted run, the commit's calls, its duration."""
    sb = build(base)
    old = hlib.snapshot(sb.tops())
    run = run_with_hook(sb)
    assert run.crash is None and not run.killed, run.crash
    statuses = [r["status"] for r in hlib.records_of(run.value["result"])[0].values()]
    assert statuses == ["changed", "changed"], statuses
    new = hlib.snapshot(sb.tops())
    durations = sorted(end - start for start, end in (
        run_with_hook(build(base)).value["commit"] for attempt in range(3)))
    return {"old": old, "new": new, "calls": run.value["calls"], "commit_seconds": durations[1],
            "profile_dirs": sorted(sb.profile_dirs)}


def kill_and_rerun(base, reference, name, point=None, delay=None):
    sb = build(base)
    assert hlib.same_tree(hlib.snapshot(sb.tops()), reference["old"])
    killed = run_with_hook(sb, point) if point else run_killed_in_commit(sb, delay)
    after_kill = hlib.snapshot(sb.tops())
    rerun = plain_run(sb)
    after_rerun = hlib.snapshot(sb.tops())
    third = plain_run(sb)
    after_third = hlib.snapshot(sb.tops())
    outcome = hlib.judge_kill(name, set(reference["profile_dirs"]), reference["old"], reference["new"],
                              killed, after_kill, rerun, after_rerun, third, after_third)
    outcome.seconds = killed.seconds
    outcome.killed = killed.killed
    hlib.record(outcome)
    return outcome, killed


def deterministic_points(calls):
    points = [(i, "before") for i in range(len(calls))]
    points += [(i, "mid") for i, name in enumerate(calls) if name == "write"]
    return points


def deterministic_count(reference):
    """Every step when the budget allows (leaving a third for random kills)."""
    return min(len(deterministic_points(reference["calls"])), max(1, KILLS * 2 // 3))


def spread(points, count):
    return [points[i * len(points) // count] for i in range(count)]


def test_kill_at_every_step_of_the_commit(base, reference):
    points = spread(deterministic_points(reference["calls"]), deterministic_count(reference))
    failures, killed = [], 0
    for index, when in points:
        name = "kill/%s-%s#%d" % (when, reference["calls"][index], index)
        outcome, run = kill_and_rerun(base, reference, name, point=(index, when))
        killed += run.killed
        if not outcome.clean():
            failures.append(outcome.report())
    assert killed == len(points), "every deterministic point must kill the run"
    assert not failures, "%d of %d kills went wrong:\n%s" % (len(failures), len(points), "\n".join(failures[:8]))


def test_kill_at_random_times(base, reference):
    count = max(1, KILLS - deterministic_count(reference))
    rng = random.Random(int(os.environ.get("HARDENING_SEED", "20261127")))
    failures, killed = [], 0
    # Commits that ran to the end say how long they took: the delays follow
    # the machine's load, so that most kills land inside the commit.
    recent = [reference["commit_seconds"]] * 3
    for i in range(count):
        delay = rng.uniform(0, sorted(recent[-9:])[len(recent[-9:]) // 2])
        outcome, run = kill_and_rerun(base, reference, "kill/random#%d-%.4fs" % (i, delay), delay=delay)
        killed += run.killed
        if not run.killed and (run.value or {}).get("commit_seconds"):
            recent.append(run.value["commit_seconds"])
        if not outcome.clean():
            failures.append(outcome.report())
    print("%d of %d random kills landed inside the commit" % (killed, count))
    assert killed >= count // 4, "too few kills landed inside the commit (%d of %d)" % (killed, count)
    assert not failures, "%d of %d kills went wrong:\n%s" % (len(failures), count, "\n".join(failures[:8]))


@pytest.mark.parametrize("damage, field", [
    ("partial-after-kill", "corrupted"),
    ("partial-backup", "corrupted"),
    ("temp-after-rerun", "leftovers"),
    ("old-after-rerun", "corrupted"),
    ("outside", "outside_writes"),
])
def test_the_kill_judge_counts_each_kind_of_damage(reference, damage, field):
    """judge_kill on made-up snapshots: each kind of damage is counted."""
    old, new = reference["old"], reference["new"]
    profile = reference["profile_dirs"][0]
    prefs_js = os.path.join(profile, "prefs.js")
    after_kill, after_rerun = dict(old), dict(new)
    half = old[prefs_js][:1] + ["12:not-the-old-nor-the-new"] + old[prefs_js][2:5]
    if damage == "partial-after-kill":
        after_kill[prefs_js] = half
    elif damage == "partial-backup":
        after_kill[prefs_js + ".20260101T000000Z.bak"] = half
    elif damage == "temp-after-rerun":
        after_rerun[os.path.join(profile, ".prefs.js.rectorat-7.tmp")] = half
    elif damage == "old-after-rerun":
        after_rerun[prefs_js] = old[prefs_js]
    else:
        after_kill[os.path.join(os.path.dirname(os.path.dirname(profile)), "dropped")] = half
    fine = hlib.ChildResult(value={"result": None})
    outcome = hlib.judge_kill("self-test", set(reference["profile_dirs"]), old, new, fine,
                              after_kill, fine, after_rerun, fine, after_rerun)
    assert getattr(outcome, field), outcome.report()
