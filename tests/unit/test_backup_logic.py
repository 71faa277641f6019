"""The pure decisions of backup and restore (backup.py, restore.py)."""

import os
import socket

import pytest

from ansible_collections.rectorat.thunderbird.plugins.module_utils import backup as bk
from ansible_collections.rectorat.thunderbird.plugins.module_utils import profiles as prof
from ansible_collections.rectorat.thunderbird.plugins.module_utils import restore as rs


@pytest.mark.parametrize("rel, excluded", [
    ("prefs.js", False), ("logins.json", False), ("key4.db", False), ("Mail/Local Folders/Inbox", False),
    ("cache2/entries/AB", True), ("startupCache/x", True), ("crashes/a.dmp", True), ("minidumps/b", True),
    (".parentlock", True), ("lock", True), ("Mail/lock", True), ("Mail/cache2", False),
    (bk.MANIFEST_MEMBER, True),
])
def test_what_an_archive_leaves_out(rel, excluded):
    assert bk.is_excluded(rel) is excluded


@pytest.mark.parametrize("name, folder", [
    ("default-release", "default-release"), ("a/b", "a_b"), ("..", "___"), ("", "_"), ("Élève", "Élève"),
    ("c:\\x", "c__x"),
])
def test_folder_names_never_leave_dest(name, folder):
    assert bk.safe_component(name) == folder


def test_retention_keeps_the_newest_and_the_newest_good():
    archives = {"20260101T000000Z": True, "20260102T000000Z": True, "20260103T000000Z": True,
                "20260104T000000Z": True}
    assert bk.retention_plan(archives, 3) == ["20260101T000000Z"]
    assert bk.retention_plan(archives, 1) == ["20260103T000000Z", "20260102T000000Z", "20260101T000000Z"]
    # Newer broken archives never push the newest good one out.
    broken = {"20260105T000000Z": False, "20260104T000000Z": False, "20260103T000000Z": True,
              "20260102T000000Z": True}
    assert bk.retention_plan(broken, 1) == ["20260105T000000Z", "20260104T000000Z", "20260102T000000Z"]
    assert "20260103T000000Z" not in bk.retention_plan(broken, 2)
    assert bk.retention_plan({}, 3) == []


def test_unchanged_compares_path_size_and_mtime():
    files = [{"path": "prefs.js", "size": 3, "mtime_ns": 5, "sha256": "x"}]
    manifest = bk.build_manifest({"name": "p"}, files, "20260101T000000Z")
    assert bk.unchanged([dict(path="prefs.js", size=3, mtime_ns=5)], manifest)
    assert not bk.unchanged([dict(path="prefs.js", size=3, mtime_ns=6)], manifest)
    assert not bk.unchanged([dict(path="prefs.js", size=3, mtime_ns=5), dict(path="x", size=0, mtime_ns=0)],
                            manifest)
    assert not bk.unchanged([], None)


@pytest.mark.parametrize("name", ["../x", "a/../../x", "/etc/passwd", "C:/x", "a\\b", "", "a//b", "./a", "a\x00"])
def test_member_names_that_leave_the_profile_are_refused(name):
    assert bk.member_problem(name)


def test_manifest_round_trip_and_refusals():
    manifest = bk.build_manifest({"name": "p"}, [{"path": "a", "size": 1, "mtime_ns": 1, "sha256": "0" * 64}], "s")
    assert bk.parse_manifest(bk.manifest_bytes(manifest))["files"][0]["path"] == "a"
    with pytest.raises(bk.BadManifest):
        bk.parse_manifest(b"{}")
    manifest["files"][0]["path"] = "../a"
    with pytest.raises(bk.BadManifest):
        bk.parse_manifest(bk.manifest_bytes(manifest))


def test_imap_online_only_lists_imap_accounts_not_backup_ready():
    accounts = [{"type": "imap", "backup_ready": False, "email": "a@x"}, {"type": "imap", "backup_ready": True},
                {"type": "pop3", "backup_ready": True, "email": "p@x"}]
    assert bk.imap_online_only(accounts) == ["a@x"]


def test_registration_in_a_new_root():
    ini, installs = rs.registered(None, None, "default", "default", True)
    entries = prof.read_profiles_ini(ini)[0]
    assert [(e.name, e.path, e.legacy_default) for e in entries] == [("default", "default", True)]
    assert installs is None
    again = rs.registered(ini, None, "default", "default", True)[0]
    assert again == ini


def test_registration_next_to_other_profiles_and_installs():
    ini = (b"[General]\nStartWithLastProfile=1\nVersion=2\n\n[Profile0]\nName=old\nIsRelative=1\nPath=x.old\n"
           b"Default=1\n\n[InstallABC]\nDefault=x.old\nLocked=1\n")
    installs = b"[ABC]\nDefault=x.old\nLocked=1\n"
    new_ini, new_installs = rs.registered(ini, installs, "restored", "restored", True)
    entries, install_defaults = prof.read_profiles_ini(new_ini)
    assert [(e.name, e.legacy_default) for e in entries] == [("old", False), ("restored", True)]
    assert install_defaults == {"restored"}
    assert dict(prof.parse_ini(new_installs))["ABC"] == {"Default": "restored", "Locked": "1"}
    kept_ini, kept_installs = rs.registered(ini, installs, "restored", "restored", False)
    assert prof.read_profiles_ini(kept_ini)[1] == {"x.old"} and dict(prof.parse_ini(kept_installs)) == dict(prof.parse_ini(installs))


def test_target_folder_reuses_the_named_profile():
    ini = b"[Profile0]\nName=default\nIsRelative=1\nPath=abcd.default\n"
    assert rs.target_folder(ini, "default") == "abcd.default"
    assert rs.target_folder(ini, "other") == "other"
    assert rs.target_folder(b"[Profile0]\nName=x\nIsRelative=1\nPath=../../etc\n", "x") == "x"


def test_archives_of_another_host_are_not_ours():
    manifest = bk.build_manifest({"name": "p", "host": "poste-01"}, [], "s")
    assert bk.made_elsewhere(manifest, "poste-02")
    assert not bk.made_elsewhere(manifest, "poste-01")
    assert not bk.made_elsewhere(bk.build_manifest({"name": "p"}, [], "s"), "poste-02")


def remove_stale_temps_among(folder, names):
    """archive_io.remove_stale_temps in ``folder`` holding ``names``."""
    from ansible_collections.rectorat.thunderbird.plugins.module_utils import archive_io
    for name in names:
        (folder / name).write_bytes(b"x")
    fd = os.open(str(folder), os.O_RDONLY)
    try:
        return archive_io.remove_stale_temps(fd)
    finally:
        os.close(fd)


def test_stale_temps_keep_the_manifest_of_a_run_still_in_progress(tmp_path):
    """A live run's temp zip and its manifest (renamed before the zip) stay;
    a dead run's temp and an orphan manifest go."""
    live, dead = "20261206T101010Z", "20261206T090909Z"
    names = [bk.temp_name(bk.archive_name(live), os.getpid(), socket.gethostname()), "%s.manifest.json" % live,
             bk.temp_name(bk.archive_name(dead), 999999999, socket.gethostname()), "%s.manifest.json" % dead]
    removed = remove_stale_temps_among(tmp_path, names)
    assert sorted(removed) == sorted(names[2:])
    assert sorted(os.listdir(str(tmp_path))) == sorted(names[:2])


def test_stale_temps_of_another_host_sharing_the_dest_are_left_alone(tmp_path):
    """Cloned workstations (same users, same profile names) write into the
    same dest folder: a temp file of another host is a live run there, its
    pid means nothing here, and the manifest it renamed first stays too."""
    theirs, old = "20261206T101010Z", "20261206T090909Z"
    names = [bk.temp_name(bk.archive_name(theirs), 999999999, "poste-clone-02"), "%s.manifest.json" % theirs,
             ".%s.zip.rectorat-999999999.tmp" % old]  # an earlier run's name, without a host: ours
    removed = remove_stale_temps_among(tmp_path, names)
    assert removed == [names[2]]
    assert sorted(os.listdir(str(tmp_path))) == sorted(names[:2])


def test_host_tag_keeps_temp_names_to_one_path_component():
    assert bk.host_tag("poste-01.ac-exemple.fr") == "poste-01.ac-exemple.fr"
    assert bk.host_tag("a/b c") == "a_b_c"
    assert bk.host_tag("") == "host"
