from ansible_collections.rectorat.thunderbird.plugins.module_utils import profiles as prof


def test_parse_ini_merges_duplicate_sections_bom_and_crlf():
    data = b"\xef\xbb\xbf[General]\r\nVersion=2\r\n; comment\r\n[Profile0]\r\nName=a\r\n[Profile0]\r\nPath=x\r\n"
    sections = dict(prof.parse_ini(data))
    assert sections["General"] == {"Version": "2"}
    assert sections["Profile0"] == {"Name": "a", "Path": "x"}


def test_reading_stops_at_first_missing_profile_number():
    data = b"[Profile0]\nName=a\nPath=a.default\n[Profile2]\nName=c\nPath=c.default\n"
    entries, installs = prof.read_profiles_ini(data)
    assert [e.name for e in entries] == ["a"]
    assert installs == set()


def test_install_section_names_the_default():
    data = (b"[Install4F96D1932A9F858E]\nDefault=b.default\nLocked=1\n"
            b"[Profile0]\nName=a\nPath=a.default\nDefault=1\n[Profile1]\nName=b\nPath=b.default\n")
    entries, installs = prof.read_profiles_ini(data)
    assert installs == {"b.default"}
    assert [prof.is_default(e, installs, False) for e in entries] == [False, True]


def test_legacy_default_flag_without_install_section():
    entries, installs = prof.read_profiles_ini(b"[Profile0]\nPath=a\n[Profile1]\nPath=b\nDefault=1\n")
    assert [prof.is_default(e, installs, False) for e in entries] == [False, True]


def test_relative_path_uses_slash_and_native_separator():
    entry = prof.ProfileEntry("a", "Profiles/x.default", True, False)
    assert prof.resolve_entry("C:\\Users\\a\\AppData\\Roaming\\Thunderbird", entry, "\\") == (
        "C:\\Users\\a\\AppData\\Roaming\\Thunderbird\\Profiles\\x.default", None)
    assert prof.resolve_entry("/home/a/.thunderbird", entry, "/") == (
        "/home/a/.thunderbird/Profiles/x.default", None)


def test_relative_path_escaping_the_root_is_refused():
    entry = prof.ProfileEntry("evil", "../../../root/.thunderbird/x", True, False)
    path, problem = prof.resolve_entry("/home/a/.thunderbird", entry, "/")
    assert path is None and "leaves the Thunderbird folder" in problem


def test_absolute_windows_path_with_forward_slashes():
    entry = prof.ProfileEntry("d", "D:/Mail/tb", False, False)
    assert prof.resolve_entry("C:\\x", entry, "\\") == ("D:\\Mail\\tb", None)


def test_compatibility_version():
    data = b"[Compatibility]\r\nLastVersion=153.8.0_20260101000000/20260101000000\r\n"
    assert prof.read_compatibility_version(data) == "153.8.0"
    assert prof.read_compatibility_version(None) is None
    assert prof.read_compatibility_version(b"garbage") is None


def test_root_candidates_cover_dot_xdg_snap_and_flatpak():
    kinds = [c["kind"] for c in prof.root_candidates("posix")]
    assert kinds[:3] == ["dot", "xdg", "snap"]
    assert sum(k.startswith("flatpak:") for k in kinds) == 3
    assert prof.root_candidates("windows") == [{"rel": "AppData/Roaming/Thunderbird", "kind": "appdata"}]


def test_installs_ini_sections_are_bare_installation_hashes():
    """installs.ini as Thunderbird 153 writes it: no "Install" prefix."""
    data = b"[8216C80C92C4E828]\nDefault=abcd.default-esr\nLocked=1\n\n[F9B2A1C0D3E4F5A6]\nDefault=efgh.other\n"
    assert prof.install_defaults(data) == {"abcd.default-esr", "efgh.other"}
    entries, dummy = prof.read_profiles_ini(b"[Profile0]\nPath=abcd.default-esr\n[Profile1]\nPath=zz.x\n")
    assert [prof.is_default(e, prof.install_defaults(data), False) for e in entries] == [True, False]
