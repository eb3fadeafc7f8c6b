"""The REST API, /api/v1/. Reads come from member-scoped querysets (another desk's
objects are 404); writes call the same services, and so the same permission rules,
as the pages."""

import datetime

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Count, IntegerField, OuterRef, Prefetch, Subquery
from django.http import FileResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, pagination, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations import exports
from annotations.api import serializers as s
from annotations.api.errors import PreconditionFailed, PreconditionRequired
from annotations.errors import ConflictError, PermissionDenied
from annotations.models import (
    Article,
    ArticleVersion,
    AuditEvent,
    Claim,
    ClaimState,
    ExportJob,
    Membership,
    RatingScale,
    Review,
    Role,
    Source,
    Workspace,
)
from annotations.permissions import can
from annotations.selectors import _latest_version_number, queue_claims
from annotations.services import claims as claim_services
from annotations.services import workflow
from annotations.services.articles import article_import
from annotations.services.exports import export_job_create
from annotations.services.workspaces import membership_remove, membership_set


MAX_ID = 2**63 - 1
JSONLD_LIST = {"type": "array", "items": {"type": "object"},
               "description": "ClaimReview (schema.org) or W3C Web Annotation objects."}


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class IdFilter(django_filters.NumberFilter):  # noqa: D101
    """An object id: an unknown one filters to nothing; a non-id is a 400 naming the filter."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    """ISO 8601 with any offset; compared in UTC, since Postgres refuses offsets past ±15:59."""

    def filter(self, qs, value):
        if value is not None:
            try:
                value = value.astimezone(datetime.timezone.utc)
            except (OverflowError, ValueError):
                raise ValidationError({self.field_name: "This date is out of range."}) from None
        return super().filter(qs, value)


class Cursor(pagination.CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = "-id"


def member_workspace_ids(user):
    # By id, so the schema generator's anonymous user simply gets nothing.
    return Membership.objects.filter(user_id=user.pk).values("workspace_id")


def workspace_for(user, slug: str, *, field: str = "workspace") -> Workspace:
    workspace = Workspace.objects.filter(slug=slug, memberships__user=user).first()
    if workspace is None:
        raise ValidationError({field: f"You are not a member of a desk called {slug!r}."})
    return workspace


class Scoped(viewsets.GenericViewSet):
    pagination_class = Cursor
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend, OrderingFilter]


# --- ETags and If-Match --------------------------------------------------------------------

def etag(claim: Claim) -> str:
    return f'"claim-{claim.pk}-r{claim.revision}"'


def expected_revision(request, claim: Claim, body_revision: int | None) -> tuple[int, bool]:
    """The revision the client read: from If-Match (412 if stale), else from the body."""
    header = request.headers.get("If-Match")
    if header:
        if header.strip() != etag(claim):
            raise PreconditionFailed()
        return claim.revision, True
    if body_revision is None:
        raise PreconditionRequired()
    return body_revision, False


def with_etag(response: Response, claim: Claim) -> Response:
    response["ETag"] = etag(claim)
    return response


# --- Workspaces, scales, memberships -------------------------------------------------------

class WorkspaceFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Workspace
        fields = ["slug", "name"]


class WorkspaceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, Scoped):
    serializer_class = s.WorkspaceSerializer
    filterset_class = WorkspaceFilter
    ordering_fields = ["id", "name", "created_at"]

    def get_queryset(self):
        return Workspace.objects.filter(pk__in=member_workspace_ids(self.request.user))


class RatingScaleFilter(django_filters.FilterSet):
    workspace = django_filters.CharFilter(field_name="workspace__slug")

    class Meta:
        model = RatingScale
        fields = ["workspace"]


class RatingScaleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, Scoped):
    """Each desk's scale: the number-to-label mapping ClaimReview's ratingValue uses."""

    serializer_class = s.RatingScaleSerializer
    filterset_class = RatingScaleFilter
    ordering_fields = ["id"]

    def get_queryset(self):
        return (
            RatingScale.objects.filter(workspace_id__in=member_workspace_ids(self.request.user))
            .select_related("workspace")
            .prefetch_related("labels")
        )


class MembershipFilter(django_filters.FilterSet):
    workspace = django_filters.CharFilter(field_name="workspace__slug")
    username = django_filters.CharFilter(field_name="user__username")

    class Meta:
        model = Membership
        fields = ["workspace", "role", "username"]


class MembershipViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, Scoped):
    """Members of your desks. Admins add, change and remove them."""

    serializer_class = s.MembershipSerializer
    filterset_class = MembershipFilter
    ordering_fields = ["id", "created_at"]

    def get_queryset(self):
        return Membership.objects.filter(
            workspace_id__in=member_workspace_ids(self.request.user)
        ).select_related("workspace", "user")

    def _write(self, request, workspace, username, role=None, remove=False):
        if not can(request.user, "annotations.manage_members", workspace):
            raise PermissionDenied("Only admins of this desk manage its members.")
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise ValidationError({"username": f"There is no user called {username!r}."})
        if remove:
            membership_remove(workspace=workspace, user=user, actor=request.user)
            return None
        return membership_set(workspace=workspace, user=user, role=role, actor=request.user)

    @extend_schema(request=s.MembershipWriteSerializer, responses={201: s.MembershipSerializer})
    def create(self, request):
        data = s.MembershipWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        workspace = workspace_for(request.user, data.validated_data["workspace"])
        membership = self._write(request, workspace, data.validated_data["username"], data.validated_data["role"])
        return Response(s.MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    def destroy(self, request, pk=None):
        membership = self.get_object()
        self._write(request, membership.workspace, membership.user.username, remove=True)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Articles and versions -----------------------------------------------------------------

class ArticleFilter(django_filters.FilterSet):
    workspace = django_filters.CharFilter(field_name="workspace__slug")
    title = django_filters.CharFilter(lookup_expr="icontains")
    created_after = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte")

    class Meta:
        model = Article
        fields = ["workspace", "publisher", "title", "url", "created_after"]


class ArticleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, Scoped):
    serializer_class = s.ArticleSerializer
    filterset_class = ArticleFilter
    ordering_fields = ["id", "created_at", "title"]

    def get_queryset(self):
        claims = Claim.objects.filter(article=OuterRef("pk")).order_by().values("article").annotate(n=Count("pk")).values("n")
        return (
            Article.objects.filter(workspace_id__in=member_workspace_ids(self.request.user))
            .select_related("workspace")
            .annotate(
                latest_version=Subquery(_latest_version_number(), output_field=IntegerField()),
                claim_count=Subquery(claims, output_field=IntegerField()),
            )
        )

    @extend_schema(request=s.ArticleCreateSerializer, responses={201: s.ArticleSerializer, 200: s.ArticleSerializer})
    def create(self, request):
        data = s.ArticleCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        workspace = workspace_for(request.user, v["workspace"])
        result = article_import(
            workspace=workspace, text=v["text"], title=v.get("title", ""), url=v.get("url", ""),
            publisher=v.get("publisher", ""), source_name="api", actor=request.user,
        )
        article = self.get_queryset().get(pk=result.article.pk)
        code = status.HTTP_200_OK if result.outcome == "unchanged" else status.HTTP_201_CREATED
        return Response(s.ArticleSerializer(article).data, status=code)


class ArticleVersionFilter(django_filters.FilterSet):
    # Ids as plain numbers: an unknown id filters to nothing instead of failing.
    article = IdFilter(field_name="article_id")

    class Meta:
        model = ArticleVersion
        fields = ["article", "sha256"]


class ArticleVersionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, Scoped):
    """Versions of articles; the list leaves the text out, a single version has it."""

    filterset_class = ArticleVersionFilter
    ordering_fields = ["id", "number"]

    def get_serializer_class(self):
        return s.ArticleVersionSerializer if self.action == "retrieve" else s.ArticleVersionListSerializer

    def get_queryset(self):
        qs = ArticleVersion.objects.filter(article__workspace_id__in=member_workspace_ids(self.request.user))
        return qs if self.action == "retrieve" else qs.defer("text")


# --- Claims --------------------------------------------------------------------------------

class ClaimFilter(django_filters.FilterSet):
    workspace = django_filters.CharFilter(field_name="workspace__slug")
    created_by = django_filters.CharFilter(field_name="created_by__username")
    updated_since = UtcDateTimeFilter(field_name="updated_at", lookup_expr="gte")
    article = IdFilter(field_name="article_id")
    version = IdFilter(field_name="version_id")
    rating = IdFilter(field_name="rating_id")

    class Meta:
        model = Claim
        fields = ["workspace", "article", "version", "state", "rating", "anchor_status", "created_by", "updated_since"]


def claim_queryset(user):
    return (
        Claim.objects.filter(workspace_id__in=member_workspace_ids(user))
        .select_related("workspace", "version", "rating", "created_by", "last_edited_by", "held_by")
        .prefetch_related(Prefetch("sources", queryset=Source.objects.order_by("id")))
    )


@extend_schema_view(
    retrieve=extend_schema(responses={200: s.ClaimSerializer}, description="Carries an ETag: send it back in If-Match to write."),
)
class ClaimViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, Scoped):
    serializer_class = s.ClaimSerializer
    filterset_class = ClaimFilter
    ordering_fields = ["id", "created_at", "updated_at", "submitted_at"]

    def get_queryset(self):
        return claim_queryset(self.request.user)

    def retrieve(self, request, pk=None):
        claim = self.get_object()
        return with_etag(Response(self.get_serializer(claim).data), claim)

    def _respond(self, claim_id, code=status.HTTP_200_OK):
        claim = self.get_queryset().get(pk=claim_id)
        return with_etag(Response(s.ClaimSerializer(claim).data, status=code), claim)

    @extend_schema(request=s.ClaimCreateSerializer, responses={201: s.ClaimSerializer})
    def create(self, request):
        data = s.ClaimCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        article = Article.objects.filter(pk=v["article"], workspace_id__in=member_workspace_ids(request.user)).first()
        if article is None:
            raise ValidationError({"article": "No such article in your desks."})
        version = ArticleVersion.objects.filter(pk=v["version"], article=article).first()
        if version is None:
            raise ValidationError({"version": "That version does not belong to the article."})
        claim = claim_services.claim_create(
            actor=request.user, article=article, version=version, exact=v["exact"], start=v["start"],
            end=v["end"], prefix=v.get("prefix"), suffix=v.get("suffix"),
        )
        return self._respond(claim.pk, status.HTTP_201_CREATED)

    def _run(self, request, claim, body_revision, call):
        revision, by_header = expected_revision(request, claim, body_revision)
        try:
            call(revision)
        except ConflictError:
            if by_header:
                raise PreconditionFailed() from None
            raise
        return self._respond(claim.pk)

    @extend_schema(request=s.ClaimUpdateSerializer, responses={200: s.ClaimSerializer},
                   parameters=[OpenApiParameter("If-Match", str, OpenApiParameter.HEADER)])
    def partial_update(self, request, pk=None):
        claim = self.get_object()
        data = s.ClaimUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = {k: v for k, v in data.validated_data.items() if k != "revision"}
        return self._run(request, claim, data.validated_data.get("revision"), lambda rev: claim_services.claim_update(
            claim=claim, actor=request.user, revision=rev, fields=fields))

    @extend_schema(request=None, responses={204: None},
                   parameters=[OpenApiParameter("If-Match", str, OpenApiParameter.HEADER)])
    def destroy(self, request, pk=None):
        claim = self.get_object()
        revision, by_header = expected_revision(request, claim, _int(request.query_params.get("revision")))
        try:
            claim_services.claim_delete(claim=claim, actor=request.user, revision=revision)
        except ConflictError:
            if by_header:
                raise PreconditionFailed() from None
            raise
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _transition(self, request, name):
        claim = self.get_object()
        data = s.TransitionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        comment = data.validated_data.get("comment", "")
        calls = {
            "submit": lambda rev: workflow.claim_submit(claim=claim, actor=request.user, revision=rev),
            "approve": lambda rev: workflow.claim_decide(claim=claim, actor=request.user, decision="approve", comment=comment, revision=rev),
            "request_changes": lambda rev: workflow.claim_decide(claim=claim, actor=request.user, decision="request_changes", comment=comment, revision=rev),
            "reject": lambda rev: workflow.claim_decide(claim=claim, actor=request.user, decision="reject", comment=comment, revision=rev),
            "reopen": lambda rev: workflow.claim_reopen(claim=claim, actor=request.user, reason=comment, revision=rev),
        }
        return self._run(request, claim, data.validated_data.get("revision"), calls[name])

    transition_schema = extend_schema(request=s.TransitionSerializer, responses={200: s.ClaimSerializer},
                                      parameters=[OpenApiParameter("If-Match", str, OpenApiParameter.HEADER)])

    @transition_schema
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        return self._transition(request, "submit")

    @transition_schema
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._transition(request, "approve")

    @transition_schema
    @action(detail=True, methods=["post"], url_path="request-changes")
    def request_changes(self, request, pk=None):
        return self._transition(request, "request_changes")

    @transition_schema
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._transition(request, "reject")

    @transition_schema
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        return self._transition(request, "reopen")

    @extend_schema(request=None, responses={200: s.ClaimSerializer})
    @action(detail=True, methods=["post"])
    def take(self, request, pk=None):
        claim = self.get_object()
        workflow.claim_take(claim=claim, actor=request.user)
        return self._respond(claim.pk)

    @extend_schema(request=None, responses={200: s.ClaimSerializer})
    @action(detail=True, methods=["post"])
    def release(self, request, pk=None):
        claim = self.get_object()
        workflow.claim_release(claim=claim, actor=request.user)
        return self._respond(claim.pk)

    @extend_schema(request=s.ReattachSerializer, responses={200: s.ClaimSerializer},
                   parameters=[OpenApiParameter("If-Match", str, OpenApiParameter.HEADER)])
    @action(detail=True, methods=["post"])
    def reattach(self, request, pk=None):
        claim = self.get_object()
        data = s.ReattachSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        return self._run(request, claim, v.get("revision"), lambda rev: claim_services.claim_reattach(
            claim=claim, actor=request.user, revision=rev, exact=v["exact"], start=v["start"], end=v["end"]))


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class QueueViewSet(mixins.ListModelMixin, Scoped):
    """The reviewer queue of a desk (?workspace=slug): waiting claims, oldest first."""

    serializer_class = s.ClaimSerializer
    filter_backends = []
    pagination_class = Cursor

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Claim.objects.none()
        slug = self.request.query_params.get("workspace")
        if not slug:
            raise ValidationError({"workspace": "Name the desk: ?workspace=<slug>."})
        workspace = workspace_for(self.request.user, slug)
        if not can(self.request.user, "annotations.view_queue", workspace):
            raise PermissionDenied("Only reviewers and admins of this desk see the review queue.")
        return queue_claims(workspace=workspace, reviewer=self.request.user).select_related(
            "workspace", "version", "last_edited_by", "held_by"
        ).prefetch_related(Prefetch("sources", queryset=Source.objects.order_by("id")))

    def paginate_queryset(self, queryset):
        self.paginator.ordering = ("submitted_at", "id")
        return super().paginate_queryset(queryset)

    @extend_schema(parameters=[OpenApiParameter("workspace", str, required=True)])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=s.TakeNextSerializer, responses={200: s.ClaimSerializer, 204: None})
    @action(detail=False, methods=["post"], url_path="take-next")
    def take_next(self, request):
        data = s.TakeNextSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        workspace = workspace_for(request.user, data.validated_data["workspace"])
        claim = workflow.claim_take_next(workspace=workspace, actor=request.user)
        if claim is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        claim = claim_queryset(request.user).get(pk=claim.pk)
        return with_etag(Response(s.ClaimSerializer(claim).data), claim)


# --- Sources and reviews -------------------------------------------------------------------

class SourceFilter(django_filters.FilterSet):
    claim = IdFilter(field_name="claim_id")

    class Meta:
        model = Source
        fields = ["claim", "stance"]


class SourceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, Scoped):
    """Sources of claims. Writing one is an edit of its claim: send the claim's ETag in
    If-Match (or `claim_revision`), and the claim's revision goes up."""

    serializer_class = s.SourceSerializer
    filterset_class = SourceFilter
    ordering_fields = ["id", "created_at"]

    def get_queryset(self):
        return Source.objects.filter(claim__workspace_id__in=member_workspace_ids(self.request.user))

    def _claim(self, claim_id):
        claim = claim_queryset(self.request.user).filter(pk=claim_id).first()
        if claim is None:
            raise ValidationError({"claim": "No such claim in your desks."})
        return claim

    def _change(self, request, claim, change):
        body_revision = _int(request.data.get("claim_revision")) if hasattr(request.data, "get") else None
        revision, by_header = expected_revision(request, claim, body_revision)
        try:
            claim_services.claim_update(claim=claim, actor=request.user, revision=revision, fields={}, sources=[change])
        except ConflictError:
            if by_header:
                raise PreconditionFailed() from None
            raise

    @extend_schema(request=s.SourceSerializer, responses={201: s.SourceSerializer},
                   parameters=[OpenApiParameter("If-Match", str, OpenApiParameter.HEADER, description="The claim's ETag.")])
    def create(self, request):
        data = s.SourceSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = {k: v for k, v in data.validated_data.items() if k != "claim"}
        claim = self._claim(data.validated_data["claim"].pk)
        before = set(claim.sources.values_list("pk", flat=True))
        self._change(request, claim, claim_services.SourceChange(pk=None, fields=fields))
        source = claim.sources.exclude(pk__in=before).get()
        return Response(s.SourceSerializer(source).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.SourceSerializer, responses={200: s.SourceSerializer},
                   parameters=[OpenApiParameter("If-Match", str, OpenApiParameter.HEADER, description="The claim's ETag.")])
    def partial_update(self, request, pk=None):
        source = self.get_object()
        data = s.SourceSerializer(source, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        fields = {k: v for k, v in data.validated_data.items() if k != "claim"}
        self._change(request, self._claim(source.claim_id), claim_services.SourceChange(pk=source.pk, fields=fields))
        source.refresh_from_db()
        return Response(s.SourceSerializer(source).data)

    @extend_schema(request=None, responses={204: None},
                   parameters=[OpenApiParameter("If-Match", str, OpenApiParameter.HEADER, description="The claim's ETag.")])
    def destroy(self, request, pk=None):
        source = self.get_object()
        self._change(request, self._claim(source.claim_id), claim_services.SourceChange(pk=source.pk, fields={}, delete=True))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ReviewFilter(django_filters.FilterSet):
    reviewer = django_filters.CharFilter(field_name="reviewer__username")
    claim = IdFilter(field_name="claim_id")

    class Meta:
        model = Review
        fields = ["claim", "decision", "reviewer"]


class ReviewViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, Scoped):
    serializer_class = s.ReviewSerializer
    filterset_class = ReviewFilter
    ordering_fields = ["id", "created_at"]

    def get_queryset(self):
        return Review.objects.filter(
            claim__workspace_id__in=member_workspace_ids(self.request.user)
        ).select_related("reviewer")


# --- Audit events --------------------------------------------------------------------------

class AuditEventFilter(django_filters.FilterSet):
    actor = django_filters.CharFilter(field_name="actor__username")
    occurred_after = UtcDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = UtcDateTimeFilter(field_name="occurred_at", lookup_expr="lte")
    workspace = IdFilter(field_name="workspace_id")
    claim = IdFilter(field_name="claim_id")

    class Meta:
        model = AuditEvent
        fields = ["workspace", "claim", "actor", "action", "object_type", "object_id", "occurred_after", "occurred_before"]


class AuditEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, Scoped):
    """The audit trail of the desks you administer."""

    serializer_class = s.AuditEventSerializer
    filterset_class = AuditEventFilter
    ordering_fields = ["id", "occurred_at"]

    def get_queryset(self):
        admin_of = Membership.objects.filter(user_id=self.request.user.pk, role=Role.ADMIN).values("workspace_id")
        return AuditEvent.objects.filter(workspace_id__in=admin_of).select_related("actor")


# --- Verdict export ------------------------------------------------------------------------

class VerdictExportView(APIView):
    """Stream verdicts as they are read: JSON lines, CSV, ClaimReview JSON-LD or W3C Web
    Annotations. Approved ones by default; `updated_since` for incremental sync."""

    @extend_schema(
        parameters=[
            OpenApiParameter("format", str, enum=list(exports.FORMATS), required=True),
            OpenApiParameter("workspace", str, description="Desk slug; all your desks if omitted."),
            OpenApiParameter("state", str, enum=ClaimState.values, description="Default: approved."),
            OpenApiParameter("rating", int),
            OpenApiParameter("article", int),
            OpenApiParameter("updated_since", OpenApiTypes.DATETIME),
        ],
        responses={
            (200, "application/x-ndjson"): OpenApiResponse(OpenApiTypes.BINARY),
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY),
            (200, "application/ld+json"): OpenApiResponse(JSONLD_LIST),
        },
    )
    def get(self, request):
        filters, fmt = export_request(request, request.query_params)
        content_type, extension = exports.FORMATS[fmt]
        response = StreamingHttpResponse(
            (chunk.encode("utf-8") for chunk in exports.render(fmt, filters)), content_type=content_type
        )
        response["Content-Disposition"] = f'attachment; filename="verdicts.{extension}"'
        response["X-Accel-Buffering"] = "no"
        return response


def export_request(request, params) -> tuple[exports.ExportFilters, str]:
    data = s.VerdictExportQuerySerializer(data={k: v for k, v in params.items() if v not in (None, "")})
    data.is_valid(raise_exception=True)
    v = data.validated_data
    if v.get("workspace"):
        workspaces = [workspace_for(request.user, v["workspace"]).pk]
    else:
        workspaces = list(Membership.objects.filter(user=request.user).values_list("workspace_id", flat=True))
    return exports.ExportFilters(
        workspaces=workspaces, state=v.get("state", "approved"), rating=v.get("rating"),
        article=v.get("article"), updated_since=v.get("updated_since"),
    ), v["format"]


class ExportJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, Scoped):
    """Large exports as background jobs: progress here, a download link when done."""

    serializer_class = s.ExportJobSerializer
    ordering_fields = ["id", "created_at"]

    def get_queryset(self):
        return ExportJob.objects.filter(
            requested_by_id=self.request.user.pk, workspace_id__in=member_workspace_ids(self.request.user)
        ).select_related("workspace")

    @extend_schema(request=s.ExportRequestSerializer, responses={202: s.ExportJobSerializer})
    def create(self, request):
        data = s.ExportRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        workspace = workspace_for(request.user, v.pop("workspace"))
        fmt = v.pop("format")
        if v.get("updated_since"):
            v["updated_since"] = v["updated_since"].isoformat()
        job = export_job_create(workspace=workspace, actor=request.user, fmt=fmt, filters=v)
        return Response(s.ExportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={
        (200, "application/x-ndjson"): OpenApiResponse(OpenApiTypes.BINARY),
        (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY),
        (200, "application/ld+json"): OpenApiResponse(JSONLD_LIST),
    })
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        job = self.get_object()
        from annotations.services.exports import export_file_path

        path = export_file_path(job)
        if job.status != "done" or path is None or not path.exists():
            raise NotFound("This export is not ready, or its file was removed after the retention period.")
        content_type, extension = exports.FORMATS[job.format]
        return FileResponse(path.open("rb"), content_type=content_type, as_attachment=True,
                            filename=f"verdicts-{job.pk}.{extension}")
