"""Assignments (issue 15): who may assign what to whom, assigned work first, take-next and
the grace period, the daily digest once, the audit trail and the claim's timeline."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from annotations.models import Assignment, AssignmentDigest, AuditEvent, Role
from annotations.publishing.partners import partner_create, partner_key_create
from annotations.selectors import claim_timeline, queue_claims
from annotations.services.assignments import assign, assignment_digest_send, assignment_set
from annotations.services.tokens import api_token_create
from annotations.services.workflow import claim_take_next
from annotations.services.workspaces import membership_set
from annotations.tasks import assignment_digest
from tests.conftest import claim_in_state

pytestmark = pytest.mark.django_db

QUOTES = ["It is a possibility.", "Not yet", "massive information"]


def api(user) -> APIClient:
    _, key = api_token_create(user=user, name="assignments")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def frank(make_user, desk):
    """A second reviewer."""
    user = make_user("frank", first_name="Frank")
    membership_set(workspace=desk, user=user, role=Role.REVIEWER)
    return user


@pytest.fixture
def waiting(article, crew):
    return [claim_in_state("submitted", article, crew, quote=q) for q in QUOTES]


def overdue_by(assignment: Assignment, delta: timedelta) -> None:
    """Due dates in the past are refused by the service; a test moves one back in time."""
    Assignment.objects.filter(pk=assignment.pk).update(due_at=timezone.now() - delta)


# --- Permission matrix -----------------------------------------------------------------------

@pytest.mark.parametrize(("role", "expected"), [
    ("admin", 201), ("reviewer", 403), ("author", 403), ("outsider", 400),
])
def test_who_may_assign_through_the_api(crew, desk, waiting, role, expected):
    body = {"workspace": desk.slug, "claim": waiting[0].pk, "assignee": "bob",
            "due_at": (timezone.now() + timedelta(days=1)).isoformat(), "note": "Before the evening edition."}
    response = api(crew[role]).post("/api/v1/assignments/", body, format="json")
    assert response.status_code == expected, response.content
    if role == "outsider":  # another desk's slug is missing: the field is named, nothing is said of it
        assert list(response.json()["error"]["fields"]) == ["workspace"]
    assert Assignment.objects.count() == (1 if expected == 201 else 0)


@pytest.mark.parametrize(("role", "read", "change", "delete"), [
    ("admin", 200, 200, 204), ("reviewer", 200, 403, 403), ("author", 200, 403, 403),
    ("outsider", 404, 404, 404),
])
def test_reading_changing_and_removing_an_assignment(crew, desk, waiting, role, read, change, delete):
    a = assign(actor=crew["admin"], workspace=desk, assignee=crew["reviewer"], claim=waiting[0])
    client = api(crew[role])
    assert client.get(f"/api/v1/assignments/{a.pk}/").status_code == read
    due = (timezone.now() + timedelta(days=2)).isoformat()
    assert client.patch(f"/api/v1/assignments/{a.pk}/", {"due_at": due}, format="json").status_code == change
    assert client.delete(f"/api/v1/assignments/{a.pk}/").status_code == delete
    assert Assignment.objects.filter(pk=a.pk).exists() == (delete != 204)


def test_a_partner_key_finds_no_assignments(crew, desk, waiting):
    a = assign(actor=crew["admin"], workspace=desk, assignee=crew["reviewer"], claim=waiting[0])
    partner = partner_create(workspace=desk, actor=crew["admin"], name="Wire", contact_email="w@example.org")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Partner {partner_key_create(partner=partner, actor=crew['admin']).key}")
    for method, url in (("get", "/api/v1/assignments/"), ("get", f"/api/v1/assignments/{a.pk}/"),
                        ("post", "/api/v1/assignments/"), ("delete", f"/api/v1/assignments/{a.pk}/")):
        assert getattr(client, method)(url).status_code in (401, 404), (method, url)
    assert Assignment.objects.filter(pk=a.pk).exists()


@pytest.mark.parametrize(("role", "expected"), [("admin", 302), ("reviewer", 403), ("author", 403),
                                                ("outsider", 404)])
def test_the_assign_form_is_for_admins(client, crew, desk, article, role, expected):
    client.force_login(crew[role])
    response = client.post(reverse("assign", args=[desk.slug]), {
        "article": article.pk, "assignee": crew["teammate"].pk, "due_at": "2099-01-31T17:00", "note": "Quotes first",
    })
    assert response.status_code == expected
    assert Assignment.objects.filter(article=article, assignee=crew["teammate"]).exists() == (expected == 302)
    page = client.get(reverse("article_detail", args=[desk.slug, article.pk]))
    assert ('data-testid="assign-form"' in page.content.decode()) == (role == "admin")


def test_the_assign_form_reads_the_due_date_in_the_desks_zone_and_names_bad_fields(client, crew, desk, waiting):
    desk.time_zone = "Europe/Berlin"
    desk.save(update_fields=["time_zone"])
    client.force_login(crew["admin"])
    url = reverse("assign", args=[desk.slug])
    page = client.post(url, {"claim": waiting[0].pk, "assignee": crew["reviewer"].pk, "due_at": "2001-01-01T10:00",
                             "note": "x" * 2001}, follow=True).content.decode()
    assert "Due date: The due date must be in the future." in page
    assert "Note: The note can be at most 2000 characters (it has 2001)." in page
    page = client.post(url, {"claim": waiting[0].pk, "assignee": crew["teammate"].pk}, follow=True).content.decode()
    assert "Assignee: Claims are assigned to reviewers or admins of this desk." in page
    assert not Assignment.objects.exists()
    client.post(url, {"claim": waiting[0].pk, "assignee": crew["reviewer"].pk, "due_at": "2099-01-31T17:00"})
    due = Assignment.objects.get().due_at
    assert due is not None
    assert (due.year, due.month, due.day, due.hour, due.minute) == (2099, 1, 31, 16, 0)  # 17:00 in Berlin


@pytest.mark.parametrize(("role", "expected"), [("admin", 302), ("reviewer", 403), ("author", 403),
                                                ("outsider", 404)])
def test_the_unassign_button_is_for_admins(client, crew, desk, article, role, expected):
    a = assign(actor=crew["admin"], workspace=desk, assignee=crew["teammate"], article=article)
    client.force_login(crew[role])
    assert client.post(reverse("unassign", args=[desk.slug, a.pk])).status_code == expected
    assert Assignment.objects.filter(pk=a.pk).exists() == (expected != 302)


def test_the_api_list_filters_by_desk_assignee_and_overdue(crew, desk, article, waiting, frank):
    soon = timezone.now() + timedelta(hours=2)
    bobs = assign(actor=crew["admin"], workspace=desk, assignee=crew["reviewer"], claim=waiting[0], due_at=soon)
    franks = assign(actor=crew["admin"], workspace=desk, assignee=frank, claim=waiting[1], due_at=soon)
    daves = assign(actor=crew["admin"], workspace=desk, assignee=crew["teammate"], article=article)
    overdue_by(franks, timedelta(minutes=5))
    client = api(crew["reviewer"])

    def ids(**params) -> set[int]:
        response = client.get("/api/v1/assignments/", params)
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["results"]}

    assert ids(workspace=desk.slug) == {bobs.pk, franks.pk, daves.pk}
    assert ids(assignee="bob") == {bobs.pk}
    assert ids(overdue="true") == {franks.pk} and ids(overdue="false") == {bobs.pk, daves.pk}
    assert ids(kind="article") == {daves.pk}
    assert ids(workspace="charlie-desk") == set()
    assert api(crew["outsider"]).get("/api/v1/assignments/").json()["results"] == []
    bad = client.get("/api/v1/assignments/", {"overdue": "maybe"})
    assert bad.status_code == 400 and "overdue" in bad.json()["error"]["fields"]


def test_who_may_be_assigned_what(crew, desk, article, waiting):
    def refused(**kwargs) -> str:
        with pytest.raises(ValidationError) as caught:
            assign(actor=crew["admin"], workspace=desk, **kwargs)
        return caught.value.message_dict["assignee"][0]

    assert refused(assignee=crew["reviewer"], article=article) == "Articles are assigned to annotators of this desk."
    assert refused(assignee=crew["teammate"], claim=waiting[0]) == (
        "Claims are assigned to reviewers or admins of this desk.")
    assert refused(assignee=crew["outsider"], claim=waiting[0]) == "The assignee is not a member of this desk."
    # Four eyes: nobody is given a claim they last edited.
    admins_claim = waiting[1]
    type(admins_claim).objects.filter(pk=admins_claim.pk).update(last_edited_by=crew["admin"])
    assert refused(assignee=crew["admin"], claim=admins_claim) == (
        "Nobody reviews a claim they wrote or last edited: choose another reviewer.")
    with pytest.raises(ValidationError) as caught:
        assign(actor=crew["admin"], workspace=desk, assignee=crew["reviewer"], claim=waiting[0],
               due_at=timezone.now() - timedelta(hours=1), note="x" * 2001)
    assert caught.value.message_dict == {"due_at": ["The due date must be in the future."],
                                         "note": ["The note can be at most 2000 characters (it has 2001)."]}
    assert not Assignment.objects.exists()


def test_a_decided_claim_cannot_be_assigned_and_bulk_reports_it(crew, desk, article, waiting):
    approved = claim_in_state("approved", article, crew, quote="Kuralenko")
    failures = assignment_set(actor=crew["admin"], workspace=desk, claims=[waiting[0], approved, waiting[1]],
                              assignee=crew["reviewer"], due_at=timezone.now() + timedelta(days=1))
    assert failures == {approved.pk: "Only a claim waiting for review can be assigned; this one is approved."}
    assert set(Assignment.objects.values_list("claim_id", flat=True)) == {waiting[0].pk, waiting[1].pk}


# --- Assigned work first -----------------------------------------------------------------------

def test_assigned_work_comes_first_in_my_claims_and_the_queue(client, crew, desk, article, waiting):
    assign(actor=crew["admin"], workspace=desk, assignee=crew["reviewer"], claim=waiting[2],
           due_at=timezone.now() + timedelta(days=1), note="Urgent")
    queue = list(queue_claims(workspace=desk, reviewer=crew["reviewer"]))
    assert [c.pk for c in queue] == [waiting[2].pk, waiting[0].pk, waiting[1].pk]
    client.force_login(crew["reviewer"])
    page = client.get(reverse("queue", args=[desk.slug])).content.decode()
    assert page.index('data-testid="assigned-to-you"') < page.index(f'data-claim="{waiting[0].pk}"')
    mine = client.get(reverse("my_claims", args=[desk.slug])).content.decode()
    assert 'data-testid="assigned-to-you"' in mine and "Urgent" in mine
    # An annotator's article is first on their My claims.
    assign(actor=crew["admin"], workspace=desk, assignee=crew["teammate"], article=article)
    client.force_login(crew["teammate"])
    assert 'data-kind="article"' in client.get(reverse("my_claims", args=[desk.slug])).content.decode()


def test_take_next_respects_assignments_and_the_grace_period(crew, desk, waiting, frank):
    theirs = assign(actor=crew["admin"], workspace=desk, assignee=frank, claim=waiting[0],
                    due_at=timezone.now() + timedelta(hours=1))
    assign(actor=crew["admin"], workspace=desk, assignee=crew["reviewer"], claim=waiting[2])
    # Bob gets his own (the newest) first, then the oldest nobody's, never frank's.
    assert claim_take_next(workspace=desk, actor=crew["reviewer"]).pk == waiting[2].pk
    assert claim_take_next(workspace=desk, actor=crew["reviewer"]).pk == waiting[1].pk
    assert claim_take_next(workspace=desk, actor=crew["reviewer"]) is None
    # Overdue, but within the desk's grace (24 h): still frank's.
    overdue_by(theirs, timedelta(hours=23))
    assert claim_take_next(workspace=desk, actor=crew["reviewer"]) is None
    overdue_by(theirs, timedelta(hours=25))
    assert claim_take_next(workspace=desk, actor=crew["reviewer"]).pk == waiting[0].pk


def test_the_assignee_takes_their_claim_first(crew, desk, waiting, frank):
    assign(actor=crew["admin"], workspace=desk, assignee=frank, claim=waiting[1])
    assert claim_take_next(workspace=desk, actor=frank).pk == waiting[1].pk


# --- Dashboard, digest -------------------------------------------------------------------------

def test_an_overdue_claim_is_on_the_dashboard(client, crew, desk, waiting):
    a = assign(actor=crew["admin"], workspace=desk, assignee=crew["reviewer"], claim=waiting[0],
               due_at=timezone.now() + timedelta(hours=1))
    client.force_login(crew["author"])
    url = reverse("dashboard", args=[desk.slug])
    assert 'data-testid="overdue-row"' not in client.get(url).content.decode()
    overdue_by(a, timedelta(hours=3))
    page = client.get(url).content.decode()
    assert page.count('data-testid="overdue-row"') == 1 and "3 h" in page
    listed = api(crew["admin"]).get("/api/v1/assignments/", {"workspace": desk.slug, "overdue": "true"}).json()
    assert [row["id"] for row in listed["results"]] == [a.pk] and listed["results"][0]["overdue"] is True


def test_the_digest_is_sent_once_a_day_even_when_the_task_runs_twice(crew, desk, article, waiting):
    a = assign(actor=crew["admin"], workspace=desk, assignee=crew["reviewer"], claim=waiting[0],
               due_at=timezone.now() + timedelta(hours=1))
    assign(actor=crew["admin"], workspace=desk, assignee=crew["teammate"], article=article)  # no due date
    assert assignment_digest_send() == 0
    overdue_by(a, timedelta(hours=2))
    assert assignment_digest.apply().get() == 2  # bob, and erin the admin
    assert assignment_digest.apply().get() == 0  # a retry, or the next hour's run: nothing twice
    assert sorted(m.to[0] for m in mail.outbox) == ["bob@example.org", "erin@example.org"]
    assert "Overdue work assigned to you" in next(m.body for m in mail.outbox if m.to == ["bob@example.org"])
    assert AssignmentDigest.objects.count() == 2


# --- Audit trail and timeline ------------------------------------------------------------------

def test_every_change_is_on_the_audit_trail_and_the_claims_timeline(client, crew, desk, waiting, frank):
    claim = waiting[0]
    a = assign(actor=crew["admin"], workspace=desk, assignee=crew["reviewer"], claim=claim, note="First pass")
    assign(actor=crew["admin"], workspace=desk, assignee=frank, claim=claim)  # moved to frank
    response = api(crew["admin"]).patch(f"/api/v1/assignments/{a.pk}/",
                                        {"due_at": (timezone.now() + timedelta(days=3)).isoformat()}, format="json")
    assert response.status_code == 200
    assert api(crew["admin"]).delete(f"/api/v1/assignments/{a.pk}/").status_code == 204
    events = list(AuditEvent.objects.filter(object_type="assignment").order_by("id"))
    assert [e.action for e in events] == ["assignment.created", "assignment.updated", "assignment.updated",
                                          "assignment.deleted"]
    assert {e.actor_id for e in events} == {crew["admin"].pk}
    assert {e.workspace_id for e in events} == {desk.pk} and {e.claim_id for e in events} == {claim.pk}
    assert events[0].reason == "First pass"
    assert [e.object_type for e in claim_timeline(claim=claim)].count("assignment") == 4
    client.force_login(crew["author"])
    page = client.get(reverse("claim_edit", args=[desk.slug, claim.pk])).content.decode()
    assert "added an assignment" in page and "removed an assignment" in page and "Frank" in page
