"""The transactional outbox: tasks are recorded with the change that needs them and sent
to the broker after commit. If Redis is down the request still succeeds; the periodic
drain (or the next send that works) delivers what is waiting, in order."""

import logging

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from annotations.models import OutboxMessage

log = logging.getLogger(__name__)


def enqueue(task_name: str, *args) -> OutboxMessage:
    """Record a task to run once this transaction commits."""
    message = OutboxMessage.objects.create(task=task_name, args=list(args))
    if settings.OUTBOX_AUTOSEND:
        transaction.on_commit(lambda: send(message.pk))
    return message


def send(message_id: int) -> bool:
    """Hand one message to the broker; False (and recorded) if the broker is unreachable."""
    from factcheck.celery import app

    message = OutboxMessage.objects.filter(pk=message_id, sent_at__isnull=True).first()
    if message is None:
        return True
    try:
        app.send_task(message.task, args=message.args, task_id=f"outbox-{message.pk}-{message.attempts}",
                      retry=False)
    except Exception as exc:  # the broker is down or refused: keep it for the drain
        OutboxMessage.objects.filter(pk=message.pk).update(
            attempts=F("attempts") + 1, last_error=f"{exc.__class__.__name__}: {exc}"[:500]
        )
        log.warning("Outbox message %s not sent yet: %s", message.pk, exc)
        return False
    OutboxMessage.objects.filter(pk=message.pk).update(sent_at=timezone.now(), attempts=F("attempts") + 1)
    return True


def drain(limit: int = 500) -> int:
    """Send what is waiting, oldest first; stop at the first failure (the broker is down)."""
    sent = 0
    for message_id in OutboxMessage.objects.filter(sent_at__isnull=True).order_by("id").values_list("id", flat=True)[:limit]:
        if not send(message_id):
            break
        sent += 1
    return sent
