"""Write the hand-made cases of the agreement corpus to corpus/edge/ and corpus/pairs/.

    python tests/agreement/make_agreement_corpus.py          # (re)write the files
    python tests/agreement/make_agreement_corpus.py --check  # exit 1 if they are stale

Each case is a small prefs.js (bytes) meant to probe one corner of libpref's
grammar, values, error recovery or encoding handling. What Thunderbird makes
of it is never written here: the agreement test asks the real client.

The files end in ``.bin``: ansible-test sanity treats them as binary, so its
text checks (Unix line ends, UTF-8) leave alone the CR, CRLF, NUL and invalid
UTF-8 bytes that are the point of many cases.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS_DIR = os.path.join(HERE, "corpus")
WRITTEN_HERE = ("edge", "pairs")

BEFORE = b'user_pref("agree.before", 1);\n'
AFTER = b'\nuser_pref("agree.after", 2);\n'


def u(name, literal, kind=b"user_pref"):
    return kind + b'("agree.' + name + b'", ' + literal + b");\n"


def framed(body):
    """A statement between two valid ones: shows what the error skip swallows."""
    return BEFORE + body + AFTER


CASES = {}  # path under corpus/ -> bytes


def case(name, data):
    path = "edge/%s.bin" % name
    assert path not in CASES, name
    CASES[path] = data


def pair(name, prefs_js, user_js):
    """Read as a start does: prefs.js, then user.js, without a reset between."""
    assert "pairs/%s/prefs.bin" % name not in CASES, name
    CASES["pairs/%s/prefs.bin" % name] = prefs_js
    CASES["pairs/%s/user.bin" % name] = user_js


# --- values and escapes -------------------------------------------------------

case("value-types", u(b"t", b"true") + u(b"f", b"false") + u(b"i", b"42")
     + u(b"neg", b"-7") + u(b"s", b'"text"') + u(b"empty", b'""'))
for label, body in [(b"backslash", rb"\\"), (b"dquote", rb"\""), (b"squote", rb"\'"),
                    (b"n", rb"\n"), (b"r", rb"\r")]:
    case("esc-%s-dq" % label.decode(), framed(u(b"e", b'"a' + body + b'b"')))
    case("esc-%s-sq" % label.decode(), framed(u(b"e", b"'a" + body + b"b'")))
case("quotes-single-holds-double", framed(u(b"q", b"'say \"hi\"'")))
case("quotes-double-holds-single", framed(u(b"q", b'"it\'s"')))
case("quotes-single-name", framed(b"user_pref('agree.sq', 'v');\n"))
case("quotes-mixed-name-value", framed(b"user_pref('agree.m', \"v\");\n"))
case("esc-hex-valid", framed(u(b"x", rb'"\x41\x7e\x7F\x0a\x0D\x20"')))
case("esc-hex-case", framed(u(b"x", rb'"\xaB\xCd\xeF"')))
case("esc-hex-utf8-bytes", framed(u(b"x", rb'"\xC3\xA9\xE2\x82\xAC"')))
case("esc-hex-invalid-utf8-byte", framed(u(b"x", rb'"\xff\xfe\x80"')))
case("esc-hex-nul", framed(u(b"x", rb'"a\x00b"')))
case("esc-hex-short", framed(u(b"x", rb'"\x4"')))
case("esc-hex-nondigit", framed(u(b"x", rb'"\xg0"')))
case("esc-hex-at-string-end", framed(u(b"x", rb'"\x"')))
case("esc-unicode-valid", framed(u(b"u", rb'"\u00e9\u00C9\u20ac\uFFFF\u0001\u0800"')))
case("esc-unicode-pair", framed(u(b"u", rb'"\ud83d\ude00\uD83D\uDE00"')))
case("esc-unicode-nul", framed(u(b"u", rb'"\u0000"')))
case("esc-unicode-short", framed(u(b"u", rb'"\u12"')))
case("esc-unicode-short-3", framed(u(b"u", rb'"\u123g"')))
case("esc-unicode-lone-high", framed(u(b"u", rb'"\ud83d"')))
case("esc-unicode-high-then-text", framed(u(b"u", rb'"\ud83dabc"')))
case("esc-unicode-high-then-bmp", framed(u(b"u", rb'"\ud83d\u0041"')))
case("esc-unicode-high-then-n", framed(u(b"u", rb'"\ud83d\n"')))
case("esc-unicode-high-then-backslash-quote", framed(u(b"u", rb'"\ud83d\"') + b'x";\n'))
case("esc-unicode-high-then-short-low", framed(u(b"u", rb'"\ud83d\ude0"')))
case("esc-unicode-lone-low", framed(u(b"u", rb'"\ude00"')))
for letter in b"tbfv0aeq8U":
    c = bytes([letter])
    case("esc-invalid-%s" % ("upper-u" if c == b"U" else c.decode()),
         framed(u(b"bad", b'"a\\' + c + b'b"')))
case("esc-backslash-lf", framed(u(b"e", b'"a\\\nb"')))
case("esc-backslash-crlf", framed(u(b"e", b'"a\\\r\nb"')))
case("esc-backslash-cr", framed(u(b"e", b'"a\\\rb"')))
case("esc-backslash-at-eof", BEFORE + b'user_pref("agree.e", "abc\\')
case("esc-two-errors-one-string", framed(u(b"e", rb'"\t\x4\q"')))
case("esc-in-name", framed(b'user_pref("agree.\\x41\\u00e9\\n", 1);\n'))

# --- multi-line strings and line ends -----------------------------------------

case("multiline-lf", framed(u(b"ml", b'"line1\nline2\nline3"')))
case("multiline-crlf", framed(u(b"ml", b'"line1\r\nline2"')))
case("multiline-cr", framed(u(b"ml", b'"line1\rline2"')))
case("multiline-then-error", u(b"ml", b'"a\nb\nc"') + b"user_pref(\"agree.x\", oops);\n"
     + u(b"after", b"1"))
case("file-crlf", (BEFORE + u(b"a", b'"v"') + b"user_pref(\"agree.bad\" 1);\n" + AFTER)
     .replace(b"\n", b"\r\n"))
case("file-cr-only", (BEFORE + u(b"a", b'"v"') + b"user_pref(\"agree.bad\" 1);\n" + AFTER)
     .replace(b"\n", b"\r"))
case("file-lfcr", b'user_pref("agree.a", 1);\n\ruser_pref("agree.bad" 1);\n\r' + u(b"z", b"3"))
case("file-mixed-eol", b'user_pref("agree.a", 1);\r\n\r\n\n\r\r\nuser_pref(bad);\n'
     + u(b"z", b"3"))
case("no-final-newline", BEFORE + b'user_pref("agree.last", 9);')
case("no-final-semicolon", BEFORE + b'user_pref("agree.last", 9)')

# --- comments -----------------------------------------------------------------

case("comment-line-slash", b"// first\n" + BEFORE + b"// user_pref(\"agree.no\", 1);\n" + AFTER)
case("comment-line-hash", b"# first\n" + BEFORE + b"# user_pref(\"agree.no\", 1);\n" + AFTER)
case("comment-block", b"/* a */" + BEFORE + b"/* user_pref(\"agree.no\", 1); */\n" + AFTER)
case("comment-block-multiline", BEFORE + b"/*\n user_pref(\"agree.no\", 1);\n\n*/\n" + AFTER)
case("comment-block-stars", BEFORE + b"/*** ** * /* **/\n/**/\n/***/" + AFTER)
case("comment-between-tokens", b'user_pref/*1*/(//2\n"agree.c"#3\n,/*4*/\n5/**/)/* 6 */;'
     + AFTER)
case("comment-holds-semicolons-and-quotes", BEFORE + b"/* ; \" ' */ // ; \" '\n# ; '\n" + AFTER)
case("comment-slash-alone", framed(b"/ user_pref(\"agree.no\", 1);\n"))
case("comment-slash-space-slash", framed(b"/ / x;\n"))
case("comment-slash-before-lf", framed(b"/\nuser_pref(\"agree.no\", 1);\n"))
case("comment-block-unterminated", BEFORE + b"/* never closed\nuser_pref(\"agree.no\", 1);\n")
case("comment-block-unterminated-in-skip", BEFORE + b"user_pref(bad /* open\n;\n")
case("comment-line-at-eof", BEFORE + b"// no newline")
case("comment-line-ends-with-cr", BEFORE + b"// a comment\ruser_pref(\"agree.cr\", 1);")
case("comment-hash-in-string", framed(u(b"h", b'"# not // a /* comment"')))
case("comment-nested-block", framed(b"/* /* */ user_pref(\"agree.nested\", 1); */\n"))
case("comment-only", b"// nothing\n# here\n/* at all */\n")

# --- integers -----------------------------------------------------------------

for label, literal in [("zero", b"0"), ("minus-zero", b"-0"), ("plus", b"+5"),
                       ("max", b"2147483647"), ("min", b"-2147483648"),
                       ("plus-max", b"+2147483647"), ("leading-zeros", b"007"),
                       ("leading-zeros-max", b"00000000002147483647"),
                       ("sign-space", b"- 5"), ("sign-comment", b"-/*c*/5"),
                       ("sign-newline", b"-\n5")]:
    case("int-%s" % label, framed(u(b"i", literal)))
for label, literal in [("max-plus-1", b"2147483648"), ("min-minus-1", b"-2147483649"),
                       ("u32-max", b"4294967295"), ("u32-max-plus-1", b"4294967296"),
                       ("huge", b"99999999999999999999999"),
                       ("huge-negative", b"-99999999999999999999999"),
                       ("double-minus", b"--5"), ("plus-minus", b"+-5"),
                       ("trailing-letter", b"12abc"), ("decimal", b"1.5"), ("hex", b"0x10"),
                       ("exponent", b"1e3"), ("sign-alone", b"-"), ("sign-string", b'-"5"')]:
    case("int-bad-%s" % label, framed(u(b"i", literal)))

# --- keywords and structure ---------------------------------------------------

for label, literal in [("upper", b"TRUE"), ("title", b"True"), ("word", b"yes"),
                       ("null", b"null")]:
    case("bool-bad-%s" % label, framed(u(b"b", literal)))
case("bool-as-string", framed(u(b"b", b'"true"')))
case("missing-semicolon", BEFORE + b'user_pref("agree.a", 1)\nuser_pref("agree.b", 2);\n'
     + u(b"c", b"3"))
case("missing-semicolon-string-holds-semicolon",
     BEFORE + b'user_pref("agree.a", 1)\nuser_pref("agree.b", "x;y");\n' + u(b"c", b"3"))
case("missing-close-paren", framed(b'user_pref("agree.a", 1;\n'))
case("missing-open-paren", framed(b'user_pref "agree.a", 1);\n'))
case("missing-comma", framed(b'user_pref("agree.a" 1);\n'))
case("missing-name", framed(b"user_pref(, 1);\n"))
case("missing-value", framed(b'user_pref("agree.a", );\n'))
case("name-not-string", framed(b"user_pref(agree.a, 1);\n"))
case("name-int", framed(b"user_pref(5, 1);\n"))
case("extra-argument", framed(b'user_pref("agree.a", 1, 2);\n'))
case("empty-statement", framed(b";;\n"))
case("unknown-keyword", framed(b'userpref("agree.a", 1);\n'))
case("keyword-case", framed(b'User_pref("agree.a", 1);\n'))
case("unexpected-char", framed(b'user_pref("agree.a", 1); @ user_pref("agree.b", 2);\n'))
case("keyword-at-eof", BEFORE + b"user_pref")
case("open-paren-at-eof", BEFORE + b"user_pref(")
case("name-at-eof", BEFORE + b'user_pref("agree.a"')
case("string-unterminated-at-eof", BEFORE + b'user_pref("agree.a", "never closed\n')
case("string-unterminated-in-skip", BEFORE + b'user_pref(bad "open ;\n')
case("error-then-string-with-semicolon", framed(b'user_pref(x "a;b"); user_pref("agree.n", 1);\n'))
case("error-in-middle", b"".join(u(b"n%d" % i, b"%d" % i) for i in range(20))
     + b'user_pref("agree.bad", );\n'
     + b"".join(u(b"m%d" % i, b"%d" % i) for i in range(20)))
case("errors-every-line", b"".join(b'user_pref("agree.e%d" %d);\n' % (i, i) for i in range(30)))
case("errors-many", b"x;\n" * 1200 + u(b"after_many", b"1"))
case("errors-on-one-line", BEFORE + b"x; y; z; user_pref(; 1; 'a';\n" + AFTER)
case("whitespace-kinds", b'\t\x0b\x0cuser_pref(\t"agree.ws"\x0b,\x0c1\r)\n;' + AFTER)
case("nbsp-whitespace", framed(b'user_pref(\xc2\xa0"agree.nbsp", 1);\n'))
case("empty-file", b"")
case("whitespace-only", b" \n\t\r\n  \n")
case("locked-attribute", framed(b'user_pref("agree.l", 1, locked);\n'))
case("sticky-attribute", framed(b'user_pref("agree.s", 1, sticky);\n'))
case("keyword-locked-alone", framed(b"locked;\n"))
case("keyword-sticky-as-value", framed(u(b"s", b"sticky")))

# --- names and duplicates -----------------------------------------------------

case("name-empty", framed(b'user_pref("", 1);\n'))
case("name-spaces", framed(u(b" with  spaces ", b"1")))
case("name-unicode", framed(u("\u00e9l\u00e8ve.\u65e5\u672c".encode("utf-8"), b"1")))
case("name-invalid-utf8", framed(u(b"\xff\xc3(", b"1")))
case("name-long", framed(u(b"n" * 20000, b"1")))
case("value-long", framed(u(b"v", b'"' + b"0123456789" * 2000 + b'"')))
case("value-long-escapes", framed(u(b"v", b'"' + b"\\n\\\"\\x41\\u00e9" * 1000 + b'"')))
case("duplicate-last-wins", u(b"d", b"1") + u(b"d", b"2") + u(b"d", b"3"))
case("duplicate-type-change", u(b"d", b"1") + u(b"d", b'"two"') + u(b"d", b"true"))
case("duplicate-after-error", u(b"d", b"1") + b'user_pref("agree.d", 2)\n' + u(b"d", b"3")
     + u(b"e", b"4"))
case("duplicate-names-differ-by-quote", u(b"q", b"1") + b"user_pref('agree.q', 2);\n")

# --- pref() and sticky_pref() in a user file ----------------------------------

case("pref-default-only", u(b"p", b"5", kind=b"pref") + u(b"s", b'"x"', kind=b"sticky_pref"))
case("pref-then-user-same-type", u(b"p", b"5", kind=b"pref") + u(b"p", b"6"))
case("pref-then-user-other-type", u(b"p", b"5", kind=b"pref") + u(b"p", b'"six"'))
case("user-then-pref-other-type", u(b"p", b'"six"') + u(b"p", b"5", kind=b"pref"))
case("user-then-pref-same-type", u(b"p", b"6") + u(b"p", b"5", kind=b"pref"))
case("pref-twice-other-type", u(b"p", b"5", kind=b"pref") + u(b"p", b"true", kind=b"pref"))
case("pref-twice-same-type", u(b"p", b"5", kind=b"pref") + u(b"p", b"7", kind=b"pref"))
case("sticky-then-user", u(b"s", b"true", kind=b"sticky_pref") + u(b"s", b"false"))
case("sticky-then-user-other-type", u(b"s", b"true", kind=b"sticky_pref") + u(b"s", b"1"))
case("pref-locked", framed(b'pref("agree.l", 1, locked);\n'))
case("pref-sticky-attribute", framed(b'pref("agree.l", 1, sticky);\n'))
case("sticky-pref-locked", framed(b'sticky_pref("agree.l", 1, locked);\n'))
case("pref-user-interleaved", u(b"a", b"1", kind=b"pref") + u(b"a", b"2")
     + u(b"a", b"3", kind=b"pref") + u(b"a", b'"s"') + u(b"a", b"4"))

# --- encodings and NUL bytes --------------------------------------------------

case("bom", b"\xef\xbb\xbf" + BEFORE + AFTER)
case("bom-twice", b"\xef\xbb\xbf\xef\xbb\xbf" + BEFORE + AFTER)
case("bom-not-at-start", BEFORE + b"\xef\xbb\xbf" + AFTER)
case("bom-in-string", framed(u(b"b", b'"\xef\xbb\xbf"')))
case("utf16le-bom", b"\xff\xfe" + "user_pref(\"agree.w\", 1);\n".encode("utf-16-le"))
case("utf16be-bom", b"\xfe\xff" + "user_pref(\"agree.w\", 1);\n".encode("utf-16-be"))
UTF8_TEXT = "Bo\u00eete acad\u00e9mique \U0001F600".encode("utf-8")
case("value-utf8", framed(u(b"v", b'"' + UTF8_TEXT + b'"')))
case("value-latin1", framed(u(b"v", b'"Bo\xeete acad\xe9mique"')))
case("value-invalid-utf8", framed(u(b"v", b'"\xc3\x28 \xa0\xa1 \xf0\x28\x8c\x28 \xc0\xaf \xed\xa0\x80"')))
CONTROLS = bytes(c for c in range(1, 32) if c not in (0x0a, 0x0d)) + b"\x7f"
case("value-control-chars", framed(u(b"v", b'"' + CONTROLS + b'"')))
case("nul-top-level", BEFORE + b"\x00" + AFTER)
case("nul-first-byte", b"\x00" + BEFORE)
case("nul-only", b"\x00")
case("nul-in-line-comment", BEFORE + b"// comment \x00 user_pref(\"agree.x\", 1);\n" + AFTER)
case("nul-in-hash-comment", BEFORE + b"# comment \x00user_pref(\"agree.x\", 1);\n" + AFTER)
case("nul-in-block-comment", BEFORE + b"/* comment \x00 */ user_pref(\"agree.x\", 1);\n" + AFTER)
case("nul-in-string", BEFORE + b'user_pref("agree.x", "a\x00b"); user_pref("agree.y", 1);\n'
     + AFTER)
case("nul-in-string-in-skip", BEFORE + b'user_pref(bad "a\x00b"; user_pref("agree.y", 1);\n'
     + AFTER)
case("nul-in-name", framed(b'user_pref("agree.\x00x", 1);\n'))
case("nul-after-keyword", framed(b"user_pref\x00(\"agree.x\", 1);\n"))
case("nul-in-skip", framed(b"user_pref(bad \x00 ;\n"))
case("binary-garbage", bytes(range(256)) + b"\n" + AFTER)

# --- real-world shapes --------------------------------------------------------

ACCOUNT = b"""user_pref("mail.accountmanager.accounts", "account1,account2");
user_pref("mail.accountmanager.defaultaccount", "account1");
user_pref("mail.account.account1.server", "server1");
user_pref("mail.account.account1.identities", "id1");
user_pref("mail.account.account2.server", "server2");
user_pref("mail.identity.id1.fullName", "Bo\xc3\xaete acad\xc3\xa9mique");
user_pref("mail.identity.id1.useremail", "eleve@ac-exemple.fr");
user_pref("mail.server.server1.type", "imap");
user_pref("mail.server.server1.hostname", "imap.ac-exemple.fr");
user_pref("mail.server.server1.port", 143);
user_pref("mail.server.server1.socketType", 0);
user_pref("mail.server.server1.authMethod", 3);
user_pref("mail.server.server1.userName", "eleve");
user_pref("mail.server.server1.offline_download", false);
user_pref("mail.server.server1.autosync_max_age_days", 30);
user_pref("mail.server.server1.directory-rel", "[ProfD]ImapMail/imap.ac-exemple.fr");
user_pref("mail.server.server1.directory", "C:\\\\Users\\\\eleve\\\\AppData\\\\Roaming\\\\Thunderbird\\\\Profiles\\\\x.default\\\\ImapMail\\\\imap");
user_pref("mail.server.server2.type", "none");
user_pref("mail.server.server2.hostname", "Local Folders");
"""
HEADER = (b"// Mozilla User Preferences\n\n// DO NOT EDIT THIS FILE.\n//\n"
          b"// If you make changes to this file while the application is running,\n"
          b"// the changes will be overwritten when the application exits.\n//\n\n")
case("real-account", HEADER + ACCOUNT)
case("real-account-windows", (HEADER + ACCOUNT).replace(b"\n", b"\r\n"))
case("real-account-powershell-bom", b"\xef\xbb\xbf" + (HEADER + ACCOUNT).replace(b"\n", b"\r\n"))
case("real-account-error-in-middle",
     HEADER + ACCOUNT.replace(b'"server1");', b'"server1")', 1))
case("real-account-appended-no-eol",
     (HEADER + ACCOUNT).rstrip(b"\n") + b'user_pref("mail.server.server1.offline_download", true);')
case("real-unsubstituted-placeholder",
     ACCOUNT.replace(b"offline_download\", false", b"offline_download\", OFFLINE_DOWNLOAD"))
case("real-builtin-default-other-type",
     b'user_pref("mail.server.default.offline_download", "yes");\n'
     b'user_pref("mail.server.default.autosync_max_age_days", true);\n'
     b'user_pref("mail.server.default.offline_download", false);\n' + AFTER)
case("real-many-servers", b"".join(
    b'user_pref("mail.server.server%d.%s", %s);\n' % (i, key, value)
    for i in range(1, 80)
    for key, value in ((b"type", b'"imap"'), (b"hostname", b'"h%d.example"' % i),
                       (b"port", b"%d" % (990 + i)), (b"offline_download", b"true"))))

# --- tokens next to each other, and where errors are reported -----------------

case("keyword-then-digit", framed(b'user_pref1("agree.a", 1);\n'))
case("digit-then-keyword", framed(b'1user_pref("agree.a", 1);\n'))
case("keyword-underscore-only", framed(b'_("agree.a", 1);\n'))
case("keywords-glued", framed(u(b"k", b"truefalse")))
case("int-then-underscore", framed(u(b"i", b"12_")))
case("int-then-string", framed(u(b"i", b'12"x"')))
case("string-then-string", framed(u(b"s", b'"a""b"')))
case("string-then-string-single", framed(u(b"s", b"'a''b'")))
case("no-space-anywhere", b'user_pref("agree.a",1);user_pref(\'agree.b\',"x");'
     b'pref("agree.c",-1);sticky_pref("agree.d",true);')
for byte in (0x01, 0x08, 0x0e, 0x1b, 0x1f, 0x7f, 0x85, 0xa0, 0xff):
    case("control-%02x-between-tokens" % byte,
         framed(b'user_pref(' + bytes([byte]) + b'"agree.c", 1);\n'))
case("error-line-after-multiline-comment", BEFORE + b"/*\n\n\n*/ oops;\n" + AFTER)
case("error-line-after-multiline-string", BEFORE + b'user_pref("agree.m", "a\nb\nc") x;\n'
     + AFTER)
case("error-line-bad-escape-in-multiline-string",
     BEFORE + b'user_pref("agree.m", "a\\q\nb\nc");\n' + AFTER)
case("error-line-unterminated-multiline-string", BEFORE + b'user_pref("agree.m", "a\nb\nc')
case("error-line-in-skip-over-lines", BEFORE + b"oops\n\n'a\nb' \"c\nd\" /* \n */ ;\n"
     + b"again;\n" + AFTER)
case("error-line-crlf-in-string", BEFORE + b'user_pref("agree.m", "a\r\nb\r\nc") x;\r\n'
     + AFTER)
case("error-line-cr-in-string", BEFORE + b'user_pref("agree.m", "a\rb\rc") x;\r' + AFTER)
case("error-line-sign-then-newline", BEFORE + b'user_pref("agree.i", -\n\n"x");\n' + AFTER)
case("error-after-bom-line-1", b"\xef\xbb\xbfoops;\n" + AFTER)
case("surrogate-pair-split-by-newline", framed(u(b"u", b'"\\ud83d\n\\ude00"')))
case("escape-of-raw-utf8", framed(u(b"e", b'"\\\xc3\xa9"')))
case("escape-of-nul", framed(u(b"e", b'"\\\x00"')))
case("hex-escape-then-raw-continuation", framed(u(b"e", b'"\\xc3\xa9\\xa9"')))
case("unicode-escape-mixed-with-raw-bytes", framed(u(b"e", b'"\\u00e9\xc3\\xa9\xff"')))

# --- prefs.js then user.js ----------------------------------------------------

pair("user-overrides-user", u(b"a", b"1") + u(b"b", b'"x"'), u(b"a", b"2"))
pair("user-changes-type", u(b"a", b"1"), u(b"a", b'"now a string"'))
pair("default-then-user-other-type", u(b"p", b"5", kind=b"pref"), u(b"p", b'"s"') + AFTER)
pair("default-then-user-same-type", u(b"p", b"5", kind=b"pref"), u(b"p", b"6"))
pair("user-then-default-other-type", u(b"p", b'"s"'), u(b"p", b"5", kind=b"pref"))
pair("user-then-default-same-type", u(b"p", b"6"), u(b"p", b"5", kind=b"pref"))
pair("sticky-then-user", u(b"s", b"true", kind=b"sticky_pref"), u(b"s", b"true"))
pair("default-twice-other-type", u(b"p", b"5", kind=b"pref"), u(b"p", b"true", kind=b"pref"))
pair("unterminated-string-stays-in-its-file", BEFORE + b'user_pref("agree.a", "open\n',
     u(b"b", b"2"))
pair("unterminated-comment-stays-in-its-file", BEFORE + b"/* open\n", u(b"b", b"2"))
pair("statement-split-across-files", BEFORE + b'user_pref("agree.a",', b" 1);\n" + AFTER)
pair("nul-ends-only-its-file", BEFORE + b"\x00" + u(b"hidden", b"1"), u(b"b", b"2"))
pair("user-js-with-bom", BEFORE, b"\xef\xbb\xbf" + u(b"b", b"2"))
pair("errors-in-both", b"x;\n" + BEFORE + b"y;\n", b"\n\nz;\n" + AFTER)
pair("empty-user-js", BEFORE + AFTER, b"")


def write(check=False):
    """Paths (under corpus/) that differ from CASES; rewritten unless ``check``."""
    present = set()
    for sub in WRITTEN_HERE:
        for root, _dirs, files in os.walk(os.path.join(CORPUS_DIR, sub)):
            present.update(os.path.relpath(os.path.join(root, f), CORPUS_DIR) for f in files)
    stale = []
    for rel in sorted(present | set(CASES)):
        path = os.path.join(CORPUS_DIR, rel)
        current = None
        if rel in present:
            with open(path, "rb") as f:
                current = f.read()
        if current == CASES.get(rel):
            continue
        stale.append(rel)
        if check:
            continue
        if rel in CASES:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(CASES[rel])
        else:
            os.remove(path)
    return stale


if __name__ == "__main__":
    checking = "--check" in sys.argv[1:]
    changed = write(check=checking)
    print("%d files, %d %s" % (len(CASES), len(changed),
                               "stale" if checking else "written or removed"))
    sys.exit(1 if checking and changed else 0)
