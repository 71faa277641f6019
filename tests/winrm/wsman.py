# -*- coding: utf-8 -*-
"""A WS-Management endpoint on 127.0.0.1 that answers as a default Windows
workstation's WinRM service (HTTP listener, port chosen by the system):

- authentication: Negotiate with NTLM, checked by pyspnego's NTLM acceptor
  against a local account (NTLM_USER_FILE); every SOAP message after that
  must be sealed with the NTLM session key (message encryption, as
  AllowUnencrypted=false requires on HTTP), and every answer is sealed too;
- the WinRS shell protocol: Create, Command, Send, Receive, Signal, Delete
  on resource .../windows/shell/cmd (Ansible's winrm plugin) and on
  .../powershell/Microsoft.PowerShell, a runspace pool (its psrp plugin,
  see psrp.py);
- MaxEnvelopeSizekb 500: a larger request envelope gets HTTP 413, as
  Windows answers;
  an answer never exceeds the client's MaxEnvelopeSize (nor 500 KB), so long
  output takes several Receive; the exit code comes in CommandState/Done,
  in a Receive of its own after the output;
- cmd.exe's 8191-character command line.

What the command runs is powershell_host.run (the Python twin of the
collection's scripts). ``Endpoint.stats`` records every envelope's size.
"""

import base64
import os
import re
import struct
import tempfile
import threading
import uuid
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

import spnego

import powershell_host
import psrp

MAX_ENVELOPE_SIZE = 500 * 1024
# What sealing adds to an envelope on the wire (MIME parts, signature).
SEALING_ROOM = 1024
NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "x": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
}
SHELL = NS["rsp"]
TRANSFER = NS["x"]
RESOURCE_CMD = SHELL + "/cmd"
DONE = SHELL + "/CommandState/Done"
RUNNING = SHELL + "/CommandState/Running"
ENCRYPTED = "application/HTTP-SPNEGO-session-encrypted"
BOUNDARY = b"--Encrypted Boundary"
# WSManFault codes Windows puts in s:Detail.
TIMED_OUT = 2150858793
INVALID_SELECTORS = 2150858843
# Room for the SOAP around a Receive's stream data.
RECEIVE_OVERHEAD = 4096


class Fault(Exception):
    def __init__(self, subcode, code, reason, status=500):
        Exception.__init__(self, reason)
        self.subcode, self.code, self.reason, self.status = subcode, code, reason, status


class Command:
    def __init__(self, line):
        self.line = line
        self.stdin = []
        self.stdin_done = False
        self.outcome = None
        self.sent = 0


class Stats:
    """Sizes of the SOAP envelopes (as sealed/unsealed XML, before MIME) and
    of the HTTP bodies that carried them."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.requests = []   # (action, envelope bytes, HTTP body bytes)
        self.responses = []  # (action, envelope bytes, HTTP body bytes)
        self.rejected = []   # HTTP bodies refused as too large
        self.commands = []   # (script name or None, command chars, stdin bytes, rc)
        self.input_objects = []  # bytes of each PSRP input object's message

    def add(self, kind, action, envelope, body):
        with self.lock:
            getattr(self, kind).append((action.rsplit("/", 1)[-1], envelope, body))

    def summary(self):
        with self.lock:
            return {
                "requests": len(self.requests), "responses": len(self.responses),
                "largest_request": max([r[1] for r in self.requests] or [0]),
                "largest_response": max([r[1] for r in self.responses] or [0]),
                "largest_request_body": max([r[2] for r in self.requests] or [0]),
                "largest_response_body": max([r[2] for r in self.responses] or [0]),
                "sends": sum(1 for r in self.requests if r[0] == "Send"),
                "receives": sum(1 for r in self.requests if r[0] == "Receive"),
                "largest_input_object": max(self.input_objects or [0]),
            }


class Endpoint:
    """``with Endpoint(root, user, password) as ep:`` serves ep.port until the end."""

    def __init__(self, root, user, password, machine="PC01", scripts=None):
        self.root = root
        self.scripts = scripts or {}
        self.machine = machine
        self.shells = {}
        self.lock = threading.RLock()
        self.stats = Stats()
        fd, self.user_file = tempfile.mkstemp(prefix="ntlm-users-")
        with os.fdopen(fd, "w") as f:
            # A local account answers to ".\user", "PC01\user" and "user".
            f.write("".join("%s:%s:%s\n" % (domain, user, password) for domain in ("", ".", machine)))
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler_class())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = None

    def __enter__(self):
        # pyspnego's NTLM acceptor reads its accounts from this file.
        self.saved_user_file = os.environ.get("NTLM_USER_FILE")
        os.environ["NTLM_USER_FILE"] = self.user_file
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        os.unlink(self.user_file)
        if self.saved_user_file is None:
            os.environ.pop("NTLM_USER_FILE", None)
        else:
            os.environ["NTLM_USER_FILE"] = self.saved_user_file

    def handler_class(self):
        endpoint = self

        class Handler(WSManHandler):
            pass

        Handler.endpoint = endpoint
        return Handler

    # -- WinRS ---------------------------------------------------------------

    def dispatch(self, envelope):
        """(action, body XML) of the answer to one SOAP request."""
        root = ET.fromstring(envelope)
        header = root.find("s:Header", NS)
        action = header.findtext("a:Action", "", NS)
        resource = header.findtext("w:ResourceURI", "", NS)
        if resource not in (RESOURCE_CMD, psrp.RESOURCE):
            raise Fault("w:InvalidResourceURI", 2150858811, "The WS-Management service cannot process the "
                        "request because the resource URI is not supported here: %s" % resource)
        limit = int(header.findtext("w:MaxEnvelopeSize", str(MAX_ENVELOPE_SIZE), NS))
        limit = min(limit, MAX_ENVELOPE_SIZE)
        body = root.find("s:Body", NS)
        shell_id = None
        for selector in header.findall("w:SelectorSet/w:Selector", NS):
            if selector.get("Name") == "ShellId":
                shell_id = selector.text
        name = action.rsplit("/", 1)[-1]
        if action == TRANSFER + "/Create":
            return self.create(resource, body)
        shell = self.shells.get(shell_id)
        if shell is None:
            raise Fault("w:InvalidSelectors", INVALID_SELECTORS, "The WS-Management service cannot process the "
                        "request because the request contained invalid selectors for the resource.")
        if action == TRANSFER + "/Delete":
            del self.shells[shell_id]
            return TRANSFER + "/DeleteResponse", ""
        if name == "Command":
            command_id = shell.command(body.find("rsp:CommandLine", NS))
            return SHELL + "/CommandResponse", "<rsp:CommandResponse><rsp:CommandId>%s</rsp:CommandId>" \
                "</rsp:CommandResponse>" % command_id
        if name == "Send":
            for stream in body.findall("rsp:Send/rsp:Stream", NS):
                shell.send(stream.get("CommandId"), base64.b64decode(stream.text or ""),
                           stream.get("End", "").lower() == "true")
            return SHELL + "/SendResponse", "<rsp:SendResponse/>"
        if name == "Receive":
            desired = body.find("rsp:Receive/rsp:DesiredStream", NS)
            return SHELL + "/ReceiveResponse", "<rsp:ReceiveResponse>%s</rsp:ReceiveResponse>" \
                % shell.receive(desired.get("CommandId"), limit)
        if name == "Signal":
            shell.signal(body.find("rsp:Signal", NS).get("CommandId"))
            return SHELL + "/SignalResponse", "<rsp:SignalResponse/>"
        raise Fault("a:ActionNotSupported", 2150858801, "The action is not supported by the service: %s" % action)

    def create(self, resource, body):
        shell_id = str(uuid.uuid4()).upper()
        if resource == RESOURCE_CMD:
            self.shells[shell_id] = CmdShell(self)
        else:
            self.shells[shell_id] = psrp.RunspacePool(self, body.find("rsp:Shell", NS))
        return TRANSFER + "/CreateResponse", (
            "<x:ResourceCreated><a:Address>http://127.0.0.1:%d/wsman</a:Address><a:ReferenceParameters>"
            "<w:ResourceURI>%s</w:ResourceURI><w:SelectorSet><w:Selector Name=\"ShellId\">%s</w:Selector>"
            "</w:SelectorSet></a:ReferenceParameters></x:ResourceCreated>"
            "<rsp:Shell><rsp:ShellId>%s</rsp:ShellId><rsp:ResourceUri>%s</rsp:ResourceUri>"
            "<rsp:Owner>%s</rsp:Owner><rsp:InputStreams>stdin pr</rsp:InputStreams>"
            "<rsp:OutputStreams>stdout</rsp:OutputStreams></rsp:Shell>"
            % (self.port, resource, shell_id, shell_id, resource, self.machine + "\\tbadmin"))

    def run(self, command_line, stdin):
        outcome = powershell_host.run(self.root, command_line, stdin, self.scripts)
        self.stats.commands.append((outcome.script, len(command_line), len(stdin), outcome.rc))
        return outcome


def unknown_command():
    return Fault("w:InvalidParameter", 2150858842, "The Windows Remote Shell received a request to perform an "
                 "operation on a command identifier that does not exist.")


def timed_out():
    return Fault("w:TimedOut", TIMED_OUT, "The WS-Management service cannot complete the operation within the "
                 "time specified in OperationTimeout.")


class CmdShell:
    """A WinRS shell (resource .../windows/shell/cmd): cmd.exe command lines."""

    def __init__(self, endpoint):
        self.endpoint = endpoint
        self.commands = {}

    def find(self, command_id):
        command = self.commands.get(command_id)
        if command is None:
            raise unknown_command()
        return command

    def command(self, line):
        text = line.findtext("rsp:Command", "", NS)
        arguments = line.findall("rsp:Arguments", NS)
        if arguments:
            text = " ".join([text] + [a.text or "" for a in arguments])
        command_id = str(uuid.uuid4()).upper()
        self.commands[command_id] = Command(text)
        return command_id

    def send(self, command_id, data, end):
        command = self.find(command_id)
        if command.stdin_done:
            raise Fault("w:InvalidParameter", 2150858842, "stdin was already closed")
        command.stdin.append(data)
        command.stdin_done = end

    def signal(self, command_id):
        self.commands.pop(command_id, None)

    def receive(self, command_id, limit):
        command = self.find(command_id)
        if command.outcome is None:
            if not command.stdin_done and command.stdin == []:
                # Nothing was sent: a command without input runs now.
                command.stdin_done = True
            if not command.stdin_done:
                raise timed_out()
            command.outcome = self.endpoint.run(command.line, b"".join(command.stdin))
        outcome = command.outcome
        room = (limit - RECEIVE_OVERHEAD) // 4 * 3
        streams = []
        if command.sent < len(outcome.stdout):
            chunk = outcome.stdout[command.sent:command.sent + room]
            command.sent += len(chunk)
            streams.append(stream_xml("stdout", command_id, chunk))
            room -= len(chunk)
        if command.sent >= len(outcome.stdout) and outcome.stderr and room > 0:
            streams.append(stream_xml("stderr", command_id, outcome.stderr[:room]))
            outcome.stderr = outcome.stderr[room:]
        if command.sent >= len(outcome.stdout) and not outcome.stderr and not streams:
            # The exit code comes after the output, in a Receive of its own.
            return "%s%s<rsp:CommandState CommandId=\"%s\" State=\"%s\"><rsp:ExitCode>%d</rsp:ExitCode>" \
                "</rsp:CommandState>" % (stream_xml("stdout", command_id, b"", end=True),
                                         stream_xml("stderr", command_id, b"", end=True), command_id, DONE, outcome.rc)
        return "".join(streams) + "<rsp:CommandState CommandId=\"%s\" State=\"%s\"/>" % (command_id, RUNNING)


def stream_xml(name, command_id, data, end=False):
    return "<rsp:Stream Name=\"%s\"%s%s>%s</rsp:Stream>" % (
        name, " CommandId=\"%s\"" % command_id if command_id else "", " End=\"true\"" if end else "",
        base64.b64encode(data).decode("ascii"))


def envelope_xml(action, relates_to, body):
    return ("<s:Envelope xml:lang=\"en-US\" xmlns:s=\"%(s)s\" xmlns:a=\"%(a)s\" xmlns:x=\"%(x)s\" xmlns:w=\"%(w)s\" "
            "xmlns:rsp=\"%(rsp)s\" xmlns:p=\"http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd\">" % NS
            + "<s:Header><a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>"
            "<a:Action s:mustUnderstand=\"true\">%s</a:Action><a:MessageID>uuid:%s</a:MessageID>"
            "<a:RelatesTo>%s</a:RelatesTo></s:Header><s:Body>%s</s:Body></s:Envelope>"
            % (action, str(uuid.uuid4()).upper(), escape(relates_to), body)).encode("utf-8")


def fault_xml(fault, relates_to, machine):
    body = ("<s:Fault><s:Code><s:Value>s:Sender</s:Value><s:Subcode><s:Value>%s</s:Value></s:Subcode></s:Code>"
            "<s:Reason><s:Text xml:lang=\"en-US\">%s</s:Text></s:Reason><s:Detail>"
            "<f:WSManFault xmlns:f=\"http://schemas.microsoft.com/wbem/wsman/1/wsmanfault\" Code=\"%d\" "
            "Machine=\"%s\"><f:Message>%s</f:Message></f:WSManFault></s:Detail></s:Fault>"
            % (fault.subcode, escape(fault.reason), fault.code, machine, escape(fault.reason)))
    return envelope_xml("http://schemas.dmtf.org/wbem/wsman/1/wsman/fault", relates_to, body)


class WSManHandler(BaseHTTPRequestHandler):
    """One TCP connection: NTLM authenticates the connection, not a request."""

    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-HTTPAPI/2.0"
    endpoint = None

    def setup(self):
        BaseHTTPRequestHandler.setup(self)
        self.context = None

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        if self.path != "/wsman":
            self.rfile.read(length)
            return self.reply(404)
        if length > MAX_ENVELOPE_SIZE + SEALING_ROOM:
            self.endpoint.stats.rejected.append(length)
            self.close_connection = True
            return self.reply(413, headers=[("Connection", "close")])
        data = self.rfile.read(length)
        token = self.auth_token()
        if token is not None:
            if self.context is None or self.context.complete:
                self.context = spnego.server(protocol="ntlm")
            try:
                answer = self.context.step(token)
            except spnego.exceptions.SpnegoError:
                self.context = None
                return self.reply(401, headers=[("WWW-Authenticate", "Negotiate")])
            if not self.context.complete:
                return self.reply(401, headers=[("WWW-Authenticate", "Negotiate " + base64.b64encode(answer).decode())])
            if not data:
                return self.reply(200)
        if self.context is None or not self.context.complete:
            return self.reply(401, headers=[("WWW-Authenticate", "Negotiate")])
        content_type = self.headers.get("Content-Type", "")
        if "protocol=\"%s\"" % ENCRYPTED not in content_type:
            # AllowUnencrypted is false on a default Windows HTTP listener.
            return self.reply(401, headers=[("WWW-Authenticate", "Negotiate")])
        envelope = self.unseal(data)
        if len(envelope) > MAX_ENVELOPE_SIZE:
            # The limit is on the SOAP envelope: pypsrp fills envelopes up to
            # 512000 bytes and Windows takes them, sealed or not.
            self.endpoint.stats.rejected.append(len(envelope))
            return self.reply(413)
        status, action, answer = self.process(envelope)
        sealed = self.seal(answer)
        self.endpoint.stats.add("responses", action, len(answer), len(sealed))
        self.reply(status, sealed, headers=[
            ("Content-Type", "multipart/encrypted;protocol=\"%s\";boundary=\"Encrypted Boundary\"" % ENCRYPTED)])

    def auth_token(self):
        match = re.match(r"(?:Negotiate|NTLM) (\S+)$", self.headers.get("Authorization", ""))
        return base64.b64decode(match.group(1)) if match else None

    def process(self, envelope):
        relates_to, action = "", "unparsed"
        try:
            root = ET.fromstring(envelope)
            relates_to = root.findtext("s:Header/a:MessageID", "", NS)
            action = root.findtext("s:Header/a:Action", "", NS)
            self.endpoint.stats.add("requests", action, len(envelope), int(self.headers.get("Content-Length")))
            with self.endpoint.lock:
                answer_action, body = self.endpoint.dispatch(envelope)
            return 200, answer_action, envelope_xml(answer_action, relates_to, body)
        except Fault as fault:
            return fault.status, "fault", fault_xml(fault, relates_to, self.endpoint.machine)
        except Exception as exc:  # a defect of this endpoint: show it to the client
            fault = Fault("w:InternalError", 2150858752, "test endpoint: %s: %s" % (type(exc).__name__, exc))
            return 500, "fault", fault_xml(fault, relates_to, self.endpoint.machine)

    def unseal(self, data):
        """The SOAP envelope of a multipart/encrypted body (MS-WSMV 2.2.9.1.1)."""
        parts = [p for p in data.split(BOUNDARY + b"\r\n") if p]
        header, payload = parts[0], parts[1]
        expected = int(re.search(rb"Length=(\d+)", header).group(1))
        if payload.endswith(BOUNDARY + b"--\r\n"):
            payload = payload[:-len(BOUNDARY + b"--\r\n")]
        payload = payload.split(b"application/octet-stream\r\n", 1)[1]
        signature_length = struct.unpack("<i", payload[:4])[0]
        signature, sealed = payload[4:4 + signature_length], payload[4 + signature_length:]
        envelope = self.context.unwrap_winrm(signature, sealed)
        if len(envelope) != expected:
            raise ValueError("sealed length differs from the announced length")
        return envelope

    def seal(self, envelope):
        wrapped = self.context.wrap_winrm(envelope)
        return (BOUNDARY + b"\r\n\tContent-Type: " + ENCRYPTED.encode() + b"\r\n"
                b"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=" + str(len(envelope)).encode()
                + b"\r\n" + BOUNDARY + b"\r\n\tContent-Type: application/octet-stream\r\n"
                + struct.pack("<i", len(wrapped.header)) + wrapped.header + wrapped.data
                + BOUNDARY + b"--\r\n")
