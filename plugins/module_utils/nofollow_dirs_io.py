# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Open (or make) a folder below a folder descriptor, one name at a time,
never following a symlink: the one walk that backup's dest and restore's
target share."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import os

from ansible_collections.rectorat.thunderbird.plugins.module_utils.commit import Refused

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def steps(rel):
    """The names of a "/"-separated relative path, empty ones left out."""
    return [part for part in rel.split("/") if part]


def open_dirs(root_fd, parts, create=False, shown=""):
    """fd of the folder ``parts`` below ``root_fd`` (which stays open).

    A missing folder is made (0700) when ``create``; otherwise the answer is
    None. A symlink or a file on the way, or a folder that cannot be opened
    or made, raises Refused naming it as ``shown`` joined with the names
    walked so far.
    """
    fd = os.dup(root_fd)
    walked = shown
    try:
        for part in parts:
            walked = os.path.join(walked, part)
            try:
                child = os.open(part, _DIR, dir_fd=fd)
            except OSError as exc:
                if exc.errno == errno.ENOENT and create:
                    try:
                        os.mkdir(part, 0o700, dir_fd=fd)
                    except OSError as mk:
                        raise Refused("error", "cannot create %s: %s" % (walked, mk.strerror))
                    child = os.open(part, _DIR, dir_fd=fd)
                elif exc.errno == errno.ENOENT:
                    os.close(fd)
                    return None
                elif exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise Refused("error", "refused: %s is a symbolic link or not a folder" % walked)
                else:
                    raise Refused("error", "cannot open %s: %s" % (walked, exc.strerror))
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd
