"""The review workflow, as one table. Services act on it; the database enforces it.

    draft ──submit──▶ submitted ──take──▶ in_review ──approve──────────▶ approved
    changes_requested ──submit──▶ submitted     in_review ──request_changes──▶ changes_requested
    in_review ──release──▶ submitted            in_review ──reject───────────▶ rejected
    approved ──reopen (admin, with a reason: a correction)──▶ changes_requested

A trigger generated from TRANSITIONS (migration 0005) refuses any other change of
state, whoever writes it.
"""

from dataclasses import dataclass

from annotations.models import ClaimState as S
from annotations.models import Decision


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


def allowed_state_changes() -> set[tuple[str, str]]:
    return {(source, t.target) for t in TRANSITIONS.values() for source in t.sources}


def state_change_trigger_sql() -> str:
    pairs = ", ".join(f"('{a}', '{b}')" for a, b in sorted(allowed_state_changes()))
    return f"""
CREATE OR REPLACE FUNCTION factcheck_claim_state_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.state IS DISTINCT FROM NEW.state
       AND (OLD.state, NEW.state) NOT IN ({pairs}) THEN
        RAISE EXCEPTION USING ERRCODE = '23514', CONSTRAINT = 'claim_state_change_allowed',
            MESSAGE = format('A claim cannot go from %s to %s.', OLD.state, NEW.state);
    END IF;
    RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS claim_state_change_allowed ON annotations_claim;
CREATE TRIGGER claim_state_change_allowed BEFORE UPDATE OF state ON annotations_claim
    FOR EACH ROW EXECUTE FUNCTION factcheck_claim_state_change();
"""
