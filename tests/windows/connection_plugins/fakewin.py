# -*- coding: utf-8 -*-
"""A Windows host for tests: a real connection plugin with the powershell (or
cmd) shell whose commands are not run by PowerShell but checked and handed to
the Python twin of the scripts (tests/windows/twin.py).

It accepts only what the action plugin must send: the encoded bootstrap of
plugin_utils/windows_host.py, with, on stdin, one of the collection's
scripts (collect, commit, backup) behind the prelude (powershell/prelude.ps1), byte for byte, and a
JSON request. Anything else fails, as it would
on a real host. Each command is logged (one JSON line) to ``fakewin_log``.
"""

from __future__ import annotations

import base64
import json
import os
import shlex
import sys

from ansible.errors import AnsibleError
from ansible.plugins.connection import ConnectionBase

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import twin  # noqa: E402  (tests/windows, put on the path just above)

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
        from ansible_collections.rectorat.thunderbird.plugins.plugin_utils import windows_host

        if len(cmd) > 8191:
            return 1, b"", b"fakewin: command line longer than Windows accepts (8191)"
        words = shlex.split(cmd)
        expected = windows_host.COMMAND_PREFIX.split()
        if words[:len(expected)] != expected or len(words) != len(expected) + 1:
            return 1, b"", b"fakewin: not the expected PowerShell command line: " + cmd.encode()[:200]
        bootstrap = base64.b64decode(words[-1]).decode("utf-16-le")
        if bootstrap != windows_host.BOOTSTRAP:
            return 1, b"", b"fakewin: unknown bootstrap"
        try:
            payload = (in_data or b"").decode("ascii")
        except UnicodeDecodeError:
            return 1, b"", b"fakewin: stdin is not ASCII; a Windows code page would garble it"
        # What the bootstrap does: join the input lines, split on white space.
        parts = [p for p in " ".join(payload.splitlines()).split() if p]
        if len(parts) < 2:
            return 1, b"", b"fakewin: stdin lacks the script or the request"
        script = base64.b64decode(parts[0])
        name = next((n for n in ("collect", "commit", "backup") if windows_host.load_script(n) == script), None)
        if name is None:
            return 1, b"", b"fakewin: the script is not one of the collection's"
        request = json.loads(base64.b64decode(parts[1]).decode("utf-8"))
        response = twin.run_script(self.get_option("root"), name, request)
        self._log(name, request, len(cmd), len(in_data))
        line = windows_host.RESPONSE_MARKER + base64.b64encode(json.dumps(response).encode("utf-8")).decode()
        return 0, line.encode("ascii") + b"\r\n", b""

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
