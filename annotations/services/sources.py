"""Source link checks: enqueue, run (idempotent by token), re-check on a schedule."""

import http.client
import uuid
from dataclasses import asdict, dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from annotations import linkcheck, outbox
from annotations.models import LinkStatus, Source, SourceCheck


@dataclass
class _CheckOutcome:
    """What one check found: the fields of a SourceCheck row."""

    status: str = LinkStatus.OK
    status_code: int | None = None
    final_url: str = ""
    title: str = ""
    content_hash: str = ""
    error: str = ""


def source_check_enqueue(*, source: Source) -> None:
    outbox.enqueue("annotations.tasks.check_source_link", source.pk, uuid.uuid4().hex)


def source_check_run(*, source_id: int, token: str) -> SourceCheck | None:
    """Fetch the source's URL and record what came back. Running it twice with the same
    token (a redelivered task) records one check."""
    source = Source.objects.filter(pk=source_id).first()
    if source is None:
        return None
    done = SourceCheck.objects.filter(source=source, token=token).first()
    if done is not None:
        return done
    result = _CheckOutcome()
    try:
        fetched = linkcheck.fetch(source.url, allow_loopback=settings.LINKCHECK_ALLOW_LOOPBACK,
                                  timeout=settings.LINKCHECK_TIMEOUT)
    except linkcheck.Unresolvable as exc:  # broken, not unsafe
        result.status, result.error = LinkStatus.UNRESOLVABLE, str(exc)[:500]
    except linkcheck.InvalidHost as exc:
        result.status, result.error = LinkStatus.INVALID_HOST, str(exc)[:500]
    except linkcheck.Refused as exc:
        result.status, result.error = LinkStatus.REFUSED, str(exc)[:500]
    except (OSError, TimeoutError, ValueError, http.client.HTTPException) as exc:  # a garbled answer too
        result.status, result.error = LinkStatus.BROKEN, f"The page could not be fetched: {exc}"[:500]
    else:
        result.status_code = fetched.status_code
        result.final_url = fetched.final_url[:2000]
        result.title = fetched.title
        result.content_hash = fetched.content_hash
        if fetched.status_code >= 400:
            result.status, result.error = LinkStatus.BROKEN, f"The server answered {fetched.status_code}."
        elif source.link_content_hash and source.link_content_hash != fetched.content_hash:
            result.status = LinkStatus.CHANGED
    try:
        with transaction.atomic():
            check = SourceCheck.objects.create(source=source, token=token, **asdict(result))
            Source.objects.filter(pk=source.pk).update(
                link_status=result.status, link_status_code=result.status_code,
                link_final_url=result.final_url, link_title=result.title,
                link_content_hash=result.content_hash or source.link_content_hash,
                link_error=result.error, link_checked_at=timezone.now(),
            )
    except IntegrityError:  # another delivery of the same check won the race
        return SourceCheck.objects.get(source=source, token=token)
    return check


@transaction.atomic
def sources_recheck_due(*, limit: int = 500) -> int:
    """Enqueue a check for every source not checked within LINKCHECK_INTERVAL_HOURS."""
    cutoff = timezone.now() - timedelta(hours=settings.LINKCHECK_INTERVAL_HOURS)
    due = list(
        Source.objects.filter(link_checked_at__isnull=True).order_by("id")[:limit]
    ) + list(Source.objects.filter(link_checked_at__lt=cutoff).order_by("link_checked_at")[:limit])
    for source in due[:limit]:
        source_check_enqueue(source=source)
    return min(len(due), limit)
