"""The facts thunderbird_offline reports after its changes are derived from
the facts before plus the changes (no second parse): they must equal a full
parse of the written files, on every profile fixture and under every option.
(tests/hardening checks the same on the whole adversarial corpus.)"""

import os

import pytest

import after_facts
import sandbox
from test_plan_real_profiles import FIXTURES, snapshot

from ansible_collections.rectorat.thunderbird.plugins.module_utils import collect, plan

MSF_FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "msf")
OPTIONS = [
    dict(),
    dict(sync_age_days=30, size_limit_kb=2048),
    dict(servers=["127.0.0.1"]),
    dict(servers=["imap.other.example"]),
]


def check(snap, **options):
    planned = plan.plan(snap, plan.Options(enforce=True, stamp="t", **options))
    changed = [r for r in planned["profiles"] if r["status"] == "changed"]
    assert after_facts.mismatches(snap, planned["commit"], planned["profiles"]) == []
    return changed


@pytest.mark.parametrize("options", OPTIONS, ids=str)
@pytest.mark.parametrize("name", sorted(os.listdir(FIXTURES)))
def test_thunderbird_written_profiles(tmp_path, name, options):
    check(snapshot(name, tmp_path), **options)


@pytest.mark.parametrize("options", OPTIONS, ids=str)
@pytest.mark.parametrize("name", sorted(n for n in os.listdir(MSF_FIXTURES) if not n.endswith(".md")))
def test_msf_fixture_profiles(name, options):
    check(collect.collect({"profiles": [os.path.join(MSF_FIXTURES, name)]}), **options)


@pytest.mark.parametrize("options", OPTIONS, ids=str)
def test_profile_with_user_js_pop_and_several_imap_accounts(tmp_path, options):
    accounts = [sandbox.imap("127.0.0.1", "a"), sandbox.imap("imap.other.example", "b", offline=True),
                sandbox.pop("pop.example", "c"), sandbox.imap("imap3.example", "d", autosync_max_age_days=7)]
    path = sandbox.write_profile(str(tmp_path / "p.default"), accounts,
                                 user_js=sandbox.format_prefs({"mail.server.server1.offline_download": False}))
    changed = check(collect.collect({"profiles": [path]}), **options)
    if not options.get("servers"):
        assert changed, "the check must see a changed profile to mean anything"
