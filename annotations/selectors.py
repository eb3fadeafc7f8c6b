"""Every read of the desk that is more than a get(): querysets built for their page."""

from dataclasses import dataclass

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db.models import Count, Exists, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse

from annotations.models import (
    AnchorStatus,
    Article,
    ArticleVersion,
    Claim,
    ClaimState,
    Membership,
    Workspace,
)
from annotations.rendering import Mark, render_claim_items, render_highlights

UNRATED_COLOR = "#9a6700"
SEARCH_CONFIG = "english"


def _latest_version_number():
    return ArticleVersion.objects.filter(article=OuterRef("pk")).order_by("-number").values("number")[:1]


def article_list(*, workspace: Workspace | None = None) -> QuerySet[Article]:
    """Articles with their latest version number and claim count, newest first.

    Subqueries rather than joins, so counts don't multiply and a page costs one query.
    """
    claims = (
        Claim.objects.filter(article=OuterRef("pk"))
        .order_by()
        .values("article")
        .annotate(n=Count("pk"))
        .values("n")
    )
    qs = Article.objects.annotate(
        latest_version=Subquery(_latest_version_number(), output_field=IntegerField()),
        claim_count=Coalesce(Subquery(claims, output_field=IntegerField()), 0),
    )
    if workspace is not None:
        qs = qs.filter(workspace=workspace)
    return qs.order_by("-created_at", "-id")


def article_search(
    *, workspace: Workspace, q: str = "", has_claims: bool = False, has_drafts: bool = False, publisher: str = ""
) -> QuerySet[Article]:
    """The articles page: full-text search over title and current text, filters, and
    per-state claim counts, in one query."""
    state_counts = {
        f"n_{state}": Count("claims", filter=Q(claims__state=state)) for state in ClaimState.values
    }
    qs = (
        Article.objects.filter(workspace=workspace)
        .annotate(
            latest_version=Subquery(_latest_version_number(), output_field=IntegerField()),
            claim_count=Count("claims"),
            **state_counts,
        )
        .order_by("-created_at", "-id")
    )
    if q.strip():
        query = SearchQuery(q, search_type="websearch", config=SEARCH_CONFIG)
        # Uses the GIN index on the version text (version_text_search_idx).
        text_hit = ArticleVersion.objects.annotate(
            doc=SearchVector("text", config=SEARCH_CONFIG)
        ).filter(article=OuterRef("pk"), number=OuterRef("latest_version"), doc=query)
        qs = qs.annotate(title_doc=SearchVector("title", config=SEARCH_CONFIG)).filter(
            Q(title_doc=query) | Exists(text_hit)
        )
    if has_claims:
        qs = qs.filter(claim_count__gt=0)
    if has_drafts:
        qs = qs.filter(n_draft__gt=0)
    if publisher.strip():
        qs = qs.filter(publisher=publisher.strip())
    return qs


def article_publishers(*, workspace: Workspace) -> list[str]:
    return list(
        Article.objects.filter(workspace=workspace)
        .exclude(publisher="")
        .order_by("publisher")
        .values_list("publisher", flat=True)
        .distinct()
    )


def workspace_list_for_user(*, user) -> QuerySet[Workspace]:
    """The user's workspaces, each with its articles prefetched: two queries in all."""
    return (
        Workspace.objects.filter(memberships__user=user)
        .annotate(
            role=Subquery(
                Membership.objects.filter(workspace=OuterRef("pk"), user=user).values("role")[:1]
            )
        )
        .prefetch_related(Prefetch("articles", queryset=article_list()))
        .order_by("name")
    )


def workspace_get_for_user(*, user, slug: str) -> Workspace | None:
    return Workspace.objects.filter(slug=slug, memberships__user=user).first()


def article_get_for_user(*, user, workspace_slug: str, article_id: int) -> Article | None:
    """The article if the user belongs to its workspace; None otherwise (the view 404s)."""
    return (
        Article.objects.select_related("workspace")
        .filter(pk=article_id, workspace__slug=workspace_slug, workspace__memberships__user=user)
        .first()
    )


def claim_get_for_user(*, user, workspace_slug: str, claim_id: int) -> Claim | None:
    return (
        Claim.objects.select_related("workspace", "article", "version", "rating", "created_by", "last_edited_by")
        .filter(pk=claim_id, workspace__slug=workspace_slug, workspace__memberships__user=user)
        .first()
    )


def article_latest_version(*, article: Article) -> ArticleVersion | None:
    return article.versions.order_by("-number").first()


@dataclass
class Reader:
    version: ArticleVersion
    claims: list[dict]
    orphans: list[Claim]
    html: str
    panel_html: str


def article_reader(*, article: Article) -> Reader | None:
    """The article page: current text with every claim highlighted, and the orphans.

    Three queries whatever the number of claims: version, claims, orphans.
    """
    version = article_latest_version(article=article)
    if version is None:
        return None
    # Plain rows, not model instances: at 1,000 claims building models was a third
    # of the page's time. Only what the highlights and the panel show is read.
    on_version = list(
        Claim.objects.filter(article=article, version=version)
        .order_by("start_offset", "end_offset", "id")
        .values(
            "id", "start_offset", "end_offset", "exact", "claim_reviewed", "rationale", "state",
            "anchor_status", "anchor_score", "rating__name", "rating__color",
            "created_by__username", "created_by__first_name", "created_by__last_name",
        )
    )
    orphans = list(
        Claim.objects.filter(article=article, anchor_status=AnchorStatus.ORPHANED)
        .exclude(version=version)
        .select_related("rating", "created_by", "version")
        .order_by("created_at")
    )
    marks = [
        Mark(c["id"], c["start_offset"], c["end_offset"], c["rating__color"] or UNRATED_COLOR, c["state"])
        for c in on_version
    ]
    panel = render_claim_items(
        on_version,
        edit_url_template=reverse("claim_edit", args=[article.workspace.slug, 0]),
        unrated_color=UNRATED_COLOR,
    )
    return Reader(version, on_version, orphans, render_highlights(version.text, marks), panel)
