"""The three journeys over the REST API with tokens, its rules, its error shape and its costs."""

import pytest
from django.http import HttpResponseBase, StreamingHttpResponse
from rest_framework.test import APIClient

from annotations.models import ApiToken, Claim
from annotations.services.claims import claim_create
from annotations.services.tokens import api_token_create
from annotations.services.workflow import claim_decide, claim_take
from tests.conftest import claim_in_state, ready_and_submit

pytestmark = pytest.mark.django_db

QUOTE = "It is a possibility."


def api_as(user) -> APIClient:
    client = APIClient()
    _, key = api_token_create(user=user, name="tests")
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def streamed_body(response: HttpResponseBase) -> bytes:
    """The whole body of a streamed response (the test clients' types do not say it streams)."""
    assert isinstance(response, StreamingHttpResponse), f"{type(response).__name__} is not streamed"
    return response.getvalue()


def assert_error(response, status: int, field: str | None = None, says: str = ""):
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert set(error) == {"status", "code", "message", "fields"}
    assert error["status"] == status and error["message"]
    if field:
        assert field in error["fields"], error
        assert says in error["fields"][field][0], error
    elif says:
        assert says in error["message"], error
    return error


def selectors(article, quote=QUOTE):
    version = article.versions.get()
    start = version.text.index(quote)
    return {"article": article.pk, "version": version.pk, "exact": quote, "start": start, "end": start + len(quote)}


def approved_claim(article, author, reviewer, quote=QUOTE) -> Claim:
    version = article.versions.get()
    start = version.text.index(quote)
    claim = claim_create(
        actor=author, article=article, version=version, exact=quote, start=start, end=start + len(quote)
    )
    claim = claim_take(claim=ready_and_submit(claim), actor=reviewer)
    return claim_decide(claim=claim, actor=reviewer, decision="approve", comment="", revision=claim.revision)


def test_annotate_review_and_export_over_the_api(alice, bob, desk):
    author, reviewer = api_as(alice), api_as(bob)
    text = "Minister speaks\nThe minister said the strikes would start in days. Officials disagreed."
    article = author.post("/api/v1/articles/", {"workspace": desk.slug, "text": text}, format="json")
    assert article.status_code == 201, article.content
    version = author.get(f"/api/v1/article-versions/?article={article.json()['id']}").json()["results"][0]

    quote = "the strikes would start in days"
    start = text.index(quote)
    created = author.post("/api/v1/claims/", {
        "article": article.json()["id"], "version": version["id"],
        "exact": quote, "start": start, "end": start + len(quote),
    }, format="json")
    assert created.status_code == 201, created.content
    claim_id, etag = created.json()["id"], created["ETag"]

    label = author.get(f"/api/v1/rating-scales/?workspace={desk.slug}").json()["results"][0]["labels"][4]
    patched = author.patch(f"/api/v1/claims/{claim_id}/", {
        "claim_reviewed": "Minister says strikes start within days", "rating": label["id"], "claimant": "The minister",
    }, format="json", HTTP_IF_MATCH=etag)
    assert patched.status_code == 200, patched.content
    source = author.post(
        "/api/v1/sources/", {"claim": claim_id, "url": "https://example.org/briefing", "stance": "refutes"},
        format="json", HTTP_IF_MATCH=patched["ETag"],
    )
    assert source.status_code == 201, source.content
    etag = author.get(f"/api/v1/claims/{claim_id}/")["ETag"]
    assert author.post(f"/api/v1/claims/{claim_id}/submit/", {}, format="json", HTTP_IF_MATCH=etag).status_code == 200

    queue = reviewer.get(f"/api/v1/queue/?workspace={desk.slug}").json()["results"]
    assert [c["id"] for c in queue] == [claim_id]
    taken = reviewer.post("/api/v1/queue/take-next/", {"workspace": desk.slug}, format="json")
    assert (taken.status_code, taken.json()["state"], taken.json()["held_by"]) == (200, "in_review", "bob")
    approved = reviewer.post(f"/api/v1/claims/{claim_id}/approve/", {}, format="json", HTTP_IF_MATCH=taken["ETag"])
    assert approved.json()["state"] == "approved"

    export = author.get(f"/api/v1/verdicts/export?format=jsonl&workspace={desk.slug}")
    assert export.status_code == 200, export.content
    lines = streamed_body(export)
    import json

    records = [json.loads(line) for line in lines.decode().splitlines()]
    verdicts = [(r["id"], r["rating"]["name"], r["sources"][0]["stance"]) for r in records]
    assert verdicts == [(claim_id, "False", "refutes")]


def test_a_stale_if_match_gets_412_and_changes_nothing(alice, article):
    client = api_as(alice)
    claim = client.post("/api/v1/claims/", selectors(article), format="json")
    stale = claim["ETag"]
    url = f"/api/v1/claims/{claim.json()['id']}/"
    first = client.patch(url, {"claimant": "First"}, format="json", HTTP_IF_MATCH=stale)
    assert first.status_code == 200 and first["ETag"] != stale
    second = client.patch(url, {"claimant": "Second"}, format="json", HTTP_IF_MATCH=stale)
    assert_error(second, 412, says="changed since you read it")
    assert Claim.objects.get().claimant == "First"
    assert_error(client.patch(url, {"claimant": "Third"}, format="json"), 428)
    assert Claim.objects.get().claimant == "First"


def test_a_bad_selector_is_a_field_level_400_and_stores_nothing(alice, article):
    client = api_as(alice)
    assert_error(client.post("/api/v1/claims/", {**selectors(article), "exact": "It is certain."}, format="json"),
                 400, "exact", "does not match the article text")
    assert_error(client.post("/api/v1/claims/", {**selectors(article), "start": -1}, format="json"),
                 400, "start", "greater than or equal to 0")
    without_exact = {k: v for k, v in selectors(article).items() if k != "exact"}
    assert_error(client.post("/api/v1/claims/", without_exact, format="json"), 400, "exact", "required")
    assert not Claim.objects.exists()


def test_bad_source_input_names_the_field(alice, article):
    client = api_as(alice)
    claim = client.post("/api/v1/claims/", selectors(article), format="json")
    for body, field, says in [
        ({"url": "javascript:alert(1)"}, "url", "http:// or https://"),
        ({"url": "https://example.org", "stance": "maybe"}, "stance",
         "Choose whether the source supports, refutes or gives context."),
        ({"url": "https://example.org", "accessed_on": "last week"}, "accessed_on",
         "Enter the date you accessed the source as YYYY-MM-DD."),
    ]:
        response = client.post(
            "/api/v1/sources/", {"claim": claim.json()["id"], **body}, format="json", HTTP_IF_MATCH=claim["ETag"]
        )
        assert_error(response, 400, field, says)
    assert Claim.objects.get().sources.count() == 0


def test_unauthenticated_and_revoked_tokens_get_401(alice, article):
    assert_error(APIClient().get("/api/v1/claims/"), 401)
    client = api_as(alice)
    assert client.get("/api/v1/claims/").status_code == 200
    ApiToken.objects.update(revoked_at="2026-01-01T00:00:00Z")
    assert_error(client.get("/api/v1/claims/"), 401, says="unknown or was revoked")


def test_another_desks_objects_are_404_and_absent_from_lists(alice, charlie, article, other_desk):
    claim = api_as(alice).post("/api/v1/claims/", selectors(article), format="json").json()
    outsider = api_as(charlie)
    for url in (f"/api/v1/claims/{claim['id']}/", f"/api/v1/articles/{article.pk}/",
                f"/api/v1/article-versions/{claim['version']}/",
                f"/api/v1/rating-scales/{article.workspace.rating_scale.pk}/"):
        assert_error(outsider.get(url), 404)
    assert outsider.get("/api/v1/claims/").json()["results"] == []
    patched = outsider.patch(f"/api/v1/claims/{claim['id']}/", {"claimant": "x"}, format="json", HTTP_IF_MATCH="*")
    assert_error(patched, 404)
    assert_error(outsider.post("/api/v1/claims/", selectors(article), format="json"), 400, "article", "No such article")
    exported = outsider.get(f"/api/v1/verdicts/export?format=jsonl&workspace={article.workspace.slug}")
    assert_error(exported, 400, "workspace")


API_ACTIONS = {
    "edit": ("draft", "patch", "", {"claimant": "X"}),
    "submit": ("draft", "post", "submit/", {}),
    "take": ("submitted", "post", "take/", {}),
    "approve": ("in_review", "post", "approve/", {}),
    "request-changes": ("in_review", "post", "request-changes/", {"comment": "Fix it."}),
    "reject": ("in_review", "post", "reject/", {"comment": "No."}),
    "reopen": ("approved", "post", "reopen/", {"comment": "Correction."}),
    "delete": ("draft", "delete", "", None),
}
API_ALLOWED = {
    "edit": {"author"}, "submit": {"author"}, "take": {"reviewer", "admin"}, "approve": {"reviewer"},
    "request-changes": {"reviewer"}, "reject": {"reviewer"}, "reopen": {"admin"}, "delete": {"author"},
}


@pytest.mark.parametrize("role", ["author", "teammate", "reviewer", "admin", "outsider"])
@pytest.mark.parametrize("action", list(API_ACTIONS))
def test_permission_matrix_over_the_api(article, crew, action, role):
    state, method, suffix, body = API_ACTIONS[action]
    claim = claim_in_state(state, article, crew)
    if action == "submit":
        from annotations.services.claims import claim_update

        claim = claim_update(claim=claim, actor=crew["author"], revision=claim.revision,
                             fields={"claim_reviewed": "R", "rating": article.workspace.rating_scale.labels.first()})
    client = api_as(crew[role])
    url = f"/api/v1/claims/{claim.pk}/{suffix}"
    kwargs = {"format": "json", "HTTP_IF_MATCH": f'"claim-{claim.pk}-r{claim.revision}"'}
    before = Claim.objects.filter(pk=claim.pk).values().get()
    send = getattr(client, method)
    response = send(url, body, **kwargs) if body is not None else send(url, **kwargs)
    after = Claim.objects.filter(pk=claim.pk).values().first()
    if role in API_ALLOWED[action]:
        assert response.status_code in (200, 204), response.content
        assert after != before  # the action happened: deleted, or a new revision
        if after is not None:
            assert after["revision"] == before["revision"] + 1
    else:
        assert_error(response, 404 if role == "outsider" else 403)
        assert after == before  # refused, and nothing changed


def test_audit_events_and_memberships_follow_the_roles(article, crew):
    assert api_as(crew["admin"]).get("/api/v1/audit-events/").json()["results"]
    assert api_as(crew["reviewer"]).get("/api/v1/audit-events/").json()["results"] == []
    body = {"workspace": article.workspace.slug, "username": "dave", "role": "reviewer"}
    assert_error(api_as(crew["reviewer"]).post("/api/v1/memberships/", body, format="json"), 403)
    assert api_as(crew["admin"]).post("/api/v1/memberships/", body, format="json").status_code == 201
    assert_error(api_as(crew["admin"]).post("/api/v1/memberships/", {**body, "role": "owner"}, format="json"),
                 400, "role", "is not a valid choice")


def test_a_person_creates_and_revokes_a_token_on_their_profile_page(client, alice, article):
    client.force_login(alice)
    page = client.post("/profile/", {"name": "partner sync"})
    key = page.context["new_key"]
    assert key.startswith("fc_") and key in page.content.decode()
    token = ApiToken.objects.get(user=alice)
    assert token.key_hash != key and key not in token.prefix + token.name  # only the hash is kept
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/claims/").status_code == 200
    assert key not in client.get("/profile/").content.decode()  # shown once
    client.post("/profile/", {"revoke": token.pk})
    assert_error(api.get("/api/v1/claims/"), 401)
    refused = client.post("/profile/", {"name": " "}, follow=True)
    assert "Name the token" in str(next(iter(refused.context["messages"])))


@pytest.mark.parametrize("url", [
    "/api/v1/claims/?updated_since=0001-01-01T00:00:00%2B05:00",
    "/api/v1/audit-events/?occurred_before=9999-12-31T23:59:59-05:00",
    "/api/v1/verdicts/export?format=jsonl&updated_since=0001-01-01T00:00:00%2B05:00",
])
def test_a_date_at_the_edge_of_the_calendar_is_a_400_not_a_crash(alice, desk, url):
    # Each of these dates leaves the calendar once it is moved to UTC.
    response = api_as(alice).get(url)
    assert_error(response, 400, url.split("?")[1].split("&")[-1].split("=")[0])


def test_reviews_and_sources_filtered_by_claim_are_exactly_that_claims(alice, bob, article):
    """`?claim=<id>` once compared the claim's quote (a field called `exact`) with the id."""
    from annotations.services.claims import SourceChange, claim_update

    first = approved_claim(article, alice, bob)
    second = claim_take(claim=ready_and_submit(claim_create(
        actor=alice, article=article, version=first.version, exact="Not yet",
        start=first.version.text.index("Not yet"), end=first.version.text.index("Not yet") + 7,
    )), actor=bob)
    second = claim_decide(claim=second, actor=bob, decision="request_changes", comment="Source?",
                          revision=second.revision)
    claim_update(claim=second, actor=alice, revision=second.revision, fields={},
                 sources=[SourceChange(pk=None, fields={"url": "https://example.org/s"})])
    client = api_as(alice)
    for claim in (first, second):
        reviews = client.get(f"/api/v1/reviews/?claim={claim.pk}").json()["results"]
        assert sorted(r["id"] for r in reviews) == sorted(claim.reviews.values_list("pk", flat=True))
        assert reviews and {r["claim"] for r in reviews} == {claim.pk}
        sources = client.get(f"/api/v1/sources/?claim={claim.pk}").json()["results"]
        assert sorted(s["id"] for s in sources) == sorted(claim.sources.values_list("pk", flat=True))
    assert [r["decision"] for r in client.get(f"/api/v1/reviews/?claim={second.pk}").json()["results"]] == [
        "request_changes"]
    assert client.get("/api/v1/reviews/?claim=999999").json()["results"] == []


def test_claim_count_is_0_for_an_article_without_claims(alice, desk, article):
    client = api_as(alice)
    created = client.post("/api/v1/articles/", {"workspace": desk.slug, "text": "Headline\nNo claims."},
                          format="json")
    assert created.json()["claim_count"] == 0
    claim_create(actor=alice, article=article, version=article.versions.get(), exact=QUOTE,
                 start=article.versions.get().text.index(QUOTE),
                 end=article.versions.get().text.index(QUOTE) + len(QUOTE))
    counts = {a["id"]: a["claim_count"] for a in client.get("/api/v1/articles/").json()["results"]}
    assert counts == {created.json()["id"]: 0, article.pk: 1}
    assert client.get(f"/api/v1/articles/{created.json()['id']}/").json()["claim_count"] == 0
    import json

    schema = json.loads(client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").content)
    field = schema["components"]["schemas"]["Article"]["properties"]["claim_count"]
    assert field["type"] == "integer" and not field.get("nullable")


@pytest.mark.parametrize("method, url", [
    ("get", "/api/v1/no-such-thing/"), ("post", "/api/v1/claims/1/no-such-action/"), ("delete", "/api/v2/claims/"),
    ("get", "/api/"), ("put", "/api/v1/claims/1/"), ("post", "/api/v1/schema/"), ("post", "/api/v1/docs/"),
    ("delete", "/api/v1/verdicts/export"), ("patch", "/api/v1/reviews/1/"), ("get", "/api/v1/claims/999999/"),
])
def test_every_api_404_and_405_is_json_in_the_error_shape(alice, method, url):
    response = getattr(api_as(alice), method)(url)
    assert response.status_code in (404, 405)
    assert response["Content-Type"].startswith("application/json")
    assert_error(response, response.status_code)


def test_an_api_address_without_its_slash_is_redirected_or_named(alice):
    client = api_as(alice)
    got = client.get("/api/v1/claims?state=draft")
    assert (got.status_code, got["Location"]) == (301, "/api/v1/claims/?state=draft")
    assert_error(client.post("/api/v1/claims", {}, format="json"), 404, says="ends with a slash: /api/v1/claims/")


def test_outside_the_api_a_404_is_the_desks_page(client, alice):
    client.force_login(alice)
    response = client.get("/no-such-page/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


@pytest.mark.django_db(transaction=True)
def test_an_approval_whose_connection_dies_after_the_commit_answers_200(alice, bob, article, monkeypatch):
    """The claim is approved and committed; then the request's own database connection is
    terminated (as a failover or a restart would) before the answer is read. The approval
    happened, so the answer is 200 with the approved claim, read on a new connection."""
    import psycopg
    from django.db import connection

    from annotations.services import workflow
    from tests.conftest import database_url

    claim = claim_take(claim=ready_and_submit(claim_create(
        actor=alice, article=article, version=article.versions.get(), exact=QUOTE,
        start=article.versions.get().text.index(QUOTE), end=article.versions.get().text.index(QUOTE) + len(QUOTE),
    )), actor=bob)
    terminated = []
    run_transition = workflow.claim_transition

    def transition_then_lose_the_connection(**kwargs):
        result = run_transition(**kwargs)
        assert not connection.in_atomic_block  # committed
        pid = connection.connection.info.backend_pid
        with psycopg.connect(database_url(), autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s)", [pid])
            while other.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone():
                pass
        terminated.append(pid)
        return result

    monkeypatch.setattr(workflow, "claim_transition", transition_then_lose_the_connection)
    response = api_as(bob).post(f"/api/v1/claims/{claim.pk}/approve/", {}, format="json",
                                HTTP_IF_MATCH=f'"claim-{claim.pk}-r{claim.revision}"')
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "approved" and response.json()["revision"] == claim.revision + 1
    assert response["ETag"] == f'"claim-{claim.pk}-r{claim.revision + 1}"'
    assert terminated and connection.connection.info.backend_pid != terminated[0]
    assert Claim.objects.get(pk=claim.pk).state == "approved"


def test_a_post_to_no_api_address_is_a_json_404_even_without_a_csrf_cookie(alice):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(alice)  # a session, so CSRF would apply
    assert_error(client.post("/api/v1/partners/1/keys/-5/revoke/", {}, format="json"), 404)
