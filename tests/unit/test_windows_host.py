"""plugin_utils/windows_host.py: how a Windows host is told what to run and
how its answer is read (the whole flow is in tests/windows)."""

import base64
import json

import pytest

from ansible.errors import AnsibleActionFail
from ansible.plugins.loader import shell_loader

from ansible_collections.rectorat.thunderbird.plugins.plugin_utils import windows_host as wh
from ansible_collections.rectorat.thunderbird.plugins.modules.thunderbird_offline import ARGUMENT_SPEC


class FakeConnection:
    def __init__(self, shell):
        self._shell = shell_loader.get(shell)


@pytest.mark.parametrize("shell, expected", [("powershell", True), ("cmd", True), ("sh", False)])
def test_windows_is_told_by_the_shell(shell, expected):
    assert wh.is_windows(FakeConnection(shell)) is expected


def test_command_is_the_encoded_bootstrap_and_fits_the_windows_limit():
    command = wh.encoded_command()
    words = command.split(" ")
    assert words[:-1] == ["PowerShell", "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Unrestricted",
                          "-EncodedCommand"]
    assert base64.b64decode(words[-1]).decode("utf-16-le") == wh.BOOTSTRAP
    assert len(command) < 8191


def test_payload_carries_script_and_request_as_two_ascii_lines():
    script = wh.load_script("collect")
    request = {"users": [u"\u00e9lodie"], "profiles": None}
    lines = wh.stdin_payload(script, request).decode("ascii").split("\n")
    assert lines[2] == "" and len(lines) == 3
    assert base64.b64decode(lines[0]) == script
    assert json.loads(base64.b64decode(lines[1]).decode("utf-8")) == request


def test_large_request_is_cut_into_bounded_lines_that_join_back():
    script = wh.load_script("commit")
    request = {"files": [{"data": "x" * (3 * wh.STDIN_LINE_LIMIT)}]}
    lines = wh.stdin_payload(script, request).split(b"\n")
    assert lines[-1] == b"" and base64.b64decode(lines[0]) == script
    chunks = lines[1:-1]
    assert len(chunks) == 5 and all(len(line) <= wh.STDIN_LINE_LIMIT for line in lines)
    assert json.loads(base64.b64decode(b"".join(chunks)).decode("utf-8")) == request


def test_script_too_long_for_one_line_is_refused():
    with pytest.raises(ValueError, match="too long for one stdin line"):
        wh.stdin_payload(b"x" * (wh.STDIN_LINE_LIMIT // 4 * 3 + 1), {})


def answer(response, noise="Windows PowerShell\r\nCopyright\r\n"):
    line = wh.RESPONSE_MARKER + base64.b64encode(json.dumps(response).encode("utf-8")).decode()
    return {"rc": 0, "stdout": noise + line + "\r\n", "stderr": ""}


def test_response_is_found_among_other_output():
    response = {"protocol": 1, "os": "windows", "sep": "\\", "errors": [], "roots": [],
                "profiles": [{"path": u"C:\\Users\\\u00e9lodie"}]}
    assert wh.parse_response("collect", answer(response)) == response


def test_fatal_answer_fails_the_task_with_the_script_message():
    with pytest.raises(AnsibleActionFail, match="collect.ps1 failed on the host: collect.ps1 line 12: boom"):
        wh.parse_response("collect", answer({"protocol": 1, "fatal": "collect.ps1 line 12: boom"}))


def test_other_protocol_is_refused():
    with pytest.raises(AnsibleActionFail, match="protocol 2"):
        wh.parse_response("commit", answer({"protocol": 2, "profiles": []}))


def test_no_answer_reports_the_powershell_error_text():
    clixml = ('#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
              '<S S="Error">Cannot load &quot;System.Web&quot;_x000D__x000A_</S>'
              '<S S="Error">At line:1 char:1_x000D__x000A_</S></Objs>')
    with pytest.raises(AnsibleActionFail) as failure:
        wh.parse_response("commit", {"rc": 1, "stdout": "", "stderr": clixml})
    message = str(failure.value)
    assert "commit.ps1 did not run on the host (rc=1)" in message
    assert 'Cannot load "System.Web"' in message and "CLIXML" not in message


def test_windows_spec_takes_paths_as_given_and_keeps_the_module_spec():
    spec = wh.windows_argument_spec(ARGUMENT_SPEC)
    path_lists = ("profiles", "install_dirs")
    for name in path_lists:
        assert spec[name] == dict(ARGUMENT_SPEC[name], elements="str")
        assert ARGUMENT_SPEC[name]["elements"] == "path"
    assert dict((k, v) for k, v in spec.items() if k not in path_lists) == \
        dict((k, v) for k, v in ARGUMENT_SPEC.items() if k not in path_lists)


def test_host_runs_one_command_per_script():
    sent = []

    def execute(command, in_data):
        sent.append((command, in_data))
        name = "collect" if base64.b64decode(in_data.split(b"\n")[0]) == wh.load_script("collect") else "commit"
        return answer({"protocol": 1, "script": name})

    host = wh.PowerShellHost(execute)
    assert host.collect({"protocol": 1})["script"] == "collect"
    assert host.commit({"protocol": 1})["script"] == "commit"
    assert len(sent) == 2 and all(command == wh.encoded_command() for command, dummy in sent)
