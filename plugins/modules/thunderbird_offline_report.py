#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: thunderbird_offline_report
short_description: Write the fleet report of thunderbird_offline (CSV and HTML) on the controller
version_added: 0.2.0
description:
  - Builds, once, the report of every host of the play from the results that
    M(rectorat.thunderbird.thunderbird_offline) registered, and writes
    C(thunderbird_offline.csv) and C(thunderbird_offline.html) in O(path) on the controller
    (each replaced as a whole, mode C(0640); the folder is created if needed).
  - The hosts are those of the play (C(ansible_play_hosts_all)); a host without a result is
    reported as unreachable, or as not run while it is still in the play
    (C(ansible_play_hosts)). The content is that of the
    P(rectorat.thunderbird.offline_report#filter) filter; the columns are described in the
    README of the role C(rectorat.thunderbird.thunderbird_offline), which calls this action
    once per run.
  - Runs on the controller only, in Ansible's own worker process; never contacts a host. Reports
    C(changed=false), since the report is an output of the run, not a state of the hosts.
author:
  - Rectorat IT (@rectorat)
options:
  path:
    description:
      - Folder on the controller where the two files are written.
    type: path
    required: true
  check_mode:
    description:
      - Whether the run being reported is a check-mode run; the report is then marked as a
        simulation and its statuses read C(would_change).
      - "This is about the content; to write the report during a C(--check) run, give the task
        C(check_mode: false)."
    type: bool
    default: false
  result_var:
    description:
      - Name of the variable holding each host's registered result.
    type: str
    default: thunderbird_offline_result
  autoconfig_var:
    description:
      - Name of the variable holding each host's registered
        M(rectorat.thunderbird.thunderbird_autoconfig) result, from which the
        report counts the installations the at-start hook covers.
    type: str
    default: thunderbird_offline_autoconfig_result
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: In check mode nothing is written; the counts are returned.
  diff_mode:
    support: none
  platform:
    platforms: all
seealso:
  - module: rectorat.thunderbird.thunderbird_offline
  - plugin: rectorat.thunderbird.offline_report
    plugin_type: filter
'''

EXAMPLES = r'''
- name: Report of every host of the play
  rectorat.thunderbird.thunderbird_offline_report:
    path: /srv/rapports/thunderbird
    check_mode: "{{ ansible_check_mode }}"
  run_once: true
  check_mode: false
  register: fleet_report
'''

RETURN = r'''
csv:
  description: Path of the CSV file.
  returned: always
  type: str
  sample: /srv/rapports/thunderbird/thunderbird_offline.csv
html:
  description: Path of the HTML page.
  returned: always
  type: str
  sample: /srv/rapports/thunderbird/thunderbird_offline.html
counts:
  description: Counts per category, as on the page (each a plain count of CSV lines).
  returned: always
  type: dict
  sample: {hosts: 3, profiles: 5, accounts: 6, pop: 1, imap_ready: 2, imap_fixed: 2,
           imap_pending_running: 1, imap_not_ready: 0, password_exposed: 1, errors: 1, unreachable: 1}
'''
