# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter ``offline_report``: the thunderbird_offline role's fleet report."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.rectorat.thunderbird.plugins.module_utils import report


def _host_result(hostvars, host, result_var):
    try:
        host_vars = hostvars[host]
    except KeyError:
        return None
    if result_var not in host_vars:
        return None
    value = host_vars[result_var]
    return value if isinstance(value, dict) else None


def offline_report(hostvars, hosts_all, hosts_active=None, check_mode=False, generated="",
                   result_var="thunderbird_offline_result",
                   autoconfig_var="thunderbird_offline_autoconfig_result"):
    """Rows, counts, CSV and HTML of the report over ``hosts_all``."""
    if not isinstance(hosts_all, (list, tuple)):
        raise AnsibleFilterError("offline_report: hosts_all must be a list of host names")
    active = set(hosts_active if hosts_active is not None else hosts_all)
    entries = []
    for host in hosts_all:
        result = _host_result(hostvars, host, result_var)
        entries.append({"host": str(host), "state": report.classify_host(host, result, host in active),
                        "result": result,
                        "autoconfig": _host_result(hostvars, host, autoconfig_var)})
    return report.build(entries, check_mode=bool(check_mode), generated=str(generated or ""))


class FilterModule(object):
    def filters(self):
        return {"offline_report": offline_report}
