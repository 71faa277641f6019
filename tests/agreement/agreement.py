"""The agreement corpus and its comparison with the real Thunderbird.

    python tests/agreement/agreement.py      # run it all, print the tally

``corpus()`` gathers the files (committed and generated), ``run()`` feeds them
to one Thunderbird session and to ``prefs.parse`` and returns a ``Tally``.

What is compared, per case (one file, or two read as prefs.js then user.js):

* values: ``prefs.effective_values(*docs)`` (for one file, its
  ``prefs.parse(data).values``) against what Thunderbird ends up with: every
  pref with a user value after the read, plus every pref under the test
  prefixes (so that pref()/sticky_pref() defaults count too);
* errors, per file: the ``(libpref_line, message)`` of each parse error
  against the ``<path>:<line>: prefs parse error: <message>`` lines
  Thunderbird prints, in order, and their number;
* failure, per file: readUserPrefsFromFile throws exactly when the file has
  an error.

The one explained kind of disagreement (``EXPLAINED``): a user value the
parser keeps and Thunderbird drops because Thunderbird has a built-in default
of another type for that name. prefs.parse() reads one file and knows no
built-in default (documented in ``prefs.effective_values``); the harness
proves the reason by reading the default's type from Thunderbird itself.
"""

import os
import random
import shutil
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
RANDOM_PAIRS = int(os.environ.get("TBAGREE_PAIRS", "60"))
EXPLAINED = "built-in default of another type"
_TYPE_OF = {bool: tbprefs.PREF_BOOL, int: tbprefs.PREF_INT, str: tbprefs.PREF_STRING}


class Case:
    """One file, or files read one after the other (prefs.js, then user.js)."""

    def __init__(self, name, parts, origin):
        self.name = name
        self.parts = parts
        self.origin = origin

    @property
    def data(self):
        return self.parts[0]


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
        self.cases = 0
        self.files = 0
        self.by_origin = {}
        self.prefs_compared = 0
        self.errors_compared = 0
        self.disagreements = []
        self.seconds = {}
        # (case, parser documents, Thunderbird's FileResult) for each case
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
        return ("agreement with Thunderbird: %d cases (%s), %d file reads, %d prefs "
                "compared, %d parse errors compared, %d disagreements (%d explained, "
                "%d unexplained); %s" % (
                    self.cases, origins, self.files, self.prefs_compared, self.errors_compared,
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
        for filename in sorted(os.listdir(folder)):
            path = os.path.join(folder, filename)
            if filename.endswith(".bin"):
                cases.append(Case("%s/%s" % (sub, filename), [_read(path)], sub))
            elif os.path.isdir(path):  # a pair: prefs.bin, then user.bin
                cases.append(Case("%s/%s" % (sub, filename),
                                  [_read(os.path.join(path, "prefs.bin")),
                                   _read(os.path.join(path, "user.bin"))], sub))
    for root, _dirs, files in sorted(os.walk(UNIT_FIXTURES)):
        for filename in sorted(files):
            path = os.path.join(root, filename)
            if filename.endswith(".js"):
                cases.append(Case("unit-fixture/" + os.path.relpath(path, UNIT_FIXTURES),
                                  [_read(path)], "unit-fixture"))
            if filename == "user.js":
                cases.append(Case("unit-fixture/" + os.path.relpath(root, UNIT_FIXTURES)
                                  + "/prefs.js+user.js",
                                  [_read(os.path.join(root, "prefs.js")), _read(path)],
                                  "pairs"))
    return cases


def generated_cases(seeds):
    cases = [Case("grammar/%03d" % i, [data], "hypothesis")
             for i, data in enumerate(agreement_gen.grammar_files(GRAMMAR_FILES))]
    mutants = agreement_gen.mutated_files(seeds, MUTATED_FILES, MUTATION_SEED)
    cases += [Case("mutant/%03d" % i, [data], "mutation") for i, data in enumerate(mutants)]
    cases += [Case("big/" + name, [data], "big")
              for name, data in agreement_gen.big_files().items()]
    return cases


def random_pairs(cases, count, seed=MUTATION_SEED):
    """``count`` pairs of single files, read as prefs.js then user.js."""
    rng = random.Random(seed)
    singles = [c for c in cases if len(c.parts) == 1 and len(c.data) <= 16384]
    picked = [rng.sample(singles, 2) for _index in range(count)]
    return [Case("pair/%s+%s" % (a.name, b.name), [a.data, b.data], "random-pairs")
            for a, b in picked]


def corpus():
    committed = committed_cases()
    cases = committed + generated_cases([c.data for c in committed if len(c.parts) == 1])
    cases += random_pairs(cases, RANDOM_PAIRS)
    # A default outside the test prefixes would outlive its case in the session.
    return [c for c in cases if all(
        agreement_gen.keeps_defaults_under(prefs.parse(part), tbprefs.PREFIXES)
        for part in c.parts)]


# --- comparison ------------------------------------------------------------------

def compare(case, docs, tb):
    """Disagreements between the parser's ``docs`` and Thunderbird's ``tb`` for one case."""
    found = []
    ours = prefs.effective_values(*docs)
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
    for index, (doc, theirs, failure) in enumerate(zip(docs, tb.errors, tb.failures)):
        ours_errors = [(e.libpref_line, e.message) for e in doc.errors]
        if doc.error_count > len(ours_errors):  # the parser keeps the first MAX_ERRORS
            theirs = theirs[:len(ours_errors)] + [None] * (len(theirs) - len(ours_errors))
            ours_errors += [None] * (doc.error_count - len(ours_errors))
        if ours_errors != theirs:
            found.append(Disagreement(case, "errors", "file %d: parser %d %r, Thunderbird %d %r"
                                      % (index + 1, doc.error_count, ours_errors[:5],
                                         len(theirs), theirs[:5])))
        if bool(failure) != bool(doc.error_count):
            found.append(Disagreement(case, "failure", "file %d: Thunderbird raised %r, "
                                      "parser has %d errors" % (index + 1, failure,
                                                                doc.error_count)))
    if tb.leftover:
        found.append(Disagreement(case, "harness", "user values left before the read: %r"
                                  % tb.leftover[:5]))
    return found


def _explain_dropped(name, value, tb):
    builtin = tb.builtin_types.get(name, 0)
    if builtin and builtin != _TYPE_OF[type(value)]:
        return EXPLAINED
    return None


def counted_names(docs, tb):
    return len(set(prefs.effective_values(*docs)) | set(tb.values))


# --- running -----------------------------------------------------------------------

def run(cases, session, workdir):
    """Feed ``cases`` to ``session`` (a started ThunderbirdPrefs); return the Tally."""
    tally = Tally()
    files_dir = os.path.join(workdir, "files")
    os.makedirs(files_dir, exist_ok=True)
    started = time.monotonic()
    jobs, names, docs = [], [], []
    for i, case in enumerate(cases):
        paths = []
        for j, part in enumerate(case.parts):
            paths.append(os.path.join(files_dir, "%04d-%d.js" % (i, j)))
            with open(paths[-1], "wb") as f:
                f.write(part)
        jobs.append(paths)
        docs.append([prefs.parse(part) for part in case.parts])
        names.append(sorted(prefs.effective_values(*docs[-1])))
    tally.seconds["parser"] = time.monotonic() - started
    started = time.monotonic()
    results = session.read_files(jobs, names)
    tally.seconds["thunderbird"] = time.monotonic() - started
    for case, case_docs, tb in zip(cases, docs, results):
        tally.cases += 1
        tally.files += len(case.parts)
        tally.by_origin[case.origin] = tally.by_origin.get(case.origin, 0) + 1
        tally.prefs_compared += counted_names(case_docs, tb)
        tally.errors_compared += sum(max(doc.error_count, len(theirs))
                                     for doc, theirs in zip(case_docs, tb.errors))
        tally.disagreements += compare(case, case_docs, tb)
        tally.results.append((case, case_docs, tb))
    return tally


def main():
    workdir = tempfile.mkdtemp(prefix="h5a-agree-run-", dir="/tmp")
    try:
        cases = corpus()
        with tbprefs.ThunderbirdPrefs() as session:
            tally = run(cases, session, workdir)
            tally.seconds["startup"] = session.startup_seconds
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    for d in tally.disagreements:
        print(d)
    print(tally.summary())
    return 1 if tally.unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
