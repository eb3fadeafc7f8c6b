"""Export jobs: a verdict export written to a file by a worker, then removed after a while."""

from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from annotations import exports
from annotations.models import ExportJob, ExportStatus, Workspace


def export_dir() -> Path:
    path = Path(settings.EXPORT_ROOT)
    path.mkdir(parents=True, exist_ok=True)
    return path


def export_file_path(job: ExportJob) -> Path | None:
    return export_dir() / job.file_name if job.file_name else None


@transaction.atomic
def export_job_create(*, workspace: Workspace, actor: User, fmt: str, filters: dict) -> ExportJob:
    from annotations import outbox

    job = ExportJob.objects.create(workspace=workspace, requested_by=actor, format=fmt, filters=filters)
    outbox.enqueue("annotations.tasks.run_export", job.pk)
    return job


def export_job_run(*, job_id: int) -> ExportJob | None:
    """Write the export to a file, counting rows as pages are written. Safe to run twice:
    a finished job is left alone, a half-written file is written again from the start."""
    job = ExportJob.objects.filter(pk=job_id).select_related("workspace").first()
    if job is None or job.status in (ExportStatus.DONE, ExportStatus.EXPIRED):
        return job
    f = job.filters
    filters = exports.ExportFilters(
        workspaces=[job.workspace_id], state=f.get("state", "approved"), rating=f.get("rating"),
        article=f.get("article"),
        updated_since=datetime.fromisoformat(f["updated_since"]) if f.get("updated_since") else None,
    )
    total = exports.verdict_queryset(filters).count()
    file_name = f"export-{job.pk}.{exports.FORMATS[job.format][1]}"
    ExportJob.objects.filter(pk=job.pk).update(
        status=ExportStatus.RUNNING, rows_total=total, rows_done=0, file_name=file_name, error=""
    )

    def progress(rows: int) -> None:
        ExportJob.objects.filter(pk=job.pk).update(rows_done=F("rows_done") + rows)

    partial = export_dir() / (file_name + ".part")
    try:
        with partial.open("w", encoding="utf-8") as out:
            for chunk in exports.render(job.format, filters, on_page=progress):
                out.write(chunk)
        partial.replace(export_dir() / file_name)
    except Exception as exc:
        partial.unlink(missing_ok=True)
        ExportJob.objects.filter(pk=job.pk).update(
            status=ExportStatus.FAILED, error=f"{exc.__class__.__name__}: {exc}"[:2000], finished_at=timezone.now()
        )
        raise
    ExportJob.objects.filter(pk=job.pk).update(status=ExportStatus.DONE, finished_at=timezone.now())
    job.refresh_from_db()
    return job


def exports_expire() -> int:
    """Remove export files older than EXPORT_RETENTION_HOURS; the jobs stay, marked expired."""
    cutoff = timezone.now() - timedelta(hours=settings.EXPORT_RETENTION_HOURS)
    expired = 0
    for job in ExportJob.objects.filter(status__in=[ExportStatus.DONE, ExportStatus.FAILED], finished_at__lt=cutoff):
        path = export_file_path(job)
        if path is not None:
            path.unlink(missing_ok=True)
        ExportJob.objects.filter(pk=job.pk).update(status=ExportStatus.EXPIRED)
        expired += 1
    return expired
