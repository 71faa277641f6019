"""Generated part of the agreement corpus: deterministic, built at test time.

* ``grammar_files``: hypothesis (derandomized, so the same files every run for
  a given hypothesis version) draws prefs.js files token by token: every kind
  of whitespace and comment between tokens, both quotes, valid and invalid
  escapes, raw UTF-8 and invalid bytes, integers around the 32-bit limits,
  pref()/sticky_pref(), and now and then a token dropped or a stray one added.
* ``mutated_files``: byte-level mutations (seeded ``random.Random``) of the
  committed corpus, biased towards the characters that matter to the grammar.
* ``big_files``: sizes no committed file should have (a 2 MB value, a 64 KB
  name, 20 000 statements).

Only names under ``agree.`` get a default (pref()/sticky_pref()), checked by
``keeps_defaults_under``: a default elsewhere would outlive the file in the
shared Thunderbird session.
"""

import random

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

SEP = st.sampled_from([b"", b"", b" ", b"\t", b"\n", b"\r\n", b"\r", b"\x0b", b"\x0c",
                       b"  ", b"// line\n", b"# hash\n", b"/* block */", b"/*\n * ; ' \"\n */",
                       b"/**/", b"//\r", b"#;\n"])
SEPS = st.lists(SEP, max_size=3).map(b"".join)

STRING_PIECES = [
    b"a", b"Z", b"0", b" ", b";", b",", b"(", b")", b"#", b"//", b"/*", b"*/", b"%",
    b"\\\\", b'\\"', b"\\'", b"\\n", b"\\r", b"\\x41", b"\\x7e", b"\\xe9", b"\\xff",
    b"\\u00e9", b"\\u20AC", b"\\ud83d\\ude00", b"\\uFFFF",
    b"\xc3\xa9", b"\xe2\x82\xac", b"\xf0\x9f\x98\x80", b"\xef\xbb\xbf",
    b"\n", b"\r\n", b"\r", b"\t",
]
BAD_STRING_PIECES = [
    b"\\x00", b"\\x4", b"\\xg", b"\\u0000", b"\\u12", b"\\ud83d", b"\\ude00",
    b"\\ud83d\\u0041", b"\\ud83d\\n", b"\\t", b"\\b", b"\\q", b"\\\n", b"\\",
    b"\xff", b"\xc3", b"\x80", b"\x00",
]
NAME_PIECES = [b"a", b"b", b"server1", b"x_y", b"-", b".", b"\xc3\xa9", b" ", b"\\x41",
               b"\\u00e9", b"'", b'"']
STRAY_TOKENS = [b";", b",", b"(", b")", b'"s"', b"'s'", b"1", b"-", b"+", b"true",
                b"user_pref", b"pref", b"locked", b"sticky", b"x", b"/", b"@", b'"open',
                b"/* open", b"\x00", b"\xff", b"\\"]


@st.composite
def string_literal(draw, pieces):
    quote = draw(st.sampled_from([b'"', b'"', b"'"]))
    body = b"".join(draw(st.lists(st.sampled_from(pieces), max_size=8)))
    return quote + body + quote


@st.composite
def int_literal(draw):
    value = draw(st.one_of(
        st.integers(-2 ** 31, 2 ** 31 - 1),
        st.sampled_from([0, 2 ** 31 - 1, -2 ** 31, 2 ** 31, -2 ** 31 - 1, 2 ** 32 - 1, 2 ** 32,
                         10 ** 12]),
        st.integers(-2 ** 40, 2 ** 40)))
    sign = b"-" if value < 0 else draw(st.sampled_from([b"", b"", b"+"]))
    zeros = draw(st.sampled_from([b"", b"", b"", b"0", b"000000000000"]))
    return sign + draw(SEPS.filter(lambda s: len(s) < 3)) + zeros + b"%d" % abs(value)


@st.composite
def value_literal(draw):
    pieces = STRING_PIECES + (BAD_STRING_PIECES if draw(st.booleans()) else [])
    return draw(st.one_of(
        st.sampled_from([b"true", b"false"]),
        int_literal(),
        string_literal(pieces)))


@st.composite
def statement_tokens(draw):
    keyword = draw(st.sampled_from([b"user_pref"] * 6 + [b"pref", b"sticky_pref"]))
    quote = draw(st.sampled_from([b'"', b"'"]))
    name = quote + b"agree.g" + b"".join(draw(st.lists(st.sampled_from(
        [p for p in NAME_PIECES if p != quote]), max_size=4))) + quote
    tokens = [keyword, b"(", name, b",", draw(value_literal())]
    if draw(st.integers(0, 9)) == 0:
        tokens += [b",", draw(st.sampled_from([b"locked", b"sticky", b"1"]))]
    tokens += [b")", b";"]
    fault = draw(st.integers(0, 7))
    if fault == 0:
        del tokens[draw(st.integers(0, len(tokens) - 1))]
    elif fault == 1:
        tokens.insert(draw(st.integers(0, len(tokens))), draw(st.sampled_from(STRAY_TOKENS)))
    return tokens


@st.composite
def prefs_file(draw):
    out = [draw(st.sampled_from([b"", b"", b"", b"\xef\xbb\xbf"]))]
    for tokens in draw(st.lists(statement_tokens(), min_size=1, max_size=12)):
        for token in tokens:
            out.append(draw(SEPS))
            out.append(token)
        out.append(draw(st.sampled_from([b"\n", b"\n", b"\r\n", b"\r", b" ", b""])))
    out.append(draw(st.sampled_from([b"", b"", b"", b"", b"user_pref(", b'"unterminated',
                                     b"/* open comment", b"\x00tail", b"// last"])))
    return b"".join(out)


def grammar_files(count):
    """``count`` files (fewer after removing duplicates), the same every run."""
    found = []

    @settings(max_examples=count, derandomize=True, database=None, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(prefs_file())
    def collect(data):
        found.append(data)

    collect()
    return list(dict.fromkeys(found))


MUTATION_BYTES = b"\"'\\;(),/*#\n\r\x00 \t-+0123456789uxabeflnrt\xef\xbb\xbf\xc3\xa9\xff"


def mutate(data, rng):
    data = bytearray(data)
    for _step in range(rng.randint(1, 4)):
        op = rng.randrange(4)
        at = rng.randint(0, len(data))
        if op == 0 and data:
            del data[min(at, len(data) - 1)]
        elif op == 1:
            data[at:at] = bytes([rng.choice(MUTATION_BYTES)])
        elif op == 2 and data:
            data[min(at, len(data) - 1)] = rng.choice(MUTATION_BYTES)
        else:
            start = rng.randint(0, len(data))
            chunk = bytes(data[start:start + rng.randint(1, 40)])
            data[at:at] = chunk
    return bytes(data)


def mutated_files(seeds, count, seed=20260527):
    """``count`` mutants of the ``seeds`` (bytes), the same every run."""
    rng = random.Random(seed)
    small = sorted(s for s in seeds if len(s) <= 16384)
    return [mutate(rng.choice(small), rng) for _index in range(count)]


def big_files():
    return {
        "big-value-2mb": b'user_pref("agree.big.value", "' + b"x\\n\xc3\xa9" * 500000 + b'");\n'
                         b'user_pref("agree.big.after", 1);\n',
        "big-name-64kb": b'user_pref("agree.' + b"n" * 65536 + b'", true);\n'
                         b'user_pref("agree.big.after", 1);\n',
        "big-20000-statements": b"".join(
            b'user_pref("agree.big.s%d", %d);\n' % (i, i) for i in range(20000)),
        "big-errors-and-values": b"".join(
            b'user_pref("agree.big.e%d" %d);\nuser_pref("agree.big.v%d", "%d");\n'
            % (i, i, i, i) for i in range(3000)),
    }


def keeps_defaults_under(doc, prefixes):
    """True when every pref()/sticky_pref() the parser accepted is under ``prefixes``."""
    return all(e.kind == "user_pref" or e.name.startswith(prefixes) for e in doc.entries)
