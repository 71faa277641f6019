"""One test per bug the hardening corpus found, small enough to read on its
own (the corpus case that found it is named in each docstring)."""

import hashlib
import os
import shutil
import subprocess
import tempfile
import time

import pytest

import sandbox

from ansible_collections.rectorat.thunderbird.plugins.module_utils import (
    collect, commit, folders, workflow)

OWNER = 4242
PARAMS = {"users": None, "profiles": None, "servers": None, "sync_age_days": 0,
          "size_limit_kb": 0, "if_running": "skip", "backup": True}


@pytest.fixture
def profile():
    base = tempfile.mkdtemp(prefix="tbreg-", dir="/tmp")
    os.chmod(base, 0o755)
    path = sandbox.write_profile(os.path.join(base, "p"), [sandbox.imap("imap.ac-test.fr", "alice")])
    for root, dirs, files in os.walk(base):
        for name in dirs + files:
            os.lchown(os.path.join(root, name), OWNER, OWNER)
    yield path
    subprocess.run(["umount", "-l", os.path.join(path, "prefs.js")], capture_output=True, check=False)
    shutil.rmtree(base)


def state_of(folder):
    out = {}
    for root, _dirs, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            st = os.lstat(path)
            with open(path, "rb") as f:
                out[os.path.relpath(path, folder)] = (hashlib.sha256(f.read()).hexdigest(),
                                                      st.st_uid, st.st_gid, st.st_mode)
    return out


def run(path, **params):
    return workflow.run(dict(PARAMS, profiles=[path], **params), enforce=True, check_mode=False,
                        collect_fn=collect.collect, commit_fn=commit.commit)


def only_record(result):
    (record,) = result["ansible_facts"]["thunderbird"]["profiles"]
    return record


def append(path, data):
    with open(path, "ab") as f:
        f.write(data)


def test_prefs_cut_short_by_a_nul_is_a_profile_error_not_a_crash(profile):
    """corpus: nul/last-byte — prefs.edit refused the file and the exception
    ended the whole module run (every profile of the host unreported)."""
    append(os.path.join(profile, "prefs.js"), b"\x00")
    before = state_of(profile)
    record = only_record(run(profile))
    assert record["status"] == "error"
    assert "prefs.js" in record["error"] and "NUL" in record["error"]
    assert state_of(profile) == before


@pytest.mark.parametrize("data", [b"[" * 200000 + b"]" * 200000,
                                  b'{"a":' * 100000 + b"{}" + b"}" * 100000])
def test_deeply_nested_folder_cache_is_refused_not_a_crash(data):
    """corpus: folder-cache/deep-array-nesting — json.loads raised RecursionError."""
    with pytest.raises(folders.FolderCacheError, match="nested"):
        folders.parse_folder_cache(data)


def test_folder_cache_with_a_lone_surrogate_is_a_profile_error(profile):
    """corpus: folder-cache/lone-surrogate — the new folderCache.json could not
    be encoded (UnicodeEncodeError) and the module run ended."""
    cache_path = os.path.join(profile, "folderCache.json")
    with open(cache_path, "rb") as f:
        data = f.read()
    with open(cache_path, "wb") as f:
        f.write(data.replace(b'"totalMsgs": 3', b'"totalMsgs": 3, "onlineName": "\\udc80"', 1))
    before = state_of(profile)
    record = only_record(run(profile))
    assert record["status"] == "error" and "folderCache.json" in record["error"]
    assert state_of(profile) == before


def test_many_cached_folders_take_linear_time():
    """corpus: folder-cache/50000-entries — each cache entry was compared with
    every folder found so far (quadratic: about a minute for 50 000 entries)."""
    prefix = "/p/ImapMail/h/"
    cache = dict((prefix + "f%05d.msf" % i, {"flags": 4}) for i in range(40000))
    started = time.time()
    found = folders.account_folders("ImapMail/h", "/p", "/", [], cache, {})
    assert len(found) == 40000
    assert time.time() - started < 5


def test_a_failed_rename_leaves_the_profile_as_it_was(profile):
    """corpus: ownership/prefs-is-a-mount-point, disk-full/* — folderCache.json
    was replaced, then prefs.js failed: the profile was reported in error
    with one file changed, a temp file and backups left behind."""
    prefs_js = os.path.join(profile, "prefs.js")
    subprocess.run(["mount", "--bind", prefs_js, prefs_js], check=True)  # rename() over it: EBUSY
    before = state_of(profile)
    record = only_record(run(profile))
    assert record["status"] == "error" and "busy" in record["error"]
    assert state_of(profile) == before


def test_a_failed_backup_leaves_the_profile_as_it_was(profile):
    """corpus: ownership/prefs-group-user-not-in — the group of prefs.js cannot
    be kept by the user: folderCache.json had been replaced already."""
    os.chown(os.path.join(profile, "prefs.js"), OWNER, 0)
    before = state_of(profile)
    record = only_record(run(profile))
    assert record["status"] == "error"
    assert state_of(profile) == before


def planned_commit(path, stamp):
    from ansible_collections.rectorat.thunderbird.plugins.module_utils import plan
    snapshot = collect.collect(plan.collect_request(profile_paths=[path]))
    planned = plan.plan(snapshot, plan.Options(enforce=True, stamp=stamp))
    (entry,) = planned["commit"]["profiles"]
    return planned["commit"], entry


def test_a_backup_left_by_an_interrupted_run_is_reused(profile):
    """kill test: a run killed after writing its backups, run again in the
    same second, failed with "prefs.js.<stamp>.bak: File exists"."""
    request, _entry = planned_commit(profile, "20260101T000000Z")
    for name in ("prefs.js", "folderCache.json"):
        shutil.copy2(os.path.join(profile, name), os.path.join(profile, name + ".20260101T000000Z.bak"))
        os.chown(os.path.join(profile, name + ".20260101T000000Z.bak"), OWNER, OWNER)
    (outcome,) = commit.commit(request)["profiles"]
    assert outcome["status"] == "written", outcome["error"]
    assert sorted(outcome["backups"]) == ["folderCache.json.20260101T000000Z.bak", "prefs.js.20260101T000000Z.bak"]


def test_a_backup_name_holding_other_bytes_is_an_error(profile):
    request, _entry = planned_commit(profile, "20260101T000000Z")
    clash = os.path.join(profile, "prefs.js.20260101T000000Z.bak")
    with open(clash, "wb") as f:
        f.write(b"someone else's bytes\n")
    os.chown(clash, OWNER, OWNER)
    before = state_of(profile)
    (outcome,) = commit.commit(request)["profiles"]
    assert outcome["status"] == "error" and "holds other bytes" in outcome["error"]
    assert state_of(profile) == before


def test_temp_files_of_a_killed_run_are_removed(profile):
    """kill test: the temp files of a run killed before its renames stayed
    in the profile for good."""
    dead = subprocess.Popen(["true"])
    dead.wait()
    alive = subprocess.Popen(["sleep", "60"])
    try:
        names = [".prefs.js.rectorat-%d.tmp" % dead.pid,
                 ".folderCache.json.20260101T000000Z.bak.rectorat-%d.tmp" % dead.pid,
                 ".prefs.js.rectorat-%d.tmp" % alive.pid]
        for name in names:
            with open(os.path.join(profile, name), "wb") as f:
                f.write(b"half a fi")
            os.chown(os.path.join(profile, name), OWNER, OWNER)
        record = only_record(run(profile))
        assert record["status"] == "changed"
        assert [n for n in os.listdir(profile) if n.endswith(".tmp")] == [names[2]]
    finally:
        alive.kill()
        alive.wait()


def test_a_file_swapped_for_another_owners_is_refused(profile):
    """corpus: swap/prefs-hardlink-to-root-file-same-bytes — between collect
    and commit prefs.js becomes a hard link to a root-owned file with the
    same bytes: the guard passed and the write failed on fchown."""
    prefs_js = os.path.join(profile, "prefs.js")
    os.mkdir(os.path.join(os.path.dirname(profile), "root"))
    lure = os.path.join(os.path.dirname(profile), "root", "prefs-copy")
    shutil.copy(prefs_js, lure)

    def collect_then_swap(request):
        snapshot = collect.collect(request)
        os.unlink(prefs_js)
        os.link(lure, prefs_js)
        return snapshot
    before_lure = state_of(os.path.dirname(lure))
    result = workflow.run(dict(PARAMS, profiles=[profile]), enforce=True, check_mode=False,
                          collect_fn=collect_then_swap, commit_fn=commit.commit)
    record = only_record(result)
    assert record["status"] == "error"
    assert "prefs.js is now owned by uid 0" in record["error"]
    assert not [n for n in os.listdir(profile) if n.endswith((".bak", ".tmp"))]
    assert state_of(os.path.dirname(lure)) == before_lure


def test_commit_never_writes_with_euid_0_in_a_home(profile):
    """issue 13, finding 5: every call commit makes that can change a file
    (and every open) runs with the profile user's effective uid."""
    calls = []
    names = ("open", "write", "rename", "unlink", "fchown", "fchmod", "fsync", "mkdir")
    real = dict((name, getattr(os, name)) for name in names)

    def spy(name):
        def call(*args, **kw):
            calls.append((name, os.geteuid()))
            return real[name](*args, **kw)
        return call

    def commit_spied(request):
        for name in names:
            setattr(os, name, spy(name))
        try:
            return commit.commit(request)
        finally:
            for name in names:
                setattr(os, name, real[name])
    result = workflow.run(dict(PARAMS, profiles=[profile]), enforce=True, check_mode=False,
                          collect_fn=collect.collect, commit_fn=commit_spied)
    assert only_record(result)["status"] == "changed"
    assert ("rename", OWNER) in calls
    assert not [c for c in calls if c[1] != OWNER]


@pytest.fixture
def two_profiles():
    base = tempfile.mkdtemp(prefix="tbreg-", dir="/tmp")
    os.chmod(base, 0o755)
    paths = [sandbox.write_profile(os.path.join(base, name), [sandbox.imap("imap.ac-test.fr", "alice")])
             for name in ("a", "b")]
    for root, dirs, files in os.walk(base):
        for name in dirs + files:
            os.lchown(os.path.join(root, name), OWNER, OWNER)
    yield paths
    shutil.rmtree(base)


def test_memory_error_in_one_profile_plan_stays_in_it(two_profiles, monkeypatch):
    """issue 13, finding 1: a MemoryError in one profile ended the module
    ("Module failed", no facts, the host's later profiles skipped)."""
    from ansible_collections.rectorat.thunderbird.plugins.module_utils import plan
    real = plan.plan_profile

    def plan_profile(snap, *args):
        if snap["path"] == two_profiles[0]:
            raise MemoryError()
        return real(snap, *args)
    monkeypatch.setattr(plan, "plan_profile", plan_profile)
    result = workflow.run(dict(PARAMS, profiles=two_profiles), enforce=True, check_mode=False,
                          collect_fn=collect.collect, commit_fn=commit.commit)
    first, second = result["ansible_facts"]["thunderbird"]["profiles"]
    assert first["status"] == "error" and "MemoryError" in first["error"]
    assert second["status"] == "changed"


def test_memory_error_in_one_profile_commit_stays_in_it(two_profiles, monkeypatch):
    real = commit.apply_writes

    def apply_writes(dir_fd, writes, current, *args):
        if os.path.samestat(os.fstat(dir_fd), os.stat(two_profiles[0])):
            raise MemoryError()
        return real(dir_fd, writes, current, *args)
    monkeypatch.setattr(commit, "apply_writes", apply_writes)
    before = state_of(two_profiles[0])
    result = workflow.run(dict(PARAMS, profiles=two_profiles), enforce=True, check_mode=False,
                          collect_fn=collect.collect, commit_fn=commit.commit)
    first, second = result["ansible_facts"]["thunderbird"]["profiles"]
    assert first["status"] == "error" and "MemoryError" in first["error"]
    assert second["status"] == "changed"
    assert state_of(two_profiles[0]) == before
