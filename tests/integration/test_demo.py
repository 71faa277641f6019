"""The README's first command, scripts/demo, run as a newcomer runs it: it
must end well and print the summary of its reports."""

import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

pytestmark = pytest.mark.skipif(os.geteuid() != 0 and os.environ.get("CI") != "true",
                                reason="the demo creates the sandbox users tbdemo_*: root only")


def test_demo_runs_to_its_summary():
    try:
        run = subprocess.run([os.path.join(REPO, "scripts", "demo")], capture_output=True, text=True,
                             timeout=900, check=False)
    finally:
        subprocess.run([sys.executable, os.path.join(REPO, "tests", "lib", "fleet.py"), "teardown",
                        "--prefix", "tbdemo_"], capture_output=True, check=False)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-4000:]
    summary = run.stdout.split("== 5. summary", 1)[-1]
    assert "real run:" in summary and "--check:" in summary, output[-4000:]
    for report in ("report/thunderbird_offline.html", "report-check/thunderbird_offline.html",
                   "report-backup/thunderbird_backup.html"):
        path = os.path.join(REPO, ".tmp", "demo", report)
        assert os.path.getsize(path) > 0, path
