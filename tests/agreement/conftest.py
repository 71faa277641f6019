"""Fixtures of the agreement test: one Thunderbird session for the whole module."""

import os
import shutil
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import agreement  # noqa: E402
import tbprefs  # noqa: E402

_SUMMARIES = []


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "agreement: compares the prefs.js parser with the real Thunderbird")


def pytest_terminal_summary(terminalreporter):
    for line in _SUMMARIES:
        terminalreporter.write_line(line)


def in_ci():
    return os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="module")
def workdir():
    path = tempfile.mkdtemp(prefix="h5a-agree-", dir="/tmp")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def thunderbird_and_corpus():
    """A started ThunderbirdPrefs and the corpus, built while Thunderbird starts.

    Fails in CI (CI=true), skips elsewhere, when Thunderbird is missing.
    """
    reason = tbprefs.missing()
    if reason:
        if in_ci():
            pytest.fail("CI=true and " + reason)
        pytest.skip(reason)
    session = tbprefs.ThunderbirdPrefs()
    try:
        session.launch()
        cases = agreement.corpus()
        session.connect()
        yield session, cases
    finally:
        session.close()


@pytest.fixture(scope="module")
def tally(thunderbird_and_corpus, workdir):
    """The whole corpus read by Thunderbird and by the parser, compared."""
    session, cases = thunderbird_and_corpus
    result = agreement.run(cases, session, workdir)
    result.seconds["startup"] = session.startup_seconds
    _SUMMARIES.append(result.summary())
    return result
