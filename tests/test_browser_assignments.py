"""Assignments in the browser: an admin assigns an article and a claim with due dates; the
assignees see them first; take-next respects the assignment; overdue work is on the dashboard."""

from datetime import timedelta

import pytest
from django.utils import timezone

from annotations.models import Assignment
from tests.conftest import claim_in_state
from tests.test_browser_accessibility import blocking_violations
from tests.test_browser_review import session

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_assign_see_first_take_next_and_overdue(browser, live_server, article, crew):
    older = claim_in_state("submitted", article, crew, quote="It is a possibility.")
    newer = claim_in_state("submitted", article, crew, quote="Not yet")
    desk = article.workspace.slug
    admin_ctx, admin = session(browser, live_server, "erin")
    reviewer_ctx, reviewer = session(browser, live_server, "bob")
    annotator_ctx, annotator = session(browser, live_server, "dave")
    try:
        # The admin gives the article to dave and the newer claim to bob, each with a due date.
        admin.goto(f"{live_server.url}/w/{desk}/articles/{article.pk}/")
        form = admin.get_by_test_id("assign-form")
        form.locator("select[name=assignee]").select_option(label="dave (annotator)")
        form.locator("input[name=due_at]").fill("2099-01-31T17:00")
        form.locator("textarea[name=note]").fill("The quotes first")
        form.get_by_role("button", name="Assign").click()
        admin.wait_for_load_state("load")
        assert "dave" in admin.get_by_test_id("assignments").inner_text()
        assert blocking_violations(admin) == []

        admin.goto(f"{live_server.url}/w/{desk}/queue/")
        admin.locator(f'[data-testid=queue-row][data-claim="{newer.pk}"]').get_by_test_id("assign-link").click()
        admin.wait_for_url(f"**/review/{newer.pk}/**")
        form = admin.get_by_test_id("assign-form")
        form.locator("select[name=assignee]").select_option(label="Bob (reviewer)")
        form.locator("input[name=due_at]").fill("2099-02-01T09:30")
        form.get_by_role("button", name="Assign").click()
        admin.wait_for_load_state("load")
        assert "Bob" in admin.get_by_test_id("assignments").inner_text()

        # Each assignee sees their work first.
        annotator.goto(f"{live_server.url}/w/{desk}/mine/")
        assert article.title[:40] in annotator.get_by_test_id("assigned-to-you").inner_text()
        reviewer.goto(f"{live_server.url}/w/{desk}/mine/")
        assert "due 1 Feb 2099" in reviewer.get_by_test_id("assigned-to-you").inner_text()
        assert blocking_violations(reviewer) == []
        reviewer.goto(f"{live_server.url}/w/{desk}/queue/")
        first_row = reviewer.get_by_test_id("queue-row").first
        assert first_row.get_attribute("data-claim") == str(newer.pk)
        assert "assigned to you" in first_row.inner_text()
        assert blocking_violations(reviewer) == []

        # Take-next gives bob his assigned claim, though the other waited longer.
        reviewer.get_by_role("button", name="Review next").click()
        reviewer.wait_for_url(f"**/review/{newer.pk}/")

        # Overdue: on the dashboard.
        Assignment.objects.filter(claim=newer).update(due_at=timezone.now() - timedelta(hours=5))
        admin.goto(f"{live_server.url}/w/{desk}/dashboard/")
        overdue = admin.get_by_test_id("dashboard-overdue")
        assert overdue.get_by_test_id("overdue-row").count() == 1
        assert "Bob" in overdue.inner_text()
        assert blocking_violations(admin) == []
        assert older.pk != newer.pk
    finally:
        for ctx in (admin_ctx, reviewer_ctx, annotator_ctx):
            ctx.close()
