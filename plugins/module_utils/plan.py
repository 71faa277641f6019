# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan: snapshot + options → facts and changes (pure, no I/O).

The same function runs inside the Linux module and, for Windows hosts, on
the controller. Its input is the collect response of docs/design.md, its
output the facts and a commit request.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import json
import time

from ansible_collections.rectorat.thunderbird.plugins.module_utils import accounts as acc
from ansible_collections.rectorat.thunderbird.plugins.module_utils import budget
from ansible_collections.rectorat.thunderbird.plugins.module_utils import folders as fld
from ansible_collections.rectorat.thunderbird.plugins.module_utils import hook_report
from ansible_collections.rectorat.thunderbird.plugins.module_utils import mork
from ansible_collections.rectorat.thunderbird.plugins.module_utils import prefs
from ansible_collections.rectorat.thunderbird.plugins.module_utils import profiles as prof

PROTOCOL = 1
WRITABLE = ("prefs.js", "user.js", "folderCache.json")


class Options:
    def __init__(self, enforce=False, servers=None, sync_age_days=0, size_limit_kb=0,
                 if_running="skip", backup=True, stamp="backup", seconds=None, diff=True):
        self.enforce = enforce
        self.diff = diff
        self.servers = set(s.lower() for s in servers) if servers else None
        self.sync_age_days = sync_age_days
        self.size_limit_kb = size_limit_kb
        self.if_running = if_running
        self.backup = backup
        self.stamp = stamp
        # The host's time budget: no profile is planned past it.
        self.seconds = seconds
        self.deadline = None if seconds is None else time.monotonic() + seconds

    def out_of_time(self):
        return self.deadline is not None and time.monotonic() > self.deadline

    def wants(self, account):
        if account["type"] != "imap":
            return False
        return self.servers is None or (account["hostname"] or "").lower() in self.servers


def file_bytes(record):
    if not record or record.get("b64") is None:
        return None
    return base64.b64decode(record["b64"])


def collect_request(users=None, profile_paths=None, os_family="posix"):
    return {"protocol": PROTOCOL, "users": users, "profiles": profile_paths,
            "root_candidates": prof.root_candidates(os_family)}


class ProfileState:
    """The files of one profile as plan sees them, before or after changes."""

    def __init__(self, snap, sep, data=None):
        self.snap = snap
        self.sep = sep
        if data is None:
            data = dict((name, file_bytes(rec)) for name, rec in snap["files"].items())
        self.data = data
        self.errors = []
        self.prefs_doc = None
        self.user_doc = None
        self.values = {}
        self.cache = None
        self.summaries = {}

    def load(self):
        for name, rec in sorted(self.snap["files"].items()):
            if rec and rec.get("error"):
                self.errors.append(rec["error"])
        if self.errors:
            return
        if self.data.get("prefs.js") is None:
            self.errors.append("prefs.js is missing")
            return
        self.prefs_doc = self._parse("prefs.js")
        if self.data.get("user.js") is not None:
            self.user_doc = self._parse("user.js")
        if self.errors:
            return
        self.values = prefs.effective_values(*[d for d in (self.prefs_doc, self.user_doc) if d is not None])
        if self.data.get("folderCache.json") is not None:
            try:
                self.cache = fld.parse_folder_cache(self.data["folderCache.json"])
            except fld.FolderCacheError as exc:
                self.errors.append(str(exc))
        for rel, rec in (self.snap.get("msf") or {}).items():
            self.summaries[rel] = _read_summary(rel, rec)

    def changed(self, new_data, new_docs, new_cache):
        """This state with the planned changes applied, derived from what is
        already parsed rather than read again: the edited documents (whose
        values prefs.edit checked), the new folder cache as built, and the
        same summaries (commit writes no .msf)."""
        data = dict(self.data)
        data.update(new_data)
        after = ProfileState(self.snap, self.sep, data)
        after.prefs_doc = new_docs.get("prefs.js", self.prefs_doc)
        after.user_doc = new_docs.get("user.js", self.user_doc)
        after.values = prefs.effective_values(*[d for d in (after.prefs_doc, after.user_doc) if d is not None])
        after.cache = new_cache if "folderCache.json" in new_data else self.cache
        after.summaries = self.summaries
        return after

    def _parse(self, name):
        try:
            doc = prefs.parse(self.data[name])
        except prefs.PrefsTooLarge as exc:
            self.errors.append("%s: %s" % (name, exc))
            return None
        if doc.errors:
            self.errors.append("%s does not parse: %s" % (
                name, "; ".join(str(e) for e in doc.errors[:3])))
        return doc


def _read_summary(rel, rec):
    if rec is None:
        return None
    if rec.get("error"):
        return rec["error"]
    try:
        return mork.read_folder_info(file_bytes(rec))
    except mork.MorkError as exc:
        return "%s: %s" % (rel, exc)


def ownership_problem(snap):
    """Files not owned by the profile's user are never rewritten."""
    uid = snap.get("uid")
    if uid is None:
        return None
    for name in WRITABLE:
        rec = snap["files"].get(name)
        if rec and rec.get("uid") is not None and rec["uid"] != uid:
            return "%s is owned by uid %s, not by the profile's user %s (uid %s)" % (
                name, rec["uid"], snap.get("user"), uid)
    if snap.get("dir_uid") is not None and snap["dir_uid"] != uid:
        return "the profile folder is owned by uid %s, not by %s (uid %s)" % (
            snap["dir_uid"], snap.get("user"), uid)
    return None


def store_bytes(tree, store_rel):
    prefix = store_rel + "/"
    return sum(e["size"] for e in tree if e["type"] == "file" and e["rel"].startswith(prefix))


def disk_rel(tree, rel, sep):
    """Windows matches names without regard to case: the mail folder as named on disk."""
    if sep != "\\":
        return rel
    wanted = rel.lower()
    return next((e["rel"] for e in tree if e["type"] == "dir" and e["rel"].lower() == wanted), rel)


def account_facts(state, key, server_key):
    facts = acc.describe_account(state.values, key, server_key)
    snap, sep = state.snap, state.sep
    facts.update(folders_total=None, folders_offline=None, folders_not_offline=[],
                 store_path=None, store_bytes=None, backup_ready=None, problems=[])
    folders = []
    if server_key:
        rel, problem = acc.store_rel(state.values, server_key, snap["path"], sep)
        if problem:
            facts["problems"].append(problem)
        else:
            rel = disk_rel(snap["tree"], rel, sep)
            facts["store_path"] = fld.native_path(snap["path"], rel, sep)
            facts["store_bytes"] = store_bytes(snap["tree"], rel)
            if facts["type"] == "imap":
                folders = fld.account_folders(rel, snap["path"], sep, snap["tree"],
                                              state.cache, state.summaries)
    if facts["type"] == "imap":
        wanted = [f for f in folders if f.counted]
        facts["folders_total"] = len(wanted)
        facts["folders_offline"] = sum(1 for f in wanted if f.offline)
        facts["folders_not_offline"] = [f.name for f in wanted if not f.offline]
        facts["problems"].extend(f.problem for f in wanted if f.problem)
        facts["backup_ready"] = bool(
            facts["offline_download"] and facts["sync_age_days"] is None
            and facts["size_limit_kb"] is None
            and facts["folders_offline"] == facts["folders_total"])
    elif facts["type"] in acc.MAIL_TYPES_ON_DISK:
        facts["backup_ready"] = True
    return facts, folders


def wanted_prefs(state, server_key, options):
    """Server prefs to write so that Thunderbird keeps every message offline."""
    server = acc.ServerPrefs(state.values, server_key)
    changes = {}
    if server.get("offline_download") is False:
        changes[server.pref_name("offline_download")] = True
    if options.sync_age_days <= 0:
        if acc.effective_sync_age(server) is not None:
            changes[server.pref_name("autosync_max_age_days")] = -1
    elif acc.effective_sync_age(server) != options.sync_age_days:
        changes[server.pref_name("autosync_max_age_days")] = options.sync_age_days
    limit = acc.effective_size_limit(server)
    if options.size_limit_kb <= 0:
        if limit is not None:
            changes[server.pref_name("limit_offline_message_size")] = False
    elif limit != options.size_limit_kb:
        if server.get("limit_offline_message_size") is not True:
            changes[server.pref_name("limit_offline_message_size")] = True
        changes[server.pref_name("max_size")] = options.size_limit_kb
    return changes


def profile_identity(snap, root_info):
    """Name and default flag from the root's profiles.ini/installs.ini."""
    name = snap["path"].rstrip(snap.get("sep", "/")).replace("\\", "/").rsplit("/", 1)[-1]
    return root_info.get(_norm(snap["path"]), (name, False))


def _norm(path):
    return path.replace("\\", "/").rstrip("/").lower()


def read_roots(snapshot):
    """Map of normalised profile path → (name, default), and the profiles
    that profiles.ini lists outside their root."""
    sep = snapshot.get("sep", "/")
    known = {}
    outside = []
    for root in snapshot.get("roots", []):
        data = file_bytes((root.get("files") or {}).get("profiles.ini"))
        if not data:
            continue
        entries, installs = prof.read_profiles_ini(data)
        installs |= prof.install_defaults(file_bytes(root["files"].get("installs.ini")) or b"")
        for entry in entries:
            path, problem = prof.resolve_entry(root["path"], entry, sep)
            if problem:
                outside.append((root, entry.name, entry.path, problem))
                continue
            default = prof.is_default(entry, installs, len(entries) == 1)
            known[_norm(path)] = (entry.name or path, default)
            if not entry.is_relative and not _norm(path).startswith(_norm(root["path"]) + "/"):
                outside.append((root, entry.name, path,
                                "profiles.ini names a profile outside %s; pass its path in "
                                "`profiles` to include it" % root["path"]))
    return known, outside


def _base_record(snap, identity):
    return {
        "path": snap["path"], "name": identity[0], "user": snap.get("user"),
        "default": identity[1], "running": bool(snap.get("running")),
        "root": snap.get("root"), "redirected": bool(snap.get("redirected")), "version": None, "error": None,
        "status": None, "accounts": [], "changes": [],
    }


def _failed(record, message):
    """plan_profile's result for a profile refused with ``message``."""
    record.update(status="error", error=message)
    return record, None, []


def plan_profile(snap, sep, identity, options):
    """(facts record, commit entry or None, diffs) for one profile."""
    record = _base_record(snap, identity)
    record["version"] = prof.read_compatibility_version(file_bytes(snap["files"].get("compatibility.ini")))
    hook = snap["files"].get(hook_report.REPORT_NAME) or {}
    record["at_start"] = hook_report.at_start_facts(file_bytes(hook) if hook else None, hook.get("error"))
    snap = dict(snap, files=dict((n, r) for n, r in snap["files"].items() if n != hook_report.REPORT_NAME))
    problem = _refusal(snap)
    if problem:
        return _failed(record, problem)
    state = ProfileState(snap, sep)
    state.load()
    if state.errors:
        return _failed(record, "; ".join(state.errors))
    before = {}
    folder_map = {}
    for key, server_key in acc.account_list(state.values):
        facts, folders = account_facts(state, key, server_key)
        before[key] = facts
        folder_map[key] = folders
    record["accounts"] = list(before.values())
    if not options.enforce:
        record["status"] = "unchanged"
        return record, None, []

    pref_changes = {}
    new_cache, flagged = state.cache, []
    for key, facts in before.items():
        if not options.wants(facts):
            continue
        pref_changes.update(wanted_prefs(state, facts["server_key"], options))
        new_cache, account_flagged = fld.flag_offline(new_cache, folder_map[key])
        flagged.extend(account_flagged)
    new_data = {}
    try:
        new_docs = edited_prefs(state, pref_changes)
        new_data.update((name, doc.data) for name, doc in new_docs.items())
    except prefs.PrefsEditError as exc:
        return _failed(record, str(exc))
    if flagged:
        try:
            new_data["folderCache.json"] = fld.serialize_folder_cache(new_cache)
        except fld.FolderCacheError as exc:
            return _failed(record, str(exc))
    new_data = dict((n, d) for n, d in new_data.items() if d != state.data.get(n))

    record["changes"] = ["%s = %s" % (k, prefs.format_value(v)) for k, v in sorted(pref_changes.items())]
    record["changes"] += ["folder %s flagged offline" % f.name for f in flagged]
    if not new_data:
        record["status"] = "skipped_running" if snap.get("running") else "unchanged"
        return record, None, []
    if snap.get("running"):
        record["status"] = "skipped_running"
        if options.if_running == "fail":
            record["status"] = "error"
            record["error"] = "Thunderbird is running with this profile"
        return record, None, []

    after = after_facts(state.changed(new_data, new_docs, new_cache), before, options)
    record["accounts"] = [_before_after(before[k], after[k], options) for k in before]
    record["accounts_before"] = list(before.values())
    record["status"] = "changed"
    commit = {
        "path": snap["path"], "home": snap.get("home"), "uid": snap.get("uid"), "gid": snap.get("gid"),
        "writes": [{"rel": name, "expect_sha256": (snap["files"].get(name) or {}).get("sha256"),
                    "expect_size": (snap["files"].get(name) or {}).get("size"),
                    "b64": base64.b64encode(data).decode("ascii")}
                   for name, data in sorted(new_data.items())],
    }
    diffs = [file_diff(snap["path"], sep, name, state.data.get(name), data)
             for name, data in sorted(new_data.items())] if options.diff else []
    return record, commit, diffs


def after_facts(after_state, before, options):
    """Facts of each account once the changes are written: those of the
    accounts the changes are for, computed on the changed state; the others'
    are the facts before (no change touches their prefs or folders)."""
    servers = dict(acc.account_list(after_state.values))
    return dict((key, account_facts(after_state, key, servers.get(key))[0] if options.wants(facts) else facts)
                for key, facts in before.items())


_COMPARED = ("offline_download", "sync_age_days", "size_limit_kb", "folders_offline", "backup_ready")


def edited_prefs(state, pref_changes):
    """Parsed new prefs.js (and user.js where it sets a changed pref).
    prefs.edit refuses a file it cannot edit safely, e.g. one that a NUL byte
    ends early: PrefsEditError, with the file named."""
    out = {}
    if not pref_changes:
        return out
    wanted = {"prefs.js": pref_changes}
    if state.user_doc is not None:
        wanted["user.js"] = dict((k, v) for k, v in pref_changes.items() if k in state.user_doc.values)
    for name, changes in sorted(wanted.items()):
        if not changes:
            continue
        doc = state.prefs_doc if name == "prefs.js" else state.user_doc
        try:
            out[name] = prefs.edit_document(state.data[name], changes, doc=doc)[1]
        except prefs.PrefsEditError as exc:
            raise prefs.PrefsEditError("%s: %s" % (name, exc))
    return out


def _before_after(before, after, options):
    facts = dict(after)
    if options.wants(before):
        facts["before"] = dict((k, before[k]) for k in _COMPARED)
    return facts


def _refusal(snap):
    if snap.get("symlink"):
        return "refused: %s is a symbolic link below the home folder" % snap["symlink"]
    if snap.get("error"):
        return snap["error"]
    if snap.get("lock_error"):
        return "cannot tell whether Thunderbird runs: %s" % snap["lock_error"]
    if snap.get("tree_errors"):
        return "; ".join(snap["tree_errors"][:3])
    return ownership_problem(snap)


def _diff_text(name, data):
    if data is None:
        return ""
    if name == "folderCache.json":
        try:
            return json.dumps(json.loads(data.decode("utf-8")), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
        except ValueError:
            pass
    return data.decode("utf-8", "replace")


def file_diff(profile_path, sep, name, old, new):
    path = profile_path.rstrip(sep) + sep + name
    return {"before_header": path, "after_header": path,
            "before": _diff_text(name, old), "after": _diff_text(name, new)}


def summarize(records, host_errors=()):
    accounts = [a for r in records for a in r["accounts"]]
    imap = [a for a in accounts if a["type"] == "imap"]
    return {
        "profiles": len(records),
        "profiles_running": sum(1 for r in records if r["running"]),
        "profiles_error": sum(1 for r in records if r["error"]),
        "profiles_changed": sum(1 for r in records if r["status"] == "changed"),
        "accounts": len(accounts),
        "pop3": sum(1 for a in accounts if a["type"] == "pop3"),
        "imap": len(imap),
        "imap_backup_ready": sum(1 for a in imap if a["backup_ready"]),
        "imap_not_ready": sum(1 for a in imap if not a["backup_ready"]),
        "password_exposed": sum(1 for a in accounts if a["password_exposed"]),
        "backup_ready": sum(1 for a in accounts if a["backup_ready"]),
        "host_errors": len(host_errors),
    }


def contained_plan(snap, sep, identity, options):
    """plan_profile, within the host's time budget; a failure (MemoryError
    included) is this profile's error, never the host's."""
    if options.out_of_time():
        return _failed(_base_record(snap, identity), budget.time_exhausted_message(options.seconds))
    try:
        return plan_profile(snap, sep, identity, options)
    except Exception as exc:  # pylint: disable=broad-except
        return _failed(_base_record(snap, identity),
                       "the profile could not be planned: %s: %s" % (type(exc).__name__, exc))


def plan(snapshot, options):
    """Facts of every profile, and the commit request of ``options.enforce``."""
    sep = snapshot.get("sep", "/")
    known, outside = read_roots(snapshot)
    records, commits, diffs = [], [], []
    for root in snapshot.get("roots", []):
        if root.get("symlink"):
            records.append(dict(_base_record({"path": root["path"], "user": root.get("user"), "root": None},
                                             (root["path"], False)),
                                status="error",
                                error="refused: %s is a symbolic link below the home folder" % root["symlink"]))
    for snap in snapshot.get("profiles", []):
        record, commit, profile_diffs = contained_plan(snap, sep, profile_identity(snap, known), options)
        records.append(record)
        if commit:
            commits.append(commit)
        diffs.extend(profile_diffs)
    collected = set(_norm(s["path"]) for s in snapshot.get("profiles", []))
    for root, name, path, problem in outside:
        if _norm(path) not in collected:
            records.append(dict(_base_record({"path": path, "user": root.get("user"), "root": root["path"]},
                                             (name or path, False)), status="error", error=problem))
    return {
        "profiles": records,
        "summary": summarize(records, snapshot.get("errors", [])),
        "errors": list(snapshot.get("errors", [])),
        "commit": {"protocol": PROTOCOL, "backup": options.backup, "stamp": options.stamp,
                   "profiles": commits},
        "diff": diffs,
    }
