#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: mark_unreachable
short_description: Mark a host unreachable again after a task that ignored it
version_added: 0.2.0
description:
  - Under C(ignore_unreachable), a host that cannot be reached stays in the play, counts as
    C(ok)/C(ignored) in the recap and no longer makes C(ansible-playbook) exit non-zero.
    This action, given the result registered by that task, gives the host back the status
    Ansible would have given it, without contacting it again. It is unreachable in the
    recap, leaves the rest of the play, and C(ansible-playbook) exits non-zero (4 when no
    host failed), as without C(ignore_unreachable).
  - The role C(rectorat.thunderbird.thunderbird_offline) uses it so that its report is
    written even when every host of the play (or of a C(serial) batch) is unreachable;
    Ansible ends the play, and skips every later play, as soon as no host is left.
  - A host whose registered result is not unreachable is left as it is (C(ok)).
  - Runs on the controller only.
author:
  - Rectorat IT (@rectorat)
options:
  result:
    description:
      - The result registered by the task that ran with C(ignore_unreachable).
    type: dict
    required: true
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: all
'''

EXAMPLES = r'''
- name: Read the workstation's Thunderbird profiles; a switched-off one stays in the play
  rectorat.thunderbird.thunderbird_info:
  register: info
  ignore_unreachable: true

- name: Something every host of the play must reach, reachable or not
  ansible.builtin.debug:
    msg: "{{ ansible_play_hosts | length }} hosts in the play"
  run_once: true

- name: Hosts found unreachable leave the play, unreachable in the recap
  rectorat.thunderbird.mark_unreachable:
    result: "{{ info }}"
  when: info.unreachable | default(false)
'''

RETURN = r'''
msg:
  description: The message of the registered unreachable result.
  returned: when the host is marked unreachable
  type: str
  sample: "Failed to connect to the host via ssh: ssh: connect to host 192.0.2.7 port 22: Connection timed out"
'''
