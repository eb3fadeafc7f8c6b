"""Suggested check-worthy sentences in the reader, in a real browser: outlined (not filled)
in the text and named in the side panel; `a` marks the one in focus as a claim with exactly
that sentence's offsets, `x` dismisses one and it stays gone after a reload."""

import pytest

from annotations.checkworthiness import suggestions
from annotations.models import Claim
from tests.test_browser_annotate import article_url, highlighted_text, login, panel_editor

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OUTLINED = """() => Object.fromEntries(
  Array.from(document.querySelectorAll('mark.sugg')).map(m => [m.dataset.sugg, m.textContent]))"""


def test_a_suggestion_is_accepted_with_a_key_and_one_dismissed_stays_gone(live_server, page, alice, article):
    version = article.versions.get()
    expected = suggestions(version.text, [])
    assert len(expected) >= 3
    accepted, dismissed = expected[0], expected[1]
    login(page, live_server, "alice")
    page.goto(article_url(live_server, article))

    # Every suggestion outlined in the text, exactly its sentence, and listed with a text label.
    assert page.evaluate(OUTLINED) == {f"{s.start}-{s.end}": s.text for s in expected}
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
    assert page.evaluate(OUTLINED) == {f"{s.start}-{s.end}": s.text for s in expected[1:]}  # the others stay
    assert items.count() == len(expected) - 1

    items.first.focus()  # the next suggestion, now first in the list
    assert page.evaluate("document.activeElement.dataset.start") == str(dismissed.start)
    page.keyboard.press("x")
    assert items.count() == len(expected) - 2
    assert f"{dismissed.start}-{dismissed.end}" not in page.evaluate(OUTLINED)
    assert page.locator(".article-text").inner_text() == version.text  # the text itself unchanged

    page.reload()
    outlined = page.evaluate(OUTLINED)
    assert f"{dismissed.start}-{dismissed.end}" not in outlined  # remembered
    assert f"{accepted.start}-{accepted.end}" not in outlined  # a claim now
    assert outlined == {f"{s.start}-{s.end}": s.text for s in expected[2:]}
    assert Claim.objects.count() == 1  # dismissing created nothing
