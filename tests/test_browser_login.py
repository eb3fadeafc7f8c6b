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
