"""Exports: a desk's published records in force, streamed by Postgres with COPY.

Each record was rendered once, when it was published (`records`), so an export is
Postgres reading stored text: `COPY (SELECT ...) TO STDOUT` sends the texts in publication
order and they go to the client in blocks of about 64 KB: no Python runs per record but
collecting the message it came in, and nothing is held but the block being filled. The
first block leaves with the first record.

COPY has no raw-text output, so the texts leave in its CSV format with a delimiter (\\x1f)
and a quote character (\\x01) that never occur in a record (JSON escapes control
characters and `records` replaces them in CSV rows). Postgres then sends each text as it
is, except that one holding a line end (a CSV row with a newline in a quoted cell) or
empty is wrapped in the quote character, which is stripped from each block. Each text is
followed by a line end: one record per line (JSON lines, CSV rows) or, for the JSON
arrays, one array element per line with the commas between them written by the query.
"""

from collections.abc import Callable, Generator, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction

from annotations.publishing import records

CHUNK_BYTES = 64 * 1024
QUOTE = b"\x01"
COPY_OPTIONS = "(FORMAT csv, DELIMITER E'\\x1f', QUOTE E'\\x01')"
Params = list[int | datetime | list[int]]


@dataclass(frozen=True)
class Format:
    column: str  # the Publication column that holds the text
    content_type: str
    extension: str
    array: bool = False  # a JSON array: brackets around the records, commas between


FORMATS: dict[str, Format] = {
    "jsonl": Format("jsonl", "application/x-ndjson", "jsonl"),
    "csv": Format("csv", "text/csv; charset=utf-8", "csv"),
    "claimreview": Format("claimreview", "application/ld+json", "jsonld", array=True),
    "w3c": Format("w3c", "application/ld+json", "jsonld", array=True),
}


@dataclass(frozen=True)
class ExportFilters:
    workspaces: tuple[int, ...]  # the desks to export; none exports nothing
    rating: int | None = None
    article: int | None = None
    updated_since: datetime | None = None  # records published (or corrected) since then


def _in_force(*, column: str, filters: ExportFilters) -> tuple[str, Params]:
    """The records in force of the filters' desks, as (id, text) rows.

    One desk is an equality, so Postgres reads it in id order from publication_export_idx;
    several are `= ANY`: in id order from the primary key while they are most of the table,
    or the few rows sorted when they are not."""
    where = ["current"]
    params: Params = []
    if len(filters.workspaces) == 1:
        where.append("workspace_id = %s")
        params.append(filters.workspaces[0])
    else:
        where.append("workspace_id = ANY(%s)")
        params.append(list(filters.workspaces))
    if filters.rating is not None:
        where.append("rating_id = %s")
        params.append(filters.rating)
    if filters.article is not None:
        where.append("article_id = %s")
        params.append(filters.article)
    if filters.updated_since is not None:
        where.append("date_modified >= %s")
        params.append(filters.updated_since)
    return f'SELECT id, "{column}" AS text FROM "annotations_publication" WHERE {" AND ".join(where)}', params


def records_query(*, fmt: str, filters: ExportFilters) -> tuple[str, Params]:
    """The COPY statement of an export and its parameters."""
    spec = FORMATS[fmt]
    rows, params = _in_force(column=spec.column, filters=filters)
    text = "r.text"
    if spec.array:
        # Every element but the last is followed by a comma, whatever the count. The last
        # is found once, by the index, in the statement's own snapshot (cheaper than lead(),
        # whose window keeps a copy of each text).
        text = f"r.text || CASE WHEN r.id = (SELECT max(l.id) FROM ({rows}) AS l) THEN '' ELSE ',' END"
        params = params + params
    return f"COPY (SELECT {text} FROM ({rows}) AS r ORDER BY r.id) TO STDOUT {COPY_OPTIONS}", params


def records_count(*, filters: ExportFilters) -> int:
    if not filters.workspaces:
        return 0
    rows, params = _in_force(column="id", filters=filters)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM ({rows}) AS r", params)
        return cursor.fetchone()[0]


def _opening(spec: Format) -> bytes:
    if spec.column == "csv":
        return ("\ufeff" + records.csv_header() + "\n").encode()  # the BOM makes spreadsheets read UTF-8
    return b"[\n" if spec.array else b""


def records_stream(
    *, fmt: str, filters: ExportFilters, on_rows: Callable[[int], None] | None = None
) -> Generator[bytes, None, None]:
    """The export's bytes. `on_rows` hears how many records each block carried."""
    spec = FORMATS[fmt]
    opening = _opening(spec)
    if opening:
        yield opening
    if filters.workspaces:
        yield from _copied(*records_query(fmt=fmt, filters=filters), on_rows=on_rows)
    if spec.array:
        yield b"]\n"


def _copied(sql: str, params: Params, *, on_rows: Callable[[int], None] | None) -> Iterator[bytes]:
    """COPY's output in blocks of CHUNK_BYTES, the first as soon as the first row is in.

    Postgres sends one CopyData message per row (protocol, "COPY Operations"), so the
    records of a block are its messages: counted without reading them."""
    with transaction.atomic(), connection.cursor() as cursor:
        # Past a million records the plan's cost passes jit_above_cost, and compiling it
        # made the first record wait 100 ms; reading stored text gains nothing from it.
        cursor.execute("SET LOCAL jit = off")
        # Logged like any query where queries are logged (DEBUG, query budgets in tests).
        logged = getattr(cursor, "debug_sql", None)
        with (
            logged(cursor.cursor.mogrify(sql, params)) if logged else nullcontext(),
            cursor.cursor.copy(sql, params) as copy,
        ):
            parts: list = []
            size, limit = 0, 1
            for part in copy:
                parts.append(part)
                size += len(part)
                if size >= limit:
                    yield b"".join(parts).replace(QUOTE, b"")
                    if on_rows is not None:
                        on_rows(len(parts))
                    parts, size, limit = [], 0, CHUNK_BYTES
            if parts:
                yield b"".join(parts).replace(QUOTE, b"")
                if on_rows is not None:
                    on_rows(len(parts))

