"""Claims over HTTP: creating by selectors, editing with sources, conflicts, permissions."""

import json
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from annotations.models import Claim, Role, Source
from annotations.services.articles import article_import
from annotations.services.claims import claim_create
from annotations.services.workspaces import membership_set
from tests.conftest import ready_and_submit

pytestmark = pytest.mark.django_db

QUOTE = "It is a possibility."


def create_url(article):
    return reverse("claim_create", args=[article.workspace.slug, article.pk])


def edit_url(claim):
    return reverse("claim_edit", args=[claim.workspace.slug, claim.pk])


def post_json(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


def selectors(article, quote=QUOTE, **overrides):
    version = article.versions.get()
    start = version.text.index(quote)
    end = start + len(quote)
    body = {"version": version.pk, "exact": quote, "start": start, "end": end,
            "prefix": version.text[max(0, start - 32):start], "suffix": version.text[end:end + 32]}
    body.update(overrides)
    return body


@pytest.fixture
def claim(article, alice):
    version = article.versions.get()
    start = version.text.index(QUOTE)
    return claim_create(actor=alice, article=article, version=version, exact=QUOTE, start=start, end=start + len(QUOTE))


def claim_form(claim, **overrides):
    data = {
        "revision": claim.revision, "claim_reviewed": "Abadi says airstrikes are possible",
        "claimant": "Haider al-Abadi", "claim_date": "2015-10-01",
        "rating": claim.workspace.rating_scale.labels.get(name="True").pk, "rationale": "On record.",
        "sources-TOTAL_FORMS": "1", "sources-INITIAL_FORMS": "0",
        "sources-MIN_NUM_FORMS": "0", "sources-MAX_NUM_FORMS": "1000",
        "sources-0-url": "", "sources-0-title": "", "sources-0-publisher": "", "sources-0-quote": "",
        "sources-0-stance": "context", "sources-0-accessed_on": "", "sources-0-archive_url": "",
    }
    data.update(overrides)
    return data


def test_marking_a_claim_stores_w3c_selectors_in_code_points(client, alice, article):
    client.force_login(alice)
    response = post_json(client, create_url(article), selectors(article))
    assert response.status_code == 201, response.content
    claim = Claim.objects.get()
    stored = (claim.exact, claim.start_offset, claim.end_offset)
    assert stored == (QUOTE, response.json()["start"], response.json()["end"])
    assert len(claim.prefix) == 32 and claim.version.text.endswith(claim.prefix + claim.exact, 0, claim.end_offset)


def test_surrounding_white_space_is_trimmed_from_the_selection(client, alice, article):
    client.force_login(alice)
    padded = " If we get the offer "
    start = article.versions.get().text.index(padded)
    assert post_json(client, create_url(article), selectors(article, quote=padded)).status_code == 201
    claim = Claim.objects.get()
    assert (claim.exact, claim.start_offset) == ("If we get the offer", start + 1)


@pytest.mark.parametrize(
    "override, field, message",
    [
        ({"exact": "It is a certainty!!"}, "exact", "The quote does not match the article text"),
        ({"start": 10**6, "end": 10**6 + 5}, "start", "is not inside the text"),
        ({"start": "3"}, "start", "whole numbers"),
        ({"version": 999999}, "version", "does not belong to the article"),
        ({"prefix": "something else"}, "prefix", "The prefix does not match"),
        ({"suffix": "something else"}, "suffix", "The suffix does not match"),
    ],
)
def test_a_bad_selector_is_a_clear_400_and_stores_nothing(client, alice, article, override, field, message):
    client.force_login(alice)
    response = post_json(client, create_url(article), selectors(article, **override))
    assert response.status_code == 400
    assert message in response.json()["fields"][field][0]
    assert message in response.json()["error"]
    assert not Claim.objects.exists()


def test_a_selector_on_an_old_version_is_refused(client, alice, article, desk):
    old = selectors(article)
    corrected = article.versions.get().text + "\nA correction was appended."
    article_import(workspace=desk, text=corrected, title=article.title)
    client.force_login(alice)
    response = post_json(client, create_url(article), old)
    assert response.status_code == 400 and "newer version" in response.json()["error"]


def test_an_outsider_cannot_mark_claims_in_a_desk_they_do_not_belong_to(client, charlie, article):
    client.force_login(charlie)
    assert post_json(client, create_url(article), selectors(article)).status_code == 404
    assert not Claim.objects.exists()


def test_saving_the_editor_stores_fields_and_a_source(client, alice, claim):
    client.force_login(alice)
    response = client.post(edit_url(claim), claim_form(claim, **{
        "sources-0-url": "https://example.org/interview", "sources-0-title": "Interview",
        "sources-0-stance": "supports", "sources-0-accessed_on": "2015-10-02",
    }))
    assert response.status_code == 302
    claim.refresh_from_db()
    saved = (claim.claim_reviewed, claim.rating.name, claim.revision)
    assert saved == ("Abadi says airstrikes are possible", "True", 2)
    source = claim.sources.get()
    assert (source.url, source.stance, source.accessed_on, source.created_by) == (
        "https://example.org/interview", "supports", date(2015, 10, 2), claim.created_by)


FUTURE = (date.today() + timedelta(days=2)).isoformat()


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("claim_reviewed", "x" * 301, "The restatement can be at most 300 characters (it has 301)."),
        ("claim_reviewed", "two\nlines", "The restatement is one line"),
        ("claimant", "x" * 201, "The claimant can be at most 200 characters (it has 201)."),
        ("claim_date", "2015-13-45", "Enter the claim date as YYYY-MM-DD."),
        ("claim_date", FUTURE, "The claim date cannot be in the future."),
        ("rating", "999999", "Choose a rating from this desk's scale."),
        ("rationale", "x" * 20_001, "The rationale can be at most 20000 characters (it has 20001)."),
        ("revision", "zero", "Enter a whole number."),
    ],
)
def test_each_bad_claim_field_gets_a_sentence_and_changes_nothing(client, alice, claim, field, value, message):
    client.force_login(alice)
    before = Claim.objects.values().get(pk=claim.pk)
    response = client.post(edit_url(claim), claim_form(claim, **{field: value}))
    assert response.status_code == 200
    assert message in response.context["form"].errors[field][0]
    assert Claim.objects.values().get(pk=claim.pk) == before


def test_a_rating_from_another_desks_scale_is_refused(client, alice, claim, other_desk):
    client.force_login(alice)
    foreign = other_desk.rating_scale.labels.get(name="True").pk
    response = client.post(edit_url(claim), claim_form(claim, rating=foreign))
    assert "Choose a rating from this desk's scale." in response.context["form"].errors["rating"][0]


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("url", "", "Give the source's web address."),
        ("url", "javascript:alert(1)", "Enter a web address starting with http:// or https://."),
        ("url", "ftp://example.org/file", "Enter a web address starting with http:// or https://."),
        ("url", "https://example.org/" + "a" * 2000, "The web address is too long"),
        ("title", "x" * 501, "The title can be at most 500 characters (it has 501)."),
        ("publisher", "x" * 201, "The publisher can be at most 200 characters (it has 201)."),
        ("quote", "x" * 5001, "The quote can be at most 5000 characters (it has 5001)."),
        ("stance", "maybe", "Choose whether the source supports, refutes or gives context."),
        ("accessed_on", "yesterday", "Enter the date you accessed the source as YYYY-MM-DD."),
        ("accessed_on", FUTURE, "The access date cannot be in the future."),
        ("archive_url", "not a url", "Enter a web address starting with http:// or https://."),
    ],
)
def test_each_bad_source_field_gets_a_sentence_and_changes_nothing(client, alice, claim, field, value, message):
    client.force_login(alice)
    before = Claim.objects.values().get(pk=claim.pk)
    data = claim_form(claim, **{"sources-0-url": "https://example.org/ok", "sources-0-title": "A title"})
    data[f"sources-0-{field}"] = value
    response = client.post(edit_url(claim), data)
    assert response.status_code == 200
    assert message in response.context["formset"].forms[0].errors[field][0]
    assert Claim.objects.values().get(pk=claim.pk) == before
    assert not Source.objects.exists()


def test_a_stale_save_is_refused_with_a_message_and_keeps_the_typed_text(client, alice, claim):
    client.force_login(alice)
    stale = claim_form(claim, rationale="My careful rationale")
    assert client.post(edit_url(claim), claim_form(claim, rationale="Saved first")).status_code == 302

    response = client.post(edit_url(claim), stale)
    assert response.status_code == 200
    assert "Someone else changed this claim" in response.content.decode()
    assert "My careful rationale" in response.content.decode()
    claim.refresh_from_db()
    assert (claim.rationale, claim.revision) == ("Saved first", 2)


def test_only_the_author_edits_or_deletes_a_draft(client, alice, bob, charlie, claim, other_desk):
    membership_set(workspace=claim.workspace, user=bob, role=Role.ADMIN)
    # bob, a teammate (even an admin), sees it read-only and cannot post
    client.force_login(bob)
    page = client.get(edit_url(claim))
    assert page.status_code == 200 and not page.context["editable"]
    assert client.post(edit_url(claim), claim_form(claim, rationale="bob was here")).status_code == 404
    delete = reverse("claim_delete", args=[claim.workspace.slug, claim.pk])
    client.post(delete, {"revision": claim.revision})
    assert Claim.objects.filter(pk=claim.pk).exists()
    # charlie, an outsider, gets 404 for everything
    client.force_login(charlie)
    assert client.get(edit_url(claim)).status_code == 404
    assert client.post(delete, {"revision": claim.revision}).status_code == 404
    # alice, the author, deletes her draft
    client.force_login(alice)
    assert client.post(delete, {"revision": claim.revision}).status_code == 302
    assert not Claim.objects.filter(pk=claim.pk).exists()
    assert claim.rationale == ""


def test_a_submitted_claim_is_no_longer_editable_by_its_author(client, alice, claim):
    claim = ready_and_submit(claim)
    client.force_login(alice)
    assert client.post(edit_url(claim), claim_form(claim, rationale="late edit")).status_code == 404
    claim.refresh_from_db()
    assert (claim.rationale, claim.state) == ("", "submitted")


def test_an_orphan_is_re_attached_by_selecting_new_text(client, alice, bob, desk):
    text = "Headline\nThe minister said the strikes would start in days.\nOther news."
    article = article_import(workspace=desk, text=text).article
    version = article.versions.get()
    quote = "the strikes would start in days"
    start = text.index(quote)
    claim = claim_create(
        actor=alice, article=article, version=version, exact=quote, start=start, end=start + len(quote)
    )
    new_text = "Headline\nThe minister said that bombing could begin within a week.\nOther news."
    v2 = article_import(workspace=desk, text=new_text, title="Headline").version
    claim.refresh_from_db()
    assert claim.anchor_status == "orphaned"

    url = reverse("claim_reattach", args=[desk.slug, claim.pk])
    new_quote = "bombing could begin within a week"
    new_start = new_text.index(new_quote)
    body = {"revision": claim.revision, "exact": new_quote, "start": new_start, "end": new_start + len(new_quote)}
    client.force_login(bob)  # a teammate who is not the author or an admin
    assert post_json(client, url, body).status_code == 403
    client.force_login(alice)
    response = post_json(client, url, body)
    assert response.status_code == 200, response.content
    claim.refresh_from_db()
    assert (claim.anchor_status, claim.version_id, claim.exact) == ("reattached", v2.pk, new_quote)


def test_the_article_page_costs_the_same_queries_for_10_or_1000_claims(client, alice, article):
    version = article.versions.get()
    text = version.text

    def add_claims(n):
        Claim.objects.bulk_create(
            Claim(workspace=article.workspace, article=article, version=version, exact=text[i % 400: i % 400 + 30],
                  start_offset=i % 400, end_offset=i % 400 + 30, created_by=alice, last_edited_by=alice)
            for i in range(n)
        )

    client.force_login(alice)
    url = reverse("article_detail", args=[article.workspace.slug, article.pk])

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        assert response.status_code == 200
        return [q["sql"] for q in ctx.captured_queries], response

    add_claims(10)
    few, _ = queries()
    add_claims(990)
    many, response = queries()
    # session, user, article (membership-checked), latest version, claims, orphans, the top
    # bar, the version's dismissed suggestions
    assert len(many) == len(few) == 8, "\n".join(many)
    assert response.content.decode().count('class="claim-item') == 1000


def test_the_articles_page_searches_filters_and_counts_by_state(client, alice, desk, article):
    football = "Football results\nThe home side won 3-1."
    other = article_import(workspace=desk, text=football, publisher="Sports Daily").article
    version = article.versions.get()
    start = version.text.index(QUOTE)
    claim = claim_create(
        actor=alice, article=article, version=version, exact=QUOTE, start=start, end=start + len(QUOTE)
    )
    client.force_login(alice)
    url = reverse("article_list", args=[desk.slug])

    def titles(**params):
        return [a.title for a in client.get(url, params).context["articles"]]

    assert set(titles()) == {article.title, other.title}
    assert titles(q="Kuralenko") == [article.title]          # a word only in the body
    assert titles(q="football") == [other.title]              # a word in the title
    assert titles(has_claims="on") == [article.title]
    assert titles(has_drafts="on") == [article.title]
    assert titles(publisher="Sports Daily") == [other.title]
    row = client.get(url).context["articles"]
    counts = {a.title: (a.claim_count, a.n_draft, a.n_approved) for a in row}
    assert counts[article.title] == (1, 1, 0) and counts[other.title] == (0, 0, 0)
    assert claim.state == "draft"


def test_adding_an_article_by_paste_and_by_upload(client, alice, desk):
    client.force_login(alice)
    url = reverse("article_add", args=[desk.slug])
    response = client.post(url, {"text": "Pasted headline\nPasted body.", "title": "", "url": "", "publisher": ""})
    assert response.status_code == 302
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile(
        "story.html",
        b"<html><head><title>Uploaded story</title></head><body><article><p>"
        + b"Uploaded body text that is long enough to be the main content of the page. " * 3
        + b"</p></article></body></html>",
    )
    assert client.post(url, {"file": upload}).status_code == 302
    assert set(desk.articles.values_list("title", flat=True)) == {"Pasted headline", "Uploaded story"}


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"text": "   "}, "text", "The article has no text."),
        ({"text": "A\nB", "url": "not a url"}, "url", "Enter a web address starting with http:// or https://."),
        ({"text": "A\nB", "title": "x" * 501}, "title", "The title can be at most 500 characters (it has 501)."),
    ],
)
def test_adding_an_article_with_bad_input_explains_and_adds_nothing(client, alice, desk, data, field, message):
    client.force_login(alice)
    response = client.post(reverse("article_add", args=[desk.slug]), data)
    assert response.status_code == 200
    assert message in response.context["form"].errors[field][0]
    assert not desk.articles.exists()


def test_uploading_a_bad_file_explains_and_adds_nothing(client, alice, desk):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(alice)
    url = reverse("article_add", args=[desk.slug])
    response = client.post(url, {"file": SimpleUploadedFile("scan.pdf", b"%PDF")})
    assert "Upload a .txt or .html file." in response.context["form"].errors["file"][0]
    response = client.post(url, {"file": SimpleUploadedFile("latin1.txt", b"caf\xe9")})
    assert "This file cannot be imported: it is not UTF-8 text" in response.context["form"].errors["file"][0]
    assert not desk.articles.exists()
