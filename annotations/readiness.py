"""Beat's first sign of life: a heartbeat sent as the scheduler starts.

The beat schedule sends `annotations.tasks.heartbeat` every minute, counted from when the
entry was created, so a new desk would wait a minute before /healthz reports a scheduler
beat. Sent at start too, the heartbeat reaches the worker as soon as both run; `./desk run`
waits for it (scripts/services.py desk-ready) before saying the desk is up.
Imported by the worker and beat through CELERY_IMPORTS (factcheck/settings.py).
"""

import logging

from celery import signals

logger = logging.getLogger(__name__)


@signals.beat_init.connect
def send_heartbeat_at_start(sender=None, **kwargs) -> None:
    from annotations.tasks import heartbeat

    try:
        heartbeat.apply_async(expires=120)
    except Exception as exc:  # the broker is down: the schedule sends it later
        logger.warning("Could not send the start-up heartbeat: %s", exc)
