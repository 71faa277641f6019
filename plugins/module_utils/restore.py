# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Restore of an archived profile: the decisions (pure, no I/O).

Which folder receives the profile, and the new profiles.ini / installs.ini
that make it the profile of the next Thunderbird start.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.rectorat.thunderbird.plugins.module_utils import backup as bk
from ansible_collections.rectorat.thunderbird.plugins.module_utils import profiles as prof


def target_folder(profiles_ini, name):
    """Relative folder of the profile named ``name``: the one profiles.ini
    already gives that name (a relative path inside the root), else a new
    folder named after it."""
    if profiles_ini:
        entries, _installs = prof.read_profiles_ini(profiles_ini)
        for entry in entries:
            if entry.name == name and entry.is_relative:
                parts = [p for p in entry.path.replace("\\", "/").split("/") if p not in ("", ".")]
                if parts and ".." not in parts:
                    return "/".join(parts)
    return bk.safe_component(name)


def _render(sections):
    lines = []
    for name, values in sections:
        lines.append("[%s]" % name)
        lines.extend("%s=%s" % (k, v) for k, v in values.items())
        lines.append("")
    return ("\n".join(lines)).encode("utf-8")


def _sections(data):
    return [(name, dict(values)) for name, values in prof.parse_ini(data or b"")]


def registered(profiles_ini, installs_ini, name, rel, default):
    """(new profiles.ini, new installs.ini or None): the profile ``rel``
    listed under ``name``; with ``default``, the one every install and the
    legacy ``Default=1`` name."""
    sections = _sections(profiles_ini)
    if not any(n == "General" for n, _v in sections):
        sections.insert(0, ("General", {"StartWithLastProfile": "1", "Version": "2"}))
    profile_sections = []
    index = 0
    names = dict(sections)
    while "Profile%d" % index in names:
        profile_sections.append(names["Profile%d" % index])
        index += 1
    ours = next((v for v in profile_sections if v.get("Path") == rel and v.get("IsRelative", "1") != "0"), None)
    if ours is None:
        ours = {"Name": name, "IsRelative": "1", "Path": rel}
        new_name = "Profile%d" % index
        # Keep ProfileN sections together, before any Install section.
        at = max([i for i, (n, _v) in enumerate(sections) if n.startswith("Profile") or n == "General"]) + 1
        sections.insert(at, (new_name, ours))
    ours["Name"] = name
    if default:
        for values in profile_sections:
            values.pop("Default", None)
        ours["Default"] = "1"
        for section_name, values in sections:
            if section_name.startswith("Install"):
                values["Default"] = rel
    new_installs = None
    if installs_ini is not None:
        installs = _sections(installs_ini)
        if default:
            for _n, values in installs:
                values["Default"] = rel
        new_installs = _render(installs)
    return _render(sections), new_installs
