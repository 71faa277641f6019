# -*- coding: utf-8 -*-
"""The PowerShell Remoting Protocol (MS-PSRP) side of the endpoint: a
runspace pool on the WinRS resource .../powershell/Microsoft.PowerShell.

The client's messages arrive as PSRP fragments (in the Create's
creationXml, the Command's argument and Send); the answers go out as
fragments in Receive, each Receive holding whole fragments only. pypsrp's
own message classes and CLIXML serializer read and write the messages (the
server side of the same format). A pipeline must be the collection's
bootstrap, as one script, whose input objects are the lines the bootstrap
reads; powershell_host runs it. Windows' default
MaximumReceivedObjectSizeMB (10 MB per input object) is enforced, on the
size of the whole PSRP message that carries the object, as Windows counts
it, and so is MaximumReceivedDataSizePerCommandMB (50 MB of input per
pipeline); every input message's size is kept in the endpoint's stats.
"""

import base64
import struct
import uuid
import xml.etree.ElementTree as ET

from pypsrp.messages import (Destination, ErrorRecordMessage, MessageType, PipelineState, RunspacePoolInitData,
                             RunspacePoolStateMessage, SessionCapability, Message)
from pypsrp.powershell import Fragment
from pypsrp.serializer import Serializer

import powershell_host

RESOURCE = "http://schemas.microsoft.com/powershell/Microsoft.PowerShell"
CREATION_XML = "{http://schemas.microsoft.com/powershell}creationXml"
MAX_OBJECT_SIZE = 10 * 1024 * 1024
MAX_COMMAND_DATA = 50 * 1024 * 1024
OPENED, COMPLETED, FAILED = 2, 4, 5
FRAGMENT_HEADER = 21


class Pipeline:
    def __init__(self, pid):
        self.pid = pid
        self.create = None
        self.inputs = []
        self.input_sizes = []    # bytes of each PIPELINE_INPUT message
        self.input_done = False
        self.messages = None     # packed answers, once run
        self.fragments = []      # what is left to send
        self.finished = False


class RunspacePool:
    def __init__(self, endpoint, shell):
        self.endpoint = endpoint
        self.serializer = Serializer()
        self.buffers = {}
        self.object_id = 0
        messages = self.defragment(base64.b64decode(shell.find(CREATION_XML).text))
        self.rpid = uuid.UUID(messages[0][1])
        self.pipelines = {}
        self.pending = [self.pack(SessionCapability("2.3", "2.0", "1.1.0.1")),
                        self.pack(RunspacePoolInitData(1, 1)),
                        self.pack(RunspacePoolStateMessage(state=OPENED))]

    # -- messages ------------------------------------------------------------

    def defragment(self, data):
        """[(message type, rpid, pid, CLIXML body, message bytes)] of the messages completed
        by ``data``. Bodies are read here, not by pypsrp's Message.unpack,
        whose HostInfo cannot be deserialized (it is a client)."""
        messages = []
        while data:
            fragment, data = Fragment.unpack(data)
            buffer = self.buffers.pop(fragment.object_id, b"") + fragment.data
            if not fragment.end:
                self.buffers[fragment.object_id] = buffer
                continue
            message_type = struct.unpack("<I", buffer[4:8])[0]
            body = buffer[40:]
            if body.startswith(b"\xef\xbb\xbf"):
                body = body[3:]
            messages.append((message_type, str(uuid.UUID(bytes_le=buffer[8:24])),
                             str(uuid.UUID(bytes_le=buffer[24:40])), body, len(buffer)))
        return messages

    def pack(self, data, pid=None):
        return Message(Destination.CLIENT, str(self.rpid), pid and str(pid), data, self.serializer).pack()

    def pack_output(self, text, pid):
        element = self.serializer.serialize(text)
        return (struct.pack("<II", Destination.CLIENT, MessageType.PIPELINE_OUTPUT) + self.rpid.bytes_le
                + uuid.UUID(pid).bytes_le + ET.tostring(element, encoding="utf-8"))

    def fragment(self, packed, size):
        fragments = []
        for message in packed:
            self.object_id += 1
            pieces = [message[i:i + size] for i in range(0, len(message), size)] or [b""]
            for index, piece in enumerate(pieces):
                fragments.append(Fragment(self.object_id, index, piece, index == 0,
                                          index == len(pieces) - 1).pack())
        return fragments

    # -- WinRS operations on the pool -----------------------------------------

    def find(self, command_id):
        for pid, pipeline in self.pipelines.items():
            if pid.lower() == (command_id or "").lower():
                return pipeline
        raise ValueError("no pipeline %s" % command_id)

    def command(self, line):
        pid = line.get("CommandId")
        self.pipelines[pid] = Pipeline(pid)
        self.feed(base64.b64decode(line.findtext("{%s}Arguments" % line.tag.split("}")[0][1:], "")))
        return pid

    def send(self, command_id, data, end):
        self.find(command_id)
        self.feed(data)

    def signal(self, command_id):
        for pid in list(self.pipelines):
            if pid.lower() == (command_id or "").lower():
                del self.pipelines[pid]

    def feed(self, data):
        for message_type, dummy, pid, body, size in self.defragment(data):
            pipeline = self.find(pid)
            if message_type == MessageType.CREATE_PIPELINE:
                root = ET.fromstring(body)
                pipeline.create = [(self.serializer.deserialize(cmd.find("MS/S[@N='Cmd']")),
                                    cmd.findtext("MS/B[@N='IsScript']") == "true",
                                    len(cmd.findall("MS/Obj[@N='Args']/LST/*")))
                                   for cmd in root.findall(".//Obj[@N='Cmds']/LST/Obj")]
                pipeline.input_done = root.findtext("MS/B[@N='NoInput']") == "true"
            elif message_type == MessageType.PIPELINE_INPUT:
                pipeline.inputs.append(self.serializer.deserialize(ET.fromstring(body)))
                pipeline.input_sizes.append(size)
                self.endpoint.stats.input_objects.append(size)
            elif message_type == MessageType.END_OF_PIPELINE_INPUT:
                pipeline.input_done = True

    def receive(self, command_id, limit):
        import wsman
        room = (limit - wsman.RECEIVE_OVERHEAD) // 4 * 3
        if command_id is None:
            queue = self.fragment(self.pending, room - FRAGMENT_HEADER)
            self.pending = []
            if not queue:
                raise wsman.timed_out()
            return wsman.stream_xml("stdout", None, b"".join(queue))
        pipeline = self.find(command_id)
        if pipeline.messages is None:
            if pipeline.create is None or not pipeline.input_done:
                raise wsman.timed_out()
            pipeline.messages = self.run(pipeline)
            pipeline.fragments = self.fragment(pipeline.messages, room - FRAGMENT_HEADER)
        chunk = []
        while pipeline.fragments and sum(map(len, chunk)) + len(pipeline.fragments[0]) <= room:
            chunk.append(pipeline.fragments.pop(0))
        state = wsman.RUNNING if pipeline.fragments else wsman.DONE
        return "%s<rsp:CommandState CommandId=\"%s\" State=\"%s\"/>" % (
            wsman.stream_xml("stdout", command_id, b"".join(chunk)), command_id, state)

    def run(self, pipeline):
        commands = pipeline.create
        script = commands[0][0] if len(commands) == 1 and commands[0][1] and commands[0][2] == 0 else None
        too_large = [size for size in pipeline.input_sizes if size > MAX_OBJECT_SIZE]
        if sum(pipeline.input_sizes) > MAX_COMMAND_DATA:
            outcome = powershell_host.Outcome(1, stderr=b"test endpoint, as Windows' default "
                                              b"MaximumReceivedDataSizePerCommandMB: %d bytes of input are above %d"
                                              % (sum(pipeline.input_sizes), MAX_COMMAND_DATA))
        elif too_large:
            outcome = powershell_host.Outcome(1, stderr=b"test endpoint, as Windows' default MaximumReceivedObjectSizeMB:"
                                              b" an input object of %d bytes is above %d bytes"
                                              % (too_large[0], MAX_OBJECT_SIZE))
        elif script is None:
            outcome = powershell_host.Outcome(1, stderr=b"not one script")
        else:
            stdin = "\n".join(str(i) for i in pipeline.inputs).encode("utf-8")
            outcome = powershell_host.run_bootstrap(self.endpoint.root, script, stdin, self.endpoint.scripts)
        self.endpoint.stats.commands.append((outcome.script, len(script or ""),
                                             sum(len(str(i)) for i in pipeline.inputs), outcome.rc))
        if outcome.rc != 0:
            return [self.pack(error_record(outcome.stderr.decode("utf-8", "replace")), pipeline.pid),
                    self.pack(PipelineState(state=FAILED), pipeline.pid)]
        return [self.pack_output(line, pipeline.pid) for line in outcome.stdout.decode("utf-8").splitlines()] \
            + [self.pack(PipelineState(state=COMPLETED), pipeline.pid)]


def error_record(text):
    """An ERROR_RECORD whose text (its ToString) is ``text``."""
    record = ErrorRecordMessage(fq_error="RectoratTestEndpoint", category=7, message=text,
                                invocation=False, extended_info_present=False)
    for name, dummy in record._extended_properties:
        if not hasattr(record, name):
            setattr(record, name, None)
    record._to_string = text
    return record
