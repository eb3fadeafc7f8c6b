"""Partner webhooks: the desk's feed events POSTed to the partners' endpoints, signed as
Standard Webhooks sign them (https://www.standardwebhooks.com/).

Each endpoint is its own ordered queue over the change feed: `last_position` is the last
event it answered 2xx to, and a delivery run sends every event after it, in feed order,
stopping at the first failure, so a receiver never sees an event before the one ahead of
it. The endpoint row is locked (skip_locked) for each batch, so two workers never deliver
to the same endpoint at once; a redelivered event carries the same `webhook-id`, so the
receiver can drop the duplicate.

Every connection goes through linkcheck's checks: the host is resolved once, a private
address is refused, and the connection goes to the address that was checked.
"""

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from annotations import linkcheck, outbox
from annotations.models import OutboxMessage, Partner, Publication, WebhookDelivery, WebhookEndpoint
from annotations.permissions import require
from annotations.publishing import feed
from annotations.publishing.partners import PARTNERS_DENIED

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 24
DELIVER_TASK = "annotations.tasks.deliver_webhooks"
NOTIFY_TASK = "annotations.tasks.notify_webhook_disabled"
# Events sent per locked batch: the endpoint row stays locked while they are sent.
BATCH = 20
RETRY_FIRST_SECONDS = 30
TOLERANCE_SECONDS = 5 * 60
EXCERPT_LIMIT = 500
LOG_LIMIT = 20

URL_NOT_HTTPS = "Give `url` as an https address; webhooks are not sent over plain http."
URL_TOO_LONG = "Give `url` in at most 500 characters."


@dataclass(frozen=True)
class IssuedWebhook:
    """An endpoint just made: `secret` is shown to the admin in this answer only."""

    record: WebhookEndpoint
    secret: str


@dataclass(frozen=True)
class DeliveryRun:
    delivered: int
    failed: bool
    retry_in: int


# --- Signing (pure) ------------------------------------------------------------------------

def secret_new() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(*, secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: v1, then the base64 HMAC-SHA256 of id.timestamp.body."""
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(*, secret: str, headers: Mapping[str, str], body: bytes, now: int | None = None,
           tolerance: int = TOLERANCE_SECONDS) -> bool:
    """True if one of the space-separated signatures is ours and the timestamp is recent."""
    lowered = {name.lower(): value for name, value in headers.items()}
    try:
        webhook_id = lowered["webhook-id"]
        timestamp = int(lowered["webhook-timestamp"])
        signatures = lowered["webhook-signature"].split()
    except (KeyError, ValueError):
        return False
    current = int(time.time()) if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = sign(secret=secret, webhook_id=webhook_id, timestamp=timestamp, body=body)
    return any(hmac.compare_digest(expected, candidate) for candidate in signatures)


def webhook_id_for(*, endpoint_id: int, position: int) -> str:
    """Stable per event and endpoint: every attempt at the same event carries it."""
    return f"msg_{endpoint_id}_{position}"


def event_body(*, publication: Publication) -> bytes:
    # The event exactly as the feed serves it, so a partner reads both the same way.
    return json.dumps(feed._event(publication, fmt="json"), separators=(",", ":")).encode()


# --- Reads ---------------------------------------------------------------------------------

def webhooks_of(*, partner: Partner) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(partner=partner)


def webhook_get(*, partner: Partner, hook_id: int) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.filter(partner=partner, pk=hook_id).first()
    if endpoint is None:
        raise Http404("No such webhook for this partner.")
    return endpoint


def webhooks_with_log(*, partner: Partner) -> list[dict]:
    """The partner's endpoints, each with its latest deliveries, newest first."""
    return [{"endpoint": endpoint,
             "deliveries": list(WebhookDelivery.objects.filter(endpoint=endpoint)[:LOG_LIMIT])}
            for endpoint in webhooks_of(partner=partner)]


# --- Registration --------------------------------------------------------------------------

def webhook_url_check(url: str) -> str:
    """https (http only where loopback is allowed, for tests) and a public address."""
    url = url.strip()
    if len(url) > 500:
        raise ValidationError({"url": URL_TOO_LONG})
    allow_loopback = settings.LINKCHECK_ALLOW_LOOPBACK
    parts = urlsplit(url)
    if parts.scheme != "https" and not (allow_loopback and parts.scheme == "http"):
        raise ValidationError({"url": URL_NOT_HTTPS})
    try:
        linkcheck.url_check(url, allow_loopback=allow_loopback)
    except (linkcheck.Refused, ValueError) as exc:
        raise ValidationError({"url": f"The webhook `url` cannot be used: {exc}"}) from None
    return url


@transaction.atomic
def webhook_create(*, partner: Partner, actor: User, url: str) -> IssuedWebhook:
    """A new endpoint; it starts from the next event (redeliver to send earlier ones)."""
    require(actor, "annotations.manage_partners", partner.workspace, PARTNERS_DENIED)
    url = webhook_url_check(url)
    secret = secret_new()
    last = (Publication.objects.filter(workspace_id=partner.workspace_id, feed_position__isnull=False)
            .order_by("-feed_position").values_list("feed_position", flat=True).first())
    record = WebhookEndpoint.objects.create(partner=partner, url=url, secret=secret, last_position=last or 0)
    return IssuedWebhook(record=record, secret=secret)


@transaction.atomic
def webhook_delete(*, partner: Partner, hook_id: int, actor: User) -> None:
    require(actor, "annotations.manage_partners", partner.workspace, PARTNERS_DENIED)
    webhook_get(partner=partner, hook_id=hook_id).delete()


@transaction.atomic
def webhook_redeliver(*, partner: Partner, hook_id: int, actor: User, after: str) -> WebhookEndpoint:
    """Deliver again every event after the cursor `after` (a feed position; empty: from the
    start), and enable the endpoint again if it was disabled."""
    require(actor, "annotations.manage_partners", partner.workspace, PARTNERS_DENIED)
    webhook_get(partner=partner, hook_id=hook_id)
    position = feed.cursor_decode(workspace_id=partner.workspace_id, cursor=after)
    WebhookEndpoint.objects.filter(pk=hook_id).update(
        last_position=position, enabled=True, disabled_reason="", consecutive_failures=0)
    outbox.enqueue(DELIVER_TASK, hook_id)
    return webhook_get(partner=partner, hook_id=hook_id)


# --- Delivery ------------------------------------------------------------------------------

def enqueue_for(*, workspace_id: int) -> int:
    """Queue a delivery run for each enabled endpoint of the desk's partners (called by the
    publishing service in the transaction that writes a record). A run still waiting to be
    sent will pick the new event up, so none is queued twice."""
    endpoint_ids = list(WebhookEndpoint.objects.filter(partner__workspace_id=workspace_id, enabled=True)
                        .values_list("id", flat=True))
    return sum(_queue(endpoint_id=endpoint_id) for endpoint_id in endpoint_ids)


def _queue(*, endpoint_id: int) -> int:
    if OutboxMessage.objects.filter(task=DELIVER_TASK, args=[endpoint_id], sent_at__isnull=True).exists():
        return 0
    outbox.enqueue(DELIVER_TASK, endpoint_id)
    return 1


def retry_seconds(*, failures: int) -> int:
    """Doubling from 30 s, capped (WEBHOOK_RETRY_MAX_SECONDS)."""
    return min(RETRY_FIRST_SECONDS * 2 ** max(0, failures - 1), settings.WEBHOOK_RETRY_MAX_SECONDS)


def _post(*, endpoint: WebhookEndpoint, publication: Publication) -> WebhookDelivery:
    position = publication.feed_position or 0
    webhook_id = webhook_id_for(endpoint_id=endpoint.pk, position=position)
    body = event_body(publication=publication)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret=endpoint.secret, webhook_id=webhook_id, timestamp=timestamp, body=body),
    }
    attempt = WebhookDelivery.objects.filter(endpoint=endpoint, feed_position=position).count() + 1
    delivery = WebhookDelivery(endpoint=endpoint, feed_position=position, publication=publication,
                               webhook_id=webhook_id, attempt=attempt)
    started = time.monotonic()
    try:
        answer = linkcheck.post(endpoint.url, body=body, headers=headers,
                                allow_loopback=settings.LINKCHECK_ALLOW_LOOPBACK,
                                timeout=settings.WEBHOOK_TIMEOUT)
    except (OSError, linkcheck.Refused, ValueError) as exc:
        delivery.error = (f"{exc.__class__.__name__}: {exc}")[:EXCERPT_LIMIT]
    else:
        delivery.status_code = answer.status_code
        delivery.response_excerpt = answer.excerpt[:EXCERPT_LIMIT]
        if 200 <= answer.status_code < 300:
            delivery.delivered_at = timezone.now()
        else:
            delivery.error = f"The receiver answered {answer.status_code}."
    delivery.latency_ms = int((time.monotonic() - started) * 1000)
    return delivery


def _fail(*, endpoint: WebhookEndpoint, delivery: WebhookDelivery) -> int:
    failures = endpoint.consecutive_failures + 1
    wait = retry_seconds(failures=failures)
    delivery.next_attempt_at = timezone.now() + timedelta(seconds=wait)
    delivery.save()
    update: dict = {"consecutive_failures": failures}
    if failures >= settings.WEBHOOK_MAX_FAILURES:
        update.update(enabled=False, disabled_reason=(
            f"Disabled after {failures} failed deliveries in a row; the last: {delivery.error}")[:500])
        delivery.next_attempt_at = None
        delivery.save(update_fields=["next_attempt_at"])
        outbox.enqueue(NOTIFY_TASK, endpoint.pk)
        wait = 0  # disabled: nothing to retry until an admin redelivers
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(**update)
    return wait


def webhook_deliver(*, endpoint_id: int) -> DeliveryRun:
    """Send the endpoint every event after its last_position, in order, in locked batches;
    stop at the first failure. `retry_in` > 0 says when to try again."""
    delivered = 0
    while True:
        with transaction.atomic():
            endpoint = (WebhookEndpoint.objects.select_for_update(skip_locked=True)
                        .select_related("partner").filter(pk=endpoint_id, enabled=True).first())
            if endpoint is None:  # gone, disabled, or another worker is delivering to it
                return DeliveryRun(delivered=delivered, failed=False, retry_in=0)
            rows = feed._events_after(workspace=endpoint.partner.workspace, after=endpoint.last_position,
                                      limit=BATCH)
            for publication in rows:
                delivery = _post(endpoint=endpoint, publication=publication)
                if delivery.delivered_at is None:
                    return DeliveryRun(delivered=delivered, failed=True,
                                       retry_in=_fail(endpoint=endpoint, delivery=delivery))
                delivery.save()
                WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
                    last_position=delivery.feed_position, consecutive_failures=0)
                endpoint.consecutive_failures = 0
                delivered += 1
        if len(rows) < BATCH:
            return DeliveryRun(delivered=delivered, failed=False, retry_in=0)


def webhooks_catch_up() -> int:
    """Queue a run for every enabled endpoint behind its desk's feed (run by beat), so an
    event whose task was lost is still delivered."""
    behind = 0
    endpoints = WebhookEndpoint.objects.filter(enabled=True).values_list("id", "partner__workspace_id",
                                                                          "last_position")
    for endpoint_id, workspace_id, last_position in endpoints:
        if Publication.objects.filter(workspace_id=workspace_id, feed_position__gt=last_position).exists():
            with transaction.atomic():
                _queue(endpoint_id=endpoint_id)
            behind += 1
    return behind
