# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How the profile modules hand their result to Ansible: the same for
thunderbird_info, thunderbird_offline and thunderbird_backup."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import traceback


def run_or_fail(module, name, run, **kwargs):
    """``run(**kwargs)``; an exception that escapes it fails the task with a
    clear msg (each profile's failure is kept to that profile: this is only
    the last resort)."""
    try:
        return run(**kwargs)
    except Exception as exc:  # pylint: disable=broad-except
        module.fail_json(msg='%s could not run: %s: %s' % (name, type(exc).__name__, exc),
                         exception=traceback.format_exc())


def exit_with(module, result):
    """Ansible warnings from ``result['warnings']``; fail_json when
    ``result['failed']``, else exit_json."""
    for warning in result.pop('warnings'):
        module.warn(warning)
    if result.pop('failed', False):
        module.fail_json(**result)
    module.exit_json(**result)
