"""prefs.parse() reads every corpus file exactly as the real Thunderbird 153 does.

See agreement.py for what is compared and tbprefs.py for how Thunderbird is
asked. The tally is printed in pytest's terminal summary.
"""

import pytest

import agreement
import make_agreement_corpus
import tbprefs
from agreement import prefs

pytestmark = pytest.mark.agreement

# The deliberate case of the one explained disagreement (agreement.EXPLAINED):
# a user value of another type than Thunderbird's built-in default.
BUILTIN_CLASH_CASE = "edge/real-builtin-default-other-type.bin"
BUILTIN_CLASH_NAME = "mail.server.default.autosync_max_age_days"

# Files also read by a real start (the file as the profile's prefs.js), to
# show that the in-process read gives the same prefs and errors: recovery
# after errors with pref()/sticky_pref() defaults, a BOM, CRLF and a NUL.
REAL_START_CASES = [
    "unit-fixture/tb153-recovery-1/prefs.js",
    "unit-fixture/tb153-bom-and-defaults/prefs.js",
    "edge/file-crlf.bin",
    "edge/nul-in-string-in-skip.bin",
]


def by_name(tally):
    return dict((case.name, (case, docs, tb)) for case, docs, tb in tally.results)


def test_committed_edge_cases_match_their_script():
    assert make_agreement_corpus.write(check=True) == []


def test_corpus_is_large_and_covers_every_origin(tally):
    assert tally.cases >= 400
    assert sum(n for origin, n in tally.by_origin.items()
               if origin in ("edge", "tb-written", "unit-fixture")) >= 200
    assert set(tally.by_origin) == {"edge", "tb-written", "unit-fixture", "pairs", "hypothesis",
                                    "mutation", "big", "random-pairs"}
    with_errors = sum(1 for _case, docs, _tb in tally.results if docs[0].error_count)
    assert 100 <= with_errors < tally.cases


def test_thunderbird_reads_what_the_parser_reads(tally):
    print(tally.summary())
    assert not tally.unexplained, "\n".join(str(d) for d in tally.unexplained)
    for d in tally.explained:
        assert d.kind == "only-parser" and d.explained == agreement.EXPLAINED, str(d)


def test_the_explained_disagreement_is_a_builtin_default_of_another_type(tally):
    case, docs, tb = by_name(tally)[BUILTIN_CLASH_CASE]
    assert docs[0].values[BUILTIN_CLASH_NAME] is True
    assert tb.builtin_types[BUILTIN_CLASH_NAME] == tbprefs.PREF_INT
    assert BUILTIN_CLASH_NAME not in tb.values
    explained = [d for d in tally.explained if d.case is case]
    assert [d.detail for d in explained] == ["%r = True" % BUILTIN_CLASH_NAME]


def test_the_comparison_sees_a_wrong_parser(tally):
    """Each way of being wrong is caught, on real Thunderbird results."""
    checked = 0
    for case, docs, tb in tally.results:
        doc = docs[0]
        if (len(docs) > 1 or not doc.values or doc.error_count or doc.stopped_at is not None
                or agreement.compare(case, docs, tb)):
            continue
        extra = prefs.parse(case.data + b'\nuser_pref("agree.not.in.thunderbird", 1);\n')
        broken = prefs.parse(case.data + b"\nuser_pref(oops);\n")
        assert {d.kind for d in agreement.compare(case, [extra], tb)} == {"only-parser"}
        assert {d.kind for d in agreement.compare(case, [broken], tb)} == {"errors", "failure"}
        name = sorted(doc.values)[0]
        changed = prefs.parse(case.data + b"\n" + prefs.format_entry(
            name, _other_value(doc.values[name])).encode("utf-8", "surrogateescape") + b"\n")
        assert "value" in {d.kind for d in agreement.compare(case, [changed], tb)}
        checked += 1
    assert checked >= 50


def _other_value(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1 if value < prefs.INT_MAX else value - 1
    return value + "x"


def test_the_read_is_the_one_of_a_real_start(tally, workdir):
    """A real start with the file as prefs.js gives the same prefs and errors."""
    results = by_name(tally)
    for name in REAL_START_CASES:
        case, docs, in_process = results[name]
        at_start = tbprefs.read_at_start(case.data)
        assert at_start.values == _prefixed(in_process.values), name
        assert at_start.defaults == _prefixed(in_process.defaults), name
        assert at_start.user_names == set(_prefixed(dict.fromkeys(in_process.user_names))), name
        assert at_start.errors == in_process.errors, name
        assert at_start.values and (at_start.errors[0] or docs[0].stopped_at is not None), name


def _prefixed(mapping):
    return dict((k, v) for k, v in mapping.items() if k.startswith(tbprefs.PREFIXES))
