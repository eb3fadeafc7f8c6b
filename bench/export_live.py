"""The export as it was before published records: live rows read in keyset pages and
rendered in Python. Kept only as bench/export.py's reference ("live query" column), served
through the same Django stack as the real export at /bench/live-export.

This is a copy of annotations/exports.py as it stood before the export read published
records; nothing in the desk imports it.
"""

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import StreamingHttpResponse
from django.urls import include, path

from annotations.models import Claim, ClaimState, RatingLabel, Source

PAGE_SIZE = 1000
FORMATS = {
    "jsonl": ("application/x-ndjson", "jsonl"),
    "csv": ("text/csv; charset=utf-8", "csv"),
    "claimreview": ("application/ld+json", "jsonld"),
    "w3c": ("application/ld+json", "jsonld"),
}


@dataclass(frozen=True)
class ExportFilters:
    workspaces: list[int]
    state: str = ClaimState.APPROVED
    rating: int | None = None
    article: int | None = None
    updated_since: datetime | None = None


def verdict_queryset(filters: ExportFilters):
    qs = Claim.objects.filter(workspace_id__in=filters.workspaces, state=filters.state)
    if len(filters.workspaces) == 1:  # equality, so the planner uses claim_export_idx
        qs = Claim.objects.filter(workspace_id=filters.workspaces[0], state=filters.state)
    if filters.rating:
        qs = qs.filter(rating_id=filters.rating)
    if filters.article:
        qs = qs.filter(article_id=filters.article)
    if filters.updated_since:
        qs = qs.filter(updated_at__gte=filters.updated_since)
    return qs


ROW_FIELDS = (
    "id", "workspace_id", "workspace__slug", "workspace__name", "workspace__publisher_name",
    "workspace__publisher_url", "article_id", "article__title", "article__url", "article__publisher",
    "version_id", "version__number", "version__sha256", "version__created_at", "exact", "prefix", "suffix",
    "start_offset", "end_offset", "claim_reviewed", "claimant", "claim_date", "rating__name", "rating__value",
    "rationale", "state", "created_by__username", "first_approved_at", "last_approved_at", "created_at",
    "updated_at",
)
SOURCE_FIELDS = ("claim_id", "url", "title", "publisher", "quote", "stance", "accessed_on", "archive_url")


def verdict_pages(filters: ExportFilters, page_size: int | None = None) -> Iterator[list[dict]]:
    """Pages of plain rows (no model instances: at 100k rows they were most of the
    time), each row with its "sources".

    One workspace at a time, keyset on (updated_at, id) compared as a row value: with
    `workspace_id = x` Postgres walks claim_export_idx and a page costs well under a
    millisecond; with `workspace_id IN (...)` it scanned and sorted the table for every
    page. So a multi-desk export is the desks one after the other."""
    page_size = page_size or PAGE_SIZE
    for workspace_id in sorted(filters.workspaces):
        one = ExportFilters(workspaces=[workspace_id], state=filters.state, rating=filters.rating,
                            article=filters.article, updated_since=filters.updated_since)
        base = (
            verdict_queryset(one).filter(workspace_id=workspace_id)
            .order_by("updated_at", "id").values(*ROW_FIELDS)
        )
        after = None
        while True:
            qs = base if after is None else base.extra(
                where=['("annotations_claim"."updated_at", "annotations_claim"."id") > (%s, %s)'],
                params=list(after),
            )
            page = list(qs[:page_size])
            if not page:
                break
            by_claim: dict[int, list[dict]] = {row["id"]: [] for row in page}
            sources = Source.objects.filter(claim_id__in=by_claim).order_by("claim_id", "id").values(*SOURCE_FIELDS)
            for source in sources:
                by_claim[source["claim_id"]].append(source)
            for row in page:
                row["sources"] = by_claim[row["id"]]
            yield page
            after = (page[-1]["updated_at"], page[-1]["id"])
            if len(page) < page_size:
                break


def scale_bounds(workspaces: list[int]) -> dict[int, tuple[int, int]]:
    """workspace id -> (worst, best) ratingValue of its scale."""
    bounds: dict[int, tuple[int, int]] = {}
    for ws, value in RatingLabel.objects.filter(
        scale__workspace_id__in=workspaces, value__isnull=False
    ).values_list("scale__workspace_id", "value"):
        assert value is not None  # value__isnull=False above
        lo, hi = bounds.get(ws, (value, value))
        bounds[ws] = (min(lo, value), max(hi, value))
    return bounds


def _iso(value) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, (date, datetime)) else str(value)


def claim_api_url(row: dict) -> str:
    return f"{settings.SITE_URL}/api/v1/claims/{row['id']}/"


def article_url(row: dict) -> str:
    return row["article__url"] or f"{settings.SITE_URL}/api/v1/articles/{row['article_id']}/"


def as_record(row: dict) -> dict:
    """The plain record of a verdict (JSON lines)."""
    return {
        "id": row["id"],
        "url": claim_api_url(row),
        "workspace": row["workspace__slug"],
        "article": {"id": row["article_id"], "title": row["article__title"], "url": row["article__url"],
                    "publisher": row["article__publisher"]},
        "version": {"id": row["version_id"], "number": row["version__number"], "sha256": row["version__sha256"]},
        "selectors": {"exact": row["exact"], "prefix": row["prefix"], "suffix": row["suffix"],
                      "start": row["start_offset"], "end": row["end_offset"]},
        "claim_reviewed": row["claim_reviewed"],
        "claimant": row["claimant"],
        "claim_date": _iso(row["claim_date"]),
        "rating": {"name": row["rating__name"], "value": row["rating__value"]} if row["rating__name"] else None,
        "rationale": row["rationale"],
        "state": row["state"],
        "author": row["created_by__username"],
        "date_published": _iso(row["first_approved_at"]),
        "date_modified": _iso(row["last_approved_at"] or row["updated_at"]),
        "updated_at": _iso(row["updated_at"]),
        "sources": [
            {"url": s["url"], "title": s["title"], "publisher": s["publisher"], "quote": s["quote"],
             "stance": s["stance"], "accessed_on": _iso(s["accessed_on"]), "archive_url": s["archive_url"]}
            for s in row["sources"]
        ],
    }


def publisher(row: dict) -> dict:
    org = {"@type": "Organization", "name": row["workspace__publisher_name"] or row["workspace__name"]}
    if row["workspace__publisher_url"]:
        org["url"] = row["workspace__publisher_url"]
    return org


def as_claimreview(row: dict, bounds: dict[int, tuple[int, int]]) -> dict:
    """schema.org ClaimReview, with the fields Google's fact-check markup reads."""
    rating: dict = {"@type": "Rating", "alternateName": row["rating__name"] or ""}
    if row["rating__value"] is not None and row["workspace_id"] in bounds:
        worst, best = bounds[row["workspace_id"]]
        rating.update(ratingValue=row["rating__value"], bestRating=best, worstRating=worst)
    if row["rationale"]:
        rating["ratingExplanation"] = row["rationale"]
    appearance = {"@type": "CreativeWork", "url": article_url(row), "headline": row["article__title"]}
    if row["article__publisher"]:
        appearance["publisher"] = {"@type": "Organization", "name": row["article__publisher"]}
    item: dict = {"@type": "Claim", "appearance": [appearance], "firstAppearance": appearance}
    if row["claimant"]:
        item["author"] = {"@type": "Person", "name": row["claimant"]}
    if row["claim_date"]:
        item["datePublished"] = row["claim_date"].isoformat()
    review = {
        "@context": "https://schema.org",
        "@type": "ClaimReview",
        "url": claim_api_url(row),
        "claimReviewed": row["claim_reviewed"] or row["exact"],
        "reviewRating": rating,
        "itemReviewed": item,
        "author": publisher(row),
    }
    if row["first_approved_at"]:
        review["datePublished"] = row["first_approved_at"].date().isoformat()
    if row["last_approved_at"]:
        review["dateModified"] = row["last_approved_at"].isoformat()
    return review


def as_w3c(row: dict) -> dict:
    """A W3C Web Annotation: the rating and rationale as bodies, the quote as target."""
    bodies = [{"type": "TextualBody", "purpose": "assessing", "format": "text/plain",
               "value": row["rationale"] or row["claim_reviewed"] or row["exact"]}]
    if row["rating__name"]:
        bodies.append({"type": "TextualBody", "purpose": "classifying", "value": row["rating__name"]})
    for source in row["sources"]:
        bodies.append({"type": "SpecificResource", "purpose": "linking", "source": source["url"]})
    return {
        "@context": "http://www.w3.org/ns/anno.jsonld",
        "id": claim_api_url(row),
        "type": "Annotation",
        "motivation": "assessing",
        "created": row["created_at"].isoformat(),
        "modified": (row["last_approved_at"] or row["updated_at"]).isoformat(),
        "creator": publisher(row),
        "body": bodies,
        "target": {
            "source": article_url(row),
            "selector": [
                {"type": "TextQuoteSelector", "exact": row["exact"], "prefix": row["prefix"], "suffix": row["suffix"]},
                {"type": "TextPositionSelector", "start": row["start_offset"], "end": row["end_offset"]},
            ],
            "state": {"type": "TimeState", "sourceDate": row["version__created_at"].isoformat()},
        },
    }


CSV_COLUMNS = [
    "id", "url", "workspace", "article_id", "article_title", "article_url", "version_sha256",
    "exact", "start", "end", "claim_reviewed", "claimant", "claim_date", "rating", "rating_value",
    "rationale", "author", "date_published", "date_modified", "source_urls",
]


def _csv_row(row: dict) -> list:
    r = as_record(row)
    return [
        r["id"], r["url"], r["workspace"], r["article"]["id"], r["article"]["title"], r["article"]["url"],
        r["version"]["sha256"], r["selectors"]["exact"], r["selectors"]["start"], r["selectors"]["end"],
        r["claim_reviewed"], r["claimant"], r["claim_date"] or "",
        (r["rating"] or {}).get("name", ""), (r["rating"] or {}).get("value", "") or "",
        r["rationale"], r["author"], r["date_published"] or "", r["date_modified"] or "",
        " ".join(s["url"] for s in r["sources"]),
    ]


def _dumps(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def render(fmt: str, filters: ExportFilters, on_page=None) -> Iterator[str]:
    """The export as chunks of text, one chunk per page (plus header/brackets)."""
    pages = verdict_pages(filters)
    if fmt == "jsonl":
        for page in pages:
            yield "".join(_dumps(as_record(c)) + "\n" for c in page)
            on_page and on_page(len(page))
    elif fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        yield "\ufeff" + buffer.getvalue()  # the BOM makes spreadsheets read UTF-8
        for page in pages:
            buffer.seek(0)
            buffer.truncate()
            writer.writerows(_csv_row(c) for c in page)
            yield buffer.getvalue()
            on_page and on_page(len(page))
    elif fmt in ("claimreview", "w3c"):
        bounds = scale_bounds(filters.workspaces) if fmt == "claimreview" else {}
        yield "["
        first = True
        for page in pages:
            items = (as_claimreview(c, bounds) if fmt == "claimreview" else as_w3c(c) for c in page)
            chunk = ",\n".join(_dumps(item) for item in items)
            yield ("\n" if first else ",\n") + chunk
            first = False
            on_page and on_page(len(page))
        yield "\n]\n"
    else:
        raise ValueError(f"unknown export format {fmt!r}")


@login_required
def live_export(request):
    fmt = request.GET["format"]
    workspaces = [int(w) for w in request.GET["workspace"].split(",")]
    content_type, extension = FORMATS[fmt]
    response = StreamingHttpResponse(
        (chunk.encode("utf-8") for chunk in render(fmt, ExportFilters(workspaces=workspaces))),
        content_type=content_type,
    )
    response["Content-Disposition"] = f'attachment; filename="verdicts.{extension}"'
    return response


urlpatterns = [
    path("bench/live-export", live_export),
    path("", include("factcheck.urls")),
]
