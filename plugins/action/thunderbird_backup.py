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
    PowerShellHost, ThunderbirdAction, display, windows_argument_spec)


class ActionModule(ThunderbirdAction):
    ENFORCE = True
    ARGUMENT_SPEC = ARGUMENT_SPEC

    def run_windows(self):
        # Imported here: Linux hosts never need the decisions on the controller.
        from ansible_collections.rectorat.thunderbird.plugins.module_utils import backup_flow
        from ansible_collections.rectorat.thunderbird.plugins.plugin_utils.windows_backup import WindowsBackup

        if self._task.async_val:
            raise AnsibleActionFail("async is not supported for Windows hosts by %s" % self._task.action)
        dummy, params = self.validate_argument_spec(argument_spec=windows_argument_spec(self.ARGUMENT_SPEC))
        if params["keep"] < 1:
            raise AnsibleActionFail("keep must be at least 1: the newest good archive is always kept")
        if self._play_context.become:
            display.warning("become is ignored for Windows hosts by %s: connect with an administrator account"
                            % self._task.action)
        host = PowerShellHost(self.execute_on_host)
        result = backup_flow.run(params, self._flag("check_mode"), host.collect, os_family="windows",
                                 backup_many=WindowsBackup(host, params["compression"]))
        warnings = result.pop("warnings")
        if warnings:
            result["warnings"] = warnings
        if result.pop("failed", False):
            result["failed"] = True
        return result
