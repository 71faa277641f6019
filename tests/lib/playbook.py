"""Run a real ansible-playbook and read back its task results."""

import json
import os
import re
import subprocess
import sys

import yaml

LIB = os.path.dirname(os.path.abspath(__file__))
BIN = os.path.dirname(sys.executable)


class Run:
    def __init__(self, proc, results):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.results = results

    def result(self, task, host="localhost"):
        found = [r for r in self.results if r["task"] == task and r["host"] == host]
        assert found, "no result for %r on %s:\n%s\n%s" % (task, host, self.stdout, self.stderr)
        return found[-1]["result"]

    def recap(self, host="localhost"):
        match = re.search(r"^%s\s*:\s*(.*)$" % re.escape(host), self.stdout, re.M)
        assert match, self.stdout
        return dict((k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)", match.group(1)))


def run_playbook(tmp_path, plays, *args, inventory=None, env=None):
    """Write ``plays`` (a list of plays, or YAML text) and run it."""
    book = tmp_path / ("play-%d.yml" % len(list(tmp_path.glob("play-*.yml"))))
    book.write_text(plays if isinstance(plays, str) else yaml.safe_dump(plays, sort_keys=False))
    dump = tmp_path / (book.stem + ".results.jsonl")
    if inventory is None:
        inventory = tmp_path / "inventory.ini"
        if not inventory.exists():
            inventory.write_text("localhost ansible_connection=local ansible_python_interpreter=%s\n"
                                 % sys.executable)
    full_env = dict(os.environ, RESULT_DUMP=str(dump), ANSIBLE_CALLBACK_PLUGINS=os.path.join(LIB, "callback_plugins"),
                    ANSIBLE_CALLBACKS_ENABLED="result_dump", ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
                    ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_HOST_KEY_CHECKING="0",
                    ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-local"))
    full_env.update(env or {})
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", str(inventory), str(book)] + list(args),
                          env=full_env, capture_output=True, text=True, timeout=600, check=False)
    results = []
    if dump.exists():
        results = [json.loads(line) for line in dump.read_text().splitlines()]
    return Run(proc, results)
