"""Make ``ansible_collections.rectorat.thunderbird`` importable and findable.

The test runner (scripts/test) builds and installs the collection and sets
RECTORAT_COLLECTIONS_PATH to the install; without it, a link to this checkout
is made under .tmp/ so that a plain ``pytest`` works during development.
"""

import os
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "lib"))


def collections_path():
    path = os.environ.get("RECTORAT_COLLECTIONS_PATH")
    if path:
        return path
    path = os.path.join(REPO, ".tmp", "dev-collections")
    link = os.path.join(path, "ansible_collections", "rectorat", "thunderbird")
    if not os.path.islink(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(REPO, link)
    return path


COLLECTIONS_PATH = collections_path()
sys.path.insert(0, COLLECTIONS_PATH)
os.environ["ANSIBLE_COLLECTIONS_PATH"] = COLLECTIONS_PATH


@pytest.fixture
def collection_path():
    return COLLECTIONS_PATH
