"""Reads for the public pages: published records and the desk that publishes them.

Never the live claim: a reader sees what was published, as it was published, and a draft
edit or a new article version changes nothing on the public page until it is approved.
Every read here is scoped to a desk with public pages on, so a desk that keeps its pages
off answers 404 for everything, whether or not a verdict exists.
"""

from dataclasses import dataclass

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db.models import QuerySet
from django.db.models.fields.json import KeyTextTransform, KeyTransform

from annotations.models import Publication, PublicationKind, Workspace

SEARCH_CONFIG = "english"
# What a page of the index and a verdict page never show: the export texts but the
# ClaimReview (which the verdict page embeds).
_EXPORT_TEXTS = ("jsonl", "csv", "w3c")


def publication_search_document() -> SearchVector:
    """The restatement, the claimant and the quote as published. The same expression as
    the index publication_search_idx (annotations.models), so the search uses it."""
    return SearchVector(
        KeyTextTransform("claim_reviewed", "snapshot"),
        KeyTextTransform("claimant", "snapshot"),
        KeyTextTransform("exact", KeyTransform("selectors", "snapshot")),
        config=SEARCH_CONFIG,
    )


def public_desk_get(*, slug: str) -> Workspace | None:
    """The desk by its slug, if it shows its verdicts in public."""
    return Workspace.objects.filter(slug=slug, public_pages=True).first()


def publication_search(*, workspace: Workspace, q: str = "") -> QuerySet[Publication]:
    """The desk's verdicts in force, newest first (publication_newest_idx), optionally
    those whose restatement, claimant or quote match `q` (publication_search_idx)."""
    qs = (
        Publication.objects.filter(workspace=workspace, current=True)
        .defer("claimreview", *_EXPORT_TEXTS)
        .order_by("-date_modified", "-id")
    )
    # Postgres refuses a NUL in a query string; it cannot match published text anyway.
    q = q.replace("\x00", "").strip()
    if q:
        query = SearchQuery(q, search_type="websearch", config=SEARCH_CONFIG)
        qs = qs.annotate(document=publication_search_document()).filter(document=query)
    return qs


@dataclass(frozen=True)
class PublicVerdict:
    """One claim's published records, oldest first, and the desk they belong to."""

    workspace: Workspace
    records: list[Publication]

    @property
    def in_force(self) -> Publication | None:
        return next((record for record in self.records if record.current), None)

    @property
    def withdrawal(self) -> Publication | None:
        """The withdrawal that took the verdict back, when nothing is in force now."""
        latest = self.records[-1]
        return latest if latest.kind == PublicationKind.WITHDRAWN else None


def public_verdict_get(*, workspace_slug: str, claim_id: int) -> PublicVerdict | None:
    """Every record of the claim on a desk with public pages on, with the desk, in one
    query (publication_claim_idx). None when there is none: never published, another
    desk's claim, or a desk whose pages are off."""
    records = list(
        Publication.objects.filter(
            claim_id=claim_id, workspace__slug=workspace_slug, workspace__public_pages=True
        )
        .select_related("workspace")
        .defer(*_EXPORT_TEXTS)
        .order_by("id")
    )
    if not records:
        return None
    return PublicVerdict(workspace=records[0].workspace, records=records)


def public_verdict_latest(*, workspace_slug: str, claim_id: int) -> Publication | None:
    """The claim's latest record (the one in force, or the withdrawal that ended it) with
    its desk, for the embeddable card: one query, reading the claim's records backwards."""
    return (
        Publication.objects.filter(
            claim_id=claim_id, workspace__slug=workspace_slug, workspace__public_pages=True
        )
        .select_related("workspace")
        .defer("claimreview", *_EXPORT_TEXTS)
        .order_by("-id")
        .first()
    )
