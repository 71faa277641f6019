# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What one run may spend on a host: bytes read per file, per profile and per
run, profiles examined, and seconds. Past a limit the profile (or file) is
reported as such and the run goes on with the others (docs/hardening.md)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_PROFILE_BYTES = 64 * 1024 * 1024
MAX_RUN_BYTES = 256 * 1024 * 1024
MAX_PROFILES = 500
MAX_SECONDS = 300


def request_limits(request):
    """The limits of a collect request; each field is optional."""
    return {
        "max_file_bytes": request.get("max_file_bytes") or MAX_FILE_BYTES,
        "max_profile_bytes": request.get("max_profile_bytes") or MAX_PROFILE_BYTES,
        "max_run_bytes": request.get("max_run_bytes") or MAX_RUN_BYTES,
        "max_profiles": request.get("max_profiles") or MAX_PROFILES,
        "max_seconds": request.get("max_seconds") or MAX_SECONDS,
    }


def default_limits():
    return request_limits({})


def time_exhausted_message(seconds):
    return "not examined: the time budget of %d s for this host was used up" % seconds


class Budget:
    """Bytes and time left; ``start_profile`` opens a profile's own allowance."""

    def __init__(self, request, clock=time.monotonic):
        self.limits = request_limits(request)
        self.clock = clock
        self.deadline = clock() + self.limits["max_seconds"]
        self.run_left = self.limits["max_run_bytes"]
        self.profile_left = None
        self.profiles = 0

    def start_profile(self):
        """None, or why this profile is not examined at all."""
        self.profiles += 1
        self.profile_left = self.limits["max_profile_bytes"]
        if self.profiles > self.limits["max_profiles"]:
            return "not examined: more than %d profiles on this host" % self.limits["max_profiles"]
        if self.clock() > self.deadline:
            return time_exhausted_message(self.limits["max_seconds"])
        return None

    def end_profile(self):
        self.profile_left = None

    def refusal(self, name, size):
        """None when ``size`` bytes of ``name`` may be read, else the reason."""
        limit = self.limits["max_file_bytes"]
        if size > limit:
            return "%s is too large (%d bytes, limit %d)" % (name, size, limit)
        if self.profile_left is not None and size > self.profile_left:
            return "%s not read: the profile's files passed %d bytes" % (name, self.limits["max_profile_bytes"])
        if size > self.run_left:
            return "%s not read: the files read on this host passed %d bytes" % (name, self.limits["max_run_bytes"])
        return None

    def allowance(self):
        left = [self.limits["max_file_bytes"], self.run_left]
        if self.profile_left is not None:
            left.append(self.profile_left)
        return min(left)

    def charge(self, size):
        self.run_left -= size
        if self.profile_left is not None:
            self.profile_left -= size
