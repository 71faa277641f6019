# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""mark_unreachable: give back to Ansible a host that a task found
unreachable under ``ignore_unreachable`` (see the module's documentation)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False  # the point: the host is not contacted again
    _VALID_ARGS = frozenset(("result",))

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        _spec, args = self.validate_argument_spec(argument_spec={"result": {"type": "dict", "required": True}})
        registered = args["result"]
        result["changed"] = False
        if registered.get("unreachable"):
            result["unreachable"] = True
            result["msg"] = registered.get("msg") or "the host was unreachable"
        return result
