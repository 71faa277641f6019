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

    # The offline settings, the same for thunderbird_offline (written into
    # the profiles) and thunderbird_autoconfig (applied at every start).
    OFFLINE_SETTINGS = r'''
options:
  servers:
    description:
      - Only act on IMAP accounts whose server host name is in this list (case-insensitive).
      - By default every IMAP account.
    type: list
    elements: str
  sync_age_days:
    description:
      - Keep messages of the last this many days offline; V(0) keeps every message
        whatever its age.
    type: int
    default: 0
  size_limit_kb:
    description:
      - Do not keep messages larger than this many KB offline; V(0) means no limit.
    type: int
    default: 0
'''
