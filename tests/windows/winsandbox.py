# -*- coding: utf-8 -*-
"""Windows-shaped Thunderbird profiles for the twin (see twin.py for the layout).

Profiles are written by tests/lib/sandbox.py, then made to look as Windows
Thunderbird writes them: CRLF prefs.js, the servers' ``directory`` prefs and
folderCache.json keys as backslashed Windows paths, profiles.ini in CRLF.
"""

import json
import os

import sandbox


class Machine:
    def __init__(self, base):
        self.base = os.path.abspath(base)
        os.makedirs(os.path.join(self.base, "C"), exist_ok=True)
        self.profile_list = []
        self.hives = {}

    def host(self, path):
        """Host path of a Windows path, exactly as written (for building)."""
        if path.startswith("\\\\"):
            parts = ["UNC"] + [p for p in path[2:].split("\\") if p]
        else:
            parts = [path[0].upper()] + [p for p in path[2:].split("\\") if p]
        return os.path.join(self.base, *parts)

    def add_user(self, name, sid, home=None, account=True, appdata=None):
        """A ProfileList entry; ``appdata`` is the AppData value of the user's
        loaded hive (their AppData folder redirected)."""
        home = home or "C:\\Users\\%s" % name
        os.makedirs(self.host(home), exist_ok=True)
        self.profile_list.append({"sid": sid, "ProfileImagePath": home,
                                  "account": ("PC01\\%s" % name) if account is True else account})
        if appdata is not None:
            self.hives[sid] = {"AppData": appdata}
        self.save_registry()
        return home

    def save_registry(self):
        with open(os.path.join(self.base, "registry.json"), "w") as f:
            json.dump({"ProfileList": self.profile_list, "HKU": self.hives}, f, indent=1)

    def write_profile(self, path, accounts, **kwargs):
        """A profile at Windows path ``path``; returns its host path."""
        host = self.host(path)
        servers = dict(("mail.server.server%d.directory" % i,
                        "%s\\%s\\%s" % (path, "ImapMail" if a["type"] == "imap" else "Mail", a["host"]))
                       for i, a in enumerate(accounts, 1))
        servers["mail.server.server%d.directory" % (len(accounts) + 1)] = path + "\\Mail\\Local Folders"
        extra = dict(servers, **kwargs.pop("extra_prefs", {}))
        sandbox.write_profile(host, accounts, newline=kwargs.pop("newline", "\r\n"), extra_prefs=extra, **kwargs)
        self.windows_folder_cache(host, path)
        return host

    @staticmethod
    def windows_folder_cache(host, path):
        """folderCache.json keyed by Windows paths, as Thunderbird on Windows writes it."""
        cache_path = os.path.join(host, "folderCache.json")
        if not os.path.exists(cache_path):
            return
        stamp = os.stat(cache_path).st_mtime
        with open(cache_path, encoding="utf-8") as f:
            cache = json.load(f)
        windows = dict((path + key[len(host):].replace("/", "\\"), value) for key, value in cache.items())
        with open(cache_path, "w", encoding="utf-8") as f:
            json.dump(windows, f, ensure_ascii=False)
        os.utime(cache_path, (stamp, stamp))

    def write_profiles_ini(self, root, entries, default=None):
        """profiles.ini (CRLF) with (name, Path=, IsRelative) entries, and
        installs.ini naming ``default``."""
        host = self.host(root)
        os.makedirs(host, exist_ok=True)
        lines = ["[General]", "StartWithLastProfile=1", "Version=2", ""]
        if default:
            lines = ["[Install308046B0AF4A39CB]", "Default=%s" % default, "Locked=1", ""] + lines
            with open(os.path.join(host, "installs.ini"), "wb") as f:
                f.write(("[308046B0AF4A39CB]\r\nDefault=%s\r\nLocked=1\r\n" % default).encode("utf-8"))
        for index, (name, rel, relative) in enumerate(entries):
            lines += ["[Profile%d]" % index, "Name=%s" % name, "IsRelative=%d" % int(relative), "Path=%s" % rel, ""]
        with open(os.path.join(host, "profiles.ini"), "wb") as f:
            f.write("\r\n".join(lines).encode("utf-8"))
