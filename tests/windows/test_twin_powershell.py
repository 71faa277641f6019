"""The twin models Windows PowerShell 5.1, not Python: its helpers give what
PowerShell gives, and collect.ps1's discovery (``"profiles": null``, as the
plan sends it) runs. The first version of the script took the explicit-path
branch there, because ``@(Get-Field $Request 'profiles')`` has Count 1 over
a null; written in the twin line for line, that shape fails the same way."""

import pytest

from ansible_collections.rectorat.thunderbird.plugins.module_utils import plan

import sandbox
import twin
from twin import (array_subexpression, assigned, emit, emit_whole, ps_contains, ps_eq, ps_long, ps_ne, ps_string,
                  ps_true)
from twin_autoconfig import ps_like
from winsandbox import Machine

PROFILE = "C:\\Users\\alice\\AppData\\Roaming\\Thunderbird\\Profiles\\aaaa.default-esr"


def test_array_subexpression_over_null_has_one_element():
    assert array_subexpression(None) == [None]                  # @($null).Count -eq 1
    assert array_subexpression(emit(None)) == [None]            # @(f) where f does `return $null`
    assert array_subexpression(emit([])) == []                  # @(f) where f returns an empty array
    assert array_subexpression(["a", "b"]) == ["a", "b"]
    assert array_subexpression("a") == ["a"] and array_subexpression({"k": 1}) == [{"k": 1}]


def test_pipeline_unrolls_arrays_once():
    assert assigned(emit([])) is None                           # $x = f: nothing written is $null
    assert assigned(emit(["only"])) == "only"                   # a one-element array comes out as its element
    assert assigned(emit(["a", "b"])) == ["a", "b"]
    assert assigned(emit_whole(["only"])) == ["only"]           # return , $list keeps the list
    assert assigned(emit({"a": 1})) == {"a": 1}                 # dictionaries are not unrolled


def test_eq_is_case_insensitive_and_converts_to_the_left_type():
    assert ps_eq("Prefs.JS", "prefs.js") and not ps_ne("ABC", "abc")
    assert ps_eq(1, "1") and ps_eq(1, "01") and not ps_eq("01", 1)
    assert ps_eq(["a", "B", "c"], "b") == ["B"]                 # a collection on the left filters
    assert ps_eq(None, None) and not ps_eq(None, []) and not ps_eq("", None)
    assert ps_contains(["prefs.js", "user.js"], "USER.JS")


def test_hashtable_keys_ignore_case_and_keep_their_first_case():
    table = twin.Hashtable()
    table["Prefs.js"] = 1
    table["prefs.JS"] = 2
    assert table == {"Prefs.js": 2} and table["PREFS.JS"] == 2 and "prefs.js" in table
    assert table.pop("PREFS.js") == 2 and table == {}


def test_like_is_a_wildcard_without_regard_to_case_and_brackets_are_not_guessed():
    assert ps_like("Application.INI", "application.ini") and ps_like("Mozilla.CFG", "*.cfg")
    assert not ps_like("a.cfg.bak", "*.cfg") and ps_like("a.b", "?.?") and not ps_like("ab", "?")
    with pytest.raises(NotImplementedError):
        ps_like("b.js", "[!a]*")  # fnmatch would negate; PowerShell has no [!..]


def test_truth_and_casts():
    assert not ps_true(None) and not ps_true("") and not ps_true(0) and not ps_true([])
    assert ps_true("0") and ps_true("False") and ps_true([0, 0]) and not ps_true([0])
    assert ps_long(None) == 0 and ps_long("12") == 12 and ps_long(2.5) == 2
    assert ps_string(None) == "" and ps_string(True) == "True" and ps_string(["a", None, 1]) == "a  1"


def alice(tmp_path):
    machine = Machine(str(tmp_path))
    machine.add_user("alice", "S-1-5-21-1-1001")
    machine.write_profile(PROFILE, [sandbox.imap("imap.ac-test.fr", "alice")])
    return machine


def test_discovery_runs_for_the_request_the_plan_sends(tmp_path):
    alice(tmp_path)
    request = plan.collect_request(None, None, "windows")
    assert request["profiles"] is None
    response = twin.run_script(str(tmp_path), "collect", request)
    assert response["errors"] == []
    assert [p["path"] for p in response["profiles"]] == [PROFILE]


class FirstScriptShape(twin.Twin):
    """Invoke-Collect as collect.ps1 first had it: ``@(Get-Field ...)``."""

    def invoke_collect(self, request):
        max_bytes = twin.DEFAULT_MAX_FILE_BYTES
        self.budget = self.new_budget(request)
        errors, roots, profiles = [], [], []
        users = assigned(self.get_user_home(errors))
        paths = array_subexpression(self.get_field(request, "profiles"))     # $paths = @(Get-Field ...)
        if len(paths) > 0:
            for path in paths:
                self.add_explicit(ps_string(path), users, max_bytes, roots, profiles, errors)
            return {"errors": errors, "profiles": profiles}
        candidates = array_subexpression(self.get_field(request, "root_candidates"))
        for user in assigned(self.select_user(users, None, errors)):
            self.add_user_root(user, candidates, max_bytes, roots, profiles, errors)
        return {"errors": errors, "profiles": profiles}


def test_the_first_script_shape_fails_in_the_twin_as_it_did_on_windows(tmp_path):
    alice(tmp_path)
    response = FirstScriptShape(str(tmp_path)).invoke_collect(plan.collect_request(None, None, "windows"))
    assert response["errors"] == [" is not an absolute Windows path"]
    assert response["profiles"] == []


def test_a_list_of_one_path_is_still_a_list(tmp_path):
    alice(tmp_path)
    response = twin.run_script(str(tmp_path), "collect", plan.collect_request(None, [PROFILE.lower()], "windows"))
    assert response["errors"] == [] and [p["path"].lower() for p in response["profiles"]] == [PROFILE.lower()]
    assert response["profiles"][0]["files"]["prefs.js"]["b64"]
