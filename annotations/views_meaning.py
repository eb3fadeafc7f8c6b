"""The meaning-change guard's two buttons: confirm where a `changed` claim moved (article
page), and confirm that an approved claim's verdict stands after its article changed
(reviewer queue). Reopening is the workflow's own reopen transition."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from annotations import access
from annotations.errors import ConflictError, PermissionDenied
from annotations.services.claims import claim_position_confirm
from annotations.services.workflow import claim_verdict_confirm


def _revision(request) -> int | None:
    try:
        return int(request.POST.get("revision", ""))
    except ValueError:
        return None


def _act(request, action, done: str) -> bool:
    try:
        action()
    except PermissionDenied:
        raise
    except ConflictError as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        for errors in exc.message_dict.values():
            for error in errors:
                messages.error(request, error)
    else:
        messages.success(request, done)
        return True
    return False


@login_required
@require_POST
def claim_position_confirm_view(request, workspace_slug: str, claim_id: int):
    claim = access.claim_get(user=request.user, workspace_slug=workspace_slug, claim_id=claim_id)
    try:
        _act(request, lambda: claim_position_confirm(claim=claim, actor=request.user, revision=_revision(request)),
             "The claim's new position is confirmed.")
    except PermissionDenied as exc:
        return render(request, "annotations/forbidden.html", {"message": str(exc)}, status=403)
    return redirect("article_detail", workspace_slug, claim.article_id)


@login_required
@require_POST
def claim_verdict_confirm_view(request, workspace_slug: str, claim_id: int):
    claim = access.claim_get(user=request.user, workspace_slug=workspace_slug, claim_id=claim_id)
    try:
        _act(request, lambda: claim_verdict_confirm(
            claim=claim, actor=request.user, revision=_revision(request), comment=request.POST.get("comment", "")),
            "The verdict stands; the confirmation is on the claim's trail.")
    except PermissionDenied as exc:
        return render(request, "annotations/forbidden.html", {"message": str(exc)}, status=403)
    return redirect("queue", workspace_slug)
