"""The endpoint holds to what a default Windows WinRM listener enforces,
seen from pywinrm (the client Ansible's winrm plugin uses)."""

import base64

import pytest
import requests
import winrm
from winrm.exceptions import InvalidCredentialsError, WinRMTransportError

import powershell_host
import wsman

USER, PASSWORD = "tbadmin", "Wire-Test-1!"


@pytest.fixture
def endpoint(tmp_path):
    (tmp_path / "C").mkdir()
    with wsman.Endpoint(str(tmp_path), USER, PASSWORD) as ep:
        yield ep


def protocol(endpoint, password=PASSWORD, encryption="auto"):
    return winrm.Protocol("http://127.0.0.1:%d/wsman" % endpoint.port, transport="ntlm", username=USER,
                          password=password, message_encryption=encryption)


def run(proto, command, stdin=None):
    shell = proto.open_shell(codepage=65001)
    command_id = proto.run_command(shell, command, console_mode_stdin=stdin is None)
    if stdin is not None:
        proto.send_command_input(shell, command_id, stdin, end=True)
    outcome = proto.get_command_output(shell, command_id)
    proto.cleanup_command(shell, command_id)
    proto.close_shell(shell)
    return outcome


def test_wrong_password_is_rejected(endpoint):
    with pytest.raises(InvalidCredentialsError):
        protocol(endpoint, password="nope").open_shell()


def test_unencrypted_soap_is_refused_over_http(endpoint):
    with pytest.raises(InvalidCredentialsError):
        protocol(endpoint, encryption="never").open_shell()


def test_messages_on_the_wire_are_sealed(endpoint):
    body = b"<s:Envelope/>"
    answer = requests.post("http://127.0.0.1:%d/wsman" % endpoint.port, data=body,
                           headers={"Content-Type": "application/soap+xml;charset=UTF-8"})
    assert answer.status_code == 401 and answer.headers["WWW-Authenticate"] == "Negotiate"


def test_unknown_command_fails_with_its_exit_code_in_command_state(endpoint):
    stdout, stderr, rc = run(protocol(endpoint), "whoami")
    assert (stdout, rc) == (b"", 1) and b"not the collection's PowerShell command line" in stderr
    # Output (stderr) and CommandState/Done came in separate Receive answers.
    assert endpoint.stats.summary()["receives"] == 2


def test_command_line_longer_than_cmd_accepts_fails(endpoint):
    stdout, stderr, rc = run(protocol(endpoint), "PowerShell -EncodedCommand " + "A" * 8200)
    assert rc == 1 and stderr == powershell_host.CMD_TOO_LONG


def test_request_larger_than_max_envelope_size_gets_413(endpoint):
    proto = protocol(endpoint)
    shell = proto.open_shell()
    command_id = proto.run_command(shell, "whoami", console_mode_stdin=False)
    with pytest.raises(WinRMTransportError) as error:
        proto.send_command_input(shell, command_id, b"x" * 400000)  # 533 KB once in base64
    assert error.value.code == 413
    assert endpoint.stats.rejected and endpoint.stats.rejected[0] > wsman.MAX_ENVELOPE_SIZE


def test_output_is_cut_to_the_clients_max_envelope_size(endpoint):
    endpoint.scripts = {b"big": ("big", lambda root, request: {"pad": "y" * 600000})}
    from powershell_host import windows_host
    host = windows_host()
    stdin = host.stdin_payload(b"big", {})
    stdout, stderr, rc = run(protocol(endpoint), host.encoded_command(), stdin)
    assert rc == 0 and stdout.startswith(host.RESPONSE_MARKER.encode())
    assert len(base64.b64decode(stdout[len(host.RESPONSE_MARKER):])) > 600000
    summary = endpoint.stats.summary()
    assert summary["largest_response"] <= 153600 and summary["receives"] >= 7


def test_psrp_pipeline_runs_the_bootstrap_and_refuses_input_objects_above_10_mb(endpoint):
    from pypsrp.powershell import PowerShell, RunspacePool
    from pypsrp.wsman import WSMan
    from powershell_host import windows_host
    host = windows_host()
    endpoint.scripts = {b"echo": ("echo", lambda root, request: {"protocol": 1, "echo": request})}
    connection = WSMan("127.0.0.1", port=endpoint.port, ssl=False, auth="ntlm", username=USER, password=PASSWORD)
    with RunspacePool(connection) as pool:
        lines = host.stdin_payload(b"echo", {"x": 1}).decode().splitlines()
        ps = PowerShell(pool)
        ps.add_script(host.BOOTSTRAP)
        output = ps.invoke(input=lines)
        assert not ps.had_errors and len(output) == 1 and output[0].startswith(host.RESPONSE_MARKER)
        big = PowerShell(pool)
        big.add_script(host.BOOTSTRAP)
        big.invoke(input=[lines[0], "A" * (10 * 1024 * 1024 + 4)])
        assert big.had_errors and big.output == []
        assert "is above 10485760 bytes" in str(big.streams.error[0])
    assert [c[0] for c in endpoint.stats.commands] == ["echo", None]
    assert endpoint.stats.summary()["largest_request"] <= wsman.MAX_ENVELOPE_SIZE


def test_psrp_pipeline_refuses_more_input_than_the_per_command_limit(endpoint, monkeypatch):
    from pypsrp.powershell import PowerShell, RunspacePool
    from pypsrp.wsman import WSMan
    from powershell_host import windows_host
    import psrp
    host = windows_host()
    monkeypatch.setattr(psrp, "MAX_COMMAND_DATA", 300000)  # 50 MB on Windows: scaled down to stay quick
    endpoint.scripts = {b"echo": ("echo", lambda root, request: {"protocol": 1, "echo": len(request["pad"])})}
    connection = WSMan("127.0.0.1", port=endpoint.port, ssl=False, auth="ntlm", username=USER, password=PASSWORD)
    with RunspacePool(connection) as pool:
        for pad, refused in ((150000, False), (250000, True)):
            ps = PowerShell(pool)
            ps.add_script(host.BOOTSTRAP)
            ps.invoke(input=host.stdin_payload(b"echo", {"pad": "p" * pad}).decode().splitlines())
            assert ps.had_errors is refused
            if refused:
                assert "MaximumReceivedDataSizePerCommandMB" in str(ps.streams.error[0])
    assert [c[0] for c in endpoint.stats.commands] == ["echo", None]
