# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""windows-smoke INVENTORY HOST: the checks of docs/windows.md, made
executable, against ONE Windows workstation, before a roll-out.

Run it first on a TEST workstation: it is where the collection's PowerShell
scripts run for the first time. It touches no user's Thunderbird profile: it
creates a throwaway profile (one IMAP account, not kept offline, four
folders) in a new folder rectorat-tb-smoke-<time> under --user-folder, runs
thunderbird_info, thunderbird_offline --check, thunderbird_offline, and
thunderbird_offline again on that profile only, checks the files, removes
the folder (unless --keep), and prints a one-screen verdict. Exit status 0
only when every check passed.

It uses the inventory's connection settings for HOST (winrm or psrp) and the
collection as installed for ansible-playbook (ANSIBLE_COLLECTIONS_PATH).
"""

import argparse
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
IMAP_HOST = "imap.smoke.invalid"
PROFILE = "smoke.default-esr"
OFFLINE, TRASH, JUNK = 0x08000000, 0x100, 0x40000000
FOLDERS = (("INBOX", 0x1000), ("Sent", 0x200), ("Trash", TRASH), ("Junk", JUNK))
MAIL_IMAP = 0x4 | 0x2000
HEADER = "// Mozilla User Preferences\r\n\r\n"


def profile_files(profile):
    """{relative path: bytes} of a profile as Thunderbird on Windows writes
    it (CRLF prefs.js, folderCache.json keyed by Windows paths)."""
    store = profile + "\\ImapMail\\" + IMAP_HOST
    prefs = {
        "mail.account.account1.server": "server1", "mail.account.account1.identities": "id1",
        "mail.account.account2.server": "server2",
        "mail.accountmanager.accounts": "account1,account2", "mail.accountmanager.defaultaccount": "account1",
        "mail.accountmanager.localfoldersserver": "server2",
        "mail.identity.id1.useremail": "smoke@smoke.invalid",
        "mail.server.server1.type": "imap", "mail.server.server1.hostname": IMAP_HOST,
        "mail.server.server1.userName": "smoke", "mail.server.server1.name": "smoke@" + IMAP_HOST,
        "mail.server.server1.socketType": 3, "mail.server.server1.authMethod": 3,
        "mail.server.server1.directory": store, "mail.server.server1.directory-rel": "[ProfD]ImapMail/" + IMAP_HOST,
        "mail.server.server1.offline_download": False,
        "mail.server.server2.type": "none", "mail.server.server2.hostname": "Local Folders",
        "mail.server.server2.userName": "nobody", "mail.server.server2.name": "Local Folders",
        "mail.server.server2.directory": profile + "\\Mail\\Local Folders",
        "mail.server.server2.directory-rel": "[ProfD]Mail/Local Folders",
    }
    text = HEADER + "".join('user_pref("%s", %s);\r\n' % (k, json.dumps(prefs[k])) for k in sorted(prefs))
    files = {PROFILE + "\\prefs.js": text.encode("utf-8"),
             PROFILE + "\\compatibility.ini": b"[Compatibility]\r\nLastVersion=128.0_20260101000000/20260101000000\r\n"}
    cache = {store: {"flags": 0x40004, "totalMsgs": -1}}
    for name, special in FOLDERS:
        files[PROFILE + "\\ImapMail\\" + IMAP_HOST + "\\" + name + ".msf"] = b'// <!-- <mdb:mork:z v="1.4"/> -->\r\n'
        cache[store + "\\" + name + ".msf"] = {"flags": MAIL_IMAP | special, "totalMsgs": 0}
    files[PROFILE + "\\folderCache.json"] = json.dumps(cache).encode("utf-8")
    return files


def playbook(host, folder, files, keep):
    profile = folder + "\\" + PROFILE
    offline = {"rectorat.thunderbird.thunderbird_offline": {"profiles": [profile]}}
    inspect = {"tb_smoke_fixture": {"action": "inspect", "folder": folder}, "check_mode": False}
    read = [PROFILE + "\\prefs.js", PROFILE + "\\folderCache.json"]
    # .msf files older than folderCache.json, as after Thunderbird quits.
    entries = [{"path": rel, "data": base64.b64encode(data).decode("ascii"), "age": 120 if rel.endswith(".msf") else 60}
               for rel, data in sorted(files.items())]
    tasks = [
        dict({"name": "smoke: create"}, tb_smoke_fixture={"action": "create", "folder": folder, "files": entries},
             check_mode=False),
        {"name": "smoke: info", "rectorat.thunderbird.thunderbird_info": {"profiles": [profile]}},
        dict({"name": "smoke: files after info"}, **inspect),
        dict({"name": "smoke: check", "check_mode": True, "diff": True}, **offline),
        dict({"name": "smoke: files after check"}, **inspect),
        dict({"name": "smoke: apply"}, **offline),
        dict({"name": "smoke: apply again"}, **offline),
        {"name": "smoke: files after apply", "check_mode": False,
         "tb_smoke_fixture": {"action": "inspect", "folder": folder, "read": read}},
    ]
    remove = [] if keep else [{"name": "smoke: remove", "check_mode": False,
                               "tb_smoke_fixture": {"action": "remove", "folder": folder}}]
    return [{"name": "windows-smoke", "hosts": host, "gather_facts": False,
             "tasks": [{"block": tasks, "always": remove}]}]


class Verdict:
    def __init__(self):
        self.lines = []
        self.failed = 0

    def check(self, label, ok, detail=""):
        self.failed += 0 if ok else 1
        self.lines.append("%s  %-34s %s" % ("PASS" if ok else "FAIL", label, detail))
        return ok


def digests(files):
    return dict((rel, hashlib.sha256(data).hexdigest()) for rel, data in files.items())


def listing(result):
    return dict((f["path"], f["sha256"]) for f in (result or {}).get("files") or [])


def judge(results, files, folder, keep):
    """The verdict from the task results ({task name: (status, result)})."""
    v = Verdict()
    created = digests(files)
    profile = folder + "\\" + PROFILE

    def task(name):
        return results.get("smoke: " + name, (None, {}))

    def record(result):
        profiles = (result.get("ansible_facts") or {}).get("thunderbird", {}).get("profiles") or []
        return profiles[0] if len(profiles) == 1 else {}

    def unchanged(name):
        status, result = task(name)
        seen = listing(result)
        seen.pop("rectorat-tb-smoke.marker", None)
        return status == "ok" and seen == created

    def why(name):
        status, result = task(name)
        return "" if status == "ok" else "%s: %s" % (status or "not run", str(result.get("msg", ""))[:150])

    status, result = task("create")
    v.check("create the throwaway profile", status == "ok", folder if status == "ok" else why("create"))

    status, result = task("info")
    info = record(result)
    account = (info.get("accounts") or [{}])[0]
    # folders_total leaves out Trash and Junk, which are never kept offline.
    kept = sum(1 for dummy, special in FOLDERS if not special & (TRASH | JUNK))
    v.check("info: connection and facts", status == "ok" and info.get("path") == profile and info.get("error") is None
            and account.get("hostname") == IMAP_HOST and account.get("folders_total") == kept
            and account.get("backup_ready") is False and info.get("running") is False,
            why("info") or "%s of %d folders to keep, backup_ready=%s" % (
                account.get("folders_total"), kept, account.get("backup_ready")))
    v.check("info wrote nothing", unchanged("files after info"), why("files after info"))

    status, result = task("check")
    v.check("--check: would change", status == "ok" and result.get("changed") is True
            and record(result).get("status") == "changed", why("check"))
    v.check("--check wrote nothing", unchanged("files after check"), why("files after check"))

    status, result = task("apply")
    applied = record(result)
    backups = applied.get("backups") or []
    v.check("apply: changed", status == "ok" and result.get("changed") is True and applied.get("status") == "changed",
            why("apply") or "backups: %s" % ", ".join(backups))
    status, result = task("apply again")
    v.check("second apply: changed=0", status == "ok" and result.get("changed") is False
            and record(result).get("status") == "unchanged", why("apply again"))

    status, result = task("files after apply")
    seen = dict((f["path"], f) for f in result.get("files") or [])
    prefs = base64.b64decode(seen.get(PROFILE + "\\prefs.js", {}).get("data", ""))
    v.check("prefs.js: offline, CRLF, no BOM",
            b'user_pref("mail.server.server1.offline_download", true);\r\n' in prefs
            and b"\n" not in prefs.replace(b"\r\n", b"") and not prefs.startswith(b"\xef\xbb\xbf"),
            why("files after apply") or "%d bytes" % len(prefs))
    try:
        cache = json.loads(base64.b64decode(seen.get(PROFILE + "\\folderCache.json", {}).get("data", "")))
    except ValueError:
        cache = {}
    store = profile + "\\ImapMail\\" + IMAP_HOST + "\\"
    flags = dict((name, (cache.get(store + name + ".msf") or {}).get("flags", 0)) for name, dummy in FOLDERS)
    v.check("folderCache.json: folders offline",
            all(bool(flags[name] & OFFLINE) != bool(special & (TRASH | JUNK)) for name, special in FOLDERS),
            "offline: %s" % ", ".join(n for n in flags if flags[n] & OFFLINE))
    backup_ok = [b for b in backups if b.startswith("prefs.js.") and b.endswith(".bak")
                 and (seen.get(PROFILE + "\\" + b) or {}).get("sha256") == created[PROFILE + "\\prefs.js"]]
    v.check("backup of prefs.js is the original", bool(backup_ok), ", ".join(backup_ok))
    leftovers = [p for p in seen if p.lower().endswith((".tmp", "\\parent.lock"))]
    v.check("no lock or temporary file left", bool(seen) and not leftovers, ", ".join(leftovers))
    others = dict((rel, digest) for rel, digest in created.items()
                  if not rel.endswith(("prefs.js", "folderCache.json")))
    intact = [rel for rel, digest in others.items() if seen.get(rel, {}).get("sha256") == digest]
    v.check("other files untouched", bool(seen) and len(intact) == len(others))
    if keep:
        v.lines.append("KEPT  %s (--keep): remove it by hand" % folder)
    else:
        status, result = task("remove")
        v.check("remove the throwaway profile", status == "ok" and result.get("removed") is True, why("remove"))
    return v


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="windows-smoke", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Run it first on a TEST workstation, then on one pilot workstation, then roll out.")
    parser.add_argument("inventory")
    parser.add_argument("host", help="one host of the inventory (a Windows workstation)")
    parser.add_argument("--user-folder", default="C:\\Users\\Public\\Documents",
                        help="Windows folder under which the throwaway profile folder is made "
                             "(default: %(default)s; e.g. the home of a test account)")
    parser.add_argument("--keep", action="store_true", help="leave the throwaway profile on the host")
    parser.add_argument("--log", help="file for ansible-playbook's output (default: a temporary file)")
    args = parser.parse_args(argv)

    folder = args.user_folder.rstrip("\\") + "\\rectorat-tb-smoke-" + time.strftime("%Y%m%dT%H%M%S")
    files = profile_files(folder + "\\" + PROFILE)
    work = tempfile.mkdtemp(prefix="windows-smoke-")
    try:
        book = os.path.join(work, "smoke.yml")
        with open(book, "w") as f:
            yaml.safe_dump(playbook(args.host, folder, files, args.keep), f, sort_keys=False)
        dump = os.path.join(work, "results.jsonl")
        env = dict(os.environ, TB_SMOKE_RESULTS=dump, ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0",
                   ANSIBLE_ACTION_PLUGINS=os.path.join(HERE, "action_plugins"),
                   ANSIBLE_CALLBACK_PLUGINS=os.path.join(HERE, "callback_plugins"),
                   ANSIBLE_CALLBACKS_ENABLED="tb_smoke_results")
        binary = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
        if not os.path.exists(binary):
            binary = shutil.which("ansible-playbook") or "ansible-playbook"
        log = args.log or os.path.join(tempfile.gettempdir(), "windows-smoke-%s.log" % os.getpid())
        with open(log, "w") as out:
            proc = subprocess.run([binary, "-i", args.inventory, "--limit", args.host, book],
                                  env=env, stdout=out, stderr=subprocess.STDOUT, check=False)
        results = {}
        if os.path.exists(dump):
            with open(dump) as f:
                for line in f:
                    entry = json.loads(line)
                    results[entry["task"]] = (entry["status"], entry["result"])
    finally:
        shutil.rmtree(work, ignore_errors=True)

    verdict = judge(results, files, folder, args.keep)
    print("windows-smoke %s (%s)" % (args.host, folder))
    for line in verdict.lines:
        print(line)
    ok = verdict.failed == 0 and proc.returncode == 0
    print("ansible-playbook rc=%d, log: %s" % (proc.returncode, log))
    if ok:
        print("VERDICT: PASS - the collection works on %s; next: one pilot workstation with a real profile "
              "(docs/windows.md), then the roll-out" % args.host)
    else:
        print("VERDICT: FAIL - %d check(s) failed on %s: do not roll out; see the log" % (
            max(verdict.failed, 1), args.host))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
