"""Hostile input to every write endpoint of the API: never a 5xx, always the API's error
shape, the database unchanged.

The endpoints come from the OpenAPI schema, so a new one is covered without touching this
file (unless its path names an object of a kind the test does not know yet: then the
test says so). Each is called with a real object in its path and by someone allowed to
act on it, with the claim's current ETag, so the body is read rather than refused early;
an operation without a body gets an id that names nothing (a body it never reads cannot
be refused, and the action itself is not what is tested here).
"""

import functools
import json
import re
import time

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection
from django.test import override_settings
from rest_framework.test import APIClient

from annotations.api.parsers import json_depth, json_loads_limited
from annotations.models import Role, WebhookEndpoint
from annotations.publishing.partners import partner_create, partner_key_create
from annotations.services.assignments import assign
from annotations.services.claims import SourceChange, claim_update
from annotations.services.tokens import api_token_create
from annotations.services.workspaces import membership_set
from annotations.validation import MAX_ARTICLE_CHARS
from tests.conftest import claim_in_state

pytestmark = pytest.mark.django_db

WRITE_METHODS = ("post", "put", "patch", "delete")
MISSING_ID = 2**31 - 7
DEEP = 100_000
BIG = 3 * 1024 * 1024
LONG = 1024 * 1024


@functools.cache
def schema() -> dict:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


@functools.cache
def write_operations() -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """(method, path template, request body properties or () for none) of every write
    operation the schema describes."""
    components = schema()["components"]["schemas"]
    found = []
    for path, operations in schema()["paths"].items():
        for method, operation in operations.items():
            if method not in WRITE_METHODS:
                continue
            body = operation.get("requestBody")
            properties: tuple[str, ...] = ()
            if body:
                properties = tuple(_body_schema(body, components).get("properties", {})) or ("body",)
            found.append((method, path, properties))
    return tuple(found)


def _body_schema(body: dict, components: dict) -> dict:
    return components[body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]]


@functools.cache
def integer_properties(method: str, path: str) -> tuple[str, ...]:
    body = schema()["paths"][path][method].get("requestBody")
    properties = _body_schema(body, schema()["components"]["schemas"]).get("properties", {}) if body else {}
    return tuple(name for name, spec in properties.items() if spec.get("type") == "integer")


# Who acts where: someone the endpoint lets through to reading the body.
DECISIONS = ("approve", "reject", "request-changes")
ADMIN_ONLY = ("workspaces", "partners", "reopen", "assignments")


@pytest.fixture
def world(desk, alice, bob, make_user, article):
    """alice writes (a draft with a source), bob holds another of her claims for review,
    erin administers the desk and its partner (a key and a webhook)."""
    erin = make_user("erin")
    membership_set(workspace=desk, user=erin, role=Role.ADMIN)
    crew = {"author": alice, "reviewer": bob, "admin": erin}
    draft = claim_in_state("draft", article, crew)
    claim_update(claim=draft, actor=alice, revision=draft.revision, fields={}, sources=[
        SourceChange(pk=None, fields={"url": "https://example.org/a", "title": "A"})])
    in_review = claim_in_state("in_review", article, crew, quote="Not yet")
    partner = partner_create(workspace=desk, actor=erin, name="Wire", contact_email="wire@example.org")
    key = partner_key_create(partner=partner, actor=erin).record
    hook = WebhookEndpoint.objects.create(partner=partner, url="https://example.org/hook", secret="whsec_test")
    assignment = assign(actor=erin, workspace=desk, assignee=alice, article=article, note="Check the figures")
    clients = {}
    for name, user in {"alice": alice, "bob": bob, "erin": erin}.items():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=user, name='hostile')[1]}")
        client.raise_request_exception = False  # a 500 is a response to report, with the others
        clients[name] = client
    return {
        "clients": clients, "draft": draft, "in_review": in_review, "source": draft.sources.get(),
        "membership": desk.memberships.get(user=bob), "partner": partner, "key": key, "hook": hook, "desk": desk,
        "assignment": assignment,
    }


def target(world, method: str, template: str, has_body: bool) -> tuple[str, APIClient, dict]:
    """The address to call (ids filled in), who calls it, and the headers to send."""
    segments = template.strip("/").split("/")
    resource = segments[2]
    claim = world["in_review"] if any(s in DECISIONS for s in segments) else world["draft"]
    ids = {
        "claims": claim.pk, "sources": world["source"].pk, "memberships": world["membership"].pk,
        "partners": world["partner"].pk, "workspaces": world["desk"].pk, "assignments": world["assignment"].pk,
        "articles": world["draft"].article_id,
    }

    def fill(match: re.Match) -> str:
        name = match.group(1)
        if not has_body:
            return str(MISSING_ID)
        if name == "id":
            assert resource in ids, f"Tell tests/test_hostile_input.py which object {{id}} names in {template}."
            return str(ids[resource])
        known = {"key_id": world["key"].pk, "hook_id": world["hook"].pk}
        assert name in known, f"Tell tests/test_hostile_input.py what {{{name}}} names in {template}."
        return str(known[name])

    url = re.sub(r"\{(\w+)\}", fill, template)
    who = "bob" if any(s in DECISIONS for s in segments) else (
        "erin" if any(s in ADMIN_ONLY for s in segments) else "alice")
    headers = {}
    if resource in ("claims", "sources"):
        claim.refresh_from_db()
        headers["HTTP_IF_MATCH"] = f'"claim-{claim.pk}-r{claim.revision}"'
    return url, world["clients"][who], headers


def database_state() -> tuple:
    """Row counts of every table of the app and of the users, the audit trail's length
    and the claims' revisions: one query."""
    tables = sorted({m._meta.db_table for m in apps.get_app_config("annotations").get_models()} | {"auth_user"})
    counts = ", ".join(f'(SELECT count(*) FROM "{table}")' for table in tables)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {counts}, (SELECT coalesce(sum(revision), 0) FROM annotations_claim)")
        return tuple(zip([*tables, "claim revisions"], cursor.fetchone(), strict=True))


def error_shape_problem(response) -> str | None:
    if response.status_code >= 500:
        return f"answered {response.status_code}"
    if response.status_code < 400:
        return f"accepted it ({response.status_code})"
    if not response.get("Content-Type", "").startswith("application/json"):
        return f"answered {response.status_code} as {response.get('Content-Type')}"
    error = json.loads(response.content).get("error")
    if not isinstance(error, dict) or set(error) != {"status", "code", "message", "fields"}:
        return f"answered {response.status_code} without the error shape: {response.content[:200]!r}"
    if error["status"] != response.status_code or not error["message"]:
        return f"answered {response.status_code} with {error}"
    if len(response.content) > 5000:
        return f"echoed the input back ({len(response.content):,} bytes)"
    return None


def send_to_every_write_endpoint(world, bodies) -> list[str]:
    """Send what `bodies(properties)` gives (content type, body, label) to every write
    endpoint; the problems found, one line each. `bodies` may also take the method and
    path template."""
    problems = []
    before = database_state()
    for method, template, properties in write_operations():
        try:
            cases = bodies(properties, method=method, template=template)
        except TypeError:
            cases = bodies(properties)
        for content_type, body, label in cases:
            url, client, headers = target(world, method, template, has_body=bool(properties))
            response = getattr(client, method)(url, data=body, content_type=content_type, **headers)
            problem = error_shape_problem(response)
            if problem:
                problems.append(f"{method.upper()} {url} ({label}): {problem}")
            if response.status_code >= 400 and database_state() != before:
                problems.append(f"{method.upper()} {url} ({label}) changed the database")
                before = database_state()
    return problems


def test_every_write_endpoint_is_found_and_each_has_an_object_to_act_on(world):
    operations = write_operations()
    assert len(operations) >= 25
    assert ("post", "/api/v1/claims/{id}/approve/", ("comment", "revision")) in operations
    for method, template, properties in operations:
        target(world, method, template, has_body=bool(properties))  # fails for an unknown path parameter


def test_json_nested_100000_deep_is_a_400_naming_the_limit(world):
    deep = "[" * DEEP + "]" * DEEP
    nested_objects = '{"a":' * DEEP + "1" + "}" * DEEP
    problems = send_to_every_write_endpoint(world, lambda properties: [
        ("application/json", deep, "arrays"), ("application/json", nested_objects, "objects"),
    ])
    assert not problems, "\n".join(problems)
    response = world["clients"]["alice"].post("/api/v1/claims/", deep, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"
    assert f"at most {settings.API_JSON_MAX_DEPTH} levels" in response.json()["error"]["message"]


@pytest.mark.parametrize("debug", [False, True])
def test_deep_json_is_a_400_with_debug_on_or_off(world, debug):
    with override_settings(DEBUG=debug):
        response = world["clients"]["alice"].post(
            "/api/v1/claims/", "[" * DEEP + "]" * DEEP, content_type="application/json")
    assert response.status_code == 400, response.content


def test_json_at_the_nesting_limit_is_parsed_and_one_deeper_is_not(world):
    limit = settings.API_JSON_MAX_DEPTH
    at_limit = '{"exact": ' + "[" * (limit - 1) + "]" * (limit - 1) + "}"
    client = world["clients"]["alice"]
    response = client.post("/api/v1/claims/", at_limit, content_type="application/json")
    assert response.json()["error"]["code"] == "invalid"  # parsed; `exact` is not text
    over = '{"exact": ' + "[" * limit + "]" * limit + "}"
    assert client.post("/api/v1/claims/", over, content_type="application/json").json()["error"]["code"] == (
        "parse_error")


def test_a_3_mb_body_is_a_413_in_the_error_shape(world):
    started = time.monotonic()
    problems = send_to_every_write_endpoint(world, lambda properties: [
        ("application/json", json.dumps({properties[0] if properties else "body": "x" * BIG}), "3 MB of JSON"),
        ("application/x-www-form-urlencoded", "body=" + "x" * BIG, "3 MB of form"),
    ])
    assert not problems, "\n".join(problems)
    assert time.monotonic() - started < 10
    response = world["clients"]["alice"].patch(f"/api/v1/claims/{world['draft'].pk}/", {"claimant": "x" * BIG},
                                                format="json")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert f"{settings.REQUEST_BODY_MAX_BYTES:,} bytes" in response.json()["error"]["message"]


def test_a_body_over_the_article_limit_is_a_413_and_one_under_it_reaches_the_rules(world):
    client, desk = world["clients"]["alice"], world["desk"]
    over = settings.ARTICLE_BODY_MAX_BYTES + 1
    response = client.post("/api/v1/articles/", {"workspace": desk.slug, "text": "x" * over}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (413, "too_large")
    # 2,000,001 characters of 4 bytes each: past the character limit, within the byte limit,
    # so the answer is the rule's own sentence.
    text = "\U0001f600" * (MAX_ARTICLE_CHARS + 1)
    response = client.post("/api/v1/articles/", {"workspace": desk.slug, "text": text}, format="json")
    assert response.status_code == 400, response.content[:300]
    assert response.json()["error"]["fields"]["text"] == [
        f"The article text can be at most {MAX_ARTICLE_CHARS} characters (it has {MAX_ARTICLE_CHARS + 1})."]


def test_djangos_own_ceiling_is_a_413_in_the_error_shape_too(world):
    """Should a body get past the route limits to Django's DATA_UPLOAD_MAX_MEMORY_SIZE."""
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000, REQUEST_BODY_MAX_BYTES=10**7):
        response = world["clients"]["alice"].post("/api/v1/claims/", {"exact": "x" * 2000}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (413, "too_large")
    assert "at most 1,000 bytes" in response.json()["error"]["message"]


def test_the_upload_limit_lets_the_longest_article_through_in_any_script():
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE >= settings.ARTICLE_BODY_MAX_BYTES > MAX_ARTICLE_CHARS * 4
    assert settings.REQUEST_BODY_MAX_BYTES <= settings.ARTICLE_BODY_MAX_BYTES


def test_a_page_over_its_limit_is_a_413_page(client, alice, desk):
    client.force_login(alice)
    response = client.post(f"/w/{desk.slug}/claims/1/submit/", "x" * BIG, content_type="text/plain")
    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/html")


def lone_surrogate_bodies(properties):
    # json.dumps writes a lone surrogate as the escape "\ud800", as a hostile client would.
    return [
        ("application/json", json.dumps(dict.fromkeys(properties or ["body"], "before \ud800 after")),
         "lone surrogate"),
        ("application/json", json.dumps({"\udfff": 1}), "lone surrogate in a key"),
        ("application/json", b'{"x": "\xed\xa0\x80"}', "a surrogate's bytes, not UTF-8"),
    ]


def test_lone_surrogates_are_a_400_naming_the_field(world):
    problems = send_to_every_write_endpoint(world, lone_surrogate_bodies)
    assert not problems, "\n".join(problems)
    response = world["clients"]["alice"].patch(
        f"/api/v1/claims/{world['draft'].pk}/", json.dumps({"claimant": "\ud800"}), content_type="application/json")
    assert response.status_code == 400
    assert "lone surrogate (\\ud800)" in response.json()["error"]["fields"]["claimant"][0]


def nul_bodies(properties):
    names = properties or ("body",)
    return [
        ("application/json", json.dumps(dict.fromkeys(names, "before \x00 after")), "NUL in JSON"),
        ("application/json", json.dumps({"sources": [{"url": "x\x00"}]}), "NUL nested"),
        ("application/x-www-form-urlencoded", "&".join(f"{name}=a%00b" for name in names), "NUL in a form"),
        ("multipart/form-data; boundary=BoUnDaRy",
         f'--BoUnDaRy\r\nContent-Disposition: form-data; name="{names[0]}"\r\n\r\na\x00b\r\n--BoUnDaRy--\r\n',
         "NUL in multipart"),
    ]


def test_nul_characters_are_a_400_naming_the_field(world):
    problems = send_to_every_write_endpoint(world, nul_bodies)
    assert not problems, "\n".join(problems)
    response = world["clients"]["alice"].post("/api/v1/claims/", json.dumps({"exact": "a\x00b", "start": 0}),
                                              content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "exact": ["This text contains a NUL character (\\u0000), which cannot be stored; remove it."]}
    nested = world["clients"]["alice"].post("/api/v1/claims/", json.dumps({"x": [{"y": "\x00"}]}),
                                            content_type="application/json")
    assert list(nested.json()["error"]["fields"]) == ["x[0].y"]


def test_1_mb_strings_in_each_field_are_refused_cleanly(world):
    problems = send_to_every_write_endpoint(world, lambda properties: [
        ("application/json", json.dumps({name: "x" * LONG}), f"1 MB {name}") for name in properties
    ])
    assert not problems, "\n".join(problems)


def test_the_depth_scan_reads_strings_and_escapes_right():
    limit = 3
    assert json_depth('["[[[[", {"a\\"[[[": [1]}]', limit=limit) <= limit
    assert json_depth('[[[["]]]]"]]]]', limit=limit) > limit
    assert json_depth('{"a": {"b": {"c": {"d": 1}}}}', limit=limit) > limit
    assert json_loads_limited('{"a\\\\": ["\\"[", 1]}', limit=limit) == {"a\\": ['"[', 1]}
    assert json_loads_limited('"\\ud83d\\ude00"', limit=limit) == "\U0001f600"  # a pair is one character


def test_a_nul_in_any_query_parameter_is_a_400_naming_it(world):
    """Query parameters go to Postgres too (`?workspace=` is looked up by slug)."""
    client, problems, checked = world["clients"]["erin"], [], 0
    for path, operations in schema()["paths"].items():
        parameters = [p["name"] for p in operations.get("get", {}).get("parameters", []) if p["in"] == "query"]
        url = re.sub(r"\{\w+\}", str(world["draft"].pk), path)
        for name in parameters:
            response = client.get(url, {name: "a\x00b"})
            checked += 1
            problem = error_shape_problem(response)
            if problem or response.json()["error"]["fields"] != {name: [
                    "This text contains a NUL character (\\u0000), which cannot be stored; remove it."]}:
                problems.append(f"GET {url}?{name}=a%00b: {problem or response.content[:200]!r}")
    assert checked >= 40
    assert not problems, "\n".join(problems)


def test_numbers_out_of_every_range_are_refused_cleanly(world):
    """A 4,000-digit integer, one that is infinite as a float, one below a bigint: in every
    integer field (ids, offsets, revisions, hours)."""
    def bodies(properties, *, method, template):
        names = integer_properties(method, template)
        return [
            ("application/json", "{" + ", ".join(f'"{name}": {number}' for name in names) + "}", f"{label} numbers")
            for number, label in (("1" + "0" * 4000, "4,000-digit"), ("1e400", "infinite"),
                                  ("-9223372036854775809", "negative"))
        ] if names else []

    problems = send_to_every_write_endpoint(world, bodies)
    assert not problems, "\n".join(problems)
    response = world["clients"]["alice"].post("/api/v1/claims/", '{"start": 1e400}', content_type="application/json")
    assert response.json()["error"]["message"] == "The number 1e400 is too large."
