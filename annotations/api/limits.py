"""What every request must be, checked before any view runs: a body within its route's
limit (from the Content-Length, before anything reads the body), and for the API query
parameters Postgres can store.

Django has one ceiling for every address, DATA_UPLOAD_MAX_MEMORY_SIZE; it is set to what
the routes that take articles need (ARTICLE_BODY_MAX_BYTES: 2,000,000 characters of up to
4 bytes each, and headroom). Every other route is held here to REQUEST_BODY_MAX_BYTES.
Either way a body over the limit is a 413: the API's error JSON under /api/, a short page
elsewhere (annotations.api.errors.too_large).

A NUL character in an API query parameter (`?workspace=%00`) would reach Postgres, which
refuses it in text (a 500): it is a 400 naming the parameter. (Django decodes a query string
with replacement characters, so no lone surrogate gets this far.)
"""

from django.conf import settings
from django.urls import Resolver404, resolve

from annotations.api.errors import error_json, is_api, too_large
from annotations.api.parsers import NUL_IN_TEXT
from annotations.importing import MAX_FILE_BYTES

# URL names of the routes that take an article's text: POST /api/v1/articles/ and the
# add-article page (pasted text, or a file of up to MAX_FILE_BYTES beside it).
ARTICLE_ROUTES = frozenset({"article-list", "article_add"})


def body_limit(request) -> int:
    """The most bytes a request body to this address may have."""
    try:
        match = resolve(request.path_info, getattr(request, "urlconf", None))
    except Resolver404:
        return settings.REQUEST_BODY_MAX_BYTES
    if match.url_name not in ARTICLE_ROUTES:
        return settings.REQUEST_BODY_MAX_BYTES
    limit = settings.ARTICLE_BODY_MAX_BYTES
    if request.content_type == "multipart/form-data":
        # Django counts only the form's fields against its ceiling, not an uploaded file.
        limit += MAX_FILE_BYTES
    return limit


class RequestSizeLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        # Only a body over the usual limit costs the resolve that says which limit applies.
        if length > settings.REQUEST_BODY_MAX_BYTES:
            limit = body_limit(request)
            if length > limit:
                return too_large(request, limit)
        if "%00" in request.META.get("QUERY_STRING", "") and is_api(request):
            for name, values in request.GET.lists():
                if "\x00" in name or any("\x00" in value for value in values):
                    shown = name.replace("\x00", "\\u0000")
                    return error_json(400, f"{shown}: {NUL_IN_TEXT}", "invalid", {shown: [NUL_IN_TEXT]})
        return self.get_response(request)
