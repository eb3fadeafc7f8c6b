"""Partners and their keys: who manages them, what a key can read (only the desk's published
records and feed), rotation, revocation, usage and throttling."""

import json
import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import URLPattern, reverse
from django.utils import timezone
from rest_framework.test import APIClient

from annotations import urls as page_urls
from annotations.api.partner_auth import KEY_ELSEWHERE
from annotations.models import Partner, PartnerDailyUsage, PartnerKey
from annotations.publishing.partners import partner_create, partner_key_create
from annotations.tokens import partner_key_hash
from tests.conftest import claim_in_state

pytestmark = pytest.mark.django_db

SECRET_TEXTS = ("Abadi says Russian strikes", "desk@wire.example", "It is a possibility")


@pytest.fixture
def wire(desk, crew):
    return partner_create(workspace=desk, actor=crew["admin"], name="Wire Service",
                          contact_email="desk@wire.example", note="Syndication since 2024")


@pytest.fixture
def key(wire, crew):
    return partner_key_create(partner=wire, actor=crew["admin"]).key


@pytest.fixture
def approved(article, crew):
    return claim_in_state("approved", article, crew)


def as_partner(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Partner {key}")
    return client


def as_member(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


# --- The key matrix: a partner key reads the feed and the verdicts, nothing else -----------

PARTNER_PATHS = {"/api/v1/feed/", "/api/v1/partner/verdicts/"}
# Pages anyone may open: the login and password reset forms and the health check show no desk data.
PUBLIC_PAGES = {
    "login", "healthz", "password_reset", "password_reset_done", "password_reset_confirm", "password_reset_complete",
}


def _schema_operations() -> list[tuple[str, str]]:
    schema = Client().get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    return [(path, method) for path, item in schema["paths"].items() for method in item
            if method in {"get", "post", "put", "patch", "delete"}]


def test_the_matrix_walks_every_documented_operation():
    operations = _schema_operations()
    paths = {path for path, _ in operations}
    assert paths >= PARTNER_PATHS and "/api/v1/claims/{id}/" in paths and "/api/v1/partners/{id}/keys/" in paths
    assert len(operations) > 40


def test_a_partner_key_reaches_only_the_partner_endpoints_of_the_api(key, approved, wire, crew, desk):
    client = as_partner(key)
    ids = {approved.pk, approved.article_id, desk.pk, wire.pk, crew["author"].pk}
    answered = []
    operations = _schema_operations()
    for path, method in operations:
        for some_id in sorted(ids):
            url = re.sub(r"\{[a-z_]+\}", str(some_id), path)
            response = getattr(client, method)(url, {}, format="json")
            answered.append((method, url, response.status_code))
            body = b"".join(response.streaming_content) if response.streaming else response.content
            if path in PARTNER_PATHS and method == "get":
                assert response.status_code == 200, (url, body)
                continue
            assert response.status_code == 401, (method, url, response.status_code, body[:300])
            assert response.json()["error"]["message"] == KEY_ELSEWHERE
            for text in SECRET_TEXTS:
                assert text.encode() not in body, (method, url)
    assert len(answered) == len(operations) * len(ids)


def _page_kwargs(pattern: URLPattern, *, slug: str, some_id: int) -> dict:
    kwargs: dict[str, object] = {}
    for name, converter in pattern.pattern.converters.items():
        if name == "workspace_slug":
            kwargs[name] = slug
        else:
            kwargs[name] = some_id if "Int" in type(converter).__name__ else "approve"
    return kwargs


def test_a_partner_key_gets_no_page(key, approved, desk):
    client = Client(HTTP_AUTHORIZATION=f"Partner {key}")
    walked = []
    for pattern in page_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        url = reverse(pattern.name, kwargs=_page_kwargs(pattern, slug=desk.slug, some_id=approved.pk))
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            walked.append(pattern.name)
            if pattern.name in PUBLIC_PAGES:
                pass  # answers anyone the same; the check below still holds
            elif response.status_code == 302:
                assert response["Location"].startswith(reverse("login")), url
            else:
                assert response.status_code in (401, 403, 404, 405), (method, url, response.status_code)
            for text in SECRET_TEXTS:
                assert text.encode() not in response.content, (method, url)
    assert "partners" in walked and "claim_edit" in walked


def test_another_desks_partner_key_sees_nothing_of_this_desk(other_desk, approved, desk):
    theirs = partner_key_create(
        partner=partner_create(workspace=other_desk, actor=other_desk.memberships.get().user, name="Rival",
                               contact_email="rival@example.org"),
        actor=other_desk.memberships.get().user,
    ).key
    client = as_partner(theirs)
    assert client.get("/api/v1/feed/", {"workspace": desk.slug}).status_code == 404
    assert client.get("/api/v1/partner/verdicts/", {"workspace": desk.slug}).status_code == 404
    assert client.get("/api/v1/feed/").json()["events"] == []
    assert client.get("/api/v1/partner/verdicts/").json()["results"] == []


def test_a_partner_reads_the_verdicts_in_force_as_published(key, approved, article, crew):
    from annotations.models import Publication

    second = claim_in_state("approved", article, crew)
    page = as_partner(key).get("/api/v1/partner/verdicts/", {"limit": 1}).json()
    assert [r["id"] for r in page["results"]] == [approved.pk] and page["next"]
    rest = as_partner(key).get(page["next"]).json()
    assert [r["id"] for r in rest["results"]] == [second.pk]
    reviews = as_partner(key).get("/api/v1/partner/verdicts/", {"format": "claimreview"}).json()["results"]
    stored = [json.loads(p.claimreview) for p in Publication.objects.filter(current=True).order_by("id")]
    assert reviews == stored
    response = as_partner(key).get("/api/v1/partner/verdicts/", {"format": "csv"})
    assert response.status_code == 400 and "format" in response.json()["error"]["fields"]


# --- Keys: shown once, rotated, revoked, expired, counted, throttled -----------------------

def test_a_revoked_key_gets_401_with_a_sentence(key, wire, crew):
    assert as_partner(key).get("/api/v1/feed/").status_code == 200
    record = PartnerKey.objects.get(partner=wire)
    response = as_member(crew["admin"]).post(f"/api/v1/partners/{wire.pk}/keys/{record.pk}/revoke/")
    assert response.status_code == 200 and response.json()["revoked_at"]
    response = as_partner(key).get("/api/v1/feed/")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "This partner key is unknown, was revoked or has expired."


def test_an_expired_key_gets_401(key, wire):
    PartnerKey.objects.filter(partner=wire).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert as_partner(key).get("/api/v1/feed/").status_code == 401
    assert as_partner("pk_" + "x" * 43).get("/api/v1/feed/").status_code == 401


def test_rotating_keeps_the_old_key_for_the_grace_period(key, wire, crew):
    old = PartnerKey.objects.get(partner=wire)
    response = as_member(crew["admin"]).post(f"/api/v1/partners/{wire.pk}/keys/{old.pk}/rotate/",
                                             {"grace_hours": 24}, format="json")
    assert response.status_code == 201
    new_key = response.json()["key"]
    assert new_key.startswith("pk_") and new_key != key
    assert as_partner(key).get("/api/v1/feed/").status_code == 200
    assert as_partner(new_key).get("/api/v1/feed/").status_code == 200
    old.refresh_from_db()
    assert old.expires_at is not None
    assert timedelta(hours=23) < old.expires_at - timezone.now() <= timedelta(hours=24)

    rotate_again = f"/api/v1/partners/{wire.pk}/keys/{response.json()['id']}/rotate/"
    newer = as_member(crew["admin"]).post(rotate_again, {"grace_hours": 0}, format="json").json()["key"]
    assert as_partner(new_key).get("/api/v1/feed/").status_code == 401
    assert as_partner(newer).get("/api/v1/feed/").status_code == 200


@pytest.mark.parametrize("grace", [-1, 721, "soon", None])
def test_a_bad_grace_period_is_refused_with_a_sentence(key, wire, crew, grace):
    old = PartnerKey.objects.get(partner=wire)
    response = as_member(crew["admin"]).post(f"/api/v1/partners/{wire.pk}/keys/{old.pk}/rotate/",
                                             {"grace_hours": grace}, format="json")
    assert response.status_code == 400
    assert "grace_hours" in response.json()["error"]["fields"]
    assert PartnerKey.objects.filter(partner=wire).count() == 1


def test_a_key_is_shown_once_and_stored_hashed(wire, crew):
    admin = as_member(crew["admin"])
    response = admin.post(f"/api/v1/partners/{wire.pk}/keys/")
    assert response.status_code == 201
    key = response.json()["key"]
    record = PartnerKey.objects.get(pk=response.json()["id"])
    assert record.key_hash == partner_key_hash(key=key) and record.prefix == key[:10]
    listing = admin.get(f"/api/v1/partners/{wire.pk}/keys/")
    assert listing.status_code == 200 and key not in listing.content.decode()
    assert all(key not in str(value) for value in PartnerKey.objects.values().get(pk=record.pk).values())

    page = Client()
    page.force_login(crew["admin"])
    shown = page.post(reverse("partners", args=[wire.workspace.slug]), {"action": "create_key", "partner": wire.pk})
    new = PartnerKey.objects.latest("id")
    match = re.search(rb'data-testid="new-key-value">(pk_[A-Za-z0-9_-]+)<', shown.content)
    assert shown.status_code == 200 and match and partner_key_hash(key=match.group(1).decode()) == new.key_hash
    again = page.get(reverse("partners", args=[wire.workspace.slug]))
    assert match.group(1) not in again.content and new.prefix.encode() in again.content


def test_usage_is_counted_per_day_and_last_use_recorded(key, wire, crew):
    for _ in range(3):
        as_partner(key).get("/api/v1/feed/")
    record = PartnerKey.objects.get(partner=wire)
    assert record.last_used_at is not None
    assert PartnerDailyUsage.objects.get(key=record, day=timezone.now().date()).requests == 3
    usage = as_member(crew["admin"]).get(f"/api/v1/partners/{wire.pk}/keys/").json()[0]["usage"]
    assert len(usage) == 7 and usage[-1]["requests"] == 3 and usage[0]["requests"] == 0


def test_a_key_is_throttled_at_its_partners_rate(desk, crew):
    cache.clear()
    slow = partner_create(workspace=desk, actor=crew["admin"], name="Slow", contact_email="slow@example.org",
                          throttle_rate="2/min")
    key = partner_key_create(partner=slow, actor=crew["admin"]).key
    codes = [as_partner(key).get("/api/v1/feed/").status_code for _ in range(3)]
    assert codes == [200, 200, 429]


# --- Who manages partners ------------------------------------------------------------------

ROLES = ["admin", "reviewer", "author", "outsider"]


@pytest.mark.parametrize(("role", "expected"), list(zip(ROLES, [200, 403, 403, 404], strict=True)))
def test_the_partners_page_is_for_admins(wire, crew, desk, role, expected):
    client = Client()
    client.force_login(crew[role])
    response = client.get(reverse("partners", args=[desk.slug]))
    assert response.status_code == expected
    assert (b"desk@wire.example" in response.content) == (expected == 200)


@pytest.mark.parametrize(("role", "retrieve", "create", "listed"), [
    ("admin", 200, 201, True), ("reviewer", 403, 403, False), ("author", 403, 403, False),
    ("outsider", 404, 400, False),
])
def test_the_partners_api_is_for_admins(wire, crew, desk, role, retrieve, create, listed):
    client = as_member(crew[role])
    assert client.get(f"/api/v1/partners/{wire.pk}/").status_code == retrieve
    assert client.post(f"/api/v1/partners/{wire.pk}/keys/").status_code == retrieve + (1 if retrieve == 200 else 0)
    assert (wire.pk in [p["id"] for p in client.get("/api/v1/partners/").json()]) is listed
    data = {"workspace": desk.slug, "name": "New", "contact_email": "n@example.org"}
    response = client.post("/api/v1/partners/", data, format="json")
    assert response.status_code == create
    assert Partner.objects.filter(name="New").exists() is (create == 201)


@pytest.mark.parametrize(("field", "value", "sentence"), [
    ("name", " ", "Give the partner organisation's name."),
    ("contact_email", "not an address", "Enter the partner's contact e-mail address, like news@example.org."),
    ("throttle_rate", "lots", "Enter the rate as a number of requests per period, like 600/min"),
    ("throttle_rate", "0/min", "Enter the rate as a number of requests per period, like 600/min"),
])
def test_bad_partner_fields_get_a_sentence_on_the_api_and_the_page(crew, desk, field, value, sentence):
    data = {"workspace": desk.slug, "name": "Wire", "contact_email": "w@example.org", "throttle_rate": "60/min"}
    response = as_member(crew["admin"]).post("/api/v1/partners/", data | {field: value}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"][field][0].startswith(sentence)
    page = Client()
    page.force_login(crew["admin"])
    form = {k: v for k, v in data.items() if k != "workspace"} | {field: value, "action": "create_partner"}
    shown = page.post(reverse("partners", args=[desk.slug]), form)
    assert shown.status_code == 400 and sentence.encode() in shown.content.replace(b"&#x27;", b"'")
    assert not Partner.objects.exists()


def test_the_partners_page_creates_rotates_and_revokes(crew, desk):
    page = Client()
    page.force_login(crew["admin"])
    url = reverse("partners", args=[desk.slug])
    response = page.post(url, {"action": "create_partner", "name": "Wire", "contact_email": "w@example.org",
                               "throttle_rate": "60/min", "note": ""})
    assert response.status_code == 302
    partner = Partner.objects.get()
    page.post(url, {"action": "create_key", "partner": partner.pk})
    first = PartnerKey.objects.get()
    page.post(url, {"action": "rotate_key", "partner": partner.pk, "key": first.pk, "grace_hours": "2"})
    first.refresh_from_db()
    assert PartnerKey.objects.count() == 2 and first.expires_at is not None
    page.post(url, {"action": "revoke_key", "partner": partner.pk, "key": first.pk})
    first.refresh_from_db()
    assert first.revoked_at is not None
