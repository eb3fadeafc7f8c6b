"""Large exports as Celery jobs: run by a real worker, progress visible, file removed later."""

import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from annotations.models import ExportJob
from annotations.services.exports import export_file_path, exports_expire
from tests.test_api import api_as, approved_claim, streamed_body

pytestmark = pytest.mark.django_db(transaction=True)


def wait_for_job(client, job_id, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/exports/{job_id}/").json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"export {job_id} did not finish in {timeout}s: {job}")


def test_an_export_job_runs_on_a_real_worker_and_matches_the_streamed_export(
    celery_worker, alice, bob, article, desk, settings
):
    settings.OUTBOX_AUTOSEND = True
    for quote in ("It is a possibility.", "Not yet", "massive information"):
        approved_claim(article, alice, bob, quote=quote)
    client = api_as(alice)
    created = client.post("/api/v1/exports/", {"workspace": desk.slug, "format": "csv"}, format="json")
    assert created.status_code == 202, created.content
    assert created.json()["status"] == "queued" and created.json()["download_url"] is None

    job = wait_for_job(client, created.json()["id"])
    assert (job["status"], job["rows_done"], job["rows_total"]) == ("done", 3, 3), job
    downloaded = streamed_body(client.get(job["download_url"]))
    streamed = streamed_body(client.get(f"/api/v1/verdicts/export?format=csv&workspace={desk.slug}"))
    assert downloaded == streamed

    # The exports page lists it with its link.
    from django.test import Client

    browser = Client()
    browser.force_login(alice)
    page = browser.get(reverse("exports", args=[desk.slug])).content.decode()
    assert f'/api/v1/exports/{job["id"]}/download/' in page


def test_export_files_are_removed_after_the_retention_period(alice, bob, article, desk, settings):
    from annotations.services.exports import export_job_run

    approved_claim(article, alice, bob)
    job = ExportJob.objects.create(workspace=desk, requested_by=alice, format="jsonl", filters={})
    export_job_run(job_id=job.pk)
    job.refresh_from_db()
    path = export_file_path(job)
    assert path is not None and path.exists() and job.status == "done"

    assert exports_expire() == 0  # still within the retention period
    retention = timedelta(hours=settings.EXPORT_RETENTION_HOURS)
    ExportJob.objects.filter(pk=job.pk).update(finished_at=timezone.now() - retention - timedelta(hours=1))
    assert exports_expire() == 1
    assert not path.exists()
    response = api_as(alice).get(f"/api/v1/exports/{job.pk}/download/")
    assert response.status_code == 404 and "retention period" in response.json()["error"]["message"]


def test_someone_elses_export_job_is_404(alice, bob, article, desk):
    job = ExportJob.objects.create(workspace=desk, requested_by=alice, format="jsonl", filters={})
    assert api_as(bob).get(f"/api/v1/exports/{job.pk}/").status_code == 404
