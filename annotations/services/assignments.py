"""Assignments: a desk admin gives an article to annotators, or a waiting claim to a
reviewer, with an optional due date and a note (issue 15).

Every write is audited by the table's trigger (migration 0026), and a claim's assignment
events carry its claim_id, so they are on the claim's timeline. The rules are in
permissions.py (who assigns, who may be assigned), the field rules in validation.py.

`assignment_set` is the entry point of the bulk actions (services/bulk.py): many claims,
one assignee, a fixed number of queries for the whole call. Its signature is stable
(/work/notes/assign_api.md).
"""

from collections.abc import Sequence
from datetime import datetime

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from annotations import audit
from annotations.audit import as_actor
from annotations.models import Article, Assignment, AssignmentKind, Claim, Membership, Workspace
from annotations.permissions import ASSIGN_DENIED, assignee_problem, require
from annotations.validation import assignment_validate

NO_TARGET = "Assign an article or a claim."
NOT_ON_DESK = "That {noun} is not on this desk."


def _role_of(workspace: Workspace, assignee: User) -> str | None:
    return Membership.objects.filter(workspace=workspace, user_id=assignee.pk).values_list("role", flat=True).first()


def claim_assign_problem(claim: Claim, assignee: User, membership_role: str | None) -> str | None:
    """The per-claim rule (role, state, four eyes) as a sentence, or None."""
    return assignee_problem(kind=AssignmentKind.CLAIM, role=membership_role, assignee_id=assignee.pk, claim=claim)


def _reason(note: str) -> str:
    return note.strip()[:1000]


@as_actor
@transaction.atomic
def assign(
    *, actor: User, workspace: Workspace, assignee: User, article: Article | None = None,
    claim: Claim | None = None, due_at: datetime | None = None, note: str = "",
) -> Assignment:
    """Give an article to an annotator (again: its due date and note change), or a claim
    waiting for review to a reviewer (a claim has one assignee: assigning it again moves it)."""
    require(actor, "annotations.assign", workspace, ASSIGN_DENIED)
    if claim is None and article is None:
        raise ValidationError({"article": NO_TARGET})
    if claim is not None and claim.workspace_id != workspace.pk:
        raise ValidationError({"claim": NOT_ON_DESK.format(noun="claim")})
    if article is not None and article.workspace_id != workspace.pk:
        raise ValidationError({"article": NOT_ON_DESK.format(noun="article")})
    note = (note or "").strip() if isinstance(note, str) else note
    assignment_validate(due_at=due_at, note=note)
    kind = AssignmentKind.CLAIM if claim is not None else AssignmentKind.ARTICLE
    locked_claim = None
    if claim is not None:
        # The claim's state is read under its row lock: a claim decided meanwhile is refused.
        locked_claim = Claim.objects.select_for_update(of=("self",)).filter(pk=claim.pk).first()
        if locked_claim is None:
            raise ValidationError({"claim": "That claim no longer exists."})
    problem = assignee_problem(kind=kind, role=_role_of(workspace, assignee), assignee_id=assignee.pk,
                               claim=locked_claim)
    if problem:
        raise ValidationError({"assignee": problem})
    if locked_claim is not None:
        existing = Assignment.objects.filter(claim=locked_claim, kind=kind, done_at__isnull=True).first()
        target_article_id = locked_claim.article_id
    else:
        assert article is not None
        existing = Assignment.objects.filter(article=article, assignee_id=assignee.pk, kind=kind,
                                             done_at__isnull=True).first()
        target_article_id = article.pk
    with audit.context(actor_id=actor.pk, reason=_reason(note) or None):
        if existing is not None:
            existing.assignee = assignee
            existing.assigned_by = actor
            existing.due_at = due_at
            existing.note = note
            existing.save(update_fields=["assignee", "assigned_by", "due_at", "note", "updated_at"])
            return existing
        return Assignment.objects.create(
            workspace=workspace, kind=kind, article_id=target_article_id,
            claim=locked_claim, assignee=assignee, assigned_by=actor, due_at=due_at, note=note,
        )


@as_actor
@transaction.atomic
def unassign(*, actor: User, assignment: Assignment) -> None:
    """Take the work back: the assignment is removed (the trail keeps it)."""
    require(actor, "annotations.assign", assignment.workspace, ASSIGN_DENIED)
    with audit.context(actor_id=actor.pk, reason="Unassigned."):
        Assignment.objects.filter(pk=assignment.pk).delete()


@as_actor
@transaction.atomic
def assignment_update(
    *, actor: User, assignment: Assignment, due_at: object = ...,
    note: object = ..., done: bool | None = None,
) -> Assignment:
    """Change the due date (None clears it), the note, or mark the work done. Arguments left
    out stay as they are."""
    require(actor, "annotations.assign", assignment.workspace, ASSIGN_DENIED)
    fields = ["updated_at"]
    check_due = due_at is not ...
    new_note = assignment.note if note is ... else note
    if isinstance(new_note, str):
        new_note = new_note.strip()
    assignment_validate(due_at=None if due_at is ... else due_at, note=new_note, check_due=check_due)
    if due_at is not ...:
        assignment.due_at = due_at  # type: ignore[assignment]
        fields.append("due_at")
    if note is not ...:
        assignment.note = new_note  # type: ignore[assignment]
        fields.append("note")
    if done is not None:
        if not isinstance(done, bool):
            raise ValidationError({"done": "Say whether the work is done: true or false."})
        assignment.done_at = timezone.now() if done else None
        fields.append("done_at")
    with audit.context(actor_id=actor.pk):
        assignment.save(update_fields=fields)
    return assignment


def assignment_due_set(*, actor: User, assignment: Assignment, due_at: datetime | None) -> Assignment:
    """Change only the due date (None: no due date)."""
    return assignment_update(actor=actor, assignment=assignment, due_at=due_at)


@as_actor
def assignment_set(
    *, actor: User, workspace: Workspace, claims: Sequence[Claim], assignee: User | None,
    due_at: datetime | None = None, note: str = "", set_due_only: bool = False,
) -> dict[int, str]:
    """Assign many claims of the desk to one reviewer (assignee None: unassign them; with
    set_due_only: change only the due date of their open assignment). The claims are read
    by the caller (ideally locked). Returns {claim id: why} for each claim not changed; the
    rest are written. A bad assignee, due date or note, or an actor who is not an admin,
    refuses the whole call. Four queries at most, however many claims: the assignee's role,
    the open assignments, one bulk update, one bulk insert. Runs in the caller's transaction."""
    require(actor, "annotations.assign", workspace, ASSIGN_DENIED)
    note = note.strip() if isinstance(note, str) else note
    assignment_validate(due_at=due_at, note=note)
    failures: dict[int, str] = {}
    role: str | None = None
    if assignee is not None and not set_due_only:
        role = _role_of(workspace, assignee)
        problem = assignee_problem(kind=AssignmentKind.CLAIM, role=role, assignee_id=assignee.pk)
        if problem:
            raise ValidationError({"assignee": problem})
    ours = []
    for claim in claims:
        if claim.workspace_id != workspace.pk:
            failures[claim.pk] = NOT_ON_DESK.format(noun="claim")
        else:
            ours.append(claim)
    if not ours:
        return failures
    existing = {a.claim_id: a for a in Assignment.objects.filter(
        claim_id__in=[c.pk for c in ours], kind=AssignmentKind.CLAIM, done_at__isnull=True)}
    to_update: list[Assignment] = []
    to_create: list[Assignment] = []
    to_delete: list[int] = []
    now = timezone.now()
    for claim in ours:
        current = existing.get(claim.pk)
        if assignee is None or set_due_only:
            if current is None:
                failures[claim.pk] = "This claim is not assigned to anyone."
            elif set_due_only:
                current.due_at, current.updated_at = due_at, now
                to_update.append(current)
            else:
                to_delete.append(current.pk)
            continue
        problem = claim_assign_problem(claim, assignee, role)
        if problem:
            failures[claim.pk] = problem
        elif current is not None:
            current.assignee, current.assigned_by, current.due_at, current.note, current.updated_at = (
                assignee, actor, due_at, note, now)
            to_update.append(current)
        else:
            to_create.append(Assignment(
                workspace=workspace, kind=AssignmentKind.CLAIM, article_id=claim.article_id, claim=claim,
                assignee=assignee, assigned_by=actor, due_at=due_at, note=note,
            ))
    with transaction.atomic(), audit.context(actor_id=actor.pk, reason=_reason(note) or None):
        if to_update:
            Assignment.objects.bulk_update(
                to_update, ["assignee", "assigned_by", "due_at", "note", "updated_at"])
        if to_create:
            Assignment.objects.bulk_create(to_create)
        if to_delete:
            Assignment.objects.filter(pk__in=to_delete).delete()
    return failures


# --- The daily digest of overdue work (tasks.assignment_digest) ------------------------------

def _line(a: Assignment) -> str:
    what = (f"claim “{(a.claim.claim_reviewed or a.claim.exact)[:100]}”" if a.claim is not None
            else f"article “{a.article.title[:100]}”")
    who = a.assignee.get_full_name() or a.assignee.username
    due = timezone.localtime(a.due_at).strftime("%Y-%m-%d %H:%M %Z") if a.due_at else ""
    return f"  - {what} in {a.workspace.name}, assigned to {who}, due {due}"


def assignment_digest_send(*, now: datetime | None = None) -> int:
    """E-mail each assignee their overdue work, and each desk's admins all of the desk's, at
    most once a day per person: the AssignmentDigest row of (person, day) is written in the
    transaction that sends, so a retried or repeated run sends nothing twice. Returns how
    many e-mails were sent."""
    from django.conf import settings
    from django.core.mail import send_mail
    from django.db import IntegrityError
    from django.db.models import Q
    from django.urls import reverse

    from annotations.models import AssignmentDigest, ClaimState, Role

    now = now or timezone.now()
    day = timezone.localdate(now)
    overdue = list(
        Assignment.objects.filter(done_at__isnull=True, due_at__lt=now)
        .filter(Q(kind=AssignmentKind.ARTICLE) | Q(claim__state__in=[ClaimState.SUBMITTED, ClaimState.IN_REVIEW]))
        .select_related("workspace", "article", "claim", "assignee").order_by("workspace_id", "due_at", "id")
    )
    if not overdue:
        return 0
    already = set(AssignmentDigest.objects.filter(day=day).values_list("user_id", flat=True))
    per_user: dict[int, tuple[User, list[Assignment]]] = {}
    for a in overdue:
        per_user.setdefault(a.assignee_id, (a.assignee, []))[1].append(a)
    desks = {a.workspace_id for a in overdue}
    admins = Membership.objects.filter(workspace_id__in=desks, role=Role.ADMIN).select_related("user")
    for m in admins:
        entry = per_user.setdefault(m.user_id, (m.user, []))
        entry[1].extend(a for a in overdue if a.workspace_id == m.workspace_id and a not in entry[1])
    sent = 0
    for user_id, (user, items) in per_user.items():
        if user_id in already or not user.email or not items:
            continue
        mine = [a for a in items if a.assignee_id == user_id]
        others = [a for a in items if a.assignee_id != user_id]
        parts = []
        if mine:
            parts.append("Overdue work assigned to you:\n" + "\n".join(_line(a) for a in mine))
        if others:
            parts.append("Overdue work on the desks you run:\n" + "\n".join(_line(a) for a in others))
        links = sorted({f"{settings.SITE_URL}{reverse('dashboard', args=[a.workspace.slug])}" for a in items})
        body = "\n\n".join(parts) + "\n\nDashboard: " + ", ".join(links) + "\n"
        try:
            with transaction.atomic():
                AssignmentDigest.objects.create(user_id=user_id, day=day)
                send_mail(f"Overdue work: {len(items)} item{'s' if len(items) != 1 else ''}", body, None,
                          [user.email], fail_silently=False)
        except IntegrityError:
            continue  # sent by an earlier delivery of this task today
        sent += 1
    return sent
