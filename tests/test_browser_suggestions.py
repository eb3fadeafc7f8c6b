"""Suggested check-worthy sentences in the reader, in a real browser: outlined (not filled)
in the text and named in the side panel; `a` marks the one in focus as a claim with exactly
that sentence's offsets; `x` dismisses one for the whole desk, so another member in another
browser no longer sees it; Undo brings it back; a refused dismissal puts the item back and
says why."""

import time

import pytest

from annotations.checkworthiness import suggestions
from annotations.models import Claim, SuggestionDismissal
from annotations.services.workspaces import membership_remove
from tests.test_browser_annotate import article_url, highlighted_text, login, panel_editor

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OUTLINED = """() => Object.fromEntries(
  Array.from(document.querySelectorAll('mark.sugg')).map(m => [m.dataset.sugg, m.textContent]))"""
LISTED = "() => Array.from(document.querySelectorAll('.suggestion-item')).map(i => i.dataset.start)"


def key(sentence) -> str:
    return f"{sentence.start}-{sentence.end}"


def dismissed_spans(version, *, expect: set, timeout: float = 5.0) -> set:
    """The version's dismissals, once they are `expect` (the reader posts in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        found = set(SuggestionDismissal.objects.filter(version=version).values_list("start", "end"))
        if found == expect or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


@pytest.fixture
def second_page(browser):
    """Another browser (its own cookies and storage), as a second editor would have."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    yield tab
    context.close()


def test_a_suggestion_is_accepted_with_a_key_and_one_dismissed_is_gone_for_the_desk(
    live_server, page, second_page, alice, bob, article
):
    version = article.versions.get()
    expected = suggestions(version.text, [])
    assert len(expected) >= 4
    accepted, dismissed = expected[0], expected[1]
    login(page, live_server, "alice")
    page.goto(article_url(live_server, article))

    # Every suggestion outlined in the text, exactly its sentence, and listed with a text label.
    assert page.evaluate(OUTLINED) == {key(s): s.text for s in expected}
    items = page.locator(".suggestion-item")
    assert items.count() == len(expected)
    assert items.first.inner_text().startswith("Suggested, not a claim:")
    style = page.evaluate(
        "(() => { const s = getComputedStyle(document.querySelector('mark.sugg'));"
        " return [s.outlineStyle, s.backgroundColor]; })()"
    )
    assert style == ["dotted", "rgba(0, 0, 0, 0)"]  # an outline, no fill: not a claim's highlight

    page.keyboard.press("s")  # to the first suggestion
    assert page.evaluate("document.activeElement.dataset.start") == str(accepted.start)
    page.keyboard.press("a")
    editor = panel_editor(page)
    claim = Claim.objects.get()
    assert (claim.exact, claim.start_offset, claim.end_offset, claim.version_id) == (
        accepted.text,
        accepted.start,
        accepted.end,
        version.pk,
    )
    assert editor.get_by_test_id("panel-quote").inner_text() == accepted.text
    assert highlighted_text(page, claim.pk) == accepted.text  # now a claim's highlight
    assert page.evaluate(OUTLINED) == {key(s): s.text for s in expected[1:]}  # the others stay
    assert items.count() == len(expected) - 1

    items.first.focus()  # the next suggestion, now first in the list
    assert page.evaluate("document.activeElement.dataset.start") == str(dismissed.start)
    page.keyboard.press("x")
    # Gone at once, and the focus on the next suggestion, so `x` can go on.
    assert items.count() == len(expected) - 2
    assert key(dismissed) not in page.evaluate(OUTLINED)
    assert page.evaluate("document.activeElement.dataset.start") == str(expected[2].start)
    assert page.locator(".article-text").inner_text() == version.text  # the text itself unchanged
    status = page.get_by_test_id("suggestion-status")
    status.get_by_role("button", name="Undo").wait_for()
    assert status.inner_text().startswith("Suggestion dismissed for everyone on this desk.")
    assert dismissed_spans(version, expect={(dismissed.start, dismissed.end)}) == {(dismissed.start, dismissed.end)}
    assert SuggestionDismissal.objects.get().dismissed_by == alice

    # Bob, in a browser of his own, is not offered the dismissed sentence again.
    login(second_page, live_server, "bob")
    second_page.goto(article_url(live_server, article))
    outlined = second_page.evaluate(OUTLINED)
    assert key(dismissed) not in outlined  # dismissed for the desk
    assert key(accepted) not in outlined  # a claim now
    assert outlined == {key(s): s.text for s in expected[2:]}
    assert second_page.evaluate(LISTED) == [str(s.start) for s in expected[2:]]

    page.reload()
    assert page.evaluate(OUTLINED) == {key(s): s.text for s in expected[2:]}
    assert Claim.objects.count() == 1  # dismissing created nothing


def test_undo_brings_a_dismissed_suggestion_back_for_everyone(live_server, page, second_page, alice, bob, article):
    version = article.versions.get()
    expected = suggestions(version.text, [])
    first, second, third = expected[:3]
    login(page, live_server, "alice")
    page.goto(article_url(live_server, article))
    page.locator(f'.suggestion-item[data-start="{second.start}"]').focus()
    page.keyboard.press("x")
    assert page.evaluate("document.activeElement.dataset.start") == str(third.start)
    page.keyboard.press("x")  # dismissing goes on from the keyboard
    assert dismissed_spans(version, expect={(second.start, second.end), (third.start, third.end)}) == {
        (second.start, second.end), (third.start, third.end)}

    page.get_by_test_id("suggestion-status").get_by_role("button", name="Undo").click()  # the last one
    page.wait_for_function("(start) => document.activeElement.dataset.start === start", arg=str(third.start))
    assert page.evaluate(LISTED) == [str(s.start) for s in expected if s is not second]  # back in text order
    assert page.evaluate(OUTLINED) == {key(s): s.text for s in expected if s is not second}
    assert page.get_by_test_id("suggestion-status").inner_text() == ""
    assert page.locator(".article-text").inner_text() == version.text
    assert dismissed_spans(version, expect={(second.start, second.end)}) == {(second.start, second.end)}

    login(second_page, live_server, "bob")
    second_page.goto(article_url(live_server, article))
    assert second_page.evaluate(LISTED) == [str(s.start) for s in expected if s is not second]
    assert first.start < second.start


def test_a_refused_dismissal_puts_the_suggestion_back_and_says_why(live_server, page, crew, article):
    version = article.versions.get()
    expected = suggestions(version.text, [])
    login(page, live_server, "dave")
    page.goto(article_url(live_server, article))
    membership_remove(workspace=article.workspace, user=crew["teammate"], actor=crew["admin"])  # meanwhile

    page.keyboard.press("s")
    page.keyboard.press("x")
    toast = page.locator("#reader-error")
    toast.wait_for(state="visible")
    assert toast.inner_text() == "No such article in your desks."
    assert page.evaluate(LISTED) == [str(s.start) for s in expected]  # put back, in its place
    assert page.evaluate(OUTLINED) == {key(s): s.text for s in expected}
    assert page.get_by_test_id("suggestion-status").inner_text() == ""  # no Undo for what was not done
    assert SuggestionDismissal.objects.count() == 0
