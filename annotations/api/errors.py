"""One error shape for every 4xx of the API:

    {"error": {"status": 400, "code": "invalid", "message": "A sentence.",
               "fields": {"field": ["What is wrong with it."]}}}
"""

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.urls import Resolver404, resolve
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler

from annotations.errors import ConflictError, PermissionDenied


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_code = "precondition_failed"
    default_detail = "The object changed since you read it (If-Match does not match its ETag); nothing was changed."


class PreconditionRequired(exceptions.APIException):
    status_code = 428
    default_code = "precondition_required"
    default_detail = "Send the ETag you read in an If-Match header (or its revision in the body)."


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"


def too_large_message(limit: int) -> str:
    return f"The request body is too large: this address accepts at most {limit:,} bytes."


class BadRequest(exceptions.APIException):
    """Django refused the request as malformed (too many form fields or files, ...)."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "bad_request"


def _flatten(detail) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        out = {}
        for key, value in detail.items():
            if isinstance(value, dict):
                for sub, messages in _flatten(value).items():
                    out[f"{key}.{sub}"] = messages
            elif isinstance(value, list) and value and isinstance(value[0], dict):
                for i, item in enumerate(value):
                    for sub, messages in _flatten(item).items():
                        out[f"{key}[{i}].{sub}"] = messages
            else:
                out[key] = [str(m) for m in (value if isinstance(value, list) else [value])]
        return out
    if isinstance(detail, list):
        return {"non_field_errors": [str(m) for m in detail]}
    return {}


def _shortened(text: str, limit: int) -> str:
    """A message or field name as the error shows it: some repeat what was sent (a desk
    called '...', '...' is not a valid choice), and a 1 MB value is not echoed back."""
    return text if len(text) <= limit else f"{text[:limit]}… (cut short: {len(text):,} characters)"


def handle(exc, context):
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, (PermissionDenied, DjangoPermissionDenied)):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, ConflictError):
        exc = Conflict(str(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(NOT_FOUND)
    elif isinstance(exc, RequestDataTooBig):  # Django's own ceiling, DATA_UPLOAD_MAX_MEMORY_SIZE
        exc = RequestTooLarge(too_large_message(settings.DATA_UPLOAD_MAX_MEMORY_SIZE))
    elif isinstance(exc, SuspiciousOperation):  # e.g. TooManyFieldsSent: Django's page would be HTML
        exc = BadRequest(f"The request was refused: {exc}")
    response = exception_handler(exc, context)
    if response is None:
        return None
    request = context.get("request")
    if request is not None:  # errors are JSON whatever the view renders (the schema's YAML, the docs' HTML)
        request.accepted_renderer, request.accepted_media_type = JSONRenderer(), "application/json"
    fields = _flatten(exc.detail) if isinstance(exc, exceptions.ValidationError) else {}
    fields = {_shortened(name, 200): [_shortened(m, 1000) for m in messages] for name, messages in fields.items()}
    if fields:
        first_field, first_messages = next(iter(fields.items()))
        message = first_messages[0] if first_field == "non_field_errors" else f"{first_field}: {first_messages[0]}"
    else:
        message = _shortened(str(exc.detail) if hasattr(exc, "detail") else str(exc), 1000)
    codes = exc.get_codes() if hasattr(exc, "get_codes") else "error"
    code = codes if isinstance(codes, str) else "invalid"
    response.data = {"error": {"status": response.status_code, "code": code, "message": message, "fields": fields}}
    return response


NOT_FOUND = "Not found, or not in one of your desks."


def error_body(status_code: int, message: str, code: str = "invalid", fields=None) -> dict:
    return {"error": {"status": status_code, "code": code, "message": message, "fields": fields or {}}}


def error_response(status_code: int, message: str, code: str = "invalid", fields=None) -> Response:
    return Response(error_body(status_code, message, code, fields), status=status_code)


def error_json(status_code: int, message: str, code: str, fields=None) -> JsonResponse:
    """The same shape outside DRF: URL-level 404s, 413s refused before any view, 500s."""
    return JsonResponse(error_body(status_code, message, code, fields), status=status_code,
                        json_dumps_params={"separators": (",", ":")})  # as DRF writes it


# --- Outside the API's views: the URL resolver, Django's handlers, the size limit ----------

def is_api(request) -> bool:
    return request.path_info == "/api" or request.path_info.startswith("/api/")


TOO_LARGE_PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Request too large</title></head>'
    "<body><h1>Request too large</h1><p>{message}</p></body></html>"
)


def too_large(request, limit: int) -> HttpResponse:
    """413: the API's error JSON under /api/, a short page elsewhere."""
    message = too_large_message(limit)
    if is_api(request):
        return error_json(413, message, "too_large")
    return HttpResponse(TOO_LARGE_PAGE.format(message=message), status=413)


@csrf_exempt  # it changes nothing, and a POST without a CSRF cookie must get the 404 too
def api_not_found(request, *args, **kwargs) -> HttpResponse:
    """Every /api/... address no route matches, whatever the method. Without the slash
    a route ends with, a GET is redirected to it as APPEND_SLASH would; any other method
    is told the address to use (a redirect would turn a POST into a GET)."""
    if not request.path_info.endswith("/"):
        match = _resolves(request.path_info + "/", request)
        if match is not None and match.func is not api_not_found:
            if request.method in ("GET", "HEAD"):
                return HttpResponsePermanentRedirect(request.get_full_path(force_append_slash=True))
            return error_json(404, f"Not found; the address ends with a slash: {request.path}/", "not_found")
    return error_json(404, "There is no such address in the API; see /api/v1/docs/.", "not_found")


def _resolves(path: str, request):
    try:
        return resolve(path, getattr(request, "urlconf", None))
    except Resolver404:
        return None


def not_found(request, exception=None):
    """handler404: the error JSON for /api/..., the desk's page anywhere else."""
    if is_api(request):
        return error_json(404, NOT_FOUND, "not_found")
    return defaults.page_not_found(request, exception)


def bad_request(request, exception=None):
    """handler400: Django refused the request before a view could (the body too large for
    Django's own ceiling, too many form fields); JSON under /api/."""
    if isinstance(exception, RequestDataTooBig):
        return too_large(request, settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    if is_api(request):
        return error_json(400, "The request was refused as malformed.", "bad_request")
    return defaults.bad_request(request, exception)


def permission_denied(request, exception=None):
    if is_api(request):
        return error_json(403, str(exception or "") or "You may not do this.", "permission_denied")
    return defaults.permission_denied(request, exception)


def server_error(request):
    if is_api(request):
        return error_json(500, "The server failed to answer this request; the error was logged.", "server_error")
    return defaults.server_error(request)
