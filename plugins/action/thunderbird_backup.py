# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""thunderbird_backup: the module on Linux hosts; on Windows hosts the
decisions on the controller and the host's tar.exe (see
plugin_utils/windows_backup.py and powershell/backup.ps1)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleActionFail

from ansible_collections.rectorat.thunderbird.plugins.modules.thunderbird_backup import ARGUMENT_SPEC
from ansible_collections.rectorat.thunderbird.plugins.plugin_utils.windows_host import (
    PowerShellHost, ThunderbirdAction, action_result)


class ActionModule(ThunderbirdAction):
    ENFORCE = True
    ARGUMENT_SPEC = ARGUMENT_SPEC

    def run_windows(self):
        # Imported here: Linux hosts never need the decisions on the controller.
        from ansible_collections.rectorat.thunderbird.plugins.module_utils import backup_flow
        from ansible_collections.rectorat.thunderbird.plugins.plugin_utils.windows_backup import WindowsBackup

        params = self.windows_params()
        if params["keep"] < 1:
            raise AnsibleActionFail("keep must be at least 1: the newest good archive is always kept")
        host = PowerShellHost(self.execute_on_host)
        result = backup_flow.run(params, self._flag("check_mode"), host.collect, os_family="windows",
                                 backup_many=WindowsBackup(host, params["compression"]))
        return action_result(result)
