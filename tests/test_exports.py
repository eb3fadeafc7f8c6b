"""Export formats: W3C conformance (the shared MUST assertions), ClaimReview fields, CSV."""

import csv
import io
import json
from pathlib import Path

import pytest
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4
from rest_framework.test import APIClient

from annotations.models import Source
from annotations.services.claims import claim_update
from annotations.services.workflow import claim_reopen
from tests.test_api import api_as, approved_claim, streamed_body

pytestmark = pytest.mark.django_db

W3C = Path(__file__).resolve().parent.parent.parent / "shared" / "w3c-annotation-model"


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


@pytest.fixture
def verdicts(article, alice, bob):
    claim = approved_claim(article, alice, bob)
    Source.objects.create(claim=claim, url="https://example.org/a", title='A "quoted", title\nwith a newline',
                          stance="supports", created_by=alice)
    second = approved_claim(article, alice, bob, quote="Not yet")
    return [claim, second]


def export(client, fmt, **params):
    query = "&".join(f"{k}={v}" for k, v in {"format": fmt, **params}.items())
    response = client.get(f"/api/v1/verdicts/export?{query}")
    assert response.status_code == 200, response.content
    return streamed_body(response).decode("utf-8")


def test_every_exported_w3c_annotation_passes_every_must_assertion(alice, verdicts, w3c_registry):
    annotations = json.loads(export(api_as(alice), "w3c"))
    assert len(annotations) == 2
    assertions = must_assertions()
    assert len(assertions) >= 14
    for annotation in annotations:
        for path in assertions:
            schema = load(path)
            valid = Draft4Validator(schema, registry=w3c_registry).is_valid(annotation)
            assert valid == (schema.get("expectedResult", "valid") == "valid"), (path.name, schema.get("errorMessage"))


def test_w3c_selectors_and_state_are_valid_specific_resource_parts(alice, verdicts, w3c_registry):
    annotation = json.loads(export(api_as(alice), "w3c"))[0]
    target = annotation["target"]
    for name in ("textQuoteSelectorTypeValidIfPresent", "textPositionSelectorTypeValidIfPresent",
                 "itemSelectorValidIfPresent", "timeStateTypeValidIfPresent", "itemStateValidIfPresent"):
        schema = {"$ref": f"specificResource.json#/definitions/{name}"}
        assert Draft4Validator(schema, registry=w3c_registry).is_valid(target), name
    quote, position = target["selector"]
    assert verdicts[0].version.text[position["start"]:position["end"]] == quote["exact"]
    assert target["state"]["type"] == "TimeState"


def test_claimreview_has_the_required_and_recommended_fields(alice, verdicts, desk):
    reviews = json.loads(export(api_as(alice), "claimreview"))
    review = reviews[0]
    assert review["@context"] == "https://schema.org" and review["@type"] == "ClaimReview"
    assert isinstance(review["claimReviewed"], str) and review["claimReviewed"]
    assert review["url"].startswith("http")
    rating = review["reviewRating"]
    assert rating["@type"] == "Rating" and rating["alternateName"] == "Mostly true"
    assert (rating["ratingValue"], rating["bestRating"], rating["worstRating"]) == (4, 5, 1)
    assert all(isinstance(rating[k], int) for k in ("ratingValue", "bestRating", "worstRating"))
    assert review["author"]["@type"] == "Organization" and review["author"]["name"]
    assert review["itemReviewed"]["@type"] == "Claim"
    assert review["itemReviewed"]["appearance"][0]["@type"] == "CreativeWork"
    assert review["itemReviewed"]["firstAppearance"]["url"]
    assert len(review["datePublished"]) == 10


def test_a_reopened_and_re_approved_verdict_carries_a_new_date_modified(alice, bob, verdicts, desk, make_user):
    from annotations.services.workflow import claim_decide, claim_submit, claim_take
    from annotations.services.workspaces import membership_set

    admin = make_user("erin")
    membership_set(workspace=desk, user=admin, role="admin")
    claim = verdicts[0]
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


def test_csv_has_a_header_and_escapes_quotes_and_newlines(alice, verdicts):
    text = export(api_as(alice), "csv")
    assert text.startswith("\ufeffid,url,workspace,")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert len(rows) == 2
    assert rows[0]["exact"] == "It is a possibility." and rows[0]["source_urls"] == "https://example.org/a"
    verdict = verdicts[0]
    claim_rationale = "Line one, with a comma\nLine two with \"quotes\""
    from annotations.models import Claim

    Claim.objects.filter(pk=verdict.pk).update(rationale=claim_rationale)
    rows = list(csv.DictReader(io.StringIO(export(api_as(alice), "csv").lstrip("\ufeff"))))
    assert {r["rationale"] for r in rows} >= {claim_rationale}


def test_updated_since_gives_only_what_changed(alice, verdicts):
    from django.utils import timezone

    client = api_as(alice)
    assert len(export(client, "jsonl").splitlines()) == 2
    mark = timezone.now()
    from annotations.models import Claim

    Claim.objects.filter(pk=verdicts[1].pk).update(updated_at=timezone.now())
    since = mark.isoformat().replace("+", "%2B")
    changed = [json.loads(line)["id"] for line in export(client, "jsonl", updated_since=since).splitlines()]
    assert changed == [verdicts[1].pk]


def test_the_export_reads_in_pages_with_a_fixed_query_count_per_page(alice, bob, article, monkeypatch):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from annotations import exports

    for quote in ("It is a possibility.", "Not yet", "massive information", "Daesh Takfiri militant group"):
        approved_claim(article, alice, bob, quote=quote)
    monkeypatch.setattr(exports, "PAGE_SIZE", 2)
    client = api_as(alice)
    with CaptureQueriesContext(connection) as ctx:
        assert len(export(client, "jsonl").splitlines()) == 4
    page_queries = [q for q in ctx.captured_queries if 'FROM "annotations_claim"' in q["sql"] and "LIMIT 2" in q["sql"]]
    # 4 verdicts in pages of 2: two full pages and the empty one that ends it; sources come
    # with each page in one more query.
    assert len(page_queries) == 3


def test_an_unknown_format_is_a_field_error(alice, desk):
    from tests.test_api import assert_error

    assert_error(api_as(alice).get("/api/v1/verdicts/export?format=xml"), 400, "format", "is not a valid choice")
    assert_error(APIClient().get("/api/v1/verdicts/export?format=csv"), 401)
