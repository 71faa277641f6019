import json

from ansible_collections.rectorat.thunderbird.plugins.module_utils import folders as fld

P = "/home/a/.thunderbird/x.default"
STORE = "ImapMail/imap.ac.fr"


def tree(*rels):
    return [{"rel": r, "type": "file", "size": 1, "mtime": 1.0, "uid": 1} for r in rels]


def key(rel):
    return P + "/" + rel


def test_cache_entry_wins_and_trash_junk_are_not_wanted():
    cache = {key(STORE + "/INBOX.msf"): {"flags": 0x1004},
             key(STORE + "/Trash.msf"): {"flags": 0x104},
             key(STORE + "/Junk.msf"): {"flags": 0x40000004},
             key(STORE + "/Projets.sbd/2026.msf"): {"flags": 0x08000004}}
    folders = fld.account_folders(STORE, P, "/", tree(*[STORE + n for n in (
        "/INBOX.msf", "/Trash.msf", "/Junk.msf", "/Projets.sbd/2026.msf")]), cache, {})
    by_name = dict((f.name, f) for f in folders)
    assert set(by_name) == {"INBOX", "Trash", "Junk", "Projets/2026"}
    assert [n for n, f in sorted(by_name.items()) if f.wanted] == ["INBOX", "Projets/2026"]
    assert by_name["Projets/2026"].offline and not by_name["INBOX"].offline


def test_folder_known_only_to_the_cache_counts():
    cache = {key(STORE + "/Sent.msf"): {"flags": 0x204}, key(STORE): {"flags": 0x40004}}
    folders = fld.account_folders(STORE, P, "/", [], cache, {})
    assert [f.name for f in folders] == ["Sent"]


def test_summary_used_without_cache_entry_and_unknown_reported():
    folders = fld.account_folders(STORE, P, "/", tree(STORE + "/INBOX.msf", STORE + "/Old.msf"), {},
                                  {STORE + "/INBOX.msf": {"flags": "1004", "numMsgs": "14"},
                                   STORE + "/Old.msf": "Old.msf: truncated"})
    inbox, old = sorted(folders, key=lambda f: f.name)
    assert inbox.source == "summary" and inbox.flags == 0x1004
    assert old.flags is None and old.problem == "Old.msf: truncated" and old.wanted


def test_flag_offline_ors_cache_and_synthesises_missing_entries():
    cache = {key(STORE + "/INBOX.msf"): {"flags": 0x1004, "totalMsgs": 3, "hierDelim": 0x2e},
             key(STORE + "/Trash.msf"): {"flags": 0x104}}
    summaries = {STORE + "/New.msf": {"flags": "4", "numMsgs": "a", "numNewMsgs": "2",
                                      "onlineName": "New", "highestRecordedUID": "1f"},
                 STORE + "/Junk.msf": {"flags": "40000004"}}
    folders = fld.account_folders(STORE, P, "/", tree(STORE + "/New.msf", STORE + "/Junk.msf"),
                                  cache, summaries)
    new_cache, flagged = fld.flag_offline(cache, folders)
    assert sorted(f.name for f in flagged) == ["INBOX", "New"]
    assert new_cache[key(STORE + "/INBOX.msf")] == {"flags": 0x08001004, "totalMsgs": 3, "hierDelim": 0x2e}
    assert new_cache[key(STORE + "/Trash.msf")] == {"flags": 0x104}
    assert new_cache[key(STORE + "/New.msf")] == {
        "flags": 0x08000004, "totalMsgs": 10, "totalUnreadMsgs": 2, "pendingMsgs": 0,
        "pendingUnreadMsgs": 0, "expungedBytes": 0, "folderSize": -1,
        "onlineName": "New", "hierDelim": 0x2e, "serverTotal": 10, "nextUID": 0x20}
    assert new_cache[key(STORE + "/Junk.msf")]["flags"] == 0x40000004, "entry added, never flagged"
    assert cache[key(STORE + "/INBOX.msf")]["flags"] == 0x1004, "input left alone"
    again = fld.account_folders(STORE, P, "/", tree(STORE + "/New.msf"), new_cache, summaries)
    assert fld.flag_offline(new_cache, again)[1] == []


def test_nothing_to_flag_adds_no_entry():
    summaries = {STORE + "/Old.msf": {"flags": "8000004"}}
    folders = fld.account_folders(STORE, P, "/", tree(STORE + "/Old.msf"), {}, summaries)
    assert fld.flag_offline({}, folders) == ({}, [])


def test_delimiter_from_a_nested_folder_when_no_entry_has_one():
    summaries = {STORE + "/A.sbd/B.msf": {"flags": "4", "onlineName": "A.B"},
                 STORE + "/A.msf": {"flags": "1000004", "onlineName": "A"}}
    folders = fld.account_folders(STORE, P, "/", tree(*summaries), {}, summaries)
    assert fld.hierarchy_delimiter(folders) == ord(".")
    server_root = {key(STORE + "/X.msf"): {"flags": 4, "hierDelim": fld.UNKNOWN_DELIMITER}}
    folders = fld.account_folders(STORE, P, "/", tree(*summaries), server_root, summaries)
    assert fld.hierarchy_delimiter(folders) == ord("."), "94 means unknown"
    top_only = {STORE + "/A.msf": {"flags": "4", "onlineName": "A"}}
    folders = fld.account_folders(STORE, P, "/", tree(*top_only), {}, top_only)
    assert fld.hierarchy_delimiter(folders) is None


def test_noselect_parent_is_flagged_but_not_counted():
    cache = {key(STORE + "/Projets.msf"): {"flags": 0x1082014}}
    [parent] = fld.account_folders(STORE, P, "/", [], cache, {})
    assert parent.wanted and not parent.counted


def test_windows_keys_match_case_insensitively():
    wp = "C:\\Users\\A\\AppData\\Roaming\\Thunderbird\\Profiles\\x.default"
    cache = {"c:\\users\\a\\appdata\\roaming\\thunderbird\\profiles\\x.default\\ImapMail\\h\\INBOX.msf":
             {"flags": 0x1004}}
    folders = fld.account_folders("ImapMail/h", wp, "\\", tree("ImapMail/h/INBOX.msf"), cache, {})
    assert len(folders) == 1 and folders[0].source == "cache"
    new_cache, flagged = fld.flag_offline(cache, folders)
    assert list(new_cache) == list(cache) and len(flagged) == 1


def test_serialisation_round_trips_non_ascii_keys():
    cache = fld.parse_folder_cache(json.dumps({P + "/ImapMail/h/\u00c9l\u00e8ves.msf": {"flags": 4}},
                                              ensure_ascii=False).encode("utf-8"))
    assert fld.parse_folder_cache(fld.serialize_folder_cache(cache)) == cache
