"""Helpers of the backup/restore end-to-end test, on top of tbharness.

- ``local_user``: a real local user (prefix ``tbh9_``) with its home below
  /srv/tbh9, removed afterwards.
- ``UserThunderbird``: the harness's Thunderbird, run as that user with its
  own HOME; with ``profile=None`` for the start it is given no ``--profile``,
  so it opens what profiles.ini / installs.ini name (the profile to watch is
  still passed, to find its Marionette port).
- ``read_every_body``: asks the running Thunderbird itself, over Marionette,
  for every message of every folder of every account and reads each body
  from the local store; returns the body markers found per folder.
"""

import os
import pwd
import shutil
import subprocess
import time

import tbharness as h

BASE = "/srv/tbh9"
PREFIX = "tbh9_"


def create_user(name):
    assert name.startswith(PREFIX), name
    home = os.path.join(BASE, name)
    remove_user(name)
    os.makedirs(BASE, exist_ok=True)
    subprocess.run(["useradd", "--create-home", "--home-dir", home, "--skel", "/dev/null",
                    "--shell", "/usr/sbin/nologin", name], check=True)
    return pwd.getpwnam(name)


def remove_user(name):
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return
    for _unused in range(30):
        if subprocess.run(["userdel", name], stderr=subprocess.DEVNULL, check=False).returncode != 8:
            break
        time.sleep(0.5)
    shutil.rmtree(entry.pw_dir, ignore_errors=True)


def chown_tree(path, uid, gid):
    for root, dirs, files in os.walk(path):
        os.lchown(root, uid, gid)
        for name in files:
            os.lchown(os.path.join(root, name), uid, gid)


class UserThunderbird(h.Thunderbird):
    def __init__(self, profile, user, pass_profile=True, extra_args=(), **kw):
        self.user = user
        self.pass_profile = pass_profile
        self.extra_args = list(extra_args)
        h.Thunderbird.__init__(self, profile, home=user.pw_dir, **kw)
        self.output_path = os.path.join(BASE, "thunderbird-%s.out" % user.pw_name)

    def start(self):
        port_file = os.path.join(self.profile, "MarionetteActivePort")
        if os.path.exists(port_file):
            os.remove(port_file)
        if h.read_prefs(self.profile).get("marionette.port", "0") != "0":
            h.set_pref(self.profile, "marionette.port", 0)
        env = dict(os.environ, HOME=self.home, MOZ_HEADLESS="1", MOZ_CRASHREPORTER_DISABLE="1",
                   XDG_CONFIG_HOME=os.path.join(self.home, ".config"), USER=self.user.pw_name,
                   LOGNAME=self.user.pw_name, TMPDIR=self.home)
        for var in ("DISPLAY", "WAYLAND_DISPLAY", "XDG_RUNTIME_DIR"):
            env.pop(var, None)
        # Chrome-context scripts (reading the message store) need system access.
        args = [self.binary, "--headless", "--marionette", "-remote-allow-system-access"] + self.extra_args
        if self.pass_profile:
            args += ["--profile", self.profile]
        out = open(self.output_path, "ab")
        self.started_at = time.time()
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                     env=env, cwd=self.home, start_new_session=True,
                                     user=self.user.pw_uid, group=self.user.pw_gid, extra_groups=[])
        out.close()
        self.marionette_port = self._wait_marionette_port(port_file)
        return self


READ_BODIES_JS = r"""
const resolve = arguments[arguments.length - 1];
(async () => {
  const { MailServices } = ChromeUtils.importESModule("resource:///modules/MailServices.sys.mjs");
  const { NetUtil } = ChromeUtils.importESModule("resource://gre/modules/NetUtil.sys.mjs");
  const markerRe = /TBE2EBODY-[0-9a-f]{8}-[0-9]{4}/;
  function reparsed(folder) {
    return new Promise(done => {
      const listener = {
        OnStartRunningUrl() {},
        OnStopRunningUrl() { try { done(folder.msgDatabase); } catch (e) { done(null); } },
        QueryInterface: ChromeUtils.generateQI(["nsIUrlListener"]),
      };
      try {
        folder.QueryInterface(Ci.nsIMsgLocalMailFolder).getDatabaseWithReparse(listener, null);
      } catch (e) { done(null); }
    });
  }
  function readAll(stream, limit) {
    let text = "";
    try {
      while (text.length < limit) {
        const n = Math.min(stream.available(), limit - text.length);
        if (!n) break;
        text += NetUtil.readInputStreamToString(stream, n);
      }
    } catch (e) {}
    stream.close();
    return text;
  }
  // The API that hands out a message's stored bytes moved between versions.
  function messageStream(folder, hdr) {
    const tries = [
      () => folder.getLocalMsgStream(hdr),
      () => folder.getMsgInputStream(hdr, {}),
      () => folder.getMsgInputStream(hdr),
      () => folder.msgStore.getMsgInputStream(folder, hdr.storeToken, {}),
      () => folder.msgStore.getMsgInputStream(folder, hdr.storeToken),
    ];
    const failures = [];
    for (const attempt of tries) {
      try {
        const stream = attempt();
        if (stream) return stream;
      } catch (e) { failures.push(String(e).slice(0, 120)); }
    }
    throw new Error("no message stream: " + failures.join(" | "));
  }
  const out = [];
  for (const server of MailServices.accounts.allServers) {
    for (const folder of server.rootFolder.descendants) {
      const row = { type: server.type, server: server.prettyName, uri: folder.URI,
                    name: folder.name, total: 0, markers: [], errors: [] };
      let db = null;
      try { db = folder.msgDatabase; } catch (e) {}
      if (!db && server.type != "imap") db = await reparsed(folder);
      if (!db) { row.errors.push("no summary"); out.push(row); continue; }
      for (const hdr of db.enumerateMessages()) {
        row.total++;
        try {
          if (server.type == "imap" && !folder.hasMsgOffline(hdr.messageKey)) {
            row.errors.push("not offline: " + hdr.messageKey);
            continue;
          }
          const size = Math.max(hdr.messageSize, hdr.offlineMessageSize || 0) + 4096;
          const match = readAll(messageStream(folder, hdr), size).match(markerRe);
          if (match) row.markers.push(match[0]);
          else row.errors.push("no marker in body of " + hdr.messageKey);
        } catch (e) { row.errors.push(String(e).slice(0, 200)); }
      }
      out.push(row);
    }
  }
  return out;
})().then(resolve, e => resolve({ error: String(e) }));
"""


def read_every_body(tb, timeout=60):
    client = h.Marionette(tb.marionette_port, timeout=timeout)
    try:
        client.send("WebDriver:NewSession", {"capabilities": {}})
        client.send("Marionette:SetContext", {"value": "chrome"})
        reply = client.send("WebDriver:ExecuteAsyncScript",
                            {"script": READ_BODIES_JS, "args": [], "scriptTimeout": timeout * 1000})
        client.send("WebDriver:DeleteSession", {})
    finally:
        client.close()
    value = reply.get("value") if isinstance(reply, dict) else reply
    if isinstance(value, dict) and value.get("error"):
        raise RuntimeError("the Marionette script failed: %s" % value["error"])
    return value


def pop_message(index, token="popl0cal"):
    marker = "TBE2EBODY-%s-%04d" % (token.encode().hex()[:8], index)
    return ("From - Mon Jan  5 10:00:00 2026\r\n"
            "From: Carol <carol@example.test>\r\nTo: alice@example.test\r\n"
            "Subject: POP message %d\r\nDate: Mon, 5 Jan 2026 10:00:%02d +0000\r\n"
            "Message-ID: <pop-%d@example.test>\r\n\r\nLocal body %d\r\n%s\r\n\r\n"
            % (index, index, index, index, marker)), marker


POP_PREFS = {
    "mail.accountmanager.accounts": "account1,account3,account2",
    "mail.account.account3.identities": "id3",
    "mail.account.account3.server": "server3",
    "mail.account.lastKey": 3,
    "mail.identity.id3.useremail": "alice.pop@example.test",
    "mail.identity.id3.valid": True,
    "mail.server.server3.type": "pop3",
    "mail.server.server3.hostname": "pop.example.invalid",
    "mail.server.server3.port": 9,
    "mail.server.server3.userName": "alice",
    "mail.server.server3.name": "alice.pop@example.test",
    "mail.server.server3.login_at_startup": False,
    "mail.server.server3.check_new_mail": False,
    "mail.server.server3.directory-rel": "[ProfD]Mail/pop.example.invalid",
}


def add_pop_mail(profile, count):
    """A POP account whose Inbox already holds ``count`` messages (mbox)."""
    folder = os.path.join(profile, "Mail", "pop.example.invalid")
    os.makedirs(folder, exist_ok=True)
    markers = set()
    with open(os.path.join(folder, "Inbox"), "w", newline="") as f:
        for i in range(1, count + 1):
            text, marker = pop_message(i)
            f.write(text)
            markers.add(marker)
    return markers


# Thunderbird's own "Import > Thunderbird profile > zip" path, minus the file
# picker: the size check of aboutImport.js (nsIZipReader reads < 2 GB), the
# importer's validateZipSource and extractZipFile (libjar reads our zip),
# then startImport of accounts, address books, calendars and mail.
IMPORT_ZIP_JS = r"""
const [zipPath, resolve] = [arguments[0], arguments[arguments.length - 1]];
(async () => {
  const { ThunderbirdProfileImporter } = ChromeUtils.importESModule(
    "resource:///modules/ThunderbirdProfileImporter.sys.mjs");
  const importer = new ThunderbirdProfileImporter();
  const file = Cc["@mozilla.org/file/local;1"].createInstance(Ci.nsIFile);
  file.initWithPath(zipPath);
  if (file.fileSize >= 2147483648) return { error: "zip over 2 GB" };
  const reader = Cc["@mozilla.org/libjar/zip-reader;1"].createInstance(Ci.nsIZipReader);
  reader.open(file);
  const valid = importer.validateZipSource(reader);
  const entries = [...reader.findEntries(null)].length;
  reader.close();
  if (!valid) return { error: "validateZipSource refused the zip" };
  const dir = await importer.extractZipFile(file, () => {});
  const restart = await importer.startImport(dir, { accounts: true, addressBooks: true, calendars: true,
                                                    mailMessages: true });
  return { valid, entries, restart };
})().then(resolve, e => resolve({ error: String(e) }));
"""


def thunderbird_import(tb, zip_path, timeout=90):
    client = h.Marionette(tb.marionette_port, timeout=timeout)
    try:
        client.send("WebDriver:NewSession", {"capabilities": {}})
        client.send("Marionette:SetContext", {"value": "chrome"})
        reply = client.send("WebDriver:ExecuteAsyncScript",
                            {"script": IMPORT_ZIP_JS, "args": [zip_path], "scriptTimeout": timeout * 1000})
        client.send("WebDriver:DeleteSession", {})
    finally:
        client.close()
    value = reply.get("value") if isinstance(reply, dict) else reply
    if not isinstance(value, dict) or value.get("error"):
        raise RuntimeError("Thunderbird's import failed: %r" % (value,))
    return value


def empty_profile(path, user):
    """A fresh profile with the harness's quiet prefs and no account."""
    os.makedirs(path)
    h.write_prefs(os.path.join(path, "prefs.js"), dict(h.QUIET_PREFS))
    chown_tree(path, user.pw_uid, user.pw_gid)
    return path
