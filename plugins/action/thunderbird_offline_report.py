# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""thunderbird_offline_report: the role's fleet report, built once and
written on the controller by Ansible's worker (no module run, no transfer)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import os
import tempfile

from ansible.plugins.action import ActionBase

from ansible_collections.rectorat.thunderbird.plugins.plugin_utils import report

FILES = (("csv", "thunderbird_offline.csv"), ("html", "thunderbird_offline.html"))
FILE_MODE = 0o640

ARGUMENT_SPEC = {
    "path": {"type": "path", "required": True},
    "check_mode": {"type": "bool", "default": False},
    "result_var": {"type": "str", "default": "thunderbird_offline_result"},
    "autoconfig_var": {"type": "str", "default": "thunderbird_offline_autoconfig_result"},
}


def write_atomically(path, text):
    """``text`` (UTF-8) at ``path`` via a temp file renamed over it: a reader
    never sees half a report."""
    folder = os.path.dirname(path)
    handle, temp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".")
    try:
        with os.fdopen(handle, "wb") as f:
            f.write(text.encode("utf-8"))
            os.fchmod(f.fileno(), FILE_MODE)
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        task_vars = task_vars or {}
        _spec, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        folder = os.path.realpath(args["path"])
        entries = report.entries_from_hostvars(task_vars["hostvars"], task_vars["ansible_play_hosts_all"],
                                               task_vars["ansible_play_hosts"], args["result_var"],
                                               args["autoconfig_var"])
        generated = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        built = report.build(entries, check_mode=args["check_mode"], generated=generated)
        paths = dict((key, os.path.join(folder, name)) for key, name in FILES)
        result.update(changed=False, csv=paths["csv"], html=paths["html"], counts=built["counts"])
        if self._task.check_mode:
            result["msg"] = "check mode: the report was not written"
            return result
        try:
            os.makedirs(folder, exist_ok=True)
            for key, _name in FILES:
                write_atomically(paths[key], built[key])
        except OSError as exc:
            result.update(failed=True, msg="cannot write the report in %s: %s" % (folder, exc))
        return result
