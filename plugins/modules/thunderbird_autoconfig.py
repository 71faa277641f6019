#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: thunderbird_autoconfig
short_description: Make Thunderbird itself keep IMAP mail offline at every start
version_added: 0.2.0
description:
  - Installs a small AutoConfig hook into each Thunderbird installation of the host. At
    every start of Thunderbird, whatever the profile, the hook turns on "Keep messages for
    this account on this computer" with the requested age and size for each IMAP account,
    and sets the Offline flag of every folder but Trash, Junk and virtual folders. It also
    acts on folders and IMAP accounts that appear while Thunderbird runs.
  - This reaches what M(rectorat.thunderbird.thunderbird_offline) cannot - profiles open
    while the play runs (they are done at their next start), accounts added later, a box
    unticked by the user - since Thunderbird applies it itself, through its own API.
  - The hook is two new files, C(defaults/pref/00-rectorat-offline.js) and
    C(rectorat-offline.cfg) beside the Thunderbird binary. No other file of the
    installation is changed, so O(state=absent) returns it to its exact bytes.
  - Each start, the hook writes what it did to C(rectorat-offline.json) in the profile
    (time, accounts, folders flagged, errors); M(rectorat.thunderbird.thunderbird_info)
    reports it. An error in the hook never stops Thunderbird from starting.
  - An installation that already uses AutoConfig (C(general.config.filename) set by
    another file) is never overwritten - reported as C(conflict), or chained with O(chain).
  - Snap and flatpak installations are read-only - reported as C(unsupported).
  - Linux and other POSIX hosts run this module. On Windows hosts (C(winrm), C(psrp), or C(ssh)
    with the C(powershell) or C(cmd) shell) the action plugin runs the same plan on the
    controller and reads and writes the installation through a small PowerShell script; the
    connecting account must be an administrator, as only administrators can write in
    C(C:\Program Files) (otherwise each installation is reported as C(error), access denied).
author:
  - Rectorat IT (@rectorat)
extends_documentation_fragment:
  - rectorat.thunderbird.thunderbird.offline_settings
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reports what would change; writes no byte.
  diff_mode:
    support: full
    details: Shows each file of the hook before and after.
  platform:
    platforms: [posix, windows]
options:
  install_dirs:
    description:
      - Thunderbird installation folders (the folder that holds the C(thunderbird) binary
        and C(application.ini)).
      - By default the usual places are searched - C(/usr/lib*/thunderbird*),
        C(/opt/thunderbird*), C(/usr/local/thunderbird*), snap and flatpak; on Windows hosts
        the C(Mozilla Thunderbird) folder of C(C:\Program Files) and of C:\Program Files (x86).
      - On Windows hosts, a path on a drive (C(D:\Apps\Thunderbird)); no folder on the way may
        be a junction or a symbolic link. A site AutoConfig script (O(chain)) is found there
        only when its name ends in C(.cfg).
      - On POSIX hosts, every folder on the way to the installation and to its C(defaults/pref) (symbolic
        links included, such as Debian's C(defaults) link into C(/usr/share/thunderbird))
        must belong to root and be writable by root only; otherwise the installation is
        reported as C(error) and nothing is written.
    type: list
    elements: path
  state:
    description:
      - V(present) installs or updates the hook; V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
  lock:
    description:
      - Lock the three settings (keep messages, age, size) of each IMAP account, so that the
        user cannot change them in Account Settings.
    type: bool
    default: false
  chain:
    description:
      - When the installation already has its own AutoConfig script, keep it and make the
        hook run it first (it then runs as before, and an error in it no longer stops
        Thunderbird). Without O(chain), such an installation is reported as C(conflict)
        and left alone.
    type: bool
    default: false
notes:
  - The hook is in the installation, so a Thunderbird update that replaces the
    installation folder removes it; run the module again after updates.
  - A profile with the hook still needs one Thunderbird start for its folders to be
    flagged; bodies then download in the background.
seealso:
  - module: rectorat.thunderbird.thunderbird_offline
  - module: rectorat.thunderbird.thunderbird_info
'''

EXAMPLES = r'''
- name: Keep IMAP mail offline from inside Thunderbird, every start
  rectorat.thunderbird.thunderbird_autoconfig:

- name: Same, settings locked, keeping the site's own AutoConfig script
  rectorat.thunderbird.thunderbird_autoconfig:
    lock: true
    chain: true

- name: A tarball installation
  rectorat.thunderbird.thunderbird_autoconfig:
    install_dirs: [/opt/thunderbird]

- name: Remove the hook
  rectorat.thunderbird.thunderbird_autoconfig:
    state: absent

- name: A Windows installation outside Program Files
  rectorat.thunderbird.thunderbird_autoconfig:
    install_dirs: ['D:\Apps\Mozilla Thunderbird']
'''

RETURN = r'''
changed:
  description: Whether a file of any installation was (or in check mode would be) written or removed.
  returned: always
  type: bool
installations:
  description: One entry per installation found or named.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The installation folder.
      type: str
      sample: /usr/lib/thunderbird
    version:
      description: Thunderbird version from C(application.ini), or null.
      type: str
      sample: 153.8.0
    kind:
      description: V(system) (package), V(tarball), V(snap), V(flatpak) or V(windows).
      type: str
    status:
      description:
        - V(changed), V(unchanged), V(conflict) (another AutoConfig, or a file of the
          hook's name not written by this module; nothing written), V(unsupported)
          (snap, flatpak) or V(error) (see RV(installations[].message); nothing written).
      type: str
    message:
      description: What was done, or why not.
      type: str
diff:
  description: Each file of the hook before and after, with C(--diff).
  returned: when changed
  type: list
  elements: dict
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.rectorat.thunderbird.plugins.module_utils import autoconfig_flow
from ansible_collections.rectorat.thunderbird.plugins.module_utils.module_result import exit_with

ARGUMENT_SPEC = dict(
    install_dirs=dict(type='list', elements='path'),
    state=dict(type='str', default='present', choices=['present', 'absent']),
    servers=dict(type='list', elements='str'),
    sync_age_days=dict(type='int', default=0),
    size_limit_kb=dict(type='int', default=0),
    lock=dict(type='bool', default=False),
    chain=dict(type='bool', default=False),
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    exit_with(module, autoconfig_flow.run(module.params, module.check_mode, diff=module._diff))


if __name__ == '__main__':
    main()
