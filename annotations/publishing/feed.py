"""The change feed: a desk's publication events in the order they committed.

Positions come from the database (Publication.feed_position, see PUBLICATION_FEED_POSITION
in annotations.models): drawn under the lock that every publishing transaction holds until
it commits, so a reader that has seen position N has seen every committed position below
it. Reading `feed_position > after` in that order therefore never skips a transaction that
was still open at the last read, and never returns one twice.

The cursor handed out is opaque: the desk and the position, signed with the project's
secret, so it cannot be edited to read another desk's events or guessed.
"""

import json
import time
from dataclasses import dataclass

from django.core import signing
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from annotations.models import Publication, PublicationKind, Workspace

FEED_FORMATS = ("json", "claimreview")
FEED_LIMIT_DEFAULT = 100
FEED_LIMIT_MAX = 500
FEED_WAIT_MAX = 30
# How often a long poll looks again: a partner waits at most this long past a commit.
FEED_POLL_SECONDS = 0.5
_CURSOR_SALT = "annotations.publishing.feed"

CURSOR_INVALID = ("The cursor in `after` is not one this feed gave out; pass the `next` of a previous page, "
                  "or leave it out to start from the beginning.")
FORMAT_INVALID = "Choose `format` json or claimreview."
LIMIT_INVALID = f"Give `limit` as a whole number from 1 to {FEED_LIMIT_MAX}."
WAIT_INVALID = f"Give `wait` as a whole number of seconds from 0 to {FEED_WAIT_MAX}."


@dataclass(frozen=True)
class FeedPage:
    events: list[dict]
    next: str


def cursor_encode(*, workspace_id: int, position: int) -> str:
    return signing.dumps([workspace_id, position], salt=_CURSOR_SALT, compress=False)


def cursor_decode(*, workspace_id: int, cursor: str) -> int:
    """The position after which to read; a cursor of another desk is as bad as a forged one."""
    if not cursor:
        return 0
    try:
        value = signing.loads(cursor, salt=_CURSOR_SALT)
    except signing.BadSignature:
        raise ValidationError({"after": CURSOR_INVALID}) from None
    if (not isinstance(value, list) or len(value) != 2 or value[0] != workspace_id
            or not isinstance(value[1], int) or value[1] < 0):
        raise ValidationError({"after": CURSOR_INVALID})
    return value[1]


def _bounded(value: str | None, *, field: str, default: int, low: int, high: int, message: str) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationError({field: message}) from None
    if not low <= number <= high:
        raise ValidationError({field: message})
    return number


@dataclass(frozen=True)
class FeedQuery:
    after: int
    limit: int
    fmt: str
    wait: int


def feed_query_parse(*, workspace_id: int, params: dict) -> FeedQuery:
    """Read `after`, `limit`, `format` and `wait`; each bad one gets its sentence."""
    errors: dict[str, list[str]] = {}
    values: dict[str, object] = {}
    checks = {
        "after": lambda: cursor_decode(workspace_id=workspace_id, cursor=params.get("after") or ""),
        "limit": lambda: _bounded(params.get("limit"), field="limit", default=FEED_LIMIT_DEFAULT, low=1,
                                  high=FEED_LIMIT_MAX, message=LIMIT_INVALID),
        "wait": lambda: _bounded(params.get("wait"), field="wait", default=0, low=0, high=FEED_WAIT_MAX,
                                 message=WAIT_INVALID),
        "format": lambda: record_format_check(params.get("format") or "json"),
    }
    for name, check in checks.items():
        try:
            values[name] = check()
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return FeedQuery(after=int(values["after"]), limit=int(values["limit"]),  # type: ignore[call-overload]
                     fmt=str(values["format"]), wait=int(values["wait"]))  # type: ignore[call-overload]


def record_format_check(value: str) -> str:
    if value not in FEED_FORMATS:
        raise ValidationError({"format": FORMAT_INVALID})
    return value


def record_body(*, publication: Publication, fmt: str) -> dict:
    """A record as stored, parsed: the JSON line, or the ClaimReview."""
    return json.loads(publication.claimreview if fmt == "claimreview" else publication.jsonl)


def _event(publication: Publication, *, fmt: str) -> dict:
    if publication.kind == PublicationKind.WITHDRAWN:
        tombstone = json.loads(publication.jsonl)
        record = {"reason": tombstone["reason"], "date_withdrawn": tombstone["date_withdrawn"]}
    else:
        record = record_body(publication=publication, fmt=fmt)
    return {
        "position": cursor_encode(workspace_id=publication.workspace_id, position=publication.feed_position or 0),
        "type": publication.kind,
        "verdict": publication.claim_id,
        "publication": publication.pk,
        "record": record,
    }


def _events_after(*, workspace: Workspace, after: int, limit: int) -> list[Publication]:
    return list(
        Publication.objects.filter(workspace=workspace, feed_position__gt=after)
        .order_by("feed_position")
        .only("id", "workspace_id", "claim_id", "kind", "feed_position", "jsonl", "claimreview")[:limit]
    )


def feed_read(*, workspace: Workspace, query: FeedQuery) -> FeedPage:
    """A page of events after the cursor. With `wait`, an empty page is asked again every
    half second until an event arrives or the wait is over: the request (and, under a sync
    worker, the worker) is held meanwhile."""
    deadline = time.monotonic() + query.wait
    rows = _events_after(workspace=workspace, after=query.after, limit=query.limit)
    while not rows and time.monotonic() < deadline:
        time.sleep(min(FEED_POLL_SECONDS, max(0.0, deadline - time.monotonic())))
        rows = _events_after(workspace=workspace, after=query.after, limit=query.limit)
    last = rows[-1].feed_position if rows else query.after
    return FeedPage(
        events=[_event(row, fmt=query.fmt) for row in rows],
        next=cursor_encode(workspace_id=workspace.pk, position=last or 0),
    )


def verdicts_in_force(*, workspace: Workspace) -> QuerySet[Publication]:
    """The desk's records in force, by publication number (publication_export_idx)."""
    return Publication.objects.filter(workspace=workspace, current=True).only(
        "id", "workspace_id", "claim_id", "kind", "jsonl", "claimreview"
    )
