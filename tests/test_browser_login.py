"""A person logs in with a demo login and sees the five demo articles, in a real browser."""

import io

import pytest
from django.core.management import call_command

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_demo_annotator_logs_in_and_sees_the_five_articles(live_server, page):
    out = io.StringIO()
    call_command("load_demo", "--force", stdout=out)
    assert "annotator   / annotator-demo" in out.getvalue()

    page.goto(f"{live_server.url}/")
    assert page.url.startswith(f"{live_server.url}/login/")
    page.fill("#id_username", "annotator")
    page.fill("#id_password", "annotator-demo")
    page.click("button[type=submit]")

    page.wait_for_selector("[data-testid=article-row]")
    rows = page.locator("[data-testid=article-row]")
    assert rows.count() == 5
    assert page.get_by_text("Baghdad may ask Russia to carry out airstrikes in Iraq").is_visible()
    assert page.get_by_test_id("current-user").inner_text() == "Anna Annotator"

    page.get_by_text("Baghdad may ask Russia to carry out airstrikes in Iraq").click()
    assert "in the coming few days or weeks" in page.get_by_test_id("article-text").inner_text()
    # The stylesheet is served locally, not from a CDN.
    assert page.evaluate("getComputedStyle(document.querySelector('.topbar')).display") == "flex"


def test_a_wrong_password_shows_a_sentence_and_keeps_the_person_out(live_server, page):
    call_command("load_demo", "--force", stdout=io.StringIO())
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "annotator")
    page.fill("#id_password", "not-the-password")
    page.click("button[type=submit]")
    alert = page.get_by_role("alert")
    assert "Please enter a correct username and password" in alert.inner_text()


def test_a_forgotten_password_is_reset_through_the_e_mailed_link(live_server, page, alice, settings, mailoutbox):
    settings.SITE_URL = live_server.url
    page.goto(f"{live_server.url}/login/")
    page.get_by_role("link", name="Forgot your password?").click()
    page.fill("#id_email", "alice@example.org")
    page.get_by_role("button", name="Send the link").click()
    assert "If a desk account has that address" in page.get_by_test_id("reset-sent").inner_text()

    [message] = mailoutbox
    [link] = [line for line in message.body.splitlines() if line.startswith(live_server.url)]
    page.goto(link)
    page.fill("#id_new_password1", "a-Long-new-secret-1")
    page.fill("#id_new_password2", "a-Long-new-secret-1")
    page.get_by_role("button", name="Set the password").click()
    page.get_by_test_id("reset-finished").get_by_role("link", name="Log in").click()

    page.fill("#id_username", "alice")
    page.fill("#id_password", "a-Long-new-secret-1")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    assert page.get_by_test_id("current-user").inner_text() == "Alice"
