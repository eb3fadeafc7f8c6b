"""The Celery application: configured from Django settings (CELERY_*), tasks autodiscovered."""

import contextlib
import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "factcheck.settings")

# Every task's base (also a plain @shared_task's): retried on a new database connection when
# the connection drops; see annotations.tasks.DeskTask.
app = Celery("factcheck", task_cls="annotations.tasks:DeskTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.task_prerun.connect
def _audit_task_context(task_id=None, task=None, **kwargs):
    from annotations import audit

    audit.task_started(task_id, task.name)


@signals.task_postrun.connect
def _audit_task_context_end(task_id=None, **kwargs):
    from annotations import audit

    audit.task_finished(task_id)


@signals.task_failure.connect
def _record_failure(sender=None, task_id=None, exception=None, args=None, **kwargs):
    from annotations.models import TaskFailure

    with contextlib.suppress(Exception):  # recording a failure must never fail the worker
        TaskFailure.objects.create(
            task=getattr(sender, "name", str(sender))[:200], task_id=str(task_id)[:200],
            args=repr(args)[:2000], error=f"{exception.__class__.__name__}: {exception}"[:5000],
        )


@signals.worker_process_init.connect
def _load_the_matching_model(**kwargs):
    """A worker process that takes the matching queue loads the sentence-embedding model as it
    starts (in a thread: process init must be quick), so the first match is not seconds late."""
    if "matching" not in (app.amqp.queues.consume_from or {}):
        return
    import threading

    from annotations import embeddings

    if embeddings.available():
        threading.Thread(target=embeddings.warm, name="load-matching-model", daemon=True).start()
