# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""thunderbird_info: the module on Linux hosts, the plan on the controller
for Windows hosts (see plugin_utils/windows_host.py; the installations from
plugin_utils/windows_autoconfig.py)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.rectorat.thunderbird.plugins.modules.thunderbird_info import ARGUMENT_SPEC
from ansible_collections.rectorat.thunderbird.plugins.plugin_utils.windows_host import ThunderbirdAction


class ActionModule(ThunderbirdAction):
    ENFORCE = False
    ARGUMENT_SPEC = ARGUMENT_SPEC

    def after_profiles(self, result, host, params, check_mode):
        from ansible_collections.rectorat.thunderbird.plugins.plugin_utils import windows_autoconfig

        facts = (result.get("ansible_facts") or {}).get("thunderbird")
        if facts is not None:
            facts["installations"] = windows_autoconfig.describe_all(host, params.get("install_dirs"))
