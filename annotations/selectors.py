"""Every read of the desk that is more than a get(): querysets built for their page."""

from django.db.models import Count, IntegerField, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Coalesce

from annotations.models import Article, ArticleVersion, Claim, Membership, Workspace


def article_list(*, workspace: Workspace | None = None) -> QuerySet[Article]:
    """Articles with their latest version number and claim count, newest first.

    Subqueries rather than joins, so counts don't multiply and a page costs one query.
    """
    latest = (
        ArticleVersion.objects.filter(article=OuterRef("pk")).order_by("-number").values("number")[:1]
    )
    claims = (
        Claim.objects.filter(article=OuterRef("pk"))
        .order_by()
        .values("article")
        .annotate(n=Count("pk"))
        .values("n")
    )
    qs = Article.objects.annotate(
        latest_version=Subquery(latest, output_field=IntegerField()),
        claim_count=Coalesce(Subquery(claims, output_field=IntegerField()), 0),
    )
    if workspace is not None:
        qs = qs.filter(workspace=workspace)
    return qs.order_by("-created_at", "-id")


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


def article_get_for_user(*, user, workspace_slug: str, article_id: int) -> Article | None:
    """The article if the user belongs to its workspace; None otherwise (the view 404s)."""
    return (
        Article.objects.select_related("workspace")
        .filter(pk=article_id, workspace__slug=workspace_slug, workspace__memberships__user=user)
        .first()
    )


def article_latest_version(*, article: Article) -> ArticleVersion | None:
    return article.versions.order_by("-number").first()
