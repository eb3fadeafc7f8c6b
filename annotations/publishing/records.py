"""A verdict rendered once, at publication, in every format it leaves the desk in.

Pure functions of a snapshot (what `selectors.claim_publication_snapshot` read when the
claim was approved) and the record's own facts (number, dates, reason, public URL).
Nothing here reads the database, so a record's bytes depend only on what was published.

The texts are stored as they are sent: a JSON line, a CSV row (without its line end,
which the export adds), a ClaimReview object and a W3C Web Annotation. None of them
contains a raw control character (JSON escapes them, the CSV row replaces them), which is
what lets the export stream them with COPY untouched (see `publishing.exports`).
"""

import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import datetime

CSV_COLUMNS = [
    "id", "url", "workspace", "article_id", "article_title", "article_url", "version_sha256",
    "exact", "start", "end", "claim_reviewed", "claimant", "claim_date", "rating", "rating_value",
    "rationale", "date_published", "date_modified", "publication", "correction_reason", "source_urls",
]
# Control characters but tab, line feed and carriage return: never sent raw.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Cells a spreadsheet would run as a formula (OWASP CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class RecordFacts:
    """What is true of this record rather than of the verdict."""

    number: int  # the publication number, unique across the desk
    date_published: datetime  # when the verdict was first published
    date_modified: datetime  # when this record was published
    reason: str  # why it was corrected; empty for a first publication
    public_url: str  # the verdict's page (ClaimReview's url)


@dataclass(frozen=True)
class Rendered:
    jsonl: str
    csv: str
    claimreview: str
    w3c: str


def _dumps(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def _cell(value) -> str:
    text = "" if value is None else str(value)
    text = _CONTROL.sub("\ufffd", text)
    if text.startswith(_FORMULA_START):
        text = "'" + text
    return text


def as_record(snap: dict, facts: RecordFacts) -> dict:
    """The plain record (JSON lines)."""
    return {
        "id": snap["claim_id"],
        "publication": facts.number,
        "url": facts.public_url,
        "workspace": snap["workspace"]["slug"],
        "article": snap["article"],
        "version": snap["version"],
        "selectors": snap["selectors"],
        "claim_reviewed": snap["claim_reviewed"],
        "claimant": snap["claimant"],
        "claim_date": snap["claim_date"],
        "rating": {"name": snap["rating"]["name"], "value": snap["rating"]["value"]} if snap["rating"] else None,
        "rationale": snap["rationale"],
        "date_published": facts.date_published.isoformat(),
        "date_modified": facts.date_modified.isoformat(),
        "correction_reason": facts.reason or None,
        "sources": snap["sources"],
    }


def as_csv_row(snap: dict, facts: RecordFacts) -> str:
    record = as_record(snap, facts)
    rating = record["rating"] or {}
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([_cell(v) for v in [
        record["id"], record["url"], record["workspace"], record["article"]["id"], record["article"]["title"],
        record["article"]["url"], record["version"]["sha256"], record["selectors"]["exact"],
        record["selectors"]["start"], record["selectors"]["end"], record["claim_reviewed"], record["claimant"],
        record["claim_date"], rating.get("name"), rating.get("value"), record["rationale"],
        record["date_published"], record["date_modified"], record["publication"], record["correction_reason"],
        " ".join(source["url"] for source in record["sources"]),
    ]])
    return buffer.getvalue()[:-1]  # the export ends each row


def csv_header() -> str:
    return ",".join(CSV_COLUMNS)


def _organization(workspace: dict) -> dict:
    org = {"@type": "Organization", "name": workspace["publisher_name"] or workspace["name"]}
    if workspace["publisher_url"]:
        org["url"] = workspace["publisher_url"]
    return org


def as_claimreview(snap: dict, facts: RecordFacts) -> dict:
    """schema.org ClaimReview with the required and recommended fields of Google's markup."""
    rating_label = snap["rating"] or {}
    rating: dict = {"@type": "Rating", "alternateName": rating_label.get("name", "")}
    if rating_label.get("value") is not None and snap["scale"]["best"] is not None:
        rating.update(ratingValue=rating_label["value"], bestRating=snap["scale"]["best"],
                      worstRating=snap["scale"]["worst"])
    if snap["rationale"]:
        rating["ratingExplanation"] = snap["rationale"]
    item: dict = {"@type": "Claim"}
    if snap["claimant"]:
        item["author"] = {"@type": "Person", "name": snap["claimant"]}
    if snap["claim_date"]:
        item["datePublished"] = snap["claim_date"]
    if snap["article"]["url"]:
        appearance: dict = {"@type": "CreativeWork", "url": snap["article"]["url"],
                            "headline": snap["article"]["title"]}
        if snap["article"]["publisher"]:
            appearance["publisher"] = {"@type": "Organization", "name": snap["article"]["publisher"]}
        item["appearance"] = [appearance]
        item["firstAppearance"] = appearance
    return {
        "@context": "https://schema.org",
        "@type": "ClaimReview",
        "url": facts.public_url,
        "claimReviewed": snap["claim_reviewed"] or snap["selectors"]["exact"],
        "reviewRating": rating,
        "itemReviewed": item,
        "author": _organization(snap["workspace"]),
        "datePublished": facts.date_published.date().isoformat(),
        "dateModified": facts.date_modified.isoformat(),
    }


def as_w3c(snap: dict, facts: RecordFacts) -> dict:
    """A W3C Web Annotation: the rationale and rating as bodies, the quote as target."""
    bodies: list[dict] = [{"type": "TextualBody", "purpose": "assessing", "format": "text/plain",
                           "value": snap["rationale"] or snap["claim_reviewed"] or snap["selectors"]["exact"]}]
    if snap["rating"]:
        bodies.append({"type": "TextualBody", "purpose": "classifying", "value": snap["rating"]["name"]})
    bodies.extend({"type": "SpecificResource", "purpose": "linking", "source": source["url"]}
                  for source in snap["sources"])
    selectors = snap["selectors"]
    return {
        "@context": "http://www.w3.org/ns/anno.jsonld",
        "id": facts.public_url,
        "type": "Annotation",
        "motivation": "assessing",
        "created": facts.date_published.isoformat(),
        "modified": facts.date_modified.isoformat(),
        "creator": _organization(snap["workspace"]),
        "body": bodies,
        "target": {
            "source": snap["article"]["url"] or facts.public_url,
            "selector": [
                {"type": "TextQuoteSelector", "exact": selectors["exact"], "prefix": selectors["prefix"],
                 "suffix": selectors["suffix"]},
                {"type": "TextPositionSelector", "start": selectors["start"], "end": selectors["end"]},
            ],
            "state": {"type": "TimeState", "sourceDate": snap["version"]["created_at"]},
        },
    }


def render(snap: dict, facts: RecordFacts) -> Rendered:
    return Rendered(
        jsonl=_dumps(as_record(snap, facts)),
        csv=as_csv_row(snap, facts),
        claimreview=_dumps(as_claimreview(snap, facts)),
        w3c=_dumps(as_w3c(snap, facts)),
    )


def tombstone(*, claim_id: int, number: int, withdrawn_at: datetime, reason: str, public_url: str) -> str:
    """The JSON line of a withdrawal: what was withdrawn, when and why."""
    return _dumps({"id": claim_id, "publication": number, "url": public_url, "withdrawn": True,
                   "date_withdrawn": withdrawn_at.isoformat(), "reason": reason})
