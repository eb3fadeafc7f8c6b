"""In Chromium: the top bar at 360 px (a menu button that opens the links) and at 1280 px, the
current page marked, the timeline and audit log in labels and the reader's time zone,
fitting the window, and the queue showing who holds what until when, with an admin
releasing a hold."""

import zoneinfo

import pytest
from django.utils import timezone
from django.utils.dateformat import format as date_format

from annotations.models import AuditEvent, Claim, Source
from annotations.services.profiles import profile_time_zone_set, workspace_time_zone_set
from tests.conftest import claim_in_state
from tests.test_browser_annotate import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
LONG = "https://example.org/" + "a-very-long-path-segment-without-any-break/" * 12


@pytest.fixture
def tab(browser):
    """A tab of the width the test sets; 1280 px wide until then. No script error and no
    Content-Security-Policy violation may happen in it."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems: list[str] = []

    def console(message) -> None:
        if message.type == "error":
            problems.append(message.text)

    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", console)
    yield page
    context.close()
    assert problems == []


def test_at_360px_a_menu_button_opens_the_links_and_the_current_page_is_marked(live_server, tab, article, crew):
    claim_in_state("submitted", article, crew)
    desk = article.workspace.slug
    tab.set_viewport_size({"width": 360, "height": 740})
    login(tab, live_server, "erin")  # the desk's admin: the longest bar
    tab.goto(f"{live_server.url}/w/{desk}/queue/")

    menu = tab.get_by_role("button", name="Menu")
    nav = tab.get_by_role("navigation", name="Main")
    queue = nav.get_by_role("link", name="Queue")
    assert menu.is_visible() and menu.get_attribute("aria-expanded") == "false"
    assert not queue.is_visible()
    assert tab.evaluate(OVERFLOW) <= 0

    menu.click()
    assert menu.get_attribute("aria-expanded") == "true"
    for name in ("Articles", "Queue", "My claims", "Exports", "Members", "Scale", "Partners", "Audit"):
        assert nav.get_by_role("link", name=name).is_visible(), name
    assert queue.get_attribute("aria-current") == "page"
    assert "1" in queue.inner_text()  # the waiting count
    assert nav.get_by_role("button", name="Log out").is_visible()
    assert tab.evaluate(OVERFLOW) <= 0

    tab.keyboard.press("Escape")
    assert menu.get_attribute("aria-expanded") == "false" and not queue.is_visible()

    menu.click()
    nav.get_by_role("link", name="Audit").click()
    tab.wait_for_url(f"**/w/{desk}/audit/")
    assert not nav.get_by_role("link", name="Audit").is_visible()  # closed on the new page
    menu.click()
    assert nav.get_by_role("link", name="Audit").get_attribute("aria-current") == "page"
    assert nav.get_by_role("link", name="Queue").get_attribute("aria-current") is None
    assert tab.evaluate(OVERFLOW) <= 0


def test_at_1280px_the_bar_shows_every_link_and_the_menu_button_hides(live_server, tab, article, crew):
    login(tab, live_server, "erin")
    tab.goto(f"{live_server.url}/w/{article.workspace.slug}/exports/")
    assert not tab.get_by_role("button", name="Menu").is_visible()
    nav = tab.get_by_role("navigation", name="Main")
    assert nav.get_by_role("link", name="Exports").get_attribute("aria-current") == "page"
    assert nav.get_by_role("link", name="Audit").is_visible()
    assert tab.evaluate(OVERFLOW) <= 0


def test_the_audit_log_speaks_in_labels_and_fits_the_window(live_server, tab, article, crew):
    claim = claim_in_state("approved", article, crew)
    Source.objects.create(claim=claim, url=LONG, title="T" * 400, created_by=crew["author"])
    login(tab, live_server, "erin")
    for width in (1280, 360):
        tab.set_viewport_size({"width": width, "height": 900})
        tab.goto(f"{live_server.url}/w/{article.workspace.slug}/audit/")
        assert tab.evaluate(OVERFLOW) <= 0, width
    rows = tab.get_by_test_id("audit-row")
    text = rows.all_inner_texts()
    assert any("Bob approved the claim" in row for row in text)
    assert any("Alice submitted the claim for review" in row for row in text)
    assert not any("rating_id" in row or "in_review" in row for row in text)

    # The raw row diff, one click away.
    taken = rows.filter(has_text="took the claim for review").first
    raw = taken.locator("pre.raw")
    assert not raw.is_visible()
    taken.get_by_text("Raw row diff").click()
    assert raw.is_visible() and "held_by_id" in raw.inner_text()
    assert tab.evaluate(OVERFLOW) <= 0


def test_the_timeline_shows_labels_in_the_readers_time_zone(live_server, tab, article, crew):
    claim = claim_in_state("approved", article, crew)
    profile_time_zone_set(user=crew["author"], time_zone="Asia/Kathmandu")
    first = AuditEvent.objects.filter(claim_id=claim.pk).earliest("id").occurred_at
    local = date_format(timezone.localtime(first, zoneinfo.ZoneInfo("Asia/Kathmandu")), "H:i")
    login(tab, live_server, "alice")
    tab.goto(f"{live_server.url}/w/{article.workspace.slug}/claims/{claim.pk}/")
    timeline = tab.get_by_test_id("timeline")
    text = timeline.inner_text()
    for label in ("Restatement", "Mostly true", "Rating", "In review", "Bob"):
        assert label in text, label
    assert "rating_id" not in text and "claim_reviewed" not in text and "in_review" not in text
    assert local in timeline.inner_html()  # 5:45 ahead of UTC: no other zone gives these minutes


def test_the_queue_shows_who_holds_what_until_when_and_an_admin_releases_a_hold(live_server, tab, article, crew):
    held = claim_in_state("in_review", article, crew)
    workspace_time_zone_set(workspace=article.workspace, actor=crew["admin"], time_zone="Europe/Paris")
    until = date_format(timezone.localtime(Claim.objects.get(pk=held.pk).held_until,
                                           zoneinfo.ZoneInfo("Europe/Paris")), "H:i T")
    login(tab, live_server, "erin")
    tab.goto(f"{live_server.url}/w/{article.workspace.slug}/queue/")
    assert tab.get_by_test_id("in-review-count").inner_text() == "1 in review"
    row = tab.locator(f'[data-testid=in-review-row][data-claim="{held.pk}"]')
    assert row.get_by_test_id("holder").inner_text() == "Bob"
    assert row.get_by_test_id("hold-end").inner_text() == until  # e.g. "15:34 CET"
    for name in ("Article", "Rating", "Author"):
        assert tab.get_by_label(name, exact=True).is_visible()

    tab.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Release hold").click()
    tab.wait_for_load_state("load")
    assert "The hold was released" in tab.locator(".messages").inner_text()
    assert tab.get_by_test_id("in-review-count").inner_text() == "0 in review"
    assert tab.locator(f'[data-testid=queue-row][data-claim="{held.pk}"]').is_visible()
    assert Claim.objects.get(pk=held.pk).state == "submitted"
