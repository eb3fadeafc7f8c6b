"""The review workflow: transitions, four eyes, holds, notifications, and the permission matrix."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.urls import reverse
from django.utils import timezone

from annotations import tasks
from annotations.errors import ConflictError, PermissionDenied
from annotations.models import AuditEvent, Claim, Review, Role
from annotations.services.claims import claim_create, claim_delete, claim_update
from annotations.services.workflow import (
    claim_decide,
    claim_release,
    claim_reopen,
    claim_submit,
    claim_take,
    claim_take_next,
)
from annotations.services.workspaces import membership_set
from tests.conftest import claim_in_state, ready_and_submit

pytestmark = pytest.mark.django_db

QUOTE = "It is a possibility."


def new_claim(article, author, quote=QUOTE) -> Claim:
    version = article.versions.get()
    start = version.text.index(quote)
    return claim_create(
        actor=author, article=article, version=version, exact=quote, start=start, end=start + len(quote)
    )


def fresh(claim) -> Claim:
    return Claim.objects.select_related("workspace").get(pk=claim.pk)


def test_the_whole_road_to_approval_with_changes_requested_on_the_way(article, alice, bob):
    claim = ready_and_submit(new_claim(article, alice))
    assert (claim.state, claim.submitted_at is not None) == ("submitted", True)

    claim = claim_take_next(workspace=article.workspace, actor=bob)
    assert (claim.state, claim.held_by) == ("in_review", bob)
    claim = claim_decide(
        claim=claim, actor=bob, decision="request_changes", comment="Cite the interview.", revision=claim.revision
    )
    assert (claim.state, claim.held_by) == ("changes_requested", None)

    claim = claim_update(
        claim=claim, actor=alice, revision=claim.revision, fields={"rationale": "France 24 interview."}
    )
    claim = claim_submit(claim=claim, actor=alice, revision=claim.revision)
    claim = claim_take(claim=fresh(claim), actor=bob)
    claim = claim_decide(claim=claim, actor=bob, decision="approve", comment="", revision=claim.revision)
    assert claim.state == "approved"
    assert list(claim.reviews.values_list("decision", "reviewer__username", "comment")) == [
        ("request_changes", "bob", "Cite the interview."), ("approve", "bob", ""),
    ]
    events = AuditEvent.objects.filter(object_type="claim", object_id=str(claim.pk))
    actions = list(events.values_list("action", flat=True))
    assert actions.count("claim.submitted") == 2 and "claim.changes_requested" in actions
    assert actions[-1] == "claim.approved"


@pytest.mark.parametrize("decision", ["reject", "request_changes"])
def test_rejecting_or_requesting_changes_needs_a_comment(article, alice, bob, decision):
    claim = claim_take(claim=ready_and_submit(new_claim(article, alice)), actor=bob)
    with pytest.raises(ValidationError) as excinfo:
        claim_decide(claim=claim, actor=bob, decision=decision, comment="   ", revision=claim.revision)
    assert "Say why in a comment" in excinfo.value.message_dict["comment"][0]
    assert (fresh(claim).state, Review.objects.count()) == ("in_review", 0)


def test_nobody_reviews_a_claim_they_wrote_or_last_edited(article, alice, bob, crew):
    # bob is made an annotator-reviewer who edits... no: four eyes on the author (alice, an admin now)
    membership_set(workspace=article.workspace, user=alice, role=Role.ADMIN)
    claim = ready_and_submit(new_claim(article, alice))
    with pytest.raises(PermissionDenied):
        claim_take(claim=claim, actor=alice)
    assert claim_take_next(workspace=article.workspace, actor=alice) is None
    # and the database refuses a self-review written around the services
    with pytest.raises(DatabaseError, match="Nobody reviews a claim they wrote or last edited"), transaction.atomic():
        Review.objects.create(claim=claim, reviewer=alice, decision="approve", claim_revision=claim.revision)


def test_a_hold_expires_and_the_claim_returns_to_the_queue(article, alice, bob, crew, settings):
    claim = claim_take(claim=ready_and_submit(new_claim(article, alice)), actor=bob)
    erin = crew["admin"]
    assert claim_take_next(workspace=article.workspace, actor=erin) is None
    Claim.objects.filter(pk=claim.pk).update(held_until=timezone.now() - timedelta(seconds=1))
    # Taken again straight away by someone else, even before the periodic job runs ...
    assert claim_take_next(workspace=article.workspace, actor=erin).held_by == erin
    # ... and the periodic job gives back expired holds.
    Claim.objects.filter(pk=claim.pk).update(held_until=timezone.now() - timedelta(seconds=1))
    assert tasks.expire_holds() == 1
    assert (fresh(claim).state, fresh(claim).held_by) == ("submitted", None)
    with pytest.raises(PermissionDenied):
        claim_decide(claim=fresh(claim), actor=bob, decision="approve", comment="", revision=fresh(claim).revision)


def test_the_holder_can_give_a_claim_back(article, alice, bob):
    claim = claim_take(claim=ready_and_submit(new_claim(article, alice)), actor=bob)
    claim = claim_release(claim=claim, actor=bob)
    assert (claim.state, claim.held_by) == ("submitted", None)


def test_a_draft_without_restatement_or_rating_cannot_be_submitted(article, alice):
    claim = new_claim(article, alice)
    with pytest.raises(ValidationError, match="restatement and a rating"):
        claim_submit(claim=claim, actor=alice, revision=claim.revision)
    assert fresh(claim).state == "draft"


def test_reopening_an_approved_claim_keeps_the_old_verdict_and_needs_a_reason(article, alice, bob, crew):
    claim = claim_take(claim=ready_and_submit(new_claim(article, alice)), actor=bob)
    claim = claim_decide(claim=claim, actor=bob, decision="approve", comment="", revision=claim.revision)
    with pytest.raises(ValidationError):
        claim_reopen(claim=claim, actor=crew["admin"], reason="", revision=claim.revision)
    claim = claim_reopen(claim=claim, actor=crew["admin"], reason="The date was wrong.", revision=claim.revision)
    assert claim.state == "changes_requested"
    assert list(claim.reviews.values_list("decision", flat=True)) == ["approve", "reopen"]
    event = AuditEvent.objects.filter(object_type="claim", action="claim.reopened").get()
    assert (event.reason, event.actor) == ("The date was wrong.", crew["admin"])
    assert ("state", "approved", "changes_requested") in event.changes


def test_submitting_mails_the_reviewers_and_deciding_mails_the_author(
    article, alice, bob, crew, django_capture_on_commit_callbacks, settings
):
    settings.OUTBOX_AUTOSEND = True
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        claim = ready_and_submit(new_claim(article, alice))
    # Recorded in the outbox with the change, handed to the broker only after commit.
    from annotations.models import OutboxMessage

    message = OutboxMessage.objects.get(task="annotations.tasks.notify_claim_submitted")
    assert (message.args, message.sent_at) == ([claim.pk, claim.revision], None)
    assert callbacks
    assert tasks.notify_claim_submitted(claim.pk) == 2  # bob (reviewer) and erin (admin)
    assert sorted(m.to[0] for m in mail.outbox) == ["bob@example.org", "erin@example.org"]
    assert QUOTE in mail.outbox[0].body

    mail.outbox.clear()
    claim = claim_take(claim=claim, actor=bob)
    claim_decide(
        claim=claim, actor=bob, decision="reject", comment="The quote is out of context.", revision=claim.revision
    )
    assert tasks.notify_claim_decided(claim.pk) == 1
    assert mail.outbox[0].to == ["alice@example.org"]
    assert "Reject" in mail.outbox[0].subject and "The quote is out of context." in mail.outbox[0].body


def test_a_stale_decision_is_a_conflict_and_changes_nothing(article, alice, bob):
    claim = claim_take(claim=ready_and_submit(new_claim(article, alice)), actor=bob)
    stale = claim.revision  # the revision bob's first tab shows
    claim = claim_take(claim=claim_release(claim=claim, actor=bob), actor=bob)
    with pytest.raises(ConflictError, match="changed since you opened it"):
        claim_decide(claim=claim, actor=bob, decision="approve", comment="", revision=stale)
    assert (fresh(claim).state, Review.objects.count()) == ("in_review", 0)


# --- The permission matrix: every role against every edit and transition ------------------

def decide(decision: str, comment: str):
    return lambda c, u: claim_decide(claim=c, actor=u, decision=decision, comment=comment, revision=c.revision)


ACTIONS = {
    "edit": ("draft", lambda c, u: claim_update(claim=c, actor=u, revision=c.revision, fields={"claimant": "X"})),
    "delete": ("draft", lambda c, u: claim_delete(claim=c, actor=u, revision=c.revision)),
    "submit": ("draft", lambda c, u: claim_submit(claim=c, actor=u, revision=c.revision)),
    "take": ("submitted", lambda c, u: claim_take(claim=c, actor=u)),
    "approve": ("in_review", decide("approve", "")),
    "request_changes": ("in_review", decide("request_changes", "Fix.")),
    "reject": ("in_review", decide("reject", "No.")),
    "release": ("in_review", lambda c, u: claim_release(claim=c, actor=u)),
    "reopen": ("approved", lambda c, u: claim_reopen(claim=c, actor=u, reason="Correction.", revision=c.revision)),
}
ALLOWED = {
    "edit": {"author"},
    "delete": {"author"},
    "submit": {"author"},
    "take": {"reviewer", "admin"},
    "approve": {"reviewer"},  # the reviewer holds it; the admin does not
    "request_changes": {"reviewer"},
    "reject": {"reviewer"},
    "release": {"reviewer"},
    "reopen": {"admin"},
}


@pytest.mark.parametrize("role", ["author", "teammate", "reviewer", "admin", "outsider"])
@pytest.mark.parametrize("action", list(ACTIONS))
def test_permission_matrix(article, crew, action, role):
    state, do = ACTIONS[action]
    claim = claim_in_state(state, article, crew)
    if action == "submit":
        rating = claim.workspace.rating_scale.labels.first()
        claim = claim_update(claim=claim, actor=crew["author"], revision=claim.revision,
                             fields={"claim_reviewed": "A restatement", "rating": rating})
    before = Claim.objects.filter(pk=claim.pk).values().first()
    if role in ALLOWED[action]:
        do(fresh(claim), crew[role])
        after = Claim.objects.filter(pk=claim.pk).values().first()
        assert after != before
    else:
        with pytest.raises(PermissionDenied):
            do(fresh(claim), crew[role])
        assert Claim.objects.filter(pk=claim.pk).values().first() == before


@pytest.mark.parametrize("name", ["submit", "approve", "request_changes", "reject", "release", "reopen"])
def test_an_outsider_gets_404_for_every_transition_over_http(client, article, crew, name):
    claim = claim_in_state({"submit": "draft", "reopen": "approved"}.get(name, "in_review"), article, crew)
    client.force_login(crew["outsider"])
    url = reverse("claim_transition", args=[article.workspace.slug, claim.pk, name])
    before = Claim.objects.filter(pk=claim.pk).values().first()
    reviews = Review.objects.filter(claim=claim).count()
    assert client.post(url, {"revision": claim.revision, "comment": "x"}).status_code == 404
    assert Claim.objects.filter(pk=claim.pk).values().first() == before
    assert Review.objects.filter(claim=claim).count() == reviews
    for page in ("review", "claim_edit"):
        assert client.get(reverse(page, args=[article.workspace.slug, claim.pk])).status_code == 404


def test_the_queue_page_is_for_reviewers_and_admins(client, desk, crew):
    url = reverse("queue", args=[desk.slug])
    for role, status in [("author", 403), ("teammate", 403), ("reviewer", 200), ("admin", 200), ("outsider", 404)]:
        client.force_login(crew[role])
        assert client.get(url).status_code == status, role


def test_the_audit_log_and_members_pages_are_for_admins(client, desk, crew):
    for page in ("audit_log", "members"):
        url = reverse(page, args=[desk.slug])
        for role, status in [("author", 403), ("reviewer", 403), ("admin", 200), ("outsider", 404)]:
            client.force_login(crew[role])
            assert client.get(url).status_code == status, (page, role)


def test_an_admin_manages_members_and_the_desk_keeps_an_admin(client, desk, crew):
    client.force_login(crew["admin"])
    url = reverse("members", args=[desk.slug])
    client.post(url, {"username": "dave", "role": "reviewer"})
    assert desk.memberships.get(user=crew["teammate"]).role == "reviewer"
    response = client.post(url, {"username": "erin", "remove": "1"}, follow=True)
    assert "A desk needs at least one admin" in response.content.decode()
    assert desk.memberships.filter(user=crew["admin"]).exists()
    client.force_login(crew["reviewer"])
    client.post(url, {"username": "dave", "role": "admin"})
    assert desk.memberships.get(user=crew["teammate"]).role == "reviewer"


def test_views_never_assign_state_directly():
    """Only the workflow services change a claim's state (a convention a test keeps)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "annotations"
    offenders = [
        str(path) for path in root.rglob("*.py")
        if "services" not in path.parts and "migrations" not in path.parts
        and re.search(r"\.state\s*=(?!=)|\.update\([^)]*\bstate=", path.read_text())
    ]
    assert offenders == []
