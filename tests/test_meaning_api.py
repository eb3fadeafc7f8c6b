"""The meaning-change guard over the REST API: confirm where a `changed` claim moved
(POST /claims/{id}/confirm-position/), say an approved verdict stands after its article
changed (POST /claims/{id}/confirm-verdict/), re-attach (POST /claims/{id}/reattach/), and
the claim fields that tell a client a person must act."""

import json

import pytest

from annotations.models import AnchorStatus, AuditEvent, Claim, ClaimState
from annotations.services.articles import article_import
from annotations.services.claims import claim_create, claim_position_confirm, claim_update
from tests.conftest import claim_in_state
from tests.test_api import api_as, assert_error

pytestmark = pytest.mark.django_db

QUOTE = "50 military aircraft"
NEW_QUOTE = "60 military aircraft"


def new_version(article, actor, old: str = QUOTE, new: str = NEW_QUOTE):
    text = article.versions.order_by("-number").first().text
    assert old in text
    result = article_import(workspace=article.workspace, text=text.replace(old, new), title=article.title,
                            actor=actor)
    assert result.outcome == "new_version"
    return result.version


def changed_draft(article, crew) -> Claim:
    """A draft of the author's whose quote a new version changed from 50 to 60 aircraft."""
    version = article.versions.get()
    start = version.text.index(QUOTE)
    claim = claim_create(actor=crew["author"], article=article, version=version, exact=QUOTE, start=start,
                         end=start + len(QUOTE))
    new_version(article, crew["author"])
    claim.refresh_from_db()
    assert claim.anchor_status == AnchorStatus.CHANGED
    return claim


def approved_and_changed(article, crew) -> Claim:
    claim = claim_in_state("approved", article, crew, quote=QUOTE)
    new_version(article, crew["author"])
    claim.refresh_from_db()
    assert claim.article_changed_at is not None
    return claim


def trail(claim) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(claim_id=claim.pk).order_by("id"))


def position_url(claim) -> str:
    return f"/api/v1/claims/{claim.pk}/confirm-position/"


def verdict_url(claim) -> str:
    return f"/api/v1/claims/{claim.pk}/confirm-verdict/"


# --- What a client sees ---------------------------------------------------------------

def test_a_claim_shows_that_its_words_changed_and_what_they_said(article, crew):
    claim = changed_draft(article, crew)
    client = api_as(crew["author"])
    one = client.get(f"/api/v1/claims/{claim.pk}/").json()
    assert (one["anchor_status"], one["anchor_previous_exact"], one["selectors"]["exact"],
            one["article_changed_at"]) == ("changed", QUOTE, NEW_QUOTE, None)
    listed = client.get(f"/api/v1/claims/?workspace={article.workspace.slug}").json()["results"]
    assert listed == [one]


def test_an_approved_claim_shows_when_its_article_changed_and_the_queue_list_the_change(article, crew):
    waiting = claim_in_state("submitted", article, crew, quote="It is a possibility.")
    claim = approved_and_changed(article, crew)
    one = api_as(crew["reviewer"]).get(f"/api/v1/claims/{claim.pk}/").json()
    assert one["article_changed_at"] is not None and one["anchor_status"] == "changed"
    new_version(article, crew["author"], "It is a possibility.", "It is not a possibility.")
    queue = api_as(crew["reviewer"]).get(f"/api/v1/queue/?workspace={article.workspace.slug}").json()["results"]
    assert [(c["id"], c["anchor_status"], c["anchor_previous_exact"]) for c in queue] == [
        (waiting.pk, "changed", "It is a possibility.")]


# --- Confirm new position ----------------------------------------------------------------

def test_the_author_confirms_the_new_position_and_the_trail_records_it(article, crew):
    claim = changed_draft(article, crew)
    client = api_as(crew["author"])
    etag = client.get(f"/api/v1/claims/{claim.pk}/")["ETag"]
    response = client.post(position_url(claim), {}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["anchor_status"], body["anchor_previous_exact"], body["revision"]) == (
        "confirmed", "", claim.revision + 1)
    assert response["ETag"] == f'"claim-{claim.pk}-r{claim.revision + 1}"'
    event = trail(claim)[-1]
    assert event.actor_id == crew["author"].pk
    assert "“50 military aircraft” now reads “60 military aircraft”" in event.reason
    stored = Claim.objects.get(pk=claim.pk)
    assert (stored.anchor_status, stored.last_edited_by_id) == (AnchorStatus.CONFIRMED, crew["author"].pk)


def test_an_admin_confirms_with_the_revision_in_the_body(article, crew):
    claim = changed_draft(article, crew)
    response = api_as(crew["admin"]).post(position_url(claim), {"revision": claim.revision}, format="json")
    assert response.status_code == 200, response.content
    assert trail(claim)[-1].actor_id == crew["admin"].pk


def test_a_teammate_is_refused_before_the_body_is_read_and_an_outsider_finds_nothing(article, crew):
    claim = changed_draft(article, crew)
    before = trail(claim)
    assert_error(api_as(crew["teammate"]).post(position_url(claim), {"revision": "not a number"}, format="json"),
                 403, says="Only the author or a desk admin can confirm where a claim moved.")
    assert_error(api_as(crew["reviewer"]).post(position_url(claim), {"revision": claim.revision}, format="json"),
                 403)
    assert_error(api_as(crew["outsider"]).post(position_url(claim), {"revision": claim.revision}, format="json"),
                 404)
    assert Claim.objects.get(pk=claim.pk).anchor_status == AnchorStatus.CHANGED
    assert trail(claim) == before


def test_a_stale_revision_changes_nothing(article, crew):
    claim = changed_draft(article, crew)
    client = api_as(crew["author"])
    read, stale = claim.revision, client.get(f"/api/v1/claims/{claim.pk}/")["ETag"]
    claim_update(claim=claim, actor=crew["author"], revision=claim.revision, fields={"claimant": "The ministry"})
    before = trail(claim)
    assert_error(client.post(position_url(claim), {}, format="json", HTTP_IF_MATCH=stale), 412,
                 says="changed since you read it")
    assert_error(client.post(position_url(claim), {"revision": read}, format="json"), 409,
                 says="Nothing was done")
    assert_error(client.post(position_url(claim), {}, format="json"), 428)
    assert_error(client.post(position_url(claim), {"revision": "x"}, format="json"), 400, field="revision")
    assert Claim.objects.get(pk=claim.pk).anchor_status == AnchorStatus.CHANGED
    assert trail(claim) == before


def test_confirming_a_claim_whose_words_did_not_change_is_a_400_naming_the_claim(article, crew):
    version = article.versions.get()
    start = version.text.index(QUOTE)
    claim = claim_create(actor=crew["author"], article=article, version=version, exact=QUOTE, start=start,
                         end=start + len(QUOTE))
    before = trail(claim)
    error = assert_error(
        api_as(crew["author"]).post(position_url(claim), {"revision": claim.revision}, format="json"), 400,
        field="claim", says="Only a claim whose words changed meaning in a new version needs its position confirmed.")
    assert error["fields"]["claim"][0].endswith(".")
    stored = Claim.objects.get(pk=claim.pk)
    assert (stored.anchor_status, stored.revision) == (AnchorStatus.CREATED, claim.revision)
    assert trail(claim) == before


# --- Re-attach a changed claim instead ---------------------------------------------------

def test_the_author_re_attaches_a_changed_claim_to_a_new_span(article, crew):
    claim = changed_draft(article, crew)
    text = article.versions.order_by("-number").first().text
    start = text.index("60 military")
    body = {"exact": "60", "start": start, "end": start + 2, "revision": claim.revision}
    assert_error(api_as(crew["teammate"]).post(f"/api/v1/claims/{claim.pk}/reattach/", body, format="json"), 403)
    response = api_as(crew["author"]).post(f"/api/v1/claims/{claim.pk}/reattach/", body, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["anchor_status"], response.json()["selectors"]["exact"],
            response.json()["anchor_previous_exact"]) == ("reattached", "60", "")
    assert trail(claim)[-1].actor_id == crew["author"].pk


# --- Verdict stands ------------------------------------------------------------------------

def test_a_reviewer_says_the_verdict_stands_and_the_trail_records_who_and_why(article, crew):
    claim = approved_and_changed(article, crew)
    client = api_as(crew["reviewer"])
    etag = client.get(f"/api/v1/claims/{claim.pk}/")["ETag"]
    response = client.post(verdict_url(claim), {"comment": "Sixty is what the ministry said."}, format="json",
                           HTTP_IF_MATCH=etag)
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["state"], body["article_changed_at"], body["revision"]) == ("approved", None, claim.revision + 1)
    event = trail(claim)[-1]
    assert (event.actor_id, event.reason) == (
        crew["reviewer"].pk,
        "The article changed since the verdict; the verdict stands. Sixty is what the ministry said.")
    assert Claim.objects.get(pk=claim.pk).state == ClaimState.APPROVED


def test_the_author_and_a_teammate_may_not_confirm_a_verdict_and_an_outsider_finds_nothing(article, crew):
    claim = approved_and_changed(article, crew)
    before = trail(claim)
    for who in ("author", "teammate"):
        assert_error(api_as(crew[who]).post(verdict_url(claim), {"comment": 5, "revision": "x"}, format="json"), 403,
                     says="Only a reviewer or admin of this desk who neither wrote nor last edited the claim"), who
    assert_error(api_as(crew["outsider"]).post(verdict_url(claim), {"revision": claim.revision}, format="json"), 404)
    assert Claim.objects.get(pk=claim.pk).article_changed_at is not None
    assert trail(claim) == before


def test_a_stale_revision_or_a_claim_with_nothing_to_confirm_changes_nothing(article, crew):
    unchanged = claim_in_state("approved", article, crew, quote="It is a possibility.")
    claim = approved_and_changed(article, crew)
    client = api_as(crew["admin"])
    read, stale = claim.revision, client.get(f"/api/v1/claims/{claim.pk}/")["ETag"]
    claim = claim_position_confirm(claim=claim, actor=crew["author"], revision=claim.revision)  # someone acted
    before = trail(claim)
    assert_error(client.post(verdict_url(claim), {"revision": read}, format="json"), 409, says="Nothing was done")
    assert_error(client.post(verdict_url(claim), {}, format="json", HTTP_IF_MATCH=stale), 412)
    assert_error(client.post(verdict_url(claim), {"revision": claim.revision, "comment": "x" * 901}, format="json"),
                 400, field="comment")
    assert Claim.objects.get(pk=claim.pk).article_changed_at is not None
    assert trail(claim) == before

    before = trail(unchanged)
    assert_error(client.post(verdict_url(unchanged), {"revision": unchanged.revision}, format="json"), 400,
                 field="claim", says="Only an approved claim whose article changed since the verdict waits")
    assert Claim.objects.get(pk=unchanged.pk).revision == unchanged.revision
    assert trail(unchanged) == before


# --- The schema ------------------------------------------------------------------------------

def test_the_schema_documents_both_actions_and_the_fields(alice, desk):
    schema = json.loads(api_as(alice).get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").content)
    for path, body in [("/api/v1/claims/{id}/confirm-position/", "PositionConfirmRequest"),
                       ("/api/v1/claims/{id}/confirm-verdict/", "VerdictConfirmRequest")]:
        operation = schema["paths"][path]["post"]
        assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(body)
        assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/Claim")
        assert {"400", "403", "404", "409", "412", "428"} <= set(operation["responses"])
        assert any(p["name"] == "If-Match" for p in operation["parameters"])
    fields = schema["components"]["schemas"]["Claim"]["properties"]
    assert fields["article_changed_at"]["readOnly"] and fields["anchor_previous_exact"]["readOnly"]
    assert "confirm-position/" in fields["anchor_status"]["description"]
