# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action plugins of thunderbird_info, thunderbird_offline and
thunderbird_backup (whose Windows side is in windows_backup.py).

Linux hosts run the module, once, as any module. Windows hosts cannot run
Python modules: there the plan (module_utils/workflow.py) runs on the
controller, and the host only collects and commits, through the connection
itself, with the two PowerShell scripts of powershell/ (at most two round
trips: collect, then commit when something must be written).

A script travels on stdin, not on the command line (which Windows limits to
8191 characters): the command is a short encoded bootstrap that reads base64
lines from its input, the script on the first line and the JSON request on
the following ones, and runs the one with the other. Over psrp each line is
one PowerShell input object, which Windows refuses above 10 MB
(MaximumReceivedObjectSizeMB), so no line is longer than STDIN_LINE_LIMIT
and the bootstrap rejoins the request's lines. The script sent is powershell/prelude.ps1 (the helpers
both scripts share, and the reading of the request and writing of the
response), a newline, then collect.ps1, commit.ps1 or backup.ps1: one script, whose
bytes the test connection compares with these files. The response comes back as one base64 line after
RESPONSE_MARKER, so that neither code page nor stray output can garble it.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import copy
import json
import os
import re

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible.utils.vars import merge_hash

display = Display()

PROTOCOL = 1
SCRIPT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "powershell")
RESPONSE_MARKER = "RECTORAT-TB-RESPONSE "
# Exactly the prefix that ansible's psrp connection recognises, so that it
# runs the decoded script in its runspace with our input as pipeline input.
COMMAND_PREFIX = "PowerShell -NoProfile -NonInteractive -ExecutionPolicy Unrestricted -EncodedCommand "
BOOTSTRAP = (
    "$ErrorActionPreference = 'Stop'\n"
    "$ProgressPreference = 'SilentlyContinue'\n"
    "$parts = @(@($input) -join ' ' -split '\\s+' | Where-Object { $_ })\n"
    "$script = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($parts[0]))\n"
    "& ([ScriptBlock]::Create($script)) ($parts[1..($parts.Count - 1)] -join '')\n"
)
# Longest stdin line, so that each psrp input object stays far below
# Windows' default 10 MB; a multiple of 4, so that each line is whole base64.
STDIN_LINE_LIMIT = 1024 * 1024


def is_windows(connection):
    """Whether the host speaks PowerShell (winrm and psrp, or ssh with the
    powershell or cmd shell). ansible-core >= 2.18 gives winrm the cmd shell."""
    shell = connection._shell
    return bool(getattr(shell, "_IS_WINDOWS", False)) or getattr(shell, "SHELL_FAMILY", None) in ("powershell", "cmd")


def read_script_file(name):
    with open(os.path.join(SCRIPT_DIR, name + ".ps1"), "rb") as f:
        return f.read()


def load_script(name):
    """The script sent to run ``name``: the prelude, then the script itself."""
    return read_script_file("prelude") + b"\n" + read_script_file(name)


def encoded_command(script=BOOTSTRAP):
    return COMMAND_PREFIX + base64.b64encode(script.encode("utf-16-le")).decode("ascii")


def stdin_payload(script, request):
    """The bootstrap's input: the script on one base64 line, then the
    request's base64 cut into lines of at most STDIN_LINE_LIMIT."""
    script_line = base64.b64encode(script)
    if len(script_line) > STDIN_LINE_LIMIT:
        raise ValueError("script of %d bytes is too long for one stdin line" % len(script))
    encoded = base64.b64encode(json.dumps(request).encode("utf-8"))
    request_lines = [encoded[i:i + STDIN_LINE_LIMIT] for i in range(0, len(encoded), STDIN_LINE_LIMIT)]
    return b"\n".join([script_line] + request_lines + [b""])


def clixml_text(stderr):
    """The error text of a CLIXML stderr (what powershell.exe prints on errors)."""
    if not stderr.lstrip().startswith("#< CLIXML"):
        return stderr
    text = "".join(re.findall(r'<S S="Error">(.*?)</S>', stderr, re.S))

    def unescape(match):
        return chr(int(match.group(1), 16))

    text = re.sub(r"_x([0-9A-Fa-f]{4})_", unescape, text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&").strip()


def parse_response(name, outcome):
    """The JSON response of script ``name`` from the command's rc/stdout/stderr."""
    for line in (outcome.get("stdout") or "").splitlines():
        if line.startswith(RESPONSE_MARKER):
            try:
                response = json.loads(base64.b64decode(line[len(RESPONSE_MARKER):].strip()).decode("utf-8"))
            except ValueError as exc:
                raise AnsibleActionFail("%s.ps1 answered something unreadable: %s" % (name, exc))
            if response.get("fatal"):
                raise AnsibleActionFail("%s.ps1 failed on the host: %s" % (name, response["fatal"]))
            if response.get("protocol") != PROTOCOL:
                raise AnsibleActionFail("%s.ps1 speaks protocol %r, not %d" % (name, response.get("protocol"), PROTOCOL))
            return response
    raise AnsibleActionFail("%s.ps1 did not run on the host (rc=%s): %s" % (
        name, outcome.get("rc"), clixml_text(outcome.get("stderr") or "")[:2000] or "no output"))


class PowerShellHost:
    """collect_fn and commit_fn of workflow.run for a Windows host;
    ``execute(command, in_data)`` runs one command through the connection."""

    def __init__(self, execute):
        self.execute = execute

    def run_script(self, name, request):
        outcome = self.execute(encoded_command(), stdin_payload(load_script(name), request))
        return parse_response(name, outcome)

    def collect(self, request):
        return self.run_script("collect", request)

    def commit(self, request):
        return self.run_script("commit", request)


def windows_argument_spec(spec):
    """The module's spec, with paths taken as given: ``path`` would expand
    ``~`` and ``$VAR`` on the controller, not on the Windows host."""
    spec = copy.deepcopy(spec)
    for option in spec.values():
        if option.get("type") == "path":
            option["type"] = "str"
        if option.get("elements") == "path":
            option["elements"] = "str"
    return spec


def action_result(result):
    """A flow's result as an action returns it: no empty ``warnings``,
    ``failed`` only when true."""
    if not result.get("warnings"):
        result.pop("warnings", None)
    if result.pop("failed", False):
        result["failed"] = True
    return result


class ThunderbirdAction(ActionBase):
    """Base of the two action plugins; subclasses set ENFORCE and ARGUMENT_SPEC."""

    ENFORCE = False
    ARGUMENT_SPEC = {}
    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp=None, task_vars=None):
        result = super(ThunderbirdAction, self).run(tmp, task_vars)
        del tmp
        if not is_windows(self._connection):
            wrap_async = self._task.async_val
            result = merge_hash(result, self._execute_module(task_vars=task_vars, wrap_async=wrap_async))
            if not wrap_async:
                self._remove_tmp_path(self._connection._shell.tmpdir)
            return result
        return merge_hash(result, self.run_windows())

    def _flag(self, name):
        value = getattr(self._task, name, None)
        if value is None:
            value = getattr(self._play_context, name, False)
        return bool(value)

    def run_windows(self):
        # Imported here: Linux hosts never need the plan on the controller.
        from ansible_collections.rectorat.thunderbird.plugins.module_utils import workflow

        params = self.windows_params()
        host = PowerShellHost(self.execute_on_host)
        check_mode = self._flag("check_mode") if self.ENFORCE else True
        result = workflow.run(params, enforce=self.ENFORCE, check_mode=check_mode,
                              collect_fn=host.collect, commit_fn=host.commit, os_family="windows",
                              diff=self._flag("diff"))
        self.after_profiles(result, host, params, check_mode)
        return action_result(result)

    def windows_params(self):
        """The task's options, validated as the module validates them;
        async is refused and become ignored (with a warning) on Windows."""
        if self._task.async_val:
            raise AnsibleActionFail("async is not supported for Windows hosts by %s" % self._task.action)
        dummy, params = self.validate_argument_spec(argument_spec=windows_argument_spec(self.ARGUMENT_SPEC))
        if self._play_context.become:
            display.warning("become is ignored for Windows hosts by %s: connect with an administrator account"
                            % self._task.action)
        return params

    def after_profiles(self, result, host, params, check_mode):
        """What the module does on Linux hosts once the profiles are done:
        with ``at_start``, autoconfig.ps1 puts the hook in the installations.
        thunderbird_info adds the installations it reports instead."""
        if not params.get("at_start"):
            return
        from ansible_collections.rectorat.thunderbird.plugins.module_utils import autoconfig_flow
        from ansible_collections.rectorat.thunderbird.plugins.plugin_utils import windows_autoconfig

        autoconfig_flow.add_hook(result, params, check_mode, diff=self._flag("diff"),
                                 runner=windows_autoconfig.runner(host))

    def execute_on_host(self, command, in_data):
        return self._low_level_execute_command(command, sudoable=False, in_data=in_data)
