"""The "Assign" form of the article page and the review page (admins), and "Unassign".

Both post here and go back where they came from; the rules are the service's
(services/assignments.py), the messages its sentences."""

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from annotations import access, selectors
from annotations.errors import PermissionDenied
from annotations.permissions import ASSIGN_DENIED, can
from annotations.services import assignments as assignment_services
from annotations.validation import DUE_AT_INVALID


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _zone(workspace) -> ZoneInfo:
    try:
        return ZoneInfo(workspace.time_zone or settings.TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(settings.TIME_ZONE)


def due_from_form(value: str, workspace) -> datetime | None:
    """A datetime-local value ("2026-12-31T17:00"), in the desk's time zone; "" is no due date."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValidationError({"due_at": DUE_AT_INVALID})
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, _zone(workspace))


def _back(request, fallback: str) -> str:
    back = request.POST.get("next") or ""
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()},
                                                require_https=request.is_secure()):
        return back
    return fallback


def _errors(request, exc: ValidationError) -> None:
    labels = {"assignee": "Assignee", "due_at": "Due date", "note": "Note", "claim": "Claim", "article": "Article"}
    for field, errors in exc.message_dict.items():
        for error in errors:
            messages.error(request, f"{labels.get(field, field.capitalize())}: {error}")


@login_required
@require_POST
def assign(request, workspace_slug: str):
    workspace = access.workspace_get(user=request.user, slug=workspace_slug)
    if not can(request.user, "annotations.assign", workspace):
        return render(request, "annotations/forbidden.html", {"message": ASSIGN_DENIED}, status=403)
    claim_id, article_id = _int(request.POST.get("claim")), _int(request.POST.get("article"))
    claim = article = None
    if claim_id:
        claim = access.claim_get(user=request.user, claim_id=claim_id, workspace_slug=workspace_slug)
        fallback = reverse("review", args=[workspace_slug, claim.pk])
    else:
        article = access.article_get(user=request.user, article_id=article_id, workspace_slug=workspace_slug)
        fallback = reverse("article_detail", args=[workspace_slug, article.pk])
    back = _back(request, fallback)
    try:
        assignee_id = _int(request.POST.get("assignee"))
        people = {m.user_id: m.user for m in selectors.membership_list(workspace=workspace)}
        if assignee_id not in people:
            raise ValidationError({"assignee": "Choose a member of this desk."})
        assignment_services.assign(
            actor=request.user, workspace=workspace, assignee=people[assignee_id], claim=claim, article=article,
            due_at=due_from_form(request.POST.get("due_at", ""), workspace), note=request.POST.get("note", ""),
        )
    except PermissionDenied as exc:
        return render(request, "annotations/forbidden.html", {"message": str(exc)}, status=403)
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, "Assigned.")
    return redirect(back)


@login_required
@require_POST
def unassign(request, workspace_slug: str, assignment_id: int):
    workspace = access.workspace_get(user=request.user, slug=workspace_slug)
    if not can(request.user, "annotations.assign", workspace):
        return render(request, "annotations/forbidden.html", {"message": ASSIGN_DENIED}, status=403)
    assignment = access.assignment_get(user=request.user, workspace=workspace, assignment_id=assignment_id)
    back = _back(request, reverse("article_detail", args=[workspace_slug, assignment.article_id]))
    try:
        assignment_services.unassign(actor=request.user, assignment=assignment)
    except PermissionDenied as exc:
        return render(request, "annotations/forbidden.html", {"message": str(exc)}, status=403)
    messages.success(request, "Unassigned.")
    return redirect(back)
