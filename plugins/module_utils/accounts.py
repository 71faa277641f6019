# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Mail accounts as Thunderbird sees them in a profile's prefs (pure)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

# Built-in values of mail.server.default.* that matter here (mailnews.js).
BUILTIN_SERVER_DEFAULTS = {
    "offline_download": True,
    "autosync_max_age_days": -1,
    "limit_offline_message_size": False,
    "max_size": 50,
    "socketType": 0,
    "authMethod": 3,
    "leave_on_server": False,
}

SOCKET_TYPES = {0: "plain", 1: "starttls", 2: "starttls", 3: "tls"}
AUTH_METHODS = {
    0: "none", 1: "none", 2: "old_login", 3: "password_cleartext",
    4: "password_encrypted", 5: "gssapi", 6: "ntlm", 7: "tls_certificate",
    9: "any", 10: "oauth2",
}
# Methods that send the password itself over the connection.
_PASSWORD_IN_CLEAR = frozenset((2, 3, 9))
_DEFAULT_PORTS = {
    ("imap", False): 143, ("imap", True): 993,
    ("pop3", False): 110, ("pop3", True): 995,
    ("nntp", False): 119, ("nntp", True): 563,
}
MAIL_TYPES_ON_DISK = frozenset(("pop3", "none", "rss"))


def split_list(value):
    if not isinstance(value, str):
        return []
    return [item.strip() for item in value.split(",") if item.strip()]


class ServerPrefs:
    """Effective mail.server.<key>.* values: the server's own, then
    mail.server.default.*, then Thunderbird's built-in default."""

    def __init__(self, values, key):
        self.values = values
        self.key = key
        self.prefix = "mail.server.%s." % key

    def own(self, name):
        return self.values.get(self.prefix + name)

    def get(self, name, default=None):
        value = self.values.get(self.prefix + name)
        if value is None:
            value = self.values.get("mail.server.default." + name)
        if value is None:
            value = BUILTIN_SERVER_DEFAULTS.get(name, default)
        return value

    def pref_name(self, name):
        return self.prefix + name


def _int(value, default):
    if isinstance(value, bool) or not isinstance(value, int):
        return default
    return value


def socket_type(server):
    raw = server.get("socketType")
    if server.own("socketType") is None and server.get("isSecure") is True:
        raw = 3
    return _int(raw, 0)


def effective_sync_age(server):
    """None = every age; else the number of days Thunderbird keeps offline."""
    days = _int(server.get("autosync_max_age_days"), -1)
    return None if days <= 0 else days


def effective_size_limit(server):
    """None = no size limit; else the limit in KB."""
    if server.get("limit_offline_message_size") is not True:
        return None
    return _int(server.get("max_size"), 50)


def account_list(values):
    """Accounts Thunderbird loads: mail.accountmanager.accounts, in order,
    each with a server key."""
    accounts = []
    seen = set()
    for key in split_list(values.get("mail.accountmanager.accounts")):
        if key in seen:
            continue
        seen.add(key)
        server_key = values.get("mail.account.%s.server" % key)
        accounts.append((key, server_key if isinstance(server_key, str) else None))
    return accounts


def describe_account(values, key, server_key):
    """Facts of one account that depend on prefs only."""
    server = ServerPrefs(values, server_key or "")
    server_type = server.own("type") if server_key else None
    identities = split_list(values.get("mail.account.%s.identities" % key))
    email = None
    for identity in identities:
        email = values.get("mail.identity.%s.useremail" % identity)
        if email:
            break
    sock = socket_type(server)
    auth = _int(server.get("authMethod"), 3)
    hostname = server.own("realhostname") or server.own("hostname")
    username = server.own("realuserName") or server.own("userName")
    port = _int(server.own("port"), -1)
    if port <= 0:
        port = _DEFAULT_PORTS.get((server_type, sock == 3))
    is_imap = server_type == "imap"
    return {
        "key": key,
        "server_key": server_key,
        "name": server.own("name"),
        "type": server_type,
        "hostname": hostname,
        "port": port,
        "username": username,
        "email": email,
        "socket_type": SOCKET_TYPES.get(sock, "unknown"),
        "auth_method": AUTH_METHODS.get(auth, "unknown(%s)" % auth),
        "password_exposed": bool(
            server_type in ("imap", "pop3", "nntp")
            and sock in (0, 1) and auth in _PASSWORD_IN_CLEAR),
        "offline_download": (server.get("offline_download") is not False) if is_imap else None,
        "sync_age_days": effective_sync_age(server) if is_imap else None,
        "size_limit_kb": effective_size_limit(server) if is_imap else None,
        "leave_on_server": (server.get("leave_on_server") is True) if server_type == "pop3" else None,
        "deferred_to_account": server.own("deferred_to_account") if server_type == "pop3" else None,
        "store_type": store_type(server),
    }


def store_type(server):
    contract = server.get("storeContractID") or ""
    return "maildir" if "maildirstore" in contract else "mbox"


def store_rel(values, server_key, profile_path, sep):
    """The account's mail folder relative to the profile ("/"-separated),
    or (None, reason) when it lies outside the profile."""
    server = ServerPrefs(values, server_key)
    rel = server.own("directory-rel")
    if isinstance(rel, str) and rel.startswith("[ProfD]"):
        parts = [p for p in rel[len("[ProfD]"):].replace("\\", "/").split("/") if p not in ("", ".")]
        if parts and ".." not in parts:
            return "/".join(parts), None
        return None, "mail folder %s leaves the profile" % rel
    directory = server.own("directory")
    if isinstance(directory, str) and directory:
        prefix = profile_path.rstrip(sep) + sep
        matches = directory.lower().startswith(prefix.lower()) if sep == "\\" else directory.startswith(prefix)
        if matches:
            parts = [p for p in directory[len(prefix):].split(sep) if p]
            if ".." not in parts:
                return "/".join(parts), None
        return None, "mail folder %s is outside the profile" % directory
    hostname = server.own("hostname") or ""
    top = {"imap": "ImapMail", "pop3": "Mail", "none": "Mail", "rss": "Mail", "nntp": "News"}
    folder = top.get(server.own("type"))
    if not folder or not hostname:
        return None, "mail folder unknown"
    return "%s/%s" % (folder, hostname), None
