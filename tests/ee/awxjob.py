# -*- coding: utf-8 -*-
"""A job run the way AWX runs it on Kubernetes, with podman in place of the
pod: AWX's controller turns the job (project, inventory, extra vars, the
machine credential's key, the job type's ``--check``) into an ansible-runner
private data dir and streams it (``ansible-runner transmit``) to a container
of the execution-environment image, whose command is ``ansible-runner
worker``; the events streamed back are written out by ``ansible-runner
process``. Here transmit and process run in the same image too, as root on
this side; the worker runs as the image's own user, like the pod.
"""

import json
import os
import re
import shutil
import subprocess

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EE_DIR = os.path.join(REPO, ".tmp", "ee")
# The podman settings of this kind of machine (docs: scripts/build-ee).
PLAYBOOK = "thunderbird_offline.yml"
PODMAN = ["podman", "run", "--rm", "--runtime", "runc", "--network", "host"]


def podman_env():
    return dict(os.environ, CONTAINERS_CONF=os.path.join(EE_DIR, "containers.conf"))


class Job:
    def __init__(self, rc, status, stdout, events, command):
        self.rc = rc
        self.command = command
        self.status = status
        self.stdout = stdout
        self.events = events

    def recap_lines(self):
        return [line for line in self.stdout.splitlines() if re.match(r"^\S+\s+:\s+ok=\d+", line)]

    def recap(self, host):
        for line in self.recap_lines():
            if line.split()[0] == host:
                return dict((k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)", line))
        raise AssertionError("no recap for %s:\n%s" % (host, self.stdout))


def write_private_data_dir(path, playbook, inventory, extravars, ssh_key, envvars):
    """The private data dir AWX makes for a job: project/, inventory/, env/."""
    for sub in ("project", "inventory", "env"):
        os.makedirs(os.path.join(path, sub), exist_ok=True)
    with open(os.path.join(path, "project", PLAYBOOK), "w") as f:
        f.write(playbook)
    with open(os.path.join(path, "inventory", "hosts.json"), "w") as f:
        json.dump(inventory, f, indent=1)
    with open(os.path.join(path, "env", "extravars"), "w") as f:
        json.dump(extravars, f)
    with open(os.path.join(path, "env", "envvars"), "w") as f:
        json.dump(envvars, f)
    shutil.copy(ssh_key, os.path.join(path, "env", "ssh_key"))
    os.chmod(os.path.join(path, "env", "ssh_key"), 0o600)


def run_job(image, private_data_dir, cmdline, mounts=(), timeout=600):
    """transmit | worker | process; returns the Job as process wrote it."""
    env = podman_env()
    transmit = PODMAN + ["-i", "--user", "0", "-v", "%s:/job" % private_data_dir, image,
                         "ansible-runner", "transmit", "/job", "-p", PLAYBOOK, "--cmdline", cmdline]
    worker = PODMAN + ["-i"] + [a for m in mounts for a in ("-v", m)] + [
        image, "ansible-runner", "worker", "--private-data-dir=/runner"]
    out = os.path.join(private_data_dir, "processed")
    os.makedirs(out, exist_ok=True)
    process = PODMAN + ["-i", "--user", "0", "-v", "%s:/out" % out, image,
                        "ansible-runner", "process", "/out", "--ident", "job"]
    streamed = step("transmit", transmit, env, None, timeout)
    worked = step("worker", worker, env, streamed, timeout)
    step("process", process, env, worked, timeout)
    artifacts = os.path.join(out, "artifacts", "job")
    with open(os.path.join(artifacts, "stdout"), encoding="utf-8") as f:
        stdout = f.read()
    with open(os.path.join(artifacts, "rc")) as f:
        rc = int(f.read().strip())
    with open(os.path.join(artifacts, "status")) as f:
        status = f.read().strip()
    events = []
    events_dir = os.path.join(artifacts, "job_events")
    for name in sorted(os.listdir(events_dir), key=lambda n: int(n.split("-")[0])):
        with open(os.path.join(events_dir, name)) as f:
            events.append(json.load(f))
    with open(os.path.join(artifacts, "command")) as f:
        command = json.load(f)
    return Job(rc, status, stdout, events, command)


def step(name, cmd, env, stdin, timeout):
    proc = subprocess.run(cmd, env=env, input=stdin, capture_output=True, timeout=timeout, check=False)
    assert proc.returncode == 0, "ansible-runner %s exited %d:\n%s" % (
        name, proc.returncode, proc.stderr.decode(errors="replace")[-4000:])
    return proc.stdout
