"""Partner webhooks: Standard Webhooks signing, ordered delivery that survives a receiver
going away, the endpoint checks, the secret shown once, and who may manage them."""

import base64
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from celery.exceptions import Retry
from django.core import mail
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from annotations import outbox, tasks
from annotations.models import OutboxMessage, Publication, WebhookDelivery, WebhookEndpoint
from annotations.publishing import feed, webhooks
from annotations.publishing.partners import partner_create
from annotations.services.notifications import notify_webhook_disabled
from tests.conftest import claim_in_state
from tests.test_feed import approve_again, reopen

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


# --- Signing ---------------------------------------------------------------------------------

def test_the_signature_is_the_standard_webhooks_hmac():
    body = b'{"type":"published"}'
    signature = webhooks.sign(secret=SECRET, webhook_id="msg_1_7", timestamp=1700000000, body=body)
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, b"msg_1_7.1700000000." + body, hashlib.sha256).digest()).decode()
    assert signature == f"v1,{expected}"
    headers = {"webhook-id": "msg_1_7", "webhook-timestamp": "1700000000", "webhook-signature": signature}
    assert webhooks.verify(secret=SECRET, headers=headers, body=body, now=1700000010)


def test_verify_refuses_a_changed_body_an_old_timestamp_and_another_secret():
    body = b'{"type":"published"}'
    signature = webhooks.sign(secret=SECRET, webhook_id="msg_1_7", timestamp=1700000000, body=body)
    headers = {"webhook-id": "msg_1_7", "webhook-timestamp": "1700000000", "webhook-signature": signature}
    assert not webhooks.verify(secret=SECRET, headers=headers, body=body + b" ", now=1700000000)
    assert not webhooks.verify(secret=SECRET, headers=headers, body=body, now=1700000000 + 301)
    assert not webhooks.verify(secret=webhooks.secret_new(), headers=headers, body=body, now=1700000000)
    assert not webhooks.verify(secret=SECRET, headers={**headers, "webhook-id": "msg_1_8"}, body=body,
                               now=1700000000)


def test_a_new_secret_is_prefixed_base64_of_random_bytes():
    one, two = webhooks.secret_new(), webhooks.secret_new()
    assert one != two and one.startswith("whsec_")
    assert len(base64.b64decode(one.removeprefix("whsec_"))) == webhooks.SECRET_BYTES


# --- A receiver on loopback ------------------------------------------------------------------

class Receiver:
    """An HTTP server recording what it receives; it can be stopped and started again on
    the same port, as a partner's server that goes down and comes back."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.port = 0
        self.secret = ""
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append({
                    "id": self.headers["webhook-id"],
                    "verified": webhooks.verify(secret=receiver.secret, headers=dict(self.headers), body=body),
                    "event": json.loads(body),
                })
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"thanks")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/factcheck"


@pytest.fixture
def receiver():
    receiver = Receiver()
    receiver.start()
    yield receiver
    if receiver.server is not None:
        receiver.server.server_close()


@pytest.fixture
def wire(desk, crew):
    return partner_create(workspace=desk, actor=crew["admin"], name="Wire Service",
                          contact_email="desk@wire.example")


@pytest.fixture
def hook(wire, crew, receiver, settings):
    settings.LINKCHECK_ALLOW_LOOPBACK = True
    issued = webhooks.webhook_create(partner=wire, actor=crew["admin"], url=receiver.url)
    receiver.secret = issued.secret
    return issued.record


def feed_ids(desk) -> list[int]:
    return list(Publication.objects.filter(workspace=desk).order_by("feed_position").values_list("id", flat=True))


@pytest.mark.django_db
def test_every_event_arrives_in_order_through_an_outage_and_none_is_lost(article, crew, desk, hook, receiver):
    one, two, three = (claim_in_state("approved", article, crew) for _ in range(3))
    reopen(one, crew, "The date was wrong.")
    approve_again(one, crew)
    # Each publication queued a run for the endpoint; runs still waiting are not queued twice.
    assert OutboxMessage.objects.filter(task=webhooks.DELIVER_TASK, args=[hook.pk], sent_at=None).count() == 1

    assert tasks.deliver_webhooks.run(hook.pk) == 5
    assert [r["event"]["publication"] for r in receiver.received] == feed_ids(desk)
    assert [r["event"]["type"] for r in receiver.received] == [
        "published", "published", "published", "withdrawn", "corrected"]

    receiver.stop()  # the partner's server goes away mid-run
    reopen(two, crew, "The source retracted.")
    reopen(three, crew, "A typo.")
    run = webhooks.webhook_deliver(endpoint_id=hook.pk)
    assert (run.delivered, run.failed, run.retry_in) == (0, True, 30)
    again = webhooks.webhook_deliver(endpoint_id=hook.pk)
    assert (again.failed, again.retry_in) == (True, 60)  # the wait doubles
    hook.refresh_from_db()
    assert hook.consecutive_failures == 2 and hook.enabled
    failed = WebhookDelivery.objects.filter(endpoint=hook, delivered_at=None).order_by("id")
    # Delivery stopped at the first event each time: the one after it was not tried out of order.
    assert [d.publication_id for d in failed] == [feed_ids(desk)[5]] * 2
    assert [d.attempt for d in failed] == [1, 2] and all(d.error and d.next_attempt_at for d in failed)

    receiver.start()  # back on the same port
    approve_again(three, crew)
    assert webhooks.webhook_deliver(endpoint_id=hook.pk).delivered == 3
    assert [r["event"]["publication"] for r in receiver.received] == feed_ids(desk)
    assert all(r["verified"] for r in receiver.received)
    assert len({r["id"] for r in receiver.received}) == len(receiver.received) == 8
    hook.refresh_from_db()
    assert hook.consecutive_failures == 0
    last = Publication.objects.filter(workspace=desk).order_by("-feed_position").first()
    assert last is not None and hook.last_position == last.feed_position
    ok = WebhookDelivery.objects.filter(endpoint=hook, delivered_at__isnull=False).order_by("id").last()
    assert ok is not None and (ok.status_code, ok.response_excerpt) == (200, "thanks")

    # Redelivering from the fifth event sends the last three again, with the same ids.
    fifth = receiver.received[4]["event"]["position"]
    webhooks.webhook_redeliver(partner=hook.partner, hook_id=hook.pk, actor=crew["admin"], after=fifth)
    assert webhooks.webhook_deliver(endpoint_id=hook.pk).delivered == 3
    assert [r["id"] for r in receiver.received[8:]] == [r["id"] for r in receiver.received[5:8]]


@pytest.mark.django_db
def test_the_event_is_the_feeds_event(article, crew, hook, receiver):
    claim_in_state("approved", article, crew)
    webhooks.webhook_deliver(endpoint_id=hook.pk)
    publication = Publication.objects.get(pk=receiver.received[0]["event"]["publication"])
    assert receiver.received[0]["event"] == feed._event(publication, fmt="json")
    assert receiver.received[0]["id"] == f"msg_{hook.pk}_{publication.feed_position}"


@pytest.mark.django_db
def test_a_new_endpoint_starts_after_the_events_already_published(article, crew, wire, receiver, settings):
    settings.LINKCHECK_ALLOW_LOOPBACK = True
    claim_in_state("approved", article, crew)
    record = webhooks.webhook_create(partner=wire, actor=crew["admin"], url=receiver.url).record
    assert webhooks.webhook_deliver(endpoint_id=record.pk).delivered == 0
    assert receiver.received == []


@pytest.mark.django_db
def test_an_endpoint_failing_too_often_is_disabled_and_the_admins_told(article, crew, desk, hook, receiver,
                                                                        settings):
    settings.WEBHOOK_MAX_FAILURES = 2
    receiver.stop()
    claim_in_state("approved", article, crew)
    assert webhooks.webhook_deliver(endpoint_id=hook.pk).retry_in == 30
    assert webhooks.webhook_deliver(endpoint_id=hook.pk).retry_in == 0  # disabled: no retry
    hook.refresh_from_db()
    assert not hook.enabled and "2 failed deliveries in a row" in hook.disabled_reason
    assert OutboxMessage.objects.filter(task=webhooks.NOTIFY_TASK, args=[hook.pk]).count() == 1
    assert notify_webhook_disabled(endpoint_id=hook.pk) == 1
    assert mail.outbox[-1].to == [crew["admin"].email] and "Wire Service" in mail.outbox[-1].subject
    # Disabled: nothing more is tried, and nothing is queued for it.
    assert webhooks.webhook_deliver(endpoint_id=hook.pk).failed is False
    assert webhooks.enqueue_for(workspace_id=desk.pk) == 0
    assert WebhookDelivery.objects.filter(endpoint=hook).count() == 2


@pytest.mark.django_db
def test_the_catch_up_queues_only_endpoints_that_are_behind(article, crew, hook, receiver):
    assert webhooks.webhooks_catch_up() == 0
    claim_in_state("approved", article, crew)
    OutboxMessage.objects.all().delete()  # as if the task had been lost
    assert webhooks.webhooks_catch_up() == 1
    assert OutboxMessage.objects.filter(task=webhooks.DELIVER_TASK, args=[hook.pk]).count() == 1
    assert webhooks.webhooks_catch_up() == 1  # still behind, but the run queued above is not sent yet
    assert OutboxMessage.objects.filter(task=webhooks.DELIVER_TASK, args=[hook.pk]).count() == 1
    webhooks.webhook_deliver(endpoint_id=hook.pk)
    assert webhooks.webhooks_catch_up() == 0


def test_the_catch_up_is_scheduled(settings):
    assert any(job["task"] == "annotations.tasks.webhooks_catch_up" for job in settings.CELERY_BEAT_SCHEDULE.values())


# --- The API ---------------------------------------------------------------------------------

def as_member(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("url, says", [
    ("http://wire.example/hooks", "https address"),
    ("https://127.0.0.1/hooks", "loopback address"),
    ("https://10.0.0.5/hooks", "private address"),
    ("https://169.254.169.254/latest", "cloud metadata address"),
    ("", "https address"),
])
def test_an_endpoint_must_be_https_at_a_public_address(wire, crew, url, says):
    response = as_member(crew["admin"]).post(f"/api/v1/partners/{wire.pk}/webhooks/", {"url": url}, format="json")
    assert response.status_code == 400, response.content
    assert says in response.json()["error"]["fields"]["url"][0]
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_the_secret_is_shown_once(wire, crew, receiver, settings):
    settings.LINKCHECK_ALLOW_LOOPBACK = True
    client = as_member(crew["admin"])
    created = client.post(f"/api/v1/partners/{wire.pk}/webhooks/", {"url": receiver.url}, format="json")
    assert created.status_code == 201, created.content
    secret = created.json()["secret"]
    assert secret.startswith("whsec_") and WebhookEndpoint.objects.get().secret == secret
    listed = client.get(f"/api/v1/partners/{wire.pk}/webhooks/")
    assert listed.status_code == 200 and listed.json()[0]["endpoint"]["url"] == receiver.url
    assert secret not in listed.content.decode() and secret.removeprefix("whsec_") not in listed.content.decode()


@pytest.mark.django_db
def test_redeliver_and_delete_over_the_api(article, crew, hook, receiver):
    claim_in_state("approved", article, crew)
    webhooks.webhook_deliver(endpoint_id=hook.pk)
    client = as_member(crew["admin"])
    base = f"/api/v1/partners/{hook.partner_id}/webhooks/{hook.pk}/"
    bad = client.post(base + "redeliver/", {"after": "forged"}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["fields"]["after"] == [feed.CURSOR_INVALID]
    assert client.post(base + "redeliver/", {"after": ""}, format="json").status_code == 202
    webhooks.webhook_deliver(endpoint_id=hook.pk)
    assert [r["id"] for r in receiver.received] == [receiver.received[0]["id"]] * 2
    log = client.get(f"/api/v1/partners/{hook.partner_id}/webhooks/").json()[0]["deliveries"]
    assert [d["status_code"] for d in log] == [200, 200] and log[0]["attempt"] == 2
    assert client.delete(base).status_code == 204
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("role, listed, created", [
    ("admin", 200, 201), ("reviewer", 403, 403), ("author", 403, 403), ("teammate", 403, 403),
    ("outsider", 404, 404),
])
def test_only_the_desks_admins_manage_webhooks(wire, crew, receiver, settings, role, listed, created):
    settings.LINKCHECK_ALLOW_LOOPBACK = True
    client = as_member(crew[role])
    base = f"/api/v1/partners/{wire.pk}/webhooks/"
    assert client.get(base).status_code == listed
    assert client.post(base, {"url": receiver.url}, format="json").status_code == created
    assert WebhookEndpoint.objects.count() == (1 if role == "admin" else 0)
    other = webhooks.webhook_create(partner=wire, actor=crew["admin"], url=receiver.url).record
    expected = {"admin": (202, 204)}.get(role, (listed, listed))
    assert client.post(f"{base}{other.pk}/redeliver/", {}, format="json").status_code == expected[0]
    assert client.delete(f"{base}{other.pk}/").status_code == expected[1]
    assert WebhookEndpoint.objects.filter(pk=other.pk).exists() == (role != "admin")


# --- Through a real worker -------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_a_publication_reaches_the_receiver_through_the_worker(celery_worker, article, crew, hook, receiver,
                                                               settings):
    settings.OUTBOX_AUTOSEND = True
    claim_in_state("approved", article, crew)
    assert outbox.wait_for_sends()
    deadline = time.monotonic() + 20
    while not receiver.received and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [r["event"]["publication"] for r in receiver.received] == list(
        Publication.objects.values_list("id", flat=True))
    assert receiver.received[0]["verified"]


# --- The Partners page -----------------------------------------------------------------------

@pytest.mark.django_db
def test_admins_add_watch_and_redeliver_webhooks_on_the_partners_page(article, crew, desk, wire, receiver, settings):
    settings.LINKCHECK_ALLOW_LOOPBACK = True
    page = Client()
    page.force_login(crew["admin"])
    url = reverse("partners", args=[desk.slug])
    refused = page.post(url, {"action": "create_webhook", "partner": wire.pk, "url": "https://10.1.2.3/hook"})
    assert refused.status_code == 400 and "which is a private address" not in refused.content.decode()
    assert "10.1.2.3 is a private address" in refused.content.decode() and not WebhookEndpoint.objects.exists()

    shown = page.post(url, {"action": "create_webhook", "partner": wire.pk, "url": receiver.url})
    secret = WebhookEndpoint.objects.get().secret
    assert shown.status_code == 200 and secret in shown.content.decode()
    receiver.secret = secret
    claim_in_state("approved", article, crew)
    webhooks.webhook_deliver(endpoint_id=WebhookEndpoint.objects.get().pk)

    again = page.get(url).content.decode()
    assert secret not in again and receiver.url in again
    assert "<td>200</td>" in again and " ms</td>" in again and "thanks" in again

    position = WebhookDelivery.objects.get().feed_position
    hook = WebhookEndpoint.objects.get()
    redone = page.post(url, {"action": "redeliver_webhook", "partner": wire.pk, "hook": hook.pk,
                             "from_position": position})
    assert redone.status_code == 302
    webhooks.webhook_deliver(endpoint_id=hook.pk)
    assert [r["id"] for r in receiver.received] == [f"msg_{hook.pk}_{position}"] * 2
    assert all(r["verified"] for r in receiver.received)

    assert page.post(url, {"action": "delete_webhook", "partner": wire.pk, "hook": hook.pk}).status_code == 302
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_reviewers_cannot_add_webhooks_on_the_page(crew, desk, wire, receiver, settings):
    settings.LINKCHECK_ALLOW_LOOPBACK = True
    page = Client()
    page.force_login(crew["reviewer"])
    response = page.post(reverse("partners", args=[desk.slug]),
                         {"action": "create_webhook", "partner": wire.pk, "url": receiver.url})
    assert response.status_code == 403 and not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_the_task_asks_to_be_retried_while_the_receiver_is_down(article, crew, hook, receiver):
    receiver.stop()
    claim_in_state("approved", article, crew)
    with pytest.raises(Retry):
        tasks.deliver_webhooks.run(hook.pk)
    receiver.start()
    assert tasks.deliver_webhooks.run(hook.pk) == 1
