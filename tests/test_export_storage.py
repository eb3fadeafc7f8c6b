"""Export files on an S3-compatible storage: a worker on another "machine" (its own process,
broker and settings) writes there, and the web process serves the download from there.
Run against a local S3 server (moto in server mode) on a loopback port: no cloud is reached."""

import shutil
import subprocess
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import boto3  # type: ignore[import-untyped]
import pytest
from celery import Celery
from django.utils import timezone

from annotations.models import ExportJob
from annotations.services.exports import export_job_run, exports_expire
from tests.conftest import WorkerProcess
from tests.test_api import api_as, approved_claim, streamed_body
from tests.test_export_jobs import wait_for_job
from tests.test_reliability import free_port
from tests.test_settings import PRODUCTION, start_django

pytestmark = pytest.mark.django_db(transaction=True)

BUCKET = "factcheck-exports"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test-key-id", "AWS_SECRET_ACCESS_KEY": "test-secret",
               "AWS_S3_REGION_NAME": "us-east-1"}


@pytest.fixture(scope="module")
def s3_endpoint():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    bucket_client(endpoint).create_bucket(Bucket=BUCKET)
    yield endpoint
    server.stop()


def bucket_client(endpoint: str):
    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"], region_name="us-east-1")


def keys(endpoint: str) -> set[str]:
    listed = bucket_client(endpoint).list_objects_v2(Bucket=BUCKET)
    return {item["Key"] for item in listed.get("Contents", [])}


@pytest.fixture
def s3_env(s3_endpoint):
    return {"EXPORT_STORAGE": "s3", "AWS_STORAGE_BUCKET_NAME": BUCKET, "AWS_S3_ENDPOINT_URL": s3_endpoint,
            **CREDENTIALS}


@pytest.fixture
def web_on_s3(s3_env, settings, monkeypatch):
    """This process, as the web server, on the bucket: its exports storage built from the
    environment exactly as settings.py builds it at start-up."""
    from factcheck.settings import export_storage_from_env

    for name, value in s3_env.items():
        monkeypatch.setenv(name, value)
    settings.STORAGES = {**settings.STORAGES, "exports": export_storage_from_env("s3", redirect=False)}
    return s3_env


@pytest.fixture
def s3_worker(s3_env, tmp_path):
    """A Celery worker with its own broker and the s3 settings: the only one that can take
    the job, as if it ran on another machine."""
    if shutil.which("redis-server") is None:
        pytest.fail("The storage test starts a broker of its own and needs redis-server.")
    port = free_port()
    broker = f"redis://127.0.0.1:{port}/0"
    redis = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no"], stdout=subprocess.DEVNULL)
    app = Celery(broker=broker, backend=broker, set_as_current=False)  # tasks elsewhere keep the desk's app
    worker = WorkerProcess(tmp_path / "s3-worker.log", REDIS_URL=broker, **s3_env)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                app.connection().ensure_connection(max_retries=1)
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        worker.start(app=app)
        yield app
    finally:
        worker.stop()
        redis.terminate()
        redis.wait(timeout=10)


def test_a_worker_writes_the_export_to_s3_and_the_web_process_serves_it(
    s3_worker, web_on_s3, alice, bob, article, desk, settings
):
    for quote in ("It is a possibility.", "Not yet", "massive information"):
        approved_claim(article, alice, bob, quote=quote)
    client = api_as(alice)
    created = client.post("/api/v1/exports/", {"workspace": desk.slug, "format": "claimreview"}, format="json")
    assert created.status_code == 202, created.content
    job_id = created.json()["id"]
    s3_worker.send_task("annotations.tasks.run_export", args=[job_id])

    job = wait_for_job(client, job_id, timeout=60)
    assert (job["status"], job["rows_done"], job["rows_total"]) == ("done", 3, 3), job
    name = ExportJob.objects.get(pk=job_id).file_name
    assert keys(web_on_s3["AWS_S3_ENDPOINT_URL"]) == {f"exports/{name}"}  # in the bucket ...
    assert not (Path(settings.EXPORT_ROOT) / name).exists()  # ... and not on this machine's disk

    streamed = streamed_body(client.get(f"/api/v1/verdicts/export?format=claimreview&workspace={desk.slug}"))
    download = client.get(job["download_url"])
    assert download.status_code == 200 and download["Content-Type"] == "application/ld+json"
    assert streamed_body(download) == streamed and streamed.startswith(b"[\n{")

    # Where clients reach the bucket, the download can be a redirect to a signed address.
    settings.EXPORT_DOWNLOAD_REDIRECT = True
    redirect = client.get(job["download_url"])
    assert redirect.status_code == 302
    location = redirect["Location"]
    assert location.startswith(web_on_s3["AWS_S3_ENDPOINT_URL"]) and "Signature=" in location
    with urllib.request.urlopen(location, timeout=10) as signed:  # the local S3 server
        assert signed.read() == streamed


def test_the_retention_job_removes_files_from_the_bucket(web_on_s3, alice, bob, article, desk, settings):
    approved_claim(article, alice, bob)
    job = ExportJob.objects.create(workspace=desk, requested_by=alice, format="jsonl", filters={})
    export_job_run(job_id=job.pk)
    job.refresh_from_db()
    endpoint = web_on_s3["AWS_S3_ENDPOINT_URL"]
    assert f"exports/{job.file_name}" in keys(endpoint)

    retention = timedelta(hours=settings.EXPORT_RETENTION_HOURS)
    ExportJob.objects.filter(pk=job.pk).update(finished_at=timezone.now() - retention - timedelta(minutes=1))
    assert exports_expire() == 1
    assert f"exports/{job.file_name}" not in keys(endpoint)
    response = api_as(alice).get(f"/api/v1/exports/{job.pk}/download/")
    assert response.status_code == 404 and "retention period" in response.json()["error"]["message"]


@pytest.mark.django_db(transaction=False)
@pytest.mark.parametrize("override, message", [
    ({"EXPORT_STORAGE": "ftp"}, "EXPORT_STORAGE must be local or s3, not 'ftp'."),
    ({"EXPORT_STORAGE": "s3"}, "AWS_STORAGE_BUCKET_NAME must name the bucket when EXPORT_STORAGE=s3."),
    ({"EXPORT_STORAGE": "s3", "AWS_STORAGE_BUCKET_NAME": "b", "AWS_S3_ENDPOINT_URL": "minio:9000"},
     "AWS_S3_ENDPOINT_URL must be a URL starting with http://, https://"),
    ({"EXPORT_STORAGE": "s3", "AWS_STORAGE_BUCKET_NAME": "b", "AWS_ACCESS_KEY_ID": "id", "AWS_SECRET_ACCESS_KEY": ""},
     "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY go together"),
    ({"EXPORT_STORAGE": "s3", "AWS_STORAGE_BUCKET_NAME": "b", "AWS_S3_ADDRESSING_STYLE": "sideways"},
     "AWS_S3_ADDRESSING_STYLE must be path, virtual or auto, not 'sideways'."),
    ({"EXPORT_DOWNLOAD_REDIRECT": "1"}, "EXPORT_DOWNLOAD_REDIRECT needs EXPORT_STORAGE=s3"),
])
def test_a_bad_storage_setting_fails_at_start_up_naming_the_variable(override, message):
    result = start_django(PRODUCTION | override)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and message in result.stderr


@pytest.mark.django_db(transaction=False)
def test_the_s3_settings_reach_the_storage():
    code = ("from django.core.files.storage import storages; s = storages['exports']; "
            "print(type(s).__name__, s.bucket_name, s.location, s.endpoint_url)")
    show = ("shell", "-c", code)
    env = PRODUCTION | CREDENTIALS | {"EXPORT_STORAGE": "S3", "AWS_STORAGE_BUCKET_NAME": "desk-exports",
                                      "AWS_S3_ENDPOINT_URL": "https://s3.example.org", "AWS_EXPORT_LOCATION": "/a/b/"}
    result = start_django(env, *show)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "S3Storage desk-exports a/b https://s3.example.org"
