"""Partners over the API: the admins' endpoints that manage them, and what a partner key
reads (the desk's published records and its change feed).

A partner key authenticates as `Authorization: Partner pk_...`. The request's user is then
anonymous and `request.auth` the PartnerKey, so every member endpoint (IsAuthenticated)
answers 401 to it; only the views here that allow `PartnerOrMember` serve it.
"""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, mixins, pagination, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations import access, checkpoints
from annotations.api import serializers as s
from annotations.api.partner_auth import PartnerKeyThrottle, PartnerOrMember, partner_key_of
from annotations.permissions import require
from annotations.publishing import feed
from annotations.publishing import partners as partner_services
from annotations.publishing import webhooks as webhook_services


def _desk(request):
    """A partner reads its own desk; `workspace` naming another is 404. A member names one
    of their desks."""
    slug = request.query_params.get("workspace", "")
    key = partner_key_of(request)
    if key is not None:
        workspace = key.partner.workspace
        if slug and slug != workspace.slug:
            raise exceptions.NotFound("Not found, or not in one of your desks.")
        return workspace
    if not slug:
        raise exceptions.ValidationError({"workspace": "Name the desk whose feed to read (its slug)."})
    return access.workspace_get(user=request.user, slug=slug, field="workspace")


# --- What a partner reads ------------------------------------------------------------------

EVENT = inline_serializer("FeedEvent", fields={
    "position": serializers.CharField(),
    "type": serializers.ChoiceField(choices=["published", "corrected", "withdrawn"]),
    "verdict": serializers.IntegerField(),
    "publication": serializers.IntegerField(),
    "record": serializers.DictField(),
})
DESK = OpenApiParameter("workspace", str,
                        description="Desk slug: required for members; a partner's key names its desk.")
FORMAT = OpenApiParameter("format", str, enum=list(feed.FEED_FORMATS), description="json (default) or claimreview.")


class FeedView(APIView):
    """The desk's publication events in commit order: published, corrected and withdrawn
    (a tombstone with the reason). Replaying from the start gives the verdicts in force.
    `wait` long-polls up to 30 s for the first event (the worker is held meanwhile).
    Every page also carries the latest signed checkpoint of the desk's audit trail."""

    permission_classes = [PartnerOrMember]
    throttle_classes = [PartnerKeyThrottle]
    partner_keys_accepted = True

    @extend_schema(
        parameters=[
            OpenApiParameter("after", str, description="The `next` of the previous page; empty to start."),
            OpenApiParameter("limit", int, description=f"1 to {feed.FEED_LIMIT_MAX}."),
            OpenApiParameter("wait", int, description=f"0 to {feed.FEED_WAIT_MAX} seconds."),
            FORMAT, DESK,
        ],
        responses={200: inline_serializer("FeedPage", fields={
            "events": serializers.ListField(child=EVENT), "next": serializers.CharField(),
            "audit_checkpoint": serializers.CharField(allow_null=True, help_text=(
                "The desk's latest signed checkpoint of its audit trail (https://c2sp.org/tlog-checkpoint), "
                "for partners to keep: verify it with the key on /v/audit/key/. Null before the first."
            )),
        })},
    )
    def get(self, request):
        workspace = _desk(request)
        query = feed.feed_query_parse(workspace_id=workspace.pk, params=request.query_params)
        page = feed.feed_read(workspace=workspace, query=query)
        return Response({"events": page.events, "next": page.next, "audit_checkpoint": checkpoints.latest_note()})


class VerdictCursor(pagination.CursorPagination):
    page_size = 100
    page_size_query_param = "limit"
    max_page_size = feed.FEED_LIMIT_MAX
    ordering = "id"


class PartnerVerdictsView(APIView):
    """The desk's verdicts in force, as published (the JSON line, or ClaimReview with
    `format=claimreview`), by publication number."""

    permission_classes = [PartnerOrMember]
    throttle_classes = [PartnerKeyThrottle]
    partner_keys_accepted = True

    @extend_schema(
        parameters=[FORMAT, DESK, OpenApiParameter("cursor", str), OpenApiParameter("limit", int)],
        responses={200: inline_serializer("PartnerVerdictPage", fields={
            "next": serializers.CharField(allow_null=True), "previous": serializers.CharField(allow_null=True),
            "results": serializers.ListField(child=serializers.DictField()),
        })},
    )
    def get(self, request):
        workspace = _desk(request)
        fmt = feed.record_format_check(request.query_params.get("format") or "json")
        paginator = VerdictCursor()
        rows = paginator.paginate_queryset(feed.verdicts_in_force(workspace=workspace), request, view=self)
        return paginator.get_paginated_response(
            [feed.record_body(publication=row, fmt=fmt) for row in rows or []]
        )


def _hook_id(value: str | None) -> int:
    """The path's id; one no row can have (negative, or past a bigint) finds nothing: 404."""
    number = int(value or 0)
    return number if 0 < number < 2**63 else 0


# --- Admins manage partners and their keys -------------------------------------------------

def _issued(issued: partner_services.IssuedKey) -> dict:
    data = dict(s.PartnerKeySerializer(issued.record).data)
    data["key"] = issued.key
    return data


class PartnerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Partners of the desks you administer, and their keys. Other members: 403."""

    serializer_class = s.PartnerSerializer
    pagination_class = None

    def get_queryset(self):
        user: Any = self.request.user  # IsAuthenticated: a member
        if self.action == "list":
            return partner_services.partners_for_admin(user=user)
        return partner_services.partners_for_member(user=user)

    def get_object(self):
        partner = super().get_object()
        require(self.request.user, "annotations.manage_partners", partner.workspace, partner_services.PARTNERS_DENIED)
        return partner

    @extend_schema(request=s.PartnerCreateSerializer, responses={201: s.PartnerSerializer})
    def create(self, request):
        # Who may manage partners is asked first, not what is wrong with the rest of the body.
        slug = request.data.get("workspace") if hasattr(request.data, "get") else None
        workspace = None
        if isinstance(slug, str) and slug:
            workspace = access.workspace_get(user=request.user, slug=slug, field="workspace")
            require(request.user, "annotations.manage_partners", workspace, partner_services.PARTNERS_DENIED)
        data = s.PartnerCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        slug = v.pop("workspace")
        if workspace is None or workspace.slug != slug:
            workspace = access.workspace_get(user=request.user, slug=slug, field="workspace")
            require(request.user, "annotations.manage_partners", workspace, partner_services.PARTNERS_DENIED)
        partner = partner_services.partner_create(workspace=workspace, actor=request.user, **v)
        return Response(s.PartnerSerializer(partner).data, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["get"], request=None, responses={200: s.PartnerKeyUsageSerializer(many=True)})
    @extend_schema(methods=["post"], request=None, responses={201: s.IssuedKeySerializer})
    @action(detail=True, methods=["get", "post"])
    def keys(self, request, pk=None):
        """GET: the keys with their requests on each of the last 7 days. POST: a new key,
        shown in this answer only."""
        partner = self.get_object()
        if request.method == "POST":
            issued = partner_services.partner_key_create(partner=partner, actor=request.user)
            return Response(_issued(issued), status=status.HTTP_201_CREATED)
        rows = partner_services.partner_keys_with_usage(partner=partner)
        return Response(s.PartnerKeyUsageSerializer(rows, many=True).data)

    @extend_schema(request=s.RotateSerializer, responses={201: s.IssuedKeySerializer},
                   parameters=[OpenApiParameter("key_id", OpenApiTypes.INT, OpenApiParameter.PATH)])
    @action(detail=True, methods=["post"], url_path=r"keys/(?P<key_id>[0-9]+)/rotate")
    def rotate(self, request, pk=None, key_id=None):
        """A new key; the old one keeps working for `grace_hours`."""
        partner = self.get_object()
        data = s.RotateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        issued = partner_services.partner_key_rotate(
            partner=partner, key_id=int(key_id or 0), actor=request.user, grace_hours=data.validated_data["grace_hours"]
        )
        return Response(_issued(issued), status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: s.PartnerKeySerializer},
                   parameters=[OpenApiParameter("key_id", OpenApiTypes.INT, OpenApiParameter.PATH)])
    @action(detail=True, methods=["post"], url_path=r"keys/(?P<key_id>[0-9]+)/revoke")
    def revoke(self, request, pk=None, key_id=None):
        """The key stops working at once."""
        partner = self.get_object()
        record = partner_services.partner_key_revoke(partner=partner, key_id=int(key_id or 0), actor=request.user)
        return Response(s.PartnerKeySerializer(record).data)

    @extend_schema(methods=["get"], request=None, responses={200: s.WebhookLogSerializer(many=True)})
    @extend_schema(methods=["post"], request=s.WebhookCreateSerializer, responses={201: s.IssuedWebhookSerializer})
    @action(detail=True, methods=["get", "post"])
    def webhooks(self, request, pk=None):
        """GET: the partner's webhook endpoints with their latest deliveries. POST: a new
        endpoint (https, public address); its signing secret is in this answer only."""
        partner = self.get_object()
        if request.method == "POST":
            data = s.WebhookCreateSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            issued = webhook_services.webhook_create(partner=partner, actor=request.user,
                                                     url=data.validated_data["url"])
            answer = dict(s.WebhookSerializer(issued.record).data)
            answer["secret"] = issued.secret
            return Response(answer, status=status.HTTP_201_CREATED)
        rows = webhook_services.webhooks_with_log(partner=partner)
        return Response(s.WebhookLogSerializer(rows, many=True).data)

    @extend_schema(request=None, responses={204: None},
                   parameters=[OpenApiParameter("hook_id", OpenApiTypes.INT, OpenApiParameter.PATH)])
    @action(detail=True, methods=["delete"], url_path=r"webhooks/(?P<hook_id>-?[0-9]+)")
    def webhook_delete(self, request, pk=None, hook_id=None):
        """The endpoint and its delivery log are deleted; nothing more is sent to it."""
        partner = self.get_object()
        webhook_services.webhook_delete(partner=partner, hook_id=_hook_id(hook_id), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=s.RedeliverSerializer, responses={202: s.WebhookSerializer},
                   parameters=[OpenApiParameter("hook_id", OpenApiTypes.INT, OpenApiParameter.PATH)])
    @action(detail=True, methods=["post"], url_path=r"webhooks/(?P<hook_id>-?[0-9]+)/redeliver")
    def redeliver(self, request, pk=None, hook_id=None):
        """Send again every event after `after` (a feed position; empty: all), enabling
        the endpoint again if it was disabled."""
        partner = self.get_object()
        data = s.RedeliverSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = webhook_services.webhook_redeliver(partner=partner, hook_id=_hook_id(hook_id), actor=request.user,
                                                      after=data.validated_data["after"])
        return Response(s.WebhookSerializer(endpoint).data, status=status.HTTP_202_ACCEPTED)
