"""Export jobs: an export of published records written by a worker to the exports storage,
downloaded from there, and removed after EXPORT_RETENTION_HOURS.

The storage is `STORAGES["exports"]` (see settings, EXPORT_STORAGE): a local folder when
the web process and the workers share a machine, or an S3 bucket they all reach when the
workers run elsewhere. Only its name is kept on the job, so any process finds the file.
"""

import tempfile
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files import File
from django.core.files.storage import Storage, storages
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone

from annotations.models import ExportJob, ExportStatus, Workspace
from annotations.publishing import exports as records_export

# How often a running job writes its progress (rows_done), at most.
PROGRESS_SECONDS = 0.5


def export_storage() -> Storage:
    return storages["exports"]


def export_filters(*, job: ExportJob) -> records_export.ExportFilters:
    f = job.filters
    return records_export.ExportFilters(
        workspaces=(job.workspace_id,), rating=f.get("rating"), article=f.get("article"),
        updated_since=datetime.fromisoformat(f["updated_since"]) if f.get("updated_since") else None,
    )


@transaction.atomic
def export_job_create(*, workspace: Workspace, actor: User, fmt: str, filters: dict) -> ExportJob:
    from annotations import outbox

    job = ExportJob.objects.create(workspace=workspace, requested_by=actor, format=fmt, filters=filters)
    outbox.enqueue("annotations.tasks.run_export", job.pk)
    return job


class _Progress:
    """rows_done of a running job, written at most every PROGRESS_SECONDS on a connection
    of its own: the job's connection is busy with the COPY while rows arrive."""

    def __init__(self, job_id: int):
        self.job_id = job_id
        self.rows = 0
        self.written_at = time.monotonic()
        self.db = connections.create_connection(DEFAULT_DB_ALIAS)

    def __call__(self, rows: int) -> None:
        self.rows += rows
        if time.monotonic() - self.written_at >= PROGRESS_SECONDS:
            with self.db.cursor() as cursor:
                cursor.execute(
                    "UPDATE annotations_exportjob SET rows_done = %s WHERE id = %s", [self.rows, self.job_id]
                )
            self.written_at = time.monotonic()

    def close(self) -> None:
        self.db.close()


def export_job_run(*, job_id: int) -> ExportJob | None:
    """Write the export to a file in the exports storage. Safe to run twice: a finished
    job is left alone, an interrupted one is written again from the start (the storage
    gets a complete file or none, since it is spooled to a local temporary file first)."""
    job = ExportJob.objects.filter(pk=job_id).first()
    if job is None or job.status in (ExportStatus.DONE, ExportStatus.EXPIRED):
        return job
    filters = export_filters(job=job)
    total = records_export.records_count(filters=filters)
    ExportJob.objects.filter(pk=job.pk).update(
        status=ExportStatus.RUNNING, rows_total=total, rows_done=0, file_name="", error=""
    )
    name = f"export-{job.pk}.{records_export.FORMATS[job.format].extension}"
    progress = _Progress(job.pk)
    try:
        with tempfile.TemporaryFile(prefix="export-") as spool:
            for chunk in records_export.records_stream(fmt=job.format, filters=filters, on_rows=progress):
                spool.write(chunk)
            # The storage may pick another name (a file of an earlier, interrupted run).
            name = export_storage().save(name, File(spool, name=name))
    except Exception as exc:
        ExportJob.objects.filter(pk=job.pk).update(
            status=ExportStatus.FAILED, error=f"{exc.__class__.__name__}: {exc}"[:2000], finished_at=timezone.now()
        )
        raise
    finally:
        progress.close()
    ExportJob.objects.filter(pk=job.pk).update(
        status=ExportStatus.DONE, rows_done=progress.rows, file_name=name, finished_at=timezone.now()
    )
    job.refresh_from_db()
    return job


def export_file_open(*, job: ExportJob) -> File | None:
    """The finished export's file, to stream to its owner; None if there is none (not
    done yet, or removed after the retention period)."""
    if job.status != ExportStatus.DONE or not job.file_name:
        return None
    storage = export_storage()
    if not storage.exists(job.file_name):
        return None
    return storage.open(job.file_name, "rb")


def export_file_url(*, job: ExportJob) -> str | None:
    """A short-lived signed address of the finished export in the bucket (S3 storage
    with EXPORT_DOWNLOAD_REDIRECT), so the file does not pass through the web process."""
    if job.status != ExportStatus.DONE or not job.file_name:
        return None
    storage = export_storage()
    if not storage.exists(job.file_name):
        return None
    return storage.url(job.file_name)


def exports_expire() -> int:
    """Remove export files older than EXPORT_RETENTION_HOURS; the jobs stay, marked expired."""
    cutoff = timezone.now() - timedelta(hours=settings.EXPORT_RETENTION_HOURS)
    storage = export_storage()
    expired = 0
    for job in ExportJob.objects.filter(status__in=[ExportStatus.DONE, ExportStatus.FAILED], finished_at__lt=cutoff):
        if job.file_name:
            storage.delete(job.file_name)
        ExportJob.objects.filter(pk=job.pk).update(status=ExportStatus.EXPIRED)
        expired += 1
    return expired
