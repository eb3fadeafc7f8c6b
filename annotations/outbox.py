"""The transactional outbox: tasks are recorded with the change that needs them and sent
to the broker after commit. If Redis is down the request still succeeds; the periodic
drain (or the next send that works) delivers what is waiting, in order.

A send is bounded: its own broker connection with short connect and socket timeouts
(OUTBOX_SEND_TIMEOUT), no connection retries, and no subscription to a result (nobody
waits for the result of an outbox task; subscribing to one retries for ~20 s when Redis
is down). When Redis is down a send gives up within about a second and the message waits
for the drain.
"""

import contextlib
import logging
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait

from django import db
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from kombu import Connection

from annotations.models import OutboxMessage

log = logging.getLogger(__name__)


def enqueue(task_name: str, *args) -> OutboxMessage:
    """Record a task to run once this transaction commits."""
    message = OutboxMessage.objects.create(task=task_name, args=list(args))
    if settings.OUTBOX_AUTOSEND:
        transaction.on_commit(lambda: send_soon(message.pk))
    return message


# After commit, the send is handed to one sender thread of this process: a request never
# waits on Redis (a round trip when it is up, a connection timeout when it is down). If the
# process dies first, the message is still in the table and the periodic drain sends it.
_sender: ThreadPoolExecutor | None = None
_sender_pid: int | None = None
_pending: set[Future] = set()
_lock = threading.Lock()


def send_soon(message_id: int) -> Future:
    global _sender, _sender_pid
    with _lock:
        if _sender is None or _sender_pid != os.getpid():  # a fresh one after a fork
            _sender = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox-sender")
            _sender_pid = os.getpid()
            _pending.clear()
        future = _sender.submit(_send_in_sender, message_id)
        _pending.add(future)
    future.add_done_callback(_pending.discard)
    return future


def _send_in_sender(message_id: int) -> bool:
    try:
        return send(message_id)
    except Exception:  # the database went away: the drain will send it
        log.exception("Outbox message %s could not be sent from the sender thread", message_id)
        return False
    finally:
        db.connection.close()  # the thread's own connection; nothing stays open between sends


def wait_for_sends(timeout: float = 10) -> bool:
    """Wait until the sends handed to the sender thread are done (tests, orderly shutdown)."""
    with _lock:
        pending = list(_pending)
    _, not_done = futures_wait(pending, timeout=timeout)
    return not not_done


def broker_connection() -> Connection:
    """A connection to the broker for sends that must not hang: short timeouts, no retries."""
    from factcheck.celery import app

    timeout = settings.OUTBOX_SEND_TIMEOUT
    options = dict(app.conf.broker_transport_options or {})
    options.update(
        socket_connect_timeout=timeout, socket_timeout=timeout, retry_on_timeout=False,
        max_retries=0,  # kombu: fail at the first refused or timed-out connect
    )
    return app.connection_for_write(connect_timeout=timeout, transport_options=options)


def send(message_id: int, *, connection: Connection | None = None) -> bool:
    """Hand one message to the broker; False (and recorded) if the broker is unreachable."""
    from factcheck.celery import app

    message = OutboxMessage.objects.filter(pk=message_id, sent_at__isnull=True).first()
    if message is None:
        return True
    try:
        with contextlib.ExitStack() as stack:
            if connection is None:
                connection = stack.enter_context(broker_connection())
            app.send_task(message.task, args=message.args, task_id=f"outbox-{message.pk}-{message.attempts}",
                          retry=False, ignore_result=True, connection=connection)
    except Exception as exc:  # the broker is down or refused: keep it for the drain
        OutboxMessage.objects.filter(pk=message.pk).update(
            attempts=F("attempts") + 1, last_error=f"{exc.__class__.__name__}: {exc}"[:500]
        )
        log.warning("Outbox message %s not sent yet: %s", message.pk, exc)
        return False
    OutboxMessage.objects.filter(pk=message.pk).update(sent_at=timezone.now(), attempts=F("attempts") + 1)
    return True


def drain(limit: int = 500) -> int:
    """Send what is waiting, oldest first, over one connection; stop at the first failure
    (the broker is down)."""
    sent = 0
    waiting = OutboxMessage.objects.filter(sent_at__isnull=True).order_by("id").values_list("id", flat=True)
    with broker_connection() as connection:
        for message_id in waiting[:limit]:
            if not send(message_id, connection=connection):
                break
            sent += 1
    return sent
