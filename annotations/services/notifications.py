"""E-mails. Each one is recorded (NotificationSent) in the transaction that sends it, so a
task delivered twice sends each e-mail once."""

from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from annotations.models import Claim, ClaimState, Membership, NotificationSent, Role


def _send_once(*, kind: str, claim: Claim, revision: int, recipient: str, subject: str, body: str) -> int:
    try:
        with transaction.atomic():
            NotificationSent.objects.create(kind=kind, claim=claim, revision=revision, recipient=recipient)
            send_mail(subject[:150], body, None, [recipient], fail_silently=False)
    except IntegrityError:
        return 0  # already sent by an earlier delivery of this task
    return 1


def _reviewers(claim: Claim):
    return (
        Membership.objects.filter(workspace=claim.workspace, role__in=[Role.REVIEWER, Role.ADMIN])
        .exclude(user=claim.created_by)
        .exclude(user__email="")
        .select_related("user")
    )


def notify_claim_submitted(*, claim_id: int, revision: int | None = None) -> int:
    claim = Claim.objects.select_related("workspace", "created_by").filter(pk=claim_id).first()
    if claim is None:
        return 0
    revision = revision or claim.revision
    subject = f"[{claim.workspace.name}] Claim waiting for review: {claim}"
    body = (
        f"{claim.created_by.get_full_name() or claim.created_by.username} submitted a claim for review:\n\n"
        f"  “{claim.exact}”\n\nReview queue: {settings.SITE_URL}{reverse('queue', args=[claim.workspace.slug])}\n"
    )
    return sum(
        _send_once(kind="submitted", claim=claim, revision=revision, recipient=m.user.email, subject=subject, body=body)
        for m in _reviewers(claim)
    )


def notify_claim_decided(*, claim_id: int, revision: int | None = None) -> int:
    claim = Claim.objects.select_related("workspace", "created_by").filter(pk=claim_id).first()
    if claim is None or not claim.created_by.email:
        return 0
    review = claim.reviews.select_related("reviewer").order_by("-created_at", "-id").first()
    if review is None:
        return 0
    who = review.reviewer.get_full_name() or review.reviewer.username
    link = settings.SITE_URL + reverse("claim_edit", args=[claim.workspace.slug, claim.pk])
    body = (
        f"{who} decided on your claim “{claim.exact}”: {review.get_decision_display().lower()}.\n\n"
        + (f"Comment:\n{review.comment}\n\n" if review.comment else "")
        + f"Open the claim: {link}\n"
    )
    return _send_once(kind="decided", claim=claim, revision=revision or claim.revision,
                      recipient=claim.created_by.email,
                      subject=f"[{claim.workspace.name}] {review.get_decision_display()}: {claim}", body=body)


def remind_reviewers() -> int:
    """Remind reviewers of claims waiting longer than REVIEW_REMINDER_HOURS, once per
    claim revision."""
    cutoff = timezone.now() - timedelta(hours=settings.REVIEW_REMINDER_HOURS)
    waiting = Claim.objects.filter(
        Q(state=ClaimState.SUBMITTED) | Q(state=ClaimState.IN_REVIEW, held_until__lt=timezone.now()),
        submitted_at__lt=cutoff,
    ).select_related("workspace", "created_by")
    sent = 0
    for claim in waiting:
        assert claim.submitted_at is not None  # the submitted_at__lt filter leaves out NULL
        hours = int((timezone.now() - claim.submitted_at).total_seconds() // 3600)
        subject = f"[{claim.workspace.name}] Waiting {hours} h for review: {claim}"
        body = (
            f"This claim has waited {hours} hours for a reviewer:\n\n  “{claim.exact}”\n\n"
            f"Review queue: {settings.SITE_URL}{reverse('queue', args=[claim.workspace.slug])}\n"
        )
        for m in _reviewers(claim):
            sent += _send_once(kind="reminder", claim=claim, revision=claim.revision,
                               recipient=m.user.email, subject=subject, body=body)
    return sent


def notify_webhook_disabled(*, endpoint_id: int) -> int:
    """E-mail the desk's admins that a partner's webhook was disabled after failing."""
    from annotations.models import WebhookEndpoint

    endpoint = WebhookEndpoint.objects.select_related("partner__workspace").filter(pk=endpoint_id).first()
    if endpoint is None or endpoint.enabled:
        return 0
    desk = endpoint.partner.workspace
    admins = list(Membership.objects.filter(workspace=desk, role=Role.ADMIN).exclude(user__email="")
                  .values_list("user__email", flat=True))
    if not admins:
        return 0
    body = (
        f"The webhook of {endpoint.partner.name} at {endpoint.url} was disabled: {endpoint.disabled_reason}\n\n"
        f"Partners: {settings.SITE_URL}{reverse('partners', args=[desk.slug])}\n"
    )
    return send_mail(f"[{desk.name}] Webhook disabled: {endpoint.partner.name}", body, None, admins)
