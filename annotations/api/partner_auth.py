"""How a partner key is recognised and throttled: `Authorization: Partner pk_...`.

Apart from the partner views (annotations.api.partner) because DRF's settings import these
classes, and a module that also defines views would be imported while DRF reads them.
The request's user is anonymous and `request.auth` the PartnerKey, so every member
endpoint (IsAuthenticated) answers 401 to it.
"""

from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions
from rest_framework.throttling import SimpleRateThrottle

from annotations.models import PartnerKey
from annotations.publishing import partners as partner_services
from annotations.tokens import PARTNER_KEY_PREFIX

KEY_REFUSED = "This partner key is unknown, was revoked or has expired."
KEY_ELSEWHERE = "A partner key reads only /api/v1/feed/ and /api/v1/partner/verdicts/."


# --- Authentication and throttling ---------------------------------------------------------

class PartnerKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Partner pk_...`: an organisation's key, not a person's."""

    keyword = "partner"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0].lower() != self.keyword:
            return None
        if len(header) != 2 or not header[1].startswith(PARTNER_KEY_PREFIX):
            raise exceptions.AuthenticationFailed("Send the key as 'Authorization: Partner pk_...'.")
        record = partner_services.partner_key_active(key=header[1])
        if record is None:
            raise exceptions.AuthenticationFailed(KEY_REFUSED)
        # 401 with a sentence at every other endpoint, rather than the 403 an anonymous
        # user would get from IsAuthenticated after a successful authentication.
        view = (getattr(request, "parser_context", None) or {}).get("view")
        if not getattr(view, "partner_keys_accepted", False):
            raise exceptions.AuthenticationFailed(KEY_ELSEWHERE)
        partner_services.partner_key_used(record=record)
        return AnonymousUser(), record

    def authenticate_header(self, request):
        return "Partner"


class PartnerKeyScheme(OpenApiAuthenticationExtension):
    target_class = "annotations.api.partner_auth.PartnerKeyAuthentication"
    name = "partnerKeyAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "`Partner pk_...`: a desk admin creates partner keys on the Partners page."}


class PartnerKeyThrottle(SimpleRateThrottle):
    """Per key, at its partner's rate (Partner.throttle_rate); other requests pass."""

    scope = "partner"

    def __init__(self):  # the rate is the partner's, read per request
        pass

    def allow_request(self, request, view):
        if not isinstance(request.auth, PartnerKey):
            return True
        self.rate = request.auth.partner.throttle_rate
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        return f"throttle_partner_key_{request.auth.pk}"


class PartnerOrMember(permissions.BasePermission):
    """A partner key, or a logged-in member (whose desk is then checked by the view)."""

    def has_permission(self, request, view):
        return isinstance(request.auth, PartnerKey) or bool(request.user and request.user.is_authenticated)


def partner_key_of(request) -> PartnerKey | None:
    """The partner key a request authenticated with, if it did."""
    return request.auth if isinstance(request.auth, PartnerKey) else None
