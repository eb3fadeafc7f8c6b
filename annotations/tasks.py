"""Celery tasks. Thin by design: fetch by id, call a service, retry here."""

from celery import shared_task
from django.core.cache import cache
from django.db import OperationalError
from django.utils import timezone

HEARTBEAT_KEY = "scheduler-heartbeat"


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


# Retried with exponential backoff (and jitter) when the mail server or a page is down.
RETRY = {
    "autoretry_for": (OSError,),
    "retry_backoff": True,
    "retry_backoff_max": 600,
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
    from annotations.services.matching import claim_match_find

    return claim_match_find(claim_id=claim_id)


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


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=3,
             soft_time_limit=3600, time_limit=3700)
def run_export(self, job_id: int) -> str:
    from annotations.services.exports import export_job_run

    job = export_job_run(job_id=job_id)
    return job.status if job else "missing"


# A deadlock or a dropped connection only rolls back the batch being written: the retry
# goes on from the batches already committed.
@shared_task(bind=True, autoretry_for=(OSError, OperationalError), retry_backoff=True, max_retries=5,
             soft_time_limit=3600, time_limit=3700)
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
@shared_task(bind=True, max_retries=None)
def deliver_webhooks(self, endpoint_id: int) -> int:
    from annotations.publishing.webhooks import webhook_deliver

    run = webhook_deliver(endpoint_id=endpoint_id)
    if run.failed and run.retry_in:
        raise self.retry(countdown=run.retry_in)
    return run.delivered


@shared_task
def webhooks_catch_up() -> int:
    from annotations.publishing.webhooks import webhooks_catch_up as catch_up

    return catch_up()


@shared_task(**RETRY)
def notify_webhook_disabled(endpoint_id: int) -> int:
    from annotations.services.notifications import notify_webhook_disabled as send

    return send(endpoint_id=endpoint_id)
