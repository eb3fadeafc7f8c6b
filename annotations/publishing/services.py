"""Publication: the only writes of published records.

Approving a claim publishes it and reopening it withdraws it, in the same transaction as
the state change (the workflow service calls `publish` and `withdraw`). A record is never
edited: a correction, a renamed label or a new publisher name writes a new record that
replaces the one in force, which stays as it was sent.
"""

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Max, QuerySet
from django.utils import timezone

from annotations import selectors
from annotations.models import (
    Claim,
    Publication,
    PublicationKind,
    RatingLabel,
    RatingScale,
    RepublishJob,
    Workspace,
)
from annotations.publishing import records, webhooks


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
    return _record_create(workspace_id=claim.workspace_id, snapshot=snapshot, previous=_latest(claim.pk),
                          actor_id=actor_id, kind=kind, reason=reason)


def _record_create(
    *, workspace_id: int, snapshot: dict, previous: Publication | None, actor_id: int | None, kind: str, reason: str
) -> Publication:
    """Render `snapshot` into a new record in force; the one in force before it is replaced."""
    claim_id = snapshot["claim_id"]
    now = timezone.now()
    first = previous.date_published if previous is not None else now
    number = _next_number()
    rendered = records.render(snapshot, records.RecordFacts(
        number=number, date_published=first, date_modified=now, reason=reason,
        public_url=public_url(workspace_slug=snapshot["workspace"]["slug"], claim_id=claim_id),
    ))
    Publication.objects.filter(claim_id=claim_id, current=True).update(current=False)
    webhooks.enqueue_for(workspace_id=workspace_id)
    return Publication.objects.create(
        pk=number, workspace_id=workspace_id, claim_id=claim_id, article_id=snapshot["article"]["id"],
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
    webhooks.enqueue_for(workspace_id=claim.workspace_id)
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
    the desk's publisher name): never edits the old ones. None if nothing is affected.
    Call it inside the transaction that makes the change, so the job exists if and only
    if the change does."""
    from annotations import outbox

    total = _republish_todo(workspace_id=workspace.pk, rating_id=rating_id).count()
    if not total:
        return None
    job = RepublishJob.objects.create(
        workspace=workspace, reason=reason[:REASON_LIMIT], rating_id=rating_id, rows_total=total
    )
    outbox.enqueue("annotations.tasks.run_republish", job.pk)
    return job


REASON_LIMIT = RepublishJob._meta.get_field("reason").max_length or 500


def _republish_todo(*, workspace_id: int, rating_id: int | None) -> QuerySet[Publication]:
    todo = Publication.objects.filter(workspace_id=workspace_id, current=True)
    return todo if rating_id is None else todo.filter(rating_id=rating_id)


def republish_job_run(*, job_id: int, batch: int = 200) -> RepublishJob | None:
    """Write the new records in batches, each its own transaction, counting progress.

    A new record is the verdict as it was approved (the snapshot of the record it replaces)
    with what changed outside it read again: the desk's publisher and the rating label and
    scale. Live rows the claim's approval did not cover (an article retitled since) stay
    out of it. Safe to run again, and by two workers at once (a redelivered task): a record
    already replaced since the job was queued is left alone, so each verdict is rewritten once."""
    job = RepublishJob.objects.filter(pk=job_id).first()
    if job is None or job.finished_at is not None:
        return job
    # The records this run writes get higher numbers than this, so it never reaches them
    # even if this machine's clock is behind the one that queued the job.
    last = Publication.objects.aggregate(last=Max("id"))["last"] or 0
    after = 0
    while True:
        with transaction.atomic():
            todo = _republish_todo(workspace_id=job.workspace_id, rating_id=job.rating_id).filter(
                created_at__lt=job.created_at, pk__lte=last)
            rows = list(todo.filter(pk__gt=after).order_by("id").values_list("id", "claim_id")[:batch])
            written = _republish_batch(job=job, record_ids=[pk for pk, _ in rows],
                                       claim_ids=[claim_id for _, claim_id in rows], todo=todo)
            if written:
                RepublishJob.objects.filter(pk=job.pk).update(rows_done=F("rows_done") + written)
        if len(rows) < batch:
            break
        after = rows[-1][0]
    RepublishJob.objects.filter(pk=job.pk).update(finished_at=timezone.now())
    job.refresh_from_db()
    return job


def _republish_batch(
    *, job: RepublishJob, record_ids: list[int], claim_ids: list[int], todo: QuerySet[Publication]
) -> int:
    if not record_ids:
        return 0
    # Claims first, then records: the order a reopen takes them in (it updates the claim,
    # then withdraws its record), so the two wait for each other instead of deadlocking,
    # and a reopen that waited sees the record written here and withdraws that one.
    list(Claim.objects.select_for_update().filter(pk__in=claim_ids).order_by("pk").values_list("pk", flat=True))
    # The desk and its scale are held until this batch commits: a rename or a new
    # publisher name committed meanwhile queues its own job after these records exist,
    # so that job rewrites them rather than skipping them as newer than itself.
    desk = Workspace.objects.select_for_update(no_key=True).filter(pk=job.workspace_id).values(
        "slug", "name", "publisher_name", "publisher_url").get()
    list(RatingScale.objects.select_for_update(no_key=True).filter(workspace_id=job.workspace_id)
         .values_list("pk", flat=True))
    labels = {label["id"]: label for label in RatingLabel.objects.filter(scale__workspace_id=job.workspace_id)
              .values("id", "name", "value", "description", "color")}
    values = [label["value"] for label in labels.values() if label["value"] is not None]
    scale = {"best": max(values) if values else None, "worst": min(values) if values else None}
    written = 0
    # Read again under the locks: a record withdrawn, corrected or already rewritten by
    # another run of this job since the list above was read is no longer in `todo`.
    for record in todo.filter(pk__in=record_ids).select_for_update().order_by("id"):
        snapshot = {**record.snapshot, "workspace": desk, "scale": scale}
        if record.rating_id is not None and record.rating_id in labels:
            snapshot["rating"] = labels[record.rating_id]
        _record_create(workspace_id=job.workspace_id, snapshot=snapshot, previous=record, actor_id=None,
                       kind=PublicationKind.CORRECTED, reason=job.reason)
        written += 1
    return written
