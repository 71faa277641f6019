#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: thunderbird_offline
short_description: Make Thunderbird keep every IMAP message on the workstation
version_added: 0.1.0
description:
  - For each IMAP account of each Thunderbird profile of the host, turns on
    "Keep messages for this account on this computer" with the requested age and size
    settings (by default every message, whatever its age and size), and flags every
    existing folder but Trash and Junk for offline use, so that Thunderbird downloads
    the bodies of existing folders too at its next start.
  - Setting the preference alone is not enough for folders Thunderbird already knows.
    Each folder carries its own Offline flag, which this module sets in the profile's
    C(folderCache.json) (adding an entry built from the folder's C(.msf) summary when
    the cache lacks one).
  - Profiles in use by a running Thunderbird are skipped (or fail, see O(if_running)),
    since Thunderbird overwrites its files when it quits.
  - Writes are atomic, keep owner, group and mode, and leave a backup next to each file
    changed. Returns the same facts as M(rectorat.thunderbird.thunderbird_info), as they
    stand after the run.
author:
  - Rectorat IT (@rectorat)
extends_documentation_fragment:
  - rectorat.thunderbird.thunderbird
  - rectorat.thunderbird.thunderbird.offline_settings
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.facts
attributes:
  check_mode:
    support: full
    details: Reports what would change; writes no byte.
  diff_mode:
    support: full
    details: Shows each changed file before and after (folderCache.json pretty-printed).
  facts:
    support: full
  platform:
    platforms: [posix, windows]
options:
  if_running:
    description:
      - What to do with a profile that Thunderbird has open.
      - V(skip) leaves it untouched and reports it as C(skipped_running); V(fail) fails the task.
    type: str
    choices: [skip, fail]
    default: skip
  backup:
    description:
      - Keep a copy of each file changed, named C(<file>.<UTC timestamp>.bak), next to it.
    type: bool
    default: true
  at_start:
    description:
      - Also install (or keep) the at-start hook in the host's Thunderbird installations,
        in the same module run, as M(rectorat.thunderbird.thunderbird_autoconfig) does with
        O(rectorat.thunderbird.thunderbird_autoconfig#module:state=present) and the same
        O(servers), O(sync_age_days) and O(size_limit_kb); Thunderbird then does the work
        itself at every start, for profiles skipped because it had them open and for
        accounts and folders added later.
      - One module run per workstation instead of two. To lock the settings, chain to a
        site AutoConfig or remove the hook, use M(rectorat.thunderbird.thunderbird_autoconfig).
      - Linux and Windows hosts (on Windows, C(autoconfig.ps1) writes the files).
    type: bool
    default: false
    version_added: 0.2.0
  install_dirs:
    description:
      - With O(at_start=true), the installation folders to put the hook in; by default the
        usual places (see M(rectorat.thunderbird.thunderbird_autoconfig)).
    type: list
    elements: path
    version_added: 0.2.0
notes:
  - Never touches the retention settings (C(retainBy), C(daysToKeepHdrs)...), which may
    delete mail on the server.
  - Running it a second time changes nothing.
seealso:
  - module: rectorat.thunderbird.thunderbird_info
  - module: rectorat.thunderbird.thunderbird_autoconfig
'''

EXAMPLES = r'''
- name: Keep every IMAP message of every profile on the workstation
  rectorat.thunderbird.thunderbird_offline:

- name: Only the academic server, failing if Thunderbird is open
  rectorat.thunderbird.thunderbird_offline:
    servers: [imap.ac-exemple.fr]
    if_running: fail

- name: Every message, now and at each start of Thunderbird
  rectorat.thunderbird.thunderbird_offline:
    at_start: true

- name: Keep one year of mail, no message over 10 MB
  rectorat.thunderbird.thunderbird_offline:
    sync_age_days: 365
    size_limit_kb: 10240
'''

RETURN = r'''
changed:
  description: Whether any profile was changed (or would be, in check mode).
  returned: always
  type: bool
summary:
  description: Counts over every profile of the host, after the run.
  returned: always
  type: dict
installations:
  description:
    - With O(at_start=true), one entry per Thunderbird installation, as
      RV(rectorat.thunderbird.thunderbird_autoconfig#module:installations) returns them
      (C(path), C(version), C(kind), C(status), C(message)).
  returned: when O(at_start=true)
  type: list
  elements: dict
  version_added: 0.2.0
diff:
  description: Each changed file before and after, with C(--diff).
  returned: when changed
  type: list
  elements: dict
ansible_facts:
  description:
    - The facts of M(rectorat.thunderbird.thunderbird_info), as they stand after the run,
      plus per profile a RV(ansible_facts.thunderbird.profiles[].status).
  returned: always
  type: complex
  contains:
    thunderbird:
      description: Profiles, a summary and host-level errors.
      type: complex
      contains:
        profiles:
          description: One entry per profile, with the fields of thunderbird_info and these.
          type: list
          elements: dict
          contains:
            status:
              description:
                - C(changed) (or would change in check mode), C(unchanged), C(skipped_running)
                  (Thunderbird had the profile open; nothing written), or C(error) (see C(error)).
              type: str
            changes:
              description: Preferences set and folders flagged.
              type: list
              elements: str
            backups:
              description: Backup files written next to the changed files.
              type: list
              elements: str
            accounts:
              description:
                - Accounts after the run; each account the module acted on also has C(before),
                  the values of C(offline_download), C(sync_age_days), C(size_limit_kb),
                  C(folders_offline) and C(backup_ready) before the run.
              type: list
              elements: dict
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.rectorat.thunderbird.plugins.module_utils import collect, commit, workflow
from ansible_collections.rectorat.thunderbird.plugins.module_utils.module_result import exit_with, run_or_fail

ARGUMENT_SPEC = dict(
    users=dict(type='list', elements='str'),
    profiles=dict(type='list', elements='path'),
    servers=dict(type='list', elements='str'),
    sync_age_days=dict(type='int', default=0),
    size_limit_kb=dict(type='int', default=0),
    if_running=dict(type='str', default='skip', choices=['skip', 'fail']),
    backup=dict(type='bool', default=True),
    at_start=dict(type='bool', default=False),
    install_dirs=dict(type='list', elements='path'),
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    result = run_or_fail(module, 'thunderbird_offline', workflow.run, params=module.params, enforce=True,
                         check_mode=module.check_mode, collect_fn=collect.collect, commit_fn=commit.commit,
                         diff=module._diff)
    if module.params['at_start']:
        # Imported here: compiling the hook's code costs each run that does not
        # install it about 30 ms (AnsiballZ's modules are compiled at every run).
        from ansible_collections.rectorat.thunderbird.plugins.module_utils import autoconfig_flow
        autoconfig_flow.add_hook(result, module.params, module.check_mode, diff=module._diff)
    exit_with(module, result)


if __name__ == '__main__':
    main()
