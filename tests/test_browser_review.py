"""The review journey with two people in two browsers: author and reviewer."""

import pytest

from annotations.models import Claim, Role, Source
from annotations.services.claims import claim_create, claim_update
from annotations.services.workspaces import membership_set

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def session(browser, live_server, username):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", f"{username}-password")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    return context, page


def ready_draft(article, author, quote):
    version = article.versions.get()
    start = version.text.index(quote)
    claim = claim_create(
        actor=author, article=article, version=version, exact=quote, start=start, end=start + len(quote)
    )
    rating = article.workspace.rating_scale.labels.get(name="True")
    claim = claim_update(
        claim=claim, actor=author, revision=claim.revision,
        fields={"claim_reviewed": f"Restatement of {quote[:30]}", "rating": rating},
    )
    Source.objects.create(
        claim=claim, url="https://example.org/evidence", title="The evidence", stance="supports", created_by=author
    )
    return claim


def submit_in_editor(page, live_server, claim):
    page.goto(f"{live_server.url}/w/{claim.workspace.slug}/claims/{claim.pk}/")
    page.get_by_role("button", name="Submit for review").click()
    page.wait_for_load_state("load")


def test_submit_review_approve_and_request_changes_across_two_browsers(browser, live_server, article, alice, bob):
    first = ready_draft(article, alice, "It is a possibility.")
    second = ready_draft(article, alice, "Not yet")
    author_ctx, author = session(browser, live_server, "alice")
    reviewer_ctx, reviewer = session(browser, live_server, "bob")
    desk = article.workspace.slug
    try:
        submit_in_editor(author, live_server, first)
        submit_in_editor(author, live_server, second)
        assert Claim.objects.get(pk=first.pk).state == "submitted"

        # The reviewer takes the oldest waiting claim and approves it.
        reviewer.goto(f"{live_server.url}/w/{desk}/queue/")
        assert reviewer.get_by_test_id("queue-row").count() == 2
        reviewer.get_by_role("button", name="Review next").click()
        reviewer.wait_for_url(f"**/review/{first.pk}/")
        assert "It is a possibility." in reviewer.locator(".seg.hl").inner_text()
        assert reviewer.get_by_role("link", name="The evidence").is_visible()
        reviewer.get_by_role("button", name="Approve").click()
        reviewer.wait_for_url(f"**/w/{desk}/queue/")

        author.goto(f"{live_server.url}/w/{desk}/mine/")
        approved = author.get_by_test_id("group").filter(has_text="Approved")
        assert "Restatement of It is a possibility." in approved.inner_text()

        # The second one gets "changes requested" with a comment, is fixed and resubmitted.
        second_row = reviewer.locator(f'[data-testid=queue-row][data-claim="{second.pk}"]')
        second_row.get_by_role("button", name="Review this").click()
        reviewer.wait_for_url(f"**/review/{second.pk}/")
        reviewer.get_by_role("button", name="Request changes").click()  # no comment yet
        reviewer.wait_for_load_state("load")
        assert "Say why in a comment" in reviewer.locator(".messages").inner_text()
        reviewer.goto(f"{live_server.url}/w/{desk}/review/{second.pk}/")
        reviewer.fill("#comment", "Quote the whole answer, not two words.")
        reviewer.get_by_role("button", name="Request changes").click()
        reviewer.wait_for_url(f"**/w/{desk}/queue/")

        author.goto(f"{live_server.url}/w/{desk}/mine/")
        needs = author.get_by_test_id("group").first
        assert "Changes requested" in needs.inner_text()
        assert "Quote the whole answer, not two words." in needs.inner_text()
        needs.get_by_role("link").first.click()
        author.fill("#id_rationale", "Abadi answered “Not yet” when asked about strikes.")
        author.get_by_role("button", name="Save claim").click()
        author.wait_for_load_state("load")
        submit_in_editor(author, live_server, second)
        assert Claim.objects.get(pk=second.pk).state == "submitted"

        reviewer.goto(f"{live_server.url}/w/{desk}/queue/")
        reviewer.get_by_role("button", name="Review next").click()
        reviewer.wait_for_url(f"**/review/{second.pk}/")
        assert "rationale" in reviewer.get_by_test_id("changes").inner_text()
    finally:
        author_ctx.close()
        reviewer_ctx.close()


def test_a_reviewer_cannot_approve_their_own_claim(browser, live_server, article, bob):
    membership_set(workspace=article.workspace, user=bob, role=Role.ADMIN)
    own = ready_draft(article, bob, "It is a possibility.")
    ctx, page = session(browser, live_server, "bob")
    desk = article.workspace.slug
    try:
        submit_in_editor(page, live_server, own)
        page.goto(f"{live_server.url}/w/{desk}/queue/")
        row = page.locator(f'[data-testid=queue-row][data-claim="{own.pk}"]')
        assert row.get_by_role("button", name="Review this").count() == 0
        page.get_by_role("button", name="Review next").click()
        assert "Nothing is waiting for you to review." in page.locator(".messages").inner_text()

        page.goto(f"{live_server.url}/w/{desk}/review/{own.pk}/")
        assert page.get_by_role("button", name="Approve").count() == 0
        assert "you wrote or last edited it" in page.get_by_test_id("no-actions").inner_text()

        # Forging the requests does not help: the server refuses them too.
        forge = """async ([url, revision]) => {
            const token = document.cookie.match(/csrftoken=([^;]+)/)[1];
            const body = new URLSearchParams({revision, comment: ''});
            const r = await fetch(url, {method: 'POST', body, headers: {'X-CSRFToken': token}});
            return [r.status, await r.text()]; }"""
        revision = str(Claim.objects.get(pk=own.pk).revision)
        status, text = page.evaluate(forge, [f"/w/{desk}/queue/{own.pk}/take/", revision])
        assert status == 200 and "Only a reviewer who neither wrote nor last edited this claim" in text
        status, text = page.evaluate(forge, [f"/w/{desk}/claims/{own.pk}/approve/", revision])
        assert status == 200 and "Only the reviewer holding this claim" in text
        assert Claim.objects.get(pk=own.pk).state == "submitted"
    finally:
        ctx.close()
