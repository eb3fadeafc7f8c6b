"""Re-anchoring on the demo articles with the edits publishers really make."""

import pytest

from annotations.anchoring import FUZZY_THRESHOLD, Selectors, reanchor, selectors_for
from annotations.models import AnchorStatus, Claim
from annotations.services.articles import article_import
from annotations.services.claims import claim_create
from tests.conftest import ROOT

ARTICLES = ROOT / "fixtures" / "articles"
MEMO = (ARTICLES / "002_c9114a08667e44a1.txt").read_text().strip()
ABADI = (ARTICLES / "004_428bd4dd585685f7.txt").read_text().strip()


def anchor_of(text: str, quote: str) -> Selectors:
    start = text.index(quote)
    return selectors_for(text, start, start + len(quote))


def test_a_sentence_inserted_before_the_claim_moves_it_exactly():
    quote = "Russia said it would consider extending its airstrikes against Daesh in Syria"
    old = anchor_of(MEMO, quote)
    new_text = MEMO.replace("Recently, Al-Zamili", "A new paragraph was added here.\n\nRecently, Al-Zamili")
    anchor = reanchor(MEMO, new_text, old)
    assert anchor.status == "exact" and anchor.selectors is not None
    assert anchor.selectors.start == old.start + len("A new paragraph was added here.\n\n")
    assert new_text[anchor.selectors.start : anchor.selectors.end] == quote


def test_a_typo_fixed_inside_the_quote_re_anchors_fuzzily_with_its_score():
    quote = "greater than the Americans’ role in fighting Daseh"
    old = anchor_of(MEMO, quote)
    corrected = MEMO.replace("Daseh", "Daesh")
    anchor = reanchor(MEMO, corrected, old)
    assert anchor.status == "fuzzy" and anchor.selectors is not None and anchor.score is not None
    assert FUZZY_THRESHOLD <= anchor.score < 1
    assert anchor.selectors.exact == "greater than the Americans’ role in fighting Daesh"


def test_a_typo_fixed_next_to_the_quote_keeps_it_exact():
    quote = "depends decisively on the will of the"
    old = anchor_of(ABADI, quote)
    corrected = ABADI.replace("Iraqgovernment", "Iraqi government")
    anchor = reanchor(ABADI, corrected, old)
    assert anchor.status == "exact" and anchor.selectors is not None
    assert anchor.selectors.exact == quote


def test_a_removed_paragraph_orphans_its_claim_and_attaches_to_nothing_else():
    paragraph = next(p for p in MEMO.split("\n\n") if p.startswith("“We might be obliged"))
    quote = "in the coming few days or weeks"
    old = anchor_of(MEMO, quote)
    new_text = MEMO.replace(paragraph + "\n\n", "")
    assert quote in MEMO and quote not in new_text
    anchor = reanchor(MEMO, new_text, old)
    assert anchor.status == "orphaned" and anchor.selectors is None


def test_the_same_words_elsewhere_are_not_taken_for_a_removed_claim():
    # "air strikes" occurs in two paragraphs; the claim is on the one that is removed.
    removed = next(p for p in MEMO.split("\n\n") if p.startswith("“We might be obliged"))
    start = MEMO.index(removed) + removed.index("air strikes")
    old = selectors_for(MEMO, start, start + len("air strikes"))
    new_text = MEMO.replace(removed + "\n\n", "")
    assert "air strikes" in new_text
    anchor = reanchor(MEMO, new_text, old)
    assert anchor.status == "orphaned"


def test_a_quote_mostly_rewritten_is_orphaned_not_fuzzily_attached():
    quote = "Iraq and a number of Iraqi factions backed by Iran are sceptical"
    old = anchor_of(MEMO, quote)
    new_text = MEMO.replace(quote, "Several Shia militias supported by Tehran doubt")
    anchor = reanchor(MEMO, new_text, old)
    assert anchor.status == "orphaned"


@pytest.mark.django_db
def test_importing_a_corrected_version_re_anchors_every_claim_of_the_article(desk, alice):
    article = article_import(workspace=desk, text=MEMO, title="Baghdad may ask Russia").article
    v1 = article.versions.get()

    def mark(quote: str) -> Claim:
        start = v1.text.index(quote)
        return claim_create(actor=alice, article=article, version=v1, exact=quote, start=start, end=start + len(quote))

    moved = mark("Russia said it would consider extending its airstrikes")
    typo = mark("role in fighting Daseh")
    gone = mark("in the coming few days or weeks")

    edited = MEMO.replace("Daseh", "Daesh").replace(
        next(p for p in MEMO.split("\n\n") if p.startswith("“We might be obliged")) + "\n\n", ""
    )
    result = article_import(workspace=desk, text=edited, title="Baghdad may ask Russia")
    assert result.outcome == "new_version"
    v2 = result.version

    for claim in (moved, typo, gone):
        claim.refresh_from_db()
    assert (moved.anchor_status, moved.version_id) == (AnchorStatus.EXACT, v2.pk)
    assert (typo.anchor_status, typo.version_id, typo.exact) == (AnchorStatus.FUZZY, v2.pk, "role in fighting Daesh")
    assert typo.anchor_score is not None and typo.anchor_score >= FUZZY_THRESHOLD
    assert (gone.anchor_status, gone.version_id) == (AnchorStatus.ORPHANED, v1.pk)
    for claim in (moved, typo):
        assert v2.text[claim.start_offset : claim.end_offset] == claim.exact
