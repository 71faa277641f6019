# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter ``offline_report``: the thunderbird_offline role's fleet report."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.rectorat.thunderbird.plugins.plugin_utils import report


def offline_report(hostvars, hosts_all, hosts_active=None, check_mode=False, generated="",
                   result_var="thunderbird_offline_result",
                   autoconfig_var="thunderbird_offline_autoconfig_result"):
    """Rows, counts, CSV and HTML of the report over ``hosts_all``."""
    if not isinstance(hosts_all, (list, tuple)):
        raise AnsibleFilterError("offline_report: hosts_all must be a list of host names")
    entries = report.entries_from_hostvars(hostvars, hosts_all, hosts_active, result_var, autoconfig_var)
    return report.build(entries, check_mode=bool(check_mode), generated=str(generated or ""))


class FilterModule(object):
    def filters(self):
        return {"offline_report": offline_report}
