# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""prefs.js / user.js as Thunderbird's libpref reads them, and careful edits (pure).

The grammar, the error messages and the error recovery follow libpref's parser
(gecko ``modules/libpref/parser``) in the version Thunderbird 153 ships. Facts
checked against a real Thunderbird 153.8.0esr (it prints each parse error to
stderr as ``<path>:<line>: prefs parse error: <message>`` and rewrites prefs.js
with what it kept):

* On an error the parser skips tokens up to the next ``;`` and goes on. The
  skipped tokens are still tokenized, so a ``;`` inside a string or a comment
  does not end the skip; a missing ``;`` therefore also swallows the next
  statement.
* ``pref(...)`` and ``sticky_pref(...)`` are accepted in prefs.js/user.js and
  set the *default* value (never written back); attributes such as
  ``, locked`` are an error there ("expected ')' after pref value"). (Newer
  gecko sources reject ``pref`` in user files; Thunderbird 153 does not.)
* A user value whose type differs from the pref's default is rejected, and so
  is a default whose type differs from the pref's current type.
* One UTF-8 BOM at the very start is skipped.
* A NUL byte outside strings and comments ends the file silently. Inside a
  ``//``/``#`` comment it ends the comment and parsing goes on after it; inside
  a string or a ``/*`` comment it is an error and the skip goes on after it.
* Line numbers count ``\\r\\n``, ``\\r`` and ``\\n`` as one line end each.

Names and string values are ``str`` decoded from UTF-8 with ``surrogateescape``
so that any byte sequence survives a round trip.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import bisect
import re

MAX_PREFS_BYTES = 32 * 1024 * 1024
MAX_ERRORS = 1000

INT_MIN = -2147483648
INT_MAX = 2147483647
_U32_MAX = 4294967295


class PrefsTooLarge(ValueError):
    """The data is larger than MAX_PREFS_BYTES."""


class PrefsEditError(ValueError):
    """edit() refuses a document it does not fully understand, or failed its own check."""


class PrefsError:
    """One syntax error, as libpref reports it.

    ``line``/``col`` (1-based, column in characters) point at the offending
    token, or at the backslash of a bad escape, or at the opening quote or
    ``/*`` of an unterminated string or comment; ``offset`` is that byte
    offset. ``libpref_line`` is the line Thunderbird prints, which is where its
    tokenizer stood (for a token that spans lines, its last line).
    """

    __slots__ = ("message", "offset", "_libpref_offset", "_index")

    def __init__(self, message, offset, libpref_offset, index):
        self.message = message
        self.offset = offset
        self._libpref_offset = libpref_offset
        self._index = index

    @property
    def line(self):
        return self._index.line_col(self.offset)[0]

    @property
    def col(self):
        return self._index.line_col(self.offset)[1]

    @property
    def libpref_line(self):
        return self._index.line_col(self._libpref_offset)[0]

    def __str__(self):
        line, col = self._index.line_col(self.offset)
        return "line %d, column %d: %s" % (line, col, self.message)

    def __repr__(self):
        return "PrefsError(%r)" % str(self)


class PrefEntry:
    """One statement libpref accepted.

    ``start``/``end``: byte offsets of the statement from its keyword to its
    ``;`` inclusive; ``value_start``/``value_end``: the value (a sign and its
    digits included). ``line``/``col`` locate ``start``.
    """

    __slots__ = ("name", "value", "kind", "start", "end", "value_start", "value_end", "_index")

    def __init__(self, name, value, kind, start, end, value_start, value_end, index):
        self.name = name
        self.value = value
        self.kind = kind
        self.start = start
        self.end = end
        self.value_start = value_start
        self.value_end = value_end
        self._index = index

    @property
    def line(self):
        return self._index.line_col(self.start)[0]

    @property
    def col(self):
        return self._index.line_col(self.start)[1]

    def __repr__(self):
        return "PrefEntry(%s(%r, %r) at %d)" % (self.kind, self.name, self.value, self.start)


class _LineIndex:
    """Offsets of line starts, built on first use."""

    def __init__(self, data, text_start):
        self._data = data
        self._text_start = text_start
        self._starts = None

    def line_col(self, offset):
        if self._starts is None:
            self._starts = [0] + [m.end() for m in _EOL.finditer(self._data)]
        number = bisect.bisect_right(self._starts, offset)
        line_start = max(self._starts[number - 1], self._text_start)
        chars = self._data[line_start:offset].decode("utf-8", "surrogateescape")
        return number, len(chars) + 1


class PrefsDocument:
    """Result of parse(): entries and errors in file order."""

    def __init__(self, data, records, errors, error_count, stopped_at, bom, index):
        self.data = data
        # The first MAX_ERRORS errors; error_count counts them all.
        self.errors = errors
        self.error_count = error_count
        # Offset of a NUL byte at which libpref stopped reading, else None.
        self.stopped_at = stopped_at
        self.bom = bom
        # A list, or a function that returns it (an edited document's
        # offsets are shifted only when someone asks for them).
        self._record_source = records
        self._index = index
        self._entries = None
        self._values = None

    @property
    def _records(self):
        if callable(self._record_source):
            self._record_source = self._record_source()
        return self._record_source

    @property
    def entries(self):
        if self._entries is None:
            index = self._index
            self._entries = [PrefEntry(*(record + (index,))) for record in self._records]
        return self._entries

    @property
    def values(self):
        """name -> value Thunderbird ends up with from this file alone."""
        if self._values is None:
            self._values = _values_of(self._records)
        return self._values

    def get(self, name, default=None):
        return self.values.get(name, default)


def effective_values(*docs):
    """name -> value after loading ``docs`` in order (e.g. prefs.js, user.js).

    Last ``user_pref`` wins over any default; ``pref``/``sticky_pref`` give a
    default, used when there is no user value. As in libpref, a default whose
    type differs from the pref's type so far is dropped, and so is a user
    value whose type differs from an existing default. Defaults built into
    Thunderbird are not known here: a user value of another type than a
    built-in default would be dropped by the real client too.
    """
    if len(docs) == 1:
        return dict(docs[0].values)
    return _values_of([r for doc in docs for r in doc._records])


def _values_of(records):
    for record in records:
        if record[2] != "user_pref":
            return _model_values(records)
    return {record[0]: record[1] for record in records}


def _model_values(records):
    ptype, default, user = {}, {}, {}
    for record in records:
        name, value, kind = record[:3]
        known = ptype.get(name)
        if kind == "user_pref":
            if name in default and known != _type_of(value):
                continue
            user[name] = value
        else:
            if known is not None and known != _type_of(value):
                continue
            default[name] = value
        ptype[name] = _type_of(value)
    result = dict(default)
    result.update(user)
    return result


def _type_of(value):
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    return "string"


def same_value(a, b):
    """Equal as prefs: a bool never equals an int."""
    return _type_of(a) == _type_of(b) and a == b


# --- tokenizer -------------------------------------------------------------

_WS = rb"[ \t\n\x0b\x0c\r]"
# A line comment runs to a line end, or to a NUL which it consumes. The
# lookahead makes the comment body take all it can, so that the regex cannot
# backtrack into it (no exponential retries on comments full of '#' or '/').
_LINE_COMMENT = rb"(?://|\#)[^\n\r\x00]*(?:\x00|(?=[\n\r]))"
_BLOCK_COMMENT = rb"/\*[^*\x00]*\*+(?:[^*/\x00][^*\x00]*\*+)*/"
_TRIVIA_SRC = rb"(?:" + _WS + rb"|" + _LINE_COMMENT + rb"|" + _BLOCK_COMMENT + rb")*"
_DQ = rb'"([^"\\\n\r\x00]*(?:\\[^\n\r\x00][^"\\\n\r\x00]*)*)"'
_SQ = rb"'([^'\\\n\r\x00]*(?:\\[^\n\r\x00][^'\\\n\r\x00]*)*)'"

_TRIVIA = re.compile(_TRIVIA_SRC)
# One whole statement without surprises: the common case, handled in one match.
# Anything it does not match goes through the token-by-token path below.
_FAST = re.compile(
    _TRIVIA_SRC
    + rb"((user_pref|pref|sticky_pref)" + _TRIVIA_SRC + rb"\(" + _TRIVIA_SRC
    + rb"(?:" + _DQ + rb"|" + _SQ + rb")" + _TRIVIA_SRC + rb"," + _TRIVIA_SRC
    + rb"(" + _DQ + rb"|" + _SQ + rb"|(true|false)|([+-])" + _TRIVIA_SRC + rb"([0-9]+)|([0-9]+))"
    + _TRIVIA_SRC + rb"\)" + _TRIVIA_SRC + rb";)"
)
# Statements exactly as Thunderbird writes them, one per line: the bulk of any
# prefs.js, taken by a much cheaper regex than _FAST.
_WRITTEN = re.compile(
    rb'(?:\r?\n)?(user_pref\("([^"\\\n\r\x00]*)", (?:"([^"\\\n\r\x00]*(?:\\[^\n\r\x00][^"\\\n\r\x00]*)*)"'
    rb"|(true|false)|(-?[0-9]+))\);)")
_EOL = re.compile(rb"\r\n|\r|\n")
_SEMICOLON_RUN = re.compile(_WS + rb"*;(?:" + _WS + rb"*;)*")
_KEYWORD = re.compile(rb"[A-Za-z_]+")
_DIGITS = re.compile(rb"[0-9]+")
_STRING_CHUNK = re.compile(rb"[^\x00\n\r\"'\\]*")
# Characters the error skip can pass over without tokenizing: none of them can
# start a token that swallows a ';' or ends the file.
_SKIP = re.compile(rb"[^;\"'/#\x00]*")

_KEYWORDS = frozenset(
    (b"pref", b"sticky_pref", b"user_pref", b"true", b"false", b"sticky", b"locked"))
_SPECS = {b"user_pref": "user_pref", b"pref": "pref", b"sticky_pref": "sticky_pref"}
_SINGLE = frozenset(b"()+,-;")
_KEYWORD_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_DIGIT_CHARS = frozenset(b"0123456789")

T_EOF, T_CHAR, T_KEYWORD, T_STRING, T_INT, T_ERROR = range(6)

_SEMI, _LPAREN, _RPAREN, _COMMA, _PLUS, _MINUS = (ord(c) for c in ";(),+-")

MSG_OVERFLOW = "integer literal overflowed"


class _Parser:
    """Statement loop of libpref with its panic-mode recovery."""

    def __init__(self, data):
        self.n = len(data)
        # The NUL sentinel is libpref's own end-of-file marker.
        self.buf = data + b"\x00"
        self.bom = data.startswith(b"\xef\xbb\xbf")
        self.index = _LineIndex(data, 3 if self.bom else 0)
        self.records = []  # (name, value, kind, start, end, value_start, value_end)
        self.errors = []
        self.error_count = 0
        self.stopped_at = None

    def run(self):
        pos = 3 if self.bom else 0
        while pos is not None:
            pos = self._written_run(pos)
            if len(self.errors) >= MAX_ERRORS:
                pos = self._count_stray_semicolons(pos)
            pos = self._one_statement(pos)
        return self

    def _count_stray_semicolons(self, pos):
        """Once no more errors are kept, count a run of ';' where a statement
        should start in one step: each is one error, as _statement would
        find, and its recovery ends right after it (a file of millions of
        ';' would otherwise take minutes)."""
        m = _SEMICOLON_RUN.match(self.buf, pos)
        if m is None:
            return pos
        self.error_count += m.group().count(b";")
        return m.end()

    def run_between(self, pos, stop):
        """Parse statement by statement from ``pos``, a statement boundary, until
        ``stop`` is reached or passed; return where it stopped (None at EOF)."""
        while pos is not None and pos < stop:
            pos = self._one_statement(pos)
        return pos

    def _one_statement(self, pos):
        m = _FAST.match(self.buf, pos)
        if m is not None and self._take_fast(m):
            return m.end()
        return self._statement(pos)

    def _written_run(self, pos):
        """Take statements laid out exactly as Thunderbird writes them; return where they stop."""
        match, buf, append = _WRITTEN.match, self.buf, self.records.append
        m = match(buf, pos)
        while m is not None:
            name, text, boolean, number = m.groups()[1:]
            if b"\\" in name:
                return pos
            if text is not None:
                if b"\\" in text:
                    text = _unescape_common(text)
                    if text is None:
                        return pos
                value = text.decode("utf-8", "surrogateescape")
            elif number is not None:
                if len(number) < 10:
                    value = int(number)
                else:
                    negative = number[0] == 0x2D
                    value = _small_int(number[1:] if negative else number,
                                       -INT_MIN if negative else INT_MAX)
                    if value is None:
                        return pos
                    value = -value if negative else value
            else:
                value = boolean == b"true"
            start, end = m.span(1)
            pos = end
            # user_pref(" + name + ", : the value starts 14 bytes after the name.
            append((name.decode("utf-8", "surrogateescape"), value, "user_pref",
                    start, end, start + len(name) + 14, end - 2))
            m = match(buf, pos)
        return pos

    # -- fast path

    def _take_fast(self, m):
        (spec, name_dq, name_sq, value_dq, value_sq, boolean, sign, signed, digits
         ) = (m.group(i) for i in (2, 3, 4, 6, 7, 8, 9, 10, 11))
        raw = name_dq if name_dq is not None else name_sq
        if b"\\" in raw:
            name = self._escaped_string(raw, m.start(3 if name_dq is not None else 4))
            if name is None:
                return False
        else:
            name = raw.decode("utf-8", "surrogateescape")
        if value_dq is not None or value_sq is not None:
            raw = value_dq if value_dq is not None else value_sq
            if b"\\" in raw:
                value = self._escaped_string(raw, m.start(6 if value_dq is not None else 7))
            else:
                value = raw.decode("utf-8", "surrogateescape")
        elif digits is not None:
            value = int(digits) if len(digits) < 10 else _small_int(digits, INT_MAX)
        elif boolean is not None:
            value = boolean == b"true"
        else:
            value = _small_int(signed, -INT_MIN if sign == b"-" else INT_MAX)
            if value is not None and sign == b"-":
                value = -value
        if value is None:
            return False
        self.records.append((name, value, _SPECS[spec]) + m.span(1) + m.span(5))
        return True

    def _escaped_string(self, raw, body_start):
        """Value of a string body with a backslash in it, or None when not plain sailing."""
        text = _unescape_common(raw)
        if text is None:
            # \x, \u and bad escapes: the exact path decides.
            tok = self._string(body_start - 1)
            if tok[0] != T_STRING or tok[2] != body_start + len(raw) + 1:
                return None
            text = tok[3]
        return text.decode("utf-8", "surrogateescape")

    # -- token by token

    def _statement(self, pos):
        """Parse one statement from ``pos``; return where to go on, None at EOF."""
        tok = self._token(pos)
        if tok[0] == T_EOF:
            return self._eof(tok)
        kind = _SPECS.get(tok[3]) if tok[0] == T_KEYWORD else None
        if kind is None:
            return self._fail(tok, "expected 'user_pref' at start of pref definition")
        start = tok[1]
        tok = self._token(tok[2])
        if not _is_char(tok, _LPAREN):
            return self._fail(tok, "expected '(' after pref specifier")
        tok = self._token(tok[2])
        if tok[0] != T_STRING:
            return self._fail(tok, "expected pref name after '('")
        name = tok[3].decode("utf-8", "surrogateescape")
        tok = self._token(tok[2])
        if not _is_char(tok, _COMMA):
            return self._fail(tok, "expected ',' after pref name")
        tok = self._token(tok[2])
        value_start = tok[1]
        if tok[0] == T_KEYWORD and tok[3] in (b"true", b"false"):
            value = tok[3] == b"true"
        elif tok[0] == T_STRING:
            value = tok[3].decode("utf-8", "surrogateescape")
        elif tok[0] == T_INT:
            if tok[3] > INT_MAX:
                return self._fail(tok, MSG_OVERFLOW, force=True)
            value = tok[3]
        elif _is_char(tok, _MINUS) or _is_char(tok, _PLUS):
            sign = tok[3]
            tok = self._token(tok[2])
            if tok[0] != T_INT:
                return self._fail(tok, "expected integer literal after '%s'" % chr(sign))
            limit = -INT_MIN if sign == _MINUS else INT_MAX
            if tok[3] > limit:
                return self._fail(tok, MSG_OVERFLOW, force=True)
            value = -tok[3] if sign == _MINUS else tok[3]
        else:
            return self._fail(tok, "expected pref value after ','")
        value_end = tok[2]
        tok = self._token(tok[2])
        if not _is_char(tok, _RPAREN):
            return self._fail(tok, "expected ')' after pref value")
        tok = self._token(tok[2])
        if not _is_char(tok, _SEMI):
            return self._fail(tok, "expected ';' after ')'")
        self.records.append((name, value, kind, start, tok[2], value_start, value_end))
        return tok[2]

    def _eof(self, tok):
        if tok[1] < self.n:
            self.stopped_at = tok[1]
        return None

    def _fail(self, tok, message, force=False):
        if tok[0] == T_ERROR and not force:
            message, at, lib_at = tok[3], tok[4][0], tok[4][1]
        else:
            at, lib_at = tok[1], tok[2]
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(PrefsError(message, min(at, self.n), min(lib_at, self.n), self.index))
        return self._recover(tok)

    def _recover(self, tok):
        """Skip tokens up to and including the next ';' (libpref's recovery)."""
        while True:
            if _is_char(tok, _SEMI):
                return tok[2]
            if tok[0] == T_EOF:
                return self._eof(tok)
            pos = tok[2]
            if pos <= self.n:
                pos = _SKIP.match(self.buf, pos).end()
            tok = self._token(pos)

    def _token(self, pos):
        """Next token at or after ``pos``: (kind, start, end, value, error_at)."""
        buf = self.buf
        if pos > self.n:
            return (T_EOF, pos, pos, None, None)
        pos = _TRIVIA.match(buf, pos).end()
        if pos > self.n:
            return (T_EOF, pos, pos, None, None)
        c = buf[pos]
        if c == 0:
            return (T_EOF, pos, pos + 1, None, None)
        if c in _SINGLE:
            return (T_CHAR, pos, pos + 1, c, None)
        if c in _KEYWORD_CHARS:
            end = _KEYWORD.match(buf, pos).end()
            word = buf[pos:end]
            if word in _KEYWORDS:
                return (T_KEYWORD, pos, end, word, None)
            return _error(pos, end, "unknown keyword")
        if c in _DIGIT_CHARS:
            end = _DIGITS.match(buf, pos).end()
            if buf[end] in _KEYWORD_CHARS:
                return _error(pos, end, "unexpected character in integer literal")
            value = _small_int(buf[pos:end], _U32_MAX)
            if value is None:
                return _error(pos, end, MSG_OVERFLOW)
            return (T_INT, pos, end, value, None)
        if c in (0x22, 0x27):
            return self._string(pos)
        if c == 0x2F:
            after = buf[pos + 1]
            if after == 0x2A:
                # _TRIVIA takes every closed comment, so this one meets a NUL first.
                nul = buf.index(b"\x00", pos + 2)
                return (T_ERROR, pos, nul + 1, "unterminated /* comment", (pos, nul))
            end = pos + 1 if after in (0x0A, 0x0D) else pos + 2
            return _error(pos, end, "expected '/' or '*' after '/'")
        return _error(pos, pos + 1, "unexpected character")

    def _string(self, quote_pos):
        """String token from its opening quote, with libpref's exact escapes."""
        buf, n = self.buf, self.n
        quote = buf[quote_pos]
        out = bytearray()
        error = None
        i = quote_pos + 1
        while True:
            if i > n:
                error = error or ("unterminated string literal", quote_pos, n)
                break
            j = _STRING_CHUNK.match(buf, i).end()
            out += buf[i:j]
            i = j
            c = buf[i]
            if c == quote:
                i += 1
                break
            if c == 0:
                error = error or ("unterminated string literal", quote_pos, i)
                i += 1
                break
            if c != 0x5C:
                if c == 0x0D and buf[i + 1] == 0x0A:
                    out += b"\r\n"
                    i += 2
                else:
                    out.append(c)
                    i += 1
                continue
            at = i
            i, problem = _escape(buf, i, out)
            if problem and error is None:
                error = (problem, at, at)
        if error is not None:
            return (T_ERROR, quote_pos, i, error[0], (error[1], error[2]))
        return (T_STRING, quote_pos, i, bytes(out), None)


_SIMPLE_ESCAPES = {0x22: 0x22, 0x27: 0x27, 0x5C: 0x5C, 0x6E: 0x0A, 0x72: 0x0D}
_HEX2 = re.compile(rb"[0-9A-Fa-f]{0,2}")
_HEX4 = re.compile(rb"[0-9A-Fa-f]{0,4}")
MSG_BAD_ESCAPE = "unexpected escape sequence character after '\\'"
MSG_NO_LOW = "expected low surrogate after high surrogate"


def _escape(buf, i, out):
    """Decode the escape whose backslash is at ``i`` into ``out``.

    Returns (offset after it, error message or None). What an invalid escape
    consumes matters: the string goes on from there, and the string's end
    decides where the error skip resumes.
    """
    c = buf[i + 1]
    simple = _SIMPLE_ESCAPES.get(c)
    if simple is not None:
        out.append(simple)
        return i + 2, None
    if c == 0x78:  # x
        digits = _HEX2.match(buf, i + 2).group()
        if len(digits) < 2:
            return i + 2 + len(digits), "malformed \\x escape sequence"
        value = int(digits, 16)
        if value == 0:
            return i + 4, "\\x00 is not allowed"
        out.append(value)
        return i + 4, None
    if c == 0x75:  # u
        return _unicode_escape(buf, i + 2, out)
    # A line end after the backslash is left to the string (it counts as a line).
    return (i + 1 if c in (0x0A, 0x0D) else i + 2), MSG_BAD_ESCAPE


def _unicode_escape(buf, i, out):
    digits = _HEX4.match(buf, i).group()
    i += len(digits)
    if len(digits) < 4:
        return i, "malformed \\u escape sequence"
    unit = int(digits, 16)
    if 0xD800 <= unit <= 0xDBFF:
        if buf[i] != 0x5C:
            return i, MSG_NO_LOW
        i += 1  # libpref consumes this backslash even when no 'u' follows it
        if buf[i] != 0x75:
            return i, MSG_NO_LOW
        digits = _HEX4.match(buf, i + 1).group()
        i += 1 + len(digits)
        if len(digits) < 4:
            return i, MSG_NO_LOW
        low = int(digits, 16)
        if not 0xDC00 <= low <= 0xDFFF:
            return i, "invalid low surrogate after high surrogate"
        unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
    elif 0xDC00 <= unit <= 0xDFFF:
        return i, "expected high surrogate before low surrogate"
    elif unit == 0:
        return i, "\\u0000 is not allowed"
    out += chr(unit).encode("utf-8")
    return i, None


_UNCOMMON_ESCAPE = re.compile(rb"\\[^\"'nr]")


def _unescape_common(raw):
    """Decode a string body with only the common escapes (quotes, backslash, n, r).

    Returns None when another escape is present.

    The body comes from _FAST, so it holds no NUL: NUL can stand for an escaped
    backslash while the other escapes are replaced.
    """
    text = raw.replace(b"\\\\", b"\x00")
    if _UNCOMMON_ESCAPE.search(text):
        return None
    return (text.replace(b'\\"', b'"').replace(b"\\'", b"'").replace(b"\\n", b"\n")
            .replace(b"\\r", b"\r").replace(b"\x00", b"\\"))


def _error(start, end, message):
    return (T_ERROR, start, end, message, (start, end))


def _is_char(tok, char):
    return tok[0] == T_CHAR and tok[3] == char


def _small_int(digits, limit):
    """int of ASCII ``digits`` if it is <= limit, else None (any length)."""
    digits = digits.lstrip(b"0")
    if len(digits) > 10:
        return None
    value = int(digits) if digits else 0
    return value if value <= limit else None


# --- public API --------------------------------------------------------------

def parse(data):
    """Parse prefs.js/user.js bytes. Syntax errors are collected, never raised."""
    if isinstance(data, str):
        raise TypeError("prefs data must be bytes, not str")
    data = bytes(data)
    if len(data) > MAX_PREFS_BYTES:
        raise PrefsTooLarge("prefs file of %d bytes is larger than %d bytes" % (
            len(data), MAX_PREFS_BYTES))
    parser = _Parser(data).run()
    return PrefsDocument(data, parser.records, parser.errors, parser.error_count,
                         parser.stopped_at, parser.bom, parser.index)


def format_value(value):
    """The literal Thunderbird writes for ``value`` in prefs.js."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if not INT_MIN <= value <= INT_MAX:
            raise ValueError("integer pref %d is outside the signed 32-bit range" % value)
        return str(value)
    if isinstance(value, str):
        return _quote(value)
    raise TypeError("a pref value is a bool, an int or a str, not %s" % type(value).__name__)


def format_entry(name, value):
    """``user_pref("name", value);`` as Thunderbird writes it."""
    return "user_pref(%s, %s);" % (_quote(name), format_value(value))


_QUOTE_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r"}
_NEEDS_QUOTING = re.compile(r'[\\"\n\r]')


def _quote(text):
    # Thunderbird escapes only these four; every other byte is written as is.
    if not isinstance(text, str):
        raise TypeError("a pref name or string value is a str, not %s" % type(text).__name__)
    if "\x00" in text:
        raise ValueError("a pref string cannot hold a NUL character")
    text.encode("utf-8", "surrogateescape")  # refuses lone surrogates early
    return '"%s"' % _NEEDS_QUOTING.sub(lambda m: _QUOTE_ESCAPES[m.group()], text)


def edit(data, changes, newline=None):
    """Return ``data`` with ``changes`` (name -> value, or None to remove) applied.

    Only the bytes of touched statements change:

    * a name whose value Thunderbird already ends up with is left alone;
    * otherwise the value of the *last* ``user_pref`` for the name is rewritten
      in place. Earlier duplicates are left as they are: the last one wins, and
      Thunderbird drops them at its next save anyway;
    * a name without any ``user_pref`` gets ``user_pref("name", value);``
      appended, in the order of ``changes``, with the file's own line end
      (``newline`` when the file has none, default ``\\n``); a last line
      without a line end gets one first;
    * None removes every statement for the name (``pref``/``sticky_pref``
      too), with its line when nothing else is on it.

    Raises PrefsEditError for a file with syntax errors or a NUL that ends it
    early, and when the result would not give Thunderbird exactly the wanted
    values (e.g. a user value of another type than a default in the file).
    """
    return edit_document(data, changes, newline)[0]


def edit_document(data, changes, newline=None, doc=None):
    """``edit``, also returning the parsed result; ``doc``, when given, is
    ``parse(data)`` already done by the caller (each parse of a large file
    costs more than the edit itself)."""
    if doc is None:
        doc = parse(data)
    if doc.errors:
        raise PrefsEditError("not editing a prefs file with syntax errors: %s" % doc.errors[0])
    if doc.stopped_at is not None:
        raise PrefsEditError("not editing a prefs file that a NUL byte ends early (offset %d)"
                             % doc.stopped_at)
    for name, value in changes.items():
        format_entry(name, False if value is None else value)  # validates early
    by_name = dict((name, []) for name in changes)
    for record in doc._records:
        if record[0] in by_name:
            by_name[record[0]].append(PrefEntry(*(record + (doc._index,))))
    splices, appended = [], []
    for name, value in changes.items():
        entries = by_name[name]
        if value is None:
            splices.extend(_removal(doc.data, e) for e in entries)
        elif not (name in doc.values and same_value(doc.values[name], value)):
            users = [e for e in entries if e.kind == "user_pref"]
            if users:
                splices.append((users[-1].value_start, users[-1].value_end,
                                _encode(format_value(value))))
            else:
                appended.append(_encode(format_entry(name, value)))
    if not splices and not appended:
        return doc.data, doc
    result = _apply(doc.data, splices)
    if appended:
        eol = _line_end(doc.data, newline)
        if result and not result.endswith((b"\n", b"\r")):
            result += eol
        result += b"".join(line + eol for line in appended)
    return result, _check_edit(doc, result, changes, splices, bool(appended))


def _encode(text):
    return text.encode("utf-8", "surrogateescape")


_LINE_TAIL = re.compile(rb"[ \t\x0b\x0c]*(?:\r\n|\r|\n|\Z)")
_LINE_HEAD = re.compile(rb"[ \t\x0b\x0c]*\Z")


def _removal(data, entry):
    line_start = max(data.rfind(b"\n", 0, entry.start), data.rfind(b"\r", 0, entry.start)) + 1
    tail = _LINE_TAIL.match(data, entry.end)
    if tail is not None and _LINE_HEAD.match(data[line_start:entry.start]):
        return (line_start, tail.end(), b"")
    return (entry.start, entry.end, b"")


def _apply(data, splices):
    pieces, last = [], 0
    for start, end, replacement in sorted(splices):
        pieces.append(data[last:start])
        pieces.append(replacement)
        last = end
    pieces.append(data[last:])
    return b"".join(pieces)


def _line_end(data, newline):
    m = _EOL.search(data)
    if m is not None:
        return m.group()
    if newline is None:
        return b"\n"
    return newline.encode("ascii") if isinstance(newline, str) else newline


def _check_edit(doc, result, changes, splices, appended):
    """The parse of ``result``, which must give exactly ``doc``'s values with
    ``changes`` applied, or PrefsEditError.

    Only the statements around the edits are parsed again: the parser keeps no
    state between statements but its position, so once a window of the new
    bytes parses without error from a statement boundary of the original to
    the boundary that follows the edit, everything after it parses as it did
    in ``doc`` (same bytes, shifted by the size change).
    """
    new, pieces, touched = _reparse_edited(doc, result, splices, appended)
    expected = dict(doc.values)
    for name, value in changes.items():
        if value is None:
            expected.pop(name, None)
        else:
            expected[name] = value
    # A name with no statement in the re-parsed windows keeps its statements,
    # hence its value (libpref's rules are per name): only the touched names
    # can differ, and only theirs are computed again.
    touched.update(changes)
    got = dict(doc.values)
    for name in touched:
        got.pop(name, None)
    got.update(_values_of([r for records, dummy in pieces for r in records if r[0] in touched]))
    new._values = got
    if new.errors or new.stopped_at is not None or not all(
            (k in got) == (k in expected) and (k not in got or same_value(got[k], expected[k]))
            for k in touched):
        wrong = sorted(k for k in touched
                       if k not in got or k not in expected or not same_value(got[k], expected[k]))
        raise PrefsEditError("the edited prefs would not give the wanted values for: %s"
                             % ", ".join(wrong[:5]))
    return new


def _edit_windows(doc, ends, splices, appended):
    """Spans of the original that hold every splice, each from the statement
    boundary at or before it to the first boundary after it (None: the end of
    the file). Strictly after: a removed statement's own end is no boundary
    of the edited file. ``ends``: the end of each statement of ``doc``."""
    bounds = [3 if doc.bom else 0] + ends
    windows = []
    for start, end, dummy in sorted(splices):
        low = bounds[bisect.bisect_right(bounds, start) - 1]
        at = bisect.bisect_right(bounds, end)
        high = bounds[at] if at < len(bounds) else None
        windows.append([low, high])
    if appended:
        windows.append([bounds[-1], None])
    merged = []
    for low, high in sorted(windows, key=lambda w: w[0]):
        if merged and (merged[-1][1] is None or low <= merged[-1][1]):
            if merged[-1][1] is not None and (high is None or high > merged[-1][1]):
                merged[-1][1] = high
            continue
        merged.append([low, high])
    return merged


def _reparse_edited(doc, result, splices, appended):
    """The document of ``result``; its statements as pieces in file order,
    each a list of records and the shift their offsets still need; and the
    names of the statements parsed again or dropped."""
    shifts = sorted((start, end, len(replacement) - (end - start)) for start, end, replacement in splices)

    def moved(pos):
        return pos + sum(delta for start, end, delta in shifts if end <= pos)

    parser = _Parser(result)
    old = doc._records
    ends = [r[4] for r in old]
    pieces, taken, touched = [], 0, set()
    for low, high in _edit_windows(doc, ends, splices, appended):
        before = bisect.bisect_right(ends, low)
        pieces.append((old[taken:before], moved(low) - low))
        parser.records = []
        stop = len(result) + 1 if high is None else moved(high)
        end = parser.run_between(moved(low), stop)
        if high is not None and end != stop:
            raise PrefsEditError("the edit does not end on a statement boundary")
        pieces.append((parser.records, 0))
        taken = len(old) if high is None else bisect.bisect_right(ends, high)
        touched.update(r[0] for r in parser.records)
        touched.update(r[0] for r in old[before:taken])
    pieces.append((old[taken:], len(result) - len(doc.data)))
    new = PrefsDocument(result, lambda: _shifted_records(pieces), parser.errors, parser.error_count,
                        parser.stopped_at, parser.bom, parser.index)
    return new, pieces, touched


def _shifted_records(pieces):
    records = []
    for piece, delta in pieces:
        if delta:
            records.extend([(name, value, kind, start + delta, end + delta, value_start + delta, value_end + delta)
                            for name, value, kind, start, end, value_start, value_end in piece])
        else:
            records.extend(piece)
    return records
