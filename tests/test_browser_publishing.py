"""A verdict's public life in the browser: approved by a reviewer, read by someone with no
account, withdrawn when an admin reopens it, and back with its correction noted."""

import json

import pytest

from annotations.models import Claim, Publication
from annotations.services.workflow import claim_decide, claim_reopen, claim_submit, claim_take
from tests.test_browser_review import ready_draft, session

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def read_as_a_stranger(browser, url: str) -> dict:
    """Open the page in a fresh browser (no login, no cache) and read what it says."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        response = page.goto(url)
        assert response is not None
        scripts = page.locator('script[type="application/ld+json"]')
        return {
            "status": response.status,
            "text": page.locator("body").inner_text(),
            "json_ld": json.loads(scripts.text_content() or "") if scripts.count() else None,
            "desk_links": page.locator('a[href*="/w/"], form[action*="logout"]').count(),
        }
    finally:
        context.close()


def claimreview_in_force(claim) -> dict:
    return json.loads(Publication.objects.get(claim=claim, current=True).claimreview)


def test_approve_read_withdraw_and_correct_a_public_verdict(browser, live_server, article, crew):
    desk = article.workspace
    desk.public_pages = True
    desk.save(update_fields=["public_pages"])
    article.url = "https://www.example.org/news/iraq-russia"
    article.save(update_fields=["url"])
    claim = ready_draft(article, crew["author"], "It is a possibility.")
    claim_submit(claim=claim, actor=crew["author"], revision=claim.revision)
    public_page = f"{live_server.url}/v/{desk.slug}/{claim.pk}/"

    # Nothing is public before approval.
    assert read_as_a_stranger(browser, public_page)["status"] == 404

    # The reviewer approves in the browser.
    reviewer_ctx, reviewer = session(browser, live_server, "bob")
    try:
        reviewer.goto(f"{live_server.url}/w/{desk.slug}/queue/")
        reviewer.get_by_role("button", name="Review next").click()
        reviewer.wait_for_url(f"**/review/{claim.pk}/")
        reviewer.get_by_role("button", name="Approve").click()
        reviewer.wait_for_url(f"**/w/{desk.slug}/queue/")
    finally:
        reviewer_ctx.close()

    first = read_as_a_stranger(browser, public_page)
    assert first["status"] == 200 and first["desk_links"] == 0
    published = claimreview_in_force(claim)
    assert first["json_ld"] == published
    assert "Restatement of It is a possibility." in first["text"]
    assert "Accurate, with nothing significant missing." in first["text"]  # the scale's "True"
    assert "None since it was published." in first["text"]

    # An admin reopens it: the page says it was withdrawn, and why.
    claim = Claim.objects.get(pk=claim.pk)
    claim = claim_reopen(claim=claim, actor=crew["admin"], reason="The quote is cut short.", revision=claim.revision)
    gone = read_as_a_stranger(browser, public_page)
    assert gone["status"] == 410 and gone["json_ld"] is None
    assert "This fact check was withdrawn on" in gone["text"]
    assert "Reason: The quote is cut short." in gone["text"]
    assert "Restatement of It is a possibility." in gone["text"]  # what was withdrawn

    # Approved again: the correction is logged and the JSON-LD carries the newer date.
    claim = claim_submit(claim=claim, actor=crew["author"], revision=claim.revision)
    claim = claim_take(claim=claim, actor=crew["reviewer"])
    claim_decide(claim=claim, actor=crew["reviewer"], decision="approve", comment="", revision=claim.revision)
    corrected = read_as_a_stranger(browser, public_page)
    assert corrected["status"] == 200
    assert corrected["json_ld"] == claimreview_in_force(claim)
    assert corrected["json_ld"]["dateModified"] > published["dateModified"]
    assert corrected["json_ld"]["datePublished"] == published["datePublished"]
    log = corrected["text"].split("Corrections", 1)[1]
    assert "Corrected on" in log and "The quote is cut short." in log
    assert "Withdrawn on" in log and "Published on" in log


def test_a_partner_site_can_frame_the_card_but_not_the_page(browser, live_server, article, crew):
    desk = article.workspace
    desk.public_pages = True
    desk.save(update_fields=["public_pages"])
    claim = ready_draft(article, crew["author"], "Not yet")
    claim = claim_submit(claim=claim, actor=crew["author"], revision=claim.revision)
    claim = claim_take(claim=claim, actor=crew["reviewer"])
    claim_decide(claim=claim, actor=crew["reviewer"], decision="approve", comment="", revision=claim.revision)
    base = f"{live_server.url}/v/{desk.slug}/{claim.pk}/"

    context = browser.new_context()
    try:
        partner = context.new_page()
        partner.set_default_timeout(10_000)
        partner.set_content(f'<h1>Partner news</h1><iframe id="card" src="{base}embed/"></iframe>'
                            f'<iframe id="page" src="{base}"></iframe>')
        card = partner.frame_locator("#card").get_by_test_id("embed-card")
        assert "Restatement of Not yet" in card.inner_text()
        link = card.get_by_role("link", name="Read the full fact check")
        assert link.get_attribute("href") == f"/v/{desk.slug}/{claim.pk}/"
        # The full page refuses to be framed (X-Frame-Options: DENY): its frame stays empty.
        # set_content returned at the load event, which waits for both frames.
        page_frame = partner.frame(url=base)
        assert page_frame is None or page_frame.locator("[data-testid=verdict]").count() == 0
    finally:
        context.close()
