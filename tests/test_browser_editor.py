"""No lost work, in a real browser: the claim editor's "Save and submit", the warning before
leaving unsaved changes, the draft kept in the browser, the editor beside the article, and
the reviewer's page with the whole article.

SCREENSHOTS=docs/screenshots (a directory) also saves the reader with its side-panel editor.
"""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from annotations.models import Claim
from annotations.services.claims import claim_create
from tests.conftest import claim_in_state
from tests.test_browser_annotate import article_url, highlighted_text, login, panel_editor, select_with_mouse

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

QUOTE = "It is a possibility."
NEEDS = "Give the claim a restatement and a rating before submitting it."
RESTATEMENT = "Abadi says Russian airstrikes in Iraq are possible"
RATIONALE = "He told France 24 he would welcome Russian strikes; the interview is on record."


@pytest.fixture
def draft(article, alice):
    version = article.versions.get()
    start = version.text.index(QUOTE)
    return claim_create(actor=alice, article=article, version=version, exact=QUOTE, start=start, end=start + len(QUOTE))


def editor_url(live_server, claim) -> str:
    return f"{live_server.url}/w/{claim.workspace.slug}/claims/{claim.pk}/"


def type_into(page, selector: str, text: str) -> None:
    """Typed as a person types (trusted key events), not filled in by the script."""
    page.click(selector)
    page.keyboard.type(text)


def record_dialogs(page, dialogs: list) -> None:
    """Every dialog the page opens, by type; each dismissed (for "beforeunload": stay)."""

    def seen(dialog) -> None:
        dialogs.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", seen)


def error_beside(page, field_id: str) -> str:
    return page.locator(f".field:has(#{field_id}) .errorlist").inner_text()


def test_a_refused_submit_keeps_the_typing_and_save_and_submit_then_submits_it(live_server, page, alice, draft):
    dialogs: list[str] = []
    record_dialogs(page, dialogs)
    login(page, live_server, "alice")
    page.goto(editor_url(live_server, draft))
    type_into(page, "#id_claim_reviewed", RESTATEMENT)
    type_into(page, "#id_rationale", RATIONALE)

    page.get_by_role("button", name="Save and submit for review").click()
    page.wait_for_load_state("load")
    assert page.locator("#id_claim_reviewed").input_value() == RESTATEMENT
    assert page.locator("#id_rationale").input_value() == RATIONALE
    assert error_beside(page, "id_rating") == NEEDS
    assert page.evaluate("document.activeElement.id") == "id_rating"  # the field to fix has the focus
    assert page.get_by_test_id("not-saved").is_visible()
    stored = Claim.objects.get(pk=draft.pk)
    assert (stored.state, stored.claim_reviewed, stored.rationale, stored.revision) == ("draft", "", "", 1)

    page.select_option("#id_rating", label="Mostly true")
    page.get_by_role("button", name="Save and submit for review").click()
    page.wait_for_url(f"**/articles/{draft.article_id}/#claim-{draft.pk}")
    assert "Saved and submitted for review." in page.locator(".messages").inner_text()
    stored = Claim.objects.get(pk=draft.pk)
    assert (stored.state, stored.claim_reviewed, stored.rationale) == ("submitted", RESTATEMENT, RATIONALE)
    assert stored.rating is not None and stored.rating.name == "Mostly true"
    assert dialogs == []  # pressing the button is not leaving: no warning


def test_leaving_unsaved_changes_asks_first_and_the_typing_is_offered_back(live_server, page, alice, draft):
    dialogs: list[str] = []
    record_dialogs(page, dialogs)
    login(page, live_server, "alice")
    page.goto(editor_url(live_server, draft))
    page.get_by_role("link", name=draft.article.title).click()  # nothing typed: leaves without asking
    page.wait_for_url(f"**/articles/{draft.article_id}/*")
    assert dialogs == []

    page.goto(editor_url(live_server, draft))
    type_into(page, "#id_claimant", "Haider al-Abadi")
    page.get_by_role("link", name=draft.article.title).click()
    for _ in range(50):  # the question comes from the browser, a moment after the click
        if dialogs:
            break
        page.wait_for_timeout(100)
    assert dialogs == ["beforeunload"]
    assert page.url == editor_url(live_server, draft)  # stayed, with the typing
    assert page.locator("#id_claimant").input_value() == "Haider al-Abadi"

    # The browser closes (the tab, the machine); the next visit offers the typing back.
    page.close(run_before_unload=False)
    again = page.context.new_page()
    again.goto(editor_url(live_server, draft))
    offer = again.get_by_test_id("draft-offer")
    assert "not saved" in offer.inner_text()
    assert again.locator("#id_claimant").input_value() == ""
    offer.get_by_role("button", name="Restore them").click()
    assert again.locator("#id_claimant").input_value() == "Haider al-Abadi"
    again.get_by_role("button", name="Save claim").click()
    again.wait_for_url(f"**/articles/{draft.article_id}/#claim-{draft.pk}")
    assert Claim.objects.get(pk=draft.pk).claimant == "Haider al-Abadi"
    again.goto(editor_url(live_server, draft))  # saved: nothing is offered any more
    assert again.get_by_test_id("draft-offer").count() == 0


def test_the_editor_beside_the_article_keeps_the_typing_and_saves_and_submits_in_place(
    live_server, page, alice, article
):
    login(page, live_server, "alice")
    page.goto(article_url(live_server, article))
    page.evaluate("window.__samePage = true")  # gone if the browser loads another page

    select_with_mouse(page, QUOTE)
    page.get_by_role("button", name="Mark claim").click()
    editor = panel_editor(page)
    claim = Claim.objects.get()
    type_into(page, "#id_claim_reviewed", RESTATEMENT)
    type_into(page, "#id_rationale", RATIONALE)
    if os.environ.get("SCREENSHOTS"):
        folder = Path(os.environ["SCREENSHOTS"])
        folder.mkdir(parents=True, exist_ok=True)
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(folder / "reader-side-panel-editor.png"))
    editor.get_by_role("button", name="Save and submit for review").click()

    page.wait_for_selector("#claim-editor .field:has(#id_rating) .errorlist")
    assert error_beside(page, "id_rating") == NEEDS
    assert page.locator("#id_claim_reviewed").input_value() == RESTATEMENT
    assert page.locator("#id_rationale").input_value() == RATIONALE
    assert Claim.objects.get(pk=claim.pk).claim_reviewed == ""

    page.select_option("#id_rating", label="Mostly true")
    editor.get_by_role("button", name="Save and submit for review").click()
    assert editor.get_by_test_id("panel-notice").inner_text() == "Saved and submitted for review."
    assert editor.get_by_test_id("panel-state").inner_text() == "Submitted"

    claim.refresh_from_db()
    assert (claim.state, claim.claim_reviewed, claim.rationale) == ("submitted", RESTATEMENT, RATIONALE)
    # The highlight and the list changed in place: the rating's colour, the submitted state.
    seg = f'.seg.hl[data-claims="{claim.pk}"]'
    expect(page.locator(seg)).to_have_class(re.compile(r"\bst-submitted\b"))
    assert highlighted_text(page, claim.pk) == QUOTE
    colour = page.evaluate(f"getComputedStyle(document.querySelector('{seg}')).getPropertyValue('--hl')")
    assert claim.rating is not None and colour == claim.rating.color
    assert RESTATEMENT in page.locator(f"#claim-{claim.pk}").inner_text()
    assert page.evaluate("window.__samePage") is True


def test_the_reviewer_sees_the_whole_article_with_the_claim_in_view(live_server, page, article, crew):
    quote = "Turkey is among countries suspected of supporting the Daesh militants operating inside Syria."
    claim = claim_in_state("in_review", article, crew, quote=quote)
    login(page, live_server, "bob")
    page.goto(f"{live_server.url}/w/{article.workspace.slug}/review/{claim.pk}/")

    text = page.get_by_test_id("review-article").inner_text()
    assert text == article.versions.get().text  # the whole article, not an excerpt
    claim_box = page.evaluate("""() => {
        const r = document.querySelector('.review-article .seg.hl').getBoundingClientRect();
        return {top: r.top, bottom: r.bottom, height: innerHeight, scrolled: scrollY};
    }""")
    assert claim_box["scrolled"] > 0
    assert claim_box["top"] >= 0 and claim_box["bottom"] <= claim_box["height"]  # in view
    assert page.locator(".review-article .seg.hl").inner_text() == quote
