"""Bulk actions on many claims of a desk at once (the articles list, the claims page, the
queue, and POST /api/v1/claims/bulk/).

Each claim is all or nothing: it is checked by the same rules as the single action (the
same permission predicate, the same state rule, the same messages) under a row lock, and
the claims that pass are written together; a claim that fails is reported with why (a
permission, a state, a stale revision, a claim not on this desk) and the rest apply.

Claims are handled in batches of BATCH_SIZE with a fixed number of queries per batch
(lock and read the batch, write it), not a query per claim: a bulk release of 10,000
claims is 20 batches (bench/bulk.py). More than JOB_THRESHOLD claims run as a BulkJob on
a Celery worker, each batch in its own transaction, with its progress on the job's page.
"""

import datetime
import importlib
import importlib.util
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from annotations import audit, outbox
from annotations.errors import PermissionDenied
from annotations.models import BulkJob, Claim, ClaimState, ExportStatus, Workspace
from annotations.permissions import can, require
from annotations.services.workflow import HOLD_RELEASE_DENIED
from annotations.workflow import EVENT_NAMES

BATCH_SIZE = 500
JOB_THRESHOLD = 500
MAX_ITEMS = 100_000

# What each action is called on a page, the permission asked of the desk before anything is
# read, and what someone without it is told.
ACTIONS = {
    "release": "Release holds",
}
ACTION_DENIED = {
    "release": "Only admins of this desk release holds.",
    "assign": "Only admins of this desk assign claims.",
    "due_date": "Only admins of this desk set due dates.",
}
DESK_PERMISSION = {
    "release": "annotations.bulk_release_holds",
    "assign": "annotations.bulk_assign",
    "due_date": "annotations.bulk_assign",
}


def _assignments():
    """annotations.services.assignments (built beside this module), or None while it is not
    there: assign and due date are offered only once it is."""
    if importlib.util.find_spec("annotations.services.assignments") is None:
        return None
    return importlib.import_module("annotations.services.assignments")


if importlib.util.find_spec("annotations.services.assignments") is not None:
    ACTIONS.update({"assign": "Assign to a reviewer", "due_date": "Set a due date"})


@dataclass
class Result:
    applied: list[int] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)  # {"id": claim id, "error": why}

    def fail(self, claim_id: int, error: str) -> None:
        self.failures.append({"id": claim_id, "error": error})


def _stale(item_revision: int | None, claim: Claim) -> str | None:
    if item_revision is not None and item_revision != claim.revision:
        return (f"It changed since it was selected (revision {item_revision}, now {claim.revision}); "
                "nothing was done to it.")
    return None


def _release_batch(*, workspace: Workspace, actor: User, items: list[tuple[int, int | None]],
                   params: dict, result: Result) -> None:
    """claim_hold_release for a batch: two queries (lock and read; write)."""
    ids = [claim_id for claim_id, _ in items]
    claims = {
        c.pk: c for c in Claim.objects.filter(workspace=workspace, pk__in=ids)
        .select_related("held_by").select_for_update(of=("self",)).order_by("pk")
    }
    ok = []
    for claim_id, revision in items:
        claim = claims.get(claim_id)
        if claim is None:
            result.fail(claim_id, "There is no such claim on this desk.")
            continue
        claim.workspace = workspace  # read already; the permission rule asks for it
        if not can(actor, "annotations.release_hold", claim):
            result.fail(claim_id, HOLD_RELEASE_DENIED)
            continue
        stale = _stale(revision, claim)
        if stale:
            result.fail(claim_id, stale)
            continue
        if claim.state != ClaimState.IN_REVIEW or claim.held_by_id is None:
            result.fail(claim_id, f"Nobody holds this claim: it is {claim.get_state_display().lower()}.")
            continue
        ok.append(claim_id)
    if not ok:
        return
    with audit.context(actor_id=actor.pk, transition=EVENT_NAMES["release"],
                       reason="An admin released the hold in a bulk action."):
        Claim.objects.filter(pk__in=ok).update(
            state=ClaimState.SUBMITTED, held_by=None, held_until=None,
            revision=F("revision") + 1, updated_at=timezone.now(),
        )
    result.applied.extend(ok)


def _assign_batch(*, workspace: Workspace, actor: User, items: list[tuple[int, int | None]],
                  params: dict, result: Result) -> None:
    """assignments.assignment_set for a batch: the claims locked and read in one query, then
    the assignment service's own fixed number of queries for all of them."""
    service = _assignments()
    assert service is not None  # the action is offered only when it is there
    ids = [claim_id for claim_id, _ in items]
    claims = {
        c.pk: c for c in Claim.objects.filter(workspace=workspace, pk__in=ids)
        .select_for_update(of=("self",)).order_by("pk")
    }
    ready = []
    for claim_id, revision in items:
        claim = claims.get(claim_id)
        if claim is None:
            result.fail(claim_id, "There is no such claim on this desk.")
            continue
        claim.workspace = workspace
        stale = _stale(revision, claim)
        if stale:
            result.fail(claim_id, stale)
            continue
        ready.append(claim)
    if not ready:
        return
    failed = service.assignment_set(
        actor=actor, workspace=workspace, claims=ready, assignee=params.get("assignee"),
        due_at=params.get("due_at"), note=params.get("note", ""), set_due_only=params.get("set_due_only", False),
    )
    for claim in ready:
        if claim.pk in failed:
            result.fail(claim.pk, failed[claim.pk])
        else:
            result.applied.append(claim.pk)


_BATCH: dict[str, Callable[..., None]] = {
    "release": _release_batch,
    "assign": _assign_batch,
    "due_date": _assign_batch,
}


def clean_params(*, workspace: Workspace, action: str, data, time_zone: str = "") -> dict:
    """What assign and due date need, from a form or a JSON body: `assignee` (a username),
    `due` (YYYY-MM-DD: the end of that day in the desk's zone, or an ISO date and time),
    `note`. Stored on a job as JSON (the assignee by id, the due time as ISO)."""
    if action not in ("assign", "due_date"):
        return {}
    params: dict = {"note": str(data.get("note") or "").strip(), "set_due_only": action == "due_date"}
    if action == "assign":
        username = str(data.get("assignee") or "").strip()
        if not username:
            raise ValidationError({"assignee": "Choose who the claims are assigned to."})
        from annotations.access import user_get_by_username

        params["assignee_id"] = user_get_by_username(username=username, field="assignee").pk
    due = str(data.get("due") or "").strip()
    if action == "due_date" and not due:
        raise ValidationError({"due": "Give the due date, as YYYY-MM-DD."})
    if due:
        params["due_at"] = _due_at(due, time_zone or workspace.time_zone).isoformat()
    return params


def _due_at(value: str, zone: str) -> datetime.datetime:
    try:
        tz: datetime.tzinfo = zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = datetime.UTC
    try:
        if len(value) == 10:
            day = datetime.date.fromisoformat(value)
            return datetime.datetime.combine(day, datetime.time(23, 59), tzinfo=tz)
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError({"due": f"{value!r} is not a date: give one as YYYY-MM-DD."}) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


def _live_params(params: dict) -> dict:
    """Job-storable params (ids, ISO times) as the services take them (users, datetimes)."""
    live = dict(params)
    if live.get("assignee_id"):
        from django.contrib.auth import get_user_model

        live["assignee"] = get_user_model().objects.filter(pk=live.pop("assignee_id")).first()
    if live.get("due_at"):
        live["due_at"] = datetime.datetime.fromisoformat(live["due_at"])
    return live


def actions_for(*, workspace: Workspace, actor: User) -> dict[str, str]:
    """The bulk actions this person may run on the desk: the ones a page offers."""
    return {name: label for name, label in ACTIONS.items() if can(actor, DESK_PERMISSION[name], workspace)}


def bulk_check(*, workspace: Workspace, actor: User, action: str) -> None:
    """The action exists and the actor may run it on this desk: asked before the selection
    is read."""
    if action not in ACTIONS or action not in _BATCH:
        raise ValidationError({"action": f"There is no bulk action called {action!r}; "
                                         f"choose one of: {', '.join(sorted(ACTIONS))}."})
    require(actor, DESK_PERMISSION[action], workspace, ACTION_DENIED[action])


def clean_items(raw: object) -> list[tuple[int, int | None]]:
    """[{"id": 5, "revision": 3}, ...] or [5, ...] as (id, revision) pairs, once each."""
    if not isinstance(raw, list) or not raw:
        raise ValidationError({"claims": "Select at least one claim."})
    if len(raw) > MAX_ITEMS:
        raise ValidationError({"claims": f"Select at most {MAX_ITEMS:,} claims at once."})
    items: dict[int, int | None] = {}
    for i, entry in enumerate(raw):
        claim_id, revision = (entry.get("id"), entry.get("revision")) if isinstance(entry, dict) else (entry, None)
        if isinstance(claim_id, bool) or not isinstance(claim_id, int) or claim_id < 1:
            raise ValidationError({"claims": f"Item {i + 1}: the id must be a positive whole number."})
        if revision is not None and (isinstance(revision, bool) or not isinstance(revision, int) or revision < 1):
            raise ValidationError({"claims": f"Item {i + 1}: the revision must be a positive whole number."})
        items[claim_id] = revision
    return list(items.items())


def bulk_apply(*, workspace: Workspace, actor: User, action: str, items: list[tuple[int, int | None]],
               params: dict | None = None, on_batch: Callable[[Result, int], None] | None = None,
               start: int = 0) -> Result:
    """Run `action` on the selected claims now, batch by batch, each batch in its own
    transaction. `on_batch(result, done)` is told after each batch commits."""
    bulk_check(workspace=workspace, actor=actor, action=action)
    run = _BATCH[action]
    live = _live_params(params or {})
    result = Result()
    for begin in range(start, len(items), BATCH_SIZE):
        batch = items[begin:begin + BATCH_SIZE]
        with transaction.atomic(), audit.context(actor_id=actor.pk):
            run(workspace=workspace, actor=actor, items=batch, params=live, result=result)
            if on_batch is not None:
                on_batch(result, begin + len(batch))
    return result


@transaction.atomic
def bulk_job_create(*, workspace: Workspace, actor: User, action: str, items: list[tuple[int, int | None]],
                    params: dict | None = None) -> BulkJob:
    bulk_check(workspace=workspace, actor=actor, action=action)
    job = BulkJob.objects.create(
        workspace=workspace, requested_by=actor, action=action, params=params or {},
        items=[[claim_id, revision] for claim_id, revision in items], total=len(items),
    )
    outbox.enqueue("annotations.tasks.run_bulk", job.pk)
    return job


def bulk_job_run(*, job_id: int) -> BulkJob | None:
    """Run a queued bulk job from its first batch not done (a redelivery goes on)."""
    job = BulkJob.objects.select_related("workspace", "requested_by").filter(pk=job_id).first()
    if job is None or job.status in (ExportStatus.DONE, ExportStatus.FAILED):
        return job
    BulkJob.objects.filter(pk=job.pk).update(status=ExportStatus.RUNNING)
    items = [(int(i), r) for i, r in job.items]
    failures = list(job.failures)
    applied = job.applied

    def progress(result: Result, done: int) -> None:
        BulkJob.objects.filter(pk=job.pk).update(
            done=done, applied=applied + len(result.applied), failures=failures + result.failures,
        )

    try:
        bulk_apply(workspace=job.workspace, actor=job.requested_by, action=job.action, items=items,
                   params=job.params, on_batch=progress, start=job.done)
    except (ValidationError, PermissionDenied) as exc:
        # Nothing a retry would change (the person is no longer an admin, the assignee left).
        if isinstance(exc, PermissionDenied):
            message = str(exc)
        elif hasattr(exc, "error_dict"):
            message = " ".join(m for ms in exc.message_dict.values() for m in ms)
        else:
            message = " ".join(exc.messages)
        BulkJob.objects.filter(pk=job.pk).update(status=ExportStatus.FAILED, error=message,
                                                 finished_at=timezone.now())
    else:
        BulkJob.objects.filter(pk=job.pk).update(status=ExportStatus.DONE, finished_at=timezone.now())
    job.refresh_from_db()
    return job
