"""Pages of the review workflow: queue, review, my claims, transitions, audit log, members,
and the desk's settings (rating scale, publishing)."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.views.decorators.http import require_POST

from annotations import access, csvexport, selectors
from annotations.errors import ConflictError, PermissionDenied
from annotations.models import Role
from annotations.permissions import can
from annotations.publishing import feed
from annotations.publishing import partners as partner_services
from annotations.publishing import webhooks as webhook_services
from annotations.rendering import Mark, render_highlights
from annotations.services import bulk as bulk_services
from annotations.services import workflow
from annotations.services.workspaces import (
    PUBLISHING_DENIED,
    membership_remove,
    membership_set,
    workspace_publishing_update,
)
from annotations.workflow import TRANSITIONS, available_transitions


def _forbidden(request, message: str):
    return render(request, "annotations/forbidden.html", {"message": message}, status=403)


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


QUEUE_PAGE_SIZE = 50


@login_required
def queue(request, workspace_slug: str):
    workspace = access.workspace_get(user=request.user, slug=workspace_slug)
    if not can(request.user, "annotations.view_queue", workspace):
        return _forbidden(request, "Only reviewers and admins of this desk see the review queue.")
    if request.method == "POST":
        return _queue_release_hold(request, workspace_slug)
    filters = {
        "article_id": _int_or_none(request.GET.get("article")),
        "rating_id": _int_or_none(request.GET.get("rating")),
        "author_id": _int_or_none(request.GET.get("author")),
    }
    if csvexport.wants_csv(request):
        return csvexport.response(
            csvexport.queue_rows(selectors.queue_claims(workspace=workspace, reviewer=request.user, **filters)),
            csvexport.QUEUE_COLUMNS, name=f"{workspace.slug}-queue", time_zone=_csv_zone(request, workspace),
        )
    page = max(1, _int_or_none(request.GET.get("page")) or 1)
    start = (page - 1) * QUEUE_PAGE_SIZE
    # One row more than a page says whether there is a next page, without counting.
    claims = list(selectors.queue_claims(workspace=workspace, reviewer=request.user, **filters)[
        start:start + QUEUE_PAGE_SIZE + 1])
    has_next = len(claims) > QUEUE_PAGE_SIZE
    claims = claims[:QUEUE_PAGE_SIZE]
    for claim in claims:
        claim.reviewable = claim.created_by_id != request.user.pk and claim.last_edited_by_id != request.user.pk
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("download", None)
    in_review: list[Any] = selectors.claims_in_review(workspace=workspace)
    counts = selectors.queue_counts(workspace=workspace, reviewer=request.user)
    people = selectors.workspace_users(workspace=workspace)
    for claim in in_review:
        claim.workspace = workspace  # read already; the permission rule asks for it
        claim.releasable = can(request.user, "annotations.release_hold", claim)
    article_changed: list[Any] = selectors.queue_article_changed(workspace=workspace)
    for claim in article_changed:
        claim.workspace = workspace
        claim.verdict_confirmable = can(request.user, "annotations.confirm_verdict", claim)
        claim.reopenable = can(request.user, "annotations.reopen_claim", claim)
    return render(request, "annotations/queue.html", {
        "workspace": workspace,
        "claims": claims,
        "page": page,
        "has_next": has_next,
        "page_query": query.urlencode(),
        "held": selectors.claims_held_by(workspace=workspace, reviewer=request.user),
        "counts": counts,
        # Listed in full: "N in review" is how many this list holds.
        "in_review": in_review,
        "article_changed": article_changed,
        "can_assign": can(request.user, "annotations.assign", workspace),
        "now": timezone.now(),
        "articles": selectors.article_titles(workspace=workspace),
        "ratings": selectors.rating_labels(workspace=workspace),
        "authors": people,
        "assignees": people,  # the same queryset: read once
        "filters": filters,
        "filter_query": query.urlencode(),
        # "Select all N matching": the waiting count, or (filtered) how many the filters keep.
        "matching": selectors.queue_claims(workspace=workspace, reviewer=request.user, **filters).count()
        if any(filters.values()) else counts["waiting"],
        "bulk_actions": bulk_services.actions_for(workspace=workspace, actor=request.user),
    })


def _csv_zone(request, workspace) -> str:
    return selectors.own_time_zone(user=request.user) or workspace.time_zone


def _queue_release_hold(request, workspace_slug: str):
    """An admin's "Release" on a claim in review: back to the queue (workflow.claim_hold_release)."""
    claim = access.claim_get(user=request.user, workspace_slug=workspace_slug,
                             claim_id=_int_or_none(request.POST.get("release")))
    try:
        workflow.claim_hold_release(claim=claim, actor=request.user)
    except PermissionDenied as exc:
        return _forbidden(request, str(exc))
    except ConflictError as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        for errors in exc.message_dict.values():
            for error in errors:
                messages.error(request, error)
    else:
        messages.success(request, "The hold was released; the claim is back in the queue.")
    return redirect("queue", workspace_slug)


@login_required
@require_POST
def queue_take_next(request, workspace_slug: str):
    workspace = access.workspace_get(user=request.user, slug=workspace_slug)
    try:
        claim = workflow.claim_take_next(workspace=workspace, actor=request.user)
    except PermissionDenied as exc:
        return _forbidden(request, str(exc))
    if claim is None:
        messages.info(request, "Nothing is waiting for you to review.")
        return redirect("queue", workspace_slug)
    return redirect("review", workspace_slug, claim.pk)


@login_required
@require_POST
def queue_take(request, workspace_slug: str, claim_id: int):
    claim = access.claim_get(user=request.user, workspace_slug=workspace_slug, claim_id=claim_id)
    try:
        workflow.claim_transition(claim=claim, actor=request.user, name="take")
    except (PermissionDenied, ConflictError) as exc:
        messages.error(request, str(exc))
        return redirect("queue", workspace_slug)
    return redirect("review", workspace_slug, claim.pk)


@login_required
def review(request, workspace_slug: str, claim_id: int):
    claim = access.claim_get(user=request.user, workspace_slug=workspace_slug, claim_id=claim_id)
    if not can(request.user, "annotations.view_queue", claim.workspace):
        return _forbidden(request, "Only reviewers and admins of this desk review claims.")
    # The whole article, the claim highlighted in it (the page scrolls it into view).
    article_html = render_highlights(
        claim.version.text,
        [Mark(claim.pk, claim.start_offset, claim.end_offset,
              claim.rating.color if claim.rating else selectors.UNRATED_COLOR, claim.state)],
    )
    labels = {label.pk: label.name for label in selectors.rating_labels(workspace=claim.workspace)}

    def shown(field: str, value: object) -> object:
        """A rating by its label's name (a removed label by its id); any other value as it is."""
        if field == "rating_id" and isinstance(value, int):
            return labels.get(value, value)
        return value

    changes = [
        (field.replace("_id", ""), shown(field, old), shown(field, new))
        for field, old, new in selectors.claim_changes_since_last_review(claim=claim)
    ]
    context = {
        "claim": claim,
        "article_html": article_html,
        "sources": selectors.claim_sources(claim=claim),
        "reviews": selectors.claim_reviews(claim=claim),
        "changes": changes,
        "transitions": {t.name for t in available_transitions(claim=claim, user=request.user)},
    }
    if can(request.user, "annotations.assign", claim.workspace):  # admins: the "Assign" form
        current = selectors.claim_assignment(claim=claim)
        context.update(workspace=claim.workspace, assign_kind="claim", assign_target=claim.pk,
                       assign_people=selectors.assignable_people(workspace=claim.workspace, kind="claim"),
                       assign_current=[current] if current else [])
    return render(request, "annotations/review.html", context)


# What a person is told after each workflow button, and where they go next.
DONE = {
    "submit": (messages.SUCCESS, "Submitted for review.", "back"),
    "take": (messages.INFO, "The claim is yours to review.", "review"),
    "release": (messages.INFO, "The claim is back in the queue.", "queue"),
    "approve": (messages.SUCCESS, "Approved.", "queue"),
    "request_changes": (messages.SUCCESS, "Changes requested.", "queue"),
    "reject": (messages.SUCCESS, "Rejected.", "queue"),
    "reopen": (messages.SUCCESS, "Reopened for correction; the author has been told why.", "back"),
}


@login_required
@require_POST
def claim_transition(request, workspace_slug: str, claim_id: int, name: str):
    """One POST endpoint for every workflow button; the service decides."""
    claim = access.claim_get(user=request.user, workspace_slug=workspace_slug, claim_id=claim_id)
    revision = _int_or_none(request.POST.get("revision"))
    comment = request.POST.get("comment", "")
    back = request.POST.get("next") or reverse("claim_edit", args=[workspace_slug, claim.pk])
    if not back.startswith("/") or back.startswith("//"):
        back = reverse("claim_edit", args=[workspace_slug, claim.pk])
    if name not in TRANSITIONS:
        raise Http404("No such action.")
    try:
        workflow.claim_transition(claim=claim, actor=request.user, name=name, revision=revision, comment=comment)
    except (PermissionDenied, ConflictError) as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        for errors in exc.message_dict.values():
            for error in errors:
                messages.error(request, error)
    else:
        level, message, destination = DONE[name]
        messages.add_message(request, level, message)
        if destination == "queue":
            return redirect("queue", workspace_slug)
        if destination == "review":
            return redirect("review", workspace_slug, claim.pk)
    return redirect(back)


@login_required
def my_claims(request, workspace_slug: str):
    workspace = access.workspace_get(user=request.user, slug=workspace_slug)
    if csvexport.wants_csv(request):
        return csvexport.response(
            csvexport.claim_rows(selectors.my_claims_rows(workspace=workspace, user=request.user)),
            csvexport.CLAIM_COLUMNS, name=f"{workspace.slug}-my-claims", time_zone=_csv_zone(request, workspace),
        )
    return render(request, "annotations/my_claims.html", {
        "workspace": workspace,
        # Assigned work first: what the desk's admins gave me, soonest due first.
        "assigned": selectors.my_assignments(workspace=workspace, user=request.user),
        "now": timezone.now(),
        "groups": selectors.my_claims(workspace=workspace, user=request.user),
    })


AUDIT_PAGE_SIZE = 50


def _date_filter(q, name: str, label: str, problems: list[str]):
    value = (q.get(name) or "").strip()
    if not value:
        return None
    try:
        day = parse_date(value)
    except ValueError:
        day = None
    if day is None:
        problems.append(f"{label}: enter a date as YYYY-MM-DD; {value!r} is not one. The filter was left out.")
    return day


@login_required
def audit_log(request, workspace_slug: str):
    """The desk's trail in words, newest first, 50 events a page by keyset on the event id
    (?before=<id> older, ?after=<id> newer): no count and no offset however long it is."""
    from annotations import history

    workspace = access.workspace_get(user=request.user, slug=workspace_slug)
    if not can(request.user, "annotations.view_audit_log", workspace):
        return _forbidden(request, "Only admins of this desk see its audit log.")
    q = request.GET
    problems: list[str] = []
    events = selectors.audit_log(
        workspace=workspace, actor_id=_int_or_none(q.get("actor")), action=q.get("action", ""),
        object_type=q.get("object_type", ""), object_id=q.get("object_id", ""),
        since=_date_filter(q, "since", "From", problems), until=_date_filter(q, "until", "To", problems),
    )
    if csvexport.wants_csv(request):
        return csvexport.response(csvexport.audit_rows(events), csvexport.AUDIT_COLUMNS,
                                  name=f"{workspace.slug}-audit-log", time_zone=_csv_zone(request, workspace))
    rows, newer, older = selectors.audit_log_page(
        events, before=_int_or_none(q.get("before")), after=_int_or_none(q.get("after")), size=AUDIT_PAGE_SIZE,
    )
    query = q.copy()
    for cursor in ("before", "after", "page", "download"):
        query.pop(cursor, None)
    return render(request, "annotations/audit_log.html", {
        "workspace": workspace,
        "page": history.describe(rows, workspace_id=workspace.pk),
        "newer": newer,
        "older": older,
        "filter_query": query.urlencode(),
        "problems": problems,
        "actors": selectors.workspace_users(workspace=workspace),
        "actions": [(action, history.action_label(action)) for action in selectors.audit_actions(workspace=workspace)],
        "query": q,
    })


@login_required
def members(request, workspace_slug: str):
    workspace = access.workspace_get(user=request.user, slug=workspace_slug)
    if not can(request.user, "annotations.manage_members", workspace):
        return _forbidden(request, "Only admins of this desk manage its members.")
    if request.method == "POST":
        username = request.POST.get("username", "").strip()
        try:
            user = access.user_get_by_username(username=username)
            if request.POST.get("remove"):
                membership_remove(workspace=workspace, user=user, actor=request.user)
                messages.success(request, f"{username} was removed from the desk.")
            else:
                membership_set(workspace=workspace, user=user, role=request.POST.get("role", ""), actor=request.user)
                messages.success(request, f"{username} is now {request.POST.get('role')} of the desk.")
        except ValidationError as exc:
            for errors in exc.message_dict.values():
                for error in errors:
                    messages.error(request, error)
        return redirect("members", workspace_slug)
    return render(request, "annotations/members.html", {
        "workspace": workspace,
        "memberships": selectors.membership_list(workspace=workspace),
        "roles": Role.choices,
    })


@login_required
def profile(request):
    """The user's time zone (and, for a desk's admin, the desk's), and API tokens: create
    (the key is shown once) and revoke."""
    from annotations.services.profiles import (
        profile_time_zone_set,
        time_zone_choices,
        workspace_time_zone_set,
    )
    from annotations.services.tokens import api_token_create, api_token_revoke

    new_key = None
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            if "time_zone" in request.POST:
                profile_time_zone_set(user=request.user, time_zone=request.POST.get("time_zone", ""))
                messages.success(request, "Your time zone was saved; pages show times in it.")
                return redirect("profile")
            if request.POST.get("desk"):
                desk = access.workspace_get(user=request.user, slug=request.POST.get("desk", ""), field="desk")
                workspace_time_zone_set(workspace=desk, actor=request.user,
                                        time_zone=request.POST.get("desk_time_zone", ""))
                messages.success(request, f"{desk.name}'s time zone was saved.")
                return redirect("profile")
            if request.POST.get("revoke"):
                api_token_revoke(user=request.user, token_id=_int_or_none(request.POST.get("revoke")))
                messages.success(request, "The token was revoked; requests using it now get 401.")
            else:
                _, new_key = api_token_create(user=request.user, name=request.POST.get("name", ""))
        except PermissionDenied as exc:
            return _forbidden(request, str(exc))
        except ValidationError as exc:
            errors = exc.message_dict
            for field_errors in errors.values():
                for error in field_errors:
                    messages.error(request, error)
    own_time_zone = selectors.own_time_zone(user=request.user)
    return render(request, "annotations/profile.html", {
        "tokens": access.api_tokens_of(request.user),
        "new_key": new_key,
        "own_time_zone": own_time_zone,
        "page_time_zone": own_time_zone or None,
        "admin_desks": selectors.desks_administered(user=request.user),
        "time_zones": time_zone_choices(),
        "errors": errors,
    }, status=400 if errors else 200)


@login_required
def exports_page(request, workspace_slug: str):
    from annotations.services.exports import export_job_create

    workspace = access.workspace_get(user=request.user, slug=workspace_slug)
    if request.method == "POST":
        fmt = request.POST.get("format")
        if fmt not in ("jsonl", "csv", "claimreview", "w3c"):
            messages.error(request, "Choose a format: JSON lines, CSV, ClaimReview or W3C.")
        else:
            export_job_create(workspace=workspace, actor=request.user, fmt=fmt, filters={"state": "approved"})
            messages.success(request, "The export was queued; this page shows its progress.")
        return redirect("exports", workspace_slug)
    return render(request, "annotations/exports.html", {
        "workspace": workspace,
        "jobs": selectors.export_jobs(user=request.user, workspace=workspace)[:50],
    })


@login_required
@require_POST
def match_decide(request, workspace_slug: str, match_id: int, status: str):
    from annotations.services.matching import claim_match_decide

    match = access.claim_match_get(user=request.user, workspace_slug=workspace_slug, match_id=match_id)
    try:
        if status == "reuse":  # "Reuse this verdict": services/matching.py
            from annotations.services.matching import claim_reuse_verdict

            revision = request.POST.get("revision", "")
            if not revision.isdigit():
                raise ValidationError({"revision": "The form has no claim revision; reload the page."})
            claim_reuse_verdict(match=match, actor=request.user, revision=int(revision))
            messages.success(request, "The earlier verdict was copied into this draft.")
            return redirect("claim_edit", workspace_slug, match.claim_id)
        claim_match_decide(match=match, actor=request.user, status=status)
    except (ValidationError, PermissionDenied, ConflictError) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    return redirect("claim_edit", workspace_slug, match.claim_id)


@login_required
def operations(request):
    """Queue depth, outbox backlog, failed tasks and when a dead worker's tasks come back:
    for staff only."""
    from annotations.health import redelivery_delay

    if not request.user.is_staff:
        return _forbidden(request, "Only staff see the operations page.")
    return render(request, "annotations/operations.html",
                  {"ops": selectors.operations_summary(), "redelivery": redelivery_delay()})


@login_required
def rating_scale(request, workspace_slug: str):
    """The desk's verdict labels; admins add, change and remove them."""
    from annotations.services.workspaces import rating_label_delete, rating_label_save

    workspace = access.workspace_get(user=request.user, slug=workspace_slug)
    manage = can(request.user, "annotations.manage_rating_scale", workspace)
    if request.method == "POST":
        if not manage:
            return _forbidden(request, "Only admins of this desk manage its rating scale.")
        post = request.POST
        try:
            if post.get("delete"):
                rating_label_delete(workspace=workspace, actor=request.user, label_id=_int_or_none(post.get("delete")))
                messages.success(request, "The label was removed.")
            else:
                raw_value = post.get("value", "").strip()
                value = _int_or_none(raw_value)
                if raw_value and value is None:
                    raise ValidationError({"value": "The value is a whole number from 1 to 100, or empty."})
                rating_label_save(
                    workspace=workspace, actor=request.user, label_id=_int_or_none(post.get("label")),
                    name=post.get("name", ""), value=value, color=post.get("color", "#888888"),
                    description=post.get("description", ""),
                )
                messages.success(request, "The scale was saved.")
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    messages.error(request, f"{field.replace('_', ' ').capitalize()}: {error}")
        return redirect("rating_scale", workspace_slug)
    return render(request, "annotations/rating_scale.html", {
        "workspace": workspace,
        "labels": selectors.rating_labels(workspace=workspace),
        "manage": manage,
    })


@login_required
def publishing_settings(request, workspace_slug: str):
    """Public pages on or off, the publisher records name, and the republishing that a
    new publisher (or a renamed label) set off. Admins only."""
    workspace = access.workspace_get(user=request.user, slug=workspace_slug)
    if not can(request.user, "annotations.manage_publishing", workspace):
        return _forbidden(request, PUBLISHING_DENIED)
    values = {"public_pages": workspace.public_pages, "publisher_name": workspace.publisher_name,
              "publisher_url": workspace.publisher_url}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = {
            "public_pages": request.POST.get("public_pages") == "on",  # an unticked box is not sent
            "publisher_name": request.POST.get("publisher_name", ""),
            "publisher_url": request.POST.get("publisher_url", ""),
        }
        try:
            saved = workspace_publishing_update(workspace=workspace, actor=request.user, **values)
        except PermissionDenied as exc:
            return _forbidden(request, str(exc))
        except ValidationError as exc:
            errors = exc.message_dict
        else:
            message = "The publishing settings were saved."
            if saved.job is not None:
                message += (f" {saved.job.rows_total} published verdict{pluralize(saved.job.rows_total)} "
                            "will be republished with them; the progress shows below.")
            messages.success(request, message)
            return redirect("publishing_settings", workspace_slug)
    jobs = list(selectors.republish_jobs(workspace=workspace)[:20])
    return render(request, "annotations/publishing_settings.html", {
        "workspace": workspace,
        "values": values,
        "errors": errors,
        "jobs": jobs,
        "running": any(job.finished_at is None for job in jobs),
        "in_force": selectors.publications_in_force_count(workspace=workspace),
    }, status=400 if errors else 200)


@login_required
def partners(request, workspace_slug: str):
    """Partner organisations and their keys, with each key's use over the last week.
    Admins only. A key just made is shown in this answer and never again."""
    workspace = access.workspace_get(user=request.user, slug=workspace_slug)
    if not can(request.user, "annotations.manage_partners", workspace):
        return _forbidden(request, partner_services.PARTNERS_DENIED)
    values = {"name": "", "contact_email": "", "note": "", "throttle_rate": "600/min"}
    errors: dict[str, list[str]] = {}
    issued = None
    issued_webhook = None
    webhook_partner_id, webhook_url = None, ""
    if request.method == "POST":
        what = request.POST.get("action", "")
        try:
            if what == "create_partner":
                values = {name: request.POST.get(name, "") for name in values}
                partner = partner_services.partner_create(workspace=workspace, actor=request.user, **values)
                messages.success(request, f"Partner “{partner.name}” added; give it a key below.")
                return redirect("partners", workspace_slug)
            partner = partner_services.partner_get(
                workspace=workspace, partner_id=_int_or_none(request.POST.get("partner")) or 0
            )
            key_id = _int_or_none(request.POST.get("key")) or 0
            hook_id = _int_or_none(request.POST.get("hook")) or 0
            if what == "create_key":
                issued = partner_services.partner_key_create(partner=partner, actor=request.user)
            elif what == "rotate_key":
                hours = _int_or_none(request.POST.get("grace_hours"))
                issued = partner_services.partner_key_rotate(
                    partner=partner, key_id=key_id, actor=request.user,
                    grace_hours=hours if hours is not None else -1,
                )
            elif what == "revoke_key":
                partner_services.partner_key_revoke(partner=partner, key_id=key_id, actor=request.user)
                messages.success(request, "The key was revoked; it stops working now.")
                return redirect("partners", workspace_slug)
            elif what == "create_webhook":
                webhook_partner_id, webhook_url = partner.pk, request.POST.get("url", "")
                issued_webhook = webhook_services.webhook_create(partner=partner, actor=request.user, url=webhook_url)
            elif what == "delete_webhook":
                webhook_services.webhook_delete(partner=partner, hook_id=hook_id, actor=request.user)
                messages.success(request, "The webhook was deleted; nothing more is sent to it.")
                return redirect("partners", workspace_slug)
            elif what == "redeliver_webhook":
                # From a delivery in the log: that event and every one after it.
                position = max(0, (_int_or_none(request.POST.get("from_position")) or 1) - 1)
                webhook_services.webhook_redeliver(
                    partner=partner, hook_id=hook_id, actor=request.user,
                    after=feed.cursor_encode(workspace_id=workspace.pk, position=position) if position else "",
                )
                messages.success(request, "Queued: the events are delivered again, in order.")
                return redirect("partners", workspace_slug)
            else:
                raise Http404("No such action.")
        except PermissionDenied as exc:
            return _forbidden(request, str(exc))
        except ValidationError as exc:
            errors = exc.message_dict
    rows = [{"partner": p, "keys": partner_services.partner_keys_with_usage(partner=p),
             "webhooks": webhook_services.webhooks_with_log(partner=p)}
            for p in partner_services.partners_of(workspace=workspace)]
    return render(request, "annotations/partners.html", {
        "workspace": workspace, "rows": rows, "values": values, "errors": errors, "issued": issued,
        "days": partner_services.usage_days(), "issued_webhook": issued_webhook,
        "webhook_partner_id": webhook_partner_id, "webhook_url": webhook_url,
    }, status=400 if errors else 200)
