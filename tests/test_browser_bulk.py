"""Bulk actions and CSV downloads in a browser: shift-click a range, "select all N
matching", a bulk release with its per-claim failure line, the CSV of a filtered list."""

import csv
import io

import pytest

from annotations.models import Claim
from tests.conftest import claim_in_state

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

QUOTES = ["It is a possibility.", "Not yet", "massive information", "Daesh Takfiri militant group", "Kuralenko"]


def login(page, live_server, username):
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", f"{username}-password")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def downloaded_rows(download) -> list[dict]:
    with open(download.path(), encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(io.StringIO(fh.read(), newline="")))


def test_shift_click_a_range_release_in_bulk_and_download_the_filtered_csv(page, live_server, article, crew, desk):
    # Oldest change first: a draft, a waiting claim, then three claims bob holds (newest).
    draft = claim_in_state("draft", article, crew, quote=QUOTES[0])
    waiting = claim_in_state("submitted", article, crew, quote=QUOTES[1])
    held = [claim_in_state("in_review", article, crew, quote=q) for q in QUOTES[2:]]
    login(page, live_server, "erin")
    page.goto(f"{live_server.url}/w/{desk.slug}/claims/")
    boxes = page.locator("input[data-bulk-row]")
    assert boxes.count() == 5
    boxes.nth(0).click()
    boxes.nth(3).click(modifiers=["Shift"])
    assert [boxes.nth(i).is_checked() for i in range(5)] == [True, True, True, True, False]
    assert page.locator("[data-bulk-count]").inner_text() == "4 selected on this page."
    page.get_by_test_id("bulk-action").select_option("release")
    page.get_by_test_id("bulk-run").click()
    page.wait_for_load_state("load")
    assert page.get_by_test_id("bulk-applied").inner_text() == "Done for 3 claims."
    failure = page.get_by_test_id("bulk-failure")
    assert failure.count() == 1
    assert failure.inner_text() == f"Claim {waiting.pk}: Nobody holds this claim: it is submitted."
    assert set(Claim.objects.filter(pk__in=[c.pk for c in held]).values_list("state", flat=True)) == {"submitted"}

    # "Select all 4 matching" of the filtered list, exported as CSV.
    page.goto(f"{live_server.url}/w/{desk.slug}/claims/?state=submitted")
    page.get_by_test_id("bulk-all-matching").check()
    assert page.locator("[data-bulk-count]").inner_text() == "All 4 matching selected."
    page.get_by_test_id("bulk-action").select_option("export")
    with page.expect_download() as selection:
        page.get_by_test_id("bulk-run").click()
    assert sorted(int(r["Claim"]) for r in downloaded_rows(selection.value)) == sorted(
        [waiting.pk, *[c.pk for c in held]])

    # The filtered list's own "Download CSV": exactly the rows on screen.
    page.goto(f"{live_server.url}/w/{desk.slug}/claims/?state=draft")
    with page.expect_download() as listed:
        page.get_by_test_id("download-csv").click()
    rows = downloaded_rows(listed.value)
    assert [int(r["Claim"]) for r in rows] == [draft.pk] and rows[0]["State"] == "Draft"


def test_a_bulk_assign_of_a_filtered_selection_reports_the_claim_it_could_not_assign(page, live_server, article,
                                                                                        crew, desk):
    from datetime import date, timedelta

    from annotations.models import Assignment

    draft = claim_in_state("draft", article, crew, quote=QUOTES[0])
    waiting = [claim_in_state("submitted", article, crew, quote=q) for q in QUOTES[1:4]]
    login(page, live_server, "erin")
    page.goto(f"{live_server.url}/w/{desk.slug}/claims/?article={article.pk}")
    page.get_by_test_id("bulk-all-matching").check()
    assert page.locator("[data-bulk-count]").inner_text() == "All 4 matching selected."
    page.get_by_test_id("bulk-action").select_option("assign")
    page.get_by_label("Assign to").select_option("bob")
    page.get_by_label("Due").fill((date.today() + timedelta(days=3)).isoformat())
    page.get_by_test_id("bulk-run").click()
    page.wait_for_load_state("load")
    assert page.get_by_test_id("bulk-applied").inner_text() == "Done for 3 claims."
    failure = page.get_by_test_id("bulk-failure")
    assert failure.count() == 1 and failure.inner_text().startswith(f"Claim {draft.pk}: ")
    assigned = Assignment.objects.filter(assignee=crew["reviewer"], done_at__isnull=True)
    assert sorted(assigned.values_list("claim_id", flat=True)) == sorted(c.pk for c in waiting)
    assert all(a.due_at is not None for a in assigned)
