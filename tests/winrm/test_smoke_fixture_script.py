"""scripts/windows_smoke/fixture.ps1 gets the checks collect.ps1 and
commit.ps1 get (tests/windows/test_windows_scripts.py): a real PowerShell
grammar, only known commands, Windows PowerShell 5.1, bytes not text."""

import re

from test_windows_scripts import FORBIDDEN, node_parse, problems

import smoke_twin


def test_fixture_script_parses_and_is_windows_powershell_51():
    [parsed] = node_parse([smoke_twin.SCRIPT])
    assert parsed["commands"], "the grammar found no command: not a real parse"
    assert problems(parsed) == []
    raw = smoke_twin.script_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf") and b"\r" not in raw and b"\t" not in raw
    text = raw.decode("ascii")
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    for pattern, why in FORBIDDEN:
        match = re.search(pattern, code, re.I)
        assert match is None, "fixture.ps1: %r: %s" % (match.group(0), why)
    assert all(len(line) <= 160 and (len(line) - len(line.lstrip(" "))) % 4 == 0 for line in text.splitlines())


def test_fixture_twin_writes_nothing_outside_its_folder(tmp_path):
    (tmp_path / "C").mkdir()
    for index, rel in enumerate(("..\\evil.txt", "C:\\evil.txt", "\\evil.txt", "a\\..\\..\\evil.txt")):
        answer = smoke_twin.run(str(tmp_path), {"action": "create", "folder": "C:\\smoke%d" % index,
                                                "files": [{"path": rel, "data": "", "age": 0}]})
        assert "not a path inside the folder" in answer["fatal"], rel
    assert "evil.txt" not in str(sorted(p.name for p in tmp_path.rglob("*")))
    for folder in ("C:relative", "\\rooted-on-the-current-drive", "smoke", "C:\\smoke\\"):
        assert "not an absolute folder" in smoke_twin.run(str(tmp_path), {"action": "create", "folder": folder})["fatal"]
