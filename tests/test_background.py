"""Periodic jobs, the operations page and the suggestion buttons."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from annotations import outbox, tasks
from annotations.models import Claim, ClaimMatch, OutboxMessage, Source, TaskFailure
from annotations.services.claims import claim_create
from tests.conftest import ready_and_submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def claim(article, alice):
    version = article.versions.get()
    start = version.text.index("Not yet")
    return claim_create(actor=alice, article=article, version=version, exact="Not yet", start=start, end=start + 7)


def test_reviewers_are_reminded_once_of_claims_waiting_too_long(claim, bob, settings):
    claim = ready_and_submit(claim)
    assert tasks.remind_reviewers() == 0  # not waiting long enough yet
    waited = timedelta(hours=settings.REVIEW_REMINDER_HOURS + 1)
    Claim.objects.filter(pk=claim.pk).update(submitted_at=timezone.now() - waited)
    assert tasks.remind_reviewers() == 1
    assert tasks.remind_reviewers() == 0  # once per claim revision
    assert mail.outbox[-1].to == ["bob@example.org"] and "Waiting" in mail.outbox[-1].subject


def test_sources_due_for_a_check_are_enqueued(claim, alice, settings):
    fresh = Source.objects.create(claim=claim, url="https://example.org/a", created_by=alice,
                                  link_checked_at=timezone.now())
    overdue = timezone.now() - timedelta(hours=settings.LINKCHECK_INTERVAL_HOURS + 1)
    stale = Source.objects.create(claim=claim, url="https://example.org/b", created_by=alice, link_checked_at=overdue)
    never = Source.objects.create(claim=claim, url="https://example.org/c", created_by=alice)
    assert tasks.recheck_sources() == 2
    queued = {m.args[0] for m in OutboxMessage.objects.filter(task="annotations.tasks.check_source_link")}
    assert queued == {stale.pk, never.pk} and fresh.pk not in queued


def test_a_new_source_is_checked_and_a_new_claim_is_matched_through_the_outbox(claim, alice):
    from annotations.services.claims import SourceChange, claim_update

    claim_update(claim=claim, actor=alice, revision=claim.revision, fields={},
                 sources=[SourceChange(pk=None, fields={"url": "https://example.org/new", "stance": "context"})])
    tasks_queued = list(OutboxMessage.objects.values_list("task", flat=True))
    assert "annotations.tasks.match_claim" in tasks_queued
    assert "annotations.tasks.check_source_link" in tasks_queued


def test_the_operations_page_shows_backlog_and_failures_to_staff_only(client, alice, admin_user, claim, settings):
    OutboxMessage.objects.all().delete()  # what the claim fixture queued: start from a known backlog
    for _ in range(3):
        OutboxMessage.objects.create(task="annotations.tasks.ping", args=[])
    OutboxMessage.objects.create(task="annotations.tasks.ping", args=[], sent_at=timezone.now())  # sent: not backlog
    TaskFailure.objects.create(task="annotations.tasks.check_source_link", task_id="x", error="OSError: boom")
    client.force_login(alice)
    refused = client.get(reverse("operations"))
    assert refused.status_code == 403 and "OSError: boom" not in refused.content.decode()
    client.force_login(admin_user)
    page = client.get(reverse("operations"))
    ops = page.context["ops"]
    assert ops["broker"] == "ok" and ops["outbox_backlog"] == 3
    assert isinstance(ops["queue_depth"], int) and isinstance(ops["unacked"], int)
    assert ops["outbox_oldest_age"] is not None and ops["outbox_oldest_age"].total_seconds() >= 0
    assert "OSError: boom" in page.content.decode()
    # When a killed worker's tasks come back: the broker's visibility timeout, in words.
    assert page.context["redelivery"]["visibility_timeout"] == settings.CELERY_BROKER_TRANSPORT_OPTIONS[
        "visibility_timeout"] == 600
    assert ("Tasks of a worker that was killed are delivered again after 10 minutes (the broker&#x27;s "
            "visibility timeout), or up to 1 minute 40 seconds later") in page.content.decode()


def test_the_redelivery_delay_is_read_from_the_broker_transport_options(settings):
    from annotations.health import redelivery_delay
    from factcheck.celery import app

    options = app.conf.broker_transport_options
    app.conf.broker_transport_options = dict(options, visibility_timeout=3900, unacked_restore_interval=5,
                                             unacked_restore_throttle=1)
    try:
        assert redelivery_delay()["sentence"].startswith(
            "Tasks of a worker that was killed are delivered again after 1 hour 5 minutes (the broker's "
            "visibility timeout), or up to 5 seconds later")
    finally:
        app.conf.broker_transport_options = options


def test_the_editor_shows_a_suggestion_and_dismissing_it_hides_it(client, alice, claim, desk):
    from annotations.services.articles import article_import

    other_article = article_import(workspace=desk, text="Another story\nAbadi said: Not yet.").article
    version = other_article.versions.get()
    other = claim_create(actor=alice, article=other_article, version=version, exact="Not yet",
                         start=version.text.index("Not yet"), end=version.text.index("Not yet") + 7)
    match = ClaimMatch.objects.create(claim=claim, other=other, score=0.8)
    ClaimMatch.objects.create(claim=other, other=claim, score=0.8)
    client.force_login(alice)
    url = reverse("claim_edit", args=[desk.slug, claim.pk])
    assert "Possibly the same claim as" in client.get(url).content.decode()
    client.post(reverse("match_decide", args=[desk.slug, match.pk, "dismissed"]))
    assert "Possibly the same claim as" not in client.get(url).content.decode()
    assert set(ClaimMatch.objects.values_list("status", flat=True)) == {"dismissed"}


def test_the_drain_sends_everything_waiting(claim):
    from factcheck.celery import app

    OutboxMessage.objects.create(task="annotations.tasks.ping", args=[])
    waiting = OutboxMessage.objects.filter(sent_at__isnull=True).count()
    assert waiting >= 2
    assert outbox.drain() == waiting
    assert not OutboxMessage.objects.filter(sent_at__isnull=True).exists()
    app.control.purge()
