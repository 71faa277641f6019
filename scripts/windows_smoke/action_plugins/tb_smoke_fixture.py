# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs scripts/windows_smoke/fixture.ps1 on a Windows host exactly as the
collection runs collect.ps1: the encoded bootstrap, with the script and the
request on stdin (plugin_utils/windows_host.py). Arguments: the request."""

import os

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.rectorat.thunderbird.plugins.plugin_utils import windows_host

SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixture.ps1")


class ActionModule(ActionBase):
    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        if not windows_host.is_windows(self._connection):
            raise AnsibleActionFail("windows-smoke is for Windows hosts (winrm or psrp connection)")
        with open(SCRIPT, "rb") as f:
            script = f.read()
        request = dict(self._task.args)
        outcome = self._low_level_execute_command(windows_host.encoded_command(), sudoable=False,
                                                  in_data=windows_host.stdin_payload(script, request))
        result.update(windows_host.parse_response("fixture", outcome))
        result["changed"] = request.get("action") in ("create", "remove")
        return result
