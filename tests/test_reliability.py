"""Background work through real workers on real Redis: nothing lost, nothing done twice."""

import json
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


# A web process editing a claim through the page, then submitting it: it prints how long
# each request took, how long the sender thread then took to hand the messages to the
# broker (or give up), and what the outbox holds.
EDIT_AND_SUBMIT = """
import json, time
from django.test import Client
from annotations import outbox
from annotations.models import Claim, OutboxMessage
from annotations.services.workflow import claim_submit

c = Claim.objects.get(pk={claim})
client = Client()
client.force_login(c.created_by)
form = {{
    "revision": c.revision, "claim_reviewed": "Abadi: not yet", "claimant": "Haider al-Abadi",
    "claim_date": "2015-10-01", "rating": c.rating_id, "rationale": "On record.",
    "sources-TOTAL_FORMS": "1" if "{url}" else "0", "sources-INITIAL_FORMS": "0",
    "sources-MIN_NUM_FORMS": "0", "sources-MAX_NUM_FORMS": "1000",
    "sources-0-url": "{url}", "sources-0-stance": "supports", "sources-0-title": "", "sources-0-publisher": "",
    "sources-0-quote": "", "sources-0-accessed_on": "", "sources-0-archive_url": "",
}}
url = "/w/%s/claims/%s/" % (c.workspace.slug, c.pk)
assert client.get(url).status_code == 200  # a web process that has served pages before
started = time.monotonic()
response = client.post(url, form)
edit = time.monotonic() - started
assert response.status_code == 302, (response.status_code, response.content.decode()[-3000:])
submit = None
if {submit}:
    c.refresh_from_db()
    started = time.monotonic()
    claim_submit(claim=c, actor=c.created_by, revision=c.revision)
    submit = time.monotonic() - started
started = time.monotonic()
assert outbox.wait_for_sends(timeout=120)
sends = time.monotonic() - started
print(json.dumps({{"edit": edit, "submit": submit, "sends": sends, "state": Claim.objects.get(pk=c.pk).state,
                  "waiting": list(OutboxMessage.objects.filter(sent_at__isnull=True)
                                  .values_list("task", "attempts", "last_error"))}}))
"""


def start_redis(port: int) -> subprocess.Popen:
    redis = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no"], stdout=subprocess.DEVNULL)
    wait_until(lambda: _answers(port), timeout=20, what="redis to start")
    return redis


def stop_redis(redis: subprocess.Popen) -> None:
    redis.terminate()
    redis.wait(timeout=10)


@pytest.fixture
def hung_redis():
    """A "Redis" that accepts connections and never answers (a hung server, or packets
    dropped on the way): only timeouts end a send to it."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def accept():
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    server.close()
    for conn in held:
        conn.close()


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server to start a broker of its own")
def test_with_redis_down_a_claim_edit_returns_at_once_and_its_tasks_are_delivered_once_it_is_back(
        claim, alice, bob, tmp_path, slow_site, hung_redis):
    SlowOnce.hits = 1  # the evidence page answers at once
    port = free_port()
    broker = f"redis://127.0.0.1:{port}/0"
    env = {"REDIS_URL": broker, "OUTBOX_AUTOSEND": "1"}
    rating = claim.workspace.rating_scale.labels.first()
    from annotations.services.claims import claim_update

    claim = claim_update(claim=claim, actor=alice, revision=claim.revision,
                         fields={"claim_reviewed": "Abadi: not yet", "rating": rating})
    stop_redis(start_redis(port))  # the desk's Redis was there, and now is gone

    # 1. Redis is down: the edit (a new source: a link check and a match to send) answers
    # at once; each send gives up at the first refused connection, without retries, and
    # the messages wait in the outbox.
    out = json.loads(run_as_web(EDIT_AND_SUBMIT.format(claim=claim.pk, url=slow_site, submit=False), env))
    assert out["edit"] < 2.0, out
    waiting = {task: (attempts, error) for task, attempts, error in out["waiting"]}
    assert {"annotations.tasks.check_source_link", "annotations.tasks.match_claim"} <= set(waiting), out
    assert all(attempts >= 1 and "Error 111" in error for attempts, error in waiting.values()), out
    assert out["sends"] < 0.5, out  # was ~20 s a message: retries to reach the result store

    # 2. A Redis that hangs: the edit and the submission (a notification to send) answer at
    # once too; each send ends at its timeouts (OUTBOX_SEND_TIMEOUT: 0.5 s to connect,
    # 0.5 s for an answer).
    out = json.loads(run_as_web(EDIT_AND_SUBMIT.format(claim=claim.pk, url="", submit=True),
                                env | {"REDIS_URL": hung_redis}))
    assert out["edit"] < 2.0 and out["submit"] < 2.0 and out["state"] == "submitted", out
    assert 0.4 * 2 < out["sends"] < 1.2 * 2, out  # two messages: the match and the notification
    assert any(task == "annotations.tasks.notify_claim_submitted" and "Timeout" in error
               for task, _, error in out["waiting"]), out

    # 3. Redis comes back, with a worker; the periodic drain delivers what waited, in order.
    redis = start_redis(port)
    worker = WorkerProcess(tmp_path / "worker.log", **env)
    try:
        app = Celery(broker=broker, backend=broker, set_as_current=False)  # tasks elsewhere keep the desk's app
        worker.start(app=app)
        backlog = OutboxMessage.objects.filter(sent_at__isnull=True).count()
        assert backlog >= 3
        assert run_as_web("from annotations import outbox\nprint(outbox.drain())", env).strip() == str(backlog)
        source = Source.objects.get(claim=claim, url=slow_site)
        wait_until(lambda: SourceCheck.objects.filter(source=source, status="ok").exists(), what="the link check")
        wait_until(lambda: "Claim waiting for review" in mails(worker.mail_dir), what="the e-mail")
        assert "bob@example.org" in mails(worker.mail_dir)
        assert not OutboxMessage.objects.filter(sent_at__isnull=True).exists()
        # Draining again (or a duplicate delivery) sends nothing more.
        assert run_as_web("from annotations import outbox\nprint(outbox.drain())", env).strip() == "0"
        assert NotificationSent.objects.filter(kind="submitted", claim=claim).count() == 1
    finally:
        worker.stop()
        stop_redis(redis)


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False
