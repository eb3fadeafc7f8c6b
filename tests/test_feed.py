"""The change feed: commit order under concurrency, replay to the verdicts in force, and
what a bad cursor, limit or format gets."""

import json
import threading

import pytest
from django.db import connection, transaction
from django.test import Client

from annotations.models import Claim, Publication
from annotations.publishing.partners import partner_create, partner_key_create
from annotations.services.workflow import claim_decide, claim_reopen, claim_submit, claim_take
from tests.conftest import claim_in_state


@pytest.fixture
def partner_key(desk, crew):
    partner = partner_create(workspace=desk, actor=crew["admin"], name="Wire Service",
                             contact_email="desk@wire.example", throttle_rate="10000/min")
    return partner_key_create(partner=partner, actor=crew["admin"]).key


def feed_get(key: str, **params) -> dict:
    response = Client().get("/api/v1/feed/", params, HTTP_AUTHORIZATION=f"Partner {key}")
    assert response.status_code == 200, response.content
    return response.json()


def feed_all(key: str, after: str = "", **params) -> tuple[list[dict], str]:
    """Every event after the cursor, page by page; and the cursor to continue from."""
    events: list[dict] = []
    while True:
        page = feed_get(key, after=after, **params)
        events += page["events"]
        after = page["next"]
        if not page["events"]:
            return events, after


def approve_again(claim: Claim, crew) -> Claim:
    claim = Claim.objects.get(pk=claim.pk)
    claim = claim_submit(claim=claim, actor=crew["author"], revision=claim.revision)
    claim = claim_take(claim=claim, actor=crew["reviewer"])
    return claim_decide(claim=claim, actor=crew["reviewer"], decision="approve", comment="", revision=claim.revision)


def reopen(claim: Claim, crew, reason: str) -> Claim:
    claim = Claim.objects.get(pk=claim.pk)
    return claim_reopen(claim=claim, actor=crew["admin"], reason=reason, revision=claim.revision)


@pytest.mark.django_db
def test_replaying_the_feed_gives_exactly_the_verdicts_in_force(article, crew, partner_key):
    one, two, three = (claim_in_state("approved", article, crew) for _ in range(3))
    reopen(one, crew, "The date was wrong.")
    approve_again(one, crew)  # corrected
    reopen(two, crew, "The source retracted.")  # withdrawn, stays so
    reopen(three, crew, "A typo.")
    approve_again(three, crew)
    reopen(three, crew, "Another typo.")
    approve_again(three, crew)  # withdrawn and republished twice

    events, _ = feed_all(partner_key, limit="2")
    applied: dict[int, int] = {}
    for event in events:
        if event["type"] == "withdrawn":
            assert set(event["record"]) == {"reason", "date_withdrawn"}
            applied.pop(event["verdict"])  # a withdrawal always follows a record in force
        else:
            assert event["record"]["id"] == event["verdict"]
            applied[event["verdict"]] = event["publication"]
    in_force = dict(Publication.objects.filter(current=True).values_list("claim_id", "id"))
    assert applied == in_force and set(in_force) == {one.pk, three.pk}
    assert [e["type"] for e in events if e["verdict"] == three.pk] == [
        "published", "withdrawn", "corrected", "withdrawn", "corrected"]
    reasons = [e["record"]["reason"] for e in events if e["type"] == "withdrawn"]
    assert reasons == ["The date was wrong.", "The source retracted.", "A typo.", "Another typo."]


@pytest.mark.django_db
def test_claimreview_format_sends_the_stored_claimreview(article, crew, partner_key):
    claim = claim_in_state("approved", article, crew)
    events, _ = feed_all(partner_key, format="claimreview")
    stored = Publication.objects.get(claim=claim, current=True).claimreview
    assert [e["record"] for e in events] == [json.loads(stored)]


@pytest.mark.django_db
def test_the_cursor_continues_where_the_last_page_ended(article, crew, partner_key):
    first = claim_in_state("approved", article, crew)
    events, cursor = feed_all(partner_key)
    assert [e["verdict"] for e in events] == [first.pk]
    assert feed_get(partner_key, after=cursor)["events"] == []
    second = claim_in_state("approved", article, crew)
    assert [e["verdict"] for e in feed_get(partner_key, after=cursor)["events"]] == [second.pk]


@pytest.mark.django_db
@pytest.mark.parametrize(("params", "field", "sentence"), [
    ({"after": "not-a-cursor"}, "after", "The cursor in `after` is not one this feed gave out"),
    ({"after": "WzEsMF0:1tamper:forged"}, "after", "The cursor in `after` is not one this feed gave out"),
    ({"limit": "0"}, "limit", "Give `limit` as a whole number from 1 to 500."),
    ({"limit": "501"}, "limit", "Give `limit` as a whole number from 1 to 500."),
    ({"limit": "many"}, "limit", "Give `limit` as a whole number from 1 to 500."),
    ({"wait": "31"}, "wait", "Give `wait` as a whole number of seconds from 0 to 30."),
    ({"format": "csv"}, "format", "Choose `format` json or claimreview."),
])
def test_bad_feed_parameters_get_a_sentence_naming_them(partner_key, params, field, sentence):
    response = Client().get("/api/v1/feed/", params, HTTP_AUTHORIZATION=f"Partner {partner_key}")
    assert response.status_code == 400
    assert response.json()["error"]["fields"][field][0].startswith(sentence)


@pytest.mark.django_db
def test_a_cursor_of_another_desk_is_refused(desk, other_desk, crew, partner_key):
    from annotations.publishing.feed import cursor_encode

    theirs = cursor_encode(workspace_id=other_desk.pk, position=0)
    response = Client().get("/api/v1/feed/", {"after": theirs}, HTTP_AUTHORIZATION=f"Partner {partner_key}")
    assert response.status_code == 400 and "after" in response.json()["error"]["fields"]


@pytest.mark.django_db
def test_members_read_their_desk_feed_with_a_token_and_outsiders_do_not(article, crew, desk):
    from annotations.services.tokens import api_token_create

    claim = claim_in_state("approved", article, crew)
    _, mine = api_token_create(user=crew["reviewer"], name="feed")
    response = Client().get("/api/v1/feed/", {"workspace": desk.slug}, HTTP_AUTHORIZATION=f"Token {mine}")
    assert [e["verdict"] for e in response.json()["events"]] == [claim.pk]
    _, theirs = api_token_create(user=crew["outsider"], name="feed")
    response = Client().get("/api/v1/feed/", {"workspace": desk.slug}, HTTP_AUTHORIZATION=f"Token {theirs}")
    assert response.status_code == 400 and "workspace" in response.json()["error"]["fields"]


@pytest.mark.django_db
def test_long_poll_returns_empty_after_the_wait(partner_key):
    import time

    started = time.monotonic()
    page = feed_get(partner_key, wait="1")
    assert page["events"] == [] and 0.9 < time.monotonic() - started < 3


def _approve_held(claim_id: int, reviewer_id: int, held: threading.Event, release: threading.Event,
                  errors: list) -> None:
    """Approve inside a transaction kept open until `release`: its record's position is drawn
    and uncommitted meanwhile."""
    try:
        with transaction.atomic():
            claim = Claim.objects.get(pk=claim_id)
            claim_decide(claim=claim, actor=claim.held_by, decision="approve", comment="", revision=claim.revision)
            held.set()
            if not release.wait(20):
                raise TimeoutError("never released")
    except Exception as exc:  # reported to the test, which fails on it
        errors.append(exc)
        held.set()
    finally:
        connection.close()


def _approve(claim_id: int, done: threading.Event, errors: list) -> None:
    try:
        claim = Claim.objects.get(pk=claim_id)
        claim_decide(claim=claim, actor=claim.held_by, decision="approve", comment="", revision=claim.revision)
    except Exception as exc:
        errors.append(exc)
    finally:
        done.set()
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_a_transaction_held_open_is_neither_skipped_nor_sent_twice(article, crew, partner_key):
    """20 rounds: A publishes and stays open; B publishes meanwhile (it waits for A's lock
    and commits after it); a partner reads all along. Every record arrives once, in order."""
    claim_in_state("approved", article, crew)
    seen, cursor = feed_all(partner_key)
    for _ in range(20):
        held_claim = claim_in_state("in_review", article, crew)
        other_claim = claim_in_state("in_review", article, crew)
        held, release, other_done = threading.Event(), threading.Event(), threading.Event()
        errors: list = []
        first = threading.Thread(target=_approve_held,
                                 args=(held_claim.pk, crew["reviewer"].pk, held, release, errors))
        first.start()
        assert held.wait(10)
        second = threading.Thread(target=_approve, args=(other_claim.pk, other_done, errors))
        second.start()
        # Both are uncommitted: the partner sees nothing new, and the cursor stays put.
        page = feed_get(partner_key, after=cursor)
        seen += page["events"]
        cursor = page["next"]
        assert page["events"] == []
        release.set()
        while not other_done.is_set():  # read while they commit, as a busy partner would
            page = feed_get(partner_key, after=cursor)
            seen += page["events"]
            cursor = page["next"]
        first.join(10)
        second.join(10)
        assert not errors, errors
        events, cursor = feed_all(partner_key, after=cursor)
        seen += events
        published = list(Publication.objects.filter(claim_id__in=[held_claim.pk, other_claim.pk])
                         .order_by("feed_position").values_list("id", flat=True))
        assert len(published) == 2
        assert [e["publication"] for e in seen[-2:]] == published
    publications = [e["publication"] for e in seen]
    assert len(publications) == len(set(publications)) == 41  # none twice, none skipped
    assert sorted(publications) == sorted(Publication.objects.values_list("id", flat=True))
