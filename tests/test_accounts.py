"""Accounts: the login throttle (per username and address, per username, per address),
password reset by e-mail, and password change."""

import re

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

OFFICE = "203.0.113.7"  # a newsroom's one shared address


@pytest.fixture(autouse=True)
def clear_throttle():
    cache.clear()
    yield
    cache.clear()


def log_in(username: str, password: str, address: str = OFFICE) -> tuple[Client, str]:
    """A fresh browser at `address`: (the client, the login form's error text or "")."""
    client = Client(REMOTE_ADDR=address)
    response = client.post(reverse("login"), {"username": username, "password": password})
    if response.status_code == 302:
        return client, ""
    errors = re.findall(r'<ul class="errorlist" role="alert"><li>(.*?)</li>', response.content.decode())
    return client, " ".join(errors)


def test_five_typos_lock_only_that_person_at_that_address(alice, bob):
    for _ in range(5):
        assert "Please enter a correct username and password" in log_in("alice", "wrong")[1]
    # Alice is held back here, with a sentence that says when to try again ...
    assert log_in("alice", "alice-password")[1] == "Too many failed log-in attempts. Try again in 15 minutes."
    # ... while Bob, behind the same address, logs in, and so does Alice from home.
    client, error = log_in("bob", "bob-password")
    assert error == "" and client.session["_auth_user_id"] == str(bob.pk)
    assert log_in("alice", "alice-password", address="198.51.100.20")[1] == ""


def test_the_per_address_ceiling_locks_every_username_from_that_address(bob, settings):
    settings.LOGIN_FAILURE_ADDRESS_LIMIT = 12
    for n in range(12):  # two tries at each of six names: no single name reaches its limit
        log_in(f"someone-{n // 2}", "guess")
    assert log_in("bob", "bob-password")[1] == (
        "Too many failed log-in attempts from your network. Try again in 15 minutes."
    )
    assert log_in("bob", "bob-password", address="198.51.100.20")[1] == ""


def test_the_per_username_limit_locks_that_user_from_any_address(alice, bob, settings):
    settings.LOGIN_FAILURE_USER_LIMIT = 8
    for n in range(8):  # one guess from each of eight machines
        log_in("alice", "guess", address=f"192.0.2.{n + 1}")
    assert log_in("alice", "alice-password", address="198.51.100.99")[1] == (
        "Too many failed log-in attempts for this account. Try again in 15 minutes."
    )
    assert log_in("bob", "bob-password", address="192.0.2.1")[1] == ""


def test_a_correct_password_forgets_only_ones_own_typos(alice, settings):
    for _ in range(4):
        log_in("alice", "wrong")
    assert log_in("alice", "alice-password")[1] == ""
    for _ in range(4):
        log_in("alice", "wrong")
    assert log_in("alice", "alice-password")[1] == ""  # 8 failures in all, never 5 in a row


# --- Password reset ------------------------------------------------------------------------------

def reset_link(message) -> str:
    links = re.findall(r"https?://\S+", message.body)
    assert len(links) == 1, message.body
    return links[0]


def test_the_whole_reset_flow_by_e_mail(client, alice, settings):
    settings.SITE_URL = "https://desk.example.org"
    login_page = client.get(reverse("login")).content.decode()
    assert f'href="{reverse("password_reset")}">Forgot your password?</a>' in login_page

    response = client.post(reverse("password_reset"), {"email": "ALICE@example.org"})
    assert response.status_code == 302 and response["Location"] == reverse("password_reset_done")
    assert "If a desk account has that address" in client.get(response["Location"]).content.decode()

    [message] = mail.outbox
    assert message.to == ["alice@example.org"]
    assert message.subject == "Fact-check desk: choose a new password"
    assert "The link works for 1 hour, once." in message.body
    link = reset_link(message)
    assert link.startswith("https://desk.example.org/password/reset/")  # SITE_URL, not the Host asked

    # The link trades its token for a session, then asks for the new password twice.
    form = client.get(link.removeprefix(settings.SITE_URL), follow=True)
    assert "Choose a new password" in form.content.decode()
    set_url = form.redirect_chain[-1][0]
    mismatch = client.post(set_url, {"new_password1": "a-Long-new-secret-1", "new_password2": "another-one-2"})
    assert "The two password fields didn’t match." in mismatch.content.decode()
    done = client.post(set_url, {"new_password1": "a-Long-new-secret-1", "new_password2": "a-Long-new-secret-1"})
    assert done["Location"] == reverse("password_reset_complete")

    assert log_in("alice", "alice-password")[1].startswith("Please enter a correct username and password")
    assert log_in("alice", "a-Long-new-secret-1")[1] == ""
    # The link works once.
    again = client.get(link.removeprefix(settings.SITE_URL), follow=True).content.decode()
    assert "This link no longer works" in again


def test_an_unknown_address_gets_the_same_answer_and_no_e_mail(client, alice):
    known = client.post(reverse("password_reset"), {"email": "alice@example.org"}, follow=True)
    unknown = client.post(reverse("password_reset"), {"email": "nobody@example.org"}, follow=True)
    assert known.redirect_chain == unknown.redirect_chain
    assert known.content == unknown.content
    assert [m.to for m in mail.outbox] == [["alice@example.org"]]


def test_reset_requests_are_limited_per_e_mail_and_per_address(client, alice, settings):
    settings.PASSWORD_RESET_EMAIL_LIMIT = 2
    settings.PASSWORD_RESET_ADDRESS_LIMIT = 5
    for email in ["alice@example.org", "nobody@example.org"]:  # the same for an address nobody has
        for _ in range(2):
            assert client.post(reverse("password_reset"), {"email": email}).status_code == 302
        page = client.post(reverse("password_reset"), {"email": email}).content.decode()
        assert "Too many password reset requests for this e-mail address. Try again in 60 minutes." in page
    assert len(mail.outbox) == 2
    client.post(reverse("password_reset"), {"email": "third@example.org"})  # the fifth request here
    page = client.post(reverse("password_reset"), {"email": "fourth@example.org"}).content.decode()
    assert "Too many password reset requests from your network. Try again in 60 minutes." in page
    assert Client(REMOTE_ADDR="198.51.100.20").post(
        reverse("password_reset"), {"email": "fourth@example.org"}
    ).status_code == 302


# --- Password change ---------------------------------------------------------------------------

def test_changing_the_password_needs_the_old_one(client, alice):
    assert client.get(reverse("password_change"))["Location"].startswith(reverse("login"))
    client.force_login(alice)
    home = client.get(reverse("home"), follow=True).content.decode()
    assert f'href="{reverse("password_change")}">Change password</a>' in home

    new = {"new_password1": "a-Long-new-secret-1", "new_password2": "a-Long-new-secret-1"}
    wrong = client.post(reverse("password_change"), {"old_password": "guess", **new}).content.decode()
    assert "Your old password was entered incorrectly. Please enter it again." in wrong
    alice.refresh_from_db()
    assert alice.check_password("alice-password")

    done = client.post(reverse("password_change"), {"old_password": "alice-password", **new}, follow=True)
    assert done.redirect_chain == [(reverse("profile"), 302)]
    assert "Your password has been changed; your other sessions are logged out." in done.content.decode()
    assert client.get(reverse("profile")).status_code == 200  # this session goes on
    assert log_in("alice", "a-Long-new-secret-1")[1] == ""


def test_the_admin_login_counts_on_the_same_counters(make_user):
    make_user("root", is_staff=True, is_superuser=True)
    for _ in range(5):
        log_in("root", "wrong")
    client = Client(REMOTE_ADDR=OFFICE)
    page = client.post(reverse("admin:login"), {"username": "root", "password": "root-password"}).content.decode()
    assert "Too many failed log-in attempts. Try again in 15 minutes." in page
    assert "_auth_user_id" not in client.session
