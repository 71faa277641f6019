# -*- coding: utf-8 -*-
"""Simulated workstations for the benchmark and the scale test.

Every simulated workstation is an inventory host of its own, reached over
ssh through a loopback sshd that this module starts (its own port, host key,
configuration and admin user, all in a state folder), as an unprivileged
admin that becomes root with sudo, as on a real fleet. Each host has its own
two local users (``<prefix>h007a``, ``<prefix>h007b``) with homes under
``/srv/tbfleet/<prefix>/home`` and Thunderbird profiles built with sandbox.py;
the role is told which users belong to which host with a host variable.

Unreachable workstations are inventory hosts whose port is reserved (bound,
never listening), so ssh is refused at once, as for a powered-off machine
behind a firewall that rejects.

Run as root. Nothing outside the state folder, the base folder, the users
carrying the prefix and ``/etc/sudoers.d/<prefix>admin`` is created, and
teardown removes only those.
"""

import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "lib"))
import sandbox  # noqa: E402  (tests/lib, path set just above)

BIN = os.path.dirname(sys.executable)
REMOTE_PYTHON = "/usr/bin/python3"
SAFE_PREFIX = re.compile(r"^tb[a-z0-9]{1,12}_$")
ACADEMIC = "imap.ac-exemple.fr"
PERSONAL = "imap.perso.example"
SUDOERS_DIR = "/etc/sudoers.d"
SYSTEM_THUNDERBIRD = "/usr/lib/thunderbird"


def check_prefix(prefix):
    if not SAFE_PREFIX.match(prefix):
        raise SystemExit("bench: prefix %r must look like tbbench_ (tb + letters/digits + _)" % prefix)


def collections_path():
    """The installed collection when scripts/test set one, else a link to this checkout."""
    path = os.environ.get("RECTORAT_COLLECTIONS_PATH")
    if path:
        return path
    path = os.path.join(REPO, ".tmp", "dev-collections")
    link = os.path.join(path, "ansible_collections", "rectorat", "thunderbird")
    if not os.path.islink(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(REPO, link)
    return path


def run(*cmd, **kwargs):
    return subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, **kwargs)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def closed_port():
    """A loopback port held bound but never listening: connections are refused.
    Returns (socket, port); the port stays closed while the socket is open."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    return s, s.getsockname()[1]


def wait_for_port(port, timeout=20.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("sshd did not listen on port %d" % port)


# --- users -----------------------------------------------------------------

def create_user(name, home, shell="/usr/sbin/nologin"):
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        run("useradd", "--no-create-home", "--home-dir", home, "--shell", shell,
            "--comment", "Thunderbird bench workstation", name)
        entry = pwd.getpwnam(name)
    if os.path.realpath(entry.pw_dir) != os.path.realpath(home):
        raise SystemExit("bench: user %s exists with home %s, not %s; refusing" % (name, entry.pw_dir, home))
    if not os.path.isdir(home):
        os.makedirs(home)
    os.chown(home, entry.pw_uid, entry.pw_gid)
    os.chmod(home, 0o750)
    return entry


def users_of(prefix, base):
    """Existing users of this bench: the prefix and a home below ``base``."""
    return [e for e in pwd.getpwall()
            if e.pw_name.startswith(prefix) and os.path.realpath(e.pw_dir).startswith(base + os.sep)]


def remove_user(name, wait=20.0):
    """userdel, waiting while a session of the user ends (userdel exits 8)."""
    deadline = time.time() + wait
    while True:
        proc = subprocess.run(["userdel", name], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              check=False)
        if proc.returncode in (0, 6):  # 6: no such user
            return
        if proc.returncode != 8 or time.time() > deadline:
            raise SystemExit("bench: userdel %s: %s" % (name, proc.stderr.strip()))
        time.sleep(0.5)


def chown_tree(path, uid, gid):
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.lchown(os.path.join(root, name), uid, gid)
    os.lchown(path, uid, gid)


# --- one workstation -----------------------------------------------------------

def workstation_profiles(user_suffix, user):
    """The profiles of one user of a workstation: (folder, accounts).

    ``a``: the seed case, an academic IMAP account online only, 30 days, 50 KB
    limit; ``b``: a POP account and a personal IMAP account whose folders were
    discovered while offline use was off (no Offline flag)."""
    if user_suffix == "a":
        seed = sandbox.imap(ACADEMIC, user, offline=False, socket=3, auth=3, autosync_max_age_days=30,
                            limit_offline_message_size=True, max_size=50)
        return [("a1bench0.default-esr", [seed])]
    return [("b2bench0.default-esr", [sandbox.pop("pop.laposte.example", user, socket=3, auth=3),
                                      sandbox.imap(PERSONAL, user, offline=None, flagged=False, socket=2)])]


USER_SUFFIXES = ("a", "b")
IMAP_ACCOUNTS_PER_HOST = 2


class Fleet:
    """N simulated workstations (their users and homes) and the loopback sshd."""

    def __init__(self, prefix, state_dir, base=None):
        check_prefix(prefix)
        self.prefix = prefix
        self.base = os.path.abspath(base or os.path.join("/srv/tbfleet", prefix.rstrip("_")))
        self.state = os.path.abspath(state_dir)
        self.admin = prefix + "admin"
        self.hosts = []          # names of the workstations built so far, in order
        self.port = None
        self._closed = None

    # names
    def host_name(self, index):
        return "ws%03d" % index

    def host_users(self, index):
        return ["%sh%03d%s" % (self.prefix, index, s) for s in USER_SUFFIXES]

    def home(self, user):
        return os.path.join(self.base, "home", user)

    def install_dir(self, index):
        """A stand-in Thunderbird installation of workstation ``index`` for the
        at-start hook (never the machine's own: see ``reset_installs``)."""
        return os.path.join(self.base, "install", self.host_name(index))

    @property
    def sudoers(self):
        return os.path.join(SUDOERS_DIR, self.admin)

    # setup
    def prepare(self):
        for folder in (os.path.dirname(self.base), self.base, os.path.join(self.base, "home"),
                       os.path.join(self.base, "install")):
            if not os.path.isdir(folder):
                os.makedirs(folder)
                os.chmod(folder, 0o755)
        os.makedirs(self.state, exist_ok=True)
        os.chmod(self.state, 0o700)

    def build_hosts(self, count):
        """Users and fresh profiles for hosts 0..count-1 (users made once)."""
        umask = os.umask(0o077)
        try:
            for index in range(len(self.hosts), count):
                for user in self.host_users(index):
                    create_user(user, self.home(user))
                self.hosts.append(self.host_name(index))
            self.reset_profiles(count)
            self.reset_installs(count)
        finally:
            os.umask(umask)

    def reset_installs(self, count=None):
        """Each workstation's stand-in installation as before any hook: what
        the hook reads of a Thunderbird (application.ini, defaults/pref/),
        copied from the machine's Thunderbird, root-owned like a package's."""
        for index in range(count if count is not None else len(self.hosts)):
            path = self.install_dir(index)
            if os.path.exists(path):
                shutil.rmtree(path)
            os.makedirs(os.path.join(path, "defaults", "pref"))
            for name in ("application.ini", os.path.join("defaults", "pref", "channel-prefs.js")):
                source = os.path.join(SYSTEM_THUNDERBIRD, name)
                if os.path.exists(source):
                    shutil.copyfile(source, os.path.join(path, name))
            for root, dirs, files in os.walk(path):
                os.chmod(root, 0o755)
                for name in files:
                    os.chmod(os.path.join(root, name), 0o644)

    def reset_profiles(self, count=None):
        """Every workstation's profiles as before any run (for apply runs)."""
        umask = os.umask(0o077)
        try:
            for index in range(count if count is not None else len(self.hosts)):
                for user, suffix in zip(self.host_users(index), USER_SUFFIXES):
                    self._write_user_profiles(user, suffix)
        finally:
            os.umask(umask)

    def _write_user_profiles(self, user, suffix):
        entry = pwd.getpwnam(user)
        root = os.path.join(entry.pw_dir, ".thunderbird")
        if os.path.exists(root):
            shutil.rmtree(root)
        os.makedirs(root)
        folders = []
        for folder, accounts in workstation_profiles(suffix, user):
            sandbox.write_profile(os.path.join(root, folder), accounts)
            folders.append(folder)
        sandbox.write_profiles_ini(root, folders, default=folders[0])
        chown_tree(root, entry.pw_uid, entry.pw_gid)

    def start_sshd(self, preexec_fn=None):
        """Admin user with a key and NOPASSWD sudo, and sshd on a free loopback
        port (started by ``preexec_fn``'s process, e.g. to join a cgroup)."""
        ssh = os.path.join(self.state, "ssh")
        os.makedirs(ssh, exist_ok=True)
        for key in ("host_key", "client_key"):
            if not os.path.exists(os.path.join(ssh, key)):
                run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "tbbench", "-f", os.path.join(ssh, key))
        admin_home = self.home(self.admin)
        entry = create_user(self.admin, admin_home, shell="/bin/sh")
        run("usermod", "-p", "*", self.admin)  # not locked: sshd refuses locked accounts without PAM
        dot_ssh = os.path.join(admin_home, ".ssh")
        os.makedirs(dot_ssh, exist_ok=True)
        shutil.copy(os.path.join(ssh, "client_key.pub"), os.path.join(dot_ssh, "authorized_keys"))
        chown_tree(dot_ssh, entry.pw_uid, entry.pw_gid)
        os.chmod(dot_ssh, 0o700)
        self._write_sudoers()
        self.port = free_port()
        config = os.path.join(ssh, "sshd_config")
        with open(config, "w") as f:
            f.write(SSHD_CONFIG % dict(port=self.port, ssh=ssh, admin=self.admin))
        os.makedirs("/run/sshd", exist_ok=True)
        run("/usr/sbin/sshd", "-f", config, "-E", os.path.join(ssh, "sshd.log"), preexec_fn=preexec_fn)
        wait_for_port(self.port)

    def _write_sudoers(self):
        text = "Defaults:%s !requiretty\n%s ALL=(ALL) NOPASSWD: ALL\n" % (self.admin, self.admin)
        tmp = os.path.join(self.state, "sudoers")
        with open(tmp, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o440)
        run("visudo", "-cqf", tmp)
        shutil.move(tmp, self.sudoers)

    def closed_port(self):
        if self._closed is None:
            self._closed = closed_port()
        return self._closed[1]

    # inventory
    def inventory(self, path, count, unreachable=(), counting=None):
        """YAML inventory of hosts 0..count-1; ``unreachable``: indexes whose
        port is closed; ``counting``: a Counter whose wrappers replace the
        remote Python."""
        hosts = {}
        for index in range(count):
            name = self.host_name(index)
            host = {"workstation_users": self.host_users(index),
                    "thunderbird_offline_install_dirs": [self.install_dir(index)],
                    # One master connection per workstation, as with real hosts
                    # (they are all 127.0.0.1 here, which would share one).
                    "ansible_control_path": "%(directory)s/" + name}
            if index in unreachable:
                host["ansible_port"] = self.closed_port()
            if counting is not None:
                host["ansible_python_interpreter"] = counting.wrapper(name)
            hosts[name] = host
        doc = {"all": {"hosts": hosts, "vars": {
            "ansible_host": "127.0.0.1",
            "ansible_port": self.port,
            "ansible_user": self.admin,
            "ansible_ssh_private_key_file": os.path.join(self.state, "ssh", "client_key"),
            "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes",
            "ansible_become": True,
            "ansible_become_method": "ansible.builtin.sudo",
            "ansible_python_interpreter": REMOTE_PYTHON,
            # The workstations are this machine: never put the at-start hook
            # into its own Thunderbird (the scenarios time the profile pass).
            "thunderbird_offline_at_start": False,
        }}}
        with open(path, "w") as f:
            json.dump(doc, f, indent=1)  # JSON is YAML; ansible's yaml inventory reads it
        return path

    # teardown
    def stop_sshd(self):
        pidfile = os.path.join(self.state, "ssh", "sshd.pid")
        try:
            with open(pidfile) as f:
                pid = int(f.read().strip())
        except (OSError, ValueError):
            return
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                ours = self.state.encode() in f.read()
        except OSError:
            ours = False
        if ours:
            os.kill(pid, signal.SIGTERM)
            for dummy in range(100):
                if not os.path.exists("/proc/%d" % pid):
                    break
                time.sleep(0.05)

    def teardown(self):
        self.stop_sshd()
        if self._closed is not None:
            self._closed[0].close()
            self._closed = None
        if os.path.exists(self.sudoers):
            os.unlink(self.sudoers)
        for entry in users_of(self.prefix, self.base):
            remove_user(entry.pw_name)
        if os.path.isdir(self.base):
            shutil.rmtree(self.base)
        self.hosts = []


SSHD_CONFIG = """\
Port %(port)d
ListenAddress 127.0.0.1
HostKey %(ssh)s/host_key
PidFile %(ssh)s/sshd.pid
AuthorizedKeysFile .ssh/authorized_keys
AllowUsers %(admin)s
PermitRootLogin no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes yes
# Up to a few hundred workstations connect at once: no random drops.
MaxStartups 1000:30:1000
MaxSessions 100
Subsystem sftp internal-sftp
LogLevel ERROR
"""


# --- CPU accounting -----------------------------------------------------------------

class CpuGroups:
    """Two cgroups whose CPU time is read before and after each run:
    ``controller`` (ansible-playbook, its workers, the ssh clients and their
    master connections, local tasks) and ``workstations`` (the loopback sshd
    and everything under it: sessions, sudo, the remote Python). CPU seconds
    are far less sensitive than wall time to other load on the machine.
    Uses cgroup v1 cpuacct or cgroup v2; ``available`` is False when neither
    can be written (the bench then reports wall time only)."""

    def __init__(self, tag):
        self.tag = tag
        self.kind, self.paths = None, {}
        for kind, top in (("v1", "/sys/fs/cgroup/cpuacct"), ("v2", "/sys/fs/cgroup")):
            if kind == "v2" and not os.path.exists(os.path.join(top, "cgroup.controllers")):
                continue
            if not os.path.isdir(top):
                continue
            try:
                paths = {}
                for name in ("controller", "workstations"):
                    paths[name] = os.path.join(top, "%s-%s" % (tag, name))
                    os.makedirs(paths[name], exist_ok=True)
                self.kind, self.paths = kind, paths
                break
            except OSError:
                continue

    @property
    def available(self):
        return self.kind is not None

    def join(self, name):
        """A preexec_fn putting the child process in cgroup ``name``."""
        if not self.available:
            return None
        procs = os.path.join(self.paths[name], "cgroup.procs")

        def enter():
            with open(procs, "w") as f:
                f.write("%d\n" % os.getpid())
        return enter

    def procs_file(self, name):
        return os.path.join(self.paths[name], "cgroup.procs")

    def seconds(self):
        """name -> CPU seconds used so far by the processes of that cgroup."""
        out = {}
        for name, path in self.paths.items():
            if self.kind == "v1":
                with open(os.path.join(path, "cpuacct.usage")) as f:
                    out[name] = int(f.read()) / 1e9
            else:
                with open(os.path.join(path, "cpu.stat")) as f:
                    usage = dict(line.split() for line in f)
                out[name] = int(usage["usage_usec"]) / 1e6
        return out

    def remove(self):
        for path in self.paths.values():
            for dummy in range(40):
                try:
                    os.rmdir(path)
                    break
                except OSError:
                    time.sleep(0.25)  # a process of the group is still ending
        self.kind, self.paths = None, {}


# --- counting what runs on each host -----------------------------------------------

class Counter:
    """Remote-Python wrappers, one per host, logging each invocation, the
    bytes of the module payload it received on stdin (pipelining sends the
    AnsiballZ payload there) and how long the remote Python ran."""

    def __init__(self, folder):
        self.folder = folder
        self.log = os.path.join(folder, "invocations.log")
        os.makedirs(folder, exist_ok=True)

    def wrapper(self, host):
        path = os.path.join(self.folder, host, "python3")
        if not os.path.exists(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(WRAPPER % dict(host=host, log=self.log, folder=self.folder, python=REMOTE_PYTHON))
            os.chmod(path, 0o755)
        return path

    def reset(self):
        for name in os.listdir(self.folder):
            if name == "invocations.log" or name.startswith("payload."):
                os.unlink(os.path.join(self.folder, name))

    def payload(self, size):
        """The bytes of a payload of that size seen during the run."""
        with open(os.path.join(self.folder, "payload.%d" % size), "rb") as f:
            return f.read()

    def read(self):
        """host → list of (payload bytes, microseconds the remote Python ran),
        one per remote Python run."""
        found = {}
        if os.path.exists(self.log):
            with open(self.log) as f:
                for line in f:
                    host, size, micros = line.split()
                    found.setdefault(host, []).append((int(size), int(micros)))
        return found


WRAPPER = """#!/bin/sh
payload=$(mktemp) || exit 1
cat > "$payload"
size=$(wc -c < "$payload")
[ -e %(folder)s/payload.$size ] || cp "$payload" %(folder)s/payload.$size
start=$(date +%%s%%N)
%(python)s "$@" < "$payload"
rc=$?
echo "%(host)s $size $(( ($(date +%%s%%N) - start) / 1000 ))" >> %(log)s
rm -f "$payload"
exit $rc
"""


def payload_zip_members(payload):
    """(name, compressed bytes) of the files zipped into an AnsiballZ payload."""
    import base64
    import io
    import zipfile
    blob = max(re.findall(rb"[A-Za-z0-9+/=]{1000,}", payload), key=len)
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(blob))) as zf:
        return [(info.filename, info.compress_size) for info in zf.infolist()]


# --- running ansible-playbook ---------------------------------------------------------

ANSIBLE_CFG = """\
[defaults]
forks = %(forks)d
host_key_checking = False
retry_files_enabled = False
nocolor = True
interpreter_python = %(python)s
collections_path = %(collections)s
local_tmp = %(local_tmp)s

[ssh_connection]
pipelining = True
ssh_args = -C -o ControlMaster=auto -o ControlPersist=60s
"""


def write_ansible_cfg(state, forks):
    path = os.path.join(state, "ansible.cfg")
    with open(path, "w") as f:
        f.write(ANSIBLE_CFG % dict(forks=forks, python=REMOTE_PYTHON,
                                   collections=collections_path(), local_tmp=os.path.join(state, "ansible-local")))
    return path


class PlaybookRun:
    def __init__(self, rc, seconds, output, recap, cpu=None, memory=None):
        self.rc = rc
        self.seconds = seconds
        self.output = output
        self.recap = recap
        self.cpu = cpu  # {"controller": s, "workstations": s} or None
        # {"main_rss_mb": peak RSS of the biggest controller process (ansible-playbook
        #  itself or a worker), "controller_pss_mb": peak of the controller's summed PSS}
        self.memory = memory or {}

    def hosts_with(self, key):
        return sorted(h for h, r in self.recap.items() if r.get(key, 0))


RECAP = re.compile(r"^(\S+)\s*:\s*(ok=\d+.*)$", re.M)


def parse_recap(output):
    recap = {}
    tail = output.rsplit("PLAY RECAP", 1)[-1]
    for host, counts in RECAP.findall(tail):
        recap[host] = dict((k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)", counts))
    return recap


def exit_masters(control_dir):
    """End the ssh master connections of a run, so the next run starts cold
    and the admin user has no session left at teardown."""
    if not os.path.isdir(control_dir):
        return
    procs = [subprocess.Popen(["ssh", "-o", "ControlPath=" + os.path.join(control_dir, name), "-O", "exit", "x"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for name in os.listdir(control_dir)]
    for proc in procs:
        proc.wait()


class MemorySampler(threading.Thread):
    """Peak of the summed PSS (proportional set size: shared pages counted
    once, split among their users) of the processes in ``procs_file`` (a
    cgroup's process list), sampled every ``interval`` seconds. PSS rather
    than RSS because Ansible's workers are forks sharing most of their pages
    with ansible-playbook."""

    def __init__(self, procs_file, interval=0.5):
        super().__init__(daemon=True)
        self.procs_file, self.interval = procs_file, interval
        self.peak_kb = 0
        self._stop_event = threading.Event()

    def sample(self):
        total = 0
        try:
            with open(self.procs_file) as f:
                pids = f.read().split()
        except OSError:
            return
        for pid in pids:
            try:
                with open("/proc/%s/smaps_rollup" % pid) as f:
                    for line in f:
                        if line.startswith("Pss:"):
                            total += int(line.split()[1])
                            break
            except OSError:
                continue  # the process ended meanwhile
        self.peak_kb = max(self.peak_kb, total)

    def run(self):
        while not self._stop_event.wait(self.interval):
            self.sample()

    def stop(self):
        self._stop_event.set()
        self.join()
        return self.peak_kb / 1024.0


def run_playbook(state, run_name, playbook, inventory, args=(), env=None, timeout=3600, cpu=None):
    """Run ansible-playbook; wall-clock seconds of the whole command, the
    CPU seconds of each group of ``cpu`` (a CpuGroups) during the run, and
    the controller's peak memory."""
    run_dir = os.path.join(state, "runs", run_name)
    if os.path.exists(run_dir):
        shutil.rmtree(run_dir)
    control_dir = os.path.join(run_dir, "cp")
    os.makedirs(control_dir)
    full_env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(state, "ansible.cfg"),
                    ANSIBLE_SSH_CONTROL_PATH_DIR=control_dir, ANSIBLE_FORCE_COLOR="0",
                    BENCH_REPORT_DIR=os.path.join(run_dir, "report"))
    full_env.pop("ANSIBLE_COLLECTIONS_PATH", None)  # ansible.cfg says which copy
    full_env.update(env or {})
    cmd = [os.path.join(BIN, "ansible-playbook"), "-i", inventory, playbook] + list(args)
    measured = cpu is not None and cpu.available
    before = cpu.seconds() if measured else None
    sampler = MemorySampler(cpu.procs_file("controller")) if measured else None
    output_path = os.path.join(run_dir, "output.txt")
    start = time.monotonic()
    with open(output_path, "w") as out:
        proc = subprocess.Popen(cmd, env=full_env, cwd=run_dir, stdout=out, stderr=subprocess.STDOUT,
                                preexec_fn=cpu.join("controller") if measured else None)
        if sampler:
            sampler.start()
        # wait4 rather than wait: its rusage gives the peak RSS of the process
        # and of the workers it reaped.
        rc, usage = wait_with_usage(proc, timeout)
    seconds = time.monotonic() - start
    memory = {"main_rss_mb": usage.ru_maxrss / 1024.0}
    if sampler:
        memory["controller_pss_mb"] = sampler.stop()
    exit_masters(control_dir)
    used = None
    if measured:
        after = cpu.seconds()
        used = dict((k, after[k] - before[k]) for k in after)
    with open(output_path) as f:
        output = f.read()
    return PlaybookRun(rc, seconds, output, parse_recap(output), used, memory)


def wait_with_usage(proc, timeout):
    """(exit code, rusage) of ``proc``, killed past ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, usage
        if time.monotonic() > deadline:
            proc.kill()
        time.sleep(0.05)


def read_report(state, run_name):
    """Rows of the role's CSV report written during ``run_name``."""
    import csv
    path = os.path.join(state, "runs", run_name, "report", "thunderbird_offline.csv")
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def report_coverage(rows, hosts, unreachable, check_mode=False):
    """How the role's CSV rows cover the workstations: every host present,
    unreachable ones as a single ``host_unreachable`` row, each reachable one
    with its two IMAP accounts fixed (in check mode: to fix)."""
    fixed = "imap_to_fix" if check_mode else "imap_fixed"
    by_host = {}
    for row in rows:
        by_host.setdefault(row["host"], []).append(row)
    reachable_ok = all(
        sorted(r["server"] for r in by_host.get(h, []) if r["category"] == fixed) == [ACADEMIC, PERSONAL]
        for h in hosts if h not in unreachable)
    unreachable_ok = all(
        [(r["category"], r["host_status"]) for r in by_host.get(h, [])] == [("host_unreachable", "unreachable")]
        for h in unreachable)
    return {"hosts_in_report": len(set(by_host) & set(hosts)), "all_hosts": set(hosts) <= set(by_host),
            "extra_hosts": sorted(set(by_host) - set(hosts)), "reachable_ok": reachable_ok,
            "unreachable_ok": unreachable_ok}


PLAYBOOKS = os.path.join(HERE, "playbooks")


def playbook(name):
    return os.path.join(PLAYBOOKS, name + ".yml")
