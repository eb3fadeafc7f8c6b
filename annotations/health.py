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


def _in_words(seconds: int) -> str:
    """600 -> "10 minutes", 100 -> "1 minute 40 seconds", 3600 -> "1 hour"."""
    parts = []
    for unit, size in (("hour", 3600), ("minute", 60), ("second", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {unit}{'' if count == 1 else 's'}")
    return " ".join(parts) or "0 seconds"


def redelivery_delay() -> dict:
    """How long a task of a killed worker waits before the broker hands it to another
    worker, from Celery's broker_transport_options: for the operations page."""
    from factcheck.celery import app

    broker = str(app.conf.broker_url or "")
    if not broker.startswith(("redis://", "rediss://")):
        return {"visibility_timeout": None, "sweep": None,
                "sentence": "Tasks of a worker that was killed are delivered again as soon as the broker "
                            "notices that its connection is gone."}
    options = app.conf.broker_transport_options or {}
    timeout = int(options.get("visibility_timeout", 3600))  # kombu's own default: an hour
    sweep = int(options.get("unacked_restore_interval", 10)) * int(options.get("unacked_restore_throttle", 10))
    return {
        "visibility_timeout": timeout,
        "sweep": sweep,
        "sentence": f"Tasks of a worker that was killed are delivered again after {_in_words(timeout)} "
                    f"(the broker's visibility timeout), or up to {_in_words(sweep)} later, when a running "
                    f"worker next looks for them.",
    }
