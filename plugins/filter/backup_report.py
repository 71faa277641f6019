# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter ``backup_report``: the thunderbird_backup role's fleet report."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.rectorat.thunderbird.plugins.plugin_utils import backup_report as report


def backup_report(hostvars, hosts_all, hosts_active=None, check_mode=False, generated="",
                  result_var="thunderbird_backup_result"):
    """Rows, counts, CSV and HTML of the report over ``hosts_all``."""
    if not isinstance(hosts_all, (list, tuple)):
        raise AnsibleFilterError("backup_report: hosts_all must be a list of host names")
    active = set(hosts_active if hosts_active is not None else hosts_all)
    entries = []
    for host in hosts_all:
        try:
            result = hostvars[host].get(result_var)
        except KeyError:
            result = None
        result = result if isinstance(result, dict) else None
        entries.append({"host": str(host), "state": report.classify_host(result, host in active), "result": result})
    return report.build(entries, check_mode=bool(check_mode), generated=str(generated or ""))


class FilterModule(object):
    def filters(self):
        return {"backup_report": backup_report}
