"""Ask the real Thunderbird which prefs it reads from a prefs.js.

One headless Thunderbird (started with ``--marionette``) reads many files: a
chrome-context script clears every user value (what
``Preferences::ResetUserPrefs`` does; it is not scriptable in 153) and calls
``Services.prefs.readUserPrefsFromFile(file)``. In gecko both go to the very
code a start uses (``Preferences::InitializeUserPrefs`` resets the user values,
then ``openPrefFile(file, PrefValueKind::User)`` for prefs.js and user.js), so
the file runs through libpref's own parser and ``pref_SetPref`` with the
built-in defaults in place. Parse errors are taken from Thunderbird's stderr
(``<path>:<line>: prefs parse error: <message>``), one unique path per file.

What Thunderbird sets by itself cannot mix in: the reset, the read and the
listing of every pref with a user value run in one synchronous script, so no
timer or startup task of Thunderbird runs in between. Chrome context needs
``--remote-allow-system-access`` in Thunderbird 153.

Marionette through marionette-driver (tests/lib/tbmarionette.py). Usage::

    with ThunderbirdPrefs() as tb:
        results = tb.read_files([(prefs_js,), (other_prefs_js, user_js)])

Byte-exact names and string values: libpref keeps them as bytes; XPConnect
hands ``ACString`` results and ``string`` arguments to JavaScript as one
character per byte, so they cross Marionette as Latin-1 text and come back
here as the original bytes.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
import tbmarionette  # noqa: E402  (tests/lib, the shared Marionette client)

THUNDERBIRD = os.environ.get("TBAGREE_THUNDERBIRD", "/usr/bin/thunderbird")
SCRIPT_TIMEOUT = 300  # seconds a batch of files may take in Thunderbird
SOCKET_TIMEOUT = SCRIPT_TIMEOUT + 60  # an answer comes once the script ended
# Test pref names start with one of these (h1. is the prefix of the unit test
# fixtures), so that Thunderbird has no built-in default for them and a default
# a file gives with pref()/sticky_pref() can be dropped before the next file.
PREFIXES = ("agree.", "h1.")

PREF_STRING, PREF_INT, PREF_BOOL = 32, 64, 128

# A start that opens no window asking for anything, reaches no network and
# leaves Marionette on a free port written to MarionetteActivePort.
QUIET_PREFS = {
    "marionette.port": 0,
    "remote.prefs.recommended": False,
    "mailnews.start_page.enabled": False,
    "mail.shell.checkDefaultClient": False,
    "mail.shell.checkDefaultMail": False,
    "mail.provider.enabled": False,
    "mail.rights.version": 1,
    "app.update.auto": False,
    "app.update.checkInstallTime": False,
    "extensions.update.enabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "datareporting.policy.dataSubmissionPolicyBypassNotification": True,
    "datareporting.healthreport.uploadEnabled": False,
    "toolkit.telemetry.enabled": False,
    "toolkit.telemetry.unified": False,
    "toolkit.telemetry.archive.enabled": False,
    "browser.shell.checkDefaultBrowser": False,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "extensions.getAddons.cache.enabled": False,
    "services.settings.server": "http://127.0.0.1:9/",
    "mail.cloud_files.enabled": False,
}

# Runs in Marionette's chrome context; ``arguments``: [[[path...], [name...]]...],
# prefixes. For each job: clear every user value and every pref under the
# prefixes, note the type each name has from a built-in default, read the
# files in order (as a start reads prefs.js, then user.js), then list every
# pref with a user value and every pref under the prefixes.
# No other code runs during the script, so the user values found after one
# read are all there is to clear before the next.
READ_SCRIPT = r"""
const [jobs, prefixes] = arguments;
const prefs = Services.prefs;
const defaults = prefs.getDefaultBranch("");
const get = (branch, name, type) =>
  type == prefs.PREF_STRING ? branch.getCharPref(name)
  : type == prefs.PREF_INT ? branch.getIntPref(name) : branch.getBoolPref(name);
const userNames = () => prefs.getChildList("").filter(n => prefs.prefHasUserValue(n));
// What Preferences::ResetUserPrefs (not scriptable in 153) does, pref by pref.
function reset(names) {
  for (const name of names) prefs.clearUserPref(name);
  for (const prefix of prefixes) prefs.deleteBranch(prefix);
  return names.filter(n => prefs.prefHasUserValue(n));
}
let user = userNames();
const results = [];
for (const [paths, names] of jobs) {
  const leftover = reset(user);
  const builtin = names.map(n => prefs.getPrefType(n));
  const failures = [];
  for (const path of paths) {
    const file = Cc["@mozilla.org/file/local;1"].createInstance(Ci.nsIFile);
    file.initWithPath(path);
    try {
      prefs.readUserPrefsFromFile(file);
      failures.push(null);
    } catch (e) {
      failures.push(String(e.name || e.result || e));
    }
  }
  user = userNames();
  const seen = new Set(user);
  for (const prefix of prefixes) for (const n of prefs.getChildList(prefix)) seen.add(n);
  const read = [];
  for (const name of seen) {
    const type = prefs.getPrefType(name);
    const hasDefault = prefs.prefHasDefaultValue(name);
    read.push([name, type, get(prefs, name, type), prefs.prefHasUserValue(name),
               hasDefault ? [get(defaults, name, type)] : null]);
  }
  results.push({builtin, leftover, failures, read});
}
reset(user);
return results;
"""


class ThunderbirdMissing(RuntimeError):
    pass


class FileResult:
    """What Thunderbird made of one file, or of files read one after the other.

    ``values``: name -> value it ends up with (user value, else a default the
    file gave under PREFIXES); ``user_names``: names with a user value;
    ``defaults``: name -> default value, for the names of ``values`` that
    have one (built-in or from the file); ``builtin_types``: name ->
    type of a built-in default (0 none) for the names asked about;
    ``errors``: for each file, the [(line, message)] printed on stderr, in
    order; ``failures``: for each file, the exception readUserPrefsFromFile
    raised (it does on any parse error) or None;
    ``leftover``: names that still had a user value right after the reset
    before the read (expected empty).
    """

    def __init__(self, paths, values, user_names, defaults, builtin_types, errors,
                 failures, leftover):
        self.paths = paths
        self.values = values
        self.user_names = user_names
        self.defaults = defaults
        self.builtin_types = builtin_types
        self.errors = errors
        self.failures = failures
        self.leftover = leftover


def to_js(text):
    """A pref name (str, surrogateescape) as the one-char-per-byte JS string."""
    return text.encode("utf-8", "surrogateescape").decode("latin-1")


def from_js(text):
    return text.encode("latin-1").decode("utf-8", "surrogateescape")


def missing():
    """Why Thunderbird cannot run here, or None."""
    if not os.access(THUNDERBIRD, os.X_OK):
        return "%s is not installed (apt-get install thunderbird)" % THUNDERBIRD
    return None


def pref_literal(value):
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(value)


def write_prefs(path, prefs):
    with open(path, "w", encoding="utf-8") as f:
        for name, value in prefs.items():
            f.write('user_pref("%s", %s);\n' % (name, pref_literal(value)))


class ThunderbirdPrefs:
    """One headless Thunderbird session that reads prefs files on request.

    ``workdir``: scratch folder (made under /tmp with prefix ``h5a-agree-``
    when None, and then removed on close). ``prefs_js``/``user_js``: bytes the
    profile starts with (default: QUIET_PREFS as prefs.js, no user.js).
    """

    def __init__(self, workdir=None, binary=THUNDERBIRD, start_timeout=90,
                 prefs_js=None, user_js=None):
        self.own_workdir = workdir is None
        self.workdir = workdir or tempfile.mkdtemp(prefix="h5a-agree-", dir="/tmp")
        self.binary = binary
        self.start_timeout = start_timeout
        self.profile = os.path.join(self.workdir, "profile")
        self.home = os.path.join(self.workdir, "home")
        self.stderr_path = os.path.join(self.workdir, "thunderbird.stderr")
        self.prefs_js = prefs_js
        self.user_js = user_js
        self.proc = None
        self.client = None
        self.startup_seconds = None
        self._launched_at = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()

    # -- session

    def start(self):
        self.launch()
        self.connect()

    def launch(self):
        """Start the process; connect() waits for it (do other work in between)."""
        reason = missing()
        if reason:
            raise ThunderbirdMissing(reason)
        os.makedirs(self.profile, exist_ok=True)
        os.makedirs(self.home, exist_ok=True)
        prefs_path = os.path.join(self.profile, "prefs.js")
        if self.prefs_js is None:
            write_prefs(prefs_path, QUIET_PREFS)
        else:
            with open(prefs_path, "wb") as f:
                f.write(self.prefs_js)
        if self.user_js is not None:
            with open(os.path.join(self.profile, "user.js"), "wb") as f:
                f.write(self.user_js)
        env = dict(os.environ, HOME=self.home, MOZ_HEADLESS="1",
                   MOZ_CRASHREPORTER_DISABLE="1",
                   XDG_CONFIG_HOME=os.path.join(self.home, ".config"))
        for var in ("DISPLAY", "WAYLAND_DISPLAY", "MOZ_LOG"):
            env.pop(var, None)
        self._launched_at = time.monotonic()
        with open(self.stderr_path, "wb") as err:
            # Chrome context (Services.prefs) needs -remote-allow-system-access.
            self.proc = subprocess.Popen(
                [self.binary, "--headless", "--marionette", "--remote-allow-system-access",
                 "--profile", self.profile],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                env=env, start_new_session=True)

    def connect(self):
        try:
            port = self._wait_port()
            self.client = tbmarionette.attach(port, timeout=SOCKET_TIMEOUT, chrome=True,
                                              script_timeout=SCRIPT_TIMEOUT)
        except BaseException:
            self.close()
            raise
        self.startup_seconds = time.monotonic() - self._launched_at

    def _wait_port(self):
        port_file = os.path.join(self.profile, "MarionetteActivePort")
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("Thunderbird exited at start (rc=%s): %s"
                                   % (self.proc.returncode, self.stderr_tail()))
            try:
                with open(port_file) as f:
                    text = f.read().strip()
                if text:
                    return int(text)
            except (OSError, ValueError):
                pass
            time.sleep(0.1)
        raise RuntimeError("no MarionetteActivePort after %ds: %s"
                           % (self.start_timeout, self.stderr_tail()))

    def stderr_tail(self, size=2000):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read()[-size:].decode("utf-8", "replace")
        except OSError:
            return ""

    def close(self, orderly=False):
        """Stop Thunderbird and its process group.

        ``orderly``: quit through Marionette first, which saves prefs.js;
        otherwise SIGKILL at once (nothing of the scratch profile is kept).
        """
        if self.client is not None:
            try:
                if orderly:
                    self.client.in_app_quit()
                else:
                    self.client.close()
            except tbmarionette.FAILURES:
                pass
            self.client = None
        if self.proc is not None:
            if orderly:
                try:
                    self.proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    pass
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
            self.proc = None
        if self.own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def execute(self, script, args):
        return self.client.execute_script(script, script_args=args)

    # -- reading files

    def read_files(self, jobs, names=None, batch=100):
        """FileResult for each job: a tuple of paths read one after the other.

        Paths are absolute, without ':' or a line end, and unique (they tell
        the errors of each file apart). ``names``: for each job, the names
        (str) whose built-in default type to report, e.g. every name the
        project's parser found.
        """
        names = names or [()] * len(jobs)
        results = []
        for i in range(0, len(jobs), batch):
            chunk = [[list(paths), [to_js(n) for n in wanted]]
                     for paths, wanted in zip(jobs[i:i + batch], names[i:i + batch])]
            offset = self._stderr_size()
            answers = self.execute(READ_SCRIPT, [chunk, list(PREFIXES)])
            errors = parse_errors(self._stderr_from(offset))
            for (paths, wanted), answer in zip(chunk, answers):
                results.append(_file_result(paths, wanted, answer, errors))
        return results

    def _stderr_size(self):
        return os.path.getsize(self.stderr_path)

    def _stderr_from(self, offset):
        with open(self.stderr_path, "rb") as f:
            f.seek(offset)
            return f.read()

    def prefixed_prefs(self):
        """FileResult-like view of every pref under PREFIXES, as they are now."""
        answer = self.execute(PREFIXED_SCRIPT, [list(PREFIXES)])
        return _file_result([], [], {"read": answer, "builtin": [], "leftover": [],
                                     "failures": []}, {})

    def stderr_errors(self, path):
        with open(self.stderr_path, "rb") as f:
            return parse_errors(f.read()).get(path, [])


PREFIXED_SCRIPT = r"""
const [prefixes] = arguments;
const prefs = Services.prefs;
const defaults = prefs.getDefaultBranch("");
const get = (branch, name, type) =>
  type == prefs.PREF_STRING ? branch.getCharPref(name)
  : type == prefs.PREF_INT ? branch.getIntPref(name) : branch.getBoolPref(name);
const out = [];
for (const prefix of prefixes) {
  for (const name of prefs.getChildList(prefix)) {
    const type = prefs.getPrefType(name);
    const user = prefs.prefHasUserValue(name);
    const hasDefault = prefs.prefHasDefaultValue(name);
    out.push([name, type, get(prefs, name, type), user,
              hasDefault ? [get(defaults, name, type)] : null]);
  }
}
return out;
"""


def read_at_start(data, workdir=None):
    """What a real start makes of ``data`` as the profile's prefs.js.

    The quiet-start prefs go to user.js, which Thunderbird reads after
    prefs.js. Only prefs under PREFIXES are reported (Thunderbird sets many of
    its own at start), with the parse errors printed for prefs.js.
    """
    user_js = "".join('user_pref("%s", %s);\n' % (name, pref_literal(value))
                      for name, value in QUIET_PREFS.items()).encode("utf-8")
    with ThunderbirdPrefs(workdir=workdir, prefs_js=data, user_js=user_js) as session:
        result = session.prefixed_prefs()
        result.paths = [os.path.join(session.profile, "prefs.js")]
        result.errors = [session.stderr_errors(result.paths[0])]
    return result


_ERROR_MARK = b": prefs parse error: "


def parse_errors(stderr):
    """path -> [(line, message)] from Thunderbird's stderr bytes."""
    found = {}
    for raw in stderr.split(b"\n"):
        head, mark, message = raw.partition(_ERROR_MARK)
        if not mark:
            continue
        path, _colon, line = head.rpartition(b":")
        found.setdefault(path.decode("utf-8", "surrogateescape"), []).append(
            (int(line), message.decode("utf-8", "surrogateescape")))
    return found


def _py_value(ptype, value):
    if ptype == PREF_STRING:
        return from_js(value)
    if ptype == PREF_BOOL:
        return bool(value)
    return int(value)


def _file_result(paths, names, answer, errors):
    values, user_names, defaults = {}, set(), {}
    for name, ptype, value, user, default in answer["read"]:
        name = from_js(name)
        values[name] = _py_value(ptype, value)
        if user:
            user_names.add(name)
        if default is not None:
            defaults[name] = _py_value(ptype, default[0])
    builtin = dict((from_js(n), t) for n, t in zip(names, answer["builtin"]))
    return FileResult(paths, values, user_names, defaults, builtin,
                      [errors.get(p, []) for p in paths],
                      answer["failures"], [from_js(n) for n in answer["leftover"]])
