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
def thunderbird():
    """A started ThunderbirdPrefs; fails in CI (CI=true), skips elsewhere, without one."""
    reason = tbprefs.missing()
    if reason:
        if in_ci():
            pytest.fail("CI=true and " + reason)
        pytest.skip(reason)
    with tbprefs.ThunderbirdPrefs() as session:
        yield session


@pytest.fixture(scope="module")
def tally(thunderbird, workdir):
    """The whole corpus read by Thunderbird and by the parser, compared."""
    result = agreement.run(agreement.corpus(), thunderbird, workdir)
    result.seconds["startup"] = thunderbird.startup_seconds
    _SUMMARIES.append(result.summary())
    return result
