"""The hardening suite: adversarial corpus, kill -9 crash safety (marker
``hardening``). Root only: it creates users, mounts tmpfs and chowns files."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hardening_tally as tally  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "hardening: adversarial corpus and kill -9 tests (root, mounts; a few minutes)")


def pytest_collection_modifyitems(config, items):
    here = os.path.dirname(os.path.abspath(__file__))
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.hardening)


@pytest.fixture(autouse=True)
def _root_only():
    """Root only (it chowns files, mounts tmpfs, adds users): CI runs as root,
    so there a non-root run fails; elsewhere it is skipped, with the reason."""
    if os.geteuid() != 0:
        reason = "the hardening suite runs as root (it chowns files, mounts tmpfs and adds users)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true and " + reason)
        pytest.skip(reason)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        tally.record({"test_failed": item.nodeid, "when": report.when})
