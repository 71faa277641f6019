"""The how-to end to end with the real Thunderbird: an IMAP account synced
online-only, thunderbird_offline, Thunderbird downloads, the backup role
archives the profile (a second run is unchanged), the mail server is stopped
and the original home deleted, thunderbird_restore puts the archive in a new
user's home, and Thunderbird started there, with no server and no
``--profile``, reads every message body of every kept folder (nested and
non-ASCII ones) and of a POP account's local Inbox, counted by itself over
Marionette.
"""

import glob
import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

import backup_e2e_lib as lib
import tbharness as h
from playbook import run_playbook

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("thunderbird-e2e")]

KEPT_FOLDERS = ("INBOX", "Projets/2026", "Élèves")
POP_MESSAGES = 4


def offline_play(user):
    return [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "offline", "rectorat.thunderbird.thunderbird_offline": {"users": [user]}}]}]


def backup_play(user, dest, report_dir, check=False):
    return [{"hosts": "localhost", "gather_facts": False, "check_mode": check, "tasks": [
        {"name": "backup", "ansible.builtin.include_role": {"name": "rectorat.thunderbird.thunderbird_backup"},
         "vars": {"thunderbird_backup_users": [user], "thunderbird_backup_dest": dest,
                  "thunderbird_backup_report_dir": report_dir}}]}]


def restore_play(src, user):
    return [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "restore", "rectorat.thunderbird.thunderbird_restore": {"src": src, "user": user}}]}]


def backup_result(run):
    found = [r["result"] for r in run.results if r["task"].endswith("Archive every Thunderbird profile of the host")]
    assert found, run.stdout + run.stderr
    result = found[-1]
    assert len(result["profiles"]) == 1, result
    return result, result["profiles"][0]


def markers_by_folder(rows):
    out = {}
    for row in rows:
        assert not row["errors"], "Thunderbird could not read %s: %s" % (row["uri"], row["errors"][:5])
        out[(row["type"], h.decode_mutf7(row["name"]))] = (row["total"], set(row["markers"]))
    return out


@pytest.fixture
def users():
    made = [lib.create_user("tbh9_src"), lib.create_user("tbh9_dst")]
    yield made
    for user in made:
        lib.remove_user(user.pw_name)


def test_backup_restore_how_to(imap_server, users, tmp_path):
    src, dst = users
    dest = str(tmp_path / "backups")
    os.makedirs(dest)
    report_dir = str(tmp_path / "report")
    profile = h.make_profile_root(os.path.join(src.pw_dir, ".thunderbird"), imap_server.port, False,
                                  extra_prefs=lib.POP_PREFS)
    pop_markers = lib.add_pop_mail(profile, POP_MESSAGES)
    lib.chown_tree(src.pw_dir, src.pw_uid, src.pw_gid)

    # 1. The account is synced online-only: headers, no body.
    with lib.UserThunderbird(profile, src) as tb:
        assert tb.wait_for(h.all_folders_listed(profile), 60), sorted(h.msf_folders(profile))
        tb.wait_idle(quiet=3, timeout=60)
        lib.read_every_body(tb)  # Thunderbird builds the POP Inbox's summary
    assert sum(h.bodies_on_disk(profile).get(f, 0) for f in KEPT_FOLDERS) == 0
    check = run_playbook(tmp_path, backup_play(src.pw_name, dest, report_dir, check=True), "--check")
    assert check.rc == 0, check.stdout + check.stderr
    entry = backup_result(check)[1]
    assert entry["status"] == "backed_up" and entry["imap_online_only"] == ["alice@example.test"], entry
    assert os.listdir(dest) == [], "check mode wrote into dest"

    # 2. thunderbird_offline, then Thunderbird downloads every body.
    run = run_playbook(tmp_path, offline_play(src.pw_name))
    assert run.rc == 0 and run.result("offline")["changed"], run.stdout + run.stderr
    expected = dict((f, imap_server.message_count(f)) for f in KEPT_FOLDERS)
    with lib.UserThunderbird(profile, src) as tb:
        assert tb.wait_for(h.bodies_reached(profile, expected), 90), h.bodies_on_disk(profile)
        tb.wait_idle(quiet=2, timeout=30)
    assert tb.how_ended == "orderly"
    server_markers = dict((f, set(m.decode() for m in imap_server.markers(f))) for f in KEPT_FOLDERS)

    # 3. The backup role archives it; a second run is unchanged.
    first = run_playbook(tmp_path, backup_play(src.pw_name, dest, report_dir))
    assert first.rc == 0, first.stdout + first.stderr
    result, entry = backup_result(first)
    assert result["changed"] and entry["status"] == "backed_up", entry
    assert entry["imap_online_only"] == [], entry
    archive = entry["archive"]
    assert os.path.isfile(archive) and os.path.getsize(archive) == entry["bytes"]
    second = run_playbook(tmp_path, backup_play(src.pw_name, dest, report_dir))
    assert second.rc == 0, second.stdout + second.stderr
    result, entry = backup_result(second)
    assert not result["changed"] and entry["status"] == "unchanged" and entry["archive"] == archive, entry
    assert glob.glob(os.path.join(os.path.dirname(archive), "*.zip")) == [archive]
    with open(os.path.join(report_dir, "thunderbird_backup.csv"), encoding="utf-8") as f:
        assert "unchanged" in f.read()

    # 4. The server is gone, and so is the original home.
    imap_server.stop()
    lib.remove_user(src.pw_name)
    assert not os.path.exists(src.pw_dir)

    # 5. Restore into a new user's home; a second restore changes nothing.
    run = run_playbook(tmp_path, restore_play(archive, dst.pw_name))
    assert run.rc == 0, run.stdout + run.stderr
    restored = run.result("restore")
    assert restored["changed"] and restored["status"] == "restored", restored
    again = run_playbook(tmp_path, restore_play(archive, dst.pw_name))
    assert again.rc == 0 and again.result("restore")["changed"] is False, again.stdout
    target = restored["path"]
    for root, dirs, files in os.walk(target):
        for name in dirs + files:
            assert os.lstat(os.path.join(root, name)).st_uid == dst.pw_uid, os.path.join(root, name)

    # 6. Thunderbird opens it by itself (no --profile), no server, and reads every body.
    # -offline: with the server gone, an online start raises a modal "cannot connect"
    # alert that holds the main window (and Marionette) until someone clicks it.
    with lib.UserThunderbird(target, dst, pass_profile=False, extra_args=["-offline"]) as tb:
        tb.wait_idle(quiet=2, timeout=30)
        rows = lib.read_every_body(tb)
    assert tb.how_ended == "orderly"
    seen = markers_by_folder(rows)
    h.FIGURES.append("backup e2e: bodies read by Thunderbird after restore: " + json.dumps(
        dict(("%s %s" % k, len(v[1])) for k, v in seen.items()), ensure_ascii=False, sort_keys=True))
    for folder in KEPT_FOLDERS:
        total, markers = seen[("imap", folder.rsplit("/", 1)[-1])]
        assert markers == server_markers[folder] and total == expected[folder], (folder, total, sorted(markers))
    total, markers = seen[("pop3", "Inbox")]
    assert total == POP_MESSAGES and markers == pop_markers, (total, markers)

    # 7. Thunderbird's own profile import (zip under 2 GB) takes the archive too.
    zip_copy = os.path.join(dst.pw_dir, "archive.zip")
    shutil.copy(archive, zip_copy)
    os.chown(zip_copy, dst.pw_uid, dst.pw_gid)
    fresh = lib.empty_profile(os.path.join(dst.pw_dir, "import-test"), dst)
    with lib.UserThunderbird(fresh, dst, extra_args=["-offline"]) as tb:
        tb.wait_idle(quiet=2, timeout=30)
        outcome = lib.thunderbird_import(tb, zip_copy)
    assert tb.how_ended == "orderly" and outcome["restart"] is True, outcome
    # The importer asks for a restart before the imported accounts are used.
    with lib.UserThunderbird(fresh, dst, extra_args=["-offline"]) as tb:
        tb.wait_idle(quiet=2, timeout=30)
        rows = lib.read_every_body(tb)
    assert tb.how_ended == "orderly"
    imported = markers_by_folder(rows)
    h.FIGURES.append("backup e2e: Thunderbird's import of the zip (%d entries): %s" % (outcome["entries"], json.dumps(
        dict(("%s %s" % k, len(v[1])) for k, v in imported.items()), ensure_ascii=False, sort_keys=True)))
    for folder in KEPT_FOLDERS:
        assert imported[("imap", folder.rsplit("/", 1)[-1])][1] == server_markers[folder], folder
    assert imported[("pop3", "Inbox")][1] == pop_markers


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-v"]))


# archive_io.backup_profile in a process of its own, each file read slowly,
# so that Thunderbird can be started while the archive is being written.
SLOW_BACKUP = r"""
import json, sys, time
from ansible_collections.rectorat.thunderbird.plugins.module_utils import archive_io
real = archive_io.add_file
def slow(*args, **kw):
    out = real(*args, **kw)
    sys.stdout.write("file\n"); sys.stdout.flush()
    time.sleep(1.5)
    return out
archive_io.add_file = slow
print(json.dumps(archive_io.backup_profile(json.loads(sys.argv[1]), sys.argv[2], 3, False)), flush=True)
"""


def test_thunderbird_cannot_start_during_a_backup(e2e_tools, users, tmp_path):
    """The real Thunderbird, started while the module reads the profile,
    finds the profile locked and leaves; once the backup ended it starts."""
    user = users[0]
    profile = h.make_profile(os.path.join(user.pw_dir, "busy.default"), 9, True,
                             extra_prefs={"mail.server.server1.login_at_startup": False})
    for name in ("a", "b", "c", "d"):
        with open(os.path.join(profile, name + ".dat"), "wb") as f:
            f.write(os.urandom(1 << 20))
    lib.chown_tree(user.pw_dir, user.pw_uid, user.pw_gid)
    dest = str(tmp_path / "dest")
    os.makedirs(dest)
    entry = {"path": profile, "home": user.pw_dir, "uid": user.pw_uid, "gid": user.pw_gid,
             "user": user.pw_name, "name": "busy"}
    collections = os.environ["ANSIBLE_COLLECTIONS_PATH"].split(os.pathsep)[0]
    backup = subprocess.Popen([sys.executable, "-c", SLOW_BACKUP, json.dumps(entry), dest], stdout=subprocess.PIPE,
                              text=True, env=dict(os.environ, PYTHONPATH=collections))
    assert backup.stdout.readline().strip() == "file"
    tb = lib.UserThunderbird(profile, user, start_timeout=30)
    with pytest.raises(RuntimeError, match="exited early"):
        tb.start()
    with open(tb.output_path, encoding="utf-8", errors="replace") as f:
        assert "already running" in f.read()
    assert not os.path.exists(os.path.join(profile, "MarionetteActivePort"))
    outcome = json.loads(backup.stdout.read().strip().splitlines()[-1])
    assert backup.wait() == 0 and outcome["status"] == "backed_up", outcome
    with zipfile.ZipFile(outcome["archive"]) as zf:
        assert zf.testzip() is None and "a.dat" in zf.namelist()
    # Control: with the backup over, the same start succeeds.
    with lib.UserThunderbird(profile, user) as tb:
        tb.wait_idle(quiet=1, timeout=20)
    assert tb.how_ended == "orderly"
