"""Probes for /healthz: each returns (ok, detail) and never raises."""

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from annotations.tasks import HEARTBEAT_KEY


def check_database() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means "down"; the detail says which
        return False, f"database unreachable: {exc.__class__.__name__}: {str(exc).strip()[:200]}"
    return True, "ok"


def check_redis() -> tuple[bool, str]:
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
        client.ping()
    except Exception as exc:
        return False, f"redis unreachable: {exc.__class__.__name__}: {str(exc).strip()[:200]}"
    return True, "ok"


def check_workers(timeout: float = 1.0) -> tuple[bool, str]:
    from factcheck.celery import app

    try:
        replies = app.control.ping(timeout=timeout)
    except Exception as exc:
        return False, f"cannot ask workers: {exc.__class__.__name__}: {str(exc).strip()[:200]}"
    if not replies:
        return False, "no Celery worker answered"
    return True, f"{len(replies)} worker(s) answered"


def last_scheduler_beat() -> str | None:
    try:
        return cache.get(HEARTBEAT_KEY)
    except Exception:
        return None
