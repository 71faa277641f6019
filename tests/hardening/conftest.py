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
    if os.geteuid() != 0:
        pytest.fail("the hardening suite runs as root (it chowns files, mounts tmpfs and adds users)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        tally.record({"test_failed": item.nodeid, "when": report.when})
