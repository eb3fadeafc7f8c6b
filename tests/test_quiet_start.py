"""`./desk run` starts quietly: /healthz's 503 while the worker starts is not logged as an
error, and the desk says once that it is up when web, worker and scheduler all are."""

import importlib.util
import json
import logging
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import resolve
from django.utils.log import log_response

from tests.conftest import ROOT


def errors(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def logged(path: str, status: int) -> None:
    """What Django's request handler does with a 4xx/5xx answer."""
    request = RequestFactory().get(path)
    request.resolver_match = resolve(path)
    log_response("Answered: %s", request.path, response=HttpResponse(status=status), request=request)


@pytest.mark.django_db
def test_a_503_from_healthz_logs_nothing_at_error(client, caplog, monkeypatch):
    from annotations import health

    monkeypatch.setattr(health, "check_workers", lambda timeout=1.0: (False, "no Celery worker answered"))
    with caplog.at_level(logging.INFO):
        response = client.get("/healthz")
    assert response.status_code == 503 and response.json()["down"] == ["worker"]
    assert errors(caplog) == []


def test_any_other_5xx_is_still_an_error(caplog):
    with caplog.at_level(logging.INFO):
        logged("/healthz", 500)  # /healthz broken: a bug, logged
        logged("/login/", 503)
        logged("/healthz", 503)  # the probe saying a part is down: not logged
    assert errors(caplog) == ["Answered: /healthz", "Answered: /login/"]


def test_beat_sends_a_heartbeat_as_it_starts(monkeypatch):
    from celery import signals

    from annotations import readiness  # noqa: F401 - connects the handler (CELERY_IMPORTS does in beat)
    from annotations.tasks import heartbeat

    sent = []
    monkeypatch.setattr(heartbeat, "apply_async", lambda *args, **kwargs: sent.append(kwargs))
    signals.beat_init.send(sender=None)
    assert sent == [{"expires": 120}]


# --- scripts/services.py desk-ready: what ./desk run waits for -------------------------------

def services():
    spec = importlib.util.spec_from_file_location("desk_services", ROOT / "scripts" / "services.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def healthz():
    """A stand-in /healthz answering whatever the test sets."""
    answer: dict[str, Any] = {"status": 503, "body": {}}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            data = json.dumps(answer["body"]).encode()
            self.send_response(answer["status"])
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield answer, f"http://127.0.0.1:{server.server_port}/healthz"
    server.shutdown()


def test_the_desk_is_up_when_web_worker_and_a_new_scheduler_beat_all_are(healthz):
    answer, url = healthz
    desk = services()
    started = datetime.now(UTC)
    since = started.strftime("%Y-%m-%dT%H:%M:%SZ")
    before = (started - timedelta(hours=1)).isoformat()  # a beat of the last run, still cached

    answer.update(status=503, body={"status": "down", "down": ["worker"], "scheduler_last_beat": before})
    assert desk.desk_waiting_for(url, since) == ["worker", "scheduler"]
    answer.update(status=200, body={"status": "ok", "down": [], "scheduler_last_beat": before})
    assert desk.desk_waiting_for(url, since) == ["scheduler"]
    answer.update(status=200, body={"status": "ok", "down": [], "scheduler_last_beat": datetime.now(UTC).isoformat()})
    assert desk.desk_waiting_for(url, since) == [] and desk.desk_ready(url, since) == 0

    assert desk.desk_waiting_for("http://127.0.0.1:9/healthz", since) == ["web"]
