"""Helpers for the AutoConfig hook tests, on top of ``tbharness``.

- ``copy_installation``: a private copy of the machine's Thunderbird laid out
  like Debian's (``usr/lib/thunderbird`` whose ``defaults`` is a relative
  symlink into ``usr/share/thunderbird``), so that the hook is installed into
  the copy and never into ``/usr/lib/thunderbird``.
- ``run_until``: start Thunderbird without Marionette (e.g. in a namespace
  without network) until a predicate holds, then kill it.
- ``chrome_script``: run privileged JavaScript in a Thunderbird started by
  ``tbharness.Thunderbird`` (Marionette, chrome context).
"""

import json
import os
import shutil
import signal
import subprocess
import time

import tbharness as h

SYSTEM_LIB = "/usr/lib/thunderbird"
SYSTEM_SHARE = "/usr/share/thunderbird"
REPORT_NAME = "rectorat-offline.json"


def copy_installation(dest):
    """Copy the system Thunderbird under ``dest``; returns the lib folder.

    ``dest/usr/lib/thunderbird`` is a real copy (binary and libraries, its
    relative symlinks kept), ``dest/usr/share/thunderbird/defaults`` a real
    copy too (the hook writes there), the rest of ``usr/share`` links to the
    system's read-only files.
    """
    lib = os.path.join(dest, "usr", "lib", "thunderbird")
    share = os.path.join(dest, "usr", "share", "thunderbird")
    os.makedirs(os.path.dirname(lib), exist_ok=True)
    os.makedirs(share, exist_ok=True)
    subprocess.run(["cp", "-a", SYSTEM_LIB, lib], check=True)
    for name in os.listdir(SYSTEM_SHARE):
        src = os.path.join(SYSTEM_SHARE, name)
        if name == "defaults":
            subprocess.run(["cp", "-a", src, os.path.join(share, name)], check=True)
        else:
            os.symlink(src, os.path.join(share, name))
    os.symlink("/usr/share/hunspell", os.path.join(dest, "usr", "share", "hunspell"))
    if os.path.realpath(os.path.join(lib, "defaults")) == os.path.realpath(os.path.join(SYSTEM_LIB, "defaults")):
        raise RuntimeError("the copy's defaults resolve to the system's")
    return lib


def tree_bytes(path):
    """rel path -> bytes (files) or link target (symlinks), for exact comparisons."""
    result = {}
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            full = os.path.join(root, name)
            rel = os.path.relpath(full, path)
            if os.path.islink(full):
                result[rel] = ("link", os.readlink(full))
            elif os.path.isfile(full) and name not in ("libxul.so",):
                st = os.stat(full)
                with open(full, "rb") as f:
                    result[rel] = ("file", f.read(), st.st_mode, st.st_uid, st.st_gid)
    return result


def read_report(profile):
    try:
        with open(os.path.join(profile, REPORT_NAME), encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def report_completed(profile, after=0.0):
    """Predicate: the hook wrote its report at mail-startup-done after ``after``."""
    def check():
        path = os.path.join(profile, REPORT_NAME)
        try:
            if os.stat(path).st_mtime < after:
                return False
        except OSError:
            return False
        report = read_report(profile)
        return bool(report and report.get("completed"))
    return check


class PlainRun:
    """Thunderbird started without Marionette (``prefix`` e.g. ``unshare -n``)."""

    def __init__(self, profile, binary, prefix=()):
        self.profile = os.path.abspath(profile)
        self.binary = binary
        self.prefix = list(prefix)
        self.home = os.path.join(os.path.dirname(self.profile), "home-" + os.path.basename(self.profile))
        self.output_path = os.path.join(self.home, "thunderbird.out")
        self.proc = None

    def start(self):
        os.makedirs(self.home, exist_ok=True)
        env = dict(os.environ, HOME=self.home, MOZ_HEADLESS="1", MOZ_CRASHREPORTER_DISABLE="1",
                   XDG_CONFIG_HOME=os.path.join(self.home, ".config"))
        for var in ("DISPLAY", "WAYLAND_DISPLAY"):
            env.pop(var, None)
        out = open(self.output_path, "ab")
        self.proc = subprocess.Popen(self.prefix + [self.binary, "--headless", "--profile", self.profile],
                                     stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                     env=env, start_new_session=True)
        out.close()
        return self

    def wait_for(self, predicate, timeout, interval=0.3):
        """True when ``predicate()`` held, False after ``timeout`` or when Thunderbird exited."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if predicate():
                return True
            if self.proc.poll() is not None:
                return predicate()
            time.sleep(interval)
        return False

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def output(self):
        with open(self.output_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def stop(self):
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()


def run_until(profile, binary, predicate, timeout, prefix=()):
    """Start, wait for ``predicate``; returns (held, alive_at_the_end, output)."""
    run = PlainRun(profile, binary, prefix).start()
    try:
        held = run.wait_for(predicate, timeout)
        if held:
            time.sleep(1.0)  # an AutoConfig failure alert would end the process about now
        alive = run.alive()
    finally:
        run.stop()
    return held, alive, run.output()


def chrome_script(tb, script, args=None):
    """Run ``script`` (body of a function; ``arguments`` holds ``args``) in the
    chrome context of a running ``tbharness.Thunderbird``; returns its value."""
    client = h.Marionette(tb.marionette_port, timeout=60)
    try:
        client.send("WebDriver:NewSession", {"capabilities": {}})
        try:
            client.send("Marionette:SetContext", {"value": "chrome"})
            reply = client.send("WebDriver:ExecuteScript", {"script": script, "args": args or []})
        finally:
            client.send("WebDriver:DeleteSession", {})
    finally:
        client.close()
    return reply.get("value") if isinstance(reply, dict) else reply


def system_access_binary(lib, directory):
    """A launcher for the copy in ``lib`` that allows chrome-context Marionette
    scripts (Thunderbird 153 refuses them without ``-remote-allow-system-access``)."""
    path = os.path.join(directory, "thunderbird-system-access")
    with open(path, "w") as f:
        f.write('#!/bin/sh\nexec "%s" -remote-allow-system-access "$@"\n' % os.path.join(lib, "thunderbird"))
    os.chmod(path, 0o755)
    return path


def remove_tree(path):
    shutil.rmtree(path, ignore_errors=True)
