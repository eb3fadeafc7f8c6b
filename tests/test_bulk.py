"""Bulk actions (annotations/services/bulk.py): the claims page, the queue and
POST /api/v1/claims/bulk/; each claim all or nothing, a line per claim not done."""

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from annotations.models import AuditEvent, BulkJob, Claim
from annotations.publishing.partners import partner_create, partner_key_create
from annotations.services import bulk
from tests.conftest import claim_in_state, expect_queries

pytestmark = pytest.mark.django_db

QUOTES = ["It is a possibility.", "Not yet", "massive information", "Daesh Takfiri militant group", "Kuralenko"]
SESSION = ("django_session: the session", "auth_user: the logged-in user")
DESK = "annotations_membership: the desk by its slug, with the user's membership (access.workspace_get)"
NAV = ("annotations_membership: the top bar: my desks with my role, the current desk's waiting count "
       "and my time zone (selectors.desk_nav)")


@pytest.fixture
def held(article, crew):
    """Three claims bob is reviewing and one waiting (which nobody holds)."""
    claims = [claim_in_state("in_review", article, crew, quote=q) for q in QUOTES[:3]]
    return claims, claim_in_state("submitted", article, crew, quote=QUOTES[3])


def test_a_bulk_release_applies_the_rest_and_names_the_claim_it_could_not(client, crew, desk, held):
    claims, waiting = held
    client.force_login(crew["admin"])
    ticked = [f"{c.pk}:{c.revision}" for c in claims] + [f"{waiting.pk}:{waiting.revision}"]
    page = client.post(reverse("bulk", args=[desk.slug]), {"action": "release", "claim": ticked})
    assert page.status_code == 200
    assert page.context["applied"] == 3
    assert page.context["failures"] == [{"id": waiting.pk, "error": "Nobody holds this claim: it is submitted."}]
    assert b'data-testid="bulk-failure"' in page.content
    assert set(Claim.objects.filter(pk__in=[c.pk for c in claims]).values_list("state", "held_by")) == {
        ("submitted", None)}
    released = AuditEvent.objects.filter(action="claim.released", claim_id__in=[c.pk for c in claims])
    assert released.count() == 3 and {e.actor_id for e in released} == {crew["admin"].pk}


def test_a_stale_revision_leaves_that_claim_alone(client, crew, desk, held):
    claims, _ = held
    api = APIClient()
    api.force_authenticate(crew["admin"])
    answer = api.post("/api/v1/claims/bulk/", {
        "workspace": desk.slug, "action": "release",
        "claims": [{"id": claims[0].pk, "revision": claims[0].revision - 1}, {"id": claims[1].pk}],
    }, format="json")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["applied"] == [claims[1].pk]
    assert body["failed"][0]["id"] == claims[0].pk and "changed since it was selected" in body["failed"][0]["error"]
    assert Claim.objects.get(pk=claims[0].pk).state == "in_review"


def test_select_all_matching_takes_the_whole_filtered_list(client, crew, desk, held, monkeypatch):
    claims, waiting = held
    monkeypatch.setattr(bulk, "BATCH_SIZE", 2)  # two batches
    client.force_login(crew["admin"])
    page = client.post(reverse("bulk", args=[desk.slug]), {
        "action": "release", "all_matching": "1", "matching": "state=in_review", "source": "claims",
        "claim": [f"{claims[0].pk}:{claims[0].revision}"],
    })
    assert page.context["applied"] == 3 and page.context["failures"] == []
    assert Claim.objects.get(pk=waiting.pk).state == "submitted"


def test_the_articles_list_acts_on_the_claims_of_the_selected_articles(client, crew, desk, held, article):
    claims, waiting = held
    client.force_login(crew["admin"])
    page = client.get(reverse("article_list", args=[desk.slug]))
    assert page.context["articles"][0].n_in_review == len(claims)
    assert b'name="article" value="%d"' % article.pk in page.content
    page = client.post(reverse("bulk", args=[desk.slug]), {
        "action": "release", "source": "articles", "all_matching": "1", "matching": "has_claims=on",
    })
    assert page.context["applied"] == 3 and [f["id"] for f in page.context["failures"]] == [waiting.pk]


def test_select_all_matching_on_the_queue_takes_its_filters(client, crew, desk, held, article):
    claims, waiting = held
    mine = claim_in_state("submitted", article, crew | {"author": crew["teammate"]}, quote=QUOTES[4])
    client.force_login(crew["admin"])
    page = client.get(reverse("queue", args=[desk.slug]), {"author": crew["teammate"].pk})
    assert page.context["matching"] == 1
    export = client.post(reverse("bulk", args=[desk.slug]), {
        "action": "export", "source": "queue", "all_matching": "1", "matching": f"author={crew['teammate'].pk}",
    })
    rows = b"".join(export.streaming_content).decode("utf-8-sig").splitlines()
    assert [row.split(",")[0] for row in rows[1:]] == [str(mine.pk)]
    assert waiting.pk != mine.pk and all(c.state == "in_review" for c in claims)


def test_a_large_selection_runs_as_a_job_with_progress(client, crew, desk, held, monkeypatch):
    claims, waiting = held
    monkeypatch.setattr(bulk, "JOB_THRESHOLD", 2)
    monkeypatch.setattr(bulk, "BATCH_SIZE", 2)
    client.force_login(crew["admin"])
    ticked = [f"{c.pk}:{c.revision}" for c in [*claims, waiting]]
    response = client.post(reverse("bulk", args=[desk.slug]), {"action": "release", "claim": ticked})
    job = BulkJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("bulk_job", args=[desk.slug, job.pk])
    assert (job.status, job.total, job.done) == ("queued", 4, 0)
    bulk.bulk_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.done, job.applied) == ("done", 4, 3)
    assert job.failures == [{"id": waiting.pk, "error": "Nobody holds this claim: it is submitted."}]
    page = client.get(reverse("bulk_job", args=[desk.slug, job.pk]))
    assert b"4 of 4 claims" in page.content and page.context["failures"] == job.failures
    client.force_login(crew["reviewer"])  # another person's job is missing
    assert client.get(reverse("bulk_job", args=[desk.slug, job.pk])).status_code == 404


def test_a_batch_costs_the_same_queries_whatever_its_size(crew, desk, held, monkeypatch):
    claims, waiting = held
    monkeypatch.setattr(bulk, "BATCH_SIZE", 2)
    batch = ("SAVEPOINT: the batch's transaction", "annotations_claim: lock and read the batch",
             "annotations_claim: write the claims that pass", "RELEASE SAVEPOINT")
    with expect_queries("annotations_membership: may I (asked once)", *batch, *batch):
        result = bulk.bulk_apply(workspace=desk, actor=crew["admin"], action="release",
                                 items=[(c.pk, None) for c in [*claims, waiting]])
    assert len(result.applied) == 3


def test_a_bulk_assign_applies_the_rest_and_names_the_claim_it_could_not(crew, desk, article):
    pytest.importorskip("annotations.services.assignments")  # built beside this (notes/assign_api.md)
    waiting = [claim_in_state("submitted", article, crew, quote=q) for q in QUOTES[:2]]
    draft = claim_in_state("draft", article, crew, quote=QUOTES[2])
    rest = APIClient()
    rest.force_authenticate(crew["admin"])
    answer = rest.post("/api/v1/claims/bulk/", {
        "workspace": desk.slug, "action": "assign", "assignee": crew["reviewer"].username, "due": "2030-01-31",
        "claims": [{"id": c.pk, "revision": c.revision} for c in [*waiting, draft]],
    }, format="json")
    assert answer.status_code == 200, answer.content
    assert sorted(answer.json()["applied"]) == sorted(c.pk for c in waiting)
    assert [f["id"] for f in answer.json()["failed"]] == [draft.pk]
    answer = rest.post("/api/v1/claims/bulk/", {"workspace": desk.slug, "action": "assign", "assignee": "nobody",
                                                "claims": [{"id": draft.pk}]}, format="json")
    assert answer.status_code == 400 and "nobody" in answer.content.decode()


def test_a_bulk_due_date_changes_only_assigned_claims(crew, desk, article):
    pytest.importorskip("annotations.services.assignments")
    assigned, unassigned = (claim_in_state("submitted", article, crew, quote=q) for q in QUOTES[:2])
    rest = APIClient()
    rest.force_authenticate(crew["admin"])
    rest.post("/api/v1/claims/bulk/", {"workspace": desk.slug, "action": "assign", "assignee": "bob",
                                       "claims": [{"id": assigned.pk}]}, format="json")
    answer = rest.post("/api/v1/claims/bulk/", {"workspace": desk.slug, "action": "due_date", "due": "2030-02-01",
                                                "claims": [{"id": assigned.pk}, {"id": unassigned.pk}]}, format="json")
    assert answer.json()["applied"] == [assigned.pk]
    assert answer.json()["failed"] == [{"id": unassigned.pk, "error": "This claim is not assigned to anyone."}]
    answer = rest.post("/api/v1/claims/bulk/", {"workspace": desk.slug, "action": "due_date", "due": "soon",
                                                "claims": [{"id": assigned.pk}]}, format="json")
    assert answer.status_code == 400 and "'soon' is not a date" in answer.content.decode()


@pytest.mark.parametrize(("role", "expected"), [("admin", 200), ("reviewer", 403), ("author", 403),
                                                ("outsider", 404)])
def test_who_may_assign_in_bulk(crew, desk, article, role, expected):
    pytest.importorskip("annotations.services.assignments")
    claim = claim_in_state("submitted", article, crew)
    rest = APIClient()
    rest.force_authenticate(crew[role])
    answer = rest.post("/api/v1/claims/bulk/", {"workspace": desk.slug, "action": "assign", "assignee": "bob",
                                                "claims": [{"id": claim.pk}]}, format="json")
    assert answer.status_code == expected, answer.content


@pytest.mark.parametrize(("role", "expected"), [("admin", 200), ("reviewer", 200), ("author", 200),
                                                ("outsider", 404)])
def test_who_sees_the_claims_page_and_exports_a_selection(client, crew, desk, held, role, expected):
    claims, _ = held
    client.force_login(crew[role])
    assert client.get(reverse("claims", args=[desk.slug])).status_code == expected
    export = client.post(reverse("bulk", args=[desk.slug]), {"action": "export", "claim": [str(claims[0].pk)]})
    assert export.status_code == expected
    if expected == 200:
        assert b"".join(export.streaming_content).decode("utf-8-sig").count("\n") == 2


@pytest.mark.parametrize(("role", "page", "api"), [
    ("admin", 200, 200), ("reviewer", 403, 403), ("author", 403, 403), ("outsider", 404, 404),
])
def test_who_may_release_in_bulk(client, crew, desk, held, role, page, api):
    claims, _ = held
    client.force_login(crew[role])
    answer = client.post(reverse("bulk", args=[desk.slug]), {"action": "release", "claim": [str(claims[0].pk)]})
    assert answer.status_code == page
    rest = APIClient()
    rest.force_authenticate(crew[role])
    answer = rest.post("/api/v1/claims/bulk/", {"workspace": desk.slug, "action": "release",
                                                "claims": [{"id": claims[1].pk}]}, format="json")
    assert answer.status_code == api, answer.content
    released = {c.pk for c in claims[:2]} & set(Claim.objects.filter(state="submitted").values_list("pk", flat=True))
    assert released == ({claims[0].pk, claims[1].pk} if role == "admin" else set())


def test_a_partner_key_cannot_act_in_bulk(crew, desk, held):
    claims, _ = held
    key = partner_key_create(partner=partner_create(workspace=desk, name="Wire", contact_email="wire@example.org",
                                                      actor=crew["admin"]),
                             actor=crew["admin"]).key
    rest = APIClient(HTTP_AUTHORIZATION=f"Partner {key}")
    answer = rest.post("/api/v1/claims/bulk/", {"workspace": desk.slug, "action": "release",
                                                "claims": [{"id": claims[0].pk}]}, format="json")
    assert answer.status_code == 401  # as at every API endpoint but the partner ones
    page = Client(HTTP_AUTHORIZATION=f"Partner {key}").post(
        reverse("bulk", args=[desk.slug]), {"action": "release", "claim": [str(claims[0].pk)]})
    assert page.status_code == 302 and page["Location"].startswith(reverse("login"))
    assert Claim.objects.get(pk=claims[0].pk).state == "in_review"


def test_bad_bulk_input_is_named(client, crew, desk, held):
    rest = APIClient()
    rest.force_authenticate(crew["admin"])
    answer = rest.post("/api/v1/claims/bulk/", {"workspace": desk.slug, "action": "explode",
                                                "claims": [{"id": 1}]}, format="json")
    assert answer.status_code == 400 and "no bulk action called 'explode'" in answer.content.decode()
    answer = rest.post("/api/v1/claims/bulk/", {"workspace": desk.slug, "action": "release", "claims": []},
                       format="json")
    assert answer.status_code == 400 and "claims" in answer.content.decode()


def test_the_claims_page_filters_like_the_api_and_exports_the_selection(client, crew, desk, held):
    claims, waiting = held
    client.force_login(crew["admin"])
    url = reverse("claims", args=[desk.slug])
    page = client.get(url, {"state": "in_review"})
    assert {c.pk for c in page.context["claims"]} == {c.pk for c in claims} and page.context["matching"] == 3
    assert b'name="claim" value="%d:%d"' % (claims[0].pk, claims[0].revision) in page.content
    bad = client.get(url, {"article": "x"})
    assert bad.status_code == 200 and "article" in bad.context["errors"] and not bad.context["claims"]
    export = client.post(reverse("bulk", args=[desk.slug]), {"action": "export", "claim": [str(waiting.pk)]})
    rows = b"".join(export.streaming_content).decode("utf-8-sig").splitlines()
    assert len(rows) == 2 and rows[1].startswith(f"{waiting.pk},")


def test_the_claims_page_query_budget(client, crew, desk, held):
    client.force_login(crew["reviewer"])
    url = reverse("claims", args=[desk.slug])
    client.get(url)
    with expect_queries(
        *SESSION, DESK,
        "annotations_claim: the page of claims with their article, rating, author and holder",
        "annotations_claim: how many match",
        NAV,
        "annotations_article: article titles for the filter",
        "annotations_ratinglabel: the scale for the filter",
        "auth_user: the desk's people for the author filter",
    ):
        page = client.get(url)
    assert len(page.context["claims"]) == 4
