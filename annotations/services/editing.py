"""The claim editor's "Save and submit": one action, one transaction.

Built from the services the editor and the workflow already use (claim_update, then the
workflow's submit), so the rules, the audit trail and the notifications are theirs. When
submitting is refused (no restatement or no rating yet), the save is rolled back with it:
all or nothing, and the page shows the typed text again beside the refusal.
"""

from collections.abc import Sequence

from django.contrib.auth.models import User
from django.db import transaction

from annotations.audit import as_actor
from annotations.models import Claim
from annotations.services.claims import SourceChange, claim_update
from annotations.services.workflow import claim_transition


@as_actor
@transaction.atomic
def claim_save_and_submit(
    *,
    claim: Claim,
    actor: User,
    revision: int,
    fields: dict,
    sources: Sequence[SourceChange] = (),
    changed: bool = True,
) -> Claim:
    """Save the editor's fields and sources (when anything changed), then submit the
    claim for review at the revision that save made. Raises what either service raises;
    nothing is stored then."""
    if changed:
        claim = claim_update(claim=claim, actor=actor, revision=revision, fields=fields, sources=sources)
        revision = claim.revision
    return claim_transition(claim=claim, actor=actor, name="submit", revision=revision)
