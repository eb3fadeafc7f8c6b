"""The API's query budgets, query by query, and its fast serializers kept equal to DRF's.

The desk holds claims in every state with sources, reviews and export jobs, in two
desks of the admin, so a query per row (N+1) shows up as a query over budget.
"""

import pytest
from rest_framework import serializers as drf

from annotations.api.serializers import ClaimSerializer, SourceSerializer, claim_row_representation
from annotations.models import Claim, ExportJob, Role, Source
from annotations.selectors import CLAIM_ROW_FIELDS, claim_rows_for_api, claims_for_api
from annotations.services.tokens import api_token_create
from annotations.services.workspaces import membership_set, workspace_create
from tests.conftest import claim_in_state, expect_queries
from tests.test_page_queries import QUOTES, add_claims

pytestmark = pytest.mark.django_db

TOKEN = "annotations_apitoken: the token with its user"
# What ClaimSerializer shows, read by claims_for_api: one small query per related table
# (none for a relation that no claim of the page has, such as a hold).
CLAIM_PARTS = (
    "annotations_workspace: their desks",
    "annotations_articleversion: their versions' sha256",
    "annotations_ratinglabel: their ratings",
    "auth_user: their authors",
    "auth_user: their last editors",
    "auth_user: who holds them",
    "annotations_source: their sources",
)
UNHELD_CLAIM_PARTS = tuple(part for part in CLAIM_PARTS if "holds" not in part)
# A list's page of claims as plain rows (selectors.claim_rows_for_api).
ROW_PARTS = (
    "annotations_workspace: their desks' slugs",
    "annotations_articleversion: their versions' sha256",
    "annotations_ratinglabel: their ratings' names",
    "auth_user: their authors', editors' and holders' usernames",
    "annotations_source: their sources",
)


@pytest.fixture
def busy_desk(desk, article, crew):
    add_claims(article, crew["author"], QUOTES[:5])
    held = claim_in_state("in_review", article, crew, quote=QUOTES[5])
    approved = claim_in_state("approved", article, crew, quote=QUOTES[6])
    Source.objects.create(claim=approved, url="https://example.org/a", accessed_on="2015-10-01",
                          created_by=crew["author"], stance="refutes", quote="Not so.")
    for i in range(3):
        ExportJob.objects.create(workspace=desk, requested_by=crew["admin"], format="csv")
        membership_set(workspace=workspace_create(name=f"Desk {i}", slug=f"desk-{i}"), user=crew["admin"],
                       role=Role.ADMIN)
    return {"held": held, "approved": approved}


def api_client(user):
    from rest_framework.test import APIClient

    _, key = api_token_create(user=user, name="budget")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


# A service's transaction: in production BEGIN and COMMIT, which Django does not log; inside
# the test's own transaction it is a savepoint, which it does.
BEGIN = "savepoint: the service's transaction begins"
COMMIT = "release savepoint: and commits"


def budget(client, method, url, *expected, body=None, status=200, **extra):
    # Warm up: content types, and the token's last use (written at most once a minute).
    client.get(url if method == "get" else "/api/v1/workspaces/", **extra)
    with expect_queries(TOKEN, *expected):
        response = getattr(client, method)(url, body, format="json", **extra)
    assert response.status_code == status, response.content
    return response


LISTS = {
    "/api/v1/claims/?page_size=50": (
        "annotations_claim: a page of the claims of my desks, as rows", *ROW_PARTS),
    "/api/v1/claims/?workspace=alice-desk&state=submitted": (
        "annotations_claim: a page of the desk's claims in a state (claim_ws_state_idx)", *ROW_PARTS),
    "/api/v1/queue/?workspace=alice-desk": (
        "annotations_membership: the desk by its slug, with my membership",
        "annotations_claim: a page of waiting claims (claim_queue_idx) with the source problem flag",
        *ROW_PARTS),
    "/api/v1/articles/": ("annotations_article: articles with desk, watch state, latest version and claim count",),
    "/api/v1/article-versions/": ("annotations_articleversion: versions without their text",),
    "/api/v1/sources/": ("annotations_source: sources of my desks' claims",),
    "/api/v1/reviews/": ("annotations_review: reviews with reviewers",),
    "/api/v1/workspaces/": ("annotations_workspace: my desks",),
    "/api/v1/memberships/": ("annotations_membership: members of my desks with desk and user",),
    "/api/v1/rating-scales/": ("annotations_ratingscale: scales with their desks", "annotations_ratinglabel: labels"),
    "/api/v1/audit-events/": ("annotations_auditevent: events of the desks I administer, with actors",),
    "/api/v1/exports/": ("annotations_exportjob: my export jobs with their desks",),
}


@pytest.mark.parametrize("url", list(LISTS))
def test_each_list_has_a_fixed_budget(url, crew, busy_desk):
    response = budget(api_client(crew["admin"]), "get", url, *LISTS[url])
    assert response.json()["results"], "the budget must be measured on a page that has rows"


def test_a_claim_is_read_in_a_fixed_budget(crew, busy_desk):
    claim = busy_desk["approved"]
    budget(api_client(crew["author"]), "get", f"/api/v1/claims/{claim.pk}/",
           "annotations_claim: the claim, if it is in my desks", *UNHELD_CLAIM_PARTS)


def test_creating_a_claim_costs_six_queries_and_a_transaction(crew, article, busy_desk):
    version = article.versions.get()
    quote = "Salahuddin province"
    start = version.text.index(quote)
    body = {"article": article.pk, "version": version.pk, "exact": quote, "start": start, "end": start + len(quote)}
    response = budget(
        api_client(crew["author"]), "post", "/api/v1/claims/",
        "annotations_article: the article with its desk and my role (access.article_get)",
        "annotations_articleversion: the version",
        BEGIN,
        "annotations_articleversion: the article's latest version, to refuse a stale one",
        "annotations_claim: INSERT the claim",
        "annotations_outboxmessage: INSERT the matching task",
        COMMIT,
        body=body, status=201,
    )
    assert response.json()["selectors"]["exact"] == quote and response.json()["sources"] == []
    assert response["ETag"] == f'"claim-{response.json()["id"]}-r1"'


def test_taking_the_next_claim_has_a_fixed_budget(crew, desk, busy_desk):
    response = budget(
        api_client(crew["reviewer"]), "post", "/api/v1/queue/take-next/",
        "annotations_membership: the desk by its slug, with my membership",
        BEGIN,
        "annotations_claim: a claim assigned to me, locked (assignment_open_assignee_idx)",
        "annotations_claim: an expired hold to take over, locked (claim_hold_expiry_idx)",
        "annotations_claim: else the oldest submitted claim, locked (claim_waiting_idx)",
        "annotations_claim: UPDATE: held by me",
        COMMIT,
        "annotations_source: its sources, for the answer",
        body={"workspace": desk.slug},
    )
    taken = Claim.objects.get(pk=response.json()["id"])
    assert (taken.state, taken.held_by, taken.revision) == ("in_review", crew["reviewer"], response.json()["revision"])
    assert response.json()["held_by"] == crew["reviewer"].username


def test_the_fast_serializers_say_exactly_what_drf_fields_say(crew, busy_desk):
    claims = list(claims_for_api(claims=Claim.objects.order_by("id")))
    rows = claim_rows_for_api(rows=list(Claim.objects.order_by("id").values(*CLAIM_ROW_FIELDS)))
    assert {c.state for c in claims} >= {"submitted", "in_review", "approved"}
    assert any(c.held_by_id for c in claims) and any(c.sources.all() for c in claims)
    for claim, row in zip(claims, rows, strict=True):
        serializer = ClaimSerializer(claim)
        assert serializer.data == drf.ModelSerializer.to_representation(serializer, claim)
        assert claim_row_representation(row) == serializer.data
        for source in claim.sources.all():
            source_serializer = SourceSerializer(source)
            assert source_serializer.data == drf.ModelSerializer.to_representation(source_serializer, source)
