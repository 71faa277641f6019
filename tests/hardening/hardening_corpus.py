# -*- coding: utf-8 -*-
"""The adversarial corpus: every case builds a sandbox, says what the module
must answer for each profile, and hlib.judge counts anything else.

Expected statuses are those of thunderbird_offline: ``changed`` (and then the
files must be valid and keep every user value), ``unchanged``,
``skipped_running``, or ``error`` with a message pattern (and then the
profile's files must be byte-identical).
"""

import ast
import fcntl
import json
import os
import random
import re
import resource
import shutil
import signal
import stat
import subprocess
import time

import hlib
from hlib import OTHER, OWNER, Case

from ansible_collections.rectorat.thunderbird.plugins.module_utils import budget, collect, prefs

CASES = []
MAX_FILE = collect.DEFAULT_MAX_FILE_BYTES
OFFLINE_LINE = b'user_pref("mail.server.server1.offline_download", false);'


def case(name, group, **limits):
    def register(build):
        CASES.append(Case(name, group, build, **limits))
        return build
    return register


def add(name, group, build, **limits):
    CASES.append(Case(name, group, build, **limits))


def random_bytes(seed, count):
    rng = random.Random(seed)
    return bytes(rng.randrange(256) for i in range(count))


def prefs_of(profile):
    return os.path.join(profile, "prefs.js")


def rewrite(sb, path, fn):
    """Replace the bytes of ``path`` by fn(bytes), keeping owner and mode."""
    st = os.lstat(path)
    sb.write(path, fn(sb.read(path)), uid=st.st_uid, gid=st.st_gid, mode=stat.S_IMODE(st.st_mode))


def line_of(data, needle):
    """1-based number of the line holding ``needle``."""
    return data[:data.index(needle)].count(b"\n") + 1


def records(result):
    return hlib.records_of(result)[0]


def account_check(path, **wanted):
    """A verify hook: the first account of ``path`` has these facts."""
    def check(sb, result):
        record = records(result).get(path)
        if record is None or not record["accounts"]:
            return ["%s has no accounts" % path]
        account = record["accounts"][0]
        return ["%s: %s is %r, expected %r" % (path, k, account.get(k), v)
                for k, v in wanted.items() if account.get(k) != v]
    return check


def record_check(path, **wanted):
    def check(sb, result):
        record = records(result).get(path)
        if record is None:
            return ["no record for %s" % path]
        return ["%s: %s is %r, expected %r" % (path, k, record.get(k), v)
                for k, v in wanted.items() if record.get(k) != v]
    return check


def problem_check(path, regex):
    """A verify hook: some account of ``path`` lists a problem matching ``regex``."""
    def check(sb, result):
        record = records(result).get(path) or {}
        problems = [p for a in record.get("accounts", []) for p in a.get("problems", [])]
        if not any(re.search(regex, p) for p in problems):
            return ["%s: no problem matching %r in %r" % (path, regex, problems)]
        return []
    return check


def ready(path):
    return account_check(path, offline_download=True, backup_ready=True)


# --- 1. prefs.js syntax: one case per parser error class and position ----------------

# Each snippet, on a line of its own, makes the parser report ``message`` on
# that line (and nothing earlier).
SYNTAX = [
    ("no-keyword", b";", "expected 'user_pref' at start of pref definition"),
    ("no-paren", b'user_pref "a", 1);', "expected '(' after pref specifier"),
    ("no-name", b"user_pref(1, 1);", "expected pref name after '('"),
    ("no-comma", b'user_pref("a" 1);', "expected ',' after pref name"),
    ("no-value", b'user_pref("a", );', "expected pref value after ','"),
    ("overflow-i32", b'user_pref("a", 2147483648);', "integer literal overflowed"),
    ("overflow-u32", b'user_pref("a", 99999999999);', "integer literal overflowed"),
    ("minus-no-int", b'user_pref("a", -true);', "expected integer literal after '-'"),
    ("plus-no-int", b'user_pref("a", +"1");', "expected integer literal after '+'"),
    ("no-close-paren", b'user_pref("a", 1, locked);', "expected ')' after pref value"),
    ("no-semicolon", b'user_pref("a", 1) user_pref("b", 2);', "expected ';' after ')'"),
    ("unknown-keyword", b'user_pref("a", hello);', "unknown keyword"),
    ("int-then-letter", b'user_pref("a", 12ab);', "unexpected character in integer literal"),
    ("open-comment", b"/* never closed", "unterminated /* comment"),
    ("lone-slash", b'user_pref("a", 1) / ;', "expected '/' or '*' after '/'"),
    ("bad-char", b'user_pref("a", &1);', "unexpected character"),
    ("open-string", b'user_pref("a", "open\x00', "unterminated string literal"),
    ("bad-x-escape", b'user_pref("a", "\\x4");', "malformed \\x escape sequence"),
    ("x00-escape", b'user_pref("a", "\\x00");', "\\x00 is not allowed"),
    ("bad-u-escape", b'user_pref("a", "\\u12");', "malformed \\u escape sequence"),
    ("high-alone", b'user_pref("a", "\\ud83d");', "expected low surrogate after high surrogate"),
    ("high-bad-low", b'user_pref("a", "\\ud83d\\u0041");', "invalid low surrogate after high surrogate"),
    ("low-alone", b'user_pref("a", "\\ude00");', "expected high surrogate before low surrogate"),
    ("u0000-escape", b'user_pref("a", "\\u0000");', "\\u0000 is not allowed"),
    ("bad-escape", b'user_pref("a", "\\q");', "unexpected escape sequence character after '\\'"),
]
_MESSAGE_START = ("expected", "unexpected", "unknown", "unterminated", "malformed", "invalid",
                  "integer", "\\x00", "\\u0000")


def parser_error_messages():
    """Every error message in prefs.py, read from its source: the corpus
    must have a snippet for each (a new error class fails the suite)."""
    with open(prefs.__file__.replace(".pyc", ".py")) as f:
        tree = ast.parse(f.read())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                node.value.startswith(_MESSAGE_START) and "\n" not in node.value and "%d" not in node.value:
            if "%s" in node.value:
                found.update(node.value % sign for sign in "+-")
            else:
                found.add(node.value)
    return found


def syntax_regex(name, line, message):
    return r"^%s does not parse: line %d, column \d+: %s" % (re.escape(name), line, re.escape(message))


def prefs_syntax_case(snippet, message, position):
    def build(sb):
        profile = sb.profile(expect=None)
        data = sb.read(prefs_of(profile))
        if position == "top":
            new, line = snippet + b"\n" + data, 1
        elif position == "middle":
            line = line_of(data, OFFLINE_LINE)
            at = data.index(OFFLINE_LINE)
            new = data[:at] + snippet + b"\n" + data[at:]
        else:
            new, line = data + snippet, data.count(b"\n") + 1
        rewrite(sb, prefs_of(profile), lambda _: new)
        sb.expect(profile, "error", syntax_regex("prefs.js", line, message))
    return build


def userjs_syntax_case(snippet, message):
    def build(sb):
        profile = sb.profile(expect=None, user_js=(
            b'user_pref("mail.server.server1.check_new_mail", true);\n' + snippet +
            b'\nuser_pref("mail.server.server1.offline_download", false);\n'))
        hlib.chown_tree(profile, OWNER)
        sb.expect(profile, "error", syntax_regex("user.js", 2, message))
    return build


for _key, _snippet, _message in SYNTAX:
    for _position in ("top", "middle", "end"):
        add("prefs-syntax/%s/%s" % (_key, _position), "prefs-syntax",
            prefs_syntax_case(_snippet, _message, _position))
    add("userjs-syntax/%s" % _key, "userjs-syntax", userjs_syntax_case(_snippet, _message))


# --- 2. NUL bytes ------------------------------------------------------------------------

@case("nul/last-byte", "nul")
def case_nul_last_byte(sb):
    profile = sb.profile(expect="error", error=r"NUL")
    rewrite(sb, prefs_of(profile), lambda d: d + b"\x00")


@case("nul/before-last-pref", "nul")
def case_nul_before_last_pref(sb):
    profile = sb.profile(expect="error", error=r"NUL")
    rewrite(sb, prefs_of(profile), lambda d: d[:d.rindex(b"user_pref")] + b"\x00" + d[d.rindex(b"user_pref"):])


@case("nul/before-the-imap-server", "nul")
def case_nul_before_the_imap_server(sb):
    # Thunderbird stops reading at the NUL: server1 loses its type, so it is
    # no IMAP account any more and there is nothing to do.
    profile = sb.profile(expect="unchanged")
    rewrite(sb, prefs_of(profile), lambda d: d.replace(b'user_pref("mail.server.server1', b'\x00user_pref("mail.server.server1', 1))


@case("nul/in-line-comment", "nul")
def case_nul_in_line_comment(sb):
    profile = sb.profile()
    rewrite(sb, prefs_of(profile), lambda d: d.replace(b"// DO NOT EDIT THIS FILE.", b"// DO NOT EDIT THIS FILE.\x00", 1))
    sb.verify.append(ready(profile))


@case("nul/in-string", "nul")
def case_nul_in_string(sb):
    profile = sb.profile(expect=None)
    data = sb.read(prefs_of(profile))
    rewrite(sb, prefs_of(profile), lambda d: d.replace(b'"Alice"', b'"Al\x00ice"'))
    sb.expect(profile, "error", syntax_regex("prefs.js", line_of(data, b'"Alice"'), "unterminated string literal"))


# --- 3. encodings and binary content ------------------------------------------------------

def replace_in_prefs(old, new, expect="changed", error=None, name="prefs.js", check=True):
    def build(sb):
        profile = sb.profile(expect=expect, error=error)
        rewrite(sb, os.path.join(profile, name), lambda d: d.replace(old, new) if old else new(d))
        if expect == "changed" and check:
            sb.verify.append(ready(profile))
    return build


add("encoding/latin1-in-string", "encoding", replace_in_prefs(b'"Alice"', b'"Ren\xe9e"'))
add("encoding/invalid-utf8-in-name", "encoding",
    replace_in_prefs(b'user_pref("mail.identity.id1.fullName"', b'user_pref("mail.identity.id1.full\xff\xfeName"'))
add("encoding/utf8-4-byte", "encoding", replace_in_prefs(b'"Alice"', "\"Alice \U0001F600\"".encode("utf-8")))
add("encoding/control-chars-in-string", "encoding", replace_in_prefs(b'"Alice"', b'"A\x01\x02\x1b[31mlice"'))
add("encoding/u-escapes", "encoding", replace_in_prefs(b'"Alice"', b'"\\u00c9lise \\ud83d\\ude00"'))
add("encoding/bom", "encoding", replace_in_prefs(None, lambda d: b"\xef\xbb\xbf" + d))
add("encoding/crlf", "encoding", replace_in_prefs(None, lambda d: d.replace(b"\n", b"\r\n")))
add("encoding/cr-only", "encoding", replace_in_prefs(None, lambda d: d.replace(b"\n", b"\r")))
add("encoding/mixed-line-ends", "encoding",
    replace_in_prefs(None, lambda d: b"".join(l + (b"\r\n", b"\n", b"\r")[i % 3]
                                              for i, l in enumerate(d.split(b"\n")))))
add("encoding/no-final-newline", "encoding", replace_in_prefs(None, lambda d: d.rstrip(b"\n")))
add("encoding/single-quotes", "encoding",
    replace_in_prefs(OFFLINE_LINE, b"user_pref('mail.server.server1.offline_download', false);"))
add("encoding/statement-over-lines", "encoding",
    replace_in_prefs(OFFLINE_LINE, b'user_pref(\n  "mail.server.server1.offline_download" /* c */,\r\n false // x\n);'))
add("encoding/utf16le", "encoding",
    replace_in_prefs(None, lambda d: b"\xff\xfe" + d.decode("utf-8").encode("utf-16-le"),
                     expect="error", error=syntax_regex("prefs.js", 1, "unexpected character")))
add("encoding/random-bytes", "encoding",
    replace_in_prefs(None, lambda d: random_bytes(7, 4096),
                     expect="error", error=r"^prefs\.js does not parse: line \d+"))
add("encoding/bom-in-the-middle", "encoding",
    replace_in_prefs(OFFLINE_LINE, b"\xef\xbb\xbf" + OFFLINE_LINE, expect="error",
                     error=r"^prefs\.js does not parse: line \d+, column 1: unexpected character"))
add("encoding/high-byte-outside-strings", "encoding",
    replace_in_prefs(OFFLINE_LINE, OFFLINE_LINE + b" \xff", expect="error",
                     error=r"^prefs\.js does not parse: .*unexpected character"))
add("encoding/empty-prefs", "encoding", replace_in_prefs(None, lambda d: b"", expect="unchanged"))
add("encoding/comments-only", "encoding",
    replace_in_prefs(None, lambda d: b"// nothing\n/* at */ # all\n", expect="unchanged"))
add("encoding/elf-binary", "encoding",
    replace_in_prefs(None, lambda d: open("/bin/true", "rb").read()[:65536], expect="error",
                     error=r"^prefs\.js does not parse"))


def _userjs_latin1(sb):
    profile = sb.profile(user_js=b'user_pref("mail.identity.id1.fullName", "Ren\xe9e");\n'
                                 b'user_pref("mail.server.server1.offline_download", false);\n')
    hlib.chown_tree(profile, OWNER)
    sb.verify.append(ready(profile))


add("encoding/userjs-latin1", "encoding", _userjs_latin1)


@case("encoding/compatibility-ini-binary", "encoding")
def case_encoding_compatibility_ini_binary(sb):
    profile = sb.profile()
    sb.write(os.path.join(profile, "compatibility.ini"), bytes(range(256)) * 4)
    sb.verify.append(record_check(profile, version=None))


# --- 4. huge files: bounded time and memory, refusal past the limits ------------------------

def big_prefs(size):
    """A valid prefs.js of about ``size`` bytes, with the test account in it."""
    def grow(data):
        line = b'user_pref("extensions.filler.pref%08d", "some value some value some value");\n'
        count = max(0, (size - len(data)) // len(line % 0))
        return data + b"".join(line % i for i in range(count))
    return grow


@case("huge/prefs-just-under-limit", "huge", timeout=120, max_seconds=60, max_rss_mb=1536)
def case_huge_prefs_just_under_limit(sb):
    profile = sb.profile()
    sb.second_run = False
    rewrite(sb, prefs_of(profile), big_prefs(MAX_FILE - 200))
    assert os.path.getsize(prefs_of(profile)) <= MAX_FILE
    sb.verify.append(ready(profile))


@case("huge/prefs-one-byte-over-limit", "huge", max_seconds=10)
def case_huge_prefs_one_byte_over_limit(sb):
    profile = sb.profile(expect="error", error=r"prefs\.js is too large \(%d bytes, limit %d\)" % (MAX_FILE + 1, MAX_FILE))
    rewrite(sb, prefs_of(profile), lambda d: d + b" " * (MAX_FILE + 1 - len(d)))


@case("huge/prefs-sparse-64GiB", "huge", max_seconds=10)
def case_huge_prefs_sparse_64GiB(sb):
    profile = sb.profile(expect="error", error=r"prefs\.js is too large")
    os.truncate(prefs_of(profile), 64 << 30)


@case("huge/userjs-sparse-1GiB", "huge", max_seconds=10)
def case_huge_userjs_sparse_1GiB(sb):
    profile = sb.profile(expect="error", error=r"user\.js is too large", user_js="")
    os.chown(os.path.join(profile, "user.js"), OWNER, OWNER)
    os.truncate(os.path.join(profile, "user.js"), 1 << 30)


@case("huge/foldercache-over-limit", "huge", max_seconds=10)
def case_huge_foldercache_over_limit(sb):
    profile = sb.profile(expect="error", error=r"folderCache\.json is too large")
    os.truncate(os.path.join(profile, "folderCache.json"), MAX_FILE + 4096)


@case("huge/compatibility-ini-over-limit", "huge", max_seconds=10)
def case_huge_compatibility_ini_over_limit(sb):
    profile = sb.profile(expect="error", error=r"compatibility\.ini is too large")
    os.truncate(os.path.join(profile, "compatibility.ini"), 2 * MAX_FILE)


@case("huge/profiles-ini-sparse-8GiB", "huge", max_seconds=10)
def case_huge_profiles_ini_sparse_8GiB(sb):
    sb.profile()
    sb.profiles_ini("[Profile0]\nPath=aaaa.default\n")
    os.truncate(os.path.join(sb.root, "profiles.ini"), 8 << 30)


@case("huge/msf-sparse-over-limit", "huge", max_seconds=10)
def case_huge_msf_sparse_over_limit(sb):
    profile = sb.fixture_profile("aaaa.default")
    inbox = os.path.join(profile, "ImapMail", "127.0.0.1", "INBOX.msf")
    os.truncate(inbox, 4 * MAX_FILE)
    sb.verify.append(problem_check(profile, r"INBOX\.msf is too large"))


@case("huge/one-15MB-string", "huge", timeout=120, max_seconds=60, max_rss_mb=1536)
def case_huge_one_15MB_string(sb):
    profile = sb.profile()
    sb.second_run = False
    rewrite(sb, prefs_of(profile), lambda d: d + b'user_pref("x.big", "' + b"A" * (15 << 20) + b'");\n')
    sb.verify.append(ready(profile))


def pathological(name, data, message):
    @case("huge/pathological-%s" % name, "huge", timeout=120, max_seconds=15, max_rss_mb=512)
    def build(sb):
        profile = sb.profile(expect="error", error=r"^prefs\.js does not parse: line \d+, column \d+: " + re.escape(message))
        rewrite(sb, prefs_of(profile), lambda d: data)


pathological("1MiB-of-semicolons", b";" * (1 << 20), "expected 'user_pref' at start of pref definition")
pathological("open-comments", b"/* x " * (1 << 18), "unterminated /* comment")
pathological("quotes", b'"' * (1 << 20), "expected 'user_pref' at start of pref definition")
pathological("backslashes-in-string", b'user_pref("a", "' + b"\\" * (1 << 20) + b"\x00",
             "unterminated string literal")
pathological("user_pref-repeated", b"user_pref(" * (100 << 10), "expected pref name after '('")
pathological("deep-parens", b"(" * (1 << 20), "expected 'user_pref' at start of pref definition")


@case("huge/30000-files-in-the-store", "huge", timeout=120, max_seconds=30)
def case_huge_30000_files_in_the_store(sb):
    profile = sb.profile()
    store = os.path.join(profile, "ImapMail", "imap.ac-test.fr", "Archives.sbd")
    os.makedirs(store)
    for i in range(30000):
        os.close(os.open(os.path.join(store, "m%05d" % i), os.O_CREAT | os.O_WRONLY, 0o600))
    hlib.chown_tree(store, OWNER)
    os.chown(os.path.dirname(store), OWNER, OWNER)


@case("huge/tree-over-entry-limit", "huge", timeout=180, max_seconds=60)
def case_huge_tree_over_entry_limit(sb):
    profile = sb.profile(expect="error", error=r"more than %d files below the profile" % collect.MAX_TREE_ENTRIES)
    store = sb.mount_tmpfs(os.path.join(profile, "Mail", "many"), size="16m", extra="nr_inodes=300000")
    fd = os.open(store, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for i in range(collect.MAX_TREE_ENTRIES + 10):
            os.mknod("%06d" % i, 0o600 | stat.S_IFREG, dir_fd=fd)
    finally:
        os.close(fd)
    sb.second_run = False


@case("huge/deep-folder-nesting", "huge", max_seconds=30)
def case_huge_deep_folder_nesting(sb):
    profile = sb.profile(expect="error", error=r"File name too long")
    fd = os.open(os.path.join(profile, "ImapMail", "imap.ac-test.fr"), os.O_RDONLY | os.O_DIRECTORY)
    for i in range(700):
        name = "f%03d.sbd" % i
        os.mkdir(name, dir_fd=fd)
        os.chown(name, OWNER, OWNER, dir_fd=fd)
        os.close(os.open("x.msf", os.O_CREAT | os.O_WRONLY, 0o600, dir_fd=fd))
        child = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = child
    os.close(fd)


# --- 5. profiles.ini oddities -------------------------------------------------------------------

def ini_case(text_fn, profiles=("aaaa.default",), outside=(), checks=()):
    """profiles.ini from text_fn(sandbox); ``outside``: (path, regex) error records."""
    def build(sb):
        made = dict((name, sb.profile(name)) for name in profiles)
        text = text_fn(sb)
        sb.profiles_ini(text)
        for path_fn, regex in outside:
            sb.expect(path_fn(sb), "error", regex)
        for check in checks:
            sb.verify.append(check(sb, made))
    return build


def names_are(**expected):
    def check(sb, made):
        def verify(_sb, result):
            recs = records(result)
            out = []
            for folder, (name, default) in expected.items():
                rec = recs.get(made[folder]) or {}
                if (rec.get("name"), rec.get("default")) != (name, default):
                    out.append("%s: name/default %r, expected %r" % (folder, (rec.get("name"), rec.get("default")), (name, default)))
            return out
        return verify
    return check


add("profiles-ini/gap-in-numbering", "profiles-ini", ini_case(
    lambda sb: "[Profile0]\nName=first\nPath=aaaa.default\n\n[Profile2]\nName=third\nPath=bbbb.second\n",
    profiles=("aaaa.default", "bbbb.second"),
    checks=[names_are(**{"aaaa.default": ("first", True), "bbbb.second": ("bbbb.second", False)})]))
add("profiles-ini/absolute-inside-root", "profiles-ini", ini_case(
    lambda sb: "[Profile0]\nName=abs\nIsRelative=0\nPath=%s/aaaa.default\nDefault=1\n" % sb.root,
    checks=[names_are(**{"aaaa.default": ("abs", True)})]))
add("profiles-ini/absolute-other-user", "profiles-ini", ini_case(
    lambda sb: "[Profile0]\nName=mine\nPath=aaaa.default\n[Profile1]\nName=theirs\nIsRelative=0\nPath=%s\n"
    % sb.other_profile(),
    outside=[(lambda sb: os.path.join(sb.other, ".thunderbird", "zzzz.other"), r"outside .*pass its path")]))
add("profiles-ini/dotdot-escapes-root", "profiles-ini", ini_case(
    lambda sb: (sb.other_profile(), "[Profile0]\nPath=aaaa.default\n[Profile1]\nName=x\n"
                "Path=../../other/.thunderbird/zzzz.other\n")[1],
    outside=[(lambda sb: "../../other/.thunderbird/zzzz.other", r"leaves the Thunderbird folder")]))
add("profiles-ini/dotdot-inside-path", "profiles-ini", ini_case(
    lambda sb: "[Profile0]\nPath=aaaa.default\n[Profile1]\nPath=aaaa.default/../../../canary\n",
    outside=[(lambda sb: "aaaa.default/../../../canary", r"leaves the Thunderbird folder")]))
add("profiles-ini/backslash-dotdot", "profiles-ini", ini_case(
    lambda sb: "[Profile0]\nPath=aaaa.default\n[Profile1]\nPath=..\\..\\other\n",
    outside=[(lambda sb: "..\\..\\other", r"leaves the Thunderbird folder")]))
add("profiles-ini/not-relative-but-relative-path", "profiles-ini", ini_case(
    lambda sb: "[Profile0]\nPath=aaaa.default\n[Profile1]\nIsRelative=0\nPath=bbbb\n",
    outside=[(lambda sb: "bbbb", r"outside")]))
add("profiles-ini/path-is-slash", "profiles-ini", ini_case(
    lambda sb: "[Profile0]\nPath=aaaa.default\n[Profile1]\nIsRelative=0\nPath=/\n",
    outside=[(lambda sb: "/", r"outside")]))
add("profiles-ini/crlf", "profiles-ini", ini_case(
    lambda sb: "[Profile0]\r\nName=crlf\r\nPath=aaaa.default\r\nDefault=1\r\n",
    checks=[names_are(**{"aaaa.default": ("crlf", True)})]))
add("profiles-ini/bom", "profiles-ini", ini_case(
    lambda sb: "\ufeff[Profile0]\nName=bom\nPath=aaaa.default\n",
    checks=[names_are(**{"aaaa.default": ("bom", True)})]))
add("profiles-ini/duplicate-sections", "profiles-ini", ini_case(
    lambda sb: "[Profile0]\nPath=aaaa.default\n[General]\nVersion=2\n[Profile0]\nName=merged\n",
    checks=[names_are(**{"aaaa.default": ("merged", True)})]))
add("profiles-ini/empty", "profiles-ini", ini_case(lambda sb: ""))
add("profiles-ini/binary", "profiles-ini", ini_case(lambda sb: random_bytes(3, 2048)))
add("profiles-ini/non-utf8-name", "profiles-ini", ini_case(
    lambda sb: b"[Profile0]\nName=\xe9l\xe8ve\nPath=aaaa.default\n",
    checks=[names_are(**{"aaaa.default": ("\ufffdl\ufffdve", True)})]))
add("profiles-ini/backslash-separators", "profiles-ini", lambda sb: (
    sb.profile("aaaa.default", parent=os.path.join(sb.root, "Profiles")),
    sb.profiles_ini("[Profile0]\nName=win\nPath=Profiles\\aaaa.default\n")))
add("profiles-ini/1000-sections", "profiles-ini", ini_case(
    lambda sb: "".join("[Profile%d]\nName=p%d\nPath=missing%d\n" % (i, i, i) for i in range(1000))
    + "[Profile1000]\nName=real\nPath=aaaa.default\n",
    checks=[names_are(**{"aaaa.default": ("real", False)})]))
add("profiles-ini/missing-path-key", "profiles-ini", ini_case(
    lambda sb: "[Profile0]\nName=nopath\n[Profile1]\nName=ok\nPath=aaaa.default\n"))
add("profiles-ini/installs-ini-garbage", "profiles-ini", lambda sb: (
    sb.profile("aaaa.default"), sb.profiles_ini(b"\x00\xff[Install\n=\n", name="installs.ini")))


@case("profiles-ini/symlink-to-other-user", "profiles-ini")
def case_profiles_ini_symlink_to_other_user(sb):
    sb.profile("aaaa.default")
    other = sb.other_profile()
    target = sb.write(os.path.join(sb.other, ".thunderbird", "profiles.ini"),
                      "[Profile0]\nIsRelative=0\nPath=%s\n" % other, uid=OTHER)
    sb.symlink(target, os.path.join(sb.root, "profiles.ini"))


@case("profiles-ini/is-a-directory", "profiles-ini")
def case_profiles_ini_is_a_directory(sb):
    sb.profile("aaaa.default", expect=None)
    os.mkdir(os.path.join(sb.root, "profiles.ini"))
    sb.expect_host_error(r"holds neither prefs\.js nor profiles\.ini")


@case("profiles-ini/no-profiles-ini", "profiles-ini")
def case_profiles_ini_no_profiles_ini(sb):
    sb.profile("aaaa.default", expect=None)
    sb.ini_profiles = None
    sb.expect_host_error(r"holds neither prefs\.js nor profiles\.ini")


# --- 6. folderCache.json, corrupt or truncated ----------------------------------------------------

def cache_case(fn, expect="error", error=r"folderCache\.json is not valid JSON", check=None):
    def build(sb):
        profile = sb.profile(expect=expect, error=error)
        rewrite(sb, os.path.join(profile, "folderCache.json"), lambda d: fn(d, profile))
        if check:
            sb.verify.append(check(profile))
    return build


for _fraction in (0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.999):
    add("folder-cache/truncated-at-%g" % _fraction, "folder-cache",
        cache_case(lambda d, p, f=_fraction: d[:int(len(d) * f)]))
for _name, _text in (("array", b"[]"), ("null", b"null"), ("number", b"42"), ("string", b'"x"')):
    add("folder-cache/top-level-%s" % _name, "folder-cache",
        cache_case(lambda d, p, t=_text: t, error=r"folderCache\.json is not a JSON object"))
add("folder-cache/deep-array-nesting", "folder-cache",
    cache_case(lambda d, p: b"[" * 200000 + b"]" * 200000, error=r"folderCache\.json"))
add("folder-cache/deep-object-nesting", "folder-cache",
    cache_case(lambda d, p: b'{"a":' * 100000 + b"{}" + b"}" * 100000, error=r"folderCache\.json"))
add("folder-cache/bom", "folder-cache", cache_case(lambda d, p: b"\xef\xbb\xbf" + d))
add("folder-cache/trailing-garbage", "folder-cache", cache_case(lambda d, p: d + b"}garbage"))
add("folder-cache/utf16", "folder-cache", cache_case(lambda d, p: d.decode("utf-8").encode("utf-16")))
add("folder-cache/invalid-utf8", "folder-cache", cache_case(lambda d, p: d.replace(b'"flags"', b'"fl\xffags"', 1)))
add("folder-cache/lone-surrogate", "folder-cache",
    cache_case(lambda d, p: d.replace(b'"totalMsgs": 3', b'"totalMsgs": 3, "onlineName": "\\ud800"', 1),
               error=r"folderCache\.json"))


def _cache_edit(fn):
    def apply(data, profile):
        cache = json.loads(data.decode("utf-8"))
        fn(cache, profile)
        return json.dumps(cache).encode("utf-8")
    return apply


def _inbox(profile):
    return os.path.join(profile, "ImapMail", "imap.ac-test.fr", "INBOX.msf")


add("folder-cache/nan-member", "folder-cache", cache_case(
    lambda d, p: d.replace(b'"totalMsgs": 3', b'"totalMsgs": NaN', 1), expect="changed", error=None))
add("folder-cache/duplicate-keys", "folder-cache", cache_case(
    lambda d, p: d[:-1] + b', "' + p.encode() + b'/ImapMail/imap.ac-test.fr/Sent.msf": {"flags": 4}}',
    expect="changed", error=None))
add("folder-cache/entry-not-an-object", "folder-cache", cache_case(
    _cache_edit(lambda c, p: c.__setitem__(_inbox(p), [1, 2])), expect="changed", error=None))
add("folder-cache/flags-as-string", "folder-cache", cache_case(
    _cache_edit(lambda c, p: c[_inbox(p)].__setitem__("flags", "0x1000")), expect="changed", error=None))
add("folder-cache/flags-as-bool", "folder-cache", cache_case(
    _cache_edit(lambda c, p: c[_inbox(p)].__setitem__("flags", True)), expect="changed", error=None))
add("folder-cache/flags-negative", "folder-cache", cache_case(
    _cache_edit(lambda c, p: c[_inbox(p)].__setitem__("flags", -1)), expect="changed", error=None))
add("folder-cache/flags-huge", "folder-cache", cache_case(
    _cache_edit(lambda c, p: c[_inbox(p)].__setitem__("flags", 2 ** 70)), expect="changed", error=None))
add("folder-cache/flags-float", "folder-cache", cache_case(
    _cache_edit(lambda c, p: c[_inbox(p)].__setitem__("flags", 4100.5)), expect="changed", error=None))
add("folder-cache/relative-keys", "folder-cache", cache_case(
    lambda d, p: d.replace(p.encode() + b"/", b""), expect="changed", error=None))
add("folder-cache/50000-entries", "folder-cache", cache_case(
    _cache_edit(lambda c, p: c.update(("%s/ImapMail/imap.ac-test.fr/x%05d.msf" % (p, i), {"flags": 4})
                                      for i in range(50000))), expect="changed", error=None))


@case("folder-cache/is-a-directory", "folder-cache")
def case_folder_cache_is_a_directory(sb):
    profile = sb.profile(expect="error", error=r"folderCache\.json is not a regular file")
    os.unlink(os.path.join(profile, "folderCache.json"))
    os.mkdir(os.path.join(profile, "folderCache.json"))
    os.chown(os.path.join(profile, "folderCache.json"), OWNER, OWNER)


@case("folder-cache/is-a-fifo", "folder-cache", max_seconds=10)
def case_folder_cache_is_a_fifo(sb):
    profile = sb.profile(expect="error", error=r"folderCache\.json is not a regular file")
    os.unlink(os.path.join(profile, "folderCache.json"))
    os.mkfifo(os.path.join(profile, "folderCache.json"))
    os.chown(os.path.join(profile, "folderCache.json"), OWNER, OWNER)


@case("special-file/prefs-is-dev-zero", "special-file", max_seconds=10)
def case_special_file_prefs_is_dev_zero(sb):
    # Not a profile for collect (no regular prefs.js): no record, nothing read.
    profile = sb.profile(expect=None)
    os.unlink(prefs_of(profile))
    os.mknod(prefs_of(profile), 0o600 | stat.S_IFCHR, os.makedev(1, 5))
    os.chown(prefs_of(profile), OWNER, OWNER)


@case("special-file/prefs-is-a-fifo", "special-file", max_seconds=10)
def case_special_file_prefs_is_a_fifo(sb):
    profile = sb.profile(expect=None)
    os.unlink(prefs_of(profile))
    os.mkfifo(prefs_of(profile))
    os.chown(prefs_of(profile), OWNER, OWNER)


@case("special-file/userjs-is-a-fifo", "special-file", max_seconds=10)
def case_special_file_userjs_is_a_fifo(sb):
    profile = sb.profile(expect="error", error=r"user\.js is not a regular file")
    os.mkfifo(os.path.join(profile, "user.js"))
    os.chown(os.path.join(profile, "user.js"), OWNER, OWNER)


# --- 7. .msf summaries (the real Thunderbird profile, without folderCache.json) -----------------

MSF_DIR = ("ImapMail", "127.0.0.1")


def msf_case(fn, check=None):
    def build(sb):
        profile = sb.fixture_profile("aaaa.default")
        fn(sb, profile, os.path.join(profile, *MSF_DIR))
        sb.verify.append(check(profile) if check else account_check(profile, offline_download=True))
    return build


add("msf/intact", "msf", msf_case(lambda sb, p, d: None, check=ready))
for _fraction in (0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 0.999):
    add("msf/inbox-truncated-at-%g" % _fraction, "msf", msf_case(
        lambda sb, p, d, f=_fraction: rewrite(sb, os.path.join(d, "INBOX.msf"), lambda x: x[:int(len(x) * f)])))
add("msf/every-summary-truncated-by-half", "msf", msf_case(
    lambda sb, p, d: [rewrite(sb, os.path.join(r, n), lambda x: x[:len(x) // 2])
                      for r, _dirs, fs in os.walk(d) for n in fs if n.endswith(".msf")]))
add("msf/inbox-random-bytes", "msf", msf_case(
    lambda sb, p, d: rewrite(sb, os.path.join(d, "INBOX.msf"), lambda x: random_bytes(5, len(x))),
    check=lambda p: problem_check(p, r"INBOX\.msf")))
add("msf/inbox-bit-flips", "msf", msf_case(
    lambda sb, p, d: rewrite(sb, os.path.join(d, "INBOX.msf"),
                             lambda x: bytes(b ^ (1 << (i % 8)) if i % 97 == 0 else b for i, b in enumerate(x)))))
add("msf/inbox-is-a-directory", "msf", msf_case(
    lambda sb, p, d: (os.unlink(os.path.join(d, "INBOX.msf")), os.mkdir(os.path.join(d, "INBOX.msf")))))
add("msf/inbox-is-a-fifo", "msf", msf_case(
    lambda sb, p, d: (os.unlink(os.path.join(d, "INBOX.msf")), os.mkfifo(os.path.join(d, "INBOX.msf"))),
    check=lambda p: problem_check(p, r"INBOX\.msf is not a regular file")))
add("msf/inbox-symlink-to-canary", "msf", msf_case(
    lambda sb, p, d: (os.unlink(os.path.join(d, "INBOX.msf")), sb.symlink(sb.canary, os.path.join(d, "INBOX.msf")))))
add("msf/flags-cell-not-hex", "msf", msf_case(
    lambda sb, p, d: rewrite(sb, os.path.join(d, "INBOX.msf"), lambda x: re.sub(rb"\(flags=[0-9a-fA-F]+\)", b"(flags=zz)", x))))
add("msf/store-folder-is-a-symlink", "msf", msf_case(
    lambda sb, p, d: (shutil.move(d, os.path.join(sb.other, "moved")),
                      sb.symlink(os.path.join(sb.other, "moved"), d))))


@case("msf/garbage-newer-than-the-cache", "msf")
def case_msf_garbage_newer_than_the_cache(sb):
    profile = sb.profile()
    inbox = _inbox(profile)
    rewrite(sb, inbox, lambda x: b"\x00garbage\xff" * 100)
    future = os.stat(os.path.join(profile, "folderCache.json")).st_mtime + 60
    os.utime(inbox, (future, future))


# --- 8. symbolic links planted by the user ---------------------------------------------------------

def link_case(name, target_fn, error):
    def build(sb):
        profile = sb.profile(expect="error", error=error)
        path = os.path.join(profile, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        elif os.path.lexists(path):
            os.unlink(path)
        sb.symlink(target_fn(sb), path)
    return build


add("symlink/prefs-to-root-file", "symlink", link_case("prefs.js", lambda sb: sb.canary, r"prefs\.js is a symbolic link"))


def _system_file(sb):
    """A root-owned system file, watched (it and what it links to) like the sandbox."""
    sb.watch.extend(sorted(set(["/etc/os-release", os.path.realpath("/etc/os-release")])))
    return "/etc/os-release"


add("symlink/prefs-to-etc", "symlink", link_case("prefs.js", _system_file, r"prefs\.js is a symbolic link"))
add("symlink/prefs-dangling", "symlink", link_case("prefs.js", lambda sb: "/nonexistent/prefs.js", r"prefs\.js is a symbolic link"))
add("symlink/userjs-to-root-file", "symlink", link_case("user.js", lambda sb: sb.canary, r"user\.js is a symbolic link"))
add("symlink/foldercache-to-other-user", "symlink", link_case(
    "folderCache.json", lambda sb: os.path.join(sb.other_profile(), "folderCache.json"), r"folderCache\.json is a symbolic link"))
add("symlink/compatibility-to-shadow", "symlink", link_case(
    "compatibility.ini", lambda sb: "/etc/shadow", r"compatibility\.ini is a symbolic link"))
add("symlink/parentlock-to-root-file", "symlink", link_case(
    ".parentlock", lambda sb: sb.canary, r"cannot tell whether Thunderbird runs: \.parentlock is a symbolic link"))
add("symlink/imapmail-to-other-user", "symlink", link_case(
    "ImapMail", lambda sb: os.path.join(sb.other_profile(), "ImapMail"), r"cannot open ImapMail"))


@case("symlink/profile-folder-to-other-user", "symlink")
def case_symlink_profile_folder_to_other_user(sb):
    sb.profile("aaaa.default")
    other = sb.other_profile(mode=0o777)
    link = sb.symlink(other, os.path.join(sb.root, "bbbb.link"))
    # An explicit root is walked from /: the link is named from there.
    sb.expect(link, "error", r"refused: (/\S*/)?\.thunderbird/bbbb\.link is a symbolic link")


@case("symlink/explicit-root-to-other-user", "symlink")
def case_symlink_explicit_root_to_other_user(sb):
    other = sb.other_profile(mode=0o777)
    shutil.rmtree(sb.root)
    sb.symlink(os.path.dirname(other), sb.root)
    sb.expect_host_error(r"\.thunderbird is a symbolic link; give the real folder")


@case("symlink/explicit-path-is-a-link", "symlink")
def case_symlink_explicit_path_is_a_link(sb):
    profile = sb.profile(expect=None)
    link = sb.symlink(profile, os.path.join(sb.home, "shortcut"))
    sb.params["profiles"] = [link]
    sb.expect_host_error(r"shortcut is a symbolic link; give the real folder")


@case("symlink/hardlink-to-root-file", "symlink")
def case_symlink_hardlink_to_root_file(sb):
    profile = sb.profile(expect="error", error=r"prefs\.js is owned by uid 0")
    os.unlink(prefs_of(profile))
    os.link(sb.canary, prefs_of(profile))


# --- 9. swaps between collect and commit (the hook runs as the user would, mid-run) ------------------

def swap_case(mutate, expect="error", error=None, explicit=False, second=True):
    def build(sb):
        profile = sb.profile(expect=expect, error=error)
        if explicit:
            sb.params["profiles"] = [profile]
        sb.after_collect.append(lambda box, snap: mutate(box, profile))
        sb.second_run = second
    return build


def _swap_prefs_for_link(target_fn):
    def mutate(sb, profile):
        target = target_fn(sb, profile)
        os.unlink(prefs_of(profile))
        sb.symlink(target, prefs_of(profile))
    return mutate


def _copy_as(sb, profile, uid):
    """A same-bytes copy of the profile's prefs.js elsewhere, owned by ``uid``."""
    path = os.path.join(sb.base, "lure-%d" % uid, "prefs.js")
    sb.write(path, sb.read(prefs_of(profile)), uid=uid, mode=0o666)
    os.chmod(os.path.dirname(path), 0o777)
    return path


add("swap/prefs-to-root-file-same-bytes", "swap", swap_case(
    _swap_prefs_for_link(lambda sb, p: _copy_as(sb, p, 0)), error=r"prefs\.js is a symbolic link"))
add("swap/prefs-to-canary", "swap", swap_case(
    _swap_prefs_for_link(lambda sb, p: sb.canary), error=r"prefs\.js is a symbolic link"))


def _hardlink_lure(sb, profile):
    lure = _copy_as(sb, profile, 0)
    os.unlink(prefs_of(profile))
    os.link(lure, prefs_of(profile))


add("swap/prefs-hardlink-to-root-file-same-bytes", "swap", swap_case(_hardlink_lure, error=r"prefs\.js"))
add("swap/foldercache-to-other-user-same-bytes", "swap", swap_case(
    lambda sb, p: (shutil.copy(os.path.join(p, "folderCache.json"), os.path.join(sb.other, "fc.json")),
                   os.chown(os.path.join(sb.other, "fc.json"), OTHER, OTHER),
                   os.unlink(os.path.join(p, "folderCache.json")),
                   sb.symlink(os.path.join(sb.other, "fc.json"), os.path.join(p, "folderCache.json"))),
    error=r"folderCache\.json is a symbolic link"))


def _profile_to_link(sb, profile):
    """Move the profile away and leave a symlink to a world-writable,
    same-bytes copy owned by the other user in its place."""
    lure = os.path.join(sb.other, "lure")
    shutil.copytree(profile, lure, symlinks=True)
    hlib.chown_tree(lure, OTHER)
    for root, dirs, files in os.walk(lure):
        for name in dirs + files:
            os.chmod(os.path.join(root, name), 0o777 if name in dirs else 0o666)
    os.chmod(lure, 0o777)
    os.rename(profile, profile + ".moved")
    sb.profile_dirs.add(profile + ".moved")
    sb.symlink(lure, profile)


add("swap/profile-folder-to-other-user", "swap", swap_case(
    _profile_to_link, error=r"is a symbolic link", second=False))
add("swap/explicit-profile-folder-to-other-user", "swap", swap_case(
    _profile_to_link, error=r"is a symbolic link", explicit=True, second=False))


@case("swap/root-to-other-user", "swap")
def case_swap_root_to_other_user(sb):
    profile = sb.profile(expect="error", error=r"is a symbolic link")

    def mutate(box, snap):
        lure = os.path.join(sb.other, "lure-root")
        shutil.copytree(sb.root, lure, symlinks=True)
        hlib.chown_tree(lure, OTHER)
        for root, dirs, files in os.walk(lure):
            for name in dirs:
                os.chmod(os.path.join(root, name), 0o777)
            for name in files:
                os.chmod(os.path.join(root, name), 0o666)
        os.rename(sb.root, sb.root + ".moved")
        sb.profile_dirs.add(os.path.join(sb.root + ".moved", os.path.basename(profile)))
        sb.symlink(lure, sb.root)
    sb.after_collect.append(mutate)
    sb.second_run = False


@case("swap/explicit-parent-to-other-user", "swap")
def case_swap_explicit_parent_to_other_user(sb):
    # The admin named the profile folder; its parent is replaced by a link to a
    # world-writable copy owned by someone else: the write must not land there.
    profile = sb.profile(expect="error", error=r"\S")
    sb.params["profiles"] = [profile]

    def mutate(box, snap):
        lure = os.path.join(sb.other, "lure-parent")
        shutil.copytree(sb.root, lure, symlinks=True)
        hlib.chown_tree(lure, OTHER)
        for root, dirs, files in os.walk(lure):
            for name in dirs:
                os.chmod(os.path.join(root, name), 0o777)
            for name in files:
                os.chmod(os.path.join(root, name), 0o666)
        os.chmod(lure, 0o777)
        os.rename(sb.root, sb.root + ".moved")
        sb.profile_dirs.add(os.path.join(sb.root + ".moved", os.path.basename(profile)))
        sb.symlink(lure, sb.root)
    sb.after_collect.append(mutate)
    sb.second_run = False


@case("swap/prefs-to-link-just-before-rename", "swap")
def case_swap_prefs_to_link_just_before_rename(sb):
    # Mid-commit (after the guards, before the rename): rename() replaces the
    # link itself, so the canary is never written.
    profile = sb.profile()
    sb.validate_files = False

    def setup(box):
        real_rename = os.rename
        state = {"done": False}

        def rename(src, dst, *args, **kw):
            if not state["done"] and dst == "prefs.js":
                state["done"] = True
                os.unlink(prefs_of(profile))
                box.symlink(box.canary, prefs_of(profile))
            return real_rename(src, dst, *args, **kw)
        os.rename = rename
    sb.child_setup.append(setup)

    def check(box, result):
        st = os.lstat(prefs_of(profile))
        problems = [] if stat.S_ISREG(st.st_mode) and st.st_uid == OWNER else ["prefs.js is not the user's file"]
        doc = prefs.parse(box.read(prefs_of(profile)))
        if doc.values.get("mail.server.server1.offline_download") is not True:
            problems.append("prefs.js was not written")
        return problems
    sb.verify.append(check)


# --- 10. ownership and permissions ----------------------------------------------------------------------

def owner_case(fn, expect="error", error=None, check=None):
    def build(sb):
        profile = sb.profile(expect=expect, error=error)
        fn(sb, profile)
        if check:
            sb.verify.append(check(profile))
    return build


add("ownership/prefs-owned-by-other-user", "ownership", owner_case(
    lambda sb, p: os.chown(prefs_of(p), OTHER, OTHER), error=r"prefs\.js is owned by uid %d" % OTHER))
add("ownership/foldercache-owned-by-root", "ownership", owner_case(
    lambda sb, p: os.chown(os.path.join(p, "folderCache.json"), 0, 0), error=r"folderCache\.json is owned by uid 0"))
add("ownership/userjs-owned-by-root", "ownership", owner_case(
    lambda sb, p: sb.write(os.path.join(p, "user.js"), b'user_pref("a", 1);\n', uid=0, mode=0o644),
    error=r"user\.js is owned by uid 0"))
add("ownership/profile-folder-owned-by-root", "ownership", owner_case(
    lambda sb, p: os.chown(p, 0, 0), error=r"profile folder is owned by uid 0"))
add("ownership/profile-folder-owned-by-other-user", "ownership", owner_case(
    lambda sb, p: os.chown(p, OTHER, OTHER), error=r"profile folder is owned by uid %d" % OTHER))
add("ownership/prefs-group-user-not-in", "ownership", owner_case(
    lambda sb, p: os.chown(prefs_of(p), OWNER, 0), error=r"\S"))
add("ownership/prefs-mode-0400", "ownership", owner_case(
    lambda sb, p: os.chmod(prefs_of(p), 0o400), expect="changed"))
add("ownership/prefs-mode-0664-group-other", "ownership", owner_case(
    lambda sb, p: (os.chown(prefs_of(p), OWNER, OTHER), os.chmod(prefs_of(p), 0o664)), error=r"\S"))
add("ownership/prefs-setuid-bit", "ownership", owner_case(
    lambda sb, p: os.chmod(prefs_of(p), 0o4600), expect="changed"))
add("ownership/foldercache-mode-0640", "ownership", owner_case(
    lambda sb, p: os.chmod(os.path.join(p, "folderCache.json"), 0o640), expect="changed"))
add("ownership/profile-folder-read-only", "ownership", owner_case(
    lambda sb, p: os.chmod(p, 0o555), error=r"Permission denied"))
add("ownership/profile-folder-mode-0", "ownership", owner_case(
    lambda sb, p: os.chmod(p, 0o000), error=r"Permission denied"))
add("ownership/root-folder-closed-to-user", "ownership", owner_case(
    lambda sb, p: os.chmod(sb.root, 0o000), error=r"Permission denied"))
# The root's owner (root) is the profiles' owner: root may not write in a home
# a user owns (issue 13, finding 5).
add("ownership/root-folder-owned-by-root", "ownership", owner_case(
    lambda sb, p: os.chown(sb.root, 0, 0), error=r"/home is owned by uid %d, neither root nor the profile's user \(uid 0\)" % OWNER))
add("ownership/home-mode-0700", "ownership", owner_case(
    lambda sb, p: os.chmod(sb.home, 0o700), expect="changed"))
add("ownership/other-users-profile-untouched", "ownership", owner_case(
    lambda sb, p: sb.other_profile(mode=0o755), expect="changed"))


@case("ownership/uid-without-passwd-entry", "ownership")
def case_ownership_uid_without_passwd_entry(sb):
    profile = sb.profile(uid=54321)
    os.chown(sb.root, 54321, 54321)
    os.chown(sb.home, 54321, 54321)  # the home's owner must be the profile's
    sb.verify.append(record_check(profile, user=None))


@case("ownership/prefs-is-a-mount-point", "ownership")
def case_ownership_prefs_is_a_mount_point(sb):
    # rename() over a mount point fails (EBUSY) after folderCache.json is ready:
    # the profile must be left as it was.
    profile = sb.profile(expect="error", error=r"\S")
    sb.bind_file(prefs_of(profile), prefs_of(profile))


# --- 11. read-only file systems ---------------------------------------------------------------------------

@case("readonly-fs/profile-bind-mounted-ro", "readonly-fs")
def case_readonly_fs_profile_bind_mounted_ro(sb):
    profile = sb.profile(expect="error", error=r"Read-only file system")
    sb.bind_readonly(profile)


@case("readonly-fs/with-parentlock", "readonly-fs")
def case_readonly_fs_with_parentlock(sb):
    profile = sb.profile(expect="error", error=r"cannot tell whether Thunderbird runs: .*Read-only file system")
    sb.write(os.path.join(profile, ".parentlock"), b"", mode=0o644)
    sb.bind_readonly(profile)


@case("readonly-fs/home-on-ro-tmpfs", "readonly-fs")
def case_readonly_fs_home_on_ro_tmpfs(sb):
    sb.mount_tmpfs(sb.root, size="4m")
    os.chown(sb.root, OWNER, OWNER)
    sb.profile("aaaa.default", expect="error", error=r"Read-only file system")
    sb.profile("bbbb.second", expect="error", error=r"Read-only file system")
    sb.write_profiles_ini()
    sb.ini_profiles = None
    sb.remount_readonly(sb.root)


@case("readonly-fs/one-of-two-profiles", "readonly-fs")
def case_readonly_fs_one_of_two_profiles(sb):
    sb.profile("aaaa.default")
    ro = sb.profile("bbbb.readonly", expect="error", error=r"Read-only file system")
    sb.bind_readonly(ro)


# --- 12. a full disk -----------------------------------------------------------------------------------------

def full_case(leave, expect="error", error=r"No space left on device", backup=True, extra=""):
    def build(sb):
        sb.mount_tmpfs(sb.root, size="1m", extra=extra)
        os.chown(sb.root, OWNER, OWNER)
        os.chmod(sb.root, 0o755)
        profile = sb.profile(expect=expect, error=error)
        # A prefs.js big enough that its temp copy needs more than ``leave``.
        rewrite(sb, prefs_of(profile), big_prefs(300 * 1024))
        sb.write_profiles_ini()
        sb.ini_profiles = None
        sb.params["backup"] = backup
        sb.second_run = expect == "changed"
        if leave is not None:
            sb.fill(sb.root, leave)
        else:
            sb.exhaust_inodes(sb.root)
    return build


add("disk-full/no-byte-free", "disk-full", full_case(0))
add("disk-full/room-for-the-cache-only", "disk-full", full_case(16 * 1024, backup=False))
add("disk-full/room-for-the-cache-and-its-backup", "disk-full", full_case(40 * 1024))
add("disk-full/room-for-backups-not-prefs", "disk-full", full_case(340 * 1024))
add("disk-full/no-inode-left", "disk-full", full_case(None, extra="nr_inodes=40", error=r"No space left on device"))
add("disk-full/just-enough", "disk-full", full_case(900 * 1024, expect="changed", error=None, backup=False))


# --- 13. Thunderbird's lock -----------------------------------------------------------------------------------

@case("lock/held-before-the-run", "lock")
def case_lock_held_before_the_run(sb):
    profile = sb.profile(expect="skipped_running")
    sb.hold_lock(profile)
    other = sb.profile("bbbb.free")
    sb.verify.append(record_check(profile, running=True))
    sb.verify.append(ready(other))


@case("lock/taken-between-collect-and-commit", "lock")
def case_lock_taken_between_collect_and_commit(sb):
    profile = sb.profile(expect="skipped_running", error=r"Thunderbird started with this profile")
    sb.write(os.path.join(profile, ".parentlock"), b"", mode=0o644)
    sb.after_collect.append(lambda box, snap: box.hold_lock(profile))
    sb.second_run = False


@case("lock/created-and-taken-after-collect", "lock")
def case_lock_created_and_taken_after_collect(sb):
    profile = sb.profile(expect="skipped_running", error=r"Thunderbird started with this profile")
    sb.after_collect.append(lambda box, snap: box.hold_lock(profile))
    sb.second_run = False


@case("lock/held-with-if-running-fail", "lock")
def case_lock_held_with_if_running_fail(sb):
    profile = sb.profile(expect="error", error=r"Thunderbird is running")
    sb.params["if_running"] = "fail"
    sb.hold_lock(profile)
    sb.second_run = False


@case("lock/parentlock-is-a-directory", "lock")
def case_lock_parentlock_is_a_directory(sb):
    profile = sb.profile(expect="error", error=r"cannot tell whether Thunderbird runs")
    os.mkdir(os.path.join(profile, ".parentlock"))


# --- 14. the user changes a file between collect and commit ------------------------------------------------------

add("conflict/prefs-edited", "conflict", swap_case(
    lambda sb, p: rewrite(sb, prefs_of(p), lambda d: d + b'user_pref("mail.new", 1);\n'),
    error=r"prefs\.js changed since it was read; nothing written"))
add("conflict/prefs-deleted", "conflict", swap_case(
    lambda sb, p: os.unlink(prefs_of(p)), error=r"prefs\.js changed since it was read", second=False))
add("conflict/foldercache-edited", "conflict", swap_case(
    lambda sb, p: rewrite(sb, os.path.join(p, "folderCache.json"), lambda d: d.replace(b'"totalMsgs": 3', b'"totalMsgs": 4', 1)),
    error=r"folderCache\.json changed since it was read"))
add("conflict/prefs-same-bytes-new-inode", "conflict", swap_case(
    lambda sb, p: rewrite(sb, prefs_of(p), lambda d: d), expect="changed"))


@case("conflict/foldercache-appears", "conflict")
def case_conflict_foldercache_appears(sb):
    profile = sb.fixture_profile("aaaa.default", expect="error", error=r"folderCache\.json changed since it was read")
    sb.after_collect.append(lambda box, snap: box.write(os.path.join(profile, "folderCache.json"), b"{}"))


# --- 15. what the prefs say about the mail folders ------------------------------------------------------------------

@case("plan/directory-rel-escapes-profile", "plan")
def case_plan_directory_rel_escapes_profile(sb):
    profile = sb.profile(extra_prefs={"mail.server.server1.directory-rel": "[ProfD]../../other"})
    sb.verify.append(problem_check(profile, r"leaves the profile"))


@case("plan/directory-points-to-other-user", "plan")
def case_plan_directory_points_to_other_user(sb):
    other = sb.other_profile()
    profile = sb.profile(extra_prefs={"mail.server.server1.directory-rel": None,
                                      "mail.server.server1.directory": os.path.join(other, "ImapMail", "imap.ac-test.fr")})
    rewrite(sb, prefs_of(profile), lambda d: d.replace(b'user_pref("mail.server.server1.directory-rel", null);\n', b""))
    sb.verify.append(problem_check(profile, r"outside the profile"))


@case("plan/200-accounts", "plan", max_seconds=30)
def case_plan_200_accounts(sb):
    accounts = [hlib.tbsandbox.imap("imap%d.ac-test.fr" % i, "u%d" % i, folders=("INBOX", "Sent"))
                for i in range(200)]
    sb.profile(accounts=accounts)


@case("plan/account-without-server", "plan")
def case_plan_account_without_server(sb):
    profile = sb.profile()
    rewrite(sb, prefs_of(profile), lambda d: d.replace(
        b'user_pref("mail.accountmanager.accounts", "account1,account2,account3");',
        b'user_pref("mail.accountmanager.accounts", "account1,account2,account3,ghost,,account1");'))


@case("plan/type-clash-with-a-default", "plan")
def case_plan_type_clash_with_a_default(sb):
    profile = sb.profile()
    rewrite(sb, prefs_of(profile), lambda d: d + b'pref("mail.server.server1.offline_download", "yes");\n')


# --- 16. discovery of a real local user's homes (users: [name]) ----------------------------------------------------

def discovery_case(fn):
    def build(sb):
        name = sb.real_user()
        fn(sb, name)
        sb.params["profiles"] = None
        sb.params["users"] = [name]
    return build


add("discovery/dot-thunderbird", "discovery", discovery_case(lambda sb, n: sb.profile()))
add("discovery/xdg-and-dot", "discovery", discovery_case(
    lambda sb, n: (sb.profile(), sb.profile("xdg.default", parent=os.path.join(sb.home, ".config", "thunderbird")),
                   hlib.chown_tree(os.path.join(sb.home, ".config"), OWNER))))
add("discovery/dot-thunderbird-links-to-other-user", "discovery", discovery_case(
    lambda sb, n: (shutil.rmtree(sb.root), sb.symlink(os.path.dirname(sb.other_profile(mode=0o777)), sb.root),
                   sb.expect(sb.root, "error", r"refused: \.thunderbird is a symbolic link"))))
add("discovery/config-links-to-other-user", "discovery", discovery_case(
    lambda sb, n: (sb.profile(), os.makedirs(os.path.join(sb.other, "cfg", "thunderbird", "p"), exist_ok=True),
                   sb.symlink(os.path.join(sb.other, "cfg"), os.path.join(sb.home, ".config")),
                   sb.expect(os.path.join(sb.home, ".config", "thunderbird"), "error",
                             r"refused: \.config is a symbolic link"))))
add("discovery/unknown-user", "discovery", lambda sb: (
    sb.profile(expect=None), sb.params.update(profiles=None, users=["tbhard-nobody-here"]),
    sb.expect_host_error(r"no local user named tbhard-nobody-here")))


# --- 17. the second audit (issue 13): memory, stalls, links mid-path, root writes ------------------------
# Cases that would make the old code read gigabytes run under an address-space
# limit, so that on a broken build they end in MemoryError (a crash) rather
# than in the machine's OOM killer.

def limit_memory(extra=3 << 30):
    def setup(sb):
        with open("/proc/self/status") as f:
            vm = next(int(line.split()[1]) for line in f if line.startswith("VmSize:")) * 1024
        resource.setrlimit(resource.RLIMIT_AS, (vm + extra, resource.RLIM_INFINITY))
    return setup


def set_limit(name, value):
    """A limit of budget.py lowered in the child, so that a case reaches it
    with a few small profiles."""
    def setup(sb):
        setattr(budget, name, value)
    return setup


def stamps_from_now(seconds):
    now = int(time.time())
    return [time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(t)) for t in range(now, now + seconds + 1)]


@case("budget/planted-64GiB-backup-names", "budget", max_seconds=30, max_rss_mb=512)
def case_budget_planted_backup_names(sb):
    # Every backup name the next 90 s could use is a sparse 64 GiB file: the
    # profile is an error, nothing is read, and the next profile is written.
    profile = sb.profile(expect="error", error=r"\.bak already exists and holds other bytes")
    sb.profile("bbbb.next")
    for stamp in stamps_from_now(90):
        for name in ("prefs.js", "folderCache.json"):
            path = sb.write(os.path.join(profile, "%s.%s.bak" % (name, stamp)), b"")
            os.truncate(path, 64 << 30)
    sb.child_setup.append(limit_memory())


@case("budget/prefs-swapped-for-64GiB-before-the-guards", "budget", max_seconds=30, max_rss_mb=512)
def case_budget_prefs_swapped_before_the_guards(sb):
    # Between collect and commit prefs.js becomes a sparse 64 GiB file; commit
    # reads it for its guard under the lock: fstat first, nothing read.
    profile = sb.profile(expect="error", error=r"prefs\.js changed since it was read; nothing written")
    sb.write(os.path.join(profile, ".parentlock"), b"", mode=0o644)
    sb.second_run = False

    def swap(box, snap):
        replacement = box.write(prefs_of(profile) + ".new", b"")
        os.truncate(replacement, 64 << 30)
        os.rename(replacement, prefs_of(profile))
    sb.child_setup.append(limit_memory())
    sb.after_collect.append(swap)


@case("budget/300-hard-links-of-a-16MiB-msf", "budget", max_seconds=30, max_rss_mb=512)
def case_budget_msf_hard_links(sb):
    profile = sb.fixture_profile("aaaa.default")
    store = os.path.join(profile, *MSF_DIR)
    first = sb.write(os.path.join(store, "m1.msf"), b"x" * (MAX_FILE - 1))
    for i in range(2, 301):
        os.link(first, os.path.join(store, "m%d.msf" % i))
    sb.child_setup.append(limit_memory())
    sb.verify.append(problem_check(profile, r"m1\.msf has 300 hard links; not read"))


@case("budget/run-bytes-profiles-hard-linking-one-prefs", "budget", max_seconds=60)
def case_budget_run_bytes(sb):
    # Twelve profiles whose prefs.js are hard links of one 1 MiB file: the
    # run's byte budget (lowered here to 4 profiles and a half) stops the reads.
    names = ["p%02d.default" % i for i in range(12)]
    paths = [sb.profile(name, expect=None) for name in names]
    rewrite(sb, prefs_of(paths[0]), big_prefs(1 << 20))
    for path in paths[1:]:
        os.unlink(prefs_of(path))
        os.link(prefs_of(paths[0]), prefs_of(path))
    per = sum(os.path.getsize(os.path.join(paths[0], n)) for n in collect.PROFILE_FILES
              if os.path.exists(os.path.join(paths[0], n)))
    sb.params["profiles"] = paths
    sb.ini_profiles = None
    sb.child_setup.append(set_limit("MAX_RUN_BYTES", 4 * per + per // 2))
    for i, path in enumerate(paths):
        if i < 4:
            sb.expect(path, "changed")
        else:
            sb.expect(path, "error", r"not read: the files read on this host passed %d bytes" % (4 * per + per // 2))
    sb.second_run = False


@case("budget/profile-bytes", "budget")
def case_budget_profile_bytes(sb):
    profile = sb.profile(expect="error", error=r"folderCache\.json not read: the profile's files passed")
    rewrite(sb, prefs_of(profile), big_prefs(256 << 10))
    sb.child_setup.append(set_limit("MAX_PROFILE_BYTES", os.path.getsize(prefs_of(profile)) + 16))


@case("budget/profiles-per-host", "budget")
def case_budget_profiles_per_host(sb):
    for i, name in enumerate(["a.default", "b.default", "c.default", "d.default", "e.default"]):
        if i < 3:
            sb.profile(name)
        else:
            sb.profile(name, expect="error", error=r"^not examined: more than 3 profiles on this host$")
    sb.child_setup.append(set_limit("MAX_PROFILES", 3))
    sb.second_run = False


@case("budget/seconds-per-host", "budget", timeout=120, max_seconds=60)
def case_budget_seconds_per_host(sb):
    # The first profile (2 MiB of 'x;', a million statements in error:
    # seconds of parsing) uses up the host's time budget (lowered to 1 s);
    # the others are reported, not examined.
    slow = sb.profile("a.slow", expect="error", error=r"prefs\.js does not parse")
    rewrite(sb, prefs_of(slow), lambda d: b"x;" * (1 << 20))
    for name in ("b.default", "c.default"):
        sb.profile(name, expect="error", error=r"^not examined: the time budget of 1 s for this host was used up$")
    sb.child_setup.append(set_limit("MAX_SECONDS", 1))
    sb.second_run = False


def hold_lease(sb, path):
    """Take a write lease on ``path`` as the profile's user, from another
    process that ignores the lease-break signal (it never lets go)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_end)
            signal.signal(signal.SIGIO, signal.SIG_IGN)
            os.setgid(OWNER)
            os.setuid(OWNER)
            fd = os.open(path, os.O_RDONLY)
            fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_WRLCK)
            os.write(write_end, b"L")
            signal.pause()
        finally:
            os._exit(0)
    os.close(write_end)
    assert os.read(read_end, 1) == b"L", "no lease on %s" % path
    os.close(read_end)
    sb.children.append(pid)


@case("stall/parentlock-lease", "stall", max_seconds=15)
def case_stall_parentlock_lease(sb):
    profile = sb.profile(expect="error", error=r"cannot open \.parentlock: another process holds a lease on it")
    lock = sb.write(os.path.join(profile, ".parentlock"), b"", mode=0o644)
    hold_lease(sb, lock)
    sb.profile("bbbb.next")
    sb.second_run = False


@case("stall/parentlock-lease-taken-before-commit", "stall", max_seconds=15)
def case_stall_parentlock_lease_before_commit(sb):
    profile = sb.profile(expect="error", error=r"cannot open \.parentlock: another process holds a lease on it")
    lock = sb.write(os.path.join(profile, ".parentlock"), b"", mode=0o644)
    sb.after_collect.append(lambda box, snap: hold_lease(box, lock))
    sb.second_run = False


@case("swap/store-folder-to-root-only-mid-listing", "swap")
def case_swap_store_folder_mid_listing(sb):
    # While the tree is listed, the account folder (a middle component of the
    # next path to open) becomes a link to a root-only folder: refused, and
    # nothing of that folder reaches the facts.
    profile = sb.profile(expect="error", error=r"cannot open ImapMail/imap\.ac-test\.fr/Archives\.sbd")
    host = os.path.join(profile, "ImapMail", "imap.ac-test.fr")
    sb.write(os.path.join(host, "Archives.sbd", "2025.msf"), b"")
    hlib.chown_tree(os.path.join(host, "Archives.sbd"), OWNER)
    secret = os.path.join(sb.base, "root-only")
    sb.write(os.path.join(secret, "Archives.sbd", "secret-folder.msf"), b"s" * 12345, uid=0)
    os.chmod(secret, 0o700)
    os.chmod(os.path.join(secret, "Archives.sbd"), 0o700)
    sb.profile_dirs.add(host + ".moved")

    def setup(box):
        real = os.listdir
        state = {"done": False}

        def listdir(*args):
            names = real(*args)
            if not state["done"] and "Archives.sbd" in names and "INBOX.msf" in names:
                state["done"] = True
                os.rename(host, host + ".moved")
                box.symlink(secret, host)
            return names
        os.listdir = listdir
    sb.child_setup.append(setup)
    sb.after_collect.append(lambda box, snap: None)  # judge from the state after the swap
    sb.verify.append(lambda box, result: ["a root-only folder reached the facts"]
                     if "secret-folder" in json.dumps(result) else [])
    sb.second_run = False


def _other_root_linked(sb):
    """.thunderbird moved away and replaced by a link to the other user's."""
    other = sb.other_profile(mode=0o777)
    os.rename(sb.root, sb.root + ".old")
    sb.symlink(os.path.dirname(other), sb.root)
    return other


@case("symlink/explicit-profile-through-linked-parent", "symlink")
def case_symlink_explicit_profile_through_linked_parent(sb):
    other = _other_root_linked(sb)
    sb.params["profiles"] = [os.path.join(sb.root, os.path.basename(other))]
    sb.ini_profiles = None
    sb.expect_host_error(r"/home/\.thunderbird is a symbolic link; give the real folder")


@case("symlink/explicit-profile-through-link-to-root-profile", "symlink")
def case_symlink_explicit_profile_through_link_to_root_profile(sb):
    rooted = os.path.join(sb.base, "root-tb")
    path = sb.profile("rrrr.root", parent=rooted, uid=0, expect=None)
    os.chown(rooted, 0, 0)
    shutil.rmtree(sb.root)
    sb.symlink(rooted, sb.root)
    sb.params["profiles"] = [os.path.join(sb.root, os.path.basename(path))]
    sb.ini_profiles = None
    sb.expect_host_error(r"/home/\.thunderbird is a symbolic link; give the real folder")


@case("ownership/root-owned-profile-in-a-home", "ownership")
def case_ownership_root_owned_profile_in_a_home(sb):
    # No write with euid 0 in a folder a user owns.
    profile = sb.profile(uid=0, expect="error",
                         error=r"/home is owned by uid %d, neither root nor the profile's user \(uid 0\)" % OWNER)
    sb.params["profiles"] = [profile]


@case("ownership/other-users-profile-in-the-home", "ownership")
def case_ownership_other_users_profile_in_the_home(sb):
    profile = sb.profile(uid=OTHER, expect="error",
                         error=r"/home is owned by uid %d, neither root nor the profile's user \(uid %d\)" % (OWNER, OTHER))
    sb.params["profiles"] = [profile]


def _root_only_twin(sb, path, data):
    """``path`` replaced by a hard link to a root-only file holding ``data``
    (what fs.protected_hardlinks=0 lets a user do)."""
    secret = sb.write(os.path.join(sb.base, "root-only-" + os.path.basename(path)), data, uid=0)
    if os.path.lexists(path):
        os.unlink(path)
    os.link(secret, path)


def _no_secret(box, result):
    return ["a root-only file's content reached the facts"] if "SECRET" in json.dumps(result) else []


@case("ownership/compatibility-ini-hard-link-to-root-file", "ownership")
def case_ownership_compatibility_ini_hard_link(sb):
    profile = sb.profile(expect="error", error=r"compatibility\.ini is owned by uid 0, not by the profile's user")
    _root_only_twin(sb, os.path.join(profile, "compatibility.ini"), "[Compatibility]\nLastVersion=SECRET_1/1\n")
    sb.verify.append(_no_secret)


@case("ownership/profiles-ini-hard-link-to-root-file", "ownership")
def case_ownership_profiles_ini_hard_link(sb):
    sb.profile("aaaa.default")
    sb.ini_profiles = None
    _root_only_twin(sb, os.path.join(sb.root, "profiles.ini"),
                    "[Profile0]\nName=SECRET\nIsRelative=1\nPath=aaaa.default\n")
    sb.verify.append(_no_secret)


@case("ownership/msf-owned-by-root", "ownership")
def case_ownership_msf_owned_by_root(sb):
    profile = sb.fixture_profile("aaaa.default")
    os.chown(os.path.join(profile, MSF_DIR[0], MSF_DIR[1], "INBOX.msf"), 0, 0)
    sb.verify.append(problem_check(profile, r"INBOX\.msf is owned by uid 0, not by the profile's user"))


@case("symlink/root-children-links-not-probed", "symlink")
def case_symlink_root_children_links_not_probed(sb):
    # Two links in the root to root-only folders, one holding a prefs.js: both
    # are reported alike, so the report tells nothing of what lies behind.
    sb.profile("aaaa.default")
    for name, with_prefs in (("bbbb.probe", True), ("cccc.probe", False)):
        target = os.path.join(sb.base, "root-only-" + name)
        os.makedirs(target)
        os.chmod(target, 0o700)
        if with_prefs:
            sb.write(os.path.join(target, "prefs.js"), b"", uid=0)
        link = sb.symlink(target, os.path.join(sb.root, name))
        sb.expect(link, "error", r"refused: (/\S*/)?\.thunderbird/%s is a symbolic link" % re.escape(name))


@case("readonly-fs/profile-folder-append-only", "readonly-fs")
def case_readonly_fs_profile_folder_append_only(sb):
    # chattr +a: a file can be made there but never renamed or removed.
    profile = sb.profile(expect="error", error=r"append-only or immutable")
    subprocess.run(["chattr", "+a", profile], check=True)
    sb.cleanups.append(lambda: subprocess.run(["chattr", "-a", profile], check=True))


# --- through a real ansible-playbook: one sandbox, one profile per case ----------------------------------------

def playbook_sandbox(sb):
    """Hostile profiles side by side for one thunderbird_offline task; returns
    {profile path: case name}. Every kind of refusal, and one profile that
    must be changed, so that the module path is shown to keep them apart."""
    names = {}

    def named(path, name):
        names[path] = "playbook/" + name
        return path
    named(sb.profile("aaaa.default"), "plain-profile-changed")
    broken = named(sb.profile("bbbb.broken", expect=None), "prefs-syntax-error")
    data = sb.read(prefs_of(broken))
    rewrite(sb, prefs_of(broken), lambda d: d.replace(OFFLINE_LINE, b'user_pref("a", tru);\n' + OFFLINE_LINE))
    sb.expect(broken, "error", syntax_regex("prefs.js", line_of(data, OFFLINE_LINE), "unknown keyword"))
    nul = named(sb.profile("cccc.nul", expect="error", error=r"prefs\.js: .*NUL"), "prefs-cut-by-nul")
    rewrite(sb, prefs_of(nul), lambda d: d + b"\x00")
    deep = named(sb.profile("dddd.deepjson", expect="error", error=r"nested too deeply"), "folder-cache-nested")
    rewrite(sb, os.path.join(deep, "folderCache.json"), lambda d: b"[" * 100000 + b"]" * 100000)
    link = named(sb.profile("eeee.link", expect="error", error=r"prefs\.js is a symbolic link"), "prefs-link-to-root-file")
    os.unlink(prefs_of(link))
    sb.symlink(sb.canary, prefs_of(link))
    locked = named(sb.profile("ffff.locked", expect="skipped_running"), "thunderbird-running")
    sb.hold_lock(locked)
    other = sb.other_profile(mode=0o777)
    named(sb.symlink(other, os.path.join(sb.root, "gggg.other")), "profile-link-to-other-user")
    sb.expect(os.path.join(sb.root, "gggg.other"), "error", r"refused: (/\S*/)?\.thunderbird/gggg\.other is a symbolic link")
    huge = named(sb.profile("hhhh.huge", expect="error", error=r"prefs\.js is too large"), "prefs-over-size-limit")
    os.truncate(prefs_of(huge), 64 << 30)
    owned = named(sb.profile("iiii.owned", expect="error", error=r"prefs\.js is owned by uid 0"), "prefs-owned-by-root")
    os.chown(prefs_of(owned), 0, 0)
    readonly = named(sb.profile("ro.default", parent=os.path.join(sb.home, "ro"), expect="error",
                                error=r"Read-only file system"), "read-only-mount")
    sb.bind_readonly(readonly)
    full_root = sb.mount_tmpfs(os.path.join(sb.home, "full"), size="1m")
    full = named(sb.profile("full.default", parent=full_root, expect="error", error=r"No space left on device"),
                 "disk-full")
    rewrite(sb, prefs_of(full), big_prefs(300 * 1024))
    sb.fill(full_root, 0)
    sb.params["profiles"] = [sb.root, readonly, full]
    return names
