"""The agreement corpus and its comparison with the real Thunderbird.

    python tests/agreement/agreement.py      # run it all, print the tally

``corpus()`` gathers the files (committed and generated), ``run()`` feeds them
to one Thunderbird session and to ``prefs.parse`` and returns a ``Tally``.

What is compared, per file:

* values: ``prefs.parse(data).values`` against what Thunderbird ends up with:
  every pref with a user value after the read, plus every pref under the test
  prefixes (so that pref()/sticky_pref() defaults count too);
* errors: the ``(libpref_line, message)`` of each parse error against the
  ``<path>:<line>: prefs parse error: <message>`` lines Thunderbird prints,
  in order, and their number;
* failure: readUserPrefsFromFile throws exactly when there is an error.

The one explained kind of disagreement (``EXPLAINED``): a user value the
parser keeps and Thunderbird drops because Thunderbird has a built-in default
of another type for that name. prefs.parse() reads one file and knows no
built-in default (documented in ``prefs.effective_values``); the harness
proves the reason by reading the default's type from Thunderbird itself.
"""

import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CORPUS_DIR = os.path.join(HERE, "corpus")
UNIT_FIXTURES = os.path.join(REPO, "tests", "unit", "fixtures", "prefs")

sys.path.insert(0, HERE)
import agreement_gen  # noqa: E402
import tbprefs  # noqa: E402

try:
    from ansible_collections.rectorat.thunderbird.plugins.module_utils import prefs
except ImportError:  # run as a script from a checkout
    sys.path.insert(0, os.path.join(REPO, "plugins", "module_utils"))
    import prefs

# Generated files per run; raise them for a deeper (slower) search, e.g.
# TBAGREE_MUTATED=5000 python tests/agreement/agreement.py
GRAMMAR_FILES = int(os.environ.get("TBAGREE_GRAMMAR", "150"))
MUTATED_FILES = int(os.environ.get("TBAGREE_MUTATED", "150"))
MUTATION_SEED = int(os.environ.get("TBAGREE_SEED", "20260527"))
EXPLAINED = "built-in default of another type"
_TYPE_OF = {bool: tbprefs.PREF_BOOL, int: tbprefs.PREF_INT, str: tbprefs.PREF_STRING}


class Case:
    def __init__(self, name, data, origin):
        self.name = name
        self.data = data
        self.origin = origin


class Disagreement:
    def __init__(self, case, kind, detail, explained=None):
        self.case = case
        self.kind = kind
        self.detail = detail
        self.explained = explained

    def __str__(self):
        note = " [explained: %s]" % self.explained if self.explained else ""
        return "%s (%s): %s: %s%s" % (self.case.name, self.case.origin, self.kind,
                                      self.detail, note)


class Tally:
    def __init__(self):
        self.files = 0
        self.by_origin = {}
        self.prefs_compared = 0
        self.errors_compared = 0
        self.disagreements = []
        self.seconds = {}
        # (case, parser document, Thunderbird's FileResult) for each file
        self.results = []

    @property
    def unexplained(self):
        return [d for d in self.disagreements if not d.explained]

    @property
    def explained(self):
        return [d for d in self.disagreements if d.explained]

    def summary(self):
        origins = ", ".join("%s %d" % item for item in sorted(self.by_origin.items()))
        times = ", ".join("%s %.1f s" % item for item in self.seconds.items())
        return ("agreement with Thunderbird: %d files (%s), %d prefs compared, "
                "%d parse errors compared, %d disagreements (%d explained, "
                "%d unexplained); %s" % (
                    self.files, origins, self.prefs_compared, self.errors_compared,
                    len(self.disagreements), len(self.explained), len(self.unexplained),
                    times))


# --- the corpus ----------------------------------------------------------------

def _read(path):
    with open(path, "rb") as f:
        return f.read()


def committed_cases():
    cases = []
    for sub in sorted(os.listdir(CORPUS_DIR)):
        folder = os.path.join(CORPUS_DIR, sub)
        if not os.path.isdir(folder):
            continue
        for filename in sorted(os.listdir(folder)):
            if filename.endswith(".bin"):
                cases.append(Case("%s/%s" % (sub, filename), _read(os.path.join(folder, filename)),
                                  sub))
    for root, _, files in sorted(os.walk(UNIT_FIXTURES)):
        for filename in sorted(files):
            if filename.endswith(".js"):
                path = os.path.join(root, filename)
                cases.append(Case("unit-fixture/" + os.path.relpath(path, UNIT_FIXTURES),
                                  _read(path), "unit-fixture"))
    return cases


def generated_cases(seeds):
    cases = [Case("grammar/%03d" % i, data, "hypothesis")
             for i, data in enumerate(agreement_gen.grammar_files(GRAMMAR_FILES))]
    cases += [Case("mutant/%03d" % i, data, "mutation")
              for i, data in enumerate(agreement_gen.mutated_files(seeds, MUTATED_FILES, MUTATION_SEED))]
    cases += [Case("big/" + name, data, "big") for name, data in agreement_gen.big_files().items()]
    return cases


def corpus():
    committed = committed_cases()
    cases = committed + generated_cases([c.data for c in committed])
    # A default outside the test prefixes would outlive its file in the session.
    return [c for c in cases
            if agreement_gen.keeps_defaults_under(prefs.parse(c.data), tbprefs.PREFIXES)]


# --- comparison ------------------------------------------------------------------

def compare(case, doc, tb):
    """Disagreements between the parser's ``doc`` and Thunderbird's ``tb`` for one file."""
    found = []
    ours = doc.values
    for name in sorted(set(ours) | set(tb.values)):
        if name not in tb.values:
            found.append(Disagreement(case, "only-parser", "%r = %r" % (name, ours[name]),
                                      _explain_dropped(name, ours[name], tb)))
        elif name not in ours:
            found.append(Disagreement(case, "only-thunderbird",
                                      "%r = %r" % (name, tb.values[name])))
        elif not prefs.same_value(ours[name], tb.values[name]):
            found.append(Disagreement(case, "value", "%r: parser %r, Thunderbird %r"
                                      % (name, ours[name], tb.values[name])))
    ours_errors = [(e.libpref_line, e.message) for e in doc.errors]
    theirs = tb.errors[:len(ours_errors)] if doc.error_count > len(ours_errors) else tb.errors
    if ours_errors != theirs or doc.error_count != len(tb.errors):
        found.append(Disagreement(case, "errors", "parser %d %r, Thunderbird %d %r" % (
            doc.error_count, ours_errors[:5], len(tb.errors), tb.errors[:5])))
    if bool(tb.failure) != bool(doc.error_count):
        found.append(Disagreement(case, "failure", "Thunderbird raised %r, parser has %d errors"
                                  % (tb.failure, doc.error_count)))
    if tb.leftover:
        found.append(Disagreement(case, "harness", "user values left before the read: %r"
                                  % tb.leftover[:5]))
    return found


def _explain_dropped(name, value, tb):
    builtin = tb.builtin_types.get(name, 0)
    if builtin and builtin != _TYPE_OF[type(value)]:
        return EXPLAINED
    return None


def counted_names(doc, tb):
    return len(set(doc.values) | set(tb.values))


# --- running -----------------------------------------------------------------------

def run(cases, session, workdir):
    """Feed ``cases`` to ``session`` (a started ThunderbirdPrefs); return the Tally."""
    tally = Tally()
    files_dir = os.path.join(workdir, "files")
    os.makedirs(files_dir, exist_ok=True)
    started = time.monotonic()
    docs, paths, names = {}, [], {}
    for i, case in enumerate(cases):
        path = os.path.join(files_dir, "%04d.js" % i)
        with open(path, "wb") as f:
            f.write(case.data)
        doc = prefs.parse(case.data)
        docs[path] = (case, doc)
        paths.append(path)
        names[path] = sorted(doc.values)
    tally.seconds["parser"] = time.monotonic() - started
    started = time.monotonic()
    results = session.read_files(paths, names)
    tally.seconds["thunderbird"] = time.monotonic() - started
    for path, tb in zip(paths, results):
        case, doc = docs[path]
        tally.files += 1
        tally.by_origin[case.origin] = tally.by_origin.get(case.origin, 0) + 1
        tally.prefs_compared += counted_names(doc, tb)
        tally.errors_compared += max(doc.error_count, len(tb.errors))
        tally.disagreements += compare(case, doc, tb)
        tally.results.append((case, doc, tb))
    return tally


def main():
    workdir = tempfile.mkdtemp(prefix="h5a-agree-run-", dir="/tmp")
    cases = corpus()
    with tbprefs.ThunderbirdPrefs() as session:
        tally = run(cases, session, workdir)
        tally.seconds["startup"] = session.startup_seconds
    for d in tally.disagreements:
        print(d)
    print(tally.summary())
    return 1 if tally.unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
