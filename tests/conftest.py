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


# Every real-client test runs this machine's own Thunderbird; a hook left in
# it would flag folders in their negative controls. Tests that exercise the
# hook work on a copy of the installation.
SYSTEM_THUNDERBIRD = "/usr/lib/thunderbird"


def system_hook_files():
    from ansible_collections.rectorat.thunderbird.plugins.module_utils import autoconfig
    paths = (os.path.join(SYSTEM_THUNDERBIRD, autoconfig.CFG_NAME),
             os.path.join(SYSTEM_THUNDERBIRD, "defaults", "pref", autoconfig.PREF_NAME))
    return set(p for p in paths if os.path.lexists(p))


@pytest.fixture(autouse=True)
def system_thunderbird_untouched():
    """A test that puts the at-start hook into the machine's own Thunderbird
    errors, and the hook is taken out again so the next tests run clean."""
    before = system_hook_files()
    yield
    planted = system_hook_files() - before
    for path in planted:
        os.unlink(path)
    assert not planted, "this test put the at-start hook into %s: %s" % (SYSTEM_THUNDERBIRD, sorted(planted))
