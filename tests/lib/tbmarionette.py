"""The one Marionette client of the tests that drive the real Thunderbird
(tests/e2e/tbharness.py, tests/agreement/tbprefs.py): Mozilla's
``marionette-driver`` (PyPI), attached to a Thunderbird the test started
itself.

The tests start Thunderbird themselves (their own profile, whose prefs.js
they check byte for byte, and Marionette on a free port read from
MarionetteActivePort), so marionette-driver does not launch it: it would
write its own prefs into the profile through mozprofile. Its ``quit()``
only quits an application it launched, hence ``in_app_quit`` below, which
sends the same ``Marionette:Quit`` command its in-app quit sends.
"""

import warnings

# mozinfo (imported by marionette-driver) calls a deprecated distro function
# at import; nothing to act on here.
warnings.filterwarnings("ignore", message=r"distro\.linux_distribution", category=DeprecationWarning)

from marionette_driver import errors  # noqa: E402
from marionette_driver.marionette import Marionette  # noqa: E402
from marionette_driver.transport import TcpTransport  # noqa: E402

HOST = "127.0.0.1"

# What a failed Marionette exchange raises: the driver's errors, a closed or
# silent socket, a malformed packet.
FAILURES = (errors.MarionetteException, OSError, ValueError)

__all__ = ["AttachedMarionette", "FAILURES", "TcpTransport", "attach", "errors"]


class AttachedMarionette(Marionette):
    """marionette-driver's client of an application it did not launch."""

    def in_app_quit(self):
        """Ask the application to quit as a user would (prefs.js and the
        folder cache are saved); the session ends. Returns the quit details
        (``cause``, ``forced``)."""
        try:
            return self._request_in_app_shutdown()
        finally:
            self.delete_session(send_request=False)

    def close(self):
        """Leave the application running; end the session and the connection."""
        if self.session is not None:
            try:
                self.delete_session()
            except FAILURES:
                self.delete_session(send_request=False)
        self.cleanup_ran = True


def attach(port, timeout=60, chrome=False, script_timeout=None):
    """A session on the Marionette server listening on ``port``.

    ``timeout``: seconds to wait for the server and for each answer;
    ``chrome``: run scripts in chrome context (Thunderbird 153 needs
    ``--remote-allow-system-access`` for it); ``script_timeout``: seconds a
    script may run.
    """
    client = AttachedMarionette(host=HOST, port=port, socket_timeout=timeout, startup_timeout=timeout)
    try:
        client.start_session({})
        if chrome:
            client.set_context(client.CONTEXT_CHROME)
        if script_timeout is not None:
            client.timeout.script = script_timeout
    except BaseException:
        client.close()
        raise
    return client
