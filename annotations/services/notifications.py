from django.conf import settings
from django.core.mail import send_mass_mail
from django.urls import reverse

from annotations.models import Claim, Membership, Role


def _claim_link(claim: Claim, name: str) -> str:
    return settings.SITE_URL + reverse(name, args=[claim.workspace.slug, claim.pk])


def notify_claim_submitted(*, claim_id: int) -> int:
    claim = Claim.objects.select_related("workspace", "created_by").filter(pk=claim_id).first()
    if claim is None:
        return 0
    reviewers = (
        Membership.objects.filter(workspace=claim.workspace, role__in=[Role.REVIEWER, Role.ADMIN])
        .exclude(user=claim.created_by)
        .exclude(user__email="")
        .select_related("user")
    )
    subject = f"[{claim.workspace.name}] Claim waiting for review: {claim}"[:150]
    body = (
        f"{claim.created_by.get_full_name() or claim.created_by.username} submitted a claim for review:\n\n"
        f"  “{claim.exact}”\n\nReview queue: {settings.SITE_URL}{reverse('queue', args=[claim.workspace.slug])}\n"
    )
    messages = [(subject, body, None, [m.user.email]) for m in reviewers]
    return send_mass_mail(messages, fail_silently=False) if messages else 0


def notify_claim_decided(*, claim_id: int) -> int:
    claim = Claim.objects.select_related("workspace", "created_by").filter(pk=claim_id).first()
    if claim is None or not claim.created_by.email:
        return 0
    review = claim.reviews.select_related("reviewer").order_by("-created_at", "-id").first()
    if review is None:
        return 0
    who = review.reviewer.get_full_name() or review.reviewer.username
    subject = f"[{claim.workspace.name}] {review.get_decision_display()}: {claim}"[:150]
    body = (
        f"{who} decided on your claim “{claim.exact}”: {review.get_decision_display().lower()}.\n\n"
        + (f"Comment:\n{review.comment}\n\n" if review.comment else "")
        + f"Open the claim: {_claim_link(claim, 'claim_edit')}\n"
    )
    return send_mass_mail([(subject, body, None, [claim.created_by.email])], fail_silently=False)
