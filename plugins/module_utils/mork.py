# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the folder-info row of a Thunderbird ``.msf`` summary (Mork 1.4), pure.

Only what the folder-info row needs is interpreted: the dictionaries (column
names and atoms), the rows of scope ``ns:msg:db:row:scope:dbfolderinfo:all``
and the transaction groups that update them. Message rows and tables are
skipped without being interpreted.

Facts this reader follows (Mork's parser in comm-central, and files written by
Thunderbird 153.8.0esr, see tests/unit/fixtures/msf/README.md):

* A file starts with ``// <!-- <mdb:mork:z v="1.4"/> -->``.
* ``<`` dictionary ``>``: ``(HEX=value)`` aliases; a meta ``<(a=c)>`` puts the
  following aliases in the column namespace, otherwise they are atoms.
  Column names and scopes are tokens: ids below 0x80 stand for the single
  byte itself, others are looked up in the column namespace.
* ``{id:scope ... }`` tables hold ``[id:scope (cells)]`` rows (rows without a
  scope take the table's), bare row references and a ``{...}`` meta. Only
  ``[...]`` rows change cells.
* Cells are ``(^col^atom)``, ``(^col=literal)`` or ``(name=literal)``; a ``-``
  before a cell removes that column, ``[-id`` empties the row first.
* Values: ``\\`` escapes the next byte, ``\\`` before a line break continues
  the line, ``$XX`` is a hex byte; a value ends at the first unescaped ``)``.
* ``@$${ID{@ ... @$$}ID}@`` groups are appended updates, applied in order.
  A group ended by ``@$$}~~}@`` (the form Mork's parser reads) or
  ``@$$}~abort~ID}@`` (the documented form) is aborted and ignored; a group
  without an end is uncommitted (a write cut short) and, as Thunderbird does,
  ignored together with everything after it.

Anything else, or a file cut short outside a group, raises ``MorkError``.
Time and memory are linear in the size of the file: no regular expression
here backtracks more than once over a byte or repeats a group without a
bound, and each distinct value is decoded once, in C (binascii).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import binascii
import re

MAGIC = b'// <!-- <mdb:mork:z v="1.4"/> -->'
FOLDER_INFO_SCOPE = b"ns:msg:db:row:scope:dbfolderinfo:all"
FOLDER_INFO_ROW_ID = 1

_ATOMS = b"a"
_COLUMNS = b"c"
_DEFAULT_ROW_SCOPE = b"r"
_BOUND = 4096  # items per regular-expression call, keeps sre's stack small

_SKIPPED = frozenset(bytearray(b" \t\r\n\f\v/\\"))
# White space, // comments, /* comments */ without * or / inside, and line
# continuations between tokens; other comments take the slow path.
_COMMENTS = re.compile(
    rb"(?:[ \t\r\n\f\v]+|//[^\r\n]*|/\*[^*/]*\*/|\\(?:\r\n?|\n\r?)){0,%d}" % _BOUND)
_HEX = rb"([0-9A-Fa-f]{1,16})(?![0-9A-Fa-f])"
_NAME = rb"[A-Za-z_][A-Za-z0-9_:.!?+\-]*"
_SCOPE = rb"(?::(?:\^[ \t\r\n]*" + _HEX + rb"|(" + _NAME + rb")))?"
_OID = re.compile(_HEX + _SCOPE)
_NAME_RE = re.compile(_NAME)
_ALIAS_PLAIN = re.compile(rb"[ \t\r\n]*\(" + _HEX + rb"[ \t\r\n]*=([^)\\$]*)")
_ALIAS_HEAD = re.compile(rb"\(" + _HEX)
# Runs of aliases without escapes are matched whole, then split by findall.
_CLOSED_ALIASES = re.compile(
    rb"(?:[ \t\r\n]*\([0-9A-Fa-f]{1,16}(?![0-9A-Fa-f])[ \t\r\n]*=[^)\\$]*\)){1,%d}" % _BOUND)
_CLOSED_ALIAS = re.compile(rb"\(([0-9A-Fa-f]{1,16})[ \t\r\n]*=([^)\\$]*)\)")
_PLAIN_CELL = rb"[ \t\r\n]*\([^)\\$]*\)"
_PLAIN_CELLS = re.compile(rb"(?:%s){0,%d}" % (_PLAIN_CELL, _BOUND))
# A row of plain cells, its id and scope captured, and an optional !position.
_PLAIN_ROW = re.compile(rb"\[[ \t\r\n]*-?[ \t\r\n]*" + _HEX + _SCOPE
                        + rb"(?:%s){0,%d}[ \t\r\n]*\](?:[ \t\r\n]*![ \t\r\n]*[0-9A-Fa-f]{1,16}"
                          rb"(?![0-9A-Fa-f]))?" % (_PLAIN_CELL, _BOUND))
# A table without [rows] changes no cell: its meta, row references, cuts and
# positions are skipped at once.
_ROWLESS_TABLE = re.compile(rb"\{(?:%s|\{(?:%s|\([^)\\$]*\)){0,%d}\}){0,%d}\}" % (
    rb"[0-9A-Za-z_:.!?+\-^ \t\r\n\f\v]", rb"[0-9A-Za-z_:.!?+\-^ \t\r\n\f\v]", _BOUND, _BOUND))
_VALUE_CHUNK = re.compile(rb"(?:[^)\\$]+|\\[\s\S]|\$[\s\S]{2}){0,%d}" % _BOUND)
_BAD_HEX_ESCAPE = re.compile(rb"\$(?![0-9A-Fa-f]{2}).{0,2}", re.S)
_GROUP_START = re.compile(rb"@\$\$\{" + _HEX + rb"\{@")
_GROUP_END = re.compile(rb"@\$\$\}(?:" + _HEX + rb"\}@|~~\}@|~abort~[0-9A-Fa-f]{0,16}\}@)")
_FLAGS = re.compile(r"[0-9A-Fa-f]{1,8}\Z")

_LT, _GT, _LPAREN, _RPAREN = 0x3C, 0x3E, 0x28, 0x29
_LBRACE, _RBRACE, _LBRACKET, _RBRACKET = 0x7B, 0x7D, 0x5B, 0x5D
_AT, _MINUS, _EQUAL, _CARET, _BANG = 0x40, 0x2D, 0x3D, 0x5E, 0x21


class MorkError(Exception):
    """The bytes are not a Mork file this reader understands."""

    def __init__(self, message, offset=None, line=None):
        self.offset = offset
        self.line = line
        if offset is not None:
            message = "%s at offset %d (line %d)" % (message, offset, line)
        super(MorkError, self).__init__(message)


def read_folder_info(data):
    """Cells of the folder-info row (name -> value, both str) after every
    committed update of ``data`` (the bytes of a ``.msf`` file)."""
    cells = _Reader(_as_bytes(data)).folder_info()
    return dict((_text(name), _text(value)) for name, value in cells.items())


def folder_flags(data):
    """The folder's flags (the hex ``flags`` cell), 0 when the row has none."""
    value = read_folder_info(data).get("flags", "")
    if value == "":
        return 0
    if not _FLAGS.match(value):
        raise MorkError("flags cell %r is not a 32-bit hex number" % value)
    return int(value, 16)


def _as_bytes(data):
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    if not isinstance(data, bytes):
        raise TypeError("Mork data must be bytes, not %s" % type(data).__name__)
    return data


def _show(byte):
    return repr(byte.decode("latin-1"))


def _text(raw):
    return raw.decode("utf-8", "surrogateescape")


class _Reader:
    def __init__(self, data):
        self.data = data
        self.limit = len(data)
        self.spaces = {_ATOMS: {}, _COLUMNS: {}}
        self.decoded = {}  # raw value -> decoded, each decoded once
        self.info = None

    # ---------------------------------------------------------------- errors
    def error(self, message, offset):
        line = self.data.count(b"\n", 0, offset) + 1
        return MorkError(message, offset, line)

    def unexpected(self, pos, where):
        return self.error("unexpected byte %s%s" % (_show(self.data[pos:pos + 1]), where), pos)

    def peek(self, pos, what, start):
        """The byte at ``pos`` (an int); an error at the end of the input."""
        if pos >= self.limit:
            raise self.error("unterminated %s" % what, start)
        return self.data[pos]

    # ------------------------------------------------------------ top level
    def folder_info(self):
        if not self.data.startswith(MAGIC):
            raise self.error("not a Mork 1.4 file (missing %r header)" % MAGIC.decode(), 0)
        self.content(len(MAGIC), in_group=False)
        if self.info is None:
            raise self.error("no folder-info row (%s, id 1)" % FOLDER_INFO_SCOPE.decode(),
                             len(self.data))
        return self.info

    def content(self, pos, in_group):
        data = self.data
        while True:
            pos = self.skip_space(pos)
            if pos >= self.limit:
                return pos
            c = data[pos]
            if c == _LT:
                pos = self.dictionary(pos)
            elif c == _LBRACE:
                pos = self.table(pos)
            elif c == _LBRACKET:
                pos = self.row(pos, None)
            elif c == _AT and not in_group:
                pos = self.group(pos)
            elif c == _AT:
                raise self.error("group start or end inside a group", pos)
            else:
                raise self.unexpected(pos, "")

    def group(self, pos):
        start = _GROUP_START.match(self.data, pos, self.limit)
        if not start:
            raise self.error("malformed group start (expected @$${ID{@)", pos)
        mark = self.data.find(b"@$$}", start.end(), self.limit)
        if mark < 0:
            return self.limit  # uncommitted: Thunderbird ignores it and the rest
        end = _GROUP_END.match(self.data, mark, self.limit)
        if not end:
            raise self.error("malformed group end (expected @$$}ID}@)", mark)
        if end.group(1) is None:
            return end.end()  # aborted
        if int(end.group(1), 16) != int(start.group(1), 16):
            raise self.error("group %s ends with id %s" % (
                start.group(1).decode(), end.group(1).decode()), mark)
        outer, self.limit = self.limit, mark
        try:
            self.content(start.end(), in_group=True)
        finally:
            self.limit = outer
        return end.end()

    # ----------------------------------------------------- spaces, comments
    def skip_space(self, pos):
        data, limit = self.data, self.limit
        if pos >= limit or data[pos] not in _SKIPPED:
            return pos
        while True:
            end = _COMMENTS.match(data, pos, limit).end()
            if end > pos:
                pos = end
                continue
            two = data[pos:min(pos + 2, limit)]
            if two == b"/*":
                pos = self.skip_block_comment(pos)
            elif two in (b"\\\r", b"\\\n"):
                pos += 2
                third = data[pos:min(pos + 1, limit)]
                if third in (b"\r", b"\n") and third != two[1:]:
                    pos += 1
            elif two[:1] == b"/":
                raise self.error("'/' that starts no comment", pos)
            else:
                return pos

    def skip_block_comment(self, start):
        """/* ... */ comments nest in Mork. Each search result is kept until
        passed, so nested openings cost no rescans."""
        find, limit = self.data.find, self.limit
        depth, pos = 0, start
        opening = closing = -1
        while True:
            if opening < pos:
                opening = find(b"/*", pos, limit)
                opening = limit if opening < 0 else opening
            if closing < pos:
                closing = find(b"*/", pos, limit)
                if closing < 0:
                    raise self.error("unterminated /* comment", start)
            if opening < closing:
                depth += 1
                pos = opening + 2
            else:
                depth -= 1
                pos = closing + 2
                if depth == 0:
                    return pos

    # ---------------------------------------------------------- dictionaries
    def dictionary(self, start):
        data, limit = self.data, self.limit
        store = self.spaces[_ATOMS]
        pos = start + 1
        while True:
            run = _CLOSED_ALIASES.match(data, pos, limit)
            if run:
                pairs = _CLOSED_ALIAS.findall(data, pos, run.end())
                store.update(zip(map(int, [p[0] for p in pairs], [16] * len(pairs)),
                                 [p[1] for p in pairs]))
                pos = run.end()
                continue
            match = _ALIAS_PLAIN.match(data, pos, limit)
            if match:  # an alias with escapes
                end = self.value_end(match.end(), match.start())
                store[int(match.group(1), 16)] = data[match.start(2):end]
                pos = end + 1
                continue
            pos = self.skip_space(pos)
            c = self.peek(pos, "dictionary", start)
            if c == _GT:
                return pos + 1
            if c == _LPAREN:
                pos = self.alias(pos, store)
            elif c == _LT:
                pos, space = self.dictionary_meta(pos)
                store = self.spaces.setdefault(space, {})
            else:
                raise self.unexpected(pos, " in dictionary")

    def alias(self, pos, store):
        head = _ALIAS_HEAD.match(self.data, pos, self.limit)
        if not head:
            raise self.error("malformed alias (expected (HEX=value))", pos)
        eq = self.skip_space(head.end())
        if self.data[eq:eq + 1] != b"=":
            raise self.error("expected '=' in alias", eq)
        end = self.value_end(eq + 1, pos)
        store[int(head.group(1), 16)] = self.data[eq + 1:end]
        return end + 1

    def dictionary_meta(self, start):
        """``<(a=c)>``: which namespace the following aliases belong to."""
        space = _ATOMS
        pos = start + 1
        while True:
            pos = self.skip_space(pos)
            c = self.peek(pos, "dictionary meta", start)
            if c == _GT:
                return pos + 1, space
            if c != _LPAREN:
                raise self.unexpected(pos, " in dictionary meta")
            name, value, pos = self.cell(pos, token_values=True)
            if name == b"a":
                space = value

    # --------------------------------------------------------------- values
    def value_end(self, pos, start):
        """Index of the ')' that ends the value starting at ``pos``."""
        data, limit = self.data, self.limit
        while True:
            end = _VALUE_CHUNK.match(data, pos, limit).end()
            if end < limit and data[end] == _RPAREN:
                return end
            if end == pos:
                if end >= limit - 2 and data[end:end + 1] in (b"$", b"\\"):
                    raise self.error("escape cut short in value", end)
                raise self.error("unterminated value", start)
            pos = end

    def unescape(self, raw, offset):
        if b"\\" not in raw and b"$" not in raw:
            return raw
        decoded = self.decoded.get(raw)
        if decoded is None:
            decoded = self.decoded[raw] = self.decode_escapes(raw, offset)
        return decoded

    def decode_escapes(self, raw, offset):
        """Mork escapes rewritten as quoted-printable, which binascii decodes
        in C: a few passes over the value, whatever its escapes."""
        text = raw.replace(b"=", b"=3D")
        text = text.replace(b"\\\\", b"=5C")  # pairs, left to right as Mork reads them
        for continuation in (b"\\\r\n", b"\\\n\r", b"\\\r", b"\\\n"):
            text = text.replace(continuation, b"")
        text = text.replace(b"\\$", b"=24")
        bad = _BAD_HEX_ESCAPE.search(text)
        if bad:
            raise self.error("bad $ escape %s in value" % _show(bad.group(0)), offset)
        text = text.replace(b"$", b"=").replace(b"\\", b"")
        for byte, escaped in ((b"\t", b"=09"), (b" ", b"=20"), (b"\r", b"=0D"), (b"\n", b"=0A")):
            text = text.replace(byte, escaped)
        return binascii.a2b_qp(text)

    # ----------------------------------------------------------------- cells
    def cell(self, start, token_values=False):
        """(column, value, next pos) of the detailed cell at ``start`` ('(')."""
        data = self.data
        pos = start + 1
        if data[pos:pos + 1] == b"^":
            oid = _OID.match(data, pos + 1, self.limit)
            if not oid:
                raise self.error("expected a hex column id after '^'", pos + 1)
            name = self.token(int(oid.group(1), 16), pos)
            pos = oid.end()
        else:
            literal = _NAME_RE.match(data, pos, self.limit)
            if not literal:
                raise self.error("expected a column in cell", pos)
            name, pos = literal.group(0), literal.end()
        pos = self.skip_space(pos)
        c = self.peek(pos, "cell", start)
        if c == _EQUAL:
            end = self.value_end(pos + 1, start)
            return name, self.unescape(data[pos + 1:end], pos + 1), end + 1
        if c != _CARET:
            raise self.error("expected '=' or '^' after the cell's column", pos)
        value, pos = self.reference(pos + 1, token_values)
        pos = self.skip_space(pos)
        if data[pos:pos + 1] != b")":
            raise self.error("expected ')' after a cell's ^ID value", pos)
        return name, value, pos + 1

    def reference(self, pos, token_values):
        """Value of ``^ID`` or ``^ID:scope`` (an atom, or a token in metas)."""
        pos = self.skip_space(pos)
        oid = _OID.match(self.data, pos, self.limit)
        if not oid:
            raise self.error("expected a hex id after '^'", pos)
        ident = int(oid.group(1), 16)
        space = self.scope_name(oid)
        if space == _COLUMNS or (space is None and token_values):
            return self.token(ident, pos), oid.end()
        raw = self.spaces.get(_ATOMS if space is None else space, {}).get(ident)
        if raw is None:
            raise self.error("reference to undefined atom ^%X" % ident, pos)
        return self.unescape(raw, pos), oid.end()

    def token(self, ident, offset):
        """Column names and scopes: one byte below 0x80, else a column alias."""
        if ident < 0x80:
            return bytes(bytearray([ident]))
        raw = self.spaces[_COLUMNS].get(ident)
        if raw is None:
            raise self.error("reference to undefined column ^%X" % ident, offset)
        return self.unescape(raw, offset)

    def scope_name(self, oid):
        """Scope of an ``id:scope`` match: None when it has none, b"" when its
        ``^ID`` names no known column."""
        if oid.group(2) is not None:
            ident = int(oid.group(2), 16)
            if ident < 0x80:
                return bytes(bytearray([ident]))
            raw = self.spaces[_COLUMNS].get(ident)
            return b"" if raw is None else self.unescape(raw, oid.start())
        return oid.group(3)

    def row_scope(self, oid, table_scope):
        scope = self.scope_name(oid)
        if scope is None:
            return table_scope or _DEFAULT_ROW_SCOPE
        return scope

    # ----------------------------------------------------------------- tables
    def table(self, start):
        pos = self.skip_table_cut(start + 1)
        oid = _OID.match(self.data, pos, self.limit)
        if not oid:
            raise self.error("expected a table id", pos)
        rowless = _ROWLESS_TABLE.match(self.data, start, self.limit)
        if rowless:
            return rowless.end()
        scope = self.row_scope(oid, None)
        pos = oid.end()
        while True:
            pos = self.skip_space(pos)
            c = self.peek(pos, "table", start)
            if c == _RBRACE:
                return pos + 1
            if c == _LBRACE:
                pos = self.table_meta(pos, scope)
            else:
                pos = self.table_item(pos, scope)

    def skip_table_cut(self, pos):
        pos = self.skip_space(pos)
        if pos < self.limit and self.data[pos] == _MINUS:
            pos = self.skip_space(pos + 1)
        return pos

    def table_item(self, pos, scope):
        c = self.data[pos]
        if c == _LBRACKET:
            return self.row(pos, scope)
        if c == _MINUS:
            return pos + 1  # the next row leaves the table; its cells stay
        oid = _OID.match(self.data, pos, self.limit)
        if not oid:
            raise self.unexpected(pos, " in table")
        return self.row_position(oid.end())

    def table_meta(self, start, scope):
        pos = start + 1
        while True:
            pos = self.skip_space(pos)
            c = self.peek(pos, "table meta", start)
            if c == _RBRACE:
                return pos + 1
            if c == _LPAREN:
                pos = self.skip_cell(pos)
            else:
                pos = self.table_item(pos, scope)

    # ------------------------------------------------------------------- rows
    def row(self, start, table_scope):
        plain = _PLAIN_ROW.match(self.data, start, self.limit)
        if plain and not self.is_folder_info(plain, table_scope):
            return plain.end()
        data = self.data
        pos = self.skip_space(start + 1)
        cut = pos < self.limit and data[pos] == _MINUS
        if cut:
            pos = self.skip_space(pos + 1)
        oid = _OID.match(data, pos, self.limit)
        if not oid:
            raise self.error("expected a row id", pos)
        if self.is_folder_info(oid, table_scope):
            if self.info is None or cut:
                self.info = {}
            pos = self.folder_info_cells(oid.end(), start)
        else:
            pos = self.skip_row(oid.end(), start)
        return self.row_position(pos)

    def is_folder_info(self, oid, table_scope):
        return (int(oid.group(1), 16) == FOLDER_INFO_ROW_ID
                and self.row_scope(oid, table_scope) == FOLDER_INFO_SCOPE)

    def row_position(self, pos):
        """An optional ``!HEX`` position after a row."""
        after = self.skip_space(pos)
        if after >= self.limit or self.data[after] != _BANG:
            return pos
        hex_id = _OID.match(self.data, self.skip_space(after + 1), self.limit)
        if not hex_id or hex_id.lastindex > 1:
            raise self.error("expected a hex position after '!'", after + 1)
        return hex_id.end()

    def skip_row(self, pos, start):
        data = self.data
        while True:
            pos = _PLAIN_CELLS.match(data, pos, self.limit).end()
            pos = self.skip_space(pos)
            c = self.peek(pos, "row", start)
            if c == _RBRACKET:
                return pos + 1
            if c == _LPAREN:
                pos = self.skip_cell(pos)
            elif c == _LBRACKET:
                pos = self.skip_row_meta(pos)
            elif c == _MINUS:
                pos += 1
            else:
                raise self.unexpected(pos, " in row")

    def skip_cell(self, start):
        return self.value_end(start + 1, start) + 1

    def skip_row_meta(self, start):
        pos = start + 1
        while True:
            pos = self.skip_space(pos)
            c = self.peek(pos, "row meta", start)
            if c == _RBRACKET:
                return pos + 1
            if c != _LPAREN:
                raise self.unexpected(pos, " in row meta")
            pos = self.skip_cell(pos)

    def folder_info_cells(self, pos, start):
        cells = self.info
        cut_next = False
        while True:
            pos = self.skip_space(pos)
            c = self.peek(pos, "folder-info row", start)
            if c == _RBRACKET:
                return pos + 1
            if c == _LPAREN:
                name, value, pos = self.cell(pos)
                if cut_next:
                    cells.pop(name, None)
                else:
                    cells[name] = value
                cut_next = False
            elif c == _MINUS:
                cut_next = True
                pos += 1
            elif c == _LBRACKET:
                pos = self.skip_row_meta(pos)
            else:
                raise self.unexpected(pos, " in folder-info row")
