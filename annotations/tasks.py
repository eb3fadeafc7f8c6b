"""Celery tasks. Thin by design: fetch by id, call a service, retry here."""

from celery import shared_task
from django.core.cache import cache
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
