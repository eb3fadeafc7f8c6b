"""One error shape for every 4xx of the API:

    {"error": {"status": 400, "code": "invalid", "message": "A sentence.",
               "fields": {"field": ["What is wrong with it."]}}}
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
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


def handle(exc, context):
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, (PermissionDenied, DjangoPermissionDenied)):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, ConflictError):
        exc = Conflict(str(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound("Not found, or not in one of your desks.")
    response = exception_handler(exc, context)
    if response is None:
        return None
    fields = _flatten(exc.detail) if isinstance(exc, exceptions.ValidationError) else {}
    if fields:
        first_field, first_messages = next(iter(fields.items()))
        message = first_messages[0] if first_field == "non_field_errors" else f"{first_field}: {first_messages[0]}"
    else:
        message = str(exc.detail) if hasattr(exc, "detail") else str(exc)
    codes = exc.get_codes() if hasattr(exc, "get_codes") else "error"
    code = codes if isinstance(codes, str) else "invalid"
    response.data = {"error": {"status": response.status_code, "code": code, "message": message, "fields": fields}}
    return response


def error_response(status_code: int, message: str, code: str = "invalid", fields=None) -> Response:
    return Response({"error": {"status": status_code, "code": code, "message": message, "fields": fields or {}}},
                    status=status_code)
