# -*- coding: utf-8 -*-
"""What a Windows workstation does with a command line and its stdin, for
the collection's commands only: cmd.exe starts ``PowerShell -EncodedCommand``,
which runs the bootstrap of plugin_utils/windows_host.py, which runs the
script read from stdin with the request read from stdin.

PowerShell cannot run here, so the script must be one the tests know byte
for byte (collect.ps1 and commit.ps1, or one given in ``scripts``) and its
Python twin answers instead. Anything else fails as on a host that does not
know the command. Free of any transport, so that the fake connection plugin
(tests/windows/connection_plugins/fakewin.py) can use it as well.
"""

import base64
import json
import os
import shlex
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "windows"))
import twin  # noqa: E402  (tests/windows, shared with the fake connection)

# The bootstrap whose PowerShell semantics run_bootstrap models, as text:
# a change to windows_host.BOOTSTRAP must come with a change to the model.
MODELLED_BOOTSTRAP = (
    "$ErrorActionPreference = 'Stop'\n"
    "$ProgressPreference = 'SilentlyContinue'\n"
    "$parts = @(@($input) -join ' ' -split '\\s+' | Where-Object { $_ })\n"
    "$script = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($parts[0]))\n"
    "& ([ScriptBlock]::Create($script)) ($parts[1..($parts.Count - 1)] -join '')\n"
)

# cmd.exe refuses longer command lines (ERROR_FILENAME_EXCED_RANGE).
MAX_COMMAND_LINE = 8191
CMD_TOO_LONG = b"The command line is too long.\r\n"


class Outcome:
    def __init__(self, rc, stdout=b"", stderr=b"", script=None, request=None):
        self.rc, self.stdout, self.stderr = rc, stdout, stderr
        self.script, self.request = script, request


def windows_host():
    from ansible_collections.rectorat.thunderbird.plugins.plugin_utils import windows_host as module
    return module


def collection_scripts():
    """{script bytes: twin} for collect.ps1, commit.ps1, backup.ps1 and autoconfig.ps1."""
    host = windows_host()
    return dict((host.load_script(name), (name, lambda root, request, name=name: twin.run_script(root, name, request)))
                for name in ("collect", "commit", "backup", "autoconfig"))


def run(root, command_line, stdin, scripts=None):
    """Outcome of ``command_line`` fed ``stdin`` (bytes) on the computer
    ``root``. ``scripts`` adds {script bytes: (name, twin(root, request))}."""
    host = windows_host()
    if len(command_line) > MAX_COMMAND_LINE:
        return Outcome(1, stderr=CMD_TOO_LONG)
    words = shlex.split(command_line)
    expected = host.COMMAND_PREFIX.split()
    if words[:len(expected)] != expected or len(words) != len(expected) + 1:
        return Outcome(1, stderr=b"not the collection's PowerShell command line: " + command_line.encode()[:200])
    try:
        bootstrap = base64.b64decode(words[-1], validate=True).decode("utf-16-le")
    except (ValueError, UnicodeDecodeError):
        return Outcome(1, stderr=b"-EncodedCommand is not base64 of UTF-16LE")
    return run_bootstrap(root, bootstrap, stdin, scripts)


def run_bootstrap(root, bootstrap, stdin, scripts=None):
    """Outcome of the PowerShell script ``bootstrap`` fed ``stdin``: what
    powershell.exe does over WinRS, and the runspace over PSRP."""
    host = windows_host()
    known = collection_scripts()
    known.update(scripts or {})
    if bootstrap != MODELLED_BOOTSTRAP:
        return Outcome(1, stderr=b"not the collection's bootstrap (MODELLED_BOOTSTRAP)")
    try:
        payload = stdin.decode("ascii")
    except UnicodeDecodeError:
        return Outcome(1, stderr=b"stdin is not ASCII; a Windows code page would garble it")
    # What the bootstrap does: join the input lines, split on white space;
    # the first part is the script, the others joined (-join '') the request.
    parts = [p for p in " ".join(payload.splitlines()).split() if p]
    if not parts:
        # $parts[0] of an empty array is $null, which PowerShell passes to a
        # .NET [string] parameter as '': FromBase64String('') is no bytes, the
        # script empty, and it runs without a word (rc 0, no output).
        return Outcome(0)
    found = known.get(base64.b64decode(parts[0]))
    if found is None:
        return Outcome(1, stderr=b"the script on stdin is not one this host knows")
    name, script_twin = found
    # $parts[1..($parts.Count - 1)]: with one part, 1..0 counts down and
    # $parts[1] is nothing, so the request is the script's own line.
    request_b64 = "".join(parts[1:]) if len(parts) > 1 else parts[0]
    request = None
    try:
        request = json.loads(base64.b64decode(request_b64).decode("utf-8"))
    except ValueError as exc:
        # The script's reader (JavaScriptSerializer) throws inside its try: a fatal answer.
        response = {"protocol": 1, "fatal": "%s.ps1: Invalid JSON primitive (%s)" % (name, exc)}
    else:
        response = script_twin(root, request)
    line = host.RESPONSE_MARKER + base64.b64encode(json.dumps(response).encode("utf-8")).decode("ascii")
    return Outcome(0, stdout=line.encode("ascii") + b"\r\n", script=name, request=request)
