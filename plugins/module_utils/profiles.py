# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where Thunderbird keeps profiles, and how profiles.ini names them (pure)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

# Root folders below a home, relative, always with "/". Collect joins them to
# each home; the order is the order of the report.
POSIX_ROOTS = (
    (".thunderbird", "dot"),
    (".config/thunderbird", "xdg"),
    ("snap/thunderbird/common/.thunderbird", "snap"),
    (".var/app/org.mozilla.Thunderbird/.thunderbird", "flatpak:org.mozilla.Thunderbird"),
    (".var/app/org.mozilla.thunderbird/.thunderbird", "flatpak:org.mozilla.thunderbird"),
    (".var/app/org.mozilla.thunderbird_esr/.thunderbird", "flatpak:org.mozilla.thunderbird_esr"),
)
WINDOWS_ROOTS = (("AppData/Roaming/Thunderbird", "appdata"),)

_SECTION = re.compile(r"^\s*\[([^\]]*)\]\s*$")
_PROFILE_SECTION = re.compile(r"^Profile(\d+)$")


def root_candidates(os_family):
    roots = WINDOWS_ROOTS if os_family == "windows" else POSIX_ROOTS
    return [{"rel": rel, "kind": kind} for rel, kind in roots]


def parse_ini(data):
    """Read INI bytes as Mozilla's INI parser does.

    Returns an ordered list of (section, {key: value}); a section named twice
    is merged, later keys winning. A UTF-8 BOM and CRLF are accepted; lines
    starting with ``;`` or ``#`` are comments; keys are case-sensitive.
    """
    text = data.decode("utf-8", "replace")
    if text.startswith(u"\ufeff"):
        text = text[1:]
    sections = []
    by_name = {}
    current = None
    for raw in re.split(r"\r\n|\r|\n", text):
        line = raw.strip()
        if not line or line[0] in ";#":
            continue
        match = _SECTION.match(line)
        if match:
            name = match.group(1).strip()
            current = by_name.get(name)
            if current is None:
                current = {}
                by_name[name] = current
                sections.append((name, current))
            continue
        if current is None or "=" not in line:
            continue
        key, value = line.split("=", 1)
        current[key.strip()] = value.strip()
    return sections


class ProfileEntry:
    def __init__(self, name, path, is_relative, legacy_default):
        self.name = name
        self.path = path
        self.is_relative = is_relative
        self.legacy_default = legacy_default


def read_profiles_ini(data):
    """Return (entries, install_defaults) from profiles.ini (and installs.ini).

    Like Thunderbird, reading stops at the first missing ProfileN number.
    ``install_defaults`` is the set of ``Default=`` paths of [Install*] sections.
    """
    sections = dict(parse_ini(data))
    entries = []
    index = 0
    while "Profile%d" % index in sections:
        section = sections["Profile%d" % index]
        index += 1
        path = section.get("Path")
        if not path:
            continue
        entries.append(ProfileEntry(
            name=section.get("Name", ""),
            path=path,
            is_relative=section.get("IsRelative", "1") != "0",
            legacy_default=section.get("Default") == "1",
        ))
    return entries, _install_defaults((section for name, section in sections.items()
                                       if name.startswith("Install")))


def install_defaults(data):
    """The ``Default=`` paths of installs.ini, whose sections are named by
    the installation's hash alone (``[8216C80C92C4E828]``)."""
    return _install_defaults(section for name, section in parse_ini(data))


def _install_defaults(sections):
    return set(section["Default"] for section in sections if section.get("Default"))


def resolve_entry(root, entry, sep):
    """Native absolute path of a profiles.ini entry, or (None, reason).

    A relative path uses "/" even on Windows; a relative path that climbs out
    of the root with ".." is refused.
    """
    if entry.is_relative:
        parts = [p for p in re.split(r"[/\\]", entry.path) if p not in ("", ".")]
        if not parts or ".." in parts:
            return None, "profiles.ini path %r leaves the Thunderbird folder" % entry.path
        return root.rstrip(sep) + sep + sep.join(parts), None
    path = entry.path
    if sep == "\\":
        path = path.replace("/", "\\")
    return path, None


def is_default(entry, installs, single):
    """Thunderbird's default profile: named by an [Install] section, else the
    legacy ``Default=1``, else the only profile."""
    if installs:
        return entry.path in installs
    return entry.legacy_default or single


def read_compatibility_version(data):
    """``LastVersion`` of compatibility.ini, e.g. ``153.8.0_20250101000000/...`` → ``153.8.0``."""
    if not data:
        return None
    for name, section in parse_ini(data):
        if name == "Compatibility" and section.get("LastVersion"):
            return section["LastVersion"].split("_", 1)[0]
    return None
