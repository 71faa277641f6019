"""The execution-environment image: built by scripts/build-ee, run as AWX runs it."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "ee: builds the execution-environment image with podman and runs the role inside it")
