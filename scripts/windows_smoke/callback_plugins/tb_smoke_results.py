# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Appends each task's result, as one JSON line, to $TB_SMOKE_RESULTS."""

import json
import os

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "tb_smoke_results"
    CALLBACK_NEEDS_ENABLED = True

    def record(self, result, status):
        with open(os.environ["TB_SMOKE_RESULTS"], "a") as f:
            f.write(json.dumps({"task": result._task.get_name(), "status": status,
                                "result": result._result}, default=str) + "\n")

    def v2_runner_on_ok(self, result):
        self.record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self.record(result, "failed")

    def v2_runner_on_unreachable(self, result):
        self.record(result, "unreachable")

    def v2_runner_on_skipped(self, result):
        self.record(result, "skipped")
