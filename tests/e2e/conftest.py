import os
import shutil
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tbharness  # noqa: E402


def pytest_terminal_summary(terminalreporter):
    for line in tbharness.FIGURES:
        terminalreporter.write_line("e2e: " + line)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "e2e: end-to-end test driving the real Thunderbird and dovecot (slow)")


def in_ci():
    return os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="module")
def e2e_tools():
    """Fail in CI, skip elsewhere, when Thunderbird or dovecot is not installed."""
    missing = tbharness.missing_tools()
    if missing:
        reason = "not installed: %s (apt-get install thunderbird dovecot-imapd)" % ", ".join(missing)
        if in_ci():
            pytest.fail("CI=true and " + reason)
        pytest.skip(reason)


@pytest.fixture(scope="module")
def e2e_dir():
    path = tempfile.mkdtemp(prefix="e2e-test-", dir="/tmp")
    os.chmod(path, 0o755)  # the IMAP server below runs as nobody
    yield path
    if not os.environ.get("TBE2E_KEEP"):
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def imap_server(e2e_tools, e2e_dir):
    with tbharness.ImapServer(messages=int(os.environ.get("TBE2E_MESSAGES", "6")),
                              workdir=os.path.join(e2e_dir, "imap")) as server:
        yield server
