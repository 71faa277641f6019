# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r'''
options:
  users:
    description:
      - Local user names whose Thunderbird profiles are looked for.
      - When omitted, every local user is looked at. On Linux, every home of C(/etc/passwd);
        on Windows, every profile of the registry's ProfileList.
      - Ignored when O(profiles) is given.
    type: list
    elements: str
  profiles:
    description:
      - Paths to look at instead of discovering profiles. Each is either a profile folder
        (it holds C(prefs.js)) or a Thunderbird folder holding C(profiles.ini).
      - Use it for profiles started with C(--profile) or listed in C(profiles.ini) outside
        the Thunderbird folder.
    type: list
    elements: path
notes:
  - Looks in C(~/.thunderbird), C(~/.config/thunderbird), the snap folder
    C(~/snap/thunderbird/common/.thunderbird) and the flatpak folders
    C(~/.var/app/<id>/.thunderbird) on Linux, and in C(%APPDATA%\Thunderbird) on Windows.
  - A profile whose folder has a symbolic link below the home, whose C(prefs.js) does not
    parse, or whose files are not owned by its user is reported with an C(error) and never
    written; the other profiles of the host proceed.
  - Windows hosts are supported through an action plugin that runs the logic on the
    controller; see the collection README.
'''
