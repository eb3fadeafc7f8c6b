"""The desk-wide claims page (the API's claim filters, paginated, with checkboxes), bulk
actions on a selection of claims (services/bulk.py) and their job pages."""

from urllib.parse import parse_qs

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from annotations import access, csvexport, selectors
from annotations.api.filters import ClaimFilter
from annotations.errors import PermissionDenied
from annotations.forms import ArticleFilterForm
from annotations.services import bulk as bulk_services
from annotations.workflow import ClaimState

CLAIMS_PAGE_SIZE = 50
# The filters the page shows (the API's ClaimFilter, less the desk, which is the page's).
FILTER_FIELDS = ("state", "article", "rating", "anchor_status", "created_by", "updated_since")


def _time_zone(user, workspace) -> str:
    return selectors.own_time_zone(user=user) or workspace.time_zone or ""


def _forbidden(request, message: str):
    return render(request, "annotations/forbidden.html", {"message": message}, status=403)


def _filtered(request, workspace, params: QueryDict):
    """The desk's claims through the API's filterset; (queryset, form errors)."""
    params = params.copy()
    params.pop("workspace", None)
    filterset = ClaimFilter(params, queryset=access.claims_of(request.user).filter(workspace=workspace))
    if not filterset.is_valid():
        return filterset.queryset.none(), filterset.errors
    return filterset.qs, {}


def _page_number(value) -> int:
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return 1


@login_required
def claims_page(request, workspace_slug: str):
    workspace = access.workspace_get(user=request.user, slug=workspace_slug)
    claims, errors = _filtered(request, workspace, request.GET)
    claims = claims.order_by("-updated_at", "-id")
    if csvexport.wants_csv(request):
        return csvexport.response(csvexport.claim_rows(claims), csvexport.CLAIM_COLUMNS,
                                  name=f"{workspace.slug}-claims", time_zone=_time_zone(request.user, workspace))
    page = _page_number(request.GET.get("page"))
    start = (page - 1) * CLAIMS_PAGE_SIZE
    rows = list(claims.select_related("article", "rating", "created_by", "held_by")[start:start + CLAIMS_PAGE_SIZE + 1])
    has_next = len(rows) > CLAIMS_PAGE_SIZE
    rows = rows[:CLAIMS_PAGE_SIZE]
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("download", None)
    filters = query.copy()
    people = selectors.workspace_users(workspace=workspace)
    return render(request, "annotations/claims.html", {
        "workspace": workspace,
        "claims": rows,
        "matching": claims.count(),
        "page": page,
        "has_next": has_next,
        "page_query": query.urlencode(),
        "filter_query": filters.urlencode(),
        "errors": errors,
        "query": request.GET,
        "states": ClaimState.choices,
        "articles": selectors.article_titles(workspace=workspace),
        "ratings": selectors.rating_labels(workspace=workspace),
        "authors": people,
        "assignees": people,  # the same queryset: read once
        "bulk_actions": bulk_services.actions_for(workspace=workspace, actor=request.user),
    })


def _selection(request, workspace) -> list[tuple[int, int | None]]:
    """The selected claims: the ticked boxes ("id:revision"), or every claim matching the
    list's filters ("select all N matching", the filters sent back in `matching`)."""
    post = request.POST
    source = post.get("source", "claims")
    if source == "articles":
        return _article_selection(request, workspace)
    if post.get("all_matching") == "1":
        params = QueryDict(mutable=True)
        for key, values in parse_qs(post.get("matching", ""), keep_blank_values=False).items():
            params.setlist(key, values)
        if source == "queue":
            qs = selectors.queue_claims(
                workspace=workspace, reviewer=request.user,
                article_id=_int(params.get("article")), rating_id=_int(params.get("rating")),
                author_id=_int(params.get("author")),
            )
        else:
            qs, _errors = _filtered(request, workspace, params)
        matched = [(pk, rev) for pk, rev in qs.prefetch_related(None).order_by("id").values_list("id", "revision")]
        if not matched:
            raise ValidationError({"claim": "No claims match the list's filters now; nothing was done."})
        return matched
    items: list[tuple[int, int | None]] = []
    for value in post.getlist("claim"):
        claim_id, _, revision = value.partition(":")
        if not claim_id.isdigit() or (revision and not revision.isdigit()):
            raise ValidationError({"claim": f"{value!r} is not a claim of this list."})
        items.append((int(claim_id), int(revision) if revision else None))
    if not items:
        raise ValidationError({"claim": "Select at least one claim."})
    return list(dict(items).items())


def _article_selection(request, workspace) -> list[tuple[int, int | None]]:
    """On the articles list the selection is of articles: it acts on all their claims."""
    post = request.POST
    desk_claims = access.claims_of(request.user).filter(workspace=workspace)
    if post.get("all_matching") == "1":
        form = ArticleFilterForm(QueryDict(post.get("matching", "")))
        filters = form.cleaned_data if form.is_valid() else {}
        articles = selectors.article_search(workspace=workspace, **{k: v for k, v in filters.items() if v})
        claims = desk_claims.filter(article__in=articles.values("pk"))
    else:
        ids = [value for value in post.getlist("article") if value.isdigit()]
        if not ids:
            raise ValidationError({"article": "Select at least one article."})
        claims = desk_claims.filter(article_id__in=[int(i) for i in ids])
    items: list[tuple[int, int | None]] = [(pk, None) for pk in claims.order_by("id").values_list("id", flat=True)]
    if not items:
        raise ValidationError({"article": "The selected articles have no claims."})
    return items


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@login_required
@require_POST
def bulk(request, workspace_slug: str):
    """Run a bulk action on the selection; a large one runs as a job with progress."""
    workspace = access.workspace_get(user=request.user, slug=workspace_slug)
    action = request.POST.get("action", "")
    back = request.POST.get("back") or ""
    if not back.startswith(f"/w/{workspace.slug}/"):
        back = f"/w/{workspace.slug}/claims/"
    try:
        items = _selection(request, workspace)
        if action == "export":
            claims = access.claims_of(request.user).filter(workspace=workspace, pk__in=[i for i, _ in items])
            return csvexport.response(csvexport.claim_rows(claims.order_by("id")), csvexport.CLAIM_COLUMNS,
                                      name=f"{workspace.slug}-selected-claims",
                                      time_zone=_time_zone(request.user, workspace))
        bulk_services.bulk_check(workspace=workspace, actor=request.user, action=action)
        params = bulk_services.clean_params(workspace=workspace, action=action, data=request.POST,
                                            time_zone=_time_zone(request.user, workspace))
        if len(items) > bulk_services.JOB_THRESHOLD:
            job = bulk_services.bulk_job_create(workspace=workspace, actor=request.user, action=action, items=items,
                                                params=params)
            messages.success(request, f"{len(items):,} claims are being worked on; this page shows the progress.")
            return redirect("bulk_job", workspace.slug, job.pk)
        result = bulk_services.bulk_apply(workspace=workspace, actor=request.user, action=action, items=items,
                                          params=params)
    except PermissionDenied as exc:
        return _forbidden(request, str(exc))
    except ValidationError as exc:
        for errors in exc.message_dict.values():
            for error in errors:
                messages.error(request, error)
        return redirect(back)
    return render(request, "annotations/bulk_result.html", {
        "workspace": workspace, "action": bulk_services.ACTIONS[action], "applied": len(result.applied),
        "failures": result.failures, "back": back, "job": None,
    })


@login_required
def bulk_job(request, workspace_slug: str, job_id: int):
    workspace = access.workspace_get(user=request.user, slug=workspace_slug)
    job = access.bulk_job_get(user=request.user, workspace=workspace, job_id=job_id)
    return render(request, "annotations/bulk_result.html", {
        "workspace": workspace, "action": bulk_services.ACTIONS.get(job.action, job.action),
        "applied": job.applied, "failures": job.failures, "back": f"/w/{workspace.slug}/claims/", "job": job,
    })
