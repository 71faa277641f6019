"""Acceptance test of rectorat.thunderbird.thunderbird_offline with the real
Thunderbird: a profile that Thunderbird already synced with "keep messages
on this computer" off must, after the module ran, get every body of its
folders (Trash and Junk excepted) on disk at the next Thunderbird start.
"""

import json
import os
import subprocess
import sys

import pytest

import tbharness as h

# One dovecot on fixed ports per module: under xdist keep these tests together
# (--dist loadgroup), or run this file without -n.
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("thunderbird-e2e")]

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULE_FILE = os.path.join(REPO, "plugins", "modules", "thunderbird_offline.py")
KEPT_FOLDERS = ("INBOX", "Projets/2026", "Élèves")
BODY_TIMEOUT = 90      # s; measured: ~12 s from start on an idle machine once folders are flagged
CONTROL_WAIT = 25      # s at least that the negative control gets to (wrongly) download bodies
SECONDS_TO_BODIES = []  # what the positive runs of this module took

PLAYBOOK = """\
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Keep every IMAP folder of the profile offline
      rectorat.thunderbird.thunderbird_offline:
        profiles:
          - "{{ tb_profile }}"
      register: offline_result

    - name: Hand the module result to the test
      ansible.builtin.copy:
        content: "{{ offline_result | to_json }}"
        dest: "{{ result_file }}"
        mode: "0600"
"""


def ansible_playbook_bin():
    for candidate in (os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
                      os.path.join(REPO, ".venv", "bin", "ansible-playbook")):
        if os.access(candidate, os.X_OK):
            return candidate
    pytest.fail("ansible-playbook not found next to %s nor in %s/.venv" % (sys.executable, REPO))


def collections_path(workdir):
    """RECTORAT_COLLECTIONS_PATH (an installed copy) or a symlink to this checkout."""
    preset = os.environ.get("RECTORAT_COLLECTIONS_PATH")
    if preset:
        return preset
    root = os.path.join(workdir, "collections")
    link = os.path.join(root, "ansible_collections", "rectorat", "thunderbird")
    if not os.path.islink(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(REPO, link)
    return root


def run_module(workdir, profile, tag):
    if not os.path.exists(MODULE_FILE) and not os.environ.get("RECTORAT_COLLECTIONS_PATH"):
        pytest.fail("the module under test does not exist: %s" % MODULE_FILE)
    playbook = os.path.join(workdir, "offline.yml")
    with open(playbook, "w") as f:
        f.write(PLAYBOOK)
    result_file = os.path.join(workdir, "result-%s.json" % tag)
    env = dict(os.environ,
               ANSIBLE_COLLECTIONS_PATH=collections_path(workdir),
               ANSIBLE_LOCAL_TEMP=os.path.join(workdir, "ansible-tmp"),
               ANSIBLE_HOME=os.path.join(workdir, "ansible-home"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0")
    proc = subprocess.run(
        [ansible_playbook_bin(), "-i", "localhost,", playbook,
         "-e", json.dumps({"tb_profile": profile, "result_file": result_file,
                           "ansible_python_interpreter": sys.executable})],
        env=env, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        universal_newlines=True, timeout=180, check=False)
    assert proc.returncode == 0, "ansible-playbook failed:\n" + proc.stdout
    with open(result_file) as f:
        return json.load(f)


def synced_profile(server, workdir, name, kill=False):
    """A profile Thunderbird has synced with offline_download=false."""
    profile = h.make_profile(os.path.join(workdir, name), server.port, False)
    h.sync_profile(profile, kill=kill)
    bodies = h.bodies_on_disk(profile)
    assert set(h.FOLDERS) <= set(bodies), "folders not all known: %s" % sorted(bodies)
    assert sum(bodies.values()) == 0, "bodies on disk before the module: %s" % bodies
    has_cache = h.read_folder_cache(profile) is not None
    assert has_cache is not kill, "folderCache.json %s after a %s quit" % (
        "present" if has_cache else "missing", "killed" if kill else "orderly")
    return profile


def control_wait():
    """Twice what the slowest positive run took here, so a loaded machine does
    not make the negative control pass for want of time."""
    return max([CONTROL_WAIT] + [2 * s for s in SECONDS_TO_BODIES])


def start_and_collect(server, profile, wait_all):
    """Start Thunderbird, wait for the kept folders' bodies (or ``control_wait()``)."""
    expected = {f: server.message_count(f) for f in KEPT_FOLDERS}
    tb = h.Thunderbird(profile)
    with tb:
        if tb.wait_for(h.bodies_reached(profile, expected),
                       BODY_TIMEOUT if wait_all else control_wait()):
            SECONDS_TO_BODIES.append(tb.elapsed())
        tb.wait_idle(quiet=2, timeout=15)
    assert tb.how_ended == "orderly", "Thunderbird had to be killed at the end of the run"
    return h.bodies_on_disk(profile), expected


def offline_flag(entry):
    return bool(entry["flags"] & h.OFFLINE_FLAG)


def assert_special_folders_unflagged(profile):
    entries = h.imap_cache_entries(profile)
    for folder in h.SPECIAL_FOLDERS:
        if folder in entries:
            assert not offline_flag(entries[folder]), "%s was flagged offline" % folder


def report(profile, bodies, expected):
    h.FIGURES.append("%s: bodies on disk %s" % (os.path.basename(profile), ", ".join(
        "%s %d/%d" % (f, bodies.get(f, 0), n) for f, n in sorted(expected.items()))))


def assert_all_bodies_kept(server, profile):
    bodies, expected = start_and_collect(server, profile, wait_all=True)
    report(profile, bodies, dict(expected, **dict((f, 0) for f in h.SPECIAL_FOLDERS)))
    for folder, count in expected.items():
        assert bodies.get(folder) == count, "%s: %s of %d bodies on disk (all: %s)" % (
            folder, bodies.get(folder), count, bodies)
    for folder in h.SPECIAL_FOLDERS:
        assert bodies.get(folder, 0) == 0, "%s bodies were downloaded: %s" % (folder, bodies)
    # What Thunderbird itself wrote back at its orderly quit keeps the flags.
    entries = h.imap_cache_entries(profile)
    for folder in KEPT_FOLDERS:
        assert offline_flag(entries[folder]), "%s lost its offline flag" % folder
    assert_special_folders_unflagged(profile)


def test_module_flags_folders_of_an_orderly_synced_profile(imap_server, e2e_dir):
    profile = synced_profile(imap_server, e2e_dir, "orderly")

    result = run_module(e2e_dir, profile, "orderly-1")
    assert result["changed"] is True, result
    assert "thunderbird" in result.get("ansible_facts", {}), result
    assert_special_folders_unflagged(profile)
    again = run_module(e2e_dir, profile, "orderly-2")
    assert again["changed"] is False, "second run not idempotent: %s" % again

    assert_all_bodies_kept(imap_server, profile)


def test_module_flags_folders_after_a_killed_session(imap_server, e2e_dir):
    profile = synced_profile(imap_server, e2e_dir, "killed", kill=True)

    result = run_module(e2e_dir, profile, "killed-1")
    assert result["changed"] is True, result

    assert_all_bodies_kept(imap_server, profile)


def test_negative_control_without_the_module(imap_server, e2e_dir):
    """Same profile state, only the pref switched by hand: no body comes down,
    so the bodies seen above are the module's doing (folder flags included)."""
    profile = synced_profile(imap_server, e2e_dir, "control")
    h.set_pref(profile, "mail.server.server1.offline_download", True)

    bodies, expected = start_and_collect(imap_server, profile, wait_all=False)
    report(profile, bodies, expected)

    assert sum(bodies.values()) == 0, "bodies downloaded without the module: %s" % bodies
