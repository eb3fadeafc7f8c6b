"""Publication: the only writes of published records.

Approving a claim publishes it and reopening it withdraws it, in the same transaction as
the state change (the workflow service calls `publish` and `withdraw`). A record is never
edited: a correction, a renamed label or a new publisher name writes a new record that
replaces the one in force, which stays as it was sent.
"""

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from annotations import selectors
from annotations.models import Claim, Publication, PublicationKind, RepublishJob, Workspace
from annotations.publishing import records


def public_url(*, workspace_slug: str, claim_id: int) -> str:
    """The verdict's stable public address: it stays the same through corrections."""
    return f"{settings.SITE_URL}/v/{workspace_slug}/{claim_id}/"


def _in_force(claim_id: int) -> Publication | None:
    return Publication.objects.select_for_update().filter(claim_id=claim_id, current=True).first()


def _latest(claim_id: int) -> Publication | None:
    return Publication.objects.filter(claim_id=claim_id).order_by("-id").first()


def _next_number() -> int:
    """The next publication number, taken before the record is written, since the
    record's texts carry it and a record is written once."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('annotations_publication', 'id'))")
        return cursor.fetchone()[0]


def _write(*, claim: Claim, actor_id: int | None, kind: str, reason: str) -> Publication:
    """A new record of the claim as it is now, replacing the one in force (if any)."""
    snapshot = selectors.claim_publication_snapshot(claim_id=claim.pk)
    previous = _latest(claim.pk)
    now = timezone.now()
    first = previous.date_published if previous is not None else now
    number = _next_number()
    rendered = records.render(snapshot, records.RecordFacts(
        number=number, date_published=first, date_modified=now, reason=reason,
        public_url=public_url(workspace_slug=snapshot["workspace"]["slug"], claim_id=claim.pk),
    ))
    Publication.objects.filter(claim_id=claim.pk, current=True).update(current=False)
    return Publication.objects.create(
        pk=number, workspace_id=claim.workspace_id, claim_id=claim.pk, article_id=snapshot["article"]["id"],
        rating_id=(snapshot["rating"] or {}).get("id"), kind=kind, current=True, reason=reason,
        replaces=previous, date_published=first, date_modified=now, snapshot=snapshot, created_by_id=actor_id,
        jsonl=rendered.jsonl, csv=rendered.csv, claimreview=rendered.claimreview, w3c=rendered.w3c,
    )


def publish(*, claim: Claim, actor_id: int | None) -> Publication:
    """Publish the verdict just approved. After a withdrawal this is its correction,
    carrying the reason the claim was reopened."""
    previous = _latest(claim.pk)
    if previous is None:
        return _write(claim=claim, actor_id=actor_id, kind=PublicationKind.PUBLISHED, reason="")
    return _write(claim=claim, actor_id=actor_id, kind=PublicationKind.CORRECTED, reason=previous.reason)


def withdraw(*, claim: Claim, actor_id: int | None, reason: str) -> Publication | None:
    """Take the verdict in force back (the claim was reopened): a tombstone says what was
    withdrawn, when and why. Nothing to do if nothing is in force."""
    in_force = _in_force(claim.pk)
    if in_force is None:
        return None
    now = timezone.now()
    number = _next_number()
    Publication.objects.filter(pk=in_force.pk).update(current=False)
    return Publication.objects.create(
        pk=number, workspace_id=claim.workspace_id, claim_id=claim.pk, article_id=in_force.article_id,
        rating_id=in_force.rating_id, kind=PublicationKind.WITHDRAWN, current=False, reason=reason,
        replaces=in_force, date_published=in_force.date_published, date_modified=now,
        snapshot=in_force.snapshot, created_by_id=actor_id,
        jsonl=records.tombstone(
            claim_id=claim.pk, number=number, withdrawn_at=now, reason=reason,
            public_url=public_url(workspace_slug=in_force.snapshot["workspace"]["slug"], claim_id=claim.pk),
        ),
    )


# --- Republishing: what a record says changed outside the claim ---------------------------

def republish_job_create(*, workspace: Workspace, reason: str, rating_id: int | None = None) -> RepublishJob | None:
    """Queue new records for the verdicts in force whose text changed (a renamed label,
    the desk's publisher name): never edits the old ones. None if nothing is affected."""
    from annotations import outbox

    affected = Publication.objects.filter(workspace=workspace, current=True)
    if rating_id is not None:
        affected = affected.filter(rating_id=rating_id)
    total = affected.count()
    if not total:
        return None
    job = RepublishJob.objects.create(workspace=workspace, reason=reason, rating_id=rating_id, rows_total=total)
    outbox.enqueue("annotations.tasks.run_republish", job.pk)
    return job


def republish_job_run(*, job_id: int, batch: int = 200) -> RepublishJob | None:
    """Write the new records in batches, each its own transaction, counting progress.
    Safe to run again: a record already rewritten for this job is not rewritten."""
    job = RepublishJob.objects.filter(pk=job_id).first()
    if job is None or job.finished_at is not None:
        return job
    while True:
        with transaction.atomic():
            todo = Publication.objects.filter(workspace_id=job.workspace_id, current=True,
                                              created_at__lt=job.created_at)
            if job.rating_id is not None:
                todo = todo.filter(rating_id=job.rating_id)
            locked = todo.select_for_update(skip_locked=True).order_by("id").values_list("claim_id", flat=True)
            claim_ids = list(locked[:batch])
            for claim in Claim.objects.filter(pk__in=claim_ids):
                _write(claim=claim, actor_id=None, kind=PublicationKind.CORRECTED, reason=job.reason)
            RepublishJob.objects.filter(pk=job.pk).update(rows_done=F("rows_done") + len(claim_ids))
        if len(claim_ids) < batch:
            break
    RepublishJob.objects.filter(pk=job.pk).update(finished_at=timezone.now())
    job.refresh_from_db()
    return job
