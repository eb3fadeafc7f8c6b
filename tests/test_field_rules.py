"""Field rules: every bad value gets the same sentence on the same field from the claim
editor page, the add-article page and the API, and changes nothing."""

import io
from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from annotations.errors import PermissionDenied
from annotations.models import Article, ArticleVersion, AuditEvent, Claim, Source
from annotations.services.articles import article_import
from annotations.services.claims import SourceChange, claim_create, claim_update
from annotations.services.tokens import api_token_create

pytestmark = pytest.mark.django_db

QUOTE = "It is a possibility."
FUTURE = (date.today() + timedelta(days=2)).isoformat()
BAD_URL = "Enter a web address starting with http:// or https://."
LONG_URL = "https://example.org/" + "a" * 1981  # 2,001 characters
URL_TOO_LONG = "The web address is too long (at most 2000 characters)."


@pytest.fixture
def claim(article, alice):
    version = article.versions.get()
    start = version.text.index(QUOTE)
    return claim_create(actor=alice, article=article, version=version, exact=QUOTE, start=start, end=start + len(QUOTE))


@pytest.fixture
def source(claim, alice):
    claim_update(claim=claim, actor=alice, revision=claim.revision, fields={}, sources=[
        SourceChange(pk=None, fields={"url": "https://example.org/ok", "title": "A title"}),
    ])
    claim.refresh_from_db()
    return claim.sources.get()


def api_as(user) -> APIClient:
    client = APIClient()
    _, key = api_token_create(user=user, name="tests")
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def if_match(claim) -> str:
    claim.refresh_from_db()
    return f'"claim-{claim.pk}-r{claim.revision}"'


def api_sentences(response, field: str) -> list[str]:
    """The API's sentences for `field`, after checking the error has the one shape."""
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert (error["status"], error["code"]) == (400, "invalid")
    assert list(error["fields"]) == [field], error
    assert error["message"] == f"{field}: {error['fields'][field][0]}"
    return error["fields"][field]


def snapshot() -> dict:
    """Every row a rejected edit or import could have touched."""
    return {
        "claims": list(Claim.objects.order_by("pk").values()),
        "sources": list(Source.objects.order_by("pk").values()),
        "articles": list(Article.objects.order_by("pk").values()),
        "versions": list(ArticleVersion.objects.order_by("pk").values_list("pk", "sha256")),
        "audit": AuditEvent.objects.count(),
    }


def editor_form(claim, **overrides) -> dict:
    data = {
        "revision": claim.revision, "claim_reviewed": "Abadi says airstrikes are possible",
        "claimant": "Haider al-Abadi", "claim_date": "2015-10-01",
        "rating": claim.workspace.rating_scale.labels.get(name="True").pk, "rationale": "On record.",
        "sources-TOTAL_FORMS": "1", "sources-INITIAL_FORMS": "0", "sources-MIN_NUM_FORMS": "0",
        "sources-MAX_NUM_FORMS": "1000",
        "sources-0-url": "", "sources-0-title": "", "sources-0-publisher": "", "sources-0-quote": "",
        "sources-0-stance": "context", "sources-0-accessed_on": "", "sources-0-archive_url": "",
    }
    data.update(overrides)
    return data


# --- Claims: the editor page and PATCH /api/v1/claims/{id}/ --------------------------------

CLAIM_CASES = [
    pytest.param("claim_reviewed", "x" * 301, "The restatement can be at most 300 characters (it has 301).",
                 id="restatement-too-long"),
    pytest.param("claim_reviewed", "two\nlines", "The restatement is one line; remove the line breaks.",
                 id="restatement-newline"),
    pytest.param("claim_reviewed", "two\rlines", "The restatement is one line; remove the line breaks.",
                 id="restatement-carriage-return"),
    pytest.param("claim_reviewed", "two\u2028lines", "The restatement is one line; remove the line breaks.",
                 id="restatement-line-separator"),
    pytest.param("claimant", "x" * 201, "The claimant can be at most 200 characters (it has 201).",
                 id="claimant-too-long"),
    pytest.param("claim_date", FUTURE, "The claim date cannot be in the future.", id="claim-date-future"),
    pytest.param("claim_date", "2015-13-45", "Enter the claim date as YYYY-MM-DD.", id="claim-date-not-a-date"),
    pytest.param("rating", 999_999, "Choose a rating from this desk's scale.", id="rating-unknown"),
    pytest.param("rating", "five", "Choose a rating from this desk's scale.", id="rating-not-an-id"),
    pytest.param("rating", "other desk", "Choose a rating from this desk's scale.", id="rating-of-another-desk"),
    pytest.param("rationale", "x" * 20_001, "The rationale can be at most 20000 characters (it has 20001).",
                 id="rationale-too-long"),
    pytest.param("revision", "zero", "Enter a whole number.", id="revision-not-a-number"),
]


@pytest.mark.parametrize("field, value, sentence", CLAIM_CASES)
def test_a_bad_claim_field_gets_one_sentence_from_the_page_and_the_api(
    client, alice, claim, other_desk, field, value, sentence
):
    if value == "other desk":
        value = other_desk.rating_scale.labels.get(name="True").pk
    before = snapshot()

    client.force_login(alice)
    edit_url = reverse("claim_edit", args=[claim.workspace.slug, claim.pk])
    page = client.post(edit_url, editor_form(claim, **{field: value}))
    assert page.status_code == 200
    assert page.context["form"].errors[field] == [sentence]
    assert snapshot() == before

    api, url = api_as(alice), f"/api/v1/claims/{claim.pk}/"
    if field == "revision":  # the body's revision is the precondition when no If-Match is sent
        response = api.patch(url, {field: value}, format="json")
    else:
        response = api.patch(url, {field: value}, format="json", HTTP_IF_MATCH=if_match(claim))
    assert api_sentences(response, field) == [sentence]
    assert snapshot() == before


# --- Sources: the editor's source rows, POST /api/v1/sources/ and PATCH /api/v1/sources/{id}/

SOURCE_CASES = [
    pytest.param("url", "", "Give the source's web address.", id="url-missing"),
    pytest.param("url", "javascript:alert(1)", BAD_URL, id="url-javascript"),
    pytest.param("url", "ftp://example.org/file", BAD_URL, id="url-ftp"),
    pytest.param("url", "example.org/no-scheme", BAD_URL, id="url-without-scheme"),
    pytest.param("url", LONG_URL, URL_TOO_LONG, id="url-too-long"),
    pytest.param("archive_url", "not a url", BAD_URL, id="archive-url-not-a-url"),
    pytest.param("archive_url", "file:///etc/passwd", BAD_URL, id="archive-url-file"),
    pytest.param("archive_url", LONG_URL, URL_TOO_LONG, id="archive-url-too-long"),
    pytest.param("title", "x" * 501, "The title can be at most 500 characters (it has 501).", id="title-too-long"),
    pytest.param("publisher", "x" * 201, "The publisher can be at most 200 characters (it has 201).",
                 id="publisher-too-long"),
    pytest.param("quote", "x" * 6000, "The quote can be at most 5000 characters (it has 6000).", id="quote-too-long"),
    pytest.param("stance", "maybe", "Choose whether the source supports, refutes or gives context.",
                 id="stance-unknown"),
    pytest.param("accessed_on", FUTURE, "The access date cannot be in the future.", id="accessed-on-future"),
    pytest.param("accessed_on", "yesterday", "Enter the date you accessed the source as YYYY-MM-DD.",
                 id="accessed-on-not-a-date"),
]


@pytest.mark.parametrize("field, value, sentence", SOURCE_CASES)
def test_a_bad_new_source_gets_one_sentence_from_the_page_and_the_api(client, alice, claim, field, value, sentence):
    before = snapshot()

    client.force_login(alice)
    data = editor_form(claim, **{"sources-0-url": "https://example.org/ok", "sources-0-title": "A title",
                                 f"sources-0-{field}": value})
    page = client.post(reverse("claim_edit", args=[claim.workspace.slug, claim.pk]), data)
    assert page.status_code == 200
    assert page.context["formset"].forms[0].errors[field] == [sentence]
    assert snapshot() == before

    body = {"claim": claim.pk, "url": "https://example.org/ok", field: value}
    response = api_as(alice).post("/api/v1/sources/", body, format="json", HTTP_IF_MATCH=if_match(claim))
    assert api_sentences(response, field) == [sentence]
    assert snapshot() == before


@pytest.mark.parametrize("field, value, sentence", SOURCE_CASES)
def test_a_bad_change_to_a_source_gets_one_sentence_from_the_page_and_the_api(
    client, alice, claim, source, field, value, sentence
):
    before = snapshot()

    client.force_login(alice)
    data = editor_form(claim, **{
        "sources-INITIAL_FORMS": "1", "sources-0-id": source.pk, "sources-0-url": source.url,
        "sources-0-title": source.title, f"sources-0-{field}": value,
    })
    page = client.post(reverse("claim_edit", args=[claim.workspace.slug, claim.pk]), data)
    assert page.status_code == 200
    assert page.context["formset"].forms[0].errors[field] == [sentence]
    assert snapshot() == before

    response = api_as(alice).patch(f"/api/v1/sources/{source.pk}/", {field: value}, format="json",
                                   HTTP_IF_MATCH=if_match(claim))
    assert api_sentences(response, field) == [sentence]
    assert snapshot() == before


# --- Articles: the add-article page and POST /api/v1/articles/ -----------------------------

ARTICLE_CASES = [
    pytest.param("text", "", "The article has no text.", id="text-empty"),
    pytest.param("text", " \n\t ", "The article has no text.", id="text-white-space"),
    pytest.param("text", "x" * 2_000_001, "The article text can be at most 2000000 characters (it has 2000001).",
                 id="text-too-long"),
    pytest.param("title", "x" * 501, "The title can be at most 500 characters (it has 501).", id="title-too-long"),
    pytest.param("url", "not a url", BAD_URL, id="url-not-a-url"),
    pytest.param("url", "ftp://example.org/story", BAD_URL, id="url-ftp"),
    pytest.param("url", "javascript:alert(1)", BAD_URL, id="url-javascript"),
    pytest.param("url", LONG_URL, URL_TOO_LONG, id="url-too-long"),
    pytest.param("publisher", "x" * 201, "The publisher can be at most 200 characters (it has 201).",
                 id="publisher-too-long"),
]


@pytest.mark.parametrize("field, value, sentence", ARTICLE_CASES)
def test_a_bad_article_field_gets_one_sentence_from_the_page_and_the_api(client, alice, desk, field, value, sentence):
    data = {"text": "Minister speaks\nThe minister said so.", "title": "", "url": "", "publisher": "", field: value}
    before = snapshot()

    client.force_login(alice)
    page = client.post(reverse("article_add", args=[desk.slug]), data)
    assert page.status_code == 200
    assert page.context["form"].errors[field] == [sentence]
    assert snapshot() == before

    response = api_as(alice).post("/api/v1/articles/", {"workspace": desk.slug, **data}, format="json")
    assert api_sentences(response, field) == [sentence]
    assert snapshot() == before


def test_an_api_article_without_text_gets_the_same_sentence(alice, desk):
    response = api_as(alice).post("/api/v1/articles/", {"workspace": desk.slug, "title": "No text"}, format="json")
    assert api_sentences(response, "text") == ["The article has no text."]
    assert not Article.objects.exists()


def test_the_page_and_the_api_name_every_bad_field_at_once(client, alice, claim):
    bad = {"claimant": "x" * 201, "claim_date": FUTURE}
    client.force_login(alice)
    page = client.post(reverse("claim_edit", args=[claim.workspace.slug, claim.pk]), editor_form(claim, **bad))
    response = api_as(alice).patch(f"/api/v1/claims/{claim.pk}/", bad, format="json", HTTP_IF_MATCH=if_match(claim))
    page_errors = {field: page.context["form"].errors[field] for field in bad}
    assert response.json()["error"]["fields"] == page_errors == {
        "claimant": ["The claimant can be at most 200 characters (it has 201)."],
        "claim_date": ["The claim date cannot be in the future."],
    }


# --- The services hold the rules whoever calls them ----------------------------------------

def writes_in(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE")]


def test_claim_update_refuses_a_bad_source_before_writing_anything(alice, claim, source):
    """A deletion and a valid claim field come first in the call; neither is written."""
    before = snapshot()
    with CaptureQueriesContext(connection) as queries, pytest.raises(ValidationError) as refused:
        claim_update(claim=claim, actor=alice, revision=claim.revision, fields={"claimant": "Someone"}, sources=[
            SourceChange(pk=source.pk, fields={}, delete=True),
            SourceChange(pk=None, fields={"url": "https://example.org/new", "quote": "x" * 6000}),
        ])
    assert refused.value.message_dict == {"quote": ["The quote can be at most 5000 characters (it has 6000)."]}
    assert writes_in(queries.captured_queries) == []
    assert snapshot() == before


def test_claim_update_refuses_a_bad_claim_field_before_writing_anything(alice, claim):
    before = snapshot()
    with CaptureQueriesContext(connection) as queries, pytest.raises(ValidationError) as refused:
        claim_update(claim=claim, actor=alice, revision=claim.revision,
                     fields={"claim_date": date.today() + timedelta(days=365)})
    assert refused.value.message_dict == {"claim_date": ["The claim date cannot be in the future."]}
    assert writes_in(queries.captured_queries) == []
    assert snapshot() == before


def test_article_import_refuses_a_bad_field_before_writing_anything(alice, desk):
    with CaptureQueriesContext(connection) as queries, pytest.raises(ValidationError) as refused:
        article_import(workspace=desk, text="Headline\nBody.", url="ftp://example.org/story", actor=alice)
    assert refused.value.message_dict == {"url": [BAD_URL]}
    assert writes_in(queries.captured_queries) == []
    assert not Article.objects.exists()


def test_the_importer_reports_the_same_sentences_and_imports_nothing(desk, tmp_path):
    story = tmp_path / "story.txt"
    story.write_text("Headline\nBody of the story.")
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 failed"):
        call_command("import_articles", str(story), "--workspace", desk.slug, "--url", "ftp://example.org/story",
                     "--publisher", "x" * 201, "--no-progress", stdout=io.StringIO(), stderr=err)
    assert f"error: {story}: {BAD_URL}; The publisher can be at most 200 characters (it has 201)." in err.getvalue()
    assert not Article.objects.exists()


def test_someone_who_may_not_edit_is_told_that_before_any_field_rule(bob, claim, source):
    """bob reviews in alice's desk: he may read her draft but not edit it."""
    before = snapshot()
    with pytest.raises(PermissionDenied):
        claim_update(claim=claim, actor=bob, revision=claim.revision, fields={"claimant": "x" * 201})

    client = api_as(bob)
    for response in (
        client.patch(f"/api/v1/claims/{claim.pk}/", {"claimant": "x" * 201, "claim_date": FUTURE}, format="json",
                     HTTP_IF_MATCH=if_match(claim)),
        client.post("/api/v1/sources/", {"claim": claim.pk, "url": "ftp://example.org", "quote": "x" * 6000},
                    format="json", HTTP_IF_MATCH=if_match(claim)),
        client.patch(f"/api/v1/sources/{source.pk}/", {"stance": "maybe"}, format="json",
                     HTTP_IF_MATCH=if_match(claim)),
    ):
        assert response.status_code == 403, response.content
        assert response.json()["error"]["fields"] == {}
        assert "Only the author can edit a claim" in response.json()["error"]["message"]
    assert snapshot() == before


def test_good_values_at_the_limits_are_saved_the_same_way_on_both_paths(client, alice, claim, desk):
    """The rules refuse only what is over the limit: exactly at it, both paths save."""
    client.force_login(alice)
    page = client.post(reverse("claim_edit", args=[claim.workspace.slug, claim.pk]), editor_form(claim, **{
        "claim_reviewed": "x" * 300, "claim_date": date.today().isoformat(),
        "sources-0-url": "http://example.org/" + "a" * 1981, "sources-0-quote": "q" * 5000,
    }))
    assert page.status_code == 302, page.context["form"].errors if page.context else page
    response = api_as(alice).patch(f"/api/v1/claims/{claim.pk}/", {"claimant": "c" * 200, "rationale": "r" * 20_000},
                                   format="json", HTTP_IF_MATCH=if_match(claim))
    assert response.status_code == 200, response.content
    claim.refresh_from_db()
    assert (len(claim.claim_reviewed), len(claim.claimant), len(claim.rationale)) == (300, 200, 20_000)
    assert [(len(s.url), len(s.quote)) for s in claim.sources.all()] == [(2000, 5000)]


# --- Who may act is asked before what was sent ---------------------------------------------

def test_owner_teammate_and_outsider_over_the_api(crew, article):
    """The author gets the field rules; a teammate who may not edit or submit her draft is
    told that (403) whatever the body says; an outsider does not see the claim (404)."""
    from tests.conftest import claim_in_state

    claim = claim_in_state("draft", article, crew)  # no restatement or rating yet
    before = snapshot()
    bad_edit = {"rating": 999_999, "claim_date": "2015-13-45", "revision": "zero"}
    bad_source = {"claim": claim.pk, "url": "ftp://example.org", "accessed_on": "yesterday", "quote": "x" * 6000}
    for who in ("author", "teammate", "reviewer", "outsider"):
        api = api_as(crew[who])
        edited = api.patch(f"/api/v1/claims/{claim.pk}/", bad_edit, format="json")  # no If-Match either
        submitted = api.post(f"/api/v1/claims/{claim.pk}/submit/", {"comment": "x" * 20_001}, format="json")
        unready = api.post(f"/api/v1/claims/{claim.pk}/submit/", {}, format="json", HTTP_IF_MATCH=if_match(claim))
        source = api.post("/api/v1/sources/", bad_source, format="json")
        statuses = [r.status_code for r in (edited, submitted, unready, source)]
        if who == "author":
            assert statuses == [400, 400, 400, 400], [r.content for r in (edited, submitted, unready, source)]
            assert set(edited.json()["error"]["fields"]) == {"rating", "claim_date", "revision"}
            assert unready.json()["error"]["fields"] == {
                "rating": ["Give the claim a restatement and a rating before submitting it."]}
        elif who == "outsider":
            assert statuses == [404, 404, 404, 400]
            # A claim named in the body is a field of the body: not one of the outsider's desks.
            assert source.json()["error"]["fields"] == {"claim": ["No such claim in your desks."]}
        else:
            assert statuses == [403] * 4, [r.content for r in (edited, submitted, unready, source)]
            for response in (edited, source):
                assert response.json()["error"]["message"] == (
                    "Only the author can edit a claim, and only while it is a draft or has changes requested.")
            for response in (submitted, unready):
                assert response.json()["error"]["message"] == "Only the author can submit a claim."
            assert all(r.json()["error"]["fields"] == {} for r in (edited, submitted, unready, source))
    assert snapshot() == before


def test_a_reviewer_adding_members_is_told_they_may_not_before_the_role_is_checked(crew, article):
    body = {"workspace": article.workspace.slug, "username": "nobody", "role": "owner"}
    response = api_as(crew["reviewer"]).post("/api/v1/memberships/", body, format="json")
    assert response.status_code == 403, response.content
    assert response.json()["error"]["fields"] == {}


def test_the_submit_button_tells_a_teammate_they_may_not_before_what_the_draft_lacks(client, crew, article):
    from tests.conftest import claim_in_state

    claim = claim_in_state("draft", article, crew)
    before = snapshot()
    url = reverse("claim_transition", args=[claim.workspace.slug, claim.pk, "submit"])
    for who, says in (("teammate", "Only the author can submit a claim."),
                      ("author", "Give the claim a restatement and a rating before submitting it.")):
        client.force_login(crew[who])
        page = client.post(url, {"revision": claim.revision}, follow=True)
        assert [str(m) for m in page.context["messages"]] == [says]
    assert snapshot() == before
