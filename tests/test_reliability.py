"""Background work through real workers on real Redis: nothing lost, nothing done twice."""

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from celery import Celery

from annotations import tasks
from annotations.models import NotificationSent, OutboxMessage, Source, SourceCheck
from annotations.services.claims import claim_create
from tests.conftest import ROOT, WorkerProcess, database_url, ready_and_submit

pytestmark = pytest.mark.django_db(transaction=True)


def wait_until(condition, timeout=40, every=0.2, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(every)
    raise AssertionError(f"Timed out after {timeout}s waiting for {what}.")


def mails(folder) -> str:
    return "".join(p.read_text(errors="replace") for p in folder.glob("*.log")) if folder.exists() else ""


class SlowOnce(BaseHTTPRequestHandler):
    """The first request hangs (the worker is killed meanwhile); later ones answer at once."""

    hits = 0

    def do_GET(self):
        SlowOnce.hits += 1
        if SlowOnce.hits == 1:
            time.sleep(8)
        body = b"<html><title>Evidence</title></html>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def slow_site():
    SlowOnce.hits = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowOnce)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/evidence"
    server.shutdown()


@pytest.fixture
def claim(article, alice):
    version = article.versions.get()
    start = version.text.index("Not yet")
    return claim_create(actor=alice, article=article, version=version, exact="Not yet", start=start, end=start + 7)


def test_each_task_runs_on_a_real_worker(celery_worker, claim, alice, bob, slow_site, settings):
    settings.OUTBOX_AUTOSEND = True
    SlowOnce.hits = 1  # no hang here
    source = Source.objects.create(claim=claim, url=slow_site, created_by=alice)
    assert tasks.check_source_link.delay(source.pk, "worker-token").get(timeout=30) == "ok"
    assert SourceCheck.objects.get(source=source).title == "Evidence"

    assert tasks.match_claim.delay(claim.pk).get(timeout=30) == 0  # nothing similar yet
    assert tasks.ping.delay().get(timeout=30) == "pong"

    # Submitting goes through the outbox: after commit the worker e-mails the reviewer.
    before = set(celery_worker.mail_dir.glob("*.log"))
    claim = ready_and_submit(claim)
    sent = NotificationSent.objects.filter(kind="submitted", claim=claim, recipient="bob@example.org")
    wait_until(sent.exists, what="the reviewer's e-mail")
    wait_until(lambda: set(celery_worker.mail_dir.glob("*.log")) - before, what="the e-mail file")
    new = "".join(p.read_text() for p in set(celery_worker.mail_dir.glob("*.log")) - before)
    assert "Claim waiting for review" in new and "bob@example.org" in new
    assert OutboxMessage.objects.filter(task="annotations.tasks.notify_claim_submitted", sent_at__isnull=False).exists()
    assert NotificationSent.objects.filter(kind="submitted", claim=claim, recipient="bob@example.org").count() == 1
    # The drain sends what was recorded before sends on commit were on (the fixture's
    # match_claim), and then nothing is left waiting.
    waiting = OutboxMessage.objects.filter(sent_at__isnull=True).count()
    assert tasks.drain_outbox.delay().get(timeout=30) == waiting
    assert not OutboxMessage.objects.filter(sent_at__isnull=True).exists()
    assert tasks.ping.delay().get(timeout=30) == "pong"  # FIFO: what the drain sent has run


def test_a_task_whose_worker_is_killed_runs_again_on_a_new_worker_and_counts_once(claim, alice, slow_site, tmp_path):
    # A broker database of its own, and a short visibility timeout so Redis hands the
    # unacknowledged task back quickly once its worker is gone.
    broker = "redis://127.0.0.1:6379/14"
    app = Celery(broker=broker, backend=broker, set_as_current=False)  # tasks elsewhere keep the desk's app
    app.conf.broker_transport_options = {"visibility_timeout": 4}
    app.control.purge()
    env = {"REDIS_URL": broker, "CELERY_VISIBILITY_TIMEOUT": "4",
           "CELERY_UNACKED_RESTORE_INTERVAL": "1", "CELERY_UNACKED_RESTORE_THROTTLE": "1"}
    source = Source.objects.create(claim=claim, url=slow_site, created_by=alice)

    first = WorkerProcess(tmp_path / "first.log", **env)
    first.start(app=app)
    app.send_task("annotations.tasks.check_source_link", args=[source.pk, "kill-token"])
    wait_until(lambda: SlowOnce.hits >= 1, what="the task to start")
    first.kill()  # mid-fetch: not acknowledged, nothing recorded
    assert not SourceCheck.objects.filter(source=source).exists()

    second = WorkerProcess(tmp_path / "second.log", **env)
    second.start(app=app)
    try:
        wait_until(lambda: SourceCheck.objects.filter(source=source).exists(), timeout=60,
                   what="the redelivered task to finish")
        time.sleep(6)  # past another visibility timeout: it must not run a third time to effect
        assert SourceCheck.objects.filter(source=source).count() == 1
        assert SlowOnce.hits == 2
    finally:
        second.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_as_web(code: str, env: dict) -> str:
    """Run code in a fresh process of the desk (as the web server would)."""
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()\n" + code],
        cwd=ROOT, env=os.environ | {"DJANGO_SETTINGS_MODULE": "tests.settings", "DATABASE_URL": database_url()} | env,
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server to start a broker of its own")
def test_a_claim_submitted_while_redis_is_down_is_notified_once_it_is_back(claim, alice, bob, tmp_path):
    port = free_port()
    broker = f"redis://127.0.0.1:{port}/0"
    env = {"REDIS_URL": broker, "OUTBOX_AUTOSEND": "1"}
    rating = claim.workspace.rating_scale.labels.first()
    from annotations.services.claims import claim_update

    claim = claim_update(claim=claim, actor=alice, revision=claim.revision,
                         fields={"claim_reviewed": "Abadi: not yet", "rating": rating})

    # 1. Redis is down: submitting still succeeds; the notification waits in the outbox.
    out = run_as_web(
        "import time\n"
        "from annotations import outbox\n"
        "from annotations.models import Claim, OutboxMessage\n"
        "from annotations.services.workflow import claim_submit\n"
        f"c = Claim.objects.get(pk={claim.pk})\n"
        "started = time.monotonic()\n"
        "claim_submit(claim=c, actor=c.created_by, revision=c.revision)\n"
        "took = time.monotonic() - started\n"
        "assert outbox.wait_for_sends(timeout=60)\n"
        "m = OutboxMessage.objects.get(task='annotations.tasks.notify_claim_submitted')\n"
        "print(round(took, 2), Claim.objects.get(pk=c.pk).state, m.sent_at, m.attempts, m.last_error[:40])\n",
        env,
    )
    took, state, sent_at, attempts, *error = out.split()
    assert (state, sent_at, attempts) == ("submitted", "None", "1"), out
    assert "Error" in " ".join(error)
    # The request did not wait for the broker that is down: the send ran after it, in the sender thread.
    assert float(took) < 1.0, out

    # 2. Redis comes back, with a worker; the periodic drain delivers what waited.
    redis = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no"], stdout=subprocess.DEVNULL)
    worker = WorkerProcess(tmp_path / "worker.log", **env)
    try:
        app = Celery(broker=broker, backend=broker, set_as_current=False)  # tasks elsewhere keep the desk's app
        wait_until(lambda: _answers(port), timeout=20, what="redis to start")
        worker.start(app=app)
        waiting = OutboxMessage.objects.filter(sent_at__isnull=True).count()
        assert waiting >= 1
        assert run_as_web("from annotations import outbox\nprint(outbox.drain())", env).strip() == str(waiting)
        wait_until(lambda: "Claim waiting for review" in mails(worker.mail_dir), what="the e-mail")
        assert "bob@example.org" in mails(worker.mail_dir)
        assert OutboxMessage.objects.get(task="annotations.tasks.notify_claim_submitted").sent_at is not None
        # Draining again (or a duplicate delivery) sends nothing more.
        assert run_as_web("from annotations import outbox\nprint(outbox.drain())", env).strip() == "0"
        assert NotificationSent.objects.filter(kind="submitted", claim=claim).count() == 1
    finally:
        worker.stop()
        redis.terminate()
        redis.wait(timeout=10)


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False
