"""plan on profiles written by the real Thunderbird 153 (tests/fixtures/tb-profiles)."""

import base64
import json
import os

from ansible_collections.rectorat.thunderbird.plugins.module_utils import collect, plan

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "tb-profiles")
RECORDED = "/tmp/e2e-measure/"


def snapshot(name, tmp_path):
    """Collect a copy of a fixture profile, cache keys moved to where it now lies."""
    src = os.path.join(FIXTURES, name)
    dst = tmp_path / name
    for root, _dirs, files in os.walk(src):
        for f in files:
            rel = os.path.relpath(os.path.join(root, f), src)
            os.makedirs(os.path.dirname(str(dst / rel)), exist_ok=True)
            data = open(os.path.join(root, f), "rb").read()
            if f == "folderCache.json":
                cache = json.loads(data)
                data = json.dumps(dict((k.replace(RECORDED + name, str(dst), 1), v)
                                       for k, v in cache.items())).encode()
            (dst / rel).write_bytes(data)
    return collect.collect({"profiles": [str(dst)]})


def enforce(snap):
    return plan.plan(snap, plan.Options(enforce=True, stamp="t"))


def imap_account(result):
    [profile] = result["profiles"]
    return [a for a in profile["accounts"] if a["type"] == "imap"][0]


def new_cache(result):
    [commit] = result["commit"]["profiles"]
    [write] = [w for w in commit["writes"] if w["rel"] == "folderCache.json"]
    return json.loads(base64.b64decode(write["b64"]))


def test_synced_offline_false_is_not_ready_and_gets_flagged(tmp_path):
    snap = snapshot("synced-offline-false", tmp_path)
    info = plan.plan(snap, plan.Options())
    account = imap_account(info)
    assert account["offline_download"] is False and account["backup_ready"] is False
    assert (account["folders_total"], account["folders_offline"]) == (3, 0)
    assert sorted(account["folders_not_offline"]) == ["&AMk-l&AOg-ves", "INBOX", "Projets/2026"]
    result = enforce(snap)
    assert imap_account(result)["backup_ready"] is True
    flags = dict((k.rsplit("/", 1)[-1], v["flags"]) for k, v in new_cache(result).items())
    assert flags["INBOX.msf"] == 0x8083014 and flags["2026.msf"] == 0x8082014
    assert flags["Projets.msf"] == 0x9082014, "as Thunderbird flags a \\Noselect parent"
    original = json.load(open(os.path.join(FIXTURES, "synced-offline-false", "folderCache.json")))
    original = dict((k.rsplit("/", 1)[-1], v["flags"]) for k, v in original.items())
    assert flags["Trash.msf"] == original["Trash.msf"] and flags["Junk.msf"] == original["Junk.msf"]


def test_synced_offline_true_is_ready_and_unchanged(tmp_path):
    snap = snapshot("synced-offline-true", tmp_path)
    result = enforce(snap)
    account = imap_account(result)
    assert account["backup_ready"] is True and account["store_bytes"] > 0
    assert result["commit"]["profiles"] == []


def test_killed_profile_gets_the_entries_thunderbird_would_write(tmp_path):
    """No folderCache.json: entries come from the .msf summaries, and match
    what Thunderbird itself wrote for the same folders after an orderly quit."""
    killed = snapshot("synced-killed", tmp_path)
    assert killed["profiles"][0]["files"]["folderCache.json"] is None
    result = enforce(killed)
    ours = dict((k.split("/ImapMail/", 1)[1], v) for k, v in new_cache(result).items())
    theirs_path = os.path.join(FIXTURES, "synced-offline-true", "folderCache.json")
    theirs = dict((k.split("/ImapMail/", 1)[1], v) for k, v in json.load(open(theirs_path)).items()
                  if "/ImapMail/" in k)
    assert set(ours) == set(k for k in theirs if k.endswith(".msf"))
    for rel, entry in ours.items():
        for member in ("flags", "hierDelim", "onlineName"):
            assert entry[member] == theirs[rel][member], (rel, member)
        assert entry["hierDelim"] == ord("/")
        assert entry["totalMsgs"] == entry["serverTotal"]
    assert imap_account(result)["folders_offline"] == 3
