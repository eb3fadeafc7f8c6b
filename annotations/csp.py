"""The Content-Security-Policy header: django-csp's middleware, and every exception to the
policy in one place.

The policy is CONTENT_SECURITY_POLICY in settings: scripts, styles, images and
connections from the desk itself, no inline script, event handler or style attribute.
The API docs' start-up scripts carry a nonce (templates/drf_spectacular/). A few
responses need something else; they are told apart by what they are, not by their
address, and no exception allows an inline script:

- a page exempt from X-Frame-Options (the public verdict's embed card, which partners
  frame on their sites) is exempt from `frame-ancestors` too, so the two never disagree;
- DRF's browsable API: its templates carry <style> blocks and style attributes, so
  `style-src 'self' 'unsafe-inline'`;
- Redoc (/api/v1/redoc/): its bundle inserts <style> elements as it loads, before it can
  be given a nonce, and builds its search index in a worker made from a blob: URL.
"""

from typing import Any

from csp.constants import SELF, UNSAFE_INLINE
from csp.middleware import CSPMiddleware as BaseCSPMiddleware
from csp.middleware import PolicyParts
from django.http import HttpRequest, HttpResponseBase
from drf_spectacular.views import SpectacularRedocView
from rest_framework.renderers import BrowsableAPIRenderer

INLINE_STYLES = {"style-src": [SELF, UNSAFE_INLINE]}


def _view_class(request: HttpRequest) -> Any:
    match = getattr(request, "resolver_match", None)
    return getattr(match.func, "view_class", None) if match else None


def exceptions_for(request: HttpRequest, response: HttpResponseBase) -> dict[str, list[str] | None]:
    """Directives that replace the settings' ones for this response."""
    replace: dict[str, list[str] | None] = {}
    if getattr(response, "xframe_options_exempt", False):
        replace["frame-ancestors"] = None
    if isinstance(getattr(response, "accepted_renderer", None), BrowsableAPIRenderer):
        replace |= INLINE_STYLES
    view_class = _view_class(request)
    if isinstance(view_class, type) and issubclass(view_class, SpectacularRedocView):
        replace |= INLINE_STYLES | {"worker-src": [SELF, "blob:"]}
    return replace


class CSPMiddleware(BaseCSPMiddleware):
    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        replace = exceptions_for(request, response)
        if replace:
            # A view's own @csp_replace still has the last word.
            parts.replace = replace | (parts.replace or {})
        return parts
