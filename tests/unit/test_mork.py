"""Mork (.msf) folder-info reader (module_utils/mork.py).

Real summaries written by Thunderbird 153.8.0esr are in fixtures/msf (see its
README.md); each run that quit in an orderly way left a folderCache.json, and
what Thunderbird wrote there about a folder must be what the reader finds in
that folder's .msf.
"""

import json
import os
import random
import re
import time
import tracemalloc

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ansible_collections.rectorat.thunderbird.plugins.module_utils import mork

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "msf")
HEADER = b'// <!-- <mdb:mork:z v="1.4"/> -->\n'
COLUMNS = (b"< <(a=c)> // (f=iso-8859-1)\n"
           b"  (80=ns:msg:db:row:scope:msgs:all)(81=subject)(88=flags)\n"
           b"  (9F=ns:msg:db:row:scope:dbfolderinfo:all)\n"
           b"  (A0=ns:msg:db:table:kind:dbfolderinfo)(A1=numMsgs)(A2=numNewMsgs)\n"
           b"  (AE=onlineName)>\n")
INFO_TABLE = b"{1:^9F {(k^A0:c)(s=9)} \n  [1(^AE^82)(^88^83)(^A1=14)(^A2=3)]}\n"
BASE = HEADER + COLUMNS + b"<(82=INBOX)(83=1004)>\n" + INFO_TABLE


def fixture(*parts):
    with open(os.path.join(FIXTURES, *parts), "rb") as f:
        return f.read()


def group(gid, body, end=None):
    return b"@$${%s{@\n%s\n@$$}%s}@\n" % (gid, body, gid if end is None else end)


def cache_entries(run):
    """folderCache.json of a run, keyed by the path relative to the profile."""
    entries = {}
    for key, entry in json.loads(fixture(run, "folderCache.json")).items():
        rel = re.sub(r"^/tmp/h3-tb/profiles/[a-z]+/", "", key)
        entries[rel] = entry
    return entries


def msf_files(run):
    root = os.path.join(FIXTURES, run)
    for folder, _dirs, files in os.walk(root):
        for name in files:
            if name.endswith(".msf"):
                yield os.path.relpath(os.path.join(folder, name), root).replace(os.sep, "/")


ORDERLY_RUNS = ["offline-true-run1", "offline-true-run2", "offline-false-run1"]
ORDERLY_FILES = [(run, rel) for run in ORDERLY_RUNS for rel in sorted(msf_files(run))]


# ------------------------------------------------------------- real files
@pytest.mark.parametrize("run,rel", ORDERLY_FILES)
def test_real_summary_agrees_with_the_folder_cache_of_the_same_run(run, rel):
    data = fixture(run, rel)
    info = mork.read_folder_info(data)
    cache = cache_entries(run)
    is_account_root = rel == "ImapMail/127.0.0.1.msf"
    entry = cache[rel[:-4] if is_account_root else rel]  # the root's key has no .msf
    assert mork.folder_flags(data) == entry["flags"]
    if "onlineName" in entry:
        assert info["onlineName"] == entry["onlineName"]
    if is_account_root:  # no database behind the account's root: the cache says -1
        assert "numMsgs" not in info and entry["totalMsgs"] == entry["totalUnreadMsgs"] == -1
        return
    assert int(info.get("numMsgs", "0"), 16) == entry["totalMsgs"]
    assert int(info.get("numNewMsgs", "0"), 16) == entry["totalUnreadMsgs"]
    assert int(info.get("totPendingMsgs", "0"), 16) == entry["pendingMsgs"]
    assert int(info.get("unreadPendingMsgs", "0"), 16) == entry["pendingUnreadMsgs"]
    assert int(info.get("expungedBytes", "0"), 16) == entry["expungedBytes"]
    assert info.get("MRUTime") == entry.get("MRUTime")  # a decimal string in both
    if "folderSize" in info:  # Local Folders only; IMAP sizes are computed
        assert int(info["folderSize"], 16) == entry["folderSize"]
    if "folderName" in entry:  # Local Folders only
        assert info["mailboxName"] == entry["folderName"]


def test_every_orderly_run_is_covered():
    assert len(ORDERLY_FILES) == 9 + 3 + 9
    for run in ORDERLY_RUNS:
        cache = cache_entries(run)
        for rel in msf_files(run):
            assert rel in cache or rel[:-4] in cache


def test_offline_flag_follows_offline_download():
    on = mork.folder_flags(fixture("offline-true-run1", "ImapMail/127.0.0.1/Archives.sbd/2025.msf"))
    off = mork.folder_flags(fixture("offline-false-run1", "ImapMail/127.0.0.1/Archives.sbd/2025.msf"))
    assert on & 0x08000000 and not off & 0x08000000
    assert on & ~0x08000000 == off
    trash = mork.folder_flags(fixture("offline-true-run1", "ImapMail/127.0.0.1/Trash.msf"))
    junk = mork.folder_flags(fixture("offline-true-run1", "ImapMail/127.0.0.1/Junk.msf"))
    assert not trash & 0x08000000 and not junk & 0x08000000


def test_non_ascii_folder_name_is_decoded_from_utf8_escapes():
    data = fixture("offline-true-run1", "ImapMail/127.0.0.1/&AMk-l&AOg-ves.msf")
    assert b"(83=$C3$89l$C3$A8ves)" in data
    info = mork.read_folder_info(data)
    assert info["folderName"] == u"\u00c9l\u00e8ves"
    assert info["onlineName"] == info["mailboxName"] == "&AMk-l&AOg-ves"


def test_local_folders_summary():
    data = fixture("offline-true-run1", "Mail/Local Folders/Trash.msf")
    info = mork.read_folder_info(data)
    assert info["mailboxName"] == "Trash" and mork.folder_flags(data) == 0x104
    base = data[:data.index(b"@$${")]
    assert "flags" not in mork.read_folder_info(base)  # the flags came with a group


def base_and_groups(data):
    first = data.index(b"@$${")
    return data[:first], data[first:]


@pytest.mark.parametrize("run,rel,cell,base_value,final_value", [
    # second run: 5 new messages (0x19 = 25), 3 read on the server (0x16 = 22 unread)
    ("offline-true-run2", "ImapMail/127.0.0.1/INBOX.msf", "numMsgs", "14", "19"),
    ("offline-true-run2", "ImapMail/127.0.0.1/INBOX.msf", "numNewMsgs", "14", "16"),
    # the flags of a folder found with offline_download=false, set in four steps
    ("offline-false-run1", "ImapMail/127.0.0.1/&AMk-l&AOg-ves.msf", "flags", None, "82014"),
])
def test_appended_groups_are_applied_in_order(run, rel, cell, base_value, final_value):
    data = fixture(run, rel)
    base, groups = base_and_groups(data)
    assert groups.count(b"@$${") >= 4
    assert mork.read_folder_info(base).get(cell) == base_value
    assert mork.read_folder_info(data)[cell] == final_value


def test_flags_updates_seen_one_group_at_a_time():
    data = fixture("offline-false-run1", "ImapMail/127.0.0.1/&AMk-l&AOg-ves.msf")
    seen = [mork.read_folder_info(base_and_groups(data)[0]).get("flags")]
    for match in re.finditer(br"@\$\$\}[0-9A-F]+\}@", data):
        flags = mork.read_folder_info(data[:match.end()]).get("flags")
        if seen[-1] != flags:
            seen.append(flags)
    assert seen == [None, "4", "82004", "82014"]


def test_sigterm_left_summaries_newer_than_the_folder_cache():
    folder = fixture("offline-true-run3-sigterm", "ImapMail/127.0.0.1/Archives.sbd/2025.msf")
    assert b"@$$" not in folder  # rewritten whole, no appended group
    assert mork.read_folder_info(folder)["numMsgs"] == "5"
    inbox = mork.read_folder_info(fixture("offline-true-run3-sigterm", "ImapMail/127.0.0.1/INBOX.msf"))
    assert (inbox["numMsgs"], inbox["numNewMsgs"]) == ("19", "14")  # 2 more read than run 2
    assert cache_entries("offline-true-run2")["ImapMail/127.0.0.1/INBOX.msf"]["totalUnreadMsgs"] == 22


def test_every_truncation_of_a_real_file_is_an_error_or_a_committed_state():
    """A cut inside a group leaves the state of the groups before it (the
    group is uncommitted, also when its end marker is cut before its id);
    only a cut inside the base content or a marker is an error."""
    data = fixture("offline-true-run1", "ImapMail/127.0.0.1/&AMk-l&AOg-ves.msf")
    base, _groups = base_and_groups(data)
    commits = [m.end() for m in re.finditer(br"@\$\$\}[0-9A-F]+\}@", data)]
    markers = [m.span() for m in re.finditer(br"@\$\$\{[0-9A-F]+\{@", data)]
    markers += [(m.start() + 3, m.end()) for m in re.finditer(br"@\$\$\}[0-9A-F]+\}@", data)]
    assert len(commits) == 3 and len(markers) == 6
    states = dict((end, mork.read_folder_info(data[:end])) for end in commits)
    states[len(base)] = mork.read_folder_info(base)
    errors = 0
    for cut in range(len(base), len(data) + 1):
        try:
            info = mork.read_folder_info(data[:cut])
        except mork.MorkError:
            assert any(start < cut < end for start, end in markers), cut
            errors += 1
            continue
        assert info == states[max(end for end in states if end <= cut)], cut
    assert errors == sum(end - start - 1 for start, end in markers)
    for cut in range(len(base)):  # inside the base: a result or MorkError, nothing else
        try:
            assert isinstance(mork.read_folder_info(data[:cut]), dict)
        except mork.MorkError:
            pass


# ------------------------------------------------------------ constructed
def test_base_row_and_atoms():
    info = mork.read_folder_info(BASE)
    assert info == {"onlineName": "INBOX", "flags": "1004", "numMsgs": "14", "numNewMsgs": "3"}
    assert mork.folder_flags(BASE) == 0x1004


def test_group_updates_change_cut_and_replace_cells():
    data = BASE + group(b"1", b"<(84=8001004)>[1:^9F(^88^84)(^A2=4)]") \
        + group(b"2", b"[1:^9F-(^A1=)]") \
        + group(b"3", b"[-1:^9F(^AE=Sent)(^A1=2)]") \
        + group(b"4", b"<(85=Drafts)>[1:^9F(^AE^85)]")
    assert mork.read_folder_info(data) == {"onlineName": "Drafts", "numMsgs": "2"}
    assert mork.folder_flags(data) == 0
    cut_one = BASE + group(b"1", b"<(84=8001004)>[1:^9F(^88^84)(^A2=4)]") + group(b"2", b"[1:^9F-(^A1=)]")
    assert mork.read_folder_info(cut_one) == {
        "onlineName": "INBOX", "flags": "8001004", "numNewMsgs": "4"}


@pytest.mark.parametrize("abort", [b"@$$}~~}@", b"@$$}~abort~2}@"])
def test_aborted_groups_are_ignored_and_later_groups_applied(abort):
    aborted = b"@$${2{@\n<(84=8001004)>[1:^9F(^88^84)(^A1=99)]\n" + abort + b"\n"
    data = BASE + group(b"1", b"[1:^9F(^A2=5)]") + aborted + group(b"3", b"[1:^9F(^A1=15)]")
    info = mork.read_folder_info(data)
    assert (info["flags"], info["numNewMsgs"], info["numMsgs"]) == ("1004", "5", "15")


def test_uncommitted_trailing_group_is_ignored_like_thunderbird_does():
    data = BASE + group(b"1", b"[1:^9F(^A2=5)]") + b"@$${2{@\n<(84=8001004)>[1:^9F(^88^84)]\n"
    assert mork.read_folder_info(data)["flags"] == "1004"
    assert mork.read_folder_info(data)["numNewMsgs"] == "5"


def test_rows_of_other_scopes_and_ids_do_not_count():
    data = BASE + group(b"1", b"[1:^80(^88=ffff)][2:^9F(^88=ffff)][1(^88=ffff)]"
                              b"{5:^80 {(k^A0:c)} [1(^88=ffff)] 1:^9F 2 }")
    assert mork.folder_flags(data) == 0x1004


def test_rows_inherit_the_table_scope_and_literal_scopes_resolve():
    literal = HEADER + COLUMNS + b"{1:ns:msg:db:row:scope:dbfolderinfo:all [1(flags=4)]}"
    assert mork.read_folder_info(literal) == {"flags": "4"}
    top_level = HEADER + COLUMNS + b"[1:^9F(^88=8)]"
    assert mork.folder_flags(top_level) == 8


def test_escapes_continuations_and_comments():
    data = (HEADER + COLUMNS
            + b"/* a /* nested */ comment */ // line comment\n"
            + b"<(82=a\\)b\\\\c$C3$A9\\\r\nd\\\ne)(83\n    =80\\\n04)>\n"
            + b"{1:^9F [1(^AE^82) // between cells\n  (^88^83)(^A1=x\\$y$24\\(z)]}")
    info = mork.read_folder_info(data)
    assert info == {"onlineName": u"a)b\\c\u00e9de", "flags": "8004", "numMsgs": "x$y$(z"}


def test_values_keep_undecodable_bytes():
    data = HEADER + COLUMNS + b"{1:^9F [1(^AE=$FF\xfe)]}"
    assert mork.read_folder_info(data)["onlineName"].encode("utf-8", "surrogateescape") == b"\xff\xfe"


def test_row_positions_meta_rows_and_minus_rows_are_skipped():
    data = BASE + group(b"1", b"{1:^9F {(k^A0:c) 1} -1 [1(^A2=6)[(s=1)]]!A 1!2 }[7:^80(^81=x)]!3")
    assert mork.read_folder_info(data)["numNewMsgs"] == "6"


def test_bytearray_and_memoryview_are_accepted_other_types_are_not():
    assert mork.read_folder_info(bytearray(BASE)) == mork.read_folder_info(memoryview(BASE))
    with pytest.raises(TypeError):
        mork.read_folder_info(BASE.decode())


# ------------------------------------------------------------------ errors
def error(data):
    with pytest.raises(mork.MorkError) as info:
        mork.read_folder_info(data)
    return info.value


H = HEADER + COLUMNS
ERRORS = [
    (b"", "not a Mork 1.4 file"),
    (b"// <!-- <mdb:mork:z v=\"1.3\"/> -->\n", "not a Mork 1.4 file"),
    (H, "no folder-info row"),
    (H + b"<(82=x)>\n{1:^80 [1(^88=1)]}", "no folder-info row"),
    (H + b"x", "unexpected byte 'x'"),
    (H + b"/x", "'/' that starts no comment"),
    (H + b"/* /* */", "unterminated /* comment"),
    (H + b"<(82=x)", "unterminated dictionary"),
    (H + b"<(82=x", "unterminated value"),
    (H + b"<(82=x\\", "escape cut short"),
    (H + b"<(82=x$4", "escape cut short"),
    (H + b"<(zz=x)>", "malformed alias"),
    (H + b"<(82 x)>", "expected '=' in alias"),
    (H + b"<x>", "unexpected byte 'x' in dictionary"),
    (H + b"< <(a=c)x>", "unexpected byte 'x' in dictionary meta"),
    (H + b"< <(a=c)", "unterminated dictionary meta"),
    (H + b"<(" + b"1" * 17 + b"=x)>", "malformed alias"),
    (H + b"{", "expected a table id"),
    (H + b"{1:^9F ", "unterminated table"),
    (H + b"{1:^9F %}", "unexpected byte '%' in table"),
    (H + b"{1:^9F {(k=1)", "unterminated table meta"),
    (H + b"{1:^9F {(k=1) %}}", "unexpected byte '%' in table"),
    (H + b"[", "expected a row id"),
    (H + b"[:^9F]", "expected a row id"),
    (H + b"[2:^80(^81=x)", "unterminated row"),
    (H + b"[2:^80(^81=x)%]", "unexpected byte '%' in row"),
    (H + b"[2:^80[(s=1)", "unterminated row meta"),
    (H + b"[2:^80[%]]", "unexpected byte '%' in row meta"),
    (H + b"[2:^80(^81=x\\)]", "unterminated value"),
    (H + b"[1:^9F(^88=1)", "unterminated folder-info row"),
    (H + b"[1:^9F(^88=1)%]", "unexpected byte '%' in folder-info row"),
    (H + b"[1:^9F(^88=1)[%]]", "unexpected byte '%' in row meta"),
    (H + b"[1:^9F(^zz=1)]", "expected a hex column id"),
    (H + b"[1:^9F(=1)]", "expected a column in cell"),
    (H + b"[1:^9F(^88", "unterminated cell"),
    (H + b"[1:^9F(^88 %)]", "expected '=' or '^'"),
    (H + b"[1:^9F(^88^)]", "expected a hex id after '^'"),
    (H + b"<(82=v)>[1:^9F(^88^82 x)]", "expected ')' after a cell's ^ID value"),
    (H + b"[1:^9F(^88^82)]", "reference to undefined atom ^82"),
    (H + b"[1:^9F(^88^82:^F0)]", "reference to undefined atom ^82"),
    (H + b"[1:^9F(^F0=1)]", "reference to undefined column ^F0"),
    (H + b"<(82=$zz)>[1:^9F(^88^82)]", "bad $ escape '$zz'"),
    (H + b"[1:^9F(^88=1)]! x", "expected a hex position after '!'"),
    (H + b"@x", "malformed group start"),
    (H + b"@$${1{@ @$$}x}@", "malformed group end"),
    (H + b"@$${1{@ @$$}2}@", "group 1 ends with id 2"),
    (H + b"@$${1{@ @$${2{@ @$$}1}@", "group start or end inside a group"),
    (H + b"@$${1{@ [1:^9F(^88=1) @$$}1}@", "unterminated folder-info row"),
    (H + b"@$$}1}@", "malformed group start"),
    (H + b"{1:^9F [1(^88=1)]}\n" + group(b"1", b"x"), "unexpected byte 'x'"),
]


@pytest.mark.parametrize("data,message", ERRORS)
def test_malformed_input_raises_mork_error(data, message):
    exc = error(data)
    assert message in str(exc)
    assert exc.offset is not None and 0 <= exc.offset <= len(data)
    assert exc.line == data.count(b"\n", 0, exc.offset) + 1
    assert "at offset %d (line %d)" % (exc.offset, exc.line) in str(exc)


def test_error_points_at_the_offending_line():
    exc = error(BASE + b"\n\n[1:^9F(^88 %)]")
    assert exc.line == BASE.count(b"\n") + 3
    assert exc.offset == len(BASE) + 2 + len(b"[1:^9F(^88 ")


@pytest.mark.parametrize("value", ["xyz", "123456789", "-1", "0x10", " 10", "1_0"])
def test_flags_that_are_not_32_bit_hex_raise_mork_error(value):
    with pytest.raises(mork.MorkError, match="not a 32-bit hex number"):
        mork.folder_flags(H + b"[1:^9F(^88=" + value.encode() + b")]")


def test_absent_or_empty_flags_are_zero():
    assert mork.folder_flags(H + b"[1:^9F(^A1=1)]") == 0
    assert mork.folder_flags(H + b"[1:^9F(^88=)]") == 0
    assert mork.folder_flags(H + b"[1:^9F(^88=fFfFfFfF)]") == 0xFFFFFFFF


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_real_files_give_mork_error_or_a_result(draw):
    name = draw.draw(st.sampled_from(["ImapMail/127.0.0.1/INBOX.msf",
                                      "ImapMail/127.0.0.1/&AMk-l&AOg-ves.msf",
                                      "Mail/Local Folders/Trash.msf"]))
    data = bytearray(fixture("offline-true-run1", name))
    for _edit in range(draw.draw(st.integers(1, 8))):
        pos = draw.draw(st.integers(0, len(data) - 1))
        op = draw.draw(st.sampled_from(["set", "insert", "delete"]))
        byte = draw.draw(st.sampled_from(list(b"()[]{}<>@$\\^=:-!/*~\n x0F")))
        if op == "set":
            data[pos] = byte
        elif op == "insert":
            data.insert(pos, byte)
        else:
            del data[pos]
    try:
        info = mork.read_folder_info(bytes(data))
    except mork.MorkError:
        return
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in info.items())


# -------------------------------------------------------------- adversarial
MB = 1024 * 1024


def parse(data):
    try:
        return mork.read_folder_info(data)
    except mork.MorkError as exc:
        return exc


def cpu_time(data):
    """(result, CPU seconds): CPU time does not depend on the machine's load."""
    start = time.process_time()
    result = parse(data)
    return result, time.process_time() - start


def bounded(data, seconds=10.0, megabytes=200):
    """Parse ``data``; it must end (either way) in bounded time and memory.
    (The figures here are 5-20 times what this machine needs.)"""
    tracemalloc.start()
    try:
        result, elapsed = cpu_time(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert elapsed < seconds, elapsed
    assert peak < megabytes * MB, peak / MB
    return result


def test_fifty_megabytes_of_random_bytes():
    noise = random.Random(7).getrandbits(8 * 50 * MB).to_bytes(50 * MB, "little")
    assert isinstance(bounded(noise), mork.MorkError)
    assert isinstance(bounded(HEADER + noise), mork.MorkError)
    # random bytes after a dictionary opening: one long value, then garbage
    assert isinstance(bounded(H + b"<(80=" + noise.replace(b")", b"")), mork.MorkError)


@pytest.mark.parametrize("opener", [b"<", b"{", b"[", b"(", b"< <", b"{1 {", b"[1 [", b"@$${1{@"])
def test_deep_nesting_is_rejected_at_once(opener):
    assert isinstance(bounded(H + opener * (10 * MB // len(opener)), seconds=5), mork.MorkError)


@pytest.mark.parametrize("unit,decoded", [
    (b"x", b"x"), (b"\\x", b"x"), (b"$41", b"A"), (b"\\\n", b""), (b"a\\)", b"a)"),
    (b"$C3$A9\\$", u"\u00e9$".encode("utf-8")),
], ids=["plain", "escapes", "hex", "continuations", "mixed", "utf8"])
def test_enormous_single_atom(unit, decoded):
    """20 MB, beyond the 16 MB the collection reads at most."""
    count = 20 * MB // len(unit)
    body = unit * count
    skipped = H + b"<(82=" + body + b")>[1:^9F(^AE=1)]"
    assert bounded(skipped) == {"onlineName": "1"}
    used = H + b"<(82=" + body + b")>[1:^9F(^AE^82)(^88^82)(^A1^82)(^A2^82)]"
    info = bounded(used, seconds=10, megabytes=6 * len(body) // MB + 50)
    assert info["onlineName"].encode("utf-8", "surrogateescape") == decoded * count
    assert info["flags"] == info["numMsgs"] == info["numNewMsgs"] == info["onlineName"]
    assert "unterminated value" in str(bounded(H + b"<(82=" + body))


PLAIN = st.binary(max_size=6).map(lambda b: bytes(c for c in b if c not in b"\\$)"))
TOKENS = st.one_of(
    PLAIN.map(lambda b: (b, b)),
    st.integers(0, 255).map(lambda c: (b"$%02X" % c, bytes([c]))),
    st.integers(0, 255).map(lambda c: (b"$%02x" % c, bytes([c]))),
    st.integers(0, 255).filter(lambda c: c not in b"\r\n").map(lambda c: (b"\\" + bytes([c]), bytes([c]))),
    st.sampled_from([b"\r\n", b"\n\r", b"\r", b"\n"]).map(lambda brk: (b"\\" + brk, b"")),
)


def eaten_with_a_continuation(tokens):
    """Mork eats CR LF (or LF CR) after a backslash as one line break."""
    for (raw, _decoded), (following, _next_decoded) in zip(tokens, tokens[1:]):
        if raw in (b"\\\r", b"\\\n") and following[:1] in (b"\r", b"\n") and following[:1] != raw[1:]:
            return True
    return False


@settings(max_examples=500, deadline=None)
@given(st.lists(TOKENS, max_size=30))
def test_any_escaped_value_decodes_to_what_was_escaped(tokens):
    assume(not eaten_with_a_continuation(tokens))
    raw = b"".join(t[0] for t in tokens)
    expected = b"".join(t[1] for t in tokens)
    data = H + b"<(82=" + raw + b")>[1:^9F(^AE^82)(^88=" + raw + b")]"
    info = mork.read_folder_info(data)
    assert info["onlineName"].encode("utf-8", "surrogateescape") == expected
    assert info["flags"] == info["onlineName"]


FILLERS = [b"//\n", b"\\\n", b"/**/", b"/* /* */ */", b" ", b"<>", b"<(81=x)>", b"{1}", b"{1 {(k=x)} 1}",
           b"[2:^80]", b"[2:^80(^81=x\\))]", b"[1:^9F(^A1=1)]", b"@$${1{@@$$}1}@", b"@$${1{@@$$}~~}@"]


@pytest.mark.parametrize("filler", FILLERS)
def test_floods_of_small_items_take_linear_time(filler):
    def flood(megabytes):
        return H + filler * int(megabytes * MB // len(filler)) + b"[1:^9F(^88=4)]"

    expected = {"flags": "4", "numMsgs": "1"} if b"^9F" in filler else {"flags": "4"}
    small, small_time = cpu_time(flood(0.5))
    large, large_time = cpu_time(flood(4))
    assert small == large == expected
    assert large_time < 12 * small_time + 0.5, (small_time, large_time)  # quadratic: 64 times
    assert large_time < 10, large_time


def test_memory_of_a_million_atoms():
    data = H + b"<" + b"".join(b"(%X=x)" % i for i in range(0x100, 0x100 + 1000000)) + b">" \
        + b"[1:^9F(^AE^F4240)]"
    assert bounded(data, megabytes=30 * len(data) // MB)["onlineName"] == "x"


def test_enormous_ids_are_rejected():
    assert "malformed alias" in str(bounded(H + b"<(" + b"F" * (10 * MB) + b"=1)>"))
    assert "expected a row id" in str(bounded(H + b"[" + b"F" * (10 * MB) + b"]"))


def test_uncommitted_group_as_big_as_the_file():
    data = BASE + b"@$${1{@" + b"[1:^9F(^88=ffff)]" * MB
    assert bounded(data) == mork.read_folder_info(BASE)


# --------------------------------------------------------------- big file
def synthetic_msf(target_bytes):
    """A summary shaped like Thunderbird's INBOX.msf (same column dictionary,
    message dictionaries, message table, thread tables, folder-info row and
    appended groups) grown to ``target_bytes`` with generated messages."""
    real = fixture("offline-true-run2", "ImapMail/127.0.0.1/INBOX.msf")
    columns = real[:real.index(b">", real.index(b"(A0=ns:msg:db:table:kind:dbfolderinfo)")) + 1]
    assert b"(81=subject)" in columns and b"(A1=numMsgs)" in columns
    parts, size, count, atom = [columns, b"\n<(80=1)(81=0)>\n"], 0, 0, 0x200
    while size < target_bytes:
        atoms, rows, threads = [], [], []
        for _message in range(200):
            count += 1
            subject = (b"R$C3$A9union du conseil de classe $D0$9F$D1$80 no %d \\(suite\\)" % count)
            cells = []
            for column, value in ((b"81", subject), (b"82", b"Sender %d <s%d@example.test>" % (count % 97, count)),
                                  (b"83", b"bulk-%d@example.test" % count),
                                  (b"84", b"<bulk-%d@example.test> <bulk-%d@example.test>" % (count - 2, count - 1)),
                                  (b"86", b"%x" % (0x6b000000 + count * 60))):
                atoms.append(b"(%X=%s)" % (atom, value) if count % 3 else b"(%X\n    =%s)" % (atom, value))
                cells.append(b"(^%s^%X)" % (column, atom))
                atom += 1
            rows.append(b"  [%X(^88=80)%s(^87=fe)(^8E=%X)(^8B=9)]\n" % (count, b"".join(cells), count))
            threads.append(b"{%X:^80 {(k^97:c)(s=9)%X:m } %X }\n" % (count, count, count))
        chunk = b"<" + b"".join(atoms) + b">\n{1:^80 {(k^96:c)(s=9)} \n" + b"".join(rows) + b"}\n" \
            + b"".join(threads)
        parts.append(chunk)
        size += len(chunk)
    parts.append(b"<(%X=INBOX)(%X=83014)>\n{1:^9F {(k^A0:c)(s=9)} \n"
                 b"  [1(^AE^%X)(^88^%X)(^A1=%X)(^A2=%X)]}\n" % (atom, atom + 1, atom, atom + 1, count, count))
    parts.append(group(b"1", b"<(%X=8083014)>[1:^9F(^88^%X)]" % (atom + 2, atom + 2)))
    parts.append(b"@$${2{@\n[1:^9F(^88=0)]\n@$$}~~}@\n")
    parts.append(group(b"3", b"".join(b"[%X:^80(^C8=%x)]\n" % (i, i) for i in range(1, 2000))
                       + b"[-1:^9F(^AE^%X)(^88^%X)(^A1=%X)(^A2=%X)]" % (atom, atom + 2, count, count - 5)))
    return b"".join(parts), count


def test_twenty_megabyte_summary_is_read_quickly():
    data, count = synthetic_msf(20 * MB)
    assert len(data) >= 20 * MB
    info, elapsed = cpu_time(data)
    assert info["onlineName"] == "INBOX" and mork.folder_flags(data) == 0x8083014
    assert (int(info["numMsgs"], 16), int(info["numNewMsgs"], 16)) == (count, count - 5)
    assert elapsed < 10, elapsed  # 0.6 s of CPU on the development machine
