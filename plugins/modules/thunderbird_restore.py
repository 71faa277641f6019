#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: thunderbird_restore
short_description: Restore a Thunderbird profile archived by thunderbird_backup
version_added: 0.2.0
description:
  - Puts the profile held by an archive of M(rectorat.thunderbird.thunderbird_backup) into
    the Thunderbird folder (C(~/.thunderbird)) of a user, so that the user's mail is readable
    on this workstation, even when the mail server is gone.
  - The archive is verified in full before anything is written - its manifest, and for
    every member its name, type, size, CRC and SHA-256. Members that would land outside the
    profile (C(..), absolute paths) and links are refused.
  - Files are extracted as the user into a temp folder beside the target and the folder is
    renamed into place; every file ends up owned by the user with its archived mode and
    modification time.
  - Restoring the same archive again changes nothing.
author:
  - Rectorat IT (@rectorat)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Verifies the archive and reports whether the profile would be restored.
  diff_mode:
    support: none
  platform:
    platforms: [posix]
options:
  src:
    description: Path on the host of an archive (C(.zip)) made by M(rectorat.thunderbird.thunderbird_backup).
    type: path
    required: true
  user:
    description: Local user whose home receives the profile.
    type: str
    required: true
  name:
    description:
      - Profile name in C(profiles.ini). Defaults to the name recorded in the archive.
      - When C(profiles.ini) already lists a profile of that name, that profile's folder is the
        target; otherwise a folder of that name is made in C(~/.thunderbird).
    type: str
  default:
    description:
      - Make it the profile the next Thunderbird start opens - C(Default=1) in C(profiles.ini)
        and the C(Default=) of every install section of C(profiles.ini) and C(installs.ini).
    type: bool
    default: true
  force:
    description:
      - Replace a target folder that already holds files. The old folder is kept, renamed
        C(<folder>.<UTC stamp>.old) beside it.
      - Without it, a non-empty target is refused.
    type: bool
    default: false
notes:
  - A profile that Thunderbird has open is never replaced.
seealso:
  - module: rectorat.thunderbird.thunderbird_backup
'''

EXAMPLES = r'''
- name: Put alice's last archive on her new workstation
  rectorat.thunderbird.thunderbird_restore:
    src: /mnt/share/thunderbird/alice/default-release/20260105T020000Z.zip
    user: alice

- name: Restore it for another user under another name, replacing what is there
  rectorat.thunderbird.thunderbird_restore:
    src: /mnt/share/thunderbird/alice/default-release/20260105T020000Z.zip
    user: alice2
    name: archive-alice
    default: false
    force: true
'''

RETURN = r'''
status:
  description:
    - C(restored) (the profile was put in place, or would be in check mode), C(registered)
      (the files were already there; only profiles.ini or installs.ini changed), C(unchanged),
      or C(error).
  returned: always
  type: str
path:
  description: The restored profile folder.
  returned: success
  type: str
name:
  description: The profile name in profiles.ini.
  returned: success
  type: str
files:
  description: Number of files in the archive.
  returned: success
  type: int
moved_aside:
  description: Where the folder that O(force) replaced was moved.
  returned: when a non-empty folder was replaced
  type: str
'''

import pwd

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.rectorat.thunderbird.plugins.module_utils import restore_io

ARGUMENT_SPEC = dict(
    src=dict(type='path', required=True),
    user=dict(type='str', required=True),
    name=dict(type='str'),
    default=dict(type='bool', default=True),
    force=dict(type='bool', default=False),
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    try:
        pw_entry = pwd.getpwnam(module.params['user'])
    except KeyError:
        module.fail_json(msg="no local user named %s" % module.params['user'], status="error")
    result = restore_io.run(module.params, pw_entry, module.check_mode)
    if result["status"] == "error":
        module.fail_json(msg=result.pop("error"), **result)
    result["msg"] = "%s: %s" % (result["path"], result["status"])
    module.exit_json(**result)


if __name__ == '__main__':
    main()
