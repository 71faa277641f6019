"""open_dirs, the folder walk backup's dest and restore's target share:
real folders, links and files in tmp_path."""

import os
import stat

import pytest

from ansible_collections.rectorat.thunderbird.plugins.module_utils.commit import Refused
from ansible_collections.rectorat.thunderbird.plugins.module_utils.nofollow_dirs_io import open_dirs, steps


@pytest.fixture
def root(tmp_path):
    fd = os.open(str(tmp_path), os.O_RDONLY | os.O_DIRECTORY)
    yield fd
    os.close(fd)


def open_fds():
    return len(os.listdir("/proc/self/fd"))


def test_steps_leave_out_empty_names():
    assert steps("a//b/") == ["a", "b"] and steps("") == []


def test_missing_is_none_without_create_and_made_0700_with_it(tmp_path, root):
    before = open_fds()
    assert open_dirs(root, ["a", "b"]) is None
    assert not (tmp_path / "a").exists()
    fd = open_dirs(root, ["a", "b"], create=True)
    try:
        assert os.path.samestat(os.fstat(fd), os.stat(str(tmp_path / "a" / "b")))
    finally:
        os.close(fd)
    assert stat.S_IMODE(os.stat(str(tmp_path / "a")).st_mode) & 0o077 == 0
    assert open_fds() == before


@pytest.mark.parametrize("create", [False, True])
def test_a_link_or_a_file_on_the_way_is_refused_by_its_path(tmp_path, root, create):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "a").mkdir()
    os.symlink(str(elsewhere), str(tmp_path / "a" / "link"))
    (tmp_path / "a" / "file").write_text("x")
    before = open_fds()
    for name in ("link", "file"):
        with pytest.raises(Refused) as caught:
            open_dirs(root, ["a", name, "c"], create=create, shown="/dest")
        assert str(caught.value) == "refused: /dest/a/%s is a symbolic link or not a folder" % name
    assert os.listdir(str(elsewhere)) == [] and open_fds() == before


def test_a_folder_that_cannot_be_opened_is_refused_by_its_path(root):
    long_name = "n" * 300
    with pytest.raises(Refused, match=r"^cannot open /dest/%s: File name too long$" % long_name):
        open_dirs(root, [long_name], create=True, shown="/dest")
