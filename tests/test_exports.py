"""The verdict export reads published records: what was approved, byte for byte, streamed
with COPY. W3C conformance (the shared MUST assertions), ClaimReview fields, CSV, filters."""

import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4
from rest_framework.test import APIClient

from annotations.models import Claim, ExportJob, OutboxMessage, Publication, RatingLabel, Source, Workspace
from annotations.publishing import exports as records_export
from annotations.publishing.records import CSV_COLUMNS
from annotations.services.articles import article_import
from annotations.services.claims import claim_create, claim_update
from annotations.services.workflow import claim_decide, claim_reopen, claim_submit, claim_take
from annotations.services.workspaces import membership_set
from tests.conftest import ROOT, expect_queries, ready_and_submit
from tests.test_api import api_as, assert_error, streamed_body

pytestmark = pytest.mark.django_db

W3C = ROOT.parent / "shared" / "w3c-annotation-model"
ARTICLE_URL = "https://www.example.org/news/iraq-russia"
PUBLISHER_URL = "https://factcheck.example.org/"
# Everything a CSV or JSON writer can get wrong, and what COPY's text mode would escape.
TRICKY = ('He said "no", then, well: yes.\nA second line;\tafter a tab, a back\\slash, \\N and \\.\r\n'
          "عربي: العبادي يرحب 😀 and a comma, at the end,")


def load(path: Path) -> dict:
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def w3c_registry():
    if not W3C.exists():
        pytest.fail(f"The W3C conformance schemas are expected at {W3C}.")
    resources = []
    for folder in ("definitions", "annotations"):
        for path in (W3C / folder).glob("*.json"):
            schema = load(path)
            resources.append((schema["id"], Resource.from_contents(schema, default_specification=DRAFT4)))
    return Registry().with_resources(resources)


def must_assertions() -> list[Path]:
    tests = [W3C / "annotations" / "annotationMusts.test", W3C / "bodiesTargets" / "bodyMusts.test",
             W3C / "bodiesTargets" / "targetMusts.test", W3C / "specificResource" / "specificResourceMusts.test"]
    paths = []
    for test in tests:
        for entry in load(test)["assertions"]:
            name = entry if isinstance(entry, str) else entry.get("assertionFile")
            if name and (W3C / name).exists():
                paths.append(W3C / name)
    return paths


def verdict(article, author, reviewer, *, quote="It is a possibility.", **fields) -> Claim:
    """A claim approved (so published) through the workflow, with `fields` set as a draft."""
    version = article.versions.get()
    start = version.text.index(quote)
    claim = claim_create(actor=author, article=article, version=version, exact=quote, start=start,
                         end=start + len(quote))
    if fields:
        claim = claim_update(claim=claim, actor=author, revision=claim.revision, fields=fields)
    claim = claim_take(claim=ready_and_submit(claim), actor=reviewer)
    return claim_decide(claim=claim, actor=reviewer, decision="approve", comment="", revision=claim.revision)


@pytest.fixture
def published(desk, article, alice, bob):
    """Two published verdicts of a desk with a publisher and an article with its own URL;
    the first has a claimant, a claim date, a tricky rationale and a source."""
    Workspace.objects.filter(pk=desk.pk).update(publisher_name="Alice's Fact Check", publisher_url=PUBLISHER_URL)
    article.url, article.publisher = ARTICLE_URL, "Example News"
    article.save()
    first = claim_create(actor=alice, article=article, version=article.versions.get(), exact="It is a possibility.",
                         start=article.versions.get().text.index("It is a possibility."),
                         end=article.versions.get().text.index("It is a possibility.") + 20)
    Source.objects.create(claim=first, url="https://example.org/a", title='A "quoted", title\nwith a newline',
                          stance="supports", created_by=alice)
    first = claim_update(claim=first, actor=alice, revision=first.revision, fields={
        "claimant": "Haider al-Abadi", "claim_date": date(2015, 10, 1), "rationale": TRICKY,
    })
    first = claim_take(claim=ready_and_submit(first), actor=bob)
    first = claim_decide(claim=first, actor=bob, decision="approve", comment="", revision=first.revision)
    second = verdict(article, alice, bob, quote="Not yet")
    return [first, second]


def export(client, fmt, **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"format": fmt, **params}.items())
    response = client.get(f"/api/v1/verdicts/export?{query}")
    assert response.status_code == 200, response.content
    return streamed_body(response).decode("utf-8")


def in_force(*claims) -> list[Publication]:
    return list(Publication.objects.filter(claim__in=claims, current=True).order_by("id"))


# --- The records, byte for byte -----------------------------------------------------------

def test_each_format_is_the_published_records_byte_for_byte(alice, published):
    client = api_as(alice)
    records = in_force(*published)
    assert len(records) == 2
    assert export(client, "jsonl") == "".join(r.jsonl + "\n" for r in records)
    assert export(client, "csv") == "\ufeff" + ",".join(CSV_COLUMNS) + "\n" + "".join(r.csv + "\n" for r in records)
    for fmt in ("claimreview", "w3c"):
        assert export(client, fmt) == "[\n" + ",\n".join(getattr(r, fmt) for r in records) + "\n]\n"


def test_quotes_commas_newlines_tabs_backslashes_arabic_and_emoji_come_through(alice, published):
    client = api_as(alice)
    stored = Claim.objects.get(pk=published[0].pk).rationale
    assert "\n" in stored and "\t" in stored and "\\" in stored and "😀" in stored and "عربي" in stored

    line = json.loads(export(client, "jsonl").splitlines()[0])
    assert line["rationale"] == stored
    rows = list(csv.DictReader(io.StringIO(export(client, "csv").removeprefix("\ufeff"), newline="")))
    assert rows[0]["rationale"] == stored
    assert rows[0]["source_urls"] == "https://example.org/a"
    review = json.loads(export(client, "claimreview"))[0]
    assert review["reviewRating"]["ratingExplanation"] == stored
    annotation = json.loads(export(client, "w3c"))[0]
    assert annotation["body"][0]["value"] == stored


def test_control_characters_never_reach_copy_raw(alice, bob, article):
    """COPY's delimiter and quote are control characters: a rationale holding them is
    still exported whole (escaped in JSON, replaced in CSV), and nothing is stripped."""
    claim = verdict(article, alice, bob, rationale="bell\x07 unit\x1f start\x01 end")
    client = api_as(alice)
    assert json.loads(export(client, "jsonl"))["rationale"] == "bell\x07 unit\x1f start\x01 end"
    row = next(csv.DictReader(io.StringIO(export(client, "csv").removeprefix("\ufeff"))))
    assert row["rationale"] == "bell\ufffd unit\ufffd start\ufffd end"
    assert export(client, "w3c") == "[\n" + in_force(claim)[0].w3c + "\n]\n"


def test_an_empty_export_is_still_valid(alice, desk):
    client = api_as(alice)
    assert export(client, "jsonl") == ""
    assert export(client, "csv") == "\ufeff" + ",".join(CSV_COLUMNS) + "\n"
    assert json.loads(export(client, "claimreview")) == [] and json.loads(export(client, "w3c")) == []


def test_the_first_record_leaves_before_the_rest_are_read_and_the_rest_go_in_blocks(alice, bob, article, desk,
                                                                                    monkeypatch):
    claims = [verdict(article, alice, bob, quote=q) for q in ("It is a possibility.", "Not yet", "massive information")]
    texts = [(r.jsonl + "\n").encode() for r in in_force(*claims)]
    filters = records_export.ExportFilters(workspaces=(desk.pk,))
    # The first block is the first record alone; the others fill a block of CHUNK_BYTES.
    assert list(records_export.records_stream(fmt="jsonl", filters=filters)) == [texts[0], texts[1] + texts[2]]
    monkeypatch.setattr(records_export, "CHUNK_BYTES", 1)
    counted: list[int] = []
    blocks = list(records_export.records_stream(fmt="jsonl", filters=filters, on_rows=counted.append))
    assert blocks == texts and counted == [1, 1, 1]


def test_a_client_that_stops_reading_leaves_the_connection_usable(alice, bob, article, desk, monkeypatch):
    for quote in ("It is a possibility.", "Not yet"):
        verdict(article, alice, bob, quote=quote)
    monkeypatch.setattr(records_export, "CHUNK_BYTES", 1)
    stream = records_export.records_stream(fmt="w3c", filters=records_export.ExportFilters(workspaces=(desk.pk,)))
    assert next(stream) == b"[\n" and next(stream).startswith(b"{")
    stream.close()  # mid-COPY: the rest is cancelled
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


# --- W3C and ClaimReview --------------------------------------------------------------------

def test_every_exported_w3c_annotation_passes_every_must_assertion(alice, published, w3c_registry):
    annotations = json.loads(export(api_as(alice), "w3c"))
    assert len(annotations) == 2
    assertions = must_assertions()
    assert len(assertions) >= 14
    for annotation in annotations:
        for path in assertions:
            schema = load(path)
            valid = Draft4Validator(schema, registry=w3c_registry).is_valid(annotation)
            assert valid == (schema.get("expectedResult", "valid") == "valid"), (path.name, schema.get("errorMessage"))


def test_w3c_selectors_and_state_are_valid_specific_resource_parts(alice, published, w3c_registry):
    annotation = json.loads(export(api_as(alice), "w3c"))[0]
    target = annotation["target"]
    for name in ("textQuoteSelectorTypeValidIfPresent", "textPositionSelectorTypeValidIfPresent",
                 "itemSelectorValidIfPresent", "timeStateTypeValidIfPresent", "itemStateValidIfPresent"):
        schema = {"$ref": f"specificResource.json#/definitions/{name}"}
        assert Draft4Validator(schema, registry=w3c_registry).is_valid(target), name
    quote, position = target["selector"]
    assert published[0].version.text[position["start"]:position["end"]] == quote["exact"]
    assert target["source"] == ARTICLE_URL and target["state"]["type"] == "TimeState"


def test_claimreview_has_every_required_and_recommended_field_with_its_type(alice, published, desk, settings):
    review = json.loads(export(api_as(alice), "claimreview"))[0]
    claim = Claim.objects.get(pk=published[0].pk)
    record = in_force(claim)[0]
    assert review["@context"] == "https://schema.org" and review["@type"] == "ClaimReview"
    # Required.
    assert review["claimReviewed"] == claim.claim_reviewed and isinstance(review["claimReviewed"], str)
    assert review["url"] == f"{settings.SITE_URL}/v/{desk.slug}/{claim.pk}/"
    rating = review["reviewRating"]
    assert rating["@type"] == "Rating" and rating["alternateName"] == "Mostly true"
    # Recommended.
    assert review["author"] == {"@type": "Organization", "name": "Alice's Fact Check", "url": PUBLISHER_URL}
    assert review["datePublished"] == record.date_published.date().isoformat()
    assert date.fromisoformat(review["datePublished"])  # a date, as schema.org's Date
    assert review["dateModified"] == record.date_modified.isoformat()
    item = review["itemReviewed"]
    assert item["@type"] == "Claim"
    assert item["author"] == {"@type": "Person", "name": "Haider al-Abadi"}
    assert item["datePublished"] == "2015-10-01"
    assert isinstance(item["appearance"], list) and item["appearance"][0]["@type"] == "CreativeWork"
    assert item["appearance"][0]["url"] == ARTICLE_URL  # the article's own page, not the API
    assert item["firstAppearance"]["url"] == ARTICLE_URL
    assert (rating["ratingValue"], rating["bestRating"], rating["worstRating"]) == (4, 5, 1)
    assert all(type(rating[k]) is int for k in ("ratingValue", "bestRating", "worstRating"))
    assert rating["ratingExplanation"] == claim.rationale and isinstance(rating["ratingExplanation"], str)


def test_a_non_ordinal_rating_has_its_name_and_no_numbers(alice, bob, article):
    misleading = RatingLabel.objects.get(scale__workspace=article.workspace, name="Misleading")
    claim = claim_create(actor=alice, article=article, version=article.versions.get(), exact="Not yet",
                         start=article.versions.get().text.index("Not yet"),
                         end=article.versions.get().text.index("Not yet") + 7)
    claim = ready_and_submit(claim)
    Claim.objects.filter(pk=claim.pk).update(rating=misleading)  # rated before it is reviewed
    claim = claim_take(claim=Claim.objects.get(pk=claim.pk), actor=bob)
    claim_decide(claim=claim, actor=bob, decision="approve", comment="", revision=claim.revision)
    rating = json.loads(export(api_as(alice), "claimreview"))[0]["reviewRating"]
    assert rating["alternateName"] == "Misleading"
    assert not {"ratingValue", "bestRating", "worstRating"} & set(rating)


def test_a_reopened_and_re_approved_verdict_carries_a_new_date_modified(alice, bob, published, desk, make_user):
    admin = make_user("erin")
    membership_set(workspace=desk, user=admin, role="admin")
    claim = published[0]
    first = json.loads(export(api_as(alice), "claimreview"))[0]
    claim = claim_reopen(claim=claim, actor=admin, reason="Date corrected.", revision=claim.revision)
    claim = claim_update(claim=claim, actor=alice, revision=claim.revision, fields={"claimant": "Haider al-Abadi"})
    claim = claim_submit(claim=claim, actor=alice, revision=claim.revision)
    claim = claim_take(claim=claim, actor=bob)
    claim_decide(claim=claim, actor=bob, decision="approve", comment="", revision=claim.revision)
    again = next(r for r in json.loads(export(api_as(alice), "claimreview")) if r["url"] == first["url"])
    assert again["datePublished"] == first["datePublished"]
    assert again["dateModified"] > first["dateModified"]


def test_the_scale_mapping_is_published(alice, desk):
    scale = api_as(alice).get(f"/api/v1/rating-scales/?workspace={desk.slug}").json()["results"][0]
    assert (scale["best_rating"], scale["worst_rating"]) == (5, 1)
    assert {label["name"]: label["value"] for label in scale["labels"]}["Misleading"] is None


# --- Only what was published, as it was published --------------------------------------------

def test_the_exported_bytes_do_not_change_when_the_live_claim_or_article_does(alice, bob, published, article, desk):
    client = api_as(alice)
    before = {fmt: export(client, fmt) for fmt in records_export.FORMATS}
    claim = published[0]

    # The article gets a new version (a typo fixed above the quote): the claim re-anchors.
    title, body = article.versions.get().text.split("\n", 1)
    edited = f"{title}\nUpdated with a correction above the quote.\n{body}"
    assert article_import(workspace=desk, text=edited, url=ARTICLE_URL, actor=alice).article.pk == article.pk
    moved = Claim.objects.get(pk=claim.pk)
    assert moved.version_id != claim.version_id
    # And every live row the records were rendered from changes under them.
    Claim.objects.filter(pk=claim.pk).update(rationale="Rewritten", claim_reviewed="Rewritten", claimant="Someone")
    Source.objects.filter(claim=claim).update(url="https://example.org/changed")
    RatingLabel.objects.filter(scale__workspace=desk, name="Mostly true").update(name="Renamed in SQL")
    Workspace.objects.filter(pk=desk.pk).update(publisher_name="Renamed desk", publisher_url="")
    type(article).objects.filter(pk=article.pk).update(title="Renamed", url="https://elsewhere.example.org/")

    assert {fmt: export(client, fmt) for fmt in records_export.FORMATS} == before


def test_drafts_reviews_and_unpublished_verdicts_never_leave_the_desk(alice, bob, article, crew):
    from tests.conftest import claim_in_state

    quotes = iter(["It is a possibility.", "Not yet", "massive information", "Daesh Takfiri militant group",
                   "Iraq", "Russia"])
    for state in ("draft", "submitted", "in_review"):
        claim_in_state(state, article, crew, quote=next(quotes))
    for decision in ("request_changes", "reject"):
        claim = claim_in_state("in_review", article, crew, quote=next(quotes))
        claim_decide(claim=claim, actor=bob, decision=decision, comment=f"REVIEW NOTE {decision}",
                     revision=claim.revision)
    published = claim_in_state("approved", article, crew, quote=next(quotes))
    client = api_as(alice)
    for fmt in records_export.FORMATS:
        text = export(client, fmt)
        assert "REVIEW NOTE" not in text
    ids = [json.loads(line)["id"] for line in export(client, "jsonl").splitlines()]
    assert ids == [published.pk]


def test_updated_since_gives_what_was_published_since_and_withdrawals_are_absent(alice, bob, published, desk,
                                                                                make_user):
    admin = make_user("erin")
    membership_set(workspace=desk, user=admin, role="admin")
    client = api_as(alice)
    mark = timezone.now()
    since = mark.isoformat().replace("+", "%2B")
    assert export(client, "jsonl", updated_since=since) == ""

    # A correction is published since the mark; a withdrawal is not a record in force.
    first, second = published
    second = claim_reopen(claim=second, actor=admin, reason="Wrong rating.", revision=second.revision)
    second = claim_take(claim=claim_submit(claim=second, actor=alice, revision=second.revision), actor=bob)
    claim_decide(claim=second, actor=bob, decision="approve", comment="", revision=second.revision)
    claim_reopen(claim=first, actor=admin, reason="Under review again.", revision=first.revision)

    changed = [json.loads(line) for line in export(client, "jsonl", updated_since=since).splitlines()]
    assert [(r["id"], r["correction_reason"]) for r in changed] == [(second.pk, "Wrong rating.")]
    assert [json.loads(line)["id"] for line in export(client, "jsonl").splitlines()] == [second.pk]


def test_rating_and_article_filters(alice, bob, published, article, desk):
    client = api_as(alice)
    mostly_true = RatingLabel.objects.get(scale__workspace=desk, name="Mostly true")
    false = RatingLabel.objects.get(scale__workspace=desk, name="False")
    assert len(export(client, "jsonl", rating=mostly_true.pk).splitlines()) == 2
    assert export(client, "jsonl", rating=false.pk) == ""
    assert len(export(client, "jsonl", article=article.pk).splitlines()) == 2
    assert export(client, "jsonl", article=article.pk + 1000) == ""


def test_all_my_desks_in_publication_order_or_one_of_them(alice, bob, charlie, desk, other_desk, article):
    membership_set(workspace=other_desk, user=alice, role="annotator")
    membership_set(workspace=other_desk, user=bob, role="reviewer")
    text = (ROOT / "fixtures" / "articles" / "001_c037270258430dbe.txt").read_text()
    elsewhere = article_import(workspace=other_desk, text=text, actor=charlie).article
    mine = [verdict(article, alice, bob, quote="It is a possibility."),
            verdict(elsewhere, alice, bob, quote="It is a possibility."),
            verdict(article, alice, bob, quote="Not yet"),
            verdict(elsewhere, alice, bob, quote="Not yet")]
    client = api_as(alice)
    every = [(json.loads(line)["workspace"], json.loads(line)["id"]) for line in export(client, "jsonl").splitlines()]
    assert [claim_id for _, claim_id in every] == [c.pk for c in mine]  # one order across desks: publication
    assert [ws for ws, _ in every] == [desk.slug, other_desk.slug, desk.slug, other_desk.slug]
    one = [json.loads(line)["id"] for line in export(client, "jsonl", workspace=other_desk.slug).splitlines()]
    assert one == [mine[1].pk, mine[3].pk]
    # Charlie's token sees his desk only.
    assert [json.loads(line)["id"] for line in export(api_as(charlie), "jsonl").splitlines()] == one


# --- Bad input ------------------------------------------------------------------------------

@pytest.mark.parametrize("query, field, says", [
    ("format=xml", "format", "is not a valid choice"),
    ("", "format", "required"),
    ("format=jsonl&state=draft", "state", "Only published verdicts are exported; state can only be approved."),
    ("format=jsonl&state=rejected", "state", "Only published verdicts are exported; state can only be approved."),
    ("format=jsonl&rating=abc", "rating", "valid integer"),
    ("format=jsonl&article=0", "article", "greater than or equal to 1"),
    ("format=jsonl&updated_since=yesterday", "updated_since", "Datetime has wrong format"),
    ("format=jsonl&workspace=nobody-desk", "workspace", ""),
])
def test_bad_input_is_a_400_naming_the_field(alice, published, query, field, says):
    assert_error(api_as(alice).get(f"/api/v1/verdicts/export?{query}"), 400, field, says)


def test_approved_is_accepted_and_anonymous_is_401(alice, published):
    assert len(export(api_as(alice), "jsonl", state="approved").splitlines()) == 2
    assert_error(APIClient().get("/api/v1/verdicts/export?format=csv"), 401)


def test_bad_input_to_an_export_job_writes_nothing(alice, published, desk):
    client = api_as(alice)
    jobs, messages = ExportJob.objects.count(), OutboxMessage.objects.count()
    for body, field in (({"workspace": desk.slug, "format": "xml"}, "format"),
                        ({"workspace": desk.slug, "format": "csv", "state": "draft"}, "state"),
                        ({"workspace": desk.slug, "format": "csv", "rating": "x"}, "rating"),
                        ({"format": "csv"}, "workspace")):
        assert_error(client.post("/api/v1/exports/", body, format="json"), 400, field)
    assert (ExportJob.objects.count(), OutboxMessage.objects.count()) == (jobs, messages)


# --- Cost -----------------------------------------------------------------------------------

def test_the_export_request_has_a_fixed_query_budget(alice, bob, published, article, desk):
    client = api_as(alice)
    export(client, "jsonl")  # the token's first use is recorded once a minute, outside the budget
    copy = (
        "the export's transaction (SAVEPOINT here, inside the test's; BEGIN in a request)",
        "SET LOCAL jit = off: compiling the plan only delays the first record",
        "annotations_publication: COPY of the records in force",
        "the transaction ends (RELEASE SAVEPOINT here; COMMIT in a request)",
    )
    budget = (
        "annotations_apitoken: the token and its user",
        "annotations_membership: the desk, if it is one of mine",
        *copy,
    )
    with expect_queries(*budget):
        assert len(export(client, "jsonl", workspace=desk.slug).splitlines()) == 2
    for quote in ("massive information", "Daesh Takfiri militant group"):
        verdict(article, alice, bob, quote=quote)
    with expect_queries(*budget):
        assert len(export(client, "jsonl", workspace=desk.slug).splitlines()) == 4
    with expect_queries(
        "annotations_apitoken: the token and its user",
        "annotations_workspace: the ids of my desks",
        *copy,
    ):
        assert len(export(client, "claimreview").splitlines()) == 6  # brackets and four records
