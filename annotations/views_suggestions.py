"""The reader's suggested sentences (checkworthiness.py): dismissing one for the whole desk,
and undoing that. JSON in, 204 out; 400 names the field, 403 the rule, 404 another desk's
article. CSRF-protected like every POST of the desk (reader.js sends the token)."""

from collections.abc import Callable

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.views.decorators.http import require_POST

from annotations import access
from annotations.errors import PermissionDenied
from annotations.services.suggestions import suggestion_dismiss, suggestion_restore
from annotations.views import _int_or_none, _json_error, _read_json, _validation_error_json


def _on_suggestion(request, workspace_slug: str, article_id: int, service: Callable[..., object]) -> HttpResponse:
    try:  # missing answers JSON too, so that the reader can say why
        article = access.article_get(user=request.user, workspace_slug=workspace_slug, article_id=article_id)
    except Http404 as exc:
        return _json_error(404, str(exc))
    try:
        body = _read_json(request)
        version = access.article_version_get(article=article, version_id=_int_or_none(body.get("version")))
        service(version=version, start=body.get("start"), end=body.get("end"), actor=request.user)
    except ValidationError as exc:
        return _validation_error_json(exc)
    except PermissionDenied as exc:
        return _json_error(403, str(exc))
    return HttpResponse(status=204)


@login_required
@require_POST
def suggestion_dismiss_view(request, workspace_slug: str, article_id: int):
    return _on_suggestion(request, workspace_slug, article_id, suggestion_dismiss)


@login_required
@require_POST
def suggestion_restore_view(request, workspace_slug: str, article_id: int):
    return _on_suggestion(request, workspace_slug, article_id, suggestion_restore)
