# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""thunderbird_autoconfig: the module on Linux hosts; on Windows hosts the
plan on the controller and autoconfig.ps1 on the host (see
plugin_utils/windows_autoconfig.py)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.rectorat.thunderbird.plugins.modules.thunderbird_autoconfig import ARGUMENT_SPEC
from ansible_collections.rectorat.thunderbird.plugins.plugin_utils.windows_host import (
    PowerShellHost, ThunderbirdAction, action_result)


class ActionModule(ThunderbirdAction):
    ENFORCE = True
    ARGUMENT_SPEC = ARGUMENT_SPEC

    def run_windows(self):
        # Imported here: Linux hosts never need the plan on the controller.
        from ansible_collections.rectorat.thunderbird.plugins.module_utils import autoconfig_flow
        from ansible_collections.rectorat.thunderbird.plugins.plugin_utils import windows_autoconfig

        params = self.windows_params()
        return action_result(autoconfig_flow.run(
            params, self._flag("check_mode"), diff=self._flag("diff"),
            runner=windows_autoconfig.runner(PowerShellHost(self.execute_on_host))))
