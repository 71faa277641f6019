"""Acceptance test of rectorat.thunderbird.thunderbird_autoconfig with the real
Thunderbird 153, on a private COPY of the machine's installation (never on
/usr/lib/thunderbird itself: every other real-client test runs that one).

One profile goes through the whole story, so Thunderbird starts are shared:
synced online-only -> held open while the play runs (thunderbird_offline
skips it, the hook is installed) -> next start: every body on disk ->
the user unticks the box and adds an IMAP account -> the play locks the
settings and chains to a site AutoConfig -> next start: box re-enabled and
locked, the new account offline, the site script ran -> state: absent gives
the installation back byte for byte.
"""

import csv
import json
import os
import subprocess
import sys
import time

import pytest

import autoconfig_harness as ah
import tbharness as h

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("thunderbird-e2e")]

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KEPT_FOLDERS = ("INBOX", "Projets/2026", "Élèves")
BODY_TIMEOUT = 90
LOCKED = ("offline_download", "autosync_max_age_days", "limit_offline_message_size")

ROLE_PLAYBOOK = """\
- hosts: localhost
  connection: local
  gather_facts: false
  roles:
    - role: rectorat.thunderbird.thunderbird_offline
      vars:
        thunderbird_offline_profiles: "{{ tb_profiles }}"
        thunderbird_offline_install_dirs: ["{{ tb_install }}"]
        thunderbird_offline_report_dir: "{{ result_file }}.report"
  post_tasks:
    - name: Hand the results to the test
      ansible.builtin.copy:
        # The role installs the hook with the profiles' module run (at_start):
        # the profile here is held open, so the run's changes are the hook's.
        content: "{{ {'offline': thunderbird_offline_result,
                      'autoconfig': {'changed': thunderbird_offline_result.changed,
                                     'installations': thunderbird_offline_result.installations}} | to_json }}"
        dest: "{{ result_file }}"
        mode: "0600"
      check_mode: false
      changed_when: false
"""

PLAYBOOK = """\
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: What the hook did at the last start, and the installation
      rectorat.thunderbird.thunderbird_info:
        profiles: "{{ tb_profiles }}"
        install_dirs: ["{{ tb_install }}"]
      register: info_result
      when: tb_profiles | length > 0

    - name: The hook in the installation copy
      rectorat.thunderbird.thunderbird_autoconfig:
        install_dirs: ["{{ tb_install }}"]
        state: "{{ tb_state }}"
        lock: "{{ tb_lock }}"
        chain: "{{ tb_chain }}"
      register: autoconfig_result

    - name: Hand the results to the test
      ansible.builtin.copy:
        content: "{{ {'autoconfig': autoconfig_result, 'info': info_result} | to_json }}"
        dest: "{{ result_file }}"
        mode: "0600"
      check_mode: false
      changed_when: false
"""


def playbook(workdir, tag, install, profiles=(), state="present", lock=False, chain=False,
             check=False, role=False):
    """The role (``role=True``) or the module alone; returns the registered results,
    the recap line and (role) the report's CSV rows."""
    path = os.path.join(workdir, "role.yml" if role else "autoconfig.yml")
    with open(path, "w") as f:
        f.write(ROLE_PLAYBOOK if role else PLAYBOOK)
    result_file = os.path.join(workdir, "result-%s.json" % tag)
    env = dict(os.environ, ANSIBLE_LOCAL_TEMP=os.path.join(workdir, "ansible-tmp"),
               ANSIBLE_HOME=os.path.join(workdir, "ansible-home"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_RETRY_FILES_ENABLED="0")
    extra = {"tb_profiles": list(profiles), "tb_install": install, "tb_state": state,
             "tb_lock": lock, "tb_chain": chain, "result_file": result_file,
             "ansible_python_interpreter": sys.executable}
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
           path, "-e", json.dumps(extra)] + (["--check", "--diff"] if check else [])
    proc = subprocess.run(cmd, env=env, cwd=workdir, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, timeout=180, check=False)
    assert proc.returncode == 0, "ansible-playbook failed:\n" + proc.stdout
    with open(result_file) as f:
        result = json.load(f)
    recap = [line for line in proc.stdout.splitlines() if "localhost" in line and "changed=" in line]
    result["recap"] = recap[-1] if recap else ""
    if role:
        with open(result_file + ".report/thunderbird_offline.csv", encoding="utf-8", newline="") as f:
            result["rows"] = list(csv.DictReader(f))
    return result


@pytest.fixture(scope="module")
def tb_copy(e2e_tools, e2e_dir):
    lib = ah.copy_installation(os.path.join(e2e_dir, "install"))
    return {"lib": lib, "root": os.path.dirname(os.path.dirname(os.path.dirname(lib))),
            "launcher": ah.system_access_binary(lib, e2e_dir)}


def hook_state(tb):
    """What Thunderbird itself says about its IMAP servers, prefs and folders."""
    return ah.chrome_script(tb, """
      const { MailServices } = ChromeUtils.importESModule("resource:///modules/MailServices.sys.mjs");
      const out = {};
      for (const server of MailServices.accounts.allServers) {
        if (server.type != "imap") continue;
        const base = "mail.server." + server.key + ".";
        const folders = {};
        for (const f of server.rootFolder.descendants) {
          folders[f.URI] = [f.getFlag(Ci.nsMsgFolderFlags.Offline),
                            f.getFlag(Ci.nsMsgFolderFlags.Trash) || f.getFlag(Ci.nsMsgFolderFlags.Junk)];
        }
        out[server.key] = {
          user: server.username,
          offline_download: server.QueryInterface(Ci.nsIImapIncomingServer).offlineDownload,
          locked: ["offline_download", "autosync_max_age_days", "limit_offline_message_size"]
            .filter(n => Services.prefs.prefIsLocked(base + n)),
          folders,
        };
      }
      let site = null;
      try { site = Services.prefs.getCharPref("tbh10.site.autoconfig"); } catch (e) {}
      return {servers: out, site};
    """)


UNTICK_AND_ADD_ACCOUNT = """
  const [port] = arguments;
  const { MailServices } = ChromeUtils.importESModule("resource:///modules/MailServices.sys.mjs");
  // What the Account Settings checkbox does: the pref and every folder's flag.
  const first = MailServices.accounts.allServers.find(s => s.type == "imap");
  first.QueryInterface(Ci.nsIImapIncomingServer).offlineDownload = false;
  for (const f of first.rootFolder.descendants) {
    f.clearFlag(Ci.nsMsgFolderFlags.Offline);
  }
  // A second IMAP account, created the way the account wizard does.
  const server = MailServices.accounts.createIncomingServer("alice2", "127.0.0.1", "imap");
  server.port = port;
  server.socketType = Ci.nsMsgSocketType.plain;
  server.authMethod = Ci.nsMsgAuthMethod.passwordCleartext;
  server.loginAtStartUp = true;  // as the account wizard does
  const identity = MailServices.accounts.createIdentity();
  identity.email = "alice2@example.test";
  const account = MailServices.accounts.createAccount();
  account.addIdentity(identity);
  account.incomingServer = server;
  server.QueryInterface(Ci.nsIImapIncomingServer).offlineDownload = false;
  MailServices.accounts.saveAccountInfo();
  return [first.key, server.key];
"""


def store_of(profile, server_key):
    prefs = h.read_prefs(profile)
    rel = json.loads(prefs["mail.server.%s.directory-rel" % server_key])
    return os.path.join(profile, rel.replace("[ProfD]", ""))


def bodies_of_store(profile, store):
    """folder -> bodies on disk, for one account's store only (a profile-like
    folder whose ImapMail/ holds a link to that store alone)."""
    view = os.path.join(os.path.dirname(profile), "store-view-" + os.path.basename(store))
    if not os.path.isdir(view):
        os.makedirs(os.path.join(view, "ImapMail"))
        os.symlink(store, os.path.join(view, "ImapMail", os.path.basename(store)))
    return h.bodies_on_disk(view)


def assert_bodies(server, bodies, label):
    for folder in KEPT_FOLDERS:
        assert bodies.get(folder) == server.message_count(folder), "%s: %s bodies: %s" % (
            label, folder, bodies)
    for folder in h.SPECIAL_FOLDERS:
        assert bodies.get(folder, 0) == 0, "%s: %s bodies were downloaded: %s" % (label, folder, bodies)


def add_site_autoconfig(lib):
    """A site's own AutoConfig (pref file + script); returns path -> bytes."""
    files = {
        os.path.join(lib, "defaults", "pref", "autoconfig.js"):
            b'// site AutoConfig\npref("general.config.filename", "site.cfg");\n'
            b'pref("general.config.obscure_value", 0);\n',
        os.path.join(lib, "site.cfg"): b'// site script\npref("tbh10.site.autoconfig", "ran");\n',
    }
    for path, data in files.items():
        with open(path, "wb") as f:
            f.write(data)
    return files


def add_account_in_prefs(profile, port, user):
    """An online-only IMAP account written into prefs.js (Thunderbird stopped)."""
    prefs = h.read_prefs(profile)
    accounts = json.loads(prefs["mail.accountmanager.accounts"])
    key = "server9"
    for name, value in (("type", "imap"), ("hostname", h.HOST), ("port", port), ("userName", user),
                        ("name", user + "@example.test"), ("socketType", 0), ("authMethod", 3),
                        ("offline_download", False), ("login_at_startup", True),
                        ("directory-rel", "[ProfD]ImapMail/%s-%s" % (h.HOST, user))):
        h.set_pref(profile, "mail.server.%s.%s" % (key, name), value)
    h.set_pref(profile, "mail.identity.id9.useremail", user + "@example.test")
    h.set_pref(profile, "mail.account.account9.identities", "id9")
    h.set_pref(profile, "mail.account.account9.server", key)
    h.set_pref(profile, "mail.accountmanager.accounts", accounts + ",account9")
    return key


def test_hook_keeps_held_profiles_new_accounts_and_unticked_boxes_offline(imap_server, e2e_dir, tb_copy):
    lib = tb_copy["lib"]
    original = ah.tree_bytes(tb_copy["root"])
    profile = h.make_profile(os.path.join(e2e_dir, "held"), imap_server.port, False)
    h.sync_profile(profile)
    assert sum(h.bodies_on_disk(profile).values()) == 0

    # Held open (system Thunderbird, no hook) while the role runs.
    held = h.Thunderbird(profile)
    with held:
        dry = playbook(e2e_dir, "check", lib, [profile], check=True, role=True)
        assert dry["autoconfig"]["changed"] is True, dry
        assert ah.tree_bytes(tb_copy["root"]) == original, "--check wrote into the installation"
        run = playbook(e2e_dir, "run", lib, [profile], role=True)
        again = playbook(e2e_dir, "again", lib, [profile], role=True)
    assert run["offline"]["ansible_facts"]["thunderbird"]["profiles"][0]["status"] == "skipped_running"
    [inst] = run["autoconfig"]["installations"]
    assert (inst["status"], inst["kind"], inst["version"]) == ("changed", "tarball", "153.8.0"), inst
    assert again["autoconfig"]["installations"][0]["status"] == "unchanged"
    assert "changed=0" in again["recap"], again["recap"]
    for result in (dry, run, again):
        categories = [r["category"] for r in result["rows"]]
        assert categories.count("imap_at_next_start") == 1 and "imap_pending_running" not in categories, categories
        assert categories.count("installation_covered") == 1, categories
    assert os.path.exists(os.path.join(tb_copy["root"], "usr", "share", "thunderbird", "defaults",
                                       "pref", "00-rectorat-offline.js")), "not written through the link"
    assert sum(h.bodies_on_disk(profile).values()) == 0, "bodies before any start with the hook"

    # Next start with the hook: every body of every non-Trash folder.
    started = time.time()
    tb = h.Thunderbird(profile, binary=tb_copy["launcher"])
    with tb:
        expected = {f: imap_server.message_count(f) for f in KEPT_FOLDERS}
        reached = tb.wait_for(h.bodies_reached(profile, expected), BODY_TIMEOUT)
        h.FIGURES.append("autoconfig hook: held profile, bodies %s after %.0f s"
                         % ("all" if reached else "NOT all", time.time() - started))
        tb.wait_idle(quiet=2, timeout=20)
        state = hook_state(tb)
        keys = ah.chrome_script(tb, UNTICK_AND_ADD_ACCOUNT, [imap_server.port])
    assert tb.how_ended == "orderly"
    assert_bodies(imap_server, h.bodies_on_disk(profile), "first start with the hook")
    first = state["servers"][keys[0]]
    assert first["offline_download"] is True and first["locked"] == []
    assert all(offline or special for offline, special in first["folders"].values()), first
    assert not any(offline and special for offline, special in first["folders"].values()), first
    report = ah.read_report(profile)
    assert report["completed"] and report["errors"] == [], report
    assert report["accounts"][0]["folders_flagged"] == len(KEPT_FOLDERS) + 1  # + "Projets"
    assert h.read_prefs(profile)["mail.server.%s.offline_download" % keys[0]] == "false", \
        "the box was not unticked"

    # Added through the API while the hook ran: its folders were flagged as they appeared.
    live = bodies_of_store(profile, store_of(profile, keys[1]))
    h.FIGURES.append("autoconfig hook: account added while running, bodies in that session %s" % live)
    # And one added in prefs.js while Thunderbird is stopped, online-only.
    keys.append(add_account_in_prefs(profile, imap_server.port, "alice3"))

    # The play again: locked settings, and a site AutoConfig (conflict, then chained).
    site_files = add_site_autoconfig(lib)
    conflict = playbook(e2e_dir, "conflict", lib, [profile], lock=True)
    [inst] = conflict["autoconfig"]["installations"]
    assert inst["status"] == "conflict" and "site.cfg" in inst["message"], inst
    info = conflict["info"]["ansible_facts"]["thunderbird"]
    assert [(i["hook"], i["site_autoconfig"]) for i in info["installations"]] == [("installed", "site.cfg")]
    at_start = info["profiles"][0]["at_start"]
    assert at_start["completed"] and at_start["folders_flagged"] == len(KEPT_FOLDERS) + 1, at_start
    chained = playbook(e2e_dir, "chain", lib, lock=True, chain=True)
    assert chained["autoconfig"]["installations"][0]["status"] == "changed"

    started = time.time()
    tb = h.Thunderbird(profile, binary=tb_copy["launcher"])
    with tb:
        stores = [store_of(profile, key) for key in keys[1:]]
        at_start = [sum(bodies_of_store(profile, store).values()) for store in stores]
        reached = tb.wait_for(lambda: all(
            bodies_of_store(profile, store).get(f, 0) >= imap_server.message_count(f)
            for f in KEPT_FOLDERS for store in stores), BODY_TIMEOUT)
        h.FIGURES.append("autoconfig hook: accounts added later, bodies %s after %.0f s "
                         "(on disk when Marionette answered: %s)"
                         % ("all" if reached else "NOT all", time.time() - started, at_start))
        tb.wait_idle(quiet=2, timeout=20)
        state = hook_state(tb)
    assert state["site"] == "ran", "the chained site script did not run: %s" % ah.read_report(profile)
    for key in keys:
        server = state["servers"][key]
        assert server["offline_download"] is True, (key, server)
        assert sorted(server["locked"]) == sorted(LOCKED), (key, server)
        assert all(offline or special for offline, special in server["folders"].values()), server
    for store in stores:
        assert_bodies(imap_server, bodies_of_store(profile, store), "account added later " + store)
    report = ah.read_report(profile)
    assert report["chained"] == {"file": "site.cfg", "ok": True} and report["errors"] == [], report

    # state: absent gives the installation back, byte for byte.
    removed = playbook(e2e_dir, "absent", lib, state="absent")
    assert removed["autoconfig"]["installations"][0]["status"] == "changed"
    for path, data in site_files.items():
        with open(path, "rb") as f:
            assert f.read() == data, "the site's own AutoConfig changed: " + path
        os.remove(path)
    assert ah.tree_bytes(tb_copy["root"]) == original


def robustness_profiles(e2e_dir, port):
    """name -> (profile, command prefix): Thunderbird must start normally with each."""
    quiet = dict(h.QUIET_PREFS)
    quiet.pop("marionette.port")
    made = {}
    none = os.path.join(e2e_dir, "r-none")
    os.makedirs(none, exist_ok=True)
    h.write_prefs(os.path.join(none, "prefs.js"), quiet)
    made["no account"] = (none, ())
    pop = {k.replace("server1", "server3"): v for k, v in h.account_prefs(9, None).items()
           if "server1" in k and "offline" not in k and "autosync" not in k}
    pop.update({"mail.server.server3.type": "pop3", "mail.server.server3.login_at_startup": False,
                "mail.server.server3.directory-rel": "[ProfD]Mail/pop",
                "mail.account.account1.server": "server3", "mail.accountmanager.accounts": "account1",
                "mail.account.account1.identities": "id1", "mail.identity.id1.useremail": "a@example.test"})
    made["POP only"] = (h.make_profile(os.path.join(e2e_dir, "r-pop"), port, None,
                                       extra_prefs=dict(pop, **{"mail.server.server1.type": "pop3"})), ())
    broken = {"mail.server.server1.hostname": "", "mail.server.server1.userName": "",
              "mail.accountmanager.accounts": "account1,account2,account3",
              "mail.account.account3.server": "server9"}
    made["broken account"] = (h.make_profile(os.path.join(e2e_dir, "r-broken"), port, False,
                                             extra_prefs=broken), ())
    offline = {"mail.server.server1.login_at_startup": False}
    made["no network"] = (h.make_profile(os.path.join(e2e_dir, "r-nonet"), port, False,
                                         extra_prefs=offline), ("unshare", "--net"))
    return made


def test_thunderbird_starts_normally_with_the_hook(e2e_tools, e2e_dir, tb_copy):
    lib = tb_copy["lib"]
    installed = playbook(e2e_dir, "robust", lib, lock=True)
    assert installed["autoconfig"]["installations"][0]["status"] in ("changed", "unchanged")
    binary = os.path.join(lib, "thunderbird")
    try:
        for name, (profile, prefix) in robustness_profiles(e2e_dir, 9).items():
            held, alive, output = ah.run_until(profile, binary, ah.report_completed(profile), 60, prefix)
            assert held and alive, "%s: startup did not complete with the hook (report %s)\n%s" % (
                name, ah.read_report(profile), output[-2000:])
            assert "Failed to read the configuration file" not in output, name
            assert ah.read_report(profile)["errors"] == [], (name, ah.read_report(profile))

        # Control: a hook that throws makes Thunderbird quit, which the check above sees.
        cfg = os.path.join(lib, "rectorat-offline.cfg")
        with open(cfg, "rb") as f:
            good = f.read()
        with open(cfg, "wb") as f:
            f.write(good.split(b"\n", 1)[0] + b"\nthrow new Error('control');\n")
        profile = robustness_profiles(e2e_dir, 9)["no account"][0]
        os.remove(os.path.join(profile, ah.REPORT_NAME))
        held, alive, output = ah.run_until(profile, binary, ah.report_completed(profile), 20)
        assert not held, "a throwing AutoConfig script went unnoticed"
        with open(cfg, "wb") as f:
            f.write(good)
    finally:
        playbook(e2e_dir, "robust-absent", lib, state="absent")
