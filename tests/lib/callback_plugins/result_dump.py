"""Test helper: append every task result, as JSON, to $RESULT_DUMP."""

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = '''
name: result_dump
type: aggregate
short_description: write task results to the file named by RESULT_DUMP
requirements: [enable in configuration]
'''


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'result_dump'
    CALLBACK_NEEDS_ENABLED = True

    def _dump(self, result, outcome):
        path = os.environ.get("RESULT_DUMP")
        if not path:
            return
        record = {"host": result.host.get_name(), "task": result.task.get_name(), "outcome": outcome,
                  "result": self._strip(result.result)}
        with open(path, "a") as f:
            f.write(json.dumps(record, default=str) + "\n")

    @staticmethod
    def _strip(res):
        return dict((k, v) for k, v in dict(res).items() if not k.startswith("_ansible_"))

    def v2_runner_on_ok(self, result):
        self._dump(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._dump(result, "failed")

    def v2_runner_on_unreachable(self, result):
        self._dump(result, "unreachable")

    def v2_runner_on_skipped(self, result):
        self._dump(result, "skipped")
