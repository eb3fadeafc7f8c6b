"""The audit trail's context: who is acting, through which request or task, and why.

Rows of annotations_auditevent are written by a Postgres trigger on every audited
table (migration 0005), so the admin, queryset.update(), the shell and raw SQL are all
recorded. The trigger reads this context from the session setting `factcheck.audit`,
which a database execute-wrapper sets just before the first write that runs under a
new context; reads never pay for it. Writes with no context (a psql session, the
Django shell) are recorded with the database user as their request.
"""

import contextvars
import json
from contextlib import contextmanager

from django.db import connection as default_connection
from django.db.backends.signals import connection_created
from django.dispatch import receiver

# No default: a default dict would be one object shared by every context. An unset
# context reads as a fresh empty one in `current()`.
_context: contextvars.ContextVar[dict] = contextvars.ContextVar("audit_context")
_WRITES = ("insert", "update", "delete")


def current() -> dict:
    return _context.get({})


@contextmanager
def context(**values):
    """Add to the audit context for the duration of the block (actor_id, request, reason,
    transition). Nested blocks merge; the outer values return when the block ends."""
    token = _context.set({**current(), **{k: v for k, v in values.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


def as_actor(service):
    """Run a service under its `actor` keyword argument, so the trail names who acted
    whether the call came from a page, the API (token auth happens after middleware),
    a task or the shell."""
    import functools

    @functools.wraps(service)
    def wrapper(*args, **kwargs):
        actor = kwargs.get("actor")
        with context(actor_id=getattr(actor, "pk", None)):
            return service(*args, **kwargs)

    return wrapper


def _apply(execute, sql, params, many, ctx):
    if sql.lstrip()[:6].lower() in _WRITES:
        audit_context = current()
        desired = json.dumps(audit_context, sort_keys=True) if audit_context else ""
        conn = ctx["connection"]
        if getattr(conn, "_audit_applied", "") != desired:
            with conn.connection.cursor() as raw:
                raw.execute("SELECT set_config('factcheck.audit', %s, false)", [desired])
            conn._audit_applied = desired
    return execute(sql, params, many, ctx)


@receiver(connection_created)
def _install(sender, connection, **kwargs):
    connection._audit_applied = ""
    if _apply not in connection.execute_wrappers:
        connection.execute_wrappers.append(_apply)


def install_on_open_connection() -> None:
    """For a connection opened before this module was imported."""
    if default_connection.connection is not None:
        _install(None, default_connection)


class AuditContextMiddleware:
    """Every request that may write runs under {actor_id, request: "POST /path"}."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return self.get_response(request)
        user = getattr(request, "user", None)
        actor = user.pk if user is not None and user.is_authenticated else None
        with context(actor_id=actor, request=f"{request.method} {request.path}"[:300]):
            return self.get_response(request)


_task_tokens: dict[str, contextvars.Token] = {}


def task_started(task_id: str, task_name: str) -> None:
    """Celery's task_prerun: writes made by a task name it as their request."""
    _task_tokens[task_id] = _context.set({"request": f"task: {task_name}[{task_id}]"})


def task_finished(task_id: str) -> None:
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        _context.reset(token)
