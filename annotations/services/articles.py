import logging
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from annotations import audit, fetching, validation
from annotations.audit import as_actor
from annotations.importing import canonical_text, text_sha256, title_from_text
from annotations.models import Article, ArticleVersion, ArticleWatch, Workspace
from annotations.permissions import require
from annotations.services.claims import article_reanchor_claims

log = logging.getLogger(__name__)

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
# Whether an article is watched (Article.watch) is an editorial decision, on the audit trail;
# the checks' bookkeeping (ArticleWatch: validators, schedule, failures) is not: a check that
# finds the page unchanged, not modified or failing writes its ArticleWatch row only.
#
# A watched page is checked again after WATCH_FIRST_INTERVAL; every check that finds it
# unchanged (a 304, or the same text) doubles the wait, up to WATCH_MAX_INTERVAL; a change
# starts again from the first interval. Failed checks back off the same way, and after
# WATCH_MAX_FAILURES of them in a row the watch stops (ArticleWatch.stopped_at) until someone
# switches it on again: 14 is about two weeks for a page already checked once a day, about
# eight days for one that had just changed.
WATCH_FIRST_INTERVAL = 15 * 60
WATCH_MAX_INTERVAL = 24 * 60 * 60
WATCH_MAX_FAILURES = 14
# A due article is leased for this long when its check is queued, so the next beat does not
# queue it again while the check runs (a lost check runs again once the lease is over).
WATCH_LEASE = 10 * 60
WATCH_BATCH = 500
URL_FETCH_TIMEOUT = 10.0
WATCH_DENIED = "Only members of this desk switch the watch of its articles."
WATCH_NEEDS_URL = "Only an article imported from a web address can be watched, and this one has none."


def _fetch_error(exc: Exception) -> ValidationError:
    return ValidationError({"url": f"The page could not be fetched: {exc}."})


@as_actor
def article_import_url(
    *, workspace: Workspace, url: str, watch: bool = True, title: str = "", publisher: str = "",
    actor: User | None = None,
) -> ImportResult:
    """Fetch the page at `url` (SSRF-safe), extract its text and metadata, and import it as
    article_import does, keeping the URL; `watch` re-fetches it on a schedule (importing
    never switches an article's watch off). The fetch happens before any transaction opens;
    a page that cannot be fetched or read is a ValidationError on `url`, and nothing is
    written."""
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
            if watch and not article.watch:
                article.watch = True
                with audit.context(reason="Imported from its web address, watched for the publisher's edits"):
                    article.save(update_fields=["watch", "updated_at"])
            now = timezone.now()
            # What the page answered just now: the first check is a conditional GET with it.
            ArticleWatch.objects.update_or_create(article=article, defaults={
                "etag": page.etag, "last_modified": page.last_modified, "last_checked_at": now,
                "check_interval": WATCH_FIRST_INTERVAL, "check_failures": 0, "check_error": "", "stopped_at": None,
                "next_check_at": now + timedelta(seconds=WATCH_FIRST_INTERVAL) if article.watch else None,
            })
    return result


@as_actor
@transaction.atomic
def article_watch_set(*, article: Article, actor: User, watch: bool) -> Article:
    """Switch the watch of an article's page on or off: an editorial decision, on the audit
    trail. On schedules a check now, with the count of failures started again (it resumes a
    watch that stopped after failing); off checks no more. Only an article with a web address
    can be watched (a ValidationError on `watch`). Returns the article as saved."""
    require(actor, "annotations.watch_article", article.workspace, WATCH_DENIED)
    # NO KEY: versions and claims that point at the article can still be written meanwhile.
    locked = Article.objects.select_for_update(no_key=True).get(pk=article.pk)
    if watch and not locked.url:
        raise ValidationError({"watch": WATCH_NEEDS_URL})
    state = ArticleWatch.objects.select_for_update().filter(article=locked).first()
    stopped = state is not None and state.stopped_at is not None
    if locked.watch == watch and not (watch and stopped):
        return locked
    if locked.watch != watch:
        locked.watch = watch
        reason = "The watch was switched on: the page is checked for the publisher's edits." if watch else (
            "The watch was switched off: the page is no longer checked.")
        with audit.context(reason=reason):
            locked.save(update_fields=["watch", "updated_at"])
    elif state is not None:
        # Already on but stopped: retrying is someone's decision too, so it is on the trail.
        with audit.context(reason=f"The watch was switched on again after {state.check_failures} failed checks."):
            locked.save(update_fields=["updated_at"])
    if watch:
        ArticleWatch.objects.update_or_create(article=locked, defaults={
            "next_check_at": timezone.now(), "check_interval": WATCH_FIRST_INTERVAL,
            "check_failures": 0, "check_error": "", "stopped_at": None,
        })
    elif state is not None:
        state.next_check_at = None
        state.save(update_fields=["next_check_at"])
    article.watch, article.updated_at = locked.watch, locked.updated_at  # the caller's object shows it
    return locked


def articles_watch_due(*, limit: int = WATCH_BATCH) -> list[int]:
    """The ids of watched articles due for a check, leased (next_check_at moved WATCH_LEASE
    on) so a second beat does not pick them again; the caller queues a check for each id.
    Reads and writes ArticleWatch only (article_watch_due_idx): next_check_at is set only
    while the watch is on and has not stopped."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            ArticleWatch.objects.select_for_update(skip_locked=True)
            .filter(next_check_at__lte=now)
            .order_by("next_check_at").values_list("article_id", flat=True)[:limit]
        )
        if ids:
            ArticleWatch.objects.filter(article_id__in=ids).update(next_check_at=now + timedelta(seconds=WATCH_LEASE))
    return ids


WatchOutcome = Literal["missing", "not_watched", "not_modified", "unchanged", "new_version", "failed", "stopped"]


def article_watch_check(*, article_id: int) -> WatchOutcome:
    """Fetch a watched article's page again (a conditional GET). A changed text becomes the
    article's next version through article_import (which re-anchors its claims), on the audit
    trail with the reason "The publisher changed the page (watch)"; an unchanged page backs
    off, and a failing one stops after WATCH_MAX_FAILURES: both write ArticleWatch only."""
    article = Article.objects.filter(pk=article_id).select_related("workspace", "watch_state").first()
    if article is None:
        return "missing"
    state: ArticleWatch | None = getattr(article, "watch_state", None)
    if not article.watch or not article.url or (state is not None and state.stopped_at is not None):
        # Switched off (or stopped) after the check was queued: nothing to fetch, nothing due.
        # Only while it still is: a watch switched on again a moment ago keeps its next check.
        ArticleWatch.objects.filter(article_id=article_id).filter(
            Q(article__watch=False) | Q(article__url="") | Q(stopped_at__isnull=False)
        ).update(next_check_at=None)
        return "not_watched"
    if state is None:  # watched by a write that went around article_watch_set (the admin, SQL)
        state, _ = ArticleWatch.objects.get_or_create(article=article, defaults={"next_check_at": timezone.now()})
    try:
        page = fetching.fetch_page(article.url, etag=state.etag, last_modified=state.last_modified)
    except fetching.FetchError as exc:
        return _watch_record(article_id=article_id, changed=False, error=f"The page could not be fetched: {exc}.")
    if page.not_modified or page.parsed is None:
        return _watch_record(article_id=article_id, changed=False, page=page, outcome="not_modified")
    parsed = page.parsed
    latest = ArticleVersion.objects.filter(article=article).order_by("-number").values_list("sha256", flat=True).first()
    if latest == text_sha256(canonical_text(parsed.text)):
        return _watch_record(article_id=article_id, changed=False, page=page, outcome="unchanged")
    with transaction.atomic(), audit.context(reason="The publisher changed the page (watch)"):
        result = article_import(
            workspace=article.workspace, text=parsed.text, title=article.title, url=article.url,
            publisher=article.publisher, source_name=f"watch: {article.url}"[:300], actor=None,
        )
        changed = result.outcome == "new_version" and result.article.pk == article.pk
        return _watch_record(article_id=article_id, changed=changed, page=page,
                             outcome="new_version" if changed else "unchanged")


def _watch_record(*, article_id: int, changed: bool, page: "fetching.Page | None" = None,
                  outcome: WatchOutcome = "failed", error: str = "") -> WatchOutcome:
    """Record a check on the article's ArticleWatch (not audited): what the page answered,
    and when to check it next, or that the watch stops after failing too long."""
    now = timezone.now()
    with transaction.atomic():
        state = ArticleWatch.objects.select_for_update().filter(article_id=article_id).first()
        if state is None:
            return "missing"
        if changed:
            interval = WATCH_FIRST_INTERVAL
        else:
            interval = min(max(state.check_interval, WATCH_FIRST_INTERVAL // 2) * 2, WATCH_MAX_INTERVAL)
        state.check_interval = interval
        state.last_checked_at = now
        # Switched off while the page was being fetched (article_watch_set cleared it): stays off.
        if state.next_check_at is not None:
            state.next_check_at = now + timedelta(seconds=interval)
        if page is not None:
            # A page that stops sending a validator loses it; a 304 may omit them (keep ours).
            if not page.not_modified or page.etag:
                state.etag = page.etag
            if not page.not_modified or page.last_modified:
                state.last_modified = page.last_modified
        state.check_failures = state.check_failures + 1 if error else 0
        state.check_error = error[:500]
        if error and state.check_failures >= WATCH_MAX_FAILURES and state.next_check_at is not None:
            state.stopped_at, state.next_check_at = now, None
            outcome = "stopped"
            log.warning("Stopped watching article %s after %s failed checks in a row: %s",
                        article_id, state.check_failures, state.check_error)
        state.save(update_fields=["check_interval", "last_checked_at", "next_check_at", "etag", "last_modified",
                                  "check_failures", "check_error", "stopped_at"])
    return outcome
