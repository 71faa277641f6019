# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The at-start hook over every installation of a host, as a module result:
what ``thunderbird_autoconfig`` returns, and what ``thunderbird_offline``
adds with ``at_start: true`` (the same work in the same module run, which
saves a second run per workstation). Linux hosts run it in the module,
Windows hosts in the action plugin with the Windows runner."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.rectorat.thunderbird.plugins.module_utils import autoconfig, autoconfig_io

HOOK_OPTIONS = ("install_dirs", "servers", "sync_age_days", "size_limit_kb")


def summary(installations):
    counts = {}
    for item in installations:
        counts[item["status"]] = counts.get(item["status"], 0) + 1
    if not installations:
        return "no Thunderbird installation found"
    return ", ".join("%d %s" % (n, status) for status, n in sorted(counts.items()))


def run(params, check_mode, diff=False, runner=autoconfig_io.run):
    """dict(changed, installations, msg, warnings[, diff]) for ``params``
    (the options of ``thunderbird_autoconfig``). ``runner(params,
    check_mode)`` gives (records, diffs): ``autoconfig_io.run`` on the host
    itself, ``windows_autoconfig.run`` bound to a Windows host on the
    controller."""
    records, diffs = runner(params, check_mode)
    installations = [autoconfig.public(r) for r in records]
    warnings = ["%s: %s: %s" % (i["path"], i["status"], i["message"])
                for i in installations if i["status"] in ("conflict", "error")]
    result = dict(changed=any(i["status"] == "changed" for i in installations),
                  installations=installations, msg=summary(installations), warnings=warnings)
    if diff and diffs:
        result["diff"] = diffs
    return result


def present_params(params):
    """The hook's options from ``thunderbird_offline``'s: present, never
    locked nor chained (``thunderbird_autoconfig`` offers those)."""
    hook = dict((name, params.get(name)) for name in HOOK_OPTIONS)
    hook.update(state="present", lock=False, chain=False)
    return hook


def add_hook(result, params, check_mode, diff=False, runner=autoconfig_io.run):
    """The at-start hook's result folded into ``thunderbird_offline``'s
    (``params`` are its options): whatever became of the profiles, the
    installations get the hook."""
    hook = run(present_params(params), check_mode, diff=diff, runner=runner)
    result["installations"] = hook["installations"]
    result["changed"] = bool(result.get("changed")) or hook["changed"]
    result.setdefault("warnings", []).extend(hook["warnings"])
    if hook.get("diff"):
        result["diff"] = (result.get("diff") or []) + hook["diff"]
    return result
