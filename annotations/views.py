import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from annotations import access, checkworthiness, csvexport, health, selectors
from annotations.api.parsers import JSONTooDeep, UnstorableText, json_loads_limited
from annotations.errors import ConflictError, PermissionDenied
from annotations.forms import ArticleAddForm, ArticleFilterForm, ClaimForm, SourceFormSet
from annotations.importing import ArticleFileError, parse_upload
from annotations.matching import suggest_claimant_and_restatement
from annotations.permissions import can
from annotations.services.articles import article_import, article_import_url
from annotations.services.bulk import actions_for as bulk_actions_for
from annotations.services.claims import (
    SourceChange,
    claim_create,
    claim_delete,
    claim_reattach,
    claim_update,
)
from annotations.services.editing import claim_save_and_submit
from annotations.workflow import available_transitions


def _json_error(status: int, message: str, fields: dict | None = None) -> JsonResponse:
    return JsonResponse({"error": message, "fields": fields or {}}, status=status)


def _validation_error_json(exc: ValidationError) -> JsonResponse:
    fields = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
    first = next(iter(fields.values()))[0]
    return _json_error(400, first, fields)


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _read_json(request) -> dict:
    try:
        body = json_loads_limited((request.body or b"{}").decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ValidationError({"body": "The request body is not valid JSON."}) from None
    except JSONTooDeep as exc:
        raise ValidationError({"body": str(exc)}) from None
    except UnstorableText as exc:
        raise ValidationError({exc.field or "body": exc.message}) from None
    if not isinstance(body, dict):
        raise ValidationError({"body": "The request body must be a JSON object."})
    return body


def _field_suggestions(claim) -> dict[str, str]:
    """What the editor offers for an empty claimant or restatement, read from the quote and
    the attribution around it in the article (matching needs both). The version's text is
    already loaded with the claim: no query."""
    if claim.claimant and claim.claim_reviewed:
        return {}
    claimant, restatement = suggest_claimant_and_restatement(claim.exact, claim.version.text)
    offers = {"claimant": "" if claim.claimant else claimant,
              "claim_reviewed": "" if claim.claim_reviewed else restatement}
    return {field: value for field, value in offers.items() if value}


@login_required
def home(request):
    workspaces = selectors.workspace_list_for_user(user=request.user)
    return render(request, "annotations/home.html", {"workspaces": workspaces})


@login_required
def article_list(request, workspace_slug: str):
    workspace = access.workspace_get(user=request.user, slug=workspace_slug)
    form = ArticleFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    articles = selectors.article_search(workspace=workspace, **{k: v for k, v in filters.items() if v})
    if csvexport.wants_csv(request):
        return csvexport.response(
            csvexport.article_rows(articles), csvexport.ARTICLE_COLUMNS, name=f"{workspace.slug}-articles",
            time_zone=selectors.own_time_zone(user=request.user) or workspace.time_zone,
        )
    query = request.GET.copy()
    query.pop("download", None)
    return render(
        request,
        "annotations/article_list.html",
        {
            "workspace": workspace,
            "form": form,
            "articles": articles,
            "publishers": selectors.article_publishers(workspace=workspace),
            "filter_query": query.urlencode(),
            "bulk_actions": bulk_actions_for(workspace=workspace, actor=request.user),
            "assignees": selectors.workspace_users(workspace=workspace),  # read only if assigning is offered
        },
    )


@login_required
def article_add(request, workspace_slug: str):
    workspace = access.workspace_get(user=request.user, slug=workspace_slug)
    form = ArticleAddForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if form.fetches_url:  # fetched now, with a short timeout (services.articles.URL_FETCH_TIMEOUT)
                result = article_import_url(
                    workspace=workspace, url=data["url"], watch=data["watch"], title=data["title"],
                    publisher=data["publisher"], actor=request.user,
                )
            else:
                if data["file"]:
                    parsed = parse_upload(data["file"].name, data["file"].read())
                    text, title = parsed.text, data["title"] or parsed.title
                    url, publisher = data["url"] or parsed.url, data["publisher"] or parsed.publisher
                    source_name = parsed.source_name
                else:
                    text, title, url, publisher = data["text"], data["title"], data["url"], data["publisher"]
                    source_name = "pasted text"
                result = article_import(
                    workspace=workspace, text=text, title=title, url=url, publisher=publisher,
                    source_name=source_name, actor=request.user,
                )
        except ArticleFileError as exc:
            form.add_error("file", f"This file cannot be imported: {exc}.")
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            message = {
                "created": "The article was fetched from its page and added." if form.fetches_url else (
                    "The article was added."),
                "new_version": (
                    f"The article already existed; this text is its version {result.version.number}, "
                    "and its claims were re-anchored."
                ),
                "unchanged": "This exact text is already in the desk; nothing changed.",
            }[result.outcome]
            messages.success(request, message)
            return redirect("article_detail", workspace.slug, result.article.pk)
    return render(request, "annotations/article_add.html", {"workspace": workspace, "form": form})


@login_required
def article_detail(request, workspace_slug: str, article_id: int):
    article = access.article_get(user=request.user, workspace_slug=workspace_slug, article_id=article_id)
    reader = selectors.article_reader(article=article)
    # ?part=reader: only the highlighted text and the claims list, which the reader's
    # script swaps in after a claim is marked or saved in the side panel.
    if request.GET.get("part") == "reader":
        return render(request, "annotations/_reader_part.html", {"article": article, "reader": reader})
    # Suggested check-worthy sentences, scored when shown (about a millisecond a version,
    # cached per text; no query): the best 30% not already covered by a claim, less those
    # someone on the desk dismissed (one query; views_suggestions.py).
    suggested = []
    if reader:
        dismissed = selectors.suggestion_dismissed_spans(version=reader.version)
        suggested = [
            s for s in checkworthiness.suggestions(
                reader.version.text, [(c["start_offset"], c["end_offset"]) for c in reader.claims]
            )
            if (s.start, s.end) not in dismissed
        ]
    context: dict[str, Any] = {"article": article, "reader": reader, "suggestions": suggested}
    if can(request.user, "annotations.assign", article.workspace):  # admins: the "Assign" form
        context.update(workspace=article.workspace, assign_kind="article", assign_target=article.pk,
                       assign_people=selectors.assignable_people(workspace=article.workspace, kind="article"),
                       assign_current=selectors.article_assignments(article=article))
    return render(request, "annotations/article_detail.html", context)


@login_required
@require_POST
def claim_create_view(request, workspace_slug: str, article_id: int):
    article = access.article_get(user=request.user, workspace_slug=workspace_slug, article_id=article_id)
    try:
        body = _read_json(request)
        version = access.article_version_get(article=article, version_id=_int_or_none(body.get("version")))
        claim = claim_create(
            actor=request.user, article=article, version=version,
            exact=body.get("exact"), start=body.get("start"), end=body.get("end"),
            prefix=body.get("prefix"), suffix=body.get("suffix"),
        )
    except ValidationError as exc:
        return _validation_error_json(exc)
    except PermissionDenied as exc:
        return _json_error(403, str(exc))
    edit_url = reverse("claim_edit", args=[workspace_slug, claim.pk])
    return JsonResponse(
        {
            "id": claim.pk, "exact": claim.exact, "start": claim.start_offset, "end": claim.end_offset,
            "edit_url": edit_url,
        },
        status=201,
    )


@login_required
@require_POST
def claim_reattach_view(request, workspace_slug: str, claim_id: int):
    claim = access.claim_get(user=request.user, workspace_slug=workspace_slug, claim_id=claim_id)
    try:
        body = _read_json(request)
        claim_reattach(
            claim=claim, actor=request.user, revision=body.get("revision"),
            exact=body.get("exact"), start=body.get("start"), end=body.get("end"),
        )
    except ValidationError as exc:
        return _validation_error_json(exc)
    except PermissionDenied as exc:
        return _json_error(403, str(exc))
    except ConflictError as exc:
        return _json_error(409, str(exc))
    return JsonResponse({"id": claim.pk, "start": claim.start_offset, "end": claim.end_offset})


def _source_changes(formset) -> list[SourceChange]:
    """The rows of the sources formset a person actually touched."""
    changes = []
    for form in formset.forms:
        deleting = bool(form.cleaned_data.get("DELETE"))
        if deleting and form.instance.pk:
            changes.append(SourceChange(pk=form.instance.pk, fields={}, delete=True))
        elif form.has_changed() and not deleting:
            fields = {name: form.cleaned_data.get(name) for name in form.Meta.fields}
            changes.append(SourceChange(pk=form.instance.pk, fields=fields))
    return changes


def _submit_refused(form: ClaimForm, exc: ValidationError) -> None:
    """Put the workflow's refusal beside the fields it is about: "Give the claim a
    restatement and a rating" goes next to whichever of the two is still empty."""
    for field, errors in exc.message_dict.items():
        if field == "rating":
            missing = [
                name for name in ("claim_reviewed", "rating")
                if not str(form.cleaned_data.get(name) or "").strip()
            ]
            for name in missing or ["rating"]:
                form.add_error(name, errors)
        else:
            form.add_error(field if field in form.fields else None, errors)


def _claim_save(request, claim, form, formset, *, submitting: bool) -> int:
    """Save the editor (and submit it, when asked) through the services. Returns 200 when
    saved; otherwise the reasons are on the form and the status says why (400 a field,
    409 someone else changed the claim meanwhile)."""
    form_valid = form.is_valid()
    if not (formset.is_valid() and form_valid):  # both, so every mistake is shown at once
        return 400
    fields = {name: form.cleaned_data[name] for name in form.Meta.fields}
    sources = _source_changes(formset)
    revision = form.cleaned_data["revision"]
    try:
        if submitting:
            claim_save_and_submit(
                claim=claim, actor=request.user, revision=revision, fields=fields, sources=sources,
                changed=form.has_changed() or bool(sources),
            )
        else:
            claim_update(claim=claim, actor=request.user, revision=revision, fields=fields, sources=sources)
        return 200
    except ConflictError as exc:
        form.add_error(None, str(exc))
        return 409
    except PermissionDenied as exc:
        form.add_error(None, str(exc))
    except ValidationError as exc:
        if submitting:
            _submit_refused(form, exc)
        else:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
    return 400


@login_required
def claim_edit(request, workspace_slug: str, claim_id: int):
    """The claim editor: a page of its own (deep links) or, with ?panel=1, the fragment
    the article reader shows in its side panel. "Save claim" saves; "Save and submit for
    review" saves and submits in one transaction. A refused save answers with the typed
    text kept and each reason beside its field."""
    claim = access.claim_get(user=request.user, workspace_slug=workspace_slug, claim_id=claim_id)
    panel = request.GET.get("panel") == "1"
    editable = can(request.user, "annotations.change_claim", claim)
    sources = selectors.claim_sources(claim=claim)
    form = ClaimForm(
        request.POST or None, instance=claim, workspace=claim.workspace, initial={"revision": claim.revision}
    )
    formset = SourceFormSet(request.POST or None, queryset=sources, prefix="sources")
    status, notice = 200, ""
    if request.method == "POST":
        if not editable:
            raise Http404("This claim cannot be edited by you.")
        submitting = request.POST.get("intent") == "submit"
        status = _claim_save(request, claim, form, formset, submitting=submitting)
        saved = status == 200
        notice = ("Saved and submitted for review." if submitting else "Claim saved.") if saved else ""
        if saved and not panel:
            messages.success(request, notice)
            article_url = reverse("article_detail", args=[workspace_slug, claim.article_id])
            return redirect(f"{article_url}#claim-{claim.pk}")
        # The services changed the claim in memory, and a refused save-and-submit was rolled
        # back while that copy was not: read it again.
        claim = access.claim_get(user=request.user, workspace_slug=workspace_slug, claim_id=claim_id)
        if saved:
            # The panel shows the saved claim again, as a fresh form at its new revision.
            editable = can(request.user, "annotations.change_claim", claim)
            sources = selectors.claim_sources(claim=claim)
            form = ClaimForm(instance=claim, workspace=claim.workspace, initial={"revision": claim.revision})
            formset = SourceFormSet(queryset=sources, prefix="sources")
        elif not panel:
            status = 200  # the full page answers a refused save with 200, as it always has
    context = {
        "claim": claim,
        "form": form,
        "formset": formset,
        "editable": editable,
        "deletable": can(request.user, "annotations.delete_claim", claim),
        "sources": sources,
        "transitions": {t.name for t in available_transitions(claim=claim, user=request.user)},
        "reviews": selectors.claim_reviews(claim=claim),
        "unsaved": form.is_bound and not notice,
        "notice": notice,
        "panel": panel,
        "suggestions": _field_suggestions(claim) if editable else {},
    }
    if panel:
        response = render(request, "annotations/_claim_panel.html", context, status=status)
        if notice:
            response["X-Claim-Saved"] = str(claim.pk)
        return response
    context.update(
        timeline=selectors.claim_timeline(claim=claim),
        matches=selectors.claim_matches(claim=claim),
    )
    return render(request, "annotations/claim_edit.html", context)


@login_required
@require_POST
def claim_delete_view(request, workspace_slug: str, claim_id: int):
    claim = access.claim_get(user=request.user, workspace_slug=workspace_slug, claim_id=claim_id)
    try:
        claim_delete(claim=claim, actor=request.user, revision=int(request.POST.get("revision", 0)))
    except PermissionDenied as exc:
        messages.error(request, str(exc))
        return redirect("claim_edit", workspace_slug, claim.pk)
    except (ConflictError, ValueError) as exc:
        message = str(exc) if isinstance(exc, ConflictError) else "The form was incomplete; reload and try again."
        messages.error(request, message)
        return redirect("claim_edit", workspace_slug, claim.pk)
    messages.success(request, "Claim deleted.")
    return redirect("article_detail", workspace_slug, claim.article_id)


@never_cache
@require_GET
def healthz(request):
    """200 when the database, Redis and a Celery worker are all up; 503 naming what is down."""
    checks = {
        "database": health.check_database(),
        "redis": health.check_redis(),
    }
    # Asking workers goes through Redis; with Redis down the answer is already known.
    checks["worker"] = (
        health.check_workers() if checks["redis"][0] else (False, "unknown: redis is down")
    )
    down = [name for name, (ok, _) in checks.items() if not ok]
    body = {
        "status": "ok" if not down else "down",
        "down": down,
        "checks": {name: detail for name, (_, detail) in checks.items()},
        "scheduler_last_beat": health.last_scheduler_beat() if checks["redis"][0] else None,
    }
    return JsonResponse(body, status=503 if down else 200)
