"""Workflow transitions: each checks permission, changes state with compare-and-set,
records the review and the audit reason, and sends notifications after commit."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, Subquery
from django.utils import timezone

from annotations import audit, outbox, publishing
from annotations.audit import as_actor
from annotations.errors import ConflictError, PermissionDenied
from annotations.models import AnchorStatus, Assignment, AssignmentKind, Claim, ClaimState, Review, Workspace
from annotations.permissions import can, require
from annotations.workflow import EVENT_NAMES, TRANSITIONS

DENIED = {
    "submit": "Only the author can submit a claim.",
    "take": "Only a reviewer who neither wrote nor last edited this claim can review it.",
    "release": "Only the reviewer holding this claim can give it back.",
    "approve": "Only the reviewer holding this claim, who neither wrote nor last edited it, can decide it.",
    "request_changes": "Only the reviewer holding this claim, who neither wrote nor last edited it, can decide it.",
    "reject": "Only the reviewer holding this claim, who neither wrote nor last edited it, can decide it.",
    "reopen": "Only a desk admin can reopen an approved claim.",
}


def claim_transition_check(*, claim: Claim, actor: User, name: str) -> None:
    """PermissionDenied unless `actor` may run the transition `name` on the claim; asked
    first, before the claim's state or the input is looked at (the API asks it before it
    parses the body)."""
    t = TRANSITIONS.get(name)
    if t is None:
        raise ValidationError({"transition": f"There is no workflow action called {name!r}."})
    require(actor, t.permission, claim, DENIED[name])


def _hold_until():
    return timezone.now() + timedelta(minutes=settings.REVIEW_HOLD_MINUTES)


def _transition(
    *, claim: Claim, actor: User, name: str, revision: int | None,
    comment: str = "", extra: dict | None = None,
) -> Claim:
    t = TRANSITIONS[name]
    claim_transition_check(claim=claim, actor=actor, name=name)
    if claim.state not in t.sources:
        done = EVENT_NAMES[name].replace("_", " ")
        raise ValidationError(
            {"state": f"A claim that is {claim.get_state_display().lower()} cannot be {done}."}
        )
    comment = (comment or "").strip()
    if t.needs_comment and not comment:
        raise ValidationError({"comment": "Say why in a comment; the author needs it to act."})
    # The meaning-change guard: a verdict is never approved on words the article no longer
    # says. The claim's position is confirmed or re-attached on the article page first.
    unsettled = [AnchorStatus.CHANGED, AnchorStatus.ORPHANED]
    if t.target == ClaimState.APPROVED and claim.anchor_status in unsettled:
        raise ValidationError({"claim": (
            "The article changed under this claim since it was submitted: confirm where its words moved, "
            "or re-attach it, on the article page before approving it."
            if claim.anchor_status == AnchorStatus.CHANGED else
            "This claim's words are no longer in the article: re-attach it on the article page before approving it."
        )})
    changes = {"state": t.target, **(extra or {})}
    if t.target == ClaimState.APPROVED:
        now = timezone.now()
        changes.update(first_approved_at=claim.first_approved_at or now, last_approved_at=now)
    if t.target != ClaimState.IN_REVIEW:
        changes.update(held_by=None, held_until=None)
    with audit.context(actor_id=actor.pk, transition=EVENT_NAMES[name], reason=comment or None):
        current = Claim.objects.filter(
            pk=claim.pk, state=claim.state, **({"revision": revision} if revision is not None else {})
        )
        if t.target == ClaimState.APPROVED:  # nor if a new version unsettled it a moment ago
            current = current.exclude(anchor_status__in=unsettled)
        matched = current.update(revision=F("revision") + 1, updated_at=timezone.now(), **changes)
        if matched != 1:
            raise ConflictError(
                "This claim changed since you opened it (someone else acted on it). "
                "Nothing was done; reload it to see its current state."
            )
        if t.decision is not None:
            Review.objects.create(
                claim=claim, reviewer=actor, decision=t.decision, comment=comment,
                claim_revision=claim.revision,
            )
    claim.refresh_from_db()
    # Approval is publication, and reopening takes the published verdict back: in this
    # transaction, so a verdict is never approved without its record or the other way round.
    if t.target == ClaimState.APPROVED:
        publishing.publish(claim=claim, actor_id=actor.pk)
    elif name == "reopen":
        publishing.withdraw(claim=claim, actor_id=actor.pk, reason=comment)
    _notify_after_commit(name, claim)
    return claim


def _notify_after_commit(name: str, claim: Claim) -> None:
    """Through the outbox: sent after commit, and later if Redis is down right now."""
    if name == "submit":
        outbox.enqueue("annotations.tasks.notify_claim_submitted", claim.pk, claim.revision)
    elif name in ("approve", "request_changes", "reject", "reopen"):
        outbox.enqueue("annotations.tasks.notify_claim_decided", claim.pk, claim.revision)


@as_actor
@transaction.atomic
def claim_submit(*, claim: Claim, actor: User, revision: int) -> Claim:
    # Who may submit first: a teammate is told they may not, not what the draft lacks.
    claim_transition_check(claim=claim, actor=actor, name="submit")
    if claim.rating_id is None or not claim.claim_reviewed.strip():
        raise ValidationError(
            {"rating": "Give the claim a restatement and a rating before submitting it."}
        )
    return _transition(
        claim=claim, actor=actor, name="submit", revision=revision,
        extra={"submitted_at": timezone.now(), "last_edited_by": actor},
    )


def _available(workspace: Workspace, reviewer: User):
    """Claims this reviewer may take: waiting, or held by someone whose hold ran out;
    never one they wrote or last edited."""
    now = timezone.now()
    return (
        Claim.objects.filter(workspace=workspace)
        .filter(Q(state=ClaimState.SUBMITTED) | Q(state=ClaimState.IN_REVIEW, held_until__lt=now))
        .exclude(created_by=reviewer)
        .exclude(last_edited_by=reviewer)
    )


# A taken claim is shown next (the review page, the API's answer): read it with what they
# show, in the query that locks it.
TAKE_RELATED = ("workspace", "article", "version", "rating", "created_by", "last_edited_by")


def _lockable(claims):
    return (
        claims.select_for_update(skip_locked=True, of=("self",))
        .select_related(*TAKE_RELATED)
        .defer("version__text")
    )


def _take_locked(claim: Claim, actor: User) -> Claim:
    """Hold a claim whose row this transaction has locked. What the UPDATE writes is known,
    so the claim is brought up to date in memory instead of being read again."""
    now = timezone.now()
    changes = {"state": ClaimState.IN_REVIEW, "held_by": actor, "held_until": _hold_until(), "updated_at": now}
    with audit.context(actor_id=actor.pk, transition=EVENT_NAMES["take"]):
        Claim.objects.filter(pk=claim.pk).update(revision=F("revision") + 1, **changes)
    for name, value in changes.items():
        setattr(claim, name, value)
    claim.revision += 1
    return claim


@as_actor
@transaction.atomic
def claim_take_next(*, workspace: Workspace, actor: User) -> Claim | None:
    """Hold the oldest waiting claim for review. Two reviewers never get the same one:
    the row is locked with FOR UPDATE SKIP LOCKED, so a concurrent taker skips it.

    A claim assigned to the reviewer is taken first (soonest due first); then a claim whose
    hold ran out (it has waited longest); otherwise the oldest submitted one. A claim
    assigned to someone else is left to them until the desk's grace period past its due
    date. Three probes, each on an index that holds only its own kind
    (assignment_open_assignee_idx, claim_hold_expiry_idx, claim_waiting_idx), so claims
    being reviewed are never read.
    """
    if not can(actor, "annotations.view_queue", workspace):
        raise PermissionDenied("Only reviewers and admins of this desk review claims.")
    now = timezone.now()
    mine_to_take = Claim.objects.filter(workspace=workspace).exclude(created_by=actor).exclude(last_edited_by=actor)
    waiting = Q(state=ClaimState.SUBMITTED) | Q(state=ClaimState.IN_REVIEW, held_until__lt=now)
    # Assignments (services/assignments.py): a claim assigned to me comes first, soonest due
    # first (assignment_open_assignee_idx); one assigned to someone else is theirs until it is
    # the desk's grace period past its due date.
    mine = Assignment.objects.filter(assignee=actor, kind=AssignmentKind.CLAIM, done_at__isnull=True)
    # By id (a semi-join from the person's few assignments to the claims' primary key), not a
    # join the planner may start from the claims' side of.
    assigned_to_me = mine_to_take.filter(waiting, pk__in=mine.values("claim_id")).annotate(
        assigned_due_at=Subquery(mine.filter(claim_id=OuterRef("pk")).values("due_at")[:1]))
    grace_ended = now - timedelta(hours=workspace.assignment_grace_hours)
    theirs = Assignment.objects.filter(
        claim_id=OuterRef("pk"), kind=AssignmentKind.CLAIM, done_at__isnull=True,
    ).exclude(assignee=actor).filter(Q(due_at__isnull=True) | Q(due_at__gte=grace_ended))
    open_to_me = mine_to_take.exclude(Exists(theirs))
    claim = (
        _lockable(assigned_to_me).order_by(F("assigned_due_at").asc(nulls_last=True), "submitted_at", "id")
        .first()
        or _lockable(open_to_me.filter(state=ClaimState.IN_REVIEW, held_until__lt=now))
        .order_by("held_until", "id").first()
        or _lockable(open_to_me.filter(state=ClaimState.SUBMITTED)).order_by("submitted_at", "id").first()
    )
    return None if claim is None else _take_locked(claim, actor)


@as_actor
@transaction.atomic
def claim_take(*, claim: Claim, actor: User) -> Claim:
    """Hold this claim for review ("Review this")."""
    claim_transition_check(claim=claim, actor=actor, name="take")
    locked = _lockable(_available(claim.workspace, actor)).filter(pk=claim.pk).first()
    if locked is None:
        raise ConflictError("Someone else is reviewing this claim, or it is no longer waiting.")
    return _take_locked(locked, actor)


@as_actor
@transaction.atomic
def claim_release(*, claim: Claim, actor: User) -> Claim:
    return _transition(claim=claim, actor=actor, name="release", revision=None)


@as_actor
@transaction.atomic
def claim_decide(
    *, claim: Claim, actor: User, decision: str, comment: str, revision: int
) -> Claim:
    if decision not in ("approve", "request_changes", "reject"):
        raise ValidationError({"decision": "Choose approve, request changes or reject."})
    return _transition(claim=claim, actor=actor, name=decision, revision=revision, comment=comment)


@as_actor
@transaction.atomic
def claim_reopen(*, claim: Claim, actor: User, reason: str, revision: int) -> Claim:
    """An admin reopens an approved claim for a correction; the old verdict stays in
    the claim's history and its review, and exports carry the new dateModified."""
    return _transition(claim=claim, actor=actor, name="reopen", revision=revision, comment=reason,
                       extra={"article_changed_at": None})


VERDICT_CONFIRM_DENIED = (
    "Only a reviewer or admin of this desk who neither wrote nor last edited the claim can confirm its verdict."
)


@as_actor
@transaction.atomic
def claim_verdict_confirm(*, claim: Claim, actor: User, revision: int, comment: str = "") -> Claim:
    """The article changed under an approved claim (services.claims.article_reanchor_claims
    flagged it for the queue) and a reviewer confirms the verdict stands: the flag goes,
    the trail records who confirmed it and why. Reopening instead is claim_reopen."""
    require(actor, "annotations.confirm_verdict", claim, VERDICT_CONFIRM_DENIED)
    if claim.state != ClaimState.APPROVED or claim.article_changed_at is None:
        raise ValidationError({"claim": "Only an approved claim whose article changed since the verdict "
                                        "waits for its verdict to be confirmed."})
    if not isinstance(revision, int) or isinstance(revision, bool):
        raise ValidationError({"revision": "revision must be the whole number of the claim revision you read."})
    reason = "The article changed since the verdict; the verdict stands." + (
        f" {comment.strip()}" if (comment or "").strip() else "")
    with audit.context(actor_id=actor.pk, reason=reason[:1000]):
        matched = Claim.objects.filter(
            pk=claim.pk, revision=revision, state=ClaimState.APPROVED, article_changed_at__isnull=False
        ).update(article_changed_at=None, revision=F("revision") + 1, updated_at=timezone.now())
    if matched != 1:
        raise ConflictError("This claim changed since you opened the queue. Nothing was done; reload it.")
    claim.refresh_from_db()
    return claim


HOLD_RELEASE_DENIED = "Only an admin of this desk can release another reviewer's hold."


@as_actor
@transaction.atomic
def claim_hold_release(*, claim: Claim, actor: User) -> Claim:
    """An admin gives a claim someone is reviewing back to the queue. The trail records it
    as claim.released by the admin, naming whose hold it was."""
    require(actor, "annotations.release_hold", claim, HOLD_RELEASE_DENIED)
    if claim.state != ClaimState.IN_REVIEW or claim.held_by_id is None:
        raise ValidationError(
            {"state": f"Nobody holds this claim: it is {claim.get_state_display().lower()}."}
        )
    holder = claim.held_by
    name = (holder.get_full_name() or holder.username) if holder is not None else "a reviewer"
    with audit.context(actor_id=actor.pk, transition=EVENT_NAMES["release"],
                       reason=f"An admin released the hold of {name}."):
        matched = Claim.objects.filter(pk=claim.pk, state=ClaimState.IN_REVIEW, held_by_id=claim.held_by_id).update(
            state=ClaimState.SUBMITTED, held_by=None, held_until=None,
            revision=F("revision") + 1, updated_at=timezone.now(),
        )
    if matched != 1:
        raise ConflictError("The claim changed since you opened the queue (its reviewer acted on it). "
                            "Nothing was done; the queue shows where it is now.")
    claim.refresh_from_db()
    return claim


# The one entry point the pages and the API call: a transition by its name in the table.
# Each handler takes the same arguments; those a transition does not use are ignored.
_HANDLERS = {
    "submit": lambda claim, actor, revision, comment: claim_submit(claim=claim, actor=actor, revision=revision),
    "take": lambda claim, actor, revision, comment: claim_take(claim=claim, actor=actor),
    "release": lambda claim, actor, revision, comment: claim_release(claim=claim, actor=actor),
    "approve": lambda claim, actor, revision, comment: claim_decide(
        claim=claim, actor=actor, decision="approve", comment=comment, revision=revision),
    "request_changes": lambda claim, actor, revision, comment: claim_decide(
        claim=claim, actor=actor, decision="request_changes", comment=comment, revision=revision),
    "reject": lambda claim, actor, revision, comment: claim_decide(
        claim=claim, actor=actor, decision="reject", comment=comment, revision=revision),
    "reopen": lambda claim, actor, revision, comment: claim_reopen(
        claim=claim, actor=actor, reason=comment, revision=revision),
}
# A transition added to the table without a handler fails here, at import, not in a request.
if set(_HANDLERS) != set(TRANSITIONS):
    raise ImproperlyConfigured(f"Workflow transitions without a handler: {sorted(set(TRANSITIONS) - set(_HANDLERS))}")


def claim_transition(
    *, claim: Claim, actor: User, name: str, revision: int | None = None, comment: str = ""
) -> Claim:
    """Run the transition `name` of the table on the claim, as `actor`.

    `revision` is the claim revision the actor read (compare-and-set: a stale one is a
    ConflictError); take and release act on whoever holds the claim now and need none.
    """
    handler = _HANDLERS.get(name)
    if handler is None:
        raise ValidationError({"transition": f"There is no workflow action called {name!r}."})
    return handler(claim, actor, revision, comment)


@transaction.atomic
def holds_expire() -> int:
    """Give back every claim whose reviewer's hold ran out, so the queue shows it again."""
    with audit.context(transition=EVENT_NAMES["release"],
                       reason="The reviewer's hold expired."):
        return Claim.objects.filter(
            state=ClaimState.IN_REVIEW, held_until__lt=timezone.now()
        ).update(state=ClaimState.SUBMITTED, held_by=None, held_until=None, updated_at=timezone.now())
