import pytest

from ansible_collections.rectorat.thunderbird.plugins.module_utils import accounts as acc


def server(**prefs):
    values = {"mail.accountmanager.accounts": "account1", "mail.account.account1.server": "server1",
              "mail.account.account1.identities": "id1", "mail.identity.id1.useremail": "a@ac.fr"}
    values.update(("mail.server.server1." + k, v) for k, v in prefs.items())
    return values


def describe(values):
    [(key, server_key)] = acc.account_list(values)
    return acc.describe_account(values, key, server_key)


def test_imap_defaults_apply_when_prefs_are_absent():
    facts = describe(server(type="imap", hostname="imap.ac.fr", userName="a"))
    assert facts["port"] == 143
    assert facts["socket_type"] == "plain"
    assert facts["auth_method"] == "password_cleartext"
    assert facts["password_exposed"] is True
    assert facts["offline_download"] is True
    assert facts["sync_age_days"] is None and facts["size_limit_kb"] is None
    assert facts["email"] == "a@ac.fr"


def test_default_branch_value_is_the_fallback():
    values = server(type="imap", hostname="h")
    values["mail.server.default.offline_download"] = False
    values["mail.server.default.autosync_max_age_days"] = 30
    facts = describe(values)
    assert facts["offline_download"] is False and facts["sync_age_days"] == 30
    values["mail.server.server1.offline_download"] = True
    assert describe(values)["offline_download"] is True


@pytest.mark.parametrize("sock,auth,port,exposed", [
    (3, 3, 993, False), (2, 3, 143, False), (0, 4, 143, False), (0, 10, 143, False),
    (1, 3, 143, True), (0, 2, 143, True), (0, 9, 143, True),
])
def test_security_class(sock, auth, port, exposed):
    facts = describe(server(type="imap", hostname="h", socketType=sock, authMethod=auth))
    assert facts["port"] == port
    assert facts["password_exposed"] is exposed


def test_legacy_is_secure_means_tls_and_real_hostname_wins():
    facts = describe(server(type="pop3", hostname="old", realhostname="new", isSecure=True))
    assert facts["socket_type"] == "tls" and facts["port"] == 995 and facts["hostname"] == "new"


def test_size_limit_and_age():
    facts = describe(server(type="imap", hostname="h", limit_offline_message_size=True,
                            autosync_max_age_days=0))
    assert facts["size_limit_kb"] == 50 and facts["sync_age_days"] is None
    facts = describe(server(type="imap", hostname="h", limit_offline_message_size=True, max_size=2048,
                            autosync_max_age_days=30))
    assert facts["size_limit_kb"] == 2048 and facts["sync_age_days"] == 30


def test_only_listed_accounts_count_once_each():
    values = server(type="imap", hostname="h")
    values["mail.accountmanager.accounts"] = "account1, account1,account9"
    values["mail.account.account7.server"] = "server7"
    assert acc.account_list(values) == [("account1", "server1"), ("account9", None)]


def test_store_folder_from_directory_rel_then_directory_then_hostname():
    values = server(type="imap", hostname="h")
    values["mail.server.server1.directory-rel"] = "[ProfD]ImapMail/imap.ac.fr"
    assert acc.store_rel(values, "server1", "/p", "/") == ("ImapMail/imap.ac.fr", None)
    del values["mail.server.server1.directory-rel"]
    values["mail.server.server1.directory"] = "C:\\U\\p\\ImapMail\\x"
    assert acc.store_rel(values, "server1", "c:\\u\\P", "\\") == ("ImapMail/x", None)
    values["mail.server.server1.directory"] = "/elsewhere/x"
    rel, problem = acc.store_rel(values, "server1", "/p", "/")
    assert rel is None and "outside the profile" in problem
    del values["mail.server.server1.directory"]
    assert acc.store_rel(values, "server1", "/p", "/") == ("ImapMail/h", None)


def test_directory_rel_cannot_climb_out():
    values = server(type="imap", hostname="h")
    values["mail.server.server1.directory-rel"] = "[ProfD]../../etc"
    rel, problem = acc.store_rel(values, "server1", "/p", "/")
    assert rel is None and "leaves the profile" in problem
