"""Reads for an article's versions and what changed between them (views_versions.py)."""

from annotations.models import Article, ArticleVersion, ArticleWatch


def article_versions(*, article: Article) -> list[ArticleVersion]:
    """Every version of the article, newest first, without their texts."""
    return list(
        ArticleVersion.objects.filter(article=article).defer("text").select_related("created_by")
        .order_by("-number")
    )


def article_version_pair(*, article: Article, number: int) -> tuple[ArticleVersion, ArticleVersion] | None:
    """Version `number` of the article and the one before it, or None if either is missing."""
    if number < 2:
        return None
    versions = {v.number: v for v in ArticleVersion.objects.filter(article=article, number__in=[number - 1, number])}
    if len(versions) != 2:
        return None
    return versions[number - 1], versions[number]


def article_watch_state(*, article: Article) -> ArticleWatch | None:
    """The checks of the article's page (ArticleWatch), or None if it was never fetched."""
    return ArticleWatch.objects.filter(article=article).first() if article.url else None
