"""The bootstrap of plugin_utils/windows_host.py and its model in
powershell_host.run_bootstrap: the same answer for every shape of input,
the ones the collection never sends included.

The bootstrap's last line passes ``($parts[1..($parts.Count - 1)] -join '')``.
In PowerShell ``1..0`` counts down (1, 0), and an index past the end gives
nothing: with the script's line alone on the input, the request is that
line again, so the script runs and answers "fatal" (its JSON reader refuses
a script); with no input at all, $parts[0] is $null, which PowerShell
passes to FromBase64String's [string] parameter as '' (not null): no bytes,
an empty script that runs and says nothing.
"""

import base64
import json

import pytest
from ansible.errors import AnsibleActionFail

import powershell_host

REQUEST = {"protocol": 1, "users": None, "profiles": None, "root_candidates": []}


def host():
    return powershell_host.windows_host()


def run(tmp_path, stdin):
    return powershell_host.run_bootstrap(str(tmp_path), host().BOOTSTRAP, stdin)


def answer(outcome):
    return host().parse_response("collect", {"rc": outcome.rc, "stdout": outcome.stdout.decode("ascii"),
                                             "stderr": outcome.stderr.decode("utf-8")})


def test_the_collection_always_sends_the_script_and_at_least_one_request_line():
    for request in ({}, REQUEST):
        lines = host().stdin_payload(host().load_script("collect"), request).split()
        assert len(lines) >= 2


def test_script_and_request_run(tmp_path):
    outcome = run(tmp_path, host().stdin_payload(host().load_script("collect"), REQUEST))
    assert outcome.rc == 0 and answer(outcome)["os"] == "windows"


def test_the_script_line_alone_is_taken_as_the_request_too(tmp_path):
    script_line = base64.b64encode(host().load_script("collect")) + b"\n"
    outcome = run(tmp_path, script_line)
    assert outcome.rc == 0
    assert outcome.stdout.startswith(host().RESPONSE_MARKER.encode("ascii"))
    response = json.loads(base64.b64decode(outcome.stdout.split()[1]))
    assert response["protocol"] == 1 and "collect.ps1" in response["fatal"]
    with pytest.raises(AnsibleActionFail, match="failed on the host"):
        answer(outcome)


@pytest.mark.parametrize("stdin", [b"", b"\n \r\n"])
def test_no_input_runs_an_empty_script_that_says_nothing(tmp_path, stdin):
    outcome = run(tmp_path, stdin)
    assert (outcome.rc, outcome.stdout, outcome.stderr) == (0, b"", b"")
    with pytest.raises(AnsibleActionFail, match=r"did not run on the host \(rc=0\): no output"):
        answer(outcome)
