# -*- coding: utf-8 -*-
"""A Windows host for tests: a real connection plugin with the powershell (or
cmd) shell whose commands are not run by PowerShell but checked and handed to
the Python twin of the scripts (tests/windows/twin.py), by the same stand-in
for cmd.exe and powershell.exe as the WinRM test endpoint's
(tests/winrm/powershell_host.py).

It accepts only what the action plugin must send: the encoded bootstrap of
plugin_utils/windows_host.py, with, on stdin, one of the collection's
scripts (collect, commit, backup) behind the prelude (powershell/prelude.ps1), byte for byte, and a
JSON request. Anything else fails, as it would
on a real host. Each command is logged (one JSON line) to ``fakewin_log``.
"""

from __future__ import annotations

import json
import os
import sys

from ansible.errors import AnsibleError
from ansible.plugins.connection import ConnectionBase

TESTS = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TESTS, "winrm"))
import powershell_host  # noqa: E402  (tests/winrm, put on the path just above)

DOCUMENTATION = '''
name: fakewin
short_description: Windows host emulated by the Python twin of collect.ps1, commit.ps1 and backup.ps1
description:
  - Test connection; see tests/windows/twin.py.
options:
  root:
    description: Folder standing for the Windows computer (its C/ is C:\\).
    vars:
      - name: fakewin_root
  log:
    description: File to which each command run is appended as one JSON line.
    default: ''
    vars:
      - name: fakewin_log
'''


class Connection(ConnectionBase):
    transport = 'fakewin'
    has_pipelining = True
    allow_executable = False
    module_implementation_preferences = ('.ps1', '.exe', '')

    def __init__(self, *args, **kwargs):
        self._shell_type = 'powershell'
        super(Connection, self).__init__(*args, **kwargs)

    def _connect(self):
        self._connected = True
        return self

    def exec_command(self, cmd, in_data=None, sudoable=True):
        super(Connection, self).exec_command(cmd, in_data=in_data, sudoable=sudoable)
        outcome = powershell_host.run(self.get_option("root"), cmd, in_data or b"")
        if outcome.script:
            self._log(outcome.script, outcome.request, len(cmd), len(in_data or b""))
        return outcome.rc, outcome.stdout, outcome.stderr

    def _log(self, name, request, cmd_len, in_len):
        path = self.get_option("log")
        if path:
            with open(path, "a") as f:
                f.write(json.dumps({"host": self._play_context.remote_addr, "script": name,
                                    "command_chars": cmd_len, "stdin_bytes": in_len,
                                    "writes": sum(len(p.get("writes", [])) for p in request.get("profiles") or []
                                                  if isinstance(p, dict))}) + "\n")

    def put_file(self, in_path, out_path):
        raise AnsibleError("fakewin: put_file is not used by this collection")

    def fetch_file(self, in_path, out_path):
        raise AnsibleError("fakewin: fetch_file is not used by this collection")

    def close(self):
        self._connected = False
