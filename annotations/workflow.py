"""The review workflow, as one table: a claim's states, a reviewer's decisions and the
transitions between them. Services act on it; the database enforces it.

    draft ──submit──▶ submitted ──take──▶ in_review ──approve──────────▶ approved
    changes_requested ──submit──▶ submitted     in_review ──request_changes──▶ changes_requested
    in_review ──release──▶ submitted            in_review ──reject───────────▶ rejected
    approved ──reopen (admin, with a reason: a correction)──▶ changes_requested

Claim's trigger `claim_state_change_allowed` (annotations.models) is generated from
TRANSITIONS and refuses any other change of state, whoever writes it. Changing the table
changes that trigger, so `makemigrations` writes the migration that installs it.

models.py builds its trigger from this module, so it imports nothing from the app:
ClaimState and Decision live here and annotations.models re-exports them.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import models


class ClaimState(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    IN_REVIEW = "in_review", "In review"
    APPROVED = "approved", "Approved"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    REJECTED = "rejected", "Rejected"


class Decision(models.TextChoices):
    APPROVE = "approve", "Approve"
    REQUEST_CHANGES = "request_changes", "Request changes"
    REJECT = "reject", "Reject"
    REOPEN = "reopen", "Reopen for correction"


# Short, so the table below reads as one line per transition.
S = ClaimState


@dataclass(frozen=True)
class Transition:
    name: str
    sources: frozenset[str]
    target: str
    permission: str
    needs_comment: bool = False
    decision: str | None = None  # the Review it records, if any


TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in [
        Transition("submit", frozenset({S.DRAFT, S.CHANGES_REQUESTED}), S.SUBMITTED, "annotations.submit_claim"),
        Transition("take", frozenset({S.SUBMITTED}), S.IN_REVIEW, "annotations.review_claim"),
        Transition("release", frozenset({S.IN_REVIEW}), S.SUBMITTED, "annotations.release_claim"),
        Transition("approve", frozenset({S.IN_REVIEW}), S.APPROVED, "annotations.decide_claim",
                   decision=Decision.APPROVE),
        Transition("request_changes", frozenset({S.IN_REVIEW}), S.CHANGES_REQUESTED, "annotations.decide_claim",
                   needs_comment=True, decision=Decision.REQUEST_CHANGES),
        Transition("reject", frozenset({S.IN_REVIEW}), S.REJECTED, "annotations.decide_claim",
                   needs_comment=True, decision=Decision.REJECT),
        Transition("reopen", frozenset({S.APPROVED}), S.CHANGES_REQUESTED, "annotations.reopen_claim",
                   needs_comment=True, decision=Decision.REOPEN),
    ]
}

# Past tense for the audit trail: claim.submitted, claim.taken, claim.approved, ...
EVENT_NAMES = {
    "submit": "submitted", "take": "taken", "release": "released", "approve": "approved",
    "request_changes": "changes_requested", "reject": "rejected", "reopen": "reopened",
}


def allowed_state_changes(*, transitions: Iterable[Transition]) -> set[tuple[str, str]]:
    """Every (from, to) pair of states some transition makes."""
    return {(str(source), str(t.target)) for t in transitions for source in t.sources}


def available_transitions(*, claim, user) -> list[Transition]:
    """What this user may do to this claim now: the buttons a page shows."""
    # Imported here: the permission rules read the models, which read this table.
    from annotations.permissions import can

    return [t for t in TRANSITIONS.values() if claim.state in t.sources and can(user, t.permission, claim)]
