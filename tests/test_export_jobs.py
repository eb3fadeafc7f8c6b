"""Large exports as Celery jobs: published records written by a real worker to the exports
storage, progress visible, downloaded through the web process, removed later."""

import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from annotations.models import ExportJob, RatingLabel
from annotations.publishing import exports as records_export
from annotations.services.exports import export_job_run, export_storage, exports_expire
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
    download = client.get(job["download_url"])
    assert download["Content-Type"] == "text/csv; charset=utf-8"
    assert f'filename="verdicts-{job["id"]}.csv"' in download["Content-Disposition"]
    streamed = streamed_body(client.get(f"/api/v1/verdicts/export?format=csv&workspace={desk.slug}"))
    assert streamed_body(download) == streamed and streamed.count(b"\n") == 4

    # The exports page lists it with its link.
    from django.test import Client

    browser = Client()
    browser.force_login(alice)
    page = browser.get(reverse("exports", args=[desk.slug])).content.decode()
    assert f'/api/v1/exports/{job["id"]}/download/' in page


@pytest.mark.parametrize("fmt", list(records_export.FORMATS))
def test_a_job_writes_the_same_bytes_as_the_stream_in_every_format(alice, bob, article, desk, fmt):
    for quote in ("It is a possibility.", "Not yet"):
        approved_claim(article, alice, bob, quote=quote)
    queued = ExportJob.objects.create(workspace=desk, requested_by=alice, format=fmt, filters={"state": "approved"})
    job = export_job_run(job_id=queued.pk)
    assert job is not None and (job.status, job.rows_done, job.rows_total) == ("done", 2, 2)
    with export_storage().open(job.file_name, "rb") as written:
        expected = streamed_body(api_as(alice).get(f"/api/v1/verdicts/export?format={fmt}&workspace={desk.slug}"))
        assert written.read() == expected


def test_a_job_keeps_its_filters(alice, bob, article, desk):
    approved_claim(article, alice, bob)
    false = RatingLabel.objects.get(scale__workspace=desk, name="False")
    queued = ExportJob.objects.create(workspace=desk, requested_by=alice, format="claimreview",
                                      filters={"state": "approved", "rating": false.pk})
    job = export_job_run(job_id=queued.pk)
    assert job is not None and (job.status, job.rows_total, job.rows_done) == ("done", 0, 0)
    with export_storage().open(job.file_name, "rb") as written:
        assert written.read() == b"[\n]\n"


def test_running_a_finished_job_again_writes_nothing(alice, bob, article, desk):
    approved_claim(article, alice, bob)
    job = ExportJob.objects.create(workspace=desk, requested_by=alice, format="jsonl", filters={})
    first = export_job_run(job_id=job.pk)
    assert first is not None
    again = export_job_run(job_id=job.pk)
    assert again is not None and (again.file_name, again.finished_at) == (first.file_name, first.finished_at)


def test_export_files_are_removed_after_the_retention_period(alice, bob, article, desk, settings):
    approved_claim(article, alice, bob)
    job = ExportJob.objects.create(workspace=desk, requested_by=alice, format="jsonl", filters={})
    export_job_run(job_id=job.pk)
    job.refresh_from_db()
    storage = export_storage()
    assert job.status == "done" and storage.exists(job.file_name)

    assert exports_expire() == 0  # still within the retention period
    retention = timedelta(hours=settings.EXPORT_RETENTION_HOURS)
    ExportJob.objects.filter(pk=job.pk).update(finished_at=timezone.now() - retention - timedelta(hours=1))
    assert exports_expire() == 1
    assert not storage.exists(job.file_name)
    response = api_as(alice).get(f"/api/v1/exports/{job.pk}/download/")
    assert response.status_code == 404 and "retention period" in response.json()["error"]["message"]


def test_a_job_that_is_not_done_has_no_download(alice, desk):
    job = ExportJob.objects.create(workspace=desk, requested_by=alice, format="jsonl", filters={})
    response = api_as(alice).get(f"/api/v1/exports/{job.pk}/download/")
    assert response.status_code == 404 and "not ready" in response.json()["error"]["message"]


def test_someone_elses_export_job_is_404(alice, bob, article, desk):
    job = ExportJob.objects.create(workspace=desk, requested_by=alice, format="jsonl", filters={})
    assert api_as(bob).get(f"/api/v1/exports/{job.pk}/").status_code == 404
    assert api_as(bob).get(f"/api/v1/exports/{job.pk}/download/").status_code == 404
