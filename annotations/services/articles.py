from dataclasses import dataclass
from datetime import date
from typing import Literal

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max

from annotations import validation
from annotations.audit import as_actor
from annotations.importing import canonical_text, text_sha256, title_from_text
from annotations.models import Article, ArticleVersion, Workspace
from annotations.services.claims import article_reanchor_claims

ImportOutcome = Literal["created", "new_version", "unchanged"]


@dataclass(frozen=True)
class ImportResult:
    article: Article
    version: ArticleVersion
    outcome: ImportOutcome


@as_actor
@transaction.atomic
def article_import(
    *,
    workspace: Workspace,
    text: str,
    title: str = "",
    url: str = "",
    publisher: str = "",
    byline: str = "",
    published_on: date | None = None,
    language: str = "",
    source_name: str = "",
    actor: User | None = None,
) -> ImportResult:
    """Store an article's text, idempotently.

    The same text (by sha256) anywhere in the workspace is left as it is. A new
    text for an article already known by URL, or by title when there is no URL,
    becomes that article's next version. Anything else is a new article.
    """
    text = canonical_text(text)
    title = (title or "").strip() or title_from_text(text)
    validation.article_fields_validate(fields={"text": text, "title": title, "url": url, "publisher": publisher})
    digest = text_sha256(text)

    same_text = (
        ArticleVersion.objects.filter(article__workspace=workspace, sha256=digest)
        .select_related("article")
        .first()
    )
    if same_text is not None:
        return ImportResult(same_text.article, same_text, "unchanged")

    known = Article.objects.select_for_update().filter(workspace=workspace)
    article = (known.filter(url=url) if url else known.filter(title=title, url="")).order_by(
        "-created_at", "-id"
    ).first()

    outcome: ImportOutcome
    if article is None:
        article = Article(
            workspace=workspace,
            title=title,
            url=url,
            publisher=publisher,
            byline=byline,
            published_on=published_on,
            language=language,
            created_by=actor,
        )
        article.full_clean()
        article.save()
        number, outcome = 1, "created"
    else:
        latest = article.versions.aggregate(n=Max("number"))["n"] or 0
        number, outcome = latest + 1, "new_version"
        article.save(update_fields=["updated_at"])

    version = ArticleVersion.objects.create(
        article=article,
        number=number,
        text=text,
        sha256=digest,
        source_name=source_name[:300],
        created_by=actor,
    )
    if outcome == "new_version":
        article_reanchor_claims(article=article, version=version)
    return ImportResult(article, version, outcome)
