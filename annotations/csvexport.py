"""One CSV writer for every list page's "Download CSV" (articles, claims, queue, my claims,
audit log) and the bulk "Export the selection".

The rows are exactly the page's filtered queryset, read as plain values (joins, no model
instances) from a server-side cursor in chunks, and written as they are read: one query
per export however many rows, and flat memory at 100k rows. Columns are named in plain
words; times are shown in the user's time zone; the file starts with a UTF-8 byte order
mark, so spreadsheets read Arabic and accents right. A cell that a spreadsheet would run
as a formula (it starts with =, +, -, @, a tab or a carriage return) is prefixed with a
single quote, as OWASP recommends (https://owasp.org/www-community/attacks/CSV_Injection).
"""

import csv
import datetime
import zoneinfo
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils.text import slugify

BOM = "\ufeff"
CHUNK_SIZE = 2000
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> str:
    """A cell as text, with a leading quote if a spreadsheet would read it as a formula."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def zone_of(name: str) -> datetime.tzinfo:
    try:
        return zoneinfo.ZoneInfo(name or settings.TIME_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(settings.TIME_ZONE)


@dataclass(frozen=True)
class Column:
    title: str  # the header, in plain words
    key: str  # the key of the values() row
    shown: Callable[[Any], Any] | None = None  # how a value is written, if not as text


class _Line:
    """A file-like object csv.writer writes one line into; the line is handed on at once."""

    def write(self, value: str) -> str:
        return value


def _cell(value: Any, tz: datetime.tzinfo) -> Any:
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(tz)
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def lines(rows: Iterable[dict], columns: list[Column], tz: datetime.tzinfo) -> Iterator[str]:
    """The CSV text, a line at a time: the BOM and the header first."""
    writer = csv.writer(_Line())
    yield BOM + writer.writerow([c.title for c in columns])
    for row in rows:
        yield writer.writerow([
            neutralise(_cell(c.shown(row[c.key]) if c.shown else row[c.key], tz)) for c in columns
        ])


def response(
    rows: QuerySet | Iterable[dict], columns: list[Column], *, name: str, time_zone: str
) -> StreamingHttpResponse:
    """A streamed download of `rows` (a values() queryset is read in chunks from a
    server-side cursor)."""
    if isinstance(rows, QuerySet):
        rows = rows.iterator(chunk_size=CHUNK_SIZE)
    body = (line.encode("utf-8") for line in lines(rows, columns, zone_of(time_zone)))
    resp = StreamingHttpResponse(body, content_type="text/csv; charset=utf-8")
    stamp = datetime.datetime.now(zone_of(time_zone)).strftime("%Y-%m-%d")
    resp["Content-Disposition"] = f'attachment; filename="{slugify(name) or "list"}-{stamp}.csv"'
    resp["Cache-Control"] = "private, no-store"
    return resp


def wants_csv(request) -> bool:
    return request.GET.get("download") == "csv"


# --- What each list writes -------------------------------------------------------------

def _state(value: str) -> str:
    from annotations.workflow import ClaimState

    return dict(ClaimState.choices).get(value, value)


def _yes_no(value: Any) -> str:
    return "yes" if value else "no"


CLAIM_COLUMNS = [
    Column("Claim", "id"),
    Column("Article", "article__title"),
    Column("Article address", "article__url"),
    Column("Quoted text", "exact"),
    Column("Restatement", "claim_reviewed"),
    Column("Claimant", "claimant"),
    Column("Claim date", "claim_date"),
    Column("Rating", "rating__name"),
    Column("State", "state", _state),
    Column("Author", "created_by__username"),
    Column("Held by", "held_by__username"),
    Column("Submitted", "submitted_at"),
    Column("Last changed", "updated_at"),
    Column("Revision", "revision"),
]


def claim_rows(claims: QuerySet) -> QuerySet:
    """The claims of a list as CSV rows: one query, its names joined in."""
    return claims.prefetch_related(None).values(*[c.key for c in CLAIM_COLUMNS])


QUEUE_COLUMNS = [*CLAIM_COLUMNS[:10], Column("Source problem", "source_problem", _yes_no), *CLAIM_COLUMNS[11:]]


def queue_rows(claims: QuerySet) -> QuerySet:
    return claims.prefetch_related(None).values(*[c.key for c in QUEUE_COLUMNS])


ARTICLE_COLUMNS = [
    Column("Article", "id"),
    Column("Title", "title"),
    Column("Publisher", "publisher"),
    Column("Address", "url"),
    Column("Latest version", "latest_version"),
    Column("Claims", "claim_count"),
    Column("Drafts", "n_draft"),
    Column("Submitted", "n_submitted"),
    Column("In review", "n_in_review"),
    Column("Approved", "n_approved"),
    Column("Changes requested", "n_changes_requested"),
    Column("Rejected", "n_rejected"),
    Column("Added", "created_at"),
]


def article_rows(articles: QuerySet) -> QuerySet:
    return articles.values(*[c.key for c in ARTICLE_COLUMNS])


def _action(value: str) -> str:
    from annotations.history import action_label

    return action_label(value)


AUDIT_COLUMNS = [
    Column("Event", "id"),
    Column("When", "occurred_at"),
    Column("Who", "actor__username"),
    Column("What", "action", _action),
    Column("Object type", "object_type"),
    Column("Object", "object_id"),
    Column("Claim", "claim_id"),
    Column("Reason", "reason"),
    Column("Through", "request"),
]


def audit_rows(events: QuerySet) -> QuerySet:
    return events.values(*[c.key for c in AUDIT_COLUMNS])
