"""Have the real Thunderbird write prefs.js files for corpus/tb-written/.

    python tests/agreement/make_tb_written.py

Each profile is started headless, given some prefs, then quit in an orderly
way (Marionette:Quit), which saves prefs.js; that file is copied as is. Needs
Thunderbird; the agreement test only reads the committed results. No account
reaches a server: the IMAP and POP servers point at 127.0.0.1 port 9 with
every automatic check off.
"""

import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import tbprefs  # noqa: E402

OUT_DIR = os.path.join(HERE, "corpus", "tb-written")

ACCOUNTS = {
    "mail.accountmanager.accounts": "account1,account2,account3",
    "mail.accountmanager.defaultaccount": "account1",
    "mail.accountmanager.localfoldersserver": "server3",
    "mail.account.account1.identities": "id1",
    "mail.account.account1.server": "server1",
    "mail.account.account2.identities": "id2",
    "mail.account.account2.server": "server2",
    "mail.account.account3.server": "server3",
    "mail.account.lastKey": 3,
    "mail.identity.id1.fullName": "Bo\u00eete acad\u00e9mique",
    "mail.identity.id1.useremail": "eleve@ac-exemple.test",
    "mail.identity.id1.smtpServer": "smtp1",
    "mail.identity.id1.valid": True,
    "mail.identity.id2.fullName": "Secr\u00e9tariat \"principal\"",
    "mail.identity.id2.useremail": "secretariat@ac-exemple.test",
    "mail.identity.id2.valid": True,
    "mail.server.server1.type": "imap",
    "mail.server.server1.hostname": "127.0.0.1",
    "mail.server.server1.port": 9,
    "mail.server.server1.userName": "eleve",
    "mail.server.server1.name": "Bo\u00eete acad\u00e9mique",
    "mail.server.server1.socketType": 0,
    "mail.server.server1.authMethod": 3,
    "mail.server.server1.login_at_startup": False,
    "mail.server.server1.check_new_mail": False,
    "mail.server.server1.offline_download": False,
    "mail.server.server1.autosync_max_age_days": 30,
    "mail.server.server1.directory-rel": "[ProfD]ImapMail/127.0.0.1",
    "mail.server.server2.type": "pop3",
    "mail.server.server2.hostname": "127.0.0.1",
    "mail.server.server2.port": 9,
    "mail.server.server2.userName": "secretariat",
    "mail.server.server2.name": "Secr\u00e9tariat",
    "mail.server.server2.login_at_startup": False,
    "mail.server.server2.check_new_mail": False,
    "mail.server.server2.leave_on_server": True,
    "mail.server.server3.type": "none",
    "mail.server.server3.hostname": "Local Folders",
    "mail.server.server3.name": "Local Folders",
    "mail.server.server3.userName": "nobody",
    "mail.smtpservers": "smtp1",
    "mail.smtpserver.smtp1.hostname": "127.0.0.1",
    "mail.smtpserver.smtp1.port": 9,
    "mail.smtpserver.smtp1.username": "eleve",
    "mail.biff.show_alert": False,
    "mail.biff.play_sound": False,
}

# Set through the API, so that Thunderbird itself escapes them when it saves.
# Strings are one JS character per byte (see tbprefs.to_js), so invalid UTF-8
# and every control character can be written.
WRITTEN = [
    ("agree.w.backslash", "a\\b\\\\c\\"),
    ("agree.w.quotes", "double \" single ' both \"'"),
    ("agree.w.newlines", "lf\ncrlf\r\ncr\rend"),
    ("agree.w.controls", "".join(chr(c) for c in range(1, 32)) + "\x7f"),
    ("agree.w.utf8", tbprefs.to_js("\u00e9l\u00e8ve \u20ac \U0001F600 \u65e5\u672c")),
    ("agree.w.invalid_utf8", "\xff\xfe \xc3( \x80"),
    ("agree.w.escapes_as_text", "\\n \\x41 \\u00e9 /* // #"),
    ("agree.w.empty", ""),
    ("agree.w.long", "0123456789" * 500),
    ("agree.w.int_max", 2147483647),
    ("agree.w.int_min", -2147483648),
    ("agree.w.zero", 0),
    ("agree.w.minus_one", -1),
    ("agree.w.true", True),
    ("agree.w.false", False),
    ("agree.w.name with spaces", 1),
    ("agree.w.name\"quote", 2),
    ("agree.w.name\\backslash", 3),
    ("agree.w.name\nnewline", 4),
    (tbprefs.to_js("agree.w.\u00e9l\u00e8ve"), 5),
    ("agree.w.name'single", 6),
]

SET_SCRIPT = r"""
const [items] = arguments;
const prefs = Services.prefs;
for (const [name, value] of items) {
  if (typeof value == "boolean") prefs.setBoolPref(name, value);
  else if (typeof value == "number") prefs.setIntPref(name, value);
  else prefs.setCharPref(name, value);
}
return prefs.getChildList("agree.w.").length;
"""


def written_by_thunderbird(prefs, items=()):
    workdir = tempfile.mkdtemp(prefix="h5a-written-", dir="/tmp")
    try:
        data = "".join('user_pref("%s", %s);\n' % (name, tbprefs.pref_literal(value))
                       for name, value in prefs.items()).encode("utf-8")
        session = tbprefs.ThunderbirdPrefs(workdir=workdir, prefs_js=data)
        session.start()
        try:
            if items:
                session.execute(SET_SCRIPT, [[list(item) for item in items]])
        finally:
            session.close(orderly=True)
        with open(os.path.join(session.profile, "prefs.js"), "rb") as f:
            return f.read()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    outputs = {
        "quiet-start.bin": written_by_thunderbird(tbprefs.QUIET_PREFS),
        "accounts.bin": written_by_thunderbird(dict(tbprefs.QUIET_PREFS, **ACCOUNTS)),
        "escaped-values.bin": written_by_thunderbird(tbprefs.QUIET_PREFS, WRITTEN),
    }
    for filename, data in outputs.items():
        with open(os.path.join(OUT_DIR, filename), "wb") as f:
            f.write(data)
        print("%s: %d bytes" % (filename, len(data)))


if __name__ == "__main__":
    main()
