"""Celery tasks. Thin by design: fetch by id, call a service, retry here.

Every task is a DeskTask (the Celery app's task_cls, so also any @shared_task elsewhere;
tests/test_resilience.py checks): when the database connection drops under a task (a
restart, a failover, a terminated backend), the broken connection is closed and the task
is retried on a fresh one, with backoff. Any other error (an IntegrityError, a
ValidationError, a query cancelled by a timeout) fails the task as before. A retry runs the
whole task again, so every task is idempotent: its services record what they did in the
same transaction (a check's token, a notification's row, a job's status) and skip it the
second time.
"""

import psycopg
from celery import Task, shared_task
from celery.utils.time import get_exponential_backoff_interval
from django import db
from django.core.cache import cache
from django.db import OperationalError
from django.utils import timezone

HEARTBEAT_KEY = "scheduler-heartbeat"

# Retry waits stay well under the broker's visibility timeout (CELERY_VISIBILITY_TIMEOUT,
# 600 s by default): Redis hands an unacknowledged task whose countdown is longer than
# that to a second worker, and it would run twice. tests/test_resilience.py checks it.
RETRY_BACKOFF_MAX = 300

# SQLSTATEs of a connection that is gone: class 08 (connection exception), and the server
# ending sessions: 57P01 admin shutdown (pg_terminate_backend), 57P02 crash shutdown,
# 57P03 cannot connect now (starting up, or in recovery).
_SERVER_GONE = {"57P01", "57P02", "57P03"}


def connection_lost(exc: BaseException) -> bool:
    """True if `exc` says the database connection dropped (worth a retry on a new one), not
    that a statement failed. psycopg's errors as Django wraps them, or raw."""
    if isinstance(exc, (db.InterfaceError, psycopg.InterfaceError)):
        return True  # used after it was closed
    if not isinstance(exc, (db.OperationalError, psycopg.OperationalError)):
        return False
    cause = exc if isinstance(exc, psycopg.Error) else exc.__cause__
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate is None:
        # No answer from the server: the connection could not be made, or it broke
        # ("server closed the connection unexpectedly", "the connection is closed").
        return True
    return sqlstate.startswith("08") or sqlstate in _SERVER_GONE


def close_broken_connections() -> None:
    """Close every database connection of this thread that no longer works, so the retry
    opens a new one (Django's close_old_connections, plus a probe of the connections it
    does not know to be broken: an error raised by psycopg itself)."""
    db.close_old_connections()
    for conn in db.connections.all(initialized_only=True):
        if conn.connection is not None and not conn.in_atomic_block and not conn.is_usable():
            conn.close()


class DeskTask(Task):
    """The base of every task of the desk: retried on a fresh database connection when the
    connection drops."""

    max_retries = 8
    retry_backoff_max = RETRY_BACKOFF_MAX

    def __call__(self, *args, **kwargs):
        if self.request.called_directly:  # a plain function call: no retries, as Celery does it
            return super().__call__(*args, **kwargs)
        # Run by a worker or apply(): the tracer has set up the request (retries, eager).
        try:
            return self.run(*args, **kwargs)
        except (db.OperationalError, db.InterfaceError, psycopg.OperationalError, psycopg.InterfaceError) as exc:
            if not connection_lost(exc):
                raise
            countdown = get_exponential_backoff_interval(
                factor=1, retries=self.request.retries, maximum=RETRY_BACKOFF_MAX, full_jitter=True)
            raise self.retry(exc=exc, countdown=countdown) from exc

    def retry(self, *args, exc=None, **kwargs):
        # Also for a task's own retries (autoretry_for, self.retry): a retry after a dropped
        # connection must not get the broken one back.
        if exc is not None and connection_lost(exc):
            close_broken_connections()
        return super().retry(*args, exc=exc, **kwargs)


@shared_task
def ping() -> str:
    """Proves the path web -> Redis -> worker -> result backend end to end."""
    return "pong"


@shared_task
def heartbeat() -> str:
    """Run by the beat scheduler every minute; /healthz reports when it last ran."""
    now = timezone.now().isoformat()
    cache.set(HEARTBEAT_KEY, now, timeout=None)
    return now


# Also retried with exponential backoff (and jitter) when the mail server or a page is down.
RETRY = {
    "autoretry_for": (OSError,),
    "retry_backoff": True,
    "retry_backoff_max": RETRY_BACKOFF_MAX,
    "retry_jitter": True,
    "max_retries": 8,
}


@shared_task(**RETRY)
def notify_claim_submitted(claim_id: int, revision: int | None = None) -> int:
    """E-mail the desk's reviewers that a claim is waiting. Returns how many were sent."""
    from annotations.services.notifications import notify_claim_submitted as send

    return send(claim_id=claim_id, revision=revision)


@shared_task(**RETRY)
def notify_claim_decided(claim_id: int, revision: int | None = None) -> int:
    """E-mail the author the latest decision on their claim."""
    from annotations.services.notifications import notify_claim_decided as send

    return send(claim_id=claim_id, revision=revision)


@shared_task(**RETRY)
def check_source_link(source_id: int, token: str) -> str:
    from annotations.services.sources import source_check_run

    check = source_check_run(source_id=source_id, token=token)
    return check.status if check else "missing"


@shared_task
def recheck_sources() -> int:
    from annotations.services.sources import sources_recheck_due

    return sources_recheck_due()


@shared_task(**RETRY)
def match_claim(claim_id: int) -> int:
    """Runs on the "matching" queue (CELERY_TASK_ROUTES); coalesced per claim revision."""
    from annotations.services.matching import claim_match_coalesced

    found = claim_match_coalesced(claim_id=claim_id)
    if found is None:  # another worker is matching this claim: look again once it is done
        match_claim.apply_async((claim_id,), countdown=2)
        return 0
    return found


@shared_task
def drain_outbox() -> int:
    from annotations import outbox

    return outbox.drain()


@shared_task
def remind_reviewers() -> int:
    from annotations.services.notifications import remind_reviewers as send

    return send()


@shared_task
def expire_holds() -> int:
    from annotations.services.workflow import holds_expire

    return holds_expire()


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, retry_backoff_max=RETRY_BACKOFF_MAX,
             max_retries=3, soft_time_limit=3600, time_limit=3700)
def run_export(self, job_id: int) -> str:
    from annotations.services.exports import export_job_run

    job = export_job_run(job_id=job_id)
    return job.status if job else "missing"


# A deadlock or a dropped connection only rolls back the batch being written: the retry
# goes on from the batches already committed.
@shared_task(bind=True, autoretry_for=(OSError, OperationalError), retry_backoff=True,
             retry_backoff_max=RETRY_BACKOFF_MAX, max_retries=5, soft_time_limit=3600, time_limit=3700)
def run_republish(self, job_id: int) -> str:
    """New records for a desk's verdicts in force (a label renamed, a new publisher name).
    Idempotent: a re-run or a redelivery rewrites only what is not rewritten yet."""
    from annotations.publishing.services import republish_job_run

    job = republish_job_run(job_id=job_id)
    if job is None:
        return "missing"
    return f"{job.rows_done}/{job.rows_total}"


@shared_task
def expire_exports() -> int:
    from annotations.services.exports import exports_expire

    return exports_expire()


# Retried with doubling waits (capped) until the endpoint answers or, after
# WEBHOOK_MAX_FAILURES failures in a row, is disabled; the beat catch-up covers a lost task.
# The task's own countdown stops at RETRY_BACKOFF_MAX, under the visibility timeout.
@shared_task(bind=True, max_retries=None)
def deliver_webhooks(self, endpoint_id: int) -> int:
    from annotations.publishing.webhooks import webhook_deliver

    run = webhook_deliver(endpoint_id=endpoint_id)
    if run.failed and run.retry_in:
        raise self.retry(countdown=min(run.retry_in, RETRY_BACKOFF_MAX))
    return run.delivered


@shared_task
def webhooks_catch_up() -> int:
    from annotations.publishing.webhooks import webhooks_catch_up as catch_up

    return catch_up()


@shared_task(**RETRY)
def notify_webhook_disabled(endpoint_id: int) -> int:
    from annotations.services.notifications import notify_webhook_disabled as send

    return send(endpoint_id=endpoint_id)


# A dropped connection only rolls back the batch being written: the retry goes on from the
# batches already committed (BulkJob.done).
@shared_task(bind=True, autoretry_for=(OSError, OperationalError), retry_backoff=True,
             retry_backoff_max=RETRY_BACKOFF_MAX, max_retries=5, soft_time_limit=3600, time_limit=3700)
def run_bulk(self, job_id: int) -> str:
    """A bulk action on a large selection of claims (annotations.services.bulk)."""
    from annotations.services.bulk import bulk_job_run

    job = bulk_job_run(job_id=job_id)
    if job is None:
        return "missing"
    return f"{job.done}/{job.total}"


@shared_task
def watch_articles() -> int:
    """Run by the beat: queue a check of every watched article that is due."""
    from annotations.services.articles import articles_watch_due

    due = articles_watch_due()
    for article_id in due:
        watch_article.delay(article_id)
    return len(due)


@shared_task(**RETRY)
def watch_article(article_id: int) -> str:
    """Fetch a watched article's page again; a changed text becomes its next version."""
    from annotations.services.articles import article_watch_check

    return article_watch_check(article_id=article_id)


@shared_task(**RETRY)
def assignment_digest() -> int:
    """Run by the beat: e-mail overdue assignments to their assignees and the desks' admins,
    once a day per person (services.assignments.assignment_digest_send)."""
    from annotations.services.assignments import assignment_digest_send

    return assignment_digest_send()
