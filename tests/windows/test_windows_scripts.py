"""collect.ps1, commit.ps1, backup.ps1 and autoconfig.ps1: parsed by a real PowerShell grammar
(tree-sitter-powershell, run by node), checked for Windows PowerShell 5.1
compatibility and for mistakes that only running them would show, and
matched function for function by their Python twin.

Needs `npm ci` in tests/windows (see docs/windows.md); without node_modules
the grammar tests fail rather than skip, since they are the only check the
scripts get here.
"""

import json
import os
import re
import shutil
import subprocess

import pytest

from ansible_collections.rectorat.thunderbird.plugins.plugin_utils import windows_host

import twin
import twin_autoconfig
import twin_backup

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = dict((name, os.path.join(windows_host.SCRIPT_DIR, name + ".ps1")) for name in ("prelude", "collect", "commit", "backup", "autoconfig"))
RUNS = ("collect", "commit", "backup", "autoconfig")
TWINS = {"collect": twin.Twin, "commit": twin.Twin, "backup": twin_backup.BackupTwin,
         "autoconfig": twin_autoconfig.AutoconfigTwin}

# Windows PowerShell 5.1 cmdlets the scripts may call; anything else must be
# a function of the same script (a typo would otherwise only show on a host).
# "& $Body": the prelude's Invoke-Script runs the script's body, its one dynamic call.
CMDLETS = {"$body", "add-type", "new-object", "get-childitem", "get-item", "sort-object", "foreach-object", "write-verbose",
           "where-object", "convertto-json"}
AUTOMATIC = {"$_", "$null", "$true", "$false", "$input", "$pid", "$matches", "$env:systemdrive", "$env:systemroot",
             "$env:computername",
             "$erroractionpreference", "$progresspreference"}

UNCAST_FIELD = r"(^|[^\]])\(Get-Field[^()]*\)\s*-[ic]?(eq|ne|like|notlike|match|notmatch|gt|ge|lt|le)\b"
# PowerShell 6+ syntax, text I/O that would re-encode bytes, and comparisons
# that depend on the type of what the request holds.
FORBIDDEN = [
    (r"\?\?", "null-coalescing ?? is PowerShell 7"),
    (r"\?\.", "null-conditional ?. is PowerShell 7"),
    (r"\s\?\s[^:\n]+\s:\s", "ternary ? : is PowerShell 7"),
    (r"&&|\|\|", "pipeline chain operators are PowerShell 7"),
    (r"-Parallel\b", "ForEach-Object -Parallel is PowerShell 7"),
    (r"-AsHashtable\b|-AsArray\b|-EnumsAsStrings\b", "ConvertFrom/To-Json option of PowerShell 6+"),
    (r"\b(Join-String|Test-Json|Get-Error)\b", "cmdlet of PowerShell 6+"),
    (r"-Encoding\s+\w+", "text encoding: files are read and written as bytes"),
    (r"\b(Get-Content|Set-Content|Add-Content|Out-File)\b", "text cmdlet: files are read and written as bytes"),
    (r"::(ReadAllText|WriteAllText|ReadAllLines|WriteAllLines|AppendAllText)\b", "text API"),
    (r"\bclean\s*\{", "clean block is PowerShell 7.3"),
    # .NET Framework's managed hashes (and MD5) throw in FIPS mode (the "Use FIPS
    # compliant algorithms" policy); SHA256CryptoServiceProvider is the validated one.
    (r"\b(SHA1|SHA256|SHA384|SHA512|MD5|HashAlgorithm)\]::Create\b|\bSHA(1|256|384|512)Managed\b|\bMD5\w*Provider\b",
     "a hash .NET Framework refuses in FIPS mode: use SHA256CryptoServiceProvider"),
    (UNCAST_FIELD, "a request field compared uncast: the right side is converted to the left's type "
                   "($true -ceq 'write' is true); cast it first ([string], [long])"),
]
# No Thunderbird logic in PowerShell: the plan (Python) owns it.
THUNDERBIRD_LOGIC = [r"user_pref", r"mail\.server", r"mail\.account", r"IsRelative", r"offline",
                     r"0x0?8000000", r"\[Profile", r"autosync"]


def node_parse(paths, stdin=None):
    if not shutil.which("node"):
        pytest.fail("node is needed to parse the PowerShell scripts")
    if not os.path.isdir(os.path.join(HERE, "node_modules", "web-tree-sitter")):
        pytest.fail("run `npm ci` in tests/windows first (see docs/windows.md)")
    proc = subprocess.run(["node", "--liftoff-only", os.path.join(HERE, "parse_ps.mjs")] + list(paths), input=stdin,
                          capture_output=True, text=True, timeout=120, cwd=HERE, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def problems(parsed):
    """Syntax errors, unknown commands, wrong argument counts and variables
    read but never assigned, in one parsed script."""
    found = ["%(type)s at line %(row)d:%(column)d near %(text)r" % e for e in parsed["errors"]]
    functions = dict((f["name"].lower(), f["parameters"]) for f in parsed["functions"])
    for call in parsed["commands"]:
        name = (call["name"] or "").lower()
        if name in functions:
            if call["positional"] is not None and call["positional"] != functions[name]:
                found.append("line %d: %s called with %d arguments, takes %d" % (
                    call["row"], call["name"], call["positional"], functions[name]))
        elif name not in CMDLETS:
            found.append("line %d: unknown command %s" % (call["row"], call["name"]))
    assigned = set(v.lower() for v in parsed["assigned"])
    for variable in sorted(set(v.lower() for v in parsed["variables"]) - assigned - AUTOMATIC):
        found.append("variable %s is read but never assigned" % variable)
    return found


@pytest.fixture(scope="module")
def parsed(tmp_path_factory):
    """Each script as it runs: the prelude, then the script (see windows_host.load_script)."""
    folder = tmp_path_factory.mktemp("ps")
    paths = []
    for name in RUNS:
        path = folder / (name + ".ps1")
        path.write_bytes(windows_host.load_script(name))
        paths.append(str(path))
    return dict(zip(RUNS, node_parse(paths)))


@pytest.mark.parametrize("name", RUNS)
def test_script_parses_without_error_and_calls_only_what_exists(parsed, name):
    assert parsed[name]["functions"], "the grammar found no function: not a real parse"
    assert problems(parsed[name]) == []


def test_bootstrap_parses():
    result = node_parse(["-"], stdin=windows_host.BOOTSTRAP)[0]
    assert result["errors"] == []
    assert [c["name"] for c in result["commands"]] == ["Where-Object", "([ScriptBlock]::Create($script))"]


def test_checks_catch_what_they_look_for():
    bad = ("function Get-A {\n    param($X, $Y)\n    return $X\n}\n"
           "$v = $a ?? 2\nGet-A 1\nGet-B\n$w = $undefinedThing\n")
    found = problems(node_parse(["-"], stdin=bad)[0])
    assert any(p.startswith("ERROR") for p in found), found
    assert any("Get-A called with 1 arguments, takes 2" in p for p in found), found
    assert any("unknown command Get-B" in p for p in found), found
    assert any("$undefinedthing" in p for p in found), found


def test_an_uncast_field_comparison_is_found():
    """autoconfig.ps1's first shape: with a JSON true as action, the first
    line was true and the second false."""
    for line in ("if ((Get-Field $op 'action') -ceq 'write') {", "if ((Get-Field $op 'action') -cne 'write') {"):
        assert re.search(UNCAST_FIELD, line, re.I), line
    assert not re.search(UNCAST_FIELD, "if ([string](Get-Field $op 'action') -ceq 'write') {", re.I)
    assert not re.search(UNCAST_FIELD, "if ($null -ne (Get-Field $Request 'backup')) {", re.I)


@pytest.mark.parametrize("name", ("prelude",) + RUNS)
def test_script_is_windows_powershell_51_and_byte_exact(name):
    with open(SCRIPTS[name], "rb") as f:
        raw = f.read()
    assert not raw.startswith(b"\xef\xbb\xbf") and b"\r" not in raw and b"\t" not in raw
    raw.decode("ascii")  # Windows PowerShell reads a BOM-less script in the ANSI code page
    text = raw.decode("ascii")
    code = "\n".join(line.split("#", 1)[0] if line.lstrip().startswith("#") else line for line in text.splitlines())
    for pattern, why in FORBIDDEN:
        match = re.search(pattern, code, re.I)
        assert match is None, "%s.ps1: %r: %s" % (name, match.group(0), why)
    for pattern in THUNDERBIRD_LOGIC:
        assert re.search(pattern, code, re.I) is None, "%s.ps1 holds Thunderbird logic: %s" % (name, pattern)
    for number, line in enumerate(text.splitlines(), 1):
        assert len(line) <= 160, "%s.ps1:%d longer than 160 characters (pslint)" % (name, number)
        assert (len(line) - len(line.lstrip(" "))) % 4 == 0, "%s.ps1:%d indentation" % (name, number)


@pytest.mark.parametrize("name", RUNS)
def test_twin_has_every_function_of_the_script(parsed, name):
    """The twin mirrors the script function for function: Get-ChildEntry is
    Twin.get_child_entry."""
    for function in parsed[name]["functions"]:
        method = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", function["name"]).replace("-", "_").lower()
        assert hasattr(TWINS[name], method), "the twin of %s.ps1 lacks %s (%s)" % (name, method, function["name"])


def test_command_line_fits_windows_and_input_is_ascii():
    command = windows_host.encoded_command()
    assert command.startswith(windows_host.COMMAND_PREFIX) and len(command) < 8191
    payload = windows_host.stdin_payload(windows_host.load_script("commit"), {"a": "é\u20ac"})
    payload.decode("ascii")
    assert payload.count(b"\n") == 2


@pytest.mark.parametrize("name", RUNS)
def test_the_prelude_is_sent_once_in_front_of_the_script(name):
    sent = windows_host.load_script(name)
    with open(SCRIPTS["prelude"], "rb") as f:
        prelude = f.read()
    with open(SCRIPTS[name], "rb") as f:
        script = f.read()
    assert sent == prelude + b"\n" + script
    code = [line for line in sent.decode("ascii").splitlines() if line.strip() and not line.lstrip().startswith("#")]
    # param() must be the first statement of what runs; the scripts have none of their own.
    assert code[0] == "param([string]$RequestB64)"
    assert sum(line.startswith("param(") for line in code) == 1
    assert sent.count(b"function Get-ListField {") == 1


def fake_windows_host(root):
    from ansible.playbook.play_context import PlayContext
    from ansible.plugins.loader import connection_loader
    connection_loader.add_directory(os.path.join(HERE, "connection_plugins"))
    connection = connection_loader.get("fakewin", PlayContext(), None)
    connection.set_options(var_options={"fakewin_root": root})
    return connection


@pytest.mark.parametrize("change", ["none", "prelude", "script"])
def test_the_test_host_runs_only_the_prelude_and_script_byte_for_byte(tmp_path, change):
    with open(SCRIPTS["prelude"], "rb") as f:
        prelude = f.read()
    with open(SCRIPTS["collect"], "rb") as f:
        script = f.read()
    if change == "prelude":
        prelude = prelude.replace(b"@($value)", b"$value")
    elif change == "script":
        script += b"\n"
    request = {"protocol": 1, "users": None, "profiles": None, "root_candidates": []}
    rc, stdout, stderr = fake_windows_host(str(tmp_path)).exec_command(
        windows_host.encoded_command(), in_data=windows_host.stdin_payload(prelude + b"\n" + script, request))
    if change == "none":
        assert rc == 0 and windows_host.parse_response("collect", {"rc": rc, "stdout": stdout.decode()})["os"] == "windows"
    else:
        assert rc == 1 and b"not one this host knows" in stderr
