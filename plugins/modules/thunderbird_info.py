#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: thunderbird_info
short_description: Report every Thunderbird profile and mail account of a host, and whether its mail is on disk
version_added: 0.1.0
description:
  - Finds the Thunderbird profiles of the host's users and reports, for each mail account,
    its kind (POP or IMAP), server, connection security, offline synchronisation settings,
    how many IMAP folders are kept offline, the disk space used, and whether the account
    is ready for a backup of the workstation.
  - An IMAP account is ready for backup when Thunderbird keeps its messages on the computer,
    for every age, with no size limit, and every folder but Trash and Junk is flagged for
    offline use. POP and Local Folders accounts are always on disk.
  - Also reports the Thunderbird installations of the host and whether the AutoConfig hook
    of M(rectorat.thunderbird.thunderbird_autoconfig) is in them, and per profile what that
    hook did at Thunderbird's last start (Linux hosts; not read yet on Windows hosts).
  - Read-only; never writes a byte.
author:
  - Rectorat IT (@rectorat)
extends_documentation_fragment:
  - rectorat.thunderbird.thunderbird
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.facts
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  facts:
    support: full
  platform:
    platforms: [posix, windows]
options:
  install_dirs:
    description:
      - Thunderbird installation folders to report on; by default the usual places
        (see M(rectorat.thunderbird.thunderbird_autoconfig)), on Linux and Windows hosts.
    type: list
    elements: path
seealso:
  - module: rectorat.thunderbird.thunderbird_offline
  - module: rectorat.thunderbird.thunderbird_autoconfig
'''

EXAMPLES = r'''
- name: Report every Thunderbird profile of every user
  rectorat.thunderbird.thunderbird_info:

- name: Report the profiles of two users only
  rectorat.thunderbird.thunderbird_info:
    users: [alice, bob]

- name: IMAP accounts whose mail is only on the server
  ansible.builtin.debug:
    msg: "{{ ansible_facts.thunderbird.profiles | map(attribute='accounts') | flatten
             | selectattr('type', 'eq', 'imap') | rejectattr('backup_ready') | map(attribute='email') }}"
'''

RETURN = r'''
summary:
  description: Counts over every profile of the host.
  returned: always
  type: dict
  sample: {profiles: 2, profiles_running: 0, profiles_error: 0, profiles_changed: 0, accounts: 4,
           pop3: 1, imap: 2, imap_backup_ready: 1, imap_not_ready: 1, password_exposed: 1,
           backup_ready: 3, host_errors: 0}
ansible_facts:
  description: Facts about the host's Thunderbird profiles.
  returned: always
  type: complex
  contains:
    thunderbird:
      description: Profiles, a summary and host-level errors.
      type: complex
      contains:
        summary:
          description: Same as RV(summary).
          type: dict
        errors:
          description: Problems not tied to one profile, such as a user that does not exist.
          type: list
          elements: str
        installations:
          description: Thunderbird installations found.
          type: list
          elements: dict
          contains:
            path: {description: Installation folder., type: str}
            version: {description: Version from application.ini., type: str}
            kind: {description: "C(system), C(tarball), C(snap), C(flatpak) or C(windows).", type: str}
            hook:
              description: "C(installed), C(absent), C(foreign) (a file of the hook's name not written by the collection), or null (not readable)."
              type: str
            site_autoconfig: {description: "Script named by another AutoConfig file (general.config.filename), else null.", type: str}
            error: {description: "Why the installation could not be read, else null.", type: str}
        profiles:
          description: One entry per profile found.
          type: list
          elements: dict
          contains:
            path: {description: Profile folder., type: str}
            name: {description: Name in profiles.ini (else the folder name)., type: str}
            user: {description: Local user owning the profile., type: str}
            default: {description: Whether Thunderbird starts this profile by default., type: bool}
            running: {description: Whether Thunderbird holds the profile lock now., type: bool}
            root: {description: Thunderbird folder holding the profile (null for an explicit path)., type: str}
            redirected: {description: "Windows: the profile's AppData lies on a network share (folder redirection).", type: bool}
            version: {description: Thunderbird version that last used the profile (compatibility.ini)., type: str}
            error: {description: 'Why the profile could not be read or changed, else null.', type: str}
            at_start:
              description:
                - What the AutoConfig hook did at the last Thunderbird start (from C(rectorat-offline.json)
                  in the profile), or null when the hook never ran there. Always null on Windows
                  hosts for now (the file is not read there yet).
              type: dict
              contains:
                time: {description: "When the hook last wrote its report (UTC, ISO 8601).", type: str}
                completed: {description: The hook ran its start-up pass., type: bool}
                trigger:
                  description:
                    - What started that pass, C(mail-startup-done) (normal start) or C(fallback) (a dialog at
                      start held that notification back), null for a report of an older hook.
                  type: str
                accounts: {description: "IMAP accounts acted on: server, hostname, folders, folders_flagged, offline_download.", type: list, elements: dict}
                folders_flagged: {description: Folders the hook flagged for offline use in that session., type: int}
                locked: {description: Preferences the hook locked., type: int}
                errors: {description: Errors the hook met (it never stops Thunderbird)., type: list, elements: str}
                error: {description: "Why the report could not be read, else null.", type: str}
            status:
              description: C(unchanged) for thunderbird_info; see thunderbird_offline for the others.
              type: str
            changes: {description: Changes made or planned (thunderbird_offline)., type: list, elements: str}
            accounts:
              description: Mail accounts of the profile, in Thunderbird's order.
              type: list
              elements: dict
              contains:
                key: {description: Account key (C(account1))., type: str}
                server_key: {description: Server key (C(server1))., type: str}
                name: {description: Account name shown by Thunderbird., type: str}
                type: {description: "C(imap), C(pop3), C(none) (Local Folders), C(nntp), C(rss), ...", type: str}
                hostname: {description: Server host name., type: str}
                port: {description: 'Port in use, defaults applied.', type: int}
                username: {description: Login name., type: str}
                email: {description: Address of the account's first identity., type: str}
                socket_type: {description: "C(plain), C(starttls) or C(tls).", type: str}
                auth_method: {description: "Authentication, e.g. C(password_cleartext), C(oauth2).", type: str}
                password_exposed: {description: The password crosses the network readable (no TLS and a password method)., type: bool}
                offline_download: {description: "IMAP: keep messages on this computer (effective value).", type: bool}
                sync_age_days: {description: "IMAP: days of mail kept offline; null = every age.", type: int}
                size_limit_kb: {description: "IMAP: larger messages are not kept offline; null = no limit.", type: int}
                folders_total: {description: "IMAP: folders that should be offline (all but Trash, Junk, virtual).", type: int}
                folders_offline: {description: "IMAP: of those, folders flagged for offline use.", type: int}
                folders_not_offline: {description: "IMAP: names of the folders not flagged.", type: list, elements: str}
                store_path: {description: Folder holding the account's mail on disk., type: str}
                store_bytes: {description: Bytes used by that folder., type: int}
                backup_ready: {description: "The account's mail is all on the workstation (null: not a mail account).", type: bool}
                problems: {description: Anything that kept a fact from being read., type: list, elements: str}
  sample:
    thunderbird:
      summary: {profiles: 1, accounts: 2, imap: 1, pop3: 0, imap_backup_ready: 0}
      errors: []
      profiles:
        - path: /home/alice/.thunderbird/k2x9.default-esr
          name: default-esr
          user: alice
          default: true
          running: false
          version: 153.8.0
          error: null
          status: unchanged
          accounts:
            - key: account1
              type: imap
              hostname: imap.ac-exemple.fr
              port: 993
              socket_type: tls
              auth_method: password_cleartext
              password_exposed: false
              offline_download: false
              sync_age_days: null
              size_limit_kb: null
              folders_total: 5
              folders_offline: 0
              store_bytes: 184320
              backup_ready: false
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.rectorat.thunderbird.plugins.module_utils import autoconfig_io, collect, workflow
from ansible_collections.rectorat.thunderbird.plugins.module_utils.module_result import exit_with, run_or_fail

ARGUMENT_SPEC = dict(
    users=dict(type='list', elements='str'),
    profiles=dict(type='list', elements='path'),
    install_dirs=dict(type='list', elements='path'),
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    result = run_or_fail(module, 'thunderbird_info', workflow.run, params=module.params, enforce=False,
                         check_mode=True, collect_fn=collect.collect, commit_fn=None)
    result['ansible_facts']['thunderbird']['installations'] = autoconfig_io.describe_all(
        module.params.get('install_dirs'))
    exit_with(module, result)


if __name__ == '__main__':
    main()
