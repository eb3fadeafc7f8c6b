"""The meaning-change guard: cosmetic edits stay exact, edits that change what a claim says
are `changed` (never silently fuzzy), and an approved claim whose article changed waits in
the reviewer queue until a person confirms the verdict or reopens it."""

import re

import pytest
from django.urls import reverse

from annotations.anchoring import Selectors, meaning_changes, normalise, reanchor, selectors_for
from annotations.errors import PermissionDenied
from annotations.models import AnchorStatus, AuditEvent, Claim, ClaimState
from annotations.services.articles import article_import
from annotations.services.claims import claim_create, claim_position_confirm, claim_reattach
from annotations.services.workflow import claim_reopen, claim_verdict_confirm
from tests.conftest import ROOT, claim_in_state, expect_queries

ARTICLES = ROOT / "fixtures" / "articles"
AIRCRAFT = (ARTICLES / "001_c037270258430dbe.txt").read_text().strip()
KREMLIN = (ARTICLES / "003_bfa0424f67a84adf.txt").read_text().strip()
ABADI = (ARTICLES / "004_428bd4dd585685f7.txt").read_text().strip()
MEMO = (ARTICLES / "002_c9114a08667e44a1.txt").read_text().strip()


def anchor_of(text: str, quote: str) -> Selectors:
    start = text.index(quote)
    return selectors_for(text, start, start + len(quote))


# --- Cosmetic edits stay exact ---------------------------------------------------------

def test_a_cosmetic_edit_inside_the_quote_stays_exact_with_offsets_in_the_new_text():
    quote = "Abadi’s spokesman, Saad al-Hadithi, said the prime minister"
    old = anchor_of(KREMLIN, quote)
    # Curly to straight apostrophe, a non-breaking space and a run of spaces, and a new
    # paragraph before the claim so every offset moves.
    new_text = "A note was added.\n\n" + KREMLIN.replace(
        quote, "Abadi's spokesman,\u00a0Saad al-Hadithi,   said the prime minister"
    )
    anchor = reanchor(KREMLIN, new_text, old)
    assert anchor.status == "exact" and anchor.selectors is not None and anchor.score is None
    assert anchor.selectors.exact == "Abadi's spokesman,\u00a0Saad al-Hadithi,   said the prime minister"
    assert new_text[anchor.selectors.start : anchor.selectors.end] == anchor.selectors.exact


def test_normalise_maps_every_character_back_to_the_original():
    text = "he \u201cwould\u00a0 welcome\u201d it\u2019s \u2032"
    folded, positions = normalise(text)
    assert folded == "he \"would welcome\" it's '"
    assert len(positions) == len(folded) + 1 and positions[-1] == len(text)
    assert all(text[positions[i]] == folded[i] or folded[i] in " '\"" for i in range(len(folded)))


# --- Meaning changes are `changed` ---------------------------------------------------

MEANING_EDITS = [
    # (article, quote, old words, new words)
    (KREMLIN, "the prime minister has not discussed airstrikes with the Kremlin", "has not discussed", "has discussed"),
    (ABADI, "he “would welcome” Russian airstrikes in his country", "“would welcome”", "“would not welcome”"),
    (AIRCRAFT, "it had sent more than 50 military aircraft", "50 military aircraft", "60 military aircraft"),
    (AIRCRAFT, "it had sent more than 50 military aircraft", "more than 50", "fewer than 50"),
    (AIRCRAFT, "it had sent more than 50 military aircraft", "more than 50", "more than fifty"),
    (ABADI, "Iraqi Prime Minister Haider al-Abadi said Thursday", "said Thursday", "said Friday"),
    (ABADI, "Iraqi Prime Minister Haider al-Abadi said Thursday", "Haider al-Abadi", "Nouri al-Abadi"),
]


@pytest.mark.parametrize("text, quote, before, after", MEANING_EDITS, ids=lambda v: v if len(v) < 25 else None)
def test_an_edit_that_changes_what_the_claim_says_is_changed_never_fuzzy(text, quote, before, after):
    old = anchor_of(text, quote)
    new_text = text.replace(quote, quote.replace(before, after), 1)
    anchor = reanchor(text, new_text, old)
    assert anchor.status == "changed", anchor
    assert anchor.selectors is not None and anchor.selectors.exact == quote.replace(before, after)
    assert anchor.score is not None and anchor.reasons


def test_a_plain_fuzzy_move_stays_fuzzy():
    # Typos fixed in names and words are not meaning changes; neither is a capital at a
    # sentence start or a respelt word.
    assert meaning_changes("role in fighting Daseh", "role in fighting Daesh") == ()
    assert meaning_changes("the Roreign Ministry said", "the Foreign Ministry said") == ()
    assert meaning_changes("Moscow is ready. it will", "Moscow is ready. It will") == ()
    assert meaning_changes("a role gerater than", "a role greater than") == ()
    assert meaning_changes("in 1950 and", "in 1590 and") != ()
    assert meaning_changes("in the Iraqgovernment view", "in the Iraqi government view") == ()
    assert meaning_changes("strikes in Iran", "strikes in Iraq") == ("name: Iran (removed)", "name: Iraq (inserted)")
    quote = "greater than the Americans’ role in fighting Daseh"
    anchor = reanchor(MEMO, MEMO.replace("Daseh", "Daesh"), anchor_of(MEMO, quote))
    assert anchor.status == "fuzzy"


# --- The re-anchoring service, the article page and the queue -----------------------

def reimport(article, text, actor):
    result = article_import(workspace=article.workspace, text=text, title=article.title, actor=actor)
    assert result.outcome == "new_version"
    return result.version


@pytest.mark.django_db
def test_a_changed_claim_waits_with_the_orphans_and_a_person_confirms_it(client, desk, article, crew):
    quote = "50 military aircraft"
    v1 = article.versions.get()
    start = v1.text.index(quote)
    claim = claim_create(actor=crew["author"], article=article, version=v1, exact=quote, start=start,
                         end=start + len(quote))
    v2 = reimport(article, v1.text.replace(quote, "60 military aircraft"), crew["author"])
    claim.refresh_from_db()
    assert (claim.anchor_status, claim.version_id, claim.exact, claim.anchor_previous_exact) == (
        AnchorStatus.CHANGED, v2.pk, "60 military aircraft", quote)
    assert v2.text[claim.start_offset : claim.end_offset] == claim.exact
    trail = AuditEvent.objects.filter(claim_id=claim.pk, action="claim.updated").latest("id")
    assert "number: 50 (removed)" in trail.reason

    # A quieter edit later does not settle it: it waits for a person.
    v3 = reimport(article, "A new first paragraph.\n\n" + v2.text, crew["author"])
    claim.refresh_from_db()
    assert (claim.anchor_status, claim.version_id, claim.anchor_previous_exact) == (AnchorStatus.CHANGED, v3.pk, quote)

    client.force_login(crew["author"])
    page = client.get(reverse("article_detail", args=[desk.slug, article.pk])).content.decode()
    assert 'data-testid="word-diff"' in page and "<del>50</del> <ins>60</ins> military aircraft" in page

    with pytest.raises(PermissionDenied):
        claim_position_confirm(claim=claim, actor=crew["teammate"], revision=claim.revision)
    response = client.post(reverse("claim_position_confirm", args=[desk.slug, claim.pk]),
                           {"revision": claim.revision})
    assert response.status_code == 302
    claim.refresh_from_db()
    assert (claim.anchor_status, claim.anchor_score, claim.anchor_previous_exact) == (AnchorStatus.CONFIRMED, None, "")
    event = AuditEvent.objects.filter(claim_id=claim.pk).latest("id")
    assert event.actor_id == crew["author"].pk and "“50 military aircraft” now reads “60 military aircraft”" in (
        event.reason)
    page = client.get(reverse("article_detail", args=[desk.slug, article.pk])).content.decode()
    assert 'data-testid="word-diff"' not in page


@pytest.mark.django_db
def test_a_changed_claim_can_be_re_attached_instead(desk, article, crew):
    quote = "50 military aircraft"
    v1 = article.versions.get()
    start = v1.text.index(quote)
    claim = claim_create(actor=crew["author"], article=article, version=v1, exact=quote, start=start,
                         end=start + len(quote))
    v2 = reimport(article, v1.text.replace(quote, "60 military aircraft"), crew["author"])
    claim.refresh_from_db()
    at = v2.text.index("60 military")
    claim_reattach(claim=claim, actor=crew["admin"], revision=claim.revision, exact="60", start=at, end=at + 2)
    claim.refresh_from_db()
    assert (claim.anchor_status, claim.exact, claim.anchor_previous_exact) == (AnchorStatus.REATTACHED, "60", "")


def approved_with_new_text(article, crew, quote, replacement):
    claim = claim_in_state("approved", article, crew, quote=quote)
    reimport(article, article.versions.get().text.replace(quote, replacement), crew["author"])
    claim.refresh_from_db()
    return claim


@pytest.mark.django_db
def test_an_approved_claim_whose_quote_changed_is_flagged_in_the_queue_and_the_verdict_stands(
        client, desk, article, crew):
    claim = approved_with_new_text(article, crew, "50 military aircraft", "60 military aircraft")
    assert claim.state == ClaimState.APPROVED and claim.anchor_status == AnchorStatus.CHANGED
    assert claim.article_changed_at is not None
    client.force_login(crew["reviewer"])
    page = client.get(reverse("queue", args=[desk.slug])).content.decode()
    assert f'data-testid="article-changed-row" data-claim="{claim.pk}"' in page
    assert "Article changed since the verdict" in page and "Verdict stands" in page

    response = client.post(reverse("claim_verdict_confirm", args=[desk.slug, claim.pk]), {"revision": claim.revision})
    assert response.status_code == 302
    claim.refresh_from_db()
    assert claim.state == ClaimState.APPROVED and claim.article_changed_at is None
    event = AuditEvent.objects.filter(claim_id=claim.pk).latest("id")
    assert (event.actor_id, event.reason) == (crew["reviewer"].pk,
                                              "The article changed since the verdict; the verdict stands.")
    assert 'data-testid="article-changed-row"' not in client.get(reverse("queue", args=[desk.slug])).content.decode()


@pytest.mark.django_db
def test_an_orphaned_approved_claim_is_flagged_and_reopening_clears_it(desk, article, crew):
    quote = "50 military aircraft"
    claim = claim_in_state("approved", article, crew, quote=quote)
    text = article.versions.get().text
    paragraph = next(p for p in text.split("\n\n") if quote in p)
    reimport(article, text.replace(paragraph, "This paragraph was rewritten entirely by the publisher."),
             crew["author"])
    claim.refresh_from_db()
    assert claim.anchor_status == AnchorStatus.ORPHANED and claim.article_changed_at is not None
    assert claim.state == ClaimState.APPROVED  # nothing is withdrawn without a person
    claim = claim_reopen(claim=claim, actor=crew["admin"], reason="The article changed.", revision=claim.revision)
    assert claim.state == ClaimState.CHANGES_REQUESTED and claim.article_changed_at is None
    assert AuditEvent.objects.filter(claim_id=claim.pk, action="claim.reopened").exists()


@pytest.mark.django_db
def test_a_plain_fuzzy_move_of_an_approved_claim_is_not_flagged(desk, article, crew):
    claim = approved_with_new_text(article, crew, "50 military aircraft as well as marines",
                                   "50 military aircraft as well as marrines")
    assert claim.anchor_status == AnchorStatus.FUZZY and claim.article_changed_at is None


@pytest.mark.django_db
def test_who_may_confirm(desk, article, crew):
    claim = approved_with_new_text(article, crew, "50 military aircraft", "60 military aircraft")
    for who in ("author", "teammate", "outsider"):
        with pytest.raises(PermissionDenied):
            claim_verdict_confirm(claim=claim, actor=crew[who], revision=claim.revision)
    for who in ("teammate", "reviewer", "outsider"):
        with pytest.raises(PermissionDenied):
            claim_position_confirm(claim=claim, actor=crew[who], revision=claim.revision)
    assert Claim.objects.get(pk=claim.pk).article_changed_at is not None
    claim = claim_position_confirm(claim=claim, actor=crew["admin"], revision=claim.revision)
    claim = claim_verdict_confirm(claim=claim, actor=crew["admin"], revision=claim.revision)
    assert (claim.anchor_status, claim.article_changed_at) == (AnchorStatus.CONFIRMED, None)


@pytest.mark.django_db
def test_the_buttons_answer_each_person_as_the_rules_say(client, desk, article, crew):
    claim = approved_with_new_text(article, crew, "50 military aircraft", "60 military aircraft")
    position = reverse("claim_position_confirm", args=[desk.slug, claim.pk])
    verdict = reverse("claim_verdict_confirm", args=[desk.slug, claim.pk])
    for who, position_status, verdict_status in [
        ("outsider", 404, 404), ("teammate", 403, 403), ("reviewer", 403, 302), ("author", 302, 403),
    ]:
        client.force_login(crew[who])
        revision = Claim.objects.get(pk=claim.pk).revision
        assert client.post(position, {"revision": revision}).status_code == position_status, who
        assert client.post(verdict, {"revision": revision}).status_code == verdict_status, who
    claim.refresh_from_db()
    assert (claim.anchor_status, claim.article_changed_at) == (AnchorStatus.CONFIRMED, None)
    # A stale or missing revision changes nothing and says why.
    client.force_login(crew["author"])
    response = client.post(position, {"revision": "x"}, follow=True)
    assert "Only a claim whose words changed meaning" in response.content.decode()


# --- A claim waiting for review whose article changed ---------------------------------

def submitted_with_new_text(article, crew, quote, replacement, state="submitted"):
    claim = claim_in_state(state, article, crew, quote=quote)
    reimport(article, article.versions.get().text.replace(quote, replacement), crew["author"])
    claim.refresh_from_db()
    return claim


def queue_flags(client, desk) -> list[str]:
    """The claims the queue page flags "Article changed since it was submitted", by id."""
    page = client.get(reverse("queue", args=[desk.slug])).content.decode()
    return re.findall(r'data-testid="article-changed-since-submitted" data-claim="(\d+)"', page)


@pytest.mark.django_db
def test_a_submitted_claim_whose_number_changed_is_flagged_in_the_queue_until_it_is_confirmed(
        client, desk, article, crew):
    other = claim_in_state("submitted", article, crew, quote="It is a possibility.")
    claim = submitted_with_new_text(article, crew, "50 military aircraft", "60 military aircraft")
    assert (claim.state, claim.anchor_status, claim.article_changed_at) == (
        ClaimState.SUBMITTED, AnchorStatus.CHANGED, None)
    client.force_login(crew["reviewer"])
    page = client.get(reverse("queue", args=[desk.slug])).content.decode()
    row = page[page.index(f'data-testid="queue-row" data-claim="{claim.pk}"'):]
    row = row[:row.index("</tr>")]
    article_page = reverse("article_detail", args=[desk.slug, article.pk])
    assert (f'<a class="badge link-broken" data-testid="article-changed-since-submitted" data-claim="{claim.pk}" '
            f'href="{article_page}#claims-index">Article changed since it was submitted</a>') in row
    assert "was <q>50 military aircraft</q>, now <q>60 military aircraft</q>" in row
    assert queue_flags(client, desk) == [str(claim.pk)]  # not the claim whose words stayed
    assert other.pk != claim.pk

    claim_position_confirm(claim=claim, actor=crew["author"], revision=claim.revision)
    assert queue_flags(client, desk) == []
    assert f'data-testid="queue-row" data-claim="{claim.pk}"' in client.get(
        reverse("queue", args=[desk.slug])).content.decode()  # still waiting for its review


@pytest.mark.django_db
def test_an_orphaned_claim_in_review_is_flagged_on_the_queue_and_the_review_page_until_re_attached(
        client, desk, article, crew):
    quote = "50 military aircraft"
    claim = claim_in_state("in_review", article, crew, quote=quote)
    text = article.versions.get().text
    paragraph = next(p for p in text.split("\n\n") if quote in p)
    v2 = reimport(article, text.replace(paragraph, "This paragraph was rewritten entirely by the publisher."),
                  crew["author"])
    claim.refresh_from_db()
    assert (claim.state, claim.anchor_status) == (ClaimState.IN_REVIEW, AnchorStatus.ORPHANED)
    client.force_login(crew["admin"])
    assert queue_flags(client, desk) == [str(claim.pk)]  # in the "In review" list
    client.force_login(crew["reviewer"])
    review = client.get(reverse("review", args=[desk.slug, claim.pk])).content.decode()
    assert 'data-testid="article-changed-notice"' in review and "no longer has the claim" in review

    at = v2.text.index("rewritten")
    claim_reattach(claim=claim, actor=crew["author"], revision=claim.revision, exact="rewritten", start=at,
                   end=at + len("rewritten"))
    assert queue_flags(client, desk) == []
    review = client.get(reverse("review", args=[desk.slug, claim.pk])).content.decode()
    assert 'data-testid="article-changed-notice"' not in review


@pytest.mark.django_db
def test_a_claim_whose_words_changed_in_review_is_not_approved_until_a_person_settles_it(desk, article, crew):
    from django.core.exceptions import ValidationError

    from annotations.services.workflow import claim_decide

    claim = claim_in_state("in_review", article, crew, quote="50 military aircraft")
    text = article.versions.get().text
    reimport(article, text.replace("50 military aircraft", "60 military aircraft"), crew["author"])
    claim.refresh_from_db()
    assert claim.anchor_status == AnchorStatus.CHANGED
    events = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as refused:
        claim_decide(claim=claim, actor=crew["reviewer"], decision="approve", comment="", revision=claim.revision)
    assert "confirm where its words moved" in refused.value.message_dict["claim"][0]
    claim.refresh_from_db()
    assert claim.state == ClaimState.IN_REVIEW and AuditEvent.objects.count() == events  # nothing changed
    claim_position_confirm(claim=claim, actor=crew["author"], revision=claim.revision)
    claim.refresh_from_db()
    approved = claim_decide(claim=claim, actor=crew["reviewer"], decision="approve", comment="",
                            revision=claim.revision)
    assert approved.state == ClaimState.APPROVED


@pytest.mark.django_db
def test_flagging_changed_claims_costs_the_queue_page_no_query(client, desk, article, crew):
    # Two waiting claims and one in review, all three changed: the flag is read with the claims.
    claim_in_state("submitted", article, crew, quote="It is a possibility.")
    claim_in_state("submitted", article, crew, quote="Not yet")
    claim_in_state("in_review", article, crew, quote="50 military aircraft")
    text = article.versions.get().text.replace("It is a possibility.", "It is not a possibility.").replace(
        "Not yet", "Not in 2016").replace("50 military aircraft", "60 military aircraft")
    reimport(article, text, crew["author"])
    client.force_login(crew["admin"])
    url = reverse("queue", args=[desk.slug])
    client.get(url)  # content types and other per-process caches
    # The queue page's budget in tests/test_page_queries.py, unchanged.
    with expect_queries(
        "django_session: the session", "auth_user: the logged-in user",
        "annotations_membership: the desk by its slug, with the user's membership (access.workspace_get)",
        "annotations_claim: waiting claims with a source problem flag (source_problem_idx)",
        "annotations_article: their articles' titles",
        "annotations_ratinglabel: their ratings",
        "auth_user: their authors",
        "annotations_claim: the claims in review, with who holds them and their article (claim_hold_expiry_idx)",
        "annotations_claim: the counts of waiting, held and my claims (claim_queue_idx)",
        "annotations_claim: approved claims whose article changed since the verdict (claim_article_changed_idx)",
        "annotations_membership: the top bar (selectors.desk_nav)",
        "annotations_claim: the claims I hold",
        "annotations_article: article titles for the filter",
        "annotations_ratinglabel: the scale for the filter",
        "auth_user: the desk's people for the author filter",
    ):
        response = client.get(url)
    assert len(re.findall('data-testid="article-changed-since-submitted"', response.content.decode())) == 3
