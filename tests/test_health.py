"""/healthz answers 200 only when the database, Redis and a worker are up, else 503 naming the part."""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT, database_url

GET_HEALTHZ = (
    "import json, django; django.setup();"
    "from django.test import Client;"
    "r = Client().get('/healthz');"
    "print(json.dumps({'status': r.status_code, 'body': r.json()}))"
)


def healthz_in_a_fresh_process(**env) -> tuple[int, dict]:
    """The desk started against the given services, asked for /healthz."""
    result = subprocess.run(
        [sys.executable, "-c", GET_HEALTHZ],
        cwd=ROOT, env=os.environ | {"DJANGO_SETTINGS_MODULE": "tests.settings"} | env,
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    return answer["status"], answer["body"]


@pytest.mark.django_db(transaction=True)
def test_healthz_is_200_when_database_redis_and_a_worker_are_up(client, celery_worker):
    response = client.get("/healthz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok" and body["down"] == []
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"] == "ok"
    assert "worker(s) answered" in body["checks"]["worker"]


@pytest.mark.django_db
def test_healthz_names_the_database_when_it_is_down():
    status, body = healthz_in_a_fresh_process(DATABASE_URL="postgres://postgres@127.0.0.1:1/factcheck")
    assert status == 503
    assert "database" in body["down"]
    assert body["checks"]["database"].startswith("database unreachable")


@pytest.mark.django_db
def test_healthz_names_redis_when_it_is_down():
    status, body = healthz_in_a_fresh_process(
        DATABASE_URL=database_url(), REDIS_URL="redis://127.0.0.1:1/0"
    )
    assert status == 503
    assert body["down"] == ["redis", "worker"]
    assert body["checks"]["redis"].startswith("redis unreachable")
    assert body["checks"]["database"] == "ok"


@pytest.mark.django_db
def test_healthz_names_the_worker_when_none_listens():
    # Redis database 13 has no worker listening on it.
    status, body = healthz_in_a_fresh_process(
        DATABASE_URL=database_url(), REDIS_URL="redis://127.0.0.1:6379/13"
    )
    assert status == 503
    assert body["down"] == ["worker"]
    assert body["checks"]["worker"] == "no Celery worker answered"
