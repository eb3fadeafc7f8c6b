"""Tasks and a dropped database connection: the task is retried on a new connection and
succeeds, what it had committed is not done twice, and errors that are not a lost
connection fail the task as before. Connections are really terminated
(pg_terminate_backend from a second connection) while the task waits inside its work."""

import threading
import time
from contextlib import contextmanager

import psycopg
import pytest
from celery import shared_task, signals
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import IntegrityError, OperationalError, connection, transaction

from annotations import tasks
from annotations.models import ClaimMatch, NotificationSent
from annotations.services.articles import article_import
from annotations.services.claims import claim_create, claim_update
from tests.conftest import ROOT, claim_in_state, database_url

pytestmark = pytest.mark.django_db(transaction=True)


@contextmanager
def terminated_while_waiting(hold: str, params: tuple):
    """Run `hold` on a second connection and keep its transaction open: an uncommitted row
    a task inserting the same unique key waits for, or a row lock (FOR UPDATE) a task
    updating the row waits for. Then terminate the waiting backend (the task's), and once
    it is gone roll back, so the task's retry goes through. Yields a dict that gets "pid"
    (the backend terminated) and "at_termination" (e-mails sent by then)."""
    blocker = psycopg.connect(database_url())
    watcher = psycopg.connect(database_url(), autocommit=True)
    blocker.execute(hold, params)
    seen: dict = {}

    def watch():
        deadline = time.monotonic() + 60
        try:
            while time.monotonic() < deadline and "pid" not in seen:
                row = watcher.execute("SELECT pid FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))",
                                      (blocker.info.backend_pid,)).fetchone()
                if row:
                    seen["at_termination"] = len(mail.outbox)
                    watcher.execute("SELECT pg_terminate_backend(%s)", row)
                    while watcher.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", row).fetchone():
                        time.sleep(0.02)
                    seen["pid"] = row[0]
                time.sleep(0.02)
        finally:
            blocker.rollback()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        thread.join(timeout=70)
        blocker.close()
        watcher.close()


@pytest.fixture
def retries():
    seen: list[str] = []

    def record(sender=None, reason=None, **kwargs):
        seen.append(f"{sender.name}: {reason!r}")

    signals.task_retry.connect(record, weak=False)
    yield seen
    signals.task_retry.disconnect(record)


def test_every_task_retries_on_a_lost_connection_and_waits_less_than_the_visibility_timeout():
    from factcheck.celery import app

    app.loader.import_default_modules()
    desk_tasks = {name: task for name, task in app.tasks.items() if name.startswith("annotations.")}
    assert "annotations.tasks.match_claim" in desk_tasks
    not_desk = sorted(name for name, task in desk_tasks.items() if not isinstance(task, tasks.DeskTask))
    assert not not_desk, f"not DeskTasks (declared with another base?): {not_desk}"
    # A countdown longer than the visibility timeout is handed to a second worker (twice run).
    visibility = app.conf.broker_transport_options["visibility_timeout"]
    assert visibility > tasks.RETRY_BACKOFF_MAX
    assert all(getattr(task, "retry_backoff_max", 0) <= tasks.RETRY_BACKOFF_MAX for task in desk_tasks.values())


def test_a_notification_task_whose_connection_is_terminated_retries_and_sends_each_mail_once(crew, article, retries):
    from annotations.services.notifications import _reviewers

    claim = claim_in_state("submitted", article, crew)
    recipients = [m.user.email for m in _reviewers(claim)]
    assert len(recipients) == 2  # the reviewer and the admin
    mail.outbox.clear()
    # The task e-mails the first reviewer (committed), then waits to record the second.
    insert = ("INSERT INTO annotations_notificationsent (kind, claim_id, revision, recipient, sent_at) "
              "VALUES ('submitted', %s, %s, %s, now())")
    with terminated_while_waiting(insert, (claim.pk, claim.revision, recipients[-1])) as seen:
        result = tasks.notify_claim_submitted.apply(args=[claim.pk, claim.revision])

    assert seen["at_termination"] == 1  # the first e-mail was out when the connection went
    assert result.successful(), result.traceback
    assert len(retries) == 1 and "terminat" in retries[0], retries
    # The retry sent the second e-mail only: nobody got the same one twice.
    assert sorted(m.to[0] for m in mail.outbox) == sorted(recipients)
    assert NotificationSent.objects.filter(claim=claim).count() == 2
    assert connection.is_usable()  # the broken connection was replaced


@pytest.fixture
def welcome_pair(desk, alice):
    """Two tellings of "Abadi would welcome Russian airstrikes" that match_claim links."""
    def mark(name, quote, restatement):
        article = article_import(workspace=desk, text=next((ROOT / "fixtures" / "articles").glob(f"{name}_*.txt"))
                                 .read_text(), actor=alice).article
        version = article.versions.get()
        start = version.text.index(quote)
        claim = claim_create(actor=alice, article=article, version=version, exact=quote, start=start,
                             end=start + len(quote))
        return claim_update(claim=claim, actor=alice, revision=claim.revision, fields={"claim_reviewed": restatement})

    return (mark("001", "If we get the offer we will consider it and I would welcome it.",
                 "Abadi would welcome Russian airstrikes in Iraq"),
            mark("004", "In actual fact, I would welcome it.", "Iraq's prime minister would welcome Russian strikes"))


def test_match_claim_on_a_real_worker_retries_after_its_connection_is_terminated(celery_worker, welcome_pair):
    first, second = welcome_pair
    insert = ("INSERT INTO annotations_claimmatch (claim_id, other_id, score, status, created_at, updated_at) "
              "VALUES (%s, %s, 0.5, 'suggested', now(), now())")
    with terminated_while_waiting(insert, (first.pk, second.pk)) as seen:
        result = tasks.match_claim.delay(first.pk)
        assert result.get(timeout=90) == 1
    assert "pid" in seen, "the task never waited on the row"
    pairs = set(ClaimMatch.objects.values_list("claim_id", "other_id"))
    assert pairs == {(first.pk, second.pk), (second.pk, first.pk)}
    log = celery_worker.log_path.read_text(errors="replace")
    assert f"match_claim[{result.id}] retry" in log and "terminat" in log


@shared_task(name="tests.test_resilience.rescore")
def rescore(match_id: int) -> int:
    """An update outside any transaction: when its connection is terminated nothing of
    Django's closes it, the retry must."""
    return ClaimMatch.objects.filter(pk=match_id).update(score=0.75)


def test_a_connection_lost_outside_a_transaction_is_replaced_for_the_retry(welcome_pair, retries):
    first, second = welcome_pair
    match = ClaimMatch.objects.create(claim=first, other=second, score=0.5)
    with terminated_while_waiting("SELECT 1 FROM annotations_claimmatch WHERE id = %s FOR UPDATE", (match.pk,)):
        result = rescore.apply(args=[match.pk])
    assert result.successful() and result.result == 1, result.traceback
    assert len(retries) == 1
    match.refresh_from_db()
    assert match.score == 0.75


@shared_task(name="tests.test_resilience.fail_with")
def fail_with(kind: str, claim_id: int) -> str:
    if kind == "integrity":  # a claim suggested as a match of itself: a check constraint
        ClaimMatch.objects.create(claim_id=claim_id, other_id=claim_id, score=0.5)
    elif kind == "validation":
        raise ValidationError({"url": "Give `url` as an https address."})
    elif kind == "statement timeout":  # an OperationalError, but the connection is fine
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = '10ms'")
            cursor.execute("SELECT pg_sleep(1)")
    return "done"


@pytest.mark.parametrize("kind, error", [
    ("integrity", IntegrityError), ("validation", ValidationError), ("statement timeout", OperationalError),
])
def test_errors_that_are_not_a_lost_connection_fail_the_task_without_a_retry(kind, error, welcome_pair, retries):
    result = fail_with.apply(args=[kind, welcome_pair[0].pk])
    assert result.failed() and isinstance(result.result, error), result.result
    assert retries == []
    assert not tasks.connection_lost(result.result)
