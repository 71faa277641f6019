# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""thunderbird_autoconfig: the module on Linux hosts; on Windows hosts the
plan on the controller and autoconfig.ps1 on the host (see
plugin_utils/windows_autoconfig.py)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleActionFail

from ansible_collections.rectorat.thunderbird.plugins.modules.thunderbird_autoconfig import ARGUMENT_SPEC
from ansible_collections.rectorat.thunderbird.plugins.plugin_utils.windows_host import (
    PowerShellHost, ThunderbirdAction, display, windows_argument_spec)


class ActionModule(ThunderbirdAction):
    ENFORCE = True
    ARGUMENT_SPEC = ARGUMENT_SPEC

    def run_windows(self):
        # Imported here: Linux hosts never need the plan on the controller.
        from ansible_collections.rectorat.thunderbird.plugins.module_utils import autoconfig_flow
        from ansible_collections.rectorat.thunderbird.plugins.plugin_utils import windows_autoconfig

        if self._task.async_val:
            raise AnsibleActionFail("async is not supported for Windows hosts by %s" % self._task.action)
        dummy, params = self.validate_argument_spec(argument_spec=windows_argument_spec(self.ARGUMENT_SPEC))
        if self._play_context.become:
            display.warning("become is ignored for Windows hosts by %s: connect with an administrator account"
                            % self._task.action)
        result = autoconfig_flow.run(params, self._flag("check_mode"), diff=self._flag("diff"),
                                     runner=windows_autoconfig.runner(PowerShellHost(self.execute_on_host)))
        if not result["warnings"]:
            del result["warnings"]
        return result
