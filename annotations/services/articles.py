from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from annotations import audit, fetching, validation
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


# --- Import by URL, and the watch --------------------------------------------------------
# A watched page is checked again after WATCH_FIRST_INTERVAL; every check that finds it
# unchanged (a 304, or the same text) doubles the wait, up to WATCH_MAX_INTERVAL; a change
# starts again from the first interval. Failed checks back off the same way.
WATCH_FIRST_INTERVAL = 15 * 60
WATCH_MAX_INTERVAL = 24 * 60 * 60
# A due article is leased for this long when its check is queued, so the next beat does not
# queue it again while the check runs (a lost check runs again once the lease is over).
WATCH_LEASE = 10 * 60
WATCH_BATCH = 500
URL_FETCH_TIMEOUT = 10.0


def _fetch_error(exc: Exception) -> ValidationError:
    return ValidationError({"url": f"The page could not be fetched: {exc}."})


@as_actor
def article_import_url(
    *, workspace: Workspace, url: str, watch: bool = True, title: str = "", publisher: str = "",
    actor: User | None = None,
) -> ImportResult:
    """Fetch the page at `url` (SSRF-safe), extract its text and metadata, and import it as
    article_import does, keeping the URL; `watch` re-fetches it on a schedule. The fetch
    happens before any transaction opens; a page that cannot be fetched or read is a
    ValidationError on `url`, and nothing is written."""
    url = (url or "").strip()
    if not url:
        raise ValidationError({"url": "Enter the address of the article's page."})
    validation.article_fields_validate(fields={"url": url})
    try:
        page = fetching.fetch_page(url, timeout=URL_FETCH_TIMEOUT)
    except fetching.FetchError as exc:
        raise _fetch_error(exc) from None
    parsed = page.parsed
    assert parsed is not None  # no conditional headers were sent, so never a 304
    with transaction.atomic():
        result = article_import(
            workspace=workspace, text=parsed.text, title=title or parsed.title, url=url,
            publisher=publisher or parsed.publisher, byline=parsed.byline, published_on=parsed.published_on,
            language=parsed.language, source_name=url[:300], actor=actor,
        )
        article = result.article
        if article.url == url:
            now = timezone.now()
            article.watch = watch or article.watch
            article.etag, article.last_modified = page.etag, page.last_modified
            article.last_checked_at = now
            article.check_interval = WATCH_FIRST_INTERVAL
            article.next_check_at = now + timedelta(seconds=WATCH_FIRST_INTERVAL)
            article.check_failures, article.check_error = 0, ""
            with audit.context(reason="Imported from its web address"):
                article.save(update_fields=[*WATCH_FIELDS, "watch", "updated_at"])
    return result


WATCH_FIELDS = ["etag", "last_modified", "last_checked_at", "next_check_at", "check_interval",
                "check_failures", "check_error"]


def articles_watch_due(*, limit: int = WATCH_BATCH) -> list[int]:
    """The watched articles due for a check, leased (next_check_at moved WATCH_LEASE on) so a
    second beat does not pick them again; the caller queues a check for each id."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            Article.objects.select_for_update(skip_locked=True)
            .filter(watch=True, next_check_at__lte=now).exclude(url="")
            .order_by("next_check_at").values_list("id", flat=True)[:limit]
        )
        if ids:
            with audit.context(reason="Watched page due for a check"):
                Article.objects.filter(pk__in=ids).update(next_check_at=now + timedelta(seconds=WATCH_LEASE))
    return ids


WatchOutcome = Literal["missing", "not_watched", "not_modified", "unchanged", "new_version", "failed"]


def article_watch_check(*, article_id: int) -> WatchOutcome:
    """Fetch a watched article's page again (a conditional GET). A changed text becomes the
    article's next version through article_import (which re-anchors its claims), on the audit
    trail with the reason "The publisher changed the page"; an unchanged page backs off."""
    article = Article.objects.filter(pk=article_id).select_related("workspace").first()
    if article is None:
        return "missing"
    if not article.watch or not article.url:
        return "not_watched"
    try:
        page = fetching.fetch_page(article.url, etag=article.etag, last_modified=article.last_modified)
    except fetching.FetchError as exc:
        return _watch_record(article_id=article_id, changed=False, error=f"The page could not be fetched: {exc}.")
    if page.not_modified or page.parsed is None:
        return _watch_record(article_id=article_id, changed=False, page=page, outcome="not_modified")
    parsed = page.parsed
    with transaction.atomic(), audit.context(reason="The publisher changed the page (watch)"):
        latest = article.versions.order_by("-number").values_list("sha256", flat=True).first()
        if latest == text_sha256(canonical_text(parsed.text)):
            return _watch_record(article_id=article_id, changed=False, page=page, outcome="unchanged")
        result = article_import(
            workspace=article.workspace, text=parsed.text, title=article.title, url=article.url,
            publisher=article.publisher, source_name=f"watch: {article.url}"[:300], actor=None,
        )
        changed = result.outcome == "new_version" and result.article.pk == article.pk
        return _watch_record(article_id=article_id, changed=changed, page=page,
                             outcome="new_version" if changed else "unchanged")


def _watch_record(*, article_id: int, changed: bool, page: "fetching.Page | None" = None,
                  outcome: WatchOutcome = "failed", error: str = "") -> WatchOutcome:
    """Record a check: what the page answered, and when to check it next."""
    now = timezone.now()
    with transaction.atomic():
        article = Article.objects.select_for_update().filter(pk=article_id).first()
        if article is None:
            return "missing"
        if changed:
            interval = WATCH_FIRST_INTERVAL
        else:
            interval = min(max(article.check_interval, WATCH_FIRST_INTERVAL // 2) * 2, WATCH_MAX_INTERVAL)
        article.check_interval = interval
        article.last_checked_at = now
        article.next_check_at = now + timedelta(seconds=interval)
        if page is not None:
            # A page that stops sending a validator loses it; a 304 may omit them (keep ours).
            if not page.not_modified or page.etag:
                article.etag = page.etag
            if not page.not_modified or page.last_modified:
                article.last_modified = page.last_modified
        article.check_failures = article.check_failures + 1 if error else 0
        article.check_error = error[:500]
        with audit.context(reason="Watched page checked"):
            article.save(update_fields=WATCH_FIELDS)
    return outcome
