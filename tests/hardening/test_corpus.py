"""The adversarial corpus, in-process (collect → plan → commit of the module
code, forked per case), judged by hlib.judge."""

import os
import tempfile
import time

import pytest

import hardening_corpus as corpus
import hlib
from playbook import run_playbook


@pytest.fixture(scope="module", autouse=True)
def sandboxes_on_tmpfs():
    unmount = hlib.mount_sandbox_parent()
    yield
    unmount()


@pytest.mark.parametrize("case", corpus.CASES, ids=str)
def test_case(case):
    outcome = hlib.run_case(case)
    assert outcome.clean(), outcome.report()


def test_the_corpus_has_at_least_200_cases():
    assert len(corpus.CASES) >= 200
    assert len(set(c.name for c in corpus.CASES)) == len(corpus.CASES)


def test_every_parser_error_class_has_a_snippet():
    assert corpus.parser_error_messages() == set(m for _k, _s, m in corpus.SYNTAX)


def playbook_run(tmp_path, sb):
    """thunderbird_offline through ansible-playbook, as a ChildResult for the judge."""
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "enforce", "register": "r",
         "rectorat.thunderbird.thunderbird_offline": {"profiles": sb.params["profiles"]}}]}]
    started = time.time()
    run = run_playbook(tmp_path, play)
    results = [r["result"] for r in run.results if r["task"] == "enforce"]
    output = run.stdout + run.stderr
    crash = None
    if run.rc != 0 or not results or "Traceback" in output or "module_stderr" in (results or [{}])[-1]:
        crash = "ansible-playbook rc=%s\n%s" % (run.rc, output[-3000:])
    value = {"result": results[-1]} if results else None
    return hlib.ChildResult(value=value, crash=crash, seconds=time.time() - started)


def test_cases_through_ansible_playbook(tmp_path):
    """The module path: the same judge, one outcome per profile of one run
    (on /tmp, the real disk, not on the corpus' tmpfs)."""
    sb = hlib.Sandbox(tempfile.mkdtemp(prefix="tbhard-playbook-", dir="/tmp"))
    try:
        names = corpus.playbook_sandbox(sb)
        sb.write_profiles_ini()
        before = hlib.snapshot(sb.tops())
        first = playbook_run(tmp_path, sb)
        after = hlib.snapshot(sb.tops())
        second = playbook_run(tmp_path, sb)
        after_second = hlib.snapshot(sb.tops())
        outcomes = hlib.split_by_profile(
            hlib.judge("playbook", "playbook", sb, first, before, after, second, after_second, via="playbook"),
            names)
    finally:
        sb.destroy()
    for outcome in outcomes:
        hlib.record(outcome)
    assert len(outcomes) >= len(names)
    problems = [o.report() for o in outcomes if not o.clean()]
    assert not problems, "\n".join(problems)


def sabotaged(damage):
    """A case whose commit is wrapped (in the child) to do ``damage`` after the
    real commit: the judge must count it, or the corpus could never fail."""
    def build(sb):
        good = sb.profile("aaaa.default")
        refused = sb.profile("bbbb.refused", expect="error", error=r"prefs\.js is owned by uid 0")
        os.chown(corpus.prefs_of(refused), 0, 0)

        def setup(box):
            real = hlib.commit.commit

            def commit(request):
                response = real(request)
                damage(box, good, refused)
                return response
            hlib.commit.commit = commit
        sb.child_setup.append(setup)
        sb.second_run = False
    return hlib.Case("self-test", "self-test", build)


def _append(path, data):
    with open(path, "ab") as f:
        f.write(data)


@pytest.mark.parametrize("damage, field", [
    (lambda sb, good, refused: _append(sb.canary, b"x"), "outside_writes"),
    (lambda sb, good, refused: _append(os.path.join(sb.other, "note"), b"x"), "outside_writes"),
    (lambda sb, good, refused: _append(os.path.join(good, "ImapMail", "imap.ac-test.fr", "INBOX.msf"), b"x"),
     "outside_writes"),
    (lambda sb, good, refused: _append(os.path.join(refused, "folderCache.json"), b" "), "refused_changed"),
    (lambda sb, good, refused: os.chmod(os.path.join(refused, "compatibility.ini"), 0o666), "refused_changed"),
    (lambda sb, good, refused: _append(os.path.join(good, ".prefs.js.rectorat-1.tmp"), b"x"), "leftovers"),
    (lambda sb, good, refused: _append(corpus.prefs_of(good), b"user_pref("), "corrupted"),
    (lambda sb, good, refused: os.chmod(corpus.prefs_of(good), 0o666), "corrupted"),
    (lambda sb, good, refused: os.unlink(os.path.join(good, "folderCache.json")), "corrupted"),
    (lambda sb, good, refused: 1 / 0, "crashes"),
], ids=["canary", "other-home", "mail-store", "refused-bytes", "refused-mode", "temp-file",
        "broken-prefs", "mode-lost", "cache-deleted", "exception"])
def test_the_judge_counts_each_kind_of_damage(damage, field):
    outcome = hlib.run_case(sabotaged(damage), record_outcome=False)
    assert getattr(outcome, field), outcome.report()
