"""The claim editor without lost work, and the reader's fragments, over HTTP.

"Save and submit" saves and submits in one transaction: refused, it stores nothing and
answers with the typed text and the reason beside the field. The side panel's editor
(?panel=1) and the reader's text and list (?part=reader) have query budgets of their own.
"""

import pytest
from django.urls import reverse

from annotations.models import AuditEvent, Claim, Source
from annotations.services.claims import claim_create, claim_update
from tests.conftest import claim_in_state, expect_queries
from tests.test_page_queries import SESSION, busy_desk  # noqa: F401  (a fixture)

pytestmark = pytest.mark.django_db

QUOTE = "It is a possibility."
NEEDS = "Give the claim a restatement and a rating before submitting it."


@pytest.fixture
def claim(article, alice):
    version = article.versions.get()
    start = version.text.index(QUOTE)
    return claim_create(actor=alice, article=article, version=version, exact=QUOTE, start=start, end=start + len(QUOTE))


def typed(claim, **overrides) -> dict:
    """What a person typed into the editor: a restatement and a rationale, no rating yet."""
    data = {
        "revision": claim.revision, "claim_reviewed": "Abadi says Russian strikes in Iraq are possible",
        "claimant": "Haider al-Abadi", "claim_date": "", "rating": "",
        "rationale": "He told France 24 he would welcome Russian airstrikes.",
        "sources-TOTAL_FORMS": "1", "sources-INITIAL_FORMS": "0", "sources-MIN_NUM_FORMS": "0",
        "sources-MAX_NUM_FORMS": "1000",
        "sources-0-url": "https://www.france24.com/en/interview-abadi", "sources-0-title": "Interview",
        "sources-0-publisher": "", "sources-0-quote": "", "sources-0-stance": "supports",
        "sources-0-accessed_on": "", "sources-0-archive_url": "",
        "intent": "submit",
    }
    data.update(overrides)
    return data


def stored(claim) -> tuple:
    row = Claim.objects.filter(pk=claim.pk).values().get()
    return row, Source.objects.filter(claim=claim).count(), AuditEvent.objects.filter(claim_id=claim.pk).count()


def edit_url(claim, panel=False) -> str:
    return reverse("claim_edit", args=[claim.workspace.slug, claim.pk]) + ("?panel=1" if panel else "")


@pytest.mark.parametrize("panel", [False, True], ids=["page", "panel"])
def test_a_refused_submit_stores_nothing_and_answers_with_the_typing_and_the_reason_by_the_field(
    client, alice, claim, panel
):
    before = stored(claim)
    client.force_login(alice)

    page = client.post(edit_url(claim, panel), typed(claim))

    assert page.status_code == (400 if panel else 200)
    assert stored(claim) == before  # neither the save nor the submit: all or nothing
    form = page.context["form"]
    assert form.errors == {"rating": [NEEDS]}  # beside the rating, the one field still empty
    html = page.content.decode()
    for text in ("Abadi says Russian strikes in Iraq are possible", "He told France 24 he would welcome",
                 "https://www.france24.com/en/interview-abadi"):
        assert text in html
    assert 'data-unsaved="true"' in html  # the page warns before leaving it
    assert page.context["claim"].revision == claim.revision  # the form posts the revision it read

    # Nothing typed at all: the refusal stands beside both empty fields.
    empty_source = {"sources-0-url": "", "sources-0-title": "", "sources-0-stance": "context"}
    page = client.post(edit_url(claim, panel), typed(claim, claim_reviewed="", **empty_source))
    assert set(page.context["form"].errors) == {"claim_reviewed", "rating"}
    assert stored(claim) == before


def test_save_and_submit_saves_the_typing_and_submits_it_at_once(client, alice, claim):
    client.force_login(alice)
    rating = claim.workspace.rating_scale.labels.get(name="Mostly true").pk

    page = client.post(edit_url(claim), typed(claim, rating=rating))

    assert page.status_code == 302
    claim.refresh_from_db()
    assert claim.state == "submitted"
    assert claim.claim_reviewed == "Abadi says Russian strikes in Iraq are possible"
    assert claim.rationale.startswith("He told France 24")
    assert list(claim.sources.values_list("url", flat=True)) == ["https://www.france24.com/en/interview-abadi"]
    actions = list(AuditEvent.objects.filter(claim_id=claim.pk, object_type="claim")
                   .order_by("id").values_list("action", flat=True))
    assert actions[-2:] == ["claim.updated", "claim.submitted"]


def test_save_and_submit_with_nothing_changed_only_submits(client, alice, claim):
    rating = claim.workspace.rating_scale.labels.get(name="True")
    claim = claim_update(claim=claim, actor=alice, revision=claim.revision,
                         fields={"claim_reviewed": "Ready", "rating": rating})
    client.force_login(alice)
    page = client.post(edit_url(claim, panel=True), typed(
        claim, claim_reviewed="Ready", claimant="", rationale="", rating=rating.pk,
        **{"sources-0-url": "", "sources-0-title": "", "sources-0-stance": "context"},
    ))
    assert page.status_code == 200 and page["X-Claim-Saved"] == str(claim.pk)
    claim.refresh_from_db()
    assert (claim.state, claim.revision) == ("submitted", 3)  # created 1, saved 2, submitted 3
    assert "Saved and submitted for review." in page.content.decode()
    assert page.context["editable"] is False  # the panel now shows it read-only


def test_the_panel_saves_and_answers_with_the_claim_at_its_new_revision(client, alice, claim):
    client.force_login(alice)
    page = client.post(edit_url(claim, panel=True), typed(claim, intent="save"))
    assert page.status_code == 200 and page["X-Claim-Saved"] == str(claim.pk)
    claim.refresh_from_db()
    assert (claim.state, claim.revision, claim.claimant) == ("draft", 2, "Haider al-Abadi")
    assert f'data-revision="{claim.revision}"' in page.content.decode()
    assert not page.context["form"].is_bound  # a fresh form, not the posted one

    # The old revision again: someone changed it meanwhile (here: that save). 409, typing kept.
    page = client.post(edit_url(claim, panel=True), typed(claim, revision=1, claimant="Someone else", intent="save"))
    assert page.status_code == 409
    assert "Someone else changed this claim" in page.content.decode()
    assert 'value="Someone else"' in page.content.decode()


def test_the_panel_editor_budget(client, crew, desk, busy_desk):  # noqa: F811
    claim = claim_in_state("draft", busy_desk["approved"].article, crew, quote="Iraqi")
    client.force_login(crew["author"])
    client.get(edit_url(claim, panel=True))
    with expect_queries(
        *SESSION,
        "annotations_claim: the claim with its desk, article, version, rating, people and my role (access.claim_get)",
        "annotations_review: reviews with reviewers",
        "annotations_ratinglabel: the desk's scale, for the rating choice",
        "annotations_source: the sources (form)",
    ):
        page = client.get(edit_url(claim, panel=True))
    assert page.status_code == 200
    html = page.content.decode()
    assert "<html" not in html and 'data-panel="true"' in html and "Save and submit for review" in html


def test_the_reader_part_budget(client, crew, desk, article, busy_desk):  # noqa: F811
    url = reverse("article_detail", args=[desk.slug, article.pk]) + "?part=reader"
    client.force_login(crew["author"])
    client.get(url)
    with expect_queries(
        *SESSION,
        "annotations_article: the article with my role, if it is in one of my desks (access.article_get)",
        "annotations_articleversion: the latest version",
        "annotations_claim: the claims on it, as plain rows",
        "annotations_claim: orphaned claims of earlier versions",
    ):
        page = client.get(url)
    html = page.content.decode()
    assert "<html" not in html and 'data-part="text"' in html and html.count('class="claim-item') == 8


def test_the_review_page_shows_the_whole_article(client, crew, article):
    claim = claim_in_state("in_review", article, crew, quote="Not yet")
    client.force_login(crew["reviewer"])
    page = client.get(reverse("review", args=[article.workspace.slug, claim.pk]))
    text = article.versions.get().text
    shown = page.content.decode()
    first_words, last_words = text.strip().split("\n")[0][:40], text.strip().split("\n")[-1][-40:]
    assert first_words in shown and last_words in shown
    assert shown.count('class="seg hl') == 1
