"""The annotate journey in a real browser: select with the mouse or the keyboard, mark, and
rate, source and save the claim in the editor beside the article."""

import pytest

from annotations.models import Claim
from annotations.services.articles import article_import
from annotations.services.claims import claim_create, claim_update

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Finds `needle` in the article's rendered text and returns two viewport points whose
# caret positions are exactly its start and its end, whichever way the script runs.
LOCATE = """(needle) => {
  const article = document.querySelector('.article-text');
  const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT);
  const nodes = []; let full = '';
  while (walker.nextNode()) { nodes.push([walker.currentNode, full.length]); full += walker.currentNode.data; }
  const at = full.indexOf(needle);
  if (at < 0) return null;
  const locate = (pos) => {
    for (let k = nodes.length - 1; k >= 0; k--) if (nodes[k][1] <= pos) return [nodes[k][0], pos - nodes[k][1]];
  };
  const charRect = (pos) => {
    const [n, o] = locate(pos);
    const r = document.createRange(); r.setStart(n, o); r.setEnd(n, o + 1);
    return r.getClientRects()[0];
  };
  const caretAt = (x, y) => {
    const r = document.caretRangeFromPoint(x, y);
    return r && r.startContainer.nodeType === 3 ? [r.startContainer, r.startOffset] : null;
  };
  const same = (c, pos) => { const [n, o] = locate(pos); return c && ((c[0] === n && c[1] === o)); };
  const pick = (rect, wantPos) => {
    const y = rect.top + rect.height / 2;
    for (const x of [rect.left + 1, rect.right - 1]) if (same(caretAt(x, y), wantPos)) return {x, y};
    return {x: rect.left + 1, y};
  };
  const first = charRect(at);
  let lastPos = at + needle.length - 1;
  if (lastPos > at && /[\\uDC00-\\uDFFF]/.test(full[lastPos])) lastPos--;
  const last = charRect(lastPos);
  const endPos = at + needle.length;
  const end = (() => {
    const y = last.top + last.height / 2;
    for (const x of [last.right - 1, last.left + 1]) {
      const c = caretAt(x, y);
      const atEnd = c && (same(c, endPos) ||
        (c[0] === locate(endPos - 1)[0] && c[1] === locate(endPos - 1)[1] + (endPos - lastPos)));
      if (atEnd) return {x, y};
    }
    return {x: last.right - 1, y};
  })();
  return {start: pick(first, at), end};
}"""


def login(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", f"{username}-password")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def select_with_mouse(page, text: str) -> None:
    points = page.evaluate(LOCATE, text)
    assert points is not None, f"{text!r} is not on the page"
    page.mouse.move(points["start"]["x"], points["start"]["y"])
    page.mouse.down()
    page.mouse.move(points["end"]["x"], points["end"]["y"], steps=12)
    page.mouse.up()


def highlighted_text(page, claim_id: int) -> str:
    return page.evaluate(
        """(id) => Array.from(document.querySelectorAll('.seg.hl'))
             .filter(s => s.dataset.claims.split(' ').includes(String(id)))
             .map(s => s.textContent).join('')""",
        claim_id,
    )


def article_url(live_server, article) -> str:
    return f"{live_server.url}/w/{article.workspace.slug}/articles/{article.pk}/"


def panel_editor(page, claim_id=None):
    """The claim editor in the reader's side panel, once it has opened (for `claim_id`)."""
    selector = "#claim-editor form.claim-form"
    if claim_id is not None:
        selector += f'[data-claim="{claim_id}"]'
    page.wait_for_selector(selector)
    return page.locator("#claim-editor")


def test_an_annotator_marks_rates_and_sources_a_claim_and_sees_it_after_reload(live_server, page, alice, article):
    sentence = "It is a possibility."
    login(page, live_server, "alice")
    page.goto(article_url(live_server, article))

    select_with_mouse(page, sentence)
    page.get_by_role("button", name="Mark claim").click()
    editor = panel_editor(page)
    assert editor.get_by_test_id("panel-quote").inner_text() == sentence
    claim = Claim.objects.get()
    assert highlighted_text(page, claim.pk) == sentence  # highlighted at once, in place

    page.fill("#id_claim_reviewed", "Abadi says Russian airstrikes in Iraq are possible")
    page.fill("#id_claimant", "Haider al-Abadi")
    page.select_option("#id_rating", label="Mostly true")
    page.fill("#id_rationale", "He said so to France 24; the interview is on record.")
    page.fill("#id_sources-0-url", "https://www.france24.com/en/interview-abadi")
    page.fill("#id_sources-0-title", "Interview with Haider al-Abadi")
    page.select_option("#id_sources-0-stance", "supports")
    editor.get_by_role("button", name="Save claim").click()
    assert editor.get_by_test_id("panel-notice").inner_text() == "Claim saved."
    assert page.url == article_url(live_server, article) + f"#claim-{claim.pk}"  # never left the article

    claim.refresh_from_db()
    assert claim.exact == sentence
    assert claim.rating is not None and claim.rating.name == "Mostly true"
    sources = list(claim.sources.values_list("url", "stance"))
    assert sources == [("https://www.france24.com/en/interview-abadi", "supports")]

    page.reload()
    assert highlighted_text(page, claim.pk) == sentence
    panel = page.locator(f"#claim-{claim.pk}")
    assert "Abadi says Russian airstrikes" in panel.inner_text()


def test_offsets_survive_an_emoji_and_arabic_text(live_server, page, alice, desk):
    text = (
        "Breaking 🎉🇮🇶 news: the minister said airstrikes would begin soon.\n"
        "قال رئيس الوزراء إن الضربات الجوية ممكنة في الأيام المقبلة.\n"
        "Officials 👍 declined to comment further."
    )
    article = article_import(workspace=desk, text=text, title="Emoji and Arabic").article
    login(page, live_server, "alice")

    for quote in ("the minister said airstrikes would begin soon", "الضربات الجوية ممكنة", "declined to comment"):
        page.goto(article_url(live_server, article))
        select_with_mouse(page, quote)
        page.get_by_role("button", name="Mark claim").click()
        panel_editor(page)
        claim = Claim.objects.latest("pk")
        assert claim.exact == quote
        assert text[claim.start_offset : claim.end_offset] == quote


def test_two_overlapping_claims_both_show_and_both_open(live_server, page, alice, article):
    version = article.versions.get()
    text = version.text

    def mark(quote: str) -> Claim:
        start = text.index(quote)
        return claim_create(
            actor=alice, article=article, version=version, exact=quote, start=start, end=start + len(quote)
        )

    outer = mark("It is a possibility. If we get the offer we will consider it")
    inner = mark("If we get the offer we will consider it and I would welcome it.")
    login(page, live_server, "alice")
    page.goto(article_url(live_server, article))

    assert highlighted_text(page, outer.pk) == outer.exact
    assert highlighted_text(page, inner.pk) == inner.exact

    page.locator(".seg.hl", has_text="It is a possibility.").first.click()
    assert page.locator(f"#claim-{outer.pk} .claim-details").is_visible()
    page.locator(".seg.hl", has_text="and I would welcome it.").first.click()
    assert page.locator(f"#claim-{inner.pk} .claim-details").is_visible()
    assert not page.locator(f"#claim-{outer.pk} .claim-details").is_visible()


def test_a_script_in_a_rationale_is_shown_as_text_and_never_runs(live_server, page, alice, article):
    version = article.versions.get()
    quote = "It is a possibility."
    start = version.text.index(quote)
    claim = claim_create(
        actor=alice, article=article, version=version, exact=quote, start=start, end=start + len(quote)
    )
    hostile = '<script>window.__pwned = 1</script><img src="x" onerror="window.__pwned = 2">'
    claim_update(claim=claim, actor=alice, revision=claim.revision, fields={"rationale": hostile})

    login(page, live_server, "alice")
    page.goto(article_url(live_server, article) + f"#claim-{claim.pk}")
    assert page.get_by_test_id("rationale").inner_text() == hostile
    page.goto(f"{live_server.url}/w/{article.workspace.slug}/claims/{claim.pk}/")
    assert page.locator("#id_rationale").input_value() == hostile
    assert page.evaluate("window.__pwned") is None


def test_keyboard_moves_between_claims_and_shows_help(live_server, page, alice, article):
    version = article.versions.get()
    for quote in ("It is a possibility.", "Not yet"):
        start = version.text.index(quote)
        claim_create(actor=alice, article=article, version=version, exact=quote, start=start, end=start + len(quote))
    first, second = Claim.objects.order_by("start_offset")
    login(page, live_server, "alice")
    page.goto(article_url(live_server, article))

    page.keyboard.press("j")
    assert page.locator(f"#claim-{first.pk}").get_attribute("class").endswith("active")
    page.keyboard.press("j")
    assert "active" in page.locator(f"#claim-{second.pk}").get_attribute("class")
    page.keyboard.press("?")
    assert page.get_by_role("dialog", name="Keyboard shortcuts").is_visible()
    page.keyboard.press("Escape")
    page.keyboard.press("Enter")
    panel_editor(page, second.pk)
    assert page.evaluate("document.activeElement.id") == "id_claim_reviewed"


def test_an_orphan_is_listed_and_re_attached_by_selecting_the_new_text(live_server, page, alice, desk):
    text = "Headline\nThe minister said the strikes would start in days.\nOther news."
    article = article_import(workspace=desk, text=text, title="Headline").article
    quote = "the strikes would start in days"
    start = text.index(quote)
    claim = claim_create(
        actor=alice, article=article, version=article.versions.get(), exact=quote, start=start, end=start + len(quote)
    )
    new_text = "Headline\nThe minister said bombing could begin within a week.\nOther news."
    article_import(workspace=desk, text=new_text, title="Headline")

    login(page, live_server, "alice")
    page.goto(article_url(live_server, article))
    orphans = page.get_by_test_id("orphans")
    assert quote in orphans.inner_text()

    select_with_mouse(page, "bombing could begin within a week")
    orphans.get_by_role("button", name="Re-attach to selection").click()
    page.wait_for_load_state("load")
    page.wait_for_selector(f"#claim-{claim.pk}")
    assert highlighted_text(page, claim.pk) == "bombing could begin within a week"
    assert page.get_by_test_id("orphans").count() == 0


def test_the_panel_and_the_highlights_open_each_other_and_ctrl_s_saves(live_server, page, alice, article):
    version = article.versions.get()
    quote = "Not yet"
    start = version.text.index(quote)
    claim = claim_create(
        actor=alice, article=article, version=version, exact=quote, start=start, end=start + len(quote)
    )
    login(page, live_server, "alice")
    page.goto(article_url(live_server, article))

    page.locator(f"#claim-{claim.pk} .claim-open").click()
    assert page.locator(f'.seg.hl.active[data-claims="{claim.pk}"]').count() == 1
    page.get_by_role("link", name="Open claim").click()
    panel_editor(page, claim.pk)
    page.fill("#id_claimant", "Haider al-Abadi")
    page.keyboard.press("Control+s")
    page.get_by_test_id("panel-notice").wait_for()
    claim.refresh_from_db()
    assert claim.claimant == "Haider al-Abadi"
    # The full page stays, for deep links.
    page.locator("#claim-editor").get_by_role("link", name="Open the full page").click()
    page.wait_for_url(f"**/claims/{claim.pk}/")
    assert page.locator("#id_claimant").input_value() == "Haider al-Abadi"


def test_a_claim_is_marked_with_the_keyboard_alone(live_server, page, alice, desk):
    """No mouse: Tab to the text, arrows move the caret, Shift+arrows select, m marks."""
    text = "Headline 🎉\nThe minister 👍 said the strikes would start in days.\nOther news."
    article = article_import(workspace=desk, text=text, title="Headline").article
    quote = "the strikes would start in days"
    login(page, live_server, "alice")
    page.goto(article_url(live_server, article))

    for _ in range(40):  # to the article text, past the top bar's links
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.matches('.article-text')"):
            break
    else:
        pytest.fail("Tab never reached the article text")
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"  # focus shows
    described = page.evaluate(
        "document.getElementById(document.activeElement.getAttribute('aria-describedby')).textContent")
    assert "arrow keys" in described and "press m" in described

    page.keyboard.press("ArrowDown")  # the caret to the second line's start
    line = text.split("\n")[1]
    for _ in line[: line.index(quote)]:  # one press per character, the emoji included
        page.keyboard.press("ArrowRight")
    for _ in quote:
        page.keyboard.press("Shift+ArrowRight")
    assert page.evaluate("getSelection().toString()") == quote
    page.keyboard.press("m")

    editor = panel_editor(page)
    claim = Claim.objects.get()
    start = text.index(quote)
    assert (claim.exact, claim.start_offset, claim.end_offset) == (quote, start, start + len(quote))
    assert editor.get_by_test_id("panel-quote").inner_text() == quote
    assert page.evaluate("document.activeElement.id") == "id_claim_reviewed"  # typing goes on in the editor
    assert page.locator(".article-text").inner_text() == text  # the keys changed nothing in the text
