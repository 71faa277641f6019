#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: thunderbird_backup
short_description: Archive whole Thunderbird profiles into zip files on the host
version_added: 0.2.0
description:
  - Archives each Thunderbird profile of the host into
    C(<dest>/<user>/<profile name>/<UTC stamp>.zip), a ZIP64 zip (no size limit) of the
    profile folder - mail stores, summaries, address books, calendars, saved logins
    (C(logins.json) and C(key4.db)), prefs and filters. Only what Thunderbird rebuilds is
    left out (caches, crash reports, lock files).
  - Profiles are selected as by the other modules of the collection (O(users), O(profiles)).
  - A profile is read while the module holds Thunderbird's own profile lock, so Thunderbird
    cannot start during the copy; a profile Thunderbird has open is skipped (or fails, see
    O(if_running)).
  - The zip is written under a temp name, every member's CRC is checked by reading it back,
    then it is renamed, so a partial archive never has the final name. A manifest (each file's
    path, size, mtime and SHA-256) is stored inside the zip and beside it
    (C(<UTC stamp>.manifest.json)).
  - When no file of the profile changed since the last good archive (same paths, sizes and
    modification times as its manifest), no archive is made and the profile is C(unchanged).
  - Files are streamed one at a time, so memory stays flat whatever the size of the profile.
  - An IMAP account that keeps no offline copy has its mail on the server only; the archive
    does not hold it. Such accounts are listed in RV(profiles[].imap_online_only); run
    M(rectorat.thunderbird.thunderbird_offline) and let Thunderbird download first.
author:
  - Rectorat IT (@rectorat)
extends_documentation_fragment:
  - rectorat.thunderbird.thunderbird
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reports which profiles would be archived and which archives retention would remove.
  diff_mode:
    support: none
  platform:
    platforms: [posix, windows]
options:
  dest:
    description:
      - Folder on the managed host (a local disk or a mounted share) that receives the
        archives, in C(<dest>/<user>/<profile name>/). It must exist; the subfolders are
        made with mode C(0700).
      - A symbolic link (on Windows, a junction too) below O(dest) is refused.
      - On a share common to several workstations, give each its own O(dest) (for example
        C(/mnt/share/thunderbird/{{ inventory_hostname }})), since two workstations may have
        users and profiles of the same names. Archives that another host made are never
        compared with nor removed.
    type: path
    required: true
  keep:
    description:
      - How many archives of each profile to keep. Older archives of that profile are
        removed; the newest good archive is never removed, and files in O(dest) that are
        not archives of this module are never touched.
    type: int
    default: 3
  if_running:
    description:
      - What to do with a profile that Thunderbird has open.
      - V(skip) leaves it and reports it as C(skipped_running); V(fail) fails the task
        (after the other profiles were archived).
    type: str
    choices: [skip, fail]
    default: skip
  compression:
    description:
      - How members are stored in the zip.
      - V(stored) (no compression) archives at the speed of the disk; V(deflated) (zlib level 1)
        makes archives about a third of the size for mail, at several times the CPU time.
      - Changing it does not make a new archive of an unchanged profile.
    type: str
    choices: [stored, deflated]
    default: stored
notes:
  - Thunderbird's own profile import (Tools > Import, since 102) takes such a zip when the
    profile is under 2 GB. Larger archives are restored with
    M(rectorat.thunderbird.thunderbird_restore).
  - On Windows hosts (C(winrm), C(psrp), or C(ssh) with a PowerShell shell) the action plugin
    makes the same decisions on the controller and the archive is written by the C(tar.exe) of
    Windows 10 (1803 and later) and 11 (bsdtar, libarchive) under C(parent.lock), then checked
    (names and sizes, every CRC) before its rename. O(dest) is a Windows path; the folders made
    below it inherit its permissions, so give O(dest) an ACL that only administrators can read
    (archives hold saved logins). File names C(tar.exe) cannot take in the host's ANSI code
    page refuse their profile with an error, and nothing is written. See docs/windows.md of the
    collection for what is not verified on a real Windows host.
seealso:
  - module: rectorat.thunderbird.thunderbird_restore
  - module: rectorat.thunderbird.thunderbird_offline
'''

EXAMPLES = r'''
- name: Archive every Thunderbird profile of the workstation, keeping 3 archives each
  rectorat.thunderbird.thunderbird_backup:
    dest: /srv/backup/thunderbird

- name: Archive the profiles of two users on a mounted share, failing if Thunderbird is open
  rectorat.thunderbird.thunderbird_backup:
    users: [alice, bob]
    dest: /mnt/share/thunderbird
    keep: 7
    if_running: fail
'''

RETURN = r'''
changed:
  description: Whether an archive was made or removed (or would be, in check mode).
  returned: always
  type: bool
summary:
  description: Counts over the profiles of the host (one per status, C(profiles), C(bytes) written,
    C(imap_online_only) accounts, C(host_errors)).
  returned: always
  type: dict
errors:
  description: Host-level problems, e.g. a user that does not exist.
  returned: always
  type: list
  elements: str
profiles:
  description: One entry per profile.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The profile folder.
      type: str
    user:
      description: Its owner.
      type: str
    name:
      description: Its name in C(profiles.ini) (the folder name when it has none).
      type: str
    status:
      description:
        - C(backed_up) (an archive was made, or would be in check mode), C(unchanged) (no file
          changed since the last good archive), C(skipped_running) (Thunderbird had it open;
          nothing read), or C(error) (see C(error); nothing of this run is left in O(dest)).
      type: str
    archive:
      description: The archive made, or the last good one when C(unchanged).
      type: str
    bytes:
      description: Size of that archive in bytes (none in check mode).
      type: int
    files:
      description: Number of files of the profile in the archive.
      type: int
    sha256:
      description: SHA-256 of the archive file.
      type: str
    seconds:
      description: Time spent on this profile.
      type: float
    imap_online_only:
      description:
        - IMAP accounts (their e-mail address) whose mail the archive does NOT hold, because
          they keep no offline copy of every folder. A backup of such an account is a backup
          of nothing.
      type: list
      elements: str
    removed:
      description: UTC stamps of the older archives that retention removed (or would remove).
      type: list
      elements: str
    error:
      description: Why the profile was not archived.
      type: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.rectorat.thunderbird.plugins.module_utils import archive_io, backup_flow, collect
from ansible_collections.rectorat.thunderbird.plugins.module_utils.module_result import exit_with

ARGUMENT_SPEC = dict(
    users=dict(type='list', elements='str'),
    profiles=dict(type='list', elements='path'),
    dest=dict(type='path', required=True),
    keep=dict(type='int', default=3),
    if_running=dict(type='str', default='skip', choices=['skip', 'fail']),
    compression=dict(type='str', default='stored', choices=['stored', 'deflated']),
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    if module.params['keep'] < 1:
        module.fail_json(msg="keep must be at least 1: the newest good archive is always kept")
    compress = module.params['compression'] == 'deflated'

    def backup_one(entry, dest, keep, check_mode):
        return archive_io.backup_profile(entry, dest, keep, check_mode, compress=compress)

    exit_with(module, backup_flow.run(module.params, module.check_mode, collect.collect, backup_one))


if __name__ == '__main__':
    main()
