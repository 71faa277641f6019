"""thunderbird_info / thunderbird_offline through a real ansible-playbook on
localhost, against sandbox profiles on disk."""

import json
import os
import pwd
import shutil
import subprocess
import tempfile

import pytest

import sandbox
from treestate import tree_state
from playbook import run_playbook

OWNER = 4242


@pytest.fixture
def home():
    """A home folder owned by an unprivileged uid, reachable by it."""
    base = tempfile.mkdtemp(prefix="tb-it-", dir="/tmp")
    os.chmod(base, 0o755)
    home = os.path.join(base, "home")
    os.mkdir(home)
    yield home
    shutil.rmtree(base)


def chown_tree(path, uid=OWNER, gid=OWNER):
    for root, dirs, files in os.walk(path):
        os.lchown(root, uid, gid)
        for name in files:
            os.lchown(os.path.join(root, name), uid, gid)


def fleet(home):
    """Root with profiles.ini: one IMAP online-only + POP, one IMAP offline."""
    root = os.path.join(home, ".thunderbird")
    first = sandbox.write_profile(os.path.join(root, "aaaa.default-esr"), [
        sandbox.imap("imap.ac-test.fr", "alice", offline=False, socket=0),
        sandbox.pop("pop.ac-test.fr", "alice.pop")])
    second = sandbox.write_profile(os.path.join(root, "bbbb.travail"), [
        sandbox.imap("imap.ac-test.fr", "alice", offline=True)])
    sandbox.write_profiles_ini(root, ["aaaa.default-esr", "bbbb.travail"], default="aaaa.default-esr")
    os.chmod(os.path.join(first, "prefs.js"), 0o640)
    chown_tree(home)
    return root, first, second


def offline_play(paths, **options):
    args = dict(profiles=paths, **options)
    return [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "enforce", "rectorat.thunderbird.thunderbird_offline": args, "register": "r"}]}]


def info_play(paths):
    return [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "info", "rectorat.thunderbird.thunderbird_info": {"profiles": paths}}]}]


def profiles_of(result):
    return dict((os.path.basename(p["path"]), p) for p in result["ansible_facts"]["thunderbird"]["profiles"])


def test_info_reports_every_account(tmp_path, home):
    root, first, second = fleet(home)
    before = tree_state(home)
    run = run_playbook(tmp_path, info_play([root]))
    assert run.rc == 0, run.stdout + run.stderr
    facts = run.result("info")["ansible_facts"]["thunderbird"]
    profiles = profiles_of(run.result("info"))
    assert set(profiles) == {"aaaa.default-esr", "bbbb.travail"}
    p1 = profiles["aaaa.default-esr"]
    assert p1["default"] is True and profiles["bbbb.travail"]["default"] is False
    assert p1["name"] == "default-esr" and p1["version"] == "153.8.0" and p1["error"] is None
    imap, pop, local = p1["accounts"]
    assert (imap["type"], pop["type"], local["type"]) == ("imap", "pop3", "none")
    assert imap["hostname"] == "imap.ac-test.fr" and imap["port"] == 143
    assert imap["socket_type"] == "plain" and imap["password_exposed"] is True
    assert imap["offline_download"] is False and imap["backup_ready"] is False
    assert (imap["folders_total"], imap["folders_offline"]) == (4, 0)
    assert sorted(imap["folders_not_offline"]) == ["Drafts", "INBOX", "Projets/2026", "Sent"]
    assert pop["backup_ready"] is True and pop["port"] == 995 and pop["store_bytes"] > 0
    ready = profiles["bbbb.travail"]["accounts"][0]
    assert ready["backup_ready"] is True and (ready["folders_total"], ready["folders_offline"]) == (4, 4)
    assert facts["summary"]["imap"] == 2 and facts["summary"]["imap_backup_ready"] == 1
    assert facts["summary"]["password_exposed"] == 1
    assert tree_state(home) == before


def test_check_mode_changes_no_byte_and_reports(tmp_path, home):
    root, first, second = fleet(home)
    before = tree_state(home)
    run = run_playbook(tmp_path, offline_play([root]), "--check", "--diff")
    assert run.rc == 0, run.stdout + run.stderr
    assert tree_state(home) == before
    result = run.result("enforce")
    assert result["changed"] is True
    p1 = profiles_of(result)["aaaa.default-esr"]
    assert p1["status"] == "changed"
    assert "mail.server.server1.offline_download = true" in p1["changes"]
    assert profiles_of(result)["bbbb.travail"]["status"] == "unchanged"
    assert '+user_pref("mail.server.server1.offline_download", true);' in run.stdout
    assert '-user_pref("mail.server.server1.offline_download", false);' in run.stdout


def test_apply_then_second_run_changes_nothing(tmp_path, home):
    root, first, second = fleet(home)
    untouched = tree_state(second)
    prefs_before = open(os.path.join(first, "prefs.js"), "rb").read()
    run = run_playbook(tmp_path, offline_play([root]))
    assert run.rc == 0, run.stdout + run.stderr
    assert run.recap()["changed"] == 1
    p1 = profiles_of(run.result("enforce"))["aaaa.default-esr"]
    assert p1["status"] == "changed"
    imap = p1["accounts"][0]
    assert imap["backup_ready"] is True and imap["folders_offline"] == 4
    assert imap["before"]["backup_ready"] is False and imap["before"]["folders_offline"] == 0

    prefs_after = open(os.path.join(first, "prefs.js"), "rb").read()
    assert prefs_after == prefs_before.replace(
        b'user_pref("mail.server.server1.offline_download", false);',
        b'user_pref("mail.server.server1.offline_download", true);')
    st = os.stat(os.path.join(first, "prefs.js"))
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (OWNER, OWNER, 0o640)
    cache = json.load(open(os.path.join(first, "folderCache.json")))
    flags = dict((os.path.basename(k), v["flags"]) for k, v in cache.items())
    assert all(flags[n] & sandbox.OFFLINE for n in ("INBOX.msf", "Sent.msf", "Drafts.msf", "2026.msf"))
    assert not flags["Trash.msf"] & sandbox.OFFLINE and not flags["Junk.msf"] & sandbox.OFFLINE
    backups = sorted(n for n in os.listdir(first) if n.endswith(".bak"))
    assert [b.split(".")[0] for b in backups] == ["folderCache", "prefs"]
    assert open(os.path.join(first, [b for b in backups if b.startswith("prefs")][0]), "rb").read() == prefs_before
    assert os.stat(os.path.join(first, backups[1])).st_uid == OWNER
    assert not [n for n in os.listdir(first) if n.endswith(".tmp")]
    assert tree_state(second) == untouched

    again = tree_state(home)
    run2 = run_playbook(tmp_path, offline_play([root]))
    assert run2.rc == 0 and run2.recap()["changed"] == 0, run2.stdout
    assert all(p["status"] == "unchanged" for p in profiles_of(run2.result("enforce")).values())
    assert tree_state(home) == again


def test_user_js_value_is_changed_too(tmp_path, home):
    profile = sandbox.write_profile(os.path.join(home, "p"), [sandbox.imap("h.fr", "u", offline=None)],
                                    user_js='user_pref("mail.server.default.offline_download", false);\n'
                                            'user_pref("mail.server.server1.offline_download", false);\n')
    chown_tree(home)
    run = run_playbook(tmp_path, offline_play([profile]))
    assert run.rc == 0, run.stdout
    user_js = open(os.path.join(profile, "user.js")).read()
    assert 'user_pref("mail.server.server1.offline_download", true);' in user_js
    assert 'user_pref("mail.server.default.offline_download", false);' in user_js
    facts = profiles_of(run.result("enforce"))["p"]["accounts"][0]
    assert facts["offline_download"] is True and facts["backup_ready"] is True


def test_age_and_size_options(tmp_path, home):
    profile = sandbox.write_profile(os.path.join(home, "p"), [sandbox.imap(
        "h.fr", "u", offline=True, autosync_max_age_days=30, limit_offline_message_size=True)])
    chown_tree(home)
    run = run_playbook(tmp_path, offline_play([profile]))
    acct = profiles_of(run.result("enforce"))["p"]["accounts"][0]
    assert (acct["sync_age_days"], acct["size_limit_kb"], acct["backup_ready"]) == (None, None, True)
    assert acct["before"]["sync_age_days"] == 30 and acct["before"]["size_limit_kb"] == 50
    run = run_playbook(tmp_path, offline_play([profile], sync_age_days=365, size_limit_kb=10240))
    acct = profiles_of(run.result("enforce"))["p"]["accounts"][0]
    assert (acct["sync_age_days"], acct["size_limit_kb"], acct["backup_ready"]) == (365, 10240, False)
    run = run_playbook(tmp_path, offline_play([profile], sync_age_days=365, size_limit_kb=10240))
    assert run.recap()["changed"] == 0


def test_servers_option_limits_the_accounts_changed(tmp_path, home):
    profile = sandbox.write_profile(os.path.join(home, "p"), [
        sandbox.imap("imap.ac-test.fr", "a"), sandbox.imap("imap.gmail.test", "b")])
    chown_tree(home)
    run = run_playbook(tmp_path, offline_play([profile], servers=["IMAP.AC-TEST.FR"]))
    a, b, _local = profiles_of(run.result("enforce"))["p"]["accounts"]
    assert a["backup_ready"] is True and "before" in a
    assert b["backup_ready"] is False and "before" not in b


def test_broken_prefs_is_an_error_and_other_profiles_proceed(tmp_path, home):
    root, first, second = fleet(home)
    broken = os.path.join(root, "cccc.casse")
    sandbox.write_profile(broken, [sandbox.imap("imap.ac-test.fr", "alice")])
    with open(os.path.join(broken, "prefs.js"), "ab") as f:
        f.write(b'user_pref("mail.server.server1.check_new_mail", tru);\n')
    chown_tree(home)
    frozen = tree_state(broken)
    run = run_playbook(tmp_path, offline_play([root, broken]))
    assert run.rc == 0, run.stdout
    profiles = profiles_of(run.result("enforce"))
    assert profiles["cccc.casse"]["status"] == "error"
    assert "prefs.js does not parse" in profiles["cccc.casse"]["error"]
    assert "line " in profiles["cccc.casse"]["error"]
    assert profiles["aaaa.default-esr"]["status"] == "changed"
    assert tree_state(broken) == frozen
    assert "cccc.casse" in run.stdout + run.stderr, "the error is shown as a warning"


def test_running_thunderbird_is_skipped_or_fails(tmp_path, home):
    root, first, second = fleet(home)
    lockfile = os.path.join(first, ".parentlock")
    open(lockfile, "w").close()
    os.chown(lockfile, OWNER, OWNER)
    holder = subprocess.Popen(["python3", "-c", "import fcntl,sys,time; f=open(sys.argv[1],'w');"
                               "fcntl.lockf(f, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(600)",
                               lockfile], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        frozen = tree_state(first)
        run = run_playbook(tmp_path, offline_play([root]))
        assert run.rc == 0, run.stdout
        p1 = profiles_of(run.result("enforce"))["aaaa.default-esr"]
        assert p1["running"] is True and p1["status"] == "skipped_running"
        assert p1["accounts"][0]["backup_ready"] is False
        assert tree_state(first) == frozen
        run = run_playbook(tmp_path, offline_play([root], if_running="fail"))
        assert run.rc != 0 and "Thunderbird is running" in run.result("enforce")["msg"]
        assert tree_state(first) == frozen
    finally:
        holder.kill()
        holder.wait()
    run = run_playbook(tmp_path, offline_play([root]))
    assert profiles_of(run.result("enforce"))["aaaa.default-esr"]["status"] == "changed"


def test_symlink_below_home_and_foreign_owner_are_refused(tmp_path, home):
    root, first, second = fleet(home)
    elsewhere = os.path.join(os.path.dirname(home), "elsewhere")
    shutil.move(os.path.join(root, "bbbb.travail"), elsewhere)
    os.symlink(elsewhere, os.path.join(root, "bbbb.travail"))
    os.lchown(os.path.join(root, "bbbb.travail"), OWNER, OWNER)
    os.chown(os.path.join(first, "folderCache.json"), 0, 0)
    frozen = tree_state(os.path.dirname(home))
    run = run_playbook(tmp_path, offline_play([root]))
    assert run.rc == 0, run.stdout
    facts = run.result("enforce")["ansible_facts"]["thunderbird"]
    p1 = profiles_of(run.result("enforce"))["aaaa.default-esr"]
    assert p1["status"] == "error" and "owned by uid 0" in p1["error"]
    assert tree_state(os.path.dirname(home)) == frozen
    assert facts["summary"]["profiles_error"] >= 1


def test_users_option_discovers_a_real_users_profiles(tmp_path, home):
    name = "tbit%d" % os.getpid()
    subprocess.run(["useradd", "-M", "-d", home, "-s", "/usr/sbin/nologin", name], check=True)
    try:
        entry = pwd.getpwnam(name)
        fleet(home)
        xdg = sandbox.write_profile(os.path.join(home, ".config", "thunderbird", "zzzz.xdg"),
                                    [sandbox.imap("imap.ac-test.fr", name)])
        chown_tree(home, entry.pw_uid, entry.pw_gid)
        play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
            {"name": "info", "rectorat.thunderbird.thunderbird_info": {"users": [name, "nobody-here"]}}]}]
        run = run_playbook(tmp_path, play)
        assert run.rc == 0, run.stdout
        facts = run.result("info")["ansible_facts"]["thunderbird"]
        found = sorted(os.path.basename(p["path"]) for p in facts["profiles"])
        assert found == ["aaaa.default-esr", "bbbb.travail", "zzzz.xdg"]
        assert all(p["user"] == name for p in facts["profiles"])
        assert facts["errors"] == ["no local user named nobody-here"]
        assert xdg
    finally:
        subprocess.run(["userdel", name], check=False)


@pytest.fixture
def installation():
    """A root-owned stand-in Thunderbird installation (what the hook reads of one)."""
    base = tempfile.mkdtemp(prefix="tb-install-", dir="/tmp")
    os.chmod(base, 0o755)
    lib = os.path.join(base, "thunderbird")
    os.makedirs(os.path.join(lib, "defaults", "pref"))
    with open(os.path.join(lib, "application.ini"), "wb") as f:
        f.write(b"[App]\nVendor=Mozilla\nName=Thunderbird\nVersion=153.8.0\n")
    with open(os.path.join(lib, "defaults", "pref", "channel-prefs.js"), "wb") as f:
        f.write(b'pref("app.update.channel", "esr");\n')
    for folder, dirs, files in os.walk(base):
        os.chmod(folder, 0o755)
    yield lib
    shutil.rmtree(base)


def test_at_start_installs_the_hook_in_the_same_run(tmp_path, home, installation):
    root, first, second = fleet(home)
    profiles_before, install_before = tree_state(home), tree_state(installation)
    play = offline_play([root], at_start=True, install_dirs=[installation])

    dry = run_playbook(tmp_path, play, "--check", "--diff")
    assert dry.rc == 0, dry.stdout + dry.stderr
    assert [(i["path"], i["status"]) for i in dry.result("enforce")["installations"]] == [(installation, "changed")]
    assert tree_state(home) == profiles_before and tree_state(installation) == install_before
    assert "rectorat-offline.cfg" in dry.stdout  # the hook's files are in the diff

    run = run_playbook(tmp_path, play)
    assert run.rc == 0 and run.recap()["changed"] == 1, run.stdout + run.stderr
    result = run.result("enforce")
    assert profiles_of(result)["aaaa.default-esr"]["status"] == "changed"
    [inst] = result["installations"]
    assert (inst["status"], inst["kind"], inst["version"]) == ("changed", "tarball", "153.8.0"), inst
    assert os.path.exists(os.path.join(installation, "rectorat-offline.cfg"))
    assert os.path.exists(os.path.join(installation, "defaults", "pref", "00-rectorat-offline.js"))

    again = run_playbook(tmp_path, play)
    assert again.rc == 0 and again.recap()["changed"] == 0, again.stdout
    assert again.result("enforce")["installations"][0]["status"] == "unchanged"

    # The module without at_start neither touches nor reports installations.
    plain = run_playbook(tmp_path, offline_play([root]))
    assert plain.rc == 0 and "installations" not in plain.result("enforce")
