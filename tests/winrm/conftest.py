import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "windows"))

from wire_figures import FIGURES  # noqa: E402  (tests/winrm, put on the path just above)


def pytest_terminal_summary(terminalreporter):
    for line in FIGURES:
        terminalreporter.write_line("winrm wire: " + line)
