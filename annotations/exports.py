"""Verdict export: rows read in keyset pages and written out as they are read.

Nothing holds the whole export: `verdict_pages` reads PAGE_SIZE claims at a time,
ordered by (updated_at, id) and resuming after the last one (two queries a page: the
claims with their article, version and rating, then their sources), and each format
turns a page into text. Memory is one page, whatever the count.
"""

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.db.models import Prefetch, Q

from annotations.models import Claim, ClaimState, RatingLabel, Source, Workspace

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
    if filters.rating:
        qs = qs.filter(rating_id=filters.rating)
    if filters.article:
        qs = qs.filter(article_id=filters.article)
    if filters.updated_since:
        qs = qs.filter(updated_at__gte=filters.updated_since)
    return qs


def verdict_pages(filters: ExportFilters, page_size: int | None = None) -> Iterator[list[Claim]]:
    page_size = page_size or PAGE_SIZE
    base = (
        verdict_queryset(filters)
        .select_related("workspace", "article", "version", "rating", "created_by")
        .prefetch_related(Prefetch("sources", queryset=Source.objects.order_by("id")))
        .order_by("updated_at", "id")
    )
    after = None
    while True:
        qs = base if after is None else base.filter(
            Q(updated_at__gt=after[0]) | Q(updated_at=after[0], id__gt=after[1])
        )
        page = list(qs[:page_size])
        if not page:
            return
        yield page
        after = (page[-1].updated_at, page[-1].pk)
        if len(page) < page_size:
            return


def scale_bounds(workspaces: list[int]) -> dict[int, tuple[int, int]]:
    """workspace id -> (worst, best) ratingValue of its scale."""
    bounds: dict[int, tuple[int, int]] = {}
    for ws, value in RatingLabel.objects.filter(
        scale__workspace_id__in=workspaces, value__isnull=False
    ).values_list("scale__workspace_id", "value"):
        lo, hi = bounds.get(ws, (value, value))
        bounds[ws] = (min(lo, value), max(hi, value))
    return bounds


def _iso(value) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, (date, datetime)) else str(value)


def claim_api_url(claim: Claim) -> str:
    return f"{settings.SITE_URL}/api/v1/claims/{claim.pk}/"


def article_url(claim: Claim) -> str:
    return claim.article.url or f"{settings.SITE_URL}/api/v1/articles/{claim.article_id}/"


def as_record(claim: Claim) -> dict:
    """The plain record of a verdict (JSON lines)."""
    return {
        "id": claim.pk,
        "url": claim_api_url(claim),
        "workspace": claim.workspace.slug,
        "article": {"id": claim.article_id, "title": claim.article.title, "url": claim.article.url,
                    "publisher": claim.article.publisher},
        "version": {"id": claim.version_id, "number": claim.version.number, "sha256": claim.version.sha256},
        "selectors": {"exact": claim.exact, "prefix": claim.prefix, "suffix": claim.suffix,
                      "start": claim.start_offset, "end": claim.end_offset},
        "claim_reviewed": claim.claim_reviewed,
        "claimant": claim.claimant,
        "claim_date": _iso(claim.claim_date),
        "rating": {"name": claim.rating.name, "value": claim.rating.value} if claim.rating else None,
        "rationale": claim.rationale,
        "state": claim.state,
        "author": claim.created_by.get_username(),
        "date_published": _iso(claim.first_approved_at),
        "date_modified": _iso(claim.last_approved_at or claim.updated_at),
        "updated_at": _iso(claim.updated_at),
        "sources": [
            {"url": s.url, "title": s.title, "publisher": s.publisher, "quote": s.quote,
             "stance": s.stance, "accessed_on": _iso(s.accessed_on), "archive_url": s.archive_url}
            for s in claim.sources.all()
        ],
    }


def as_claimreview(claim: Claim, bounds: dict[int, tuple[int, int]]) -> dict:
    """schema.org ClaimReview, with the fields Google's fact-check markup reads."""
    workspace: Workspace = claim.workspace
    rating: dict = {"@type": "Rating", "alternateName": claim.rating.name if claim.rating else ""}
    if claim.rating and claim.rating.value is not None and workspace.pk in bounds:
        worst, best = bounds[workspace.pk]
        rating.update(ratingValue=claim.rating.value, bestRating=best, worstRating=worst)
    if claim.rationale:
        rating["ratingExplanation"] = claim.rationale
    appearance = {"@type": "CreativeWork", "url": article_url(claim), "headline": claim.article.title}
    if claim.article.publisher:
        appearance["publisher"] = {"@type": "Organization", "name": claim.article.publisher}
    item: dict = {"@type": "Claim", "appearance": [appearance], "firstAppearance": appearance}
    if claim.claimant:
        item["author"] = {"@type": "Person", "name": claim.claimant}
    if claim.claim_date:
        item["datePublished"] = claim.claim_date.isoformat()
    author = {"@type": "Organization", "name": workspace.publisher_name or workspace.name}
    if workspace.publisher_url:
        author["url"] = workspace.publisher_url
    review = {
        "@context": "https://schema.org",
        "@type": "ClaimReview",
        "url": claim_api_url(claim),
        "claimReviewed": claim.claim_reviewed or claim.exact,
        "reviewRating": rating,
        "itemReviewed": item,
        "author": author,
    }
    if claim.first_approved_at:
        review["datePublished"] = claim.first_approved_at.date().isoformat()
    if claim.last_approved_at:
        review["dateModified"] = claim.last_approved_at.isoformat()
    return review


def as_w3c(claim: Claim) -> dict:
    """A W3C Web Annotation: the rating and rationale as bodies, the quote as target."""
    bodies = [{"type": "TextualBody", "purpose": "assessing", "format": "text/plain",
               "value": claim.rationale or claim.claim_reviewed or claim.exact}]
    if claim.rating:
        bodies.append({"type": "TextualBody", "purpose": "classifying", "value": claim.rating.name})
    for source in claim.sources.all():
        bodies.append({"type": "SpecificResource", "purpose": "linking", "source": source.url})
    return {
        "@context": "http://www.w3.org/ns/anno.jsonld",
        "id": claim_api_url(claim),
        "type": "Annotation",
        "motivation": "assessing",
        "created": claim.created_at.isoformat(),
        "modified": (claim.last_approved_at or claim.updated_at).isoformat(),
        "creator": {"type": "Organization", "name": claim.workspace.publisher_name or claim.workspace.name},
        "body": bodies,
        "target": {
            "source": article_url(claim),
            "selector": [
                {"type": "TextQuoteSelector", "exact": claim.exact, "prefix": claim.prefix, "suffix": claim.suffix},
                {"type": "TextPositionSelector", "start": claim.start_offset, "end": claim.end_offset},
            ],
            "state": {"type": "TimeState", "sourceDate": claim.version.created_at.isoformat()},
        },
    }


CSV_COLUMNS = [
    "id", "url", "workspace", "article_id", "article_title", "article_url", "version_sha256",
    "exact", "start", "end", "claim_reviewed", "claimant", "claim_date", "rating", "rating_value",
    "rationale", "author", "date_published", "date_modified", "source_urls",
]


def _csv_row(claim: Claim) -> list:
    r = as_record(claim)
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
