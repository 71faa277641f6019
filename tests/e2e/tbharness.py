"""Drive a real headless Thunderbird against a private dovecot on 127.0.0.1.

Standard library, and marionette-driver for Marionette.  Pieces:

- ``ImapServer``: own dovecot instance (temp dir, one user ``alice``, Maildir with
  INBOX, ``Projets/2026``, ``Élèves``, ``Trash``, ``Junk``) plus a PREAUTH relay
  so that Thunderbird never needs a password.
- ``make_profile``: a Thunderbird profile folder (prefs.js) for that server.
- ``Thunderbird``: start headless with Marionette, wait for a condition, quit in
  an orderly way through Marionette (SIGTERM is not orderly in Thunderbird 153),
  with marionette-driver (tests/lib/tbmarionette.py).
- ``bodies_on_disk``: which message bodies reached the offline store.

Ports: ``TBE2E_PORT_BASE`` (default 10140); dovecot listens on base+3, the
PREAUTH relay on base+4.
"""

import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
import tbmarionette  # noqa: E402  (tests/lib, the shared Marionette client)
from sandbox import literal as pref_literal  # noqa: E402  (tests/lib: prefs.js values as Thunderbird writes them)

THUNDERBIRD = os.environ.get("TBE2E_THUNDERBIRD", "/usr/bin/thunderbird")
DOVECOT = "/usr/sbin/dovecot"
DOVECOT_IMAP = "/usr/lib/dovecot/imap"
HOST = "127.0.0.1"
USER = "alice"
OFFLINE_FLAG = 0x08000000

# IMAP folder name -> name of the folder's files below ImapMail/<host>/
FOLDERS = ("INBOX", "Projets/2026", "Élèves", "Trash", "Junk")
SPECIAL_FOLDERS = ("Trash", "Junk")

MARKER_RE = re.compile(rb"TBE2EBODY-[0-9a-f]{8}-[0-9]{4}")
LOGOUT_RE = re.compile(
    r"hdr_count=(\d+) hdr_bytes=(\d+) body_count=(\d+) body_bytes=(\d+)")

# Lines the e2e conftest prints after the run (bodies on disk per case).
FIGURES = []


def log(msg):
    sys.stderr.write("[tbharness %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def port_base():
    return int(os.environ.get("TBE2E_PORT_BASE", "10140"))


def dovecot_port(base=None):
    return (port_base() if base is None else base) + 3


def relay_port(base=None):
    return (port_base() if base is None else base) + 4


def missing_tools():
    """Names of the programs this harness needs that are not installed."""
    needed = (THUNDERBIRD, DOVECOT, DOVECOT_IMAP)
    return [p for p in needed if not os.access(p, os.X_OK)]


# ---------------------------------------------------------------- IMAP names

def encode_mutf7(name):
    """IMAP modified UTF-7 (RFC 3501 5.1.3) of a mailbox name."""
    out, pending = [], []

    def flush():
        if pending:
            raw = "".join(pending).encode("utf-16-be")
            b64 = base64.b64encode(raw).decode("ascii").rstrip("=")
            out.append("&" + b64.replace("/", ",") + "-")
            del pending[:]

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    return "".join(out)


def decode_mutf7(name):
    """Inverse of ``encode_mutf7``; Thunderbird names IMAP folder files this way."""
    out, i = [], 0
    while i < len(name):
        ch = name[i]
        end = name.find("-", i + 1) if ch == "&" else -1
        if ch != "&" or end < 0:
            out.append(ch)
            i += 1
            continue
        chunk = name[i + 1:end]
        if not chunk:
            out.append("&")
        else:
            b64 = chunk.replace(",", "/")
            raw = base64.b64decode(b64 + "=" * (-len(b64) % 4))
            out.append(raw.decode("utf-16-be"))
        i = end + 1
    return "".join(out)


def marker_token(folder):
    """8 hex chars that identify a folder in body markers (never its name)."""
    import hashlib
    return hashlib.sha1(folder.encode("utf-8")).hexdigest()[:8]


def make_message(folder, index, date=None, extra_body_lines=30):
    """An RFC 822 message whose body marker appears nowhere in the headers."""
    import email.utils
    marker = "TBE2EBODY-%s-%04d" % (marker_token(folder), index)
    when = email.utils.formatdate(date if date is not None else time.time() - 3600 * index)
    body = ["Message %d of a test folder." % index, marker, ""]
    body += ["filler line %d %s" % (j, "x" * 60) for j in range(extra_body_lines)]
    headers = [
        "From: Bob Sender <bob@example.test>",
        "To: Alice <alice@example.test>",
        "Subject: Test message %04d" % index,
        "Date: %s" % when,
        "Message-ID: <tbe2e-%s-%04d@example.test>" % (marker_token(folder)[::-1], index),
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=us-ascii",
    ]
    return ("\r\n".join(headers) + "\r\n\r\n" + "\r\n".join(body) + "\r\n").encode("ascii")


# ---------------------------------------------------------------- IMAP server

LOGOUT_FORMAT = ("in=%i out=%o hdr_count=%{fetch_hdr_count} hdr_bytes=%{fetch_hdr_bytes} "
                 "body_count=%{fetch_body_count} body_bytes=%{fetch_body_bytes}")
DOVECOT_CONF = """\
base_dir = {d}/run
state_dir = {d}/state
instance_name = tbe2e-{port}
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
log_path = {d}/dovecot.log
info_log_path = {d}/dovecot.log
imap_logout_format = {logout_format}
mail_location = maildir:~/Maildir
first_valid_uid = 1
mail_uid = nobody
mail_gid = nogroup
default_internal_user = dovecot
default_login_user = dovenull
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Trash {{
    special_use = \\Trash
  }}
  mailbox Junk {{
    special_use = \\Junk
  }}
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={d}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


class ImapServer:
    """A private dovecot with user ``alice`` and a PREAUTH relay.

    ``with ImapServer(messages=10) as srv:`` -> ``srv.port`` is the relay port
    Thunderbird should use (no password); ``srv.login_port`` is dovecot's
    own listener (user alice, password ``secret``).
    """

    def __init__(self, messages=10, folders=FOLDERS, workdir=None, base=None, populate=True):
        """``populate=False`` reuses the mailbox already in ``workdir`` as is."""
        self.messages = messages
        self.populate = populate
        self.folders = tuple(folders)
        self.base = port_base() if base is None else base
        self.login_port = dovecot_port(self.base)
        self.port = relay_port(self.base)
        self._own_workdir = workdir is None
        self.workdir = workdir or tempfile.mkdtemp(prefix="e2e-imap-", dir="/tmp")
        self.conf = os.path.join(self.workdir, "dovecot.conf")
        self.home = os.path.join(self.workdir, "mail", USER)
        self.dovecot_log = os.path.join(self.workdir, "dovecot.log")
        self.relay_log = os.path.join(self.workdir, "relay.log")
        self._relay = None
        self._started = False
        self._next_index = {}

    # -- lifecycle
    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        for sub in ("run", "state", "mail"):
            os.makedirs(os.path.join(self.workdir, sub), exist_ok=True)
        os.makedirs(self.home, exist_ok=True)
        # dovecot's imap runs as nobody: it must be able to reach the home
        os.chmod(self.workdir, 0o755)
        with open(self.conf, "w") as f:
            f.write(DOVECOT_CONF.format(d=self.workdir, port=self.login_port, logout_format=LOGOUT_FORMAT))
        with open(os.path.join(self.workdir, "passwd"), "w") as f:
            f.write("%s:{PLAIN}secret\n" % USER)
        self._chown_mail()
        self._ensure_port_free(self.login_port)
        self._ensure_port_free(self.port)
        subprocess.run([DOVECOT, "-c", self.conf], check=True)
        self._started = True
        self._relay = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "relay", str(self.port),
             self.conf, self.home, self.relay_log],
            stdin=subprocess.DEVNULL, start_new_session=True)
        self._wait_listening(self.port)
        self._wait_listening(self.login_port)
        for folder in self.folders:
            if self.populate:
                self.create_folder(folder)
                self.add_messages(folder, self.messages)
            else:
                self._next_index[folder] = self._server_count(folder) + 1

    def stop(self):
        if self._relay is not None:
            self._relay.kill()
            self._relay.wait()
            self._relay = None
        if self._started:
            subprocess.run(["/usr/bin/doveadm", "-c", self.conf, "stop"], check=False,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self._started = False
        if self._own_workdir and not os.environ.get("TBE2E_KEEP"):
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _chown_mail(self):
        import grp
        import pwd
        uid, gid = pwd.getpwnam("nobody").pw_uid, grp.getgrnam("nogroup").gr_gid
        for root, dirs, files in os.walk(os.path.join(self.workdir, "mail")):
            os.chown(root, uid, gid)
            for name in files:
                os.chown(os.path.join(root, name), uid, gid)

    @staticmethod
    def _ensure_port_free(port):
        s = socket.socket()
        try:
            if s.connect_ex((HOST, port)) == 0:
                raise RuntimeError("port %d on %s is already in use (set TBE2E_PORT_BASE)"
                                   % (port, HOST))
        finally:
            s.close()

    @staticmethod
    def _wait_listening(port, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            s = socket.socket()
            try:
                if s.connect_ex((HOST, port)) == 0:
                    return
            finally:
                s.close()
            time.sleep(0.1)
        raise RuntimeError("nothing listens on %s:%d" % (HOST, port))

    # -- content
    def imap(self):
        """An imaplib client already authenticated (through the relay)."""
        import imaplib
        client = imaplib.IMAP4(HOST, self.port)
        if client.state != "AUTH":
            raise RuntimeError("relay did not greet with PREAUTH")
        return client

    def create_folder(self, folder):
        if folder == "INBOX":
            return
        client = self.imap()
        try:
            wire = '"%s"' % encode_mutf7(folder)
            client.create(wire)
            client.subscribe(wire)
        finally:
            client.logout()

    def add_messages(self, folder, count):
        """Append ``count`` new messages (with new markers) to ``folder``."""
        client = self.imap()
        try:
            wire = '"%s"' % encode_mutf7(folder)
            start = self._next_index.get(folder, 1)
            for index in range(start, start + count):
                typ, data = client.append(wire, None, None, make_message(folder, index))
                if typ != "OK":
                    raise RuntimeError("APPEND to %s failed: %r" % (folder, data))
            self._next_index[folder] = start + count
        finally:
            client.logout()

    def _server_count(self, folder):
        client = self.imap()
        try:
            typ, data = client.select('"%s"' % encode_mutf7(folder), readonly=True)
            return int(data[0]) if typ == "OK" else 0
        finally:
            client.logout()

    def trim_folder(self, folder, keep):
        """Expunge every message of ``folder`` after the first ``keep``."""
        client = self.imap()
        try:
            typ, data = client.select('"%s"' % encode_mutf7(folder))
            if int(data[0]) > keep:
                client.store("%d:*" % (keep + 1), "+FLAGS.SILENT", "(\\Deleted)")
                client.expunge()
            self._next_index[folder] = min(self._next_index.get(folder, 1), keep + 1)
        finally:
            client.logout()

    def message_count(self, folder):
        return self._next_index.get(folder, 1) - 1

    def markers(self, folder):
        return {("TBE2EBODY-%s-%04d" % (marker_token(folder), i)).encode("ascii")
                for i in range(1, self.message_count(folder) + 1)}

    # -- observations
    def logout_stats(self):
        """Every dovecot logout/disconnect line as dict hdr/body counts and bytes."""
        stats = []
        for path in (self.relay_log, self.dovecot_log):
            try:
                with open(path, encoding="utf-8", errors="replace") as f:
                    for line in f:
                        m = LOGOUT_RE.search(line)
                        if m:
                            keys = ("hdr_count", "hdr_bytes", "body_count", "body_bytes")
                            entry = dict(zip(keys, (int(v) for v in m.groups())))
                            entry["line"] = line.rstrip("\n")
                            stats.append(entry)
            except FileNotFoundError:
                pass
        return stats

    def mark_logs(self):
        """Position in the logout lines, to look only at later sessions."""
        return len(self.logout_stats())

    def body_fetches_since(self, mark):
        return sum(s["body_count"] for s in self.logout_stats()[mark:])

    def header_fetches_since(self, mark):
        return sum(s["hdr_count"] for s in self.logout_stats()[mark:])


def run_relay(port, conf, home, log_path):
    """Listen on 127.0.0.1:port; each connection gets a PREAUTHed dovecot imap."""
    import threading
    env = dict(os.environ, USER=USER, HOME=home)
    err = open(log_path, "ab", buffering=0)

    def serve(conn):
        proc = subprocess.Popen([DOVECOT_IMAP, "-c", conf], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=err, env=env, cwd="/",
                                bufsize=0)

        def upstream():
            try:
                while True:
                    data = conn.recv(65536)
                    if not data:
                        break
                    proc.stdin.write(data)
            except OSError:
                pass
            try:
                proc.stdin.close()
            except OSError:
                pass

        threading.Thread(target=upstream, daemon=True).start()
        try:
            while True:
                data = os.read(proc.stdout.fileno(), 65536)
                if not data:
                    break
                conn.sendall(data)
        except OSError:
            pass
        conn.close()
        proc.wait()

    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((HOST, port))
    listener.listen(16)
    while True:
        conn = listener.accept()[0]
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


# ---------------------------------------------------------------- profiles

QUIET_PREFS = {
    "mailnews.start_page.enabled": False,
    "mail.shell.checkDefaultClient": False,
    "mail.shell.checkDefaultMail": False,
    "mail.provider.enabled": False,
    "mail.rights.version": 1,
    "app.update.auto": False,
    "app.update.checkInstallTime": False,
    "extensions.update.enabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "datareporting.policy.dataSubmissionPolicyBypassNotification": True,
    "datareporting.healthreport.uploadEnabled": False,
    "toolkit.telemetry.enabled": False,
    "toolkit.telemetry.unified": False,
    "toolkit.telemetry.archive.enabled": False,
    "browser.shell.checkDefaultBrowser": False,
    "mail.biff.show_alert": False,
    "mail.biff.play_sound": False,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "extensions.getAddons.cache.enabled": False,
    "services.settings.server": "http://127.0.0.1:9/",
    "mail.cloud_files.enabled": False,
    "devtools.console.stdout.chrome": True,
    "browser.dom.window.dump.enabled": True,
    "marionette.port": 0,
    "remote.prefs.recommended": False,
}


def account_prefs(port, offline_download, host=HOST):
    prefs = {
        "mail.accountmanager.accounts": "account1,account2",
        "mail.accountmanager.defaultaccount": "account1",
        "mail.accountmanager.localfoldersserver": "server2",
        "mail.account.account1.identities": "id1",
        "mail.account.account1.server": "server1",
        "mail.account.account2.server": "server2",
        "mail.account.lastKey": 2,
        "mail.identity.id1.fullName": "Alice",
        "mail.identity.id1.useremail": "alice@example.test",
        "mail.identity.id1.valid": True,
        "mail.server.server1.type": "imap",
        "mail.server.server1.hostname": host,
        "mail.server.server1.port": port,
        "mail.server.server1.userName": USER,
        "mail.server.server1.name": "alice@example.test",
        "mail.server.server1.socketType": 0,
        "mail.server.server1.authMethod": 3,
        "mail.server.server1.login_at_startup": True,
        "mail.server.server1.check_new_mail": True,
        "mail.server.server1.offline_download": offline_download,
        "mail.server.server1.autosync_max_age_days": -1,
        "mail.server.server1.directory-rel": "[ProfD]ImapMail/%s" % host,
        "mail.server.server2.type": "none",
        "mail.server.server2.hostname": "Local Folders",
        "mail.server.server2.name": "Local Folders",
        "mail.server.server2.userName": "nobody",
        "mail.server.server2.directory-rel": "[ProfD]Mail/Local Folders",
    }
    if offline_download is None:
        del prefs["mail.server.server1.offline_download"]
    return prefs


def write_prefs(path, prefs):
    lines = ["// prefs.js written by tests/e2e/tbharness.py"]
    lines += ['user_pref("%s", %s);' % (k, pref_literal(v)) for k, v in sorted(prefs.items())]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def make_profile(directory, port, offline_download, host=HOST, extra_prefs=None):
    """Create a fresh profile folder with one IMAP account and Local Folders.

    ``offline_download`` True/False writes that value; None leaves the pref out
    (Thunderbird's default, true).  Returns the absolute profile path.
    """
    directory = os.path.abspath(directory)
    if os.path.exists(directory):
        shutil.rmtree(directory)
    os.makedirs(directory)
    prefs = dict(QUIET_PREFS)
    prefs.update(account_prefs(port, offline_download, host))
    prefs.update(extra_prefs or {})
    write_prefs(os.path.join(directory, "prefs.js"), prefs)
    return directory


def make_profile_root(root, port, offline_download, name="e2e.default", **kw):
    """A profile root (like ~/.thunderbird) with profiles.ini and one profile."""
    os.makedirs(root, exist_ok=True)
    profile = make_profile(os.path.join(root, name), port, offline_download, **kw)
    with open(os.path.join(root, "profiles.ini"), "w") as f:
        f.write("[General]\nStartWithLastProfile=1\nVersion=2\n\n"
                "[Profile0]\nName=default\nIsRelative=1\nPath=%s\nDefault=1\n" % name)
    return profile


def set_pref(profile, name, value):
    """Replace (or add) one user_pref line in prefs.js while Thunderbird is stopped."""
    path = os.path.join(profile, "prefs.js")
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    prefix = 'user_pref("%s",' % name
    new = 'user_pref("%s", %s);' % (name, pref_literal(value))
    out = [new if line.startswith(prefix) else line for line in lines]
    if new not in out:
        out.append(new)
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")


def read_prefs(profile):
    """name -> raw value text of every user_pref line (crude, enough for tests)."""
    prefs = {}
    with open(os.path.join(profile, "prefs.js"), encoding="utf-8") as f:
        for m in re.finditer(r'user_pref\("([^"]+)",\s*(.*?)\);\s*$', f.read(), re.M):
            prefs[m.group(1)] = m.group(2)
    return prefs


def copy_profile(src, dst):
    """Copy a stopped profile; folderCache.json keys are rewritten to ``dst``."""
    if os.path.exists(dst):
        shutil.rmtree(dst)
    shutil.copytree(src, dst, symlinks=True,
                    ignore=shutil.ignore_patterns("lock", "MarionetteActivePort"))
    cache = os.path.join(dst, "folderCache.json")
    if os.path.exists(cache):
        with open(cache, encoding="utf-8") as f:
            data = json.load(f)
        src_abs, dst_abs = os.path.abspath(src), os.path.abspath(dst)
        data = {(dst_abs + k[len(src_abs):] if k.startswith(src_abs + os.sep) else k): v
                for k, v in data.items()}
        with open(cache, "w", encoding="utf-8") as f:
            json.dump(data, f)
    return dst


# ---------------------------------------------------------------- offline store

def imap_store_dirs(profile):
    base = os.path.join(profile, "ImapMail")
    if not os.path.isdir(base):
        return []
    return sorted(os.path.join(base, d) for d in os.listdir(base)
                  if os.path.isdir(os.path.join(base, d)))


def _folder_name(rel):
    parts = rel.split(os.sep)
    parts = [p[:-4] if p.endswith(".sbd") else p for p in parts]
    return "/".join(decode_mutf7(p) for p in parts)


def _is_maildir_folder(path):
    return os.path.isdir(os.path.join(path, "cur")) or os.path.isdir(os.path.join(path, "tmp"))


def _markers_in_file(path):
    try:
        with open(path, "rb") as f:
            return set(MARKER_RE.findall(f.read()))
    except OSError:
        return set()


def markers_on_disk(profile):
    """folder -> set of body markers in the offline store (mbox or maildir).

    Folders that only have a ``.msf`` appear with an empty set.
    """
    result = {}
    for store in imap_store_dirs(profile):
        for root, dirs, files in os.walk(store):
            rel_root = os.path.relpath(root, store)
            if _is_maildir_folder(root):
                dirs[:] = [d for d in dirs if d.endswith(".sbd")]
                found = set()
                for sub in ("cur", "new"):
                    sub_dir = os.path.join(root, sub)
                    if os.path.isdir(sub_dir):
                        for name in os.listdir(sub_dir):
                            found |= _markers_in_file(os.path.join(sub_dir, name))
                result.setdefault(_folder_name(rel_root), set()).update(found)
                continue
            for name in files:
                path = os.path.join(root, name)
                rel = name if rel_root == "." else os.path.join(rel_root, name)
                if name.endswith(".msf"):
                    result.setdefault(_folder_name(rel[:-4]), set())
                elif "." not in name or not re.search(r"\.(dat|json|sqlite|tmp|bak)$", name):
                    result.setdefault(_folder_name(rel), set()).update(_markers_in_file(path))
    return result


def bodies_on_disk(profile):
    """folder -> number of distinct body markers found in the offline store."""
    return {folder: len(found) for folder, found in markers_on_disk(profile).items()}


def msf_folders(profile):
    """Folder names that have a ``.msf`` summary under ImapMail/."""
    names = set()
    for store in imap_store_dirs(profile):
        for root, dirs, files in os.walk(store):
            for name in files:
                if name.endswith(".msf"):
                    rel = os.path.relpath(os.path.join(root, name[:-4]), store)
                    names.add(_folder_name(rel))
    return names


def read_folder_cache(profile):
    path = os.path.join(profile, "folderCache.json")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def imap_cache_entries(profile):
    """folder name -> folderCache.json entry, for the IMAP folders only."""
    cache = read_folder_cache(profile) or {}
    result = {}
    for store in imap_store_dirs(profile):
        prefix = store + os.sep
        for key, entry in cache.items():
            if key.startswith(prefix) and key.endswith(".msf"):
                result[_folder_name(key[len(prefix):-4])] = entry
    return result


# ---------------------------------------------------------------- Marionette

class Marionette:
    """Commands by name to Thunderbird's Marionette server, over
    marionette-driver's transport (tests/lib/tbmarionette.py); a session,
    when wanted, is the caller's ``WebDriver:NewSession``."""

    def __init__(self, port, host=HOST, timeout=30):
        self.transport = tbmarionette.TcpTransport(host, port, timeout)
        protocol, application = self.transport.connect()
        self.hello = {"marionetteProtocol": protocol, "applicationType": application}

    def send(self, name, params=None):
        answer = self.transport.request(name, params or {})
        if answer.error:
            raise RuntimeError("Marionette %s failed: %r" % (name, answer.error))
        return answer.result

    def close(self):
        try:
            self.transport.close()
        except OSError:
            pass


# ---------------------------------------------------------------- Thunderbird

def _process_group_pss_kb(pgid):
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if os.getpgid(int(pid)) != pgid:
                continue
            with open("/proc/%s/smaps_rollup" % pid) as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
        except (OSError, ValueError):
            continue
    return total


class Thunderbird:
    """One headless Thunderbird run on a profile.

    ``with Thunderbird(profile) as tb: tb.wait_for(...)`` quits orderly (via
    Marionette) on exit of the block.
    """

    def __init__(self, profile, home=None, binary=THUNDERBIRD, start_timeout=60,
                 quit_timeout=40, moz_log=None):
        self.profile = os.path.abspath(profile)
        self.home = home or os.path.join(os.path.dirname(self.profile),
                                         "home-" + os.path.basename(self.profile))
        self.binary = binary
        self.start_timeout = start_timeout
        self.quit_timeout = quit_timeout
        self.moz_log = moz_log
        self.proc = None
        self.started_at = None
        self.peak_pss_kb = 0
        self.how_ended = None
        self.output_path = os.path.join(self.home, "thunderbird.out")

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        if self.proc is not None and self.proc.poll() is None:
            self.quit()

    def start(self):
        os.makedirs(self.home, exist_ok=True)
        port_file = os.path.join(self.profile, "MarionetteActivePort")
        if os.path.exists(port_file):
            os.remove(port_file)
        # Thunderbird saves the port it got into prefs.js: ask for a free one again.
        if read_prefs(self.profile).get("marionette.port", "0") != "0":
            set_pref(self.profile, "marionette.port", 0)
        env = dict(os.environ, HOME=self.home, MOZ_HEADLESS="1",
                   MOZ_CRASHREPORTER_DISABLE="1", XDG_CONFIG_HOME=os.path.join(self.home, ".config"))
        for var in ("DISPLAY", "WAYLAND_DISPLAY"):
            env.pop(var, None)
        if self.moz_log:
            env["MOZ_LOG"] = self.moz_log
            env["MOZ_LOG_FILE"] = os.path.join(self.home, "moz.log")
        out = open(self.output_path, "ab")
        self.started_at = time.time()
        self.proc = subprocess.Popen(
            [self.binary, "--headless", "--marionette", "--profile", self.profile],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env,
            start_new_session=True)
        out.close()
        self.marionette_port = self._wait_marionette_port(port_file)
        return self

    def _wait_marionette_port(self, port_file):
        deadline = time.time() + self.start_timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("Thunderbird exited early (rc=%s), see %s"
                                   % (self.proc.returncode, self.output_path))
            try:
                with open(port_file) as f:
                    text = f.read().strip()
                if text:
                    return int(text)
            except (OSError, ValueError):
                pass
            self._sample_memory()
            time.sleep(0.2)
        self.kill("no MarionetteActivePort after %ds" % self.start_timeout)
        raise RuntimeError("Thunderbird did not start Marionette within %ds" % self.start_timeout)

    def elapsed(self):
        return time.time() - self.started_at

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def _sample_memory(self):
        if self.running():
            self.peak_pss_kb = max(self.peak_pss_kb, _process_group_pss_kb(self.proc.pid))

    def wait_for(self, predicate, timeout, interval=0.5):
        """Poll ``predicate()`` until true (returns True) or ``timeout`` s (False)."""
        deadline = time.time() + timeout
        while True:
            if predicate():
                return True
            if not self.running():
                raise RuntimeError("Thunderbird exited while waiting (rc=%s)" % self.proc.returncode)
            if time.time() >= deadline:
                return False
            self._sample_memory()
            time.sleep(interval)

    def wait_idle(self, quiet=5.0, timeout=60, interval=0.5):
        """Wait until nothing under ImapMail/ changed (size, mtime) for ``quiet`` s."""
        state = {"snap": None, "since": time.time()}

        def settled():
            snap = _tree_signature(os.path.join(self.profile, "ImapMail"))
            if snap != state["snap"]:
                state["snap"], state["since"] = snap, time.time()
            return time.time() - state["since"] >= quiet

        return self.wait_for(settled, timeout, interval)

    def quit(self):
        """Orderly quit through Marionette; SIGKILL if it does not exit in time.

        Returns "orderly" or "killed" (also kept in ``how_ended``).
        """
        if not self.running():
            self.how_ended = self.how_ended or "exited"
            return self.how_ended
        try:
            tbmarionette.attach(self.marionette_port, timeout=self.quit_timeout).in_app_quit()
        except tbmarionette.FAILURES as exc:
            log("Marionette quit request failed: %s" % exc)
        try:
            self.proc.wait(timeout=self.quit_timeout)
            self.how_ended = "orderly"
            if not os.path.exists(os.path.join(self.profile, "folderCache.json")):
                log("orderly quit but no folderCache.json in %s" % self.profile)
        except subprocess.TimeoutExpired:
            self.kill("Thunderbird did not exit within %ds after Marionette:Quit"
                      % self.quit_timeout)
        self._reap_group()
        return self.how_ended

    def kill(self, reason="requested"):
        """SIGKILL the whole Thunderbird process group (not an orderly quit)."""
        if self.proc is None:
            return
        log("SIGKILL Thunderbird (pid %d): %s" % (self.proc.pid, reason))
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        self.how_ended = "killed"
        self._reap_group()

    def _reap_group(self):
        """Content processes of this run that outlived the main one get SIGKILL."""
        deadline = time.time() + 5
        while time.time() < deadline:
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _tree_signature(path):
    sig = []
    for root, dirs, files in os.walk(path):
        for name in files:
            try:
                st = os.stat(os.path.join(root, name))
            except OSError:
                continue
            sig.append((root, name, st.st_size, st.st_mtime_ns))
    return sorted(sig)


def all_folders_listed(profile, folders=FOLDERS):
    return lambda: set(folders) <= msf_folders(profile)


def bodies_reached(profile, expected):
    """Predicate: each folder of ``expected`` (folder -> n) has >= n bodies."""
    def check():
        got = bodies_on_disk(profile)
        return all(got.get(folder, 0) >= n for folder, n in expected.items())
    return check


def sync_profile(profile, timeout=60, quiet=3.0, kill=False):
    """First Thunderbird run on a profile: wait until every folder is known,
    then quit orderly (or SIGKILL when ``kill``).  Returns the Thunderbird."""
    tb = Thunderbird(profile)
    with tb:
        if not tb.wait_for(all_folders_listed(profile), timeout):
            raise RuntimeError("folders not all listed after %ds: %s"
                               % (timeout, sorted(msf_folders(profile))))
        tb.wait_idle(quiet=quiet, timeout=timeout)
        if kill:
            tb.kill("first session ended without orderly quit on purpose")
    return tb


if __name__ == "__main__" and len(sys.argv) == 6 and sys.argv[1] == "relay":
    run_relay(int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5])
