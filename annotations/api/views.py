"""The REST API, /api/v1/. Reads come from member-scoped querysets (another desk's
objects are 404); writes call the same services, and so the same permission rules,
as the pages."""

from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.http import FileResponse, HttpResponseRedirect, StreamingHttpResponse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, pagination, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations import access, selectors
from annotations.api import filters as f
from annotations.api import serializers as s
from annotations.api.preconditions import with_etag, write_claim
from annotations.errors import PermissionDenied
from annotations.permissions import ASSIGN_DENIED, can, require
from annotations.publishing import exports as records_export
from annotations.services import assignments as assignment_services
from annotations.services import bulk as bulk_services
from annotations.services import claims as claim_services
from annotations.services import workflow
from annotations.services.articles import article_import, article_import_url, article_watch_set
from annotations.services.exports import export_file_open, export_file_url, export_job_create
from annotations.services.workspaces import (
    MEMBERS_DENIED,
    PUBLISHING_DENIED,
    membership_remove,
    membership_set,
    workspace_publishing_update,
)

JSONLD_LIST = {"type": "array", "items": {"type": "object"},
               "description": "ClaimReview (schema.org) or W3C Web Annotation objects."}
IF_MATCH = OpenApiParameter("If-Match", str, OpenApiParameter.HEADER, description="The claim's ETag.")


class Cursor(pagination.CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering: str | tuple[str, ...] = "-id"


class Scoped(viewsets.GenericViewSet):
    pagination_class = Cursor
    filter_backends = [DjangoFilterBackend, OrderingFilter]


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _id_in_body(request, field: str) -> int | None:
    """The id `field` names in the body, read before the body is validated (to ask who
    may act on that object first); None when it is not an id, which validation reports."""
    value = request.data.get(field) if hasattr(request.data, "get") else None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63 else None


def _slug_in_body(request, field: str = "workspace") -> str | None:
    value = request.data.get(field) if hasattr(request.data, "get") else None
    return value if isinstance(value, str) and value else None


T = TypeVar("T")


def read_committed(read: Callable[[], T]) -> T:
    """A read for the answer to a write that has committed. Should the database connection
    die in between (a failover, a restart, a terminated backend), the write still happened:
    the broken connection is dropped and the read done once more on a new one, so the
    client is told it succeeded rather than sent a 500 for a change that was made."""
    try:
        return read()
    except (OperationalError, InterfaceError):
        if connection.in_atomic_block:  # the write is not committed yet: nothing to vouch for
            raise
        connection.close_if_unusable_or_obsolete()
        return read()


# --- Workspaces, scales, memberships -------------------------------------------------------

class WorkspaceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, Scoped):
    serializer_class = s.WorkspaceSerializer
    filterset_class = f.WorkspaceFilter
    ordering_fields = ["id", "name", "created_at"]

    def get_queryset(self):
        return access.workspaces_of(self.request.user)

    @extend_schema(request=s.WorkspaceUpdateSerializer, responses={200: s.WorkspaceSerializer})
    def partial_update(self, request, pk=None):
        """Admins change how the desk publishes: public pages, the publisher's name and web
        address. A new publisher republishes every verdict in force, in the background."""
        workspace = self.get_object()
        # Before reading the input: someone who may not change it is told that first.
        require(request.user, "annotations.manage_publishing", workspace, PUBLISHING_DENIED)
        data = s.WorkspaceUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        saved = workspace_publishing_update(workspace=workspace, actor=request.user, **data.validated_data)
        return Response(s.WorkspaceSerializer(saved.workspace).data)


class RatingScaleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, Scoped):
    """Each desk's scale: the number-to-label mapping ClaimReview's ratingValue uses."""

    serializer_class = s.RatingScaleSerializer
    filterset_class = f.RatingScaleFilter
    ordering_fields = ["id"]

    def get_queryset(self):
        return selectors.rating_scales_for_api(scales=access.rating_scales_of(self.request.user))


class MembershipViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, Scoped):
    """Members of your desks. Admins add, change and remove them."""

    serializer_class = s.MembershipSerializer
    filterset_class = f.MembershipFilter
    ordering_fields = ["id", "created_at"]

    def get_queryset(self):
        return access.memberships_of(self.request.user).select_related("workspace", "user")

    @extend_schema(request=s.MembershipWriteSerializer, responses={201: s.MembershipSerializer})
    def create(self, request):
        # Who may add members is asked first: a member who may not is told that, not what
        # is wrong with the rest of the body.
        slug = _slug_in_body(request)
        workspace = access.workspace_get(user=request.user, slug=slug, field="workspace") if slug else None
        if workspace is not None:
            require(request.user, "annotations.manage_members", workspace, MEMBERS_DENIED)
        data = s.MembershipWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        if workspace is None or workspace.slug != v["workspace"]:
            workspace = access.workspace_get(user=request.user, slug=v["workspace"], field="workspace")
            require(request.user, "annotations.manage_members", workspace, MEMBERS_DENIED)  # before naming users
        membership = membership_set(
            workspace=workspace, user=access.user_get_by_username(username=v["username"]),
            role=v["role"], actor=request.user,
        )
        return Response(s.MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    def destroy(self, request, pk=None):
        membership = self.get_object()
        membership_remove(workspace=membership.workspace, user=membership.user, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Articles and versions -----------------------------------------------------------------

class ArticleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, Scoped):
    serializer_class = s.ArticleSerializer
    filterset_class = f.ArticleFilter
    ordering_fields = ["id", "created_at", "title"]

    def get_queryset(self):
        # The watch's checks in the same query: one row per article (a one-to-one).
        return selectors.articles_for_api(articles=access.articles_of(self.request.user)).select_related("watch_state")

    @extend_schema(request=s.ArticleCreateSerializer, responses={201: s.ArticleSerializer, 200: s.ArticleSerializer})
    def create(self, request):
        data = s.ArticleCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        workspace = access.workspace_get(user=request.user, slug=v["workspace"], field="workspace")
        if "text" not in v:  # fetched now, with a short timeout (services.articles.URL_FETCH_TIMEOUT)
            result = article_import_url(
                workspace=workspace, url=v["url"], watch=v["watch"], title=v.get("title", ""),
                publisher=v.get("publisher", ""), actor=request.user,
            )
        else:
            result = article_import(
                workspace=workspace, text=v["text"], title=v.get("title", ""), url=v.get("url", ""),
                publisher=v.get("publisher", ""), source_name="api", actor=request.user,
            )
        article = read_committed(lambda: self.get_queryset().get(pk=result.article.pk))
        code = status.HTTP_200_OK if result.outcome == "unchanged" else status.HTTP_201_CREATED
        return Response(s.ArticleSerializer(article).data, status=code)

    @extend_schema(request=s.ArticleSerializer, responses={200: s.ArticleSerializer})
    def partial_update(self, request, pk=None):
        """Switch the watch of the article's page on or off (`watch`, the one field written)."""
        article = self.get_object()
        data = s.ArticleSerializer(article, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        if "watch" not in data.validated_data:
            raise ValidationError({"watch": "Send watch: true to watch the page, or false to stop."})
        article_watch_set(article=article, actor=request.user, watch=data.validated_data["watch"])
        return Response(s.ArticleSerializer(read_committed(lambda: self.get_queryset().get(pk=article.pk))).data)


class ArticleVersionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, Scoped):
    """Versions of articles; the list leaves the text out, a single version has it."""

    filterset_class = f.ArticleVersionFilter
    ordering_fields = ["id", "number"]

    def get_serializer_class(self):
        return s.ArticleVersionSerializer if self.action == "retrieve" else s.ArticleVersionListSerializer

    def get_queryset(self):
        versions = access.article_versions_of(self.request.user)
        return versions if self.action == "retrieve" else versions.defer("text")


# --- Claims --------------------------------------------------------------------------------

def _claim_rows_page(view, claims) -> Response:
    """A page of claims read as plain rows (selectors.claim_rows_for_api): the same JSON as
    ClaimSerializer, without building a model instance per claim and per source."""
    page = view.paginate_queryset(claims.values(*selectors.CLAIM_ROW_FIELDS))
    rows = selectors.claim_rows_for_api(rows=list(page))
    return view.get_paginated_response([s.claim_row_representation(row) for row in rows])


def _claim_response(claim, code=status.HTTP_200_OK) -> Response:
    return with_etag(Response(s.ClaimSerializer(claim).data, status=code), claim)


@extend_schema_view(
    retrieve=extend_schema(responses={200: s.ClaimSerializer},
                           description="Carries an ETag: send it back in If-Match to write."),
)
class ClaimViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, Scoped):
    serializer_class = s.ClaimSerializer
    filterset_class = f.ClaimFilter
    ordering_fields = ["id", "created_at", "updated_at", "submitted_at"]

    def get_queryset(self):
        return selectors.claims_for_api(claims=access.claims_of(self.request.user))

    def list(self, request, *args, **kwargs):
        return _claim_rows_page(self, self.filter_queryset(access.claims_of(request.user)))

    def retrieve(self, request, pk=None):
        return _claim_response(self.get_object())

    def _respond(self, claim_id, code=status.HTTP_200_OK) -> Response:
        """The claim as the write that just committed left it."""
        return _claim_response(read_committed(lambda: self.get_queryset().get(pk=claim_id)), code)

    @extend_schema(request=s.ClaimCreateSerializer, responses={201: s.ClaimSerializer})
    def create(self, request):
        data = s.ClaimCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        article = access.article_get(user=request.user, article_id=v["article"], field="article")
        version = access.article_version_get(article=article, version_id=v["version"])
        claim = claim_services.claim_create(
            actor=request.user, article=article, version=version, exact=v["exact"], start=v["start"],
            end=v["end"], prefix=v.get("prefix"), suffix=v.get("suffix"),
        )
        return _claim_response(claim, status.HTTP_201_CREATED)  # all of it is known: no re-read

    @extend_schema(request=s.ClaimUpdateSerializer, responses={200: s.ClaimSerializer}, parameters=[IF_MATCH])
    def partial_update(self, request, pk=None):
        claim = self.get_object()
        # Who may edit before what was sent: a teammate is told they may not, not which field is wrong.
        claim_services.claim_edit_check(claim=claim, actor=request.user)
        data = s.ClaimUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = {k: v for k, v in data.validated_data.items() if k != "revision"}
        write_claim(request, claim, body_revision=data.validated_data.get("revision"), write=lambda revision: (
            claim_services.claim_update(claim=claim, actor=request.user, revision=revision, fields=fields)))
        return self._respond(claim.pk)

    @extend_schema(request=None, responses={204: None}, parameters=[IF_MATCH])
    def destroy(self, request, pk=None):
        claim = self.get_object()
        claim_services.claim_delete_check(claim=claim, actor=request.user)
        write_claim(request, claim, body_revision=_int(request.query_params.get("revision")), write=lambda revision: (
            claim_services.claim_delete(claim=claim, actor=request.user, revision=revision)))
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _transition(self, request, name: str) -> Response:
        """Every workflow action of the API: one service entry point, one precondition check."""
        claim = self.get_object()
        workflow.claim_transition_check(claim=claim, actor=request.user, name=name)  # before the body
        data = s.TransitionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        comment = data.validated_data.get("comment", "")

        def run(revision: int | None):
            return workflow.claim_transition(
                claim=claim, actor=request.user, name=name, revision=revision, comment=comment)

        if name in ("take", "release"):
            run(None)  # they act on whoever holds the claim now, not on a revision
        else:
            write_claim(request, claim, body_revision=data.validated_data.get("revision"), write=run)
        return self._respond(claim.pk)

    transition_schema = extend_schema(request=s.TransitionSerializer, responses={200: s.ClaimSerializer},
                                      parameters=[IF_MATCH])

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
        return self._transition(request, "take")

    @extend_schema(request=None, responses={200: s.ClaimSerializer})
    @action(detail=True, methods=["post"])
    def release(self, request, pk=None):
        return self._transition(request, "release")

    @extend_schema(request=s.BulkSerializer, responses={200: s.BulkResultSerializer, 202: s.BulkResultSerializer},
                   description="One action on many claims of a desk, each all or nothing: the answer lists the "
                               "claims done and, for each one not done, why. More than 500 claims run as a job "
                               "(202; its progress is on the desk's page /w/<desk>/bulk/<job>/).")
    @action(detail=False, methods=["post"])
    def bulk(self, request):
        data = s.BulkSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        workspace = access.workspace_get(user=request.user, slug=v["workspace"])
        bulk_services.bulk_check(workspace=workspace, actor=request.user, action=v["action"])
        items = bulk_services.clean_items([{"id": c["id"], "revision": c.get("revision")} for c in v["claims"]])
        params = bulk_services.clean_params(workspace=workspace, action=v["action"], data=v,
                                            time_zone=selectors.own_time_zone(user=request.user))
        if len(items) > bulk_services.JOB_THRESHOLD:
            job = bulk_services.bulk_job_create(
                workspace=workspace, actor=request.user, action=v["action"], items=items, params=params)
            return Response({"applied": [], "failed": [], "job": job.pk, "status": job.status},
                            status=status.HTTP_202_ACCEPTED)
        result = bulk_services.bulk_apply(workspace=workspace, actor=request.user, action=v["action"], items=items,
                                          params=params)
        return Response({"applied": result.applied, "failed": result.failures, "job": None, "status": "done"})

    @extend_schema(request=s.ReattachSerializer, responses={200: s.ClaimSerializer}, parameters=[IF_MATCH])
    @action(detail=True, methods=["post"])
    def reattach(self, request, pk=None):
        claim = self.get_object()
        claim_services.claim_reattach_check(claim=claim, actor=request.user)  # before the body
        data = s.ReattachSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        write_claim(request, claim, body_revision=v.get("revision"), write=lambda revision: (
            claim_services.claim_reattach(claim=claim, actor=request.user, revision=revision,
                                          exact=v["exact"], start=v["start"], end=v["end"])))
        return self._respond(claim.pk)

    # The meaning-change guard (services.claims.article_reanchor_claims): a person settles
    # what a new version of the article did to a claim. Re-attaching is reattach/ above.

    @extend_schema(request=s.PositionConfirmSerializer, responses={200: s.ClaimSerializer}, parameters=[IF_MATCH],
                   description="A new version of the article changed what the claim's words say "
                               "(`anchor_status` `changed`; `anchor_previous_exact` is what they said): the author "
                               "or an admin confirms the claim stays where it moved. `anchor_status` becomes "
                               "`confirmed`; the audit trail records who confirmed it and both wordings. A claim "
                               "that is not `changed` is a 400 naming `claim`.")
    @action(detail=True, methods=["post"], url_path="confirm-position")
    def confirm_position(self, request, pk=None):
        claim = self.get_object()
        require(request.user, "annotations.confirm_position", claim,
                claim_services.CONFIRM_POSITION_DENIED)  # before the body
        data = s.PositionConfirmSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        write_claim(request, claim, body_revision=data.validated_data.get("revision"), write=lambda revision: (
            claim_services.claim_position_confirm(claim=claim, actor=request.user, revision=revision)))
        return self._respond(claim.pk)

    @extend_schema(request=s.VerdictConfirmSerializer, responses={200: s.ClaimSerializer}, parameters=[IF_MATCH],
                   description="The article changed under an approved claim (`article_changed_at` is set): a "
                               "reviewer or admin who neither wrote nor last edited it says the verdict stands. "
                               "`article_changed_at` goes back to null and the claim leaves the queue's "
                               "\"Article changed since the verdict\"; the audit trail records who and the "
                               "comment. To correct the verdict instead, reopen/. A claim with nothing to "
                               "confirm is a 400 naming `claim`.")
    @action(detail=True, methods=["post"], url_path="confirm-verdict")
    def confirm_verdict(self, request, pk=None):
        claim = self.get_object()
        require(request.user, "annotations.confirm_verdict", claim, workflow.VERDICT_CONFIRM_DENIED)  # before the body
        data = s.VerdictConfirmSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        write_claim(request, claim, body_revision=v.get("revision"), write=lambda revision: (
            workflow.claim_verdict_confirm(claim=claim, actor=request.user, revision=revision,
                                           comment=v.get("comment", ""))))
        return self._respond(claim.pk)


class QueueViewSet(mixins.ListModelMixin, Scoped):
    """The reviewer queue of a desk (?workspace=slug): waiting claims, oldest first."""

    serializer_class = s.ClaimSerializer
    filter_backends = []
    pagination_class = Cursor

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return selectors.claims_none()
        slug = self.request.query_params.get("workspace")
        if not slug:
            raise ValidationError({"workspace": "Name the desk: ?workspace=<slug>."})
        workspace = access.workspace_get(user=self.request.user, slug=slug, field="workspace")
        if not can(self.request.user, "annotations.view_queue", workspace):
            raise PermissionDenied("Only reviewers and admins of this desk see the review queue.")
        return selectors.queue_claims(workspace=workspace, reviewer=self.request.user).prefetch_related(None)

    def paginate_queryset(self, queryset):
        if isinstance(self.paginator, Cursor):  # oldest first, as the queue is read
            self.paginator.ordering = ("submitted_at", "id")
        return super().paginate_queryset(queryset)

    @extend_schema(parameters=[OpenApiParameter("workspace", str, required=True)])
    def list(self, request, *args, **kwargs):
        return _claim_rows_page(self, self.get_queryset())

    @extend_schema(request=s.TakeNextSerializer, responses={200: s.ClaimSerializer, 204: None})
    @action(detail=False, methods=["post"], url_path="take-next")
    def take_next(self, request):
        data = s.TakeNextSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        workspace = access.workspace_get(user=request.user, slug=data.validated_data["workspace"], field="workspace")
        claim = workflow.claim_take_next(workspace=workspace, actor=request.user)
        if claim is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        # Read with its lock; the sources are read after the commit.
        return _claim_response(read_committed(lambda: selectors.claim_with_sources(claim=claim)))


# --- Sources and reviews -------------------------------------------------------------------

class SourceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, Scoped):
    """Sources of claims. Writing one is an edit of its claim: send the claim's ETag in
    If-Match (or `claim_revision`), and the claim's revision goes up."""

    serializer_class = s.SourceSerializer
    filterset_class = f.SourceFilter
    ordering_fields = ["id", "created_at"]

    def get_queryset(self):
        return access.sources_of(self.request.user)

    def _claim_to_edit(self, request, claim_id: int):
        """The source's claim, once it is known the user may edit it (before the body is
        validated: who may not edit is told that, not what is wrong with the fields)."""
        claim = access.claim_get(user=request.user, claim_id=claim_id, field="claim")
        claim_services.claim_edit_check(claim=claim, actor=request.user)
        return claim

    def _change(self, request, claim, change: claim_services.SourceChange):
        body_revision = _int(request.data.get("claim_revision")) if hasattr(request.data, "get") else None
        return write_claim(request, claim, body_revision=body_revision, write=lambda revision: (
            claim_services.claim_update(
                claim=claim, actor=request.user, revision=revision, fields={}, sources=[change])))

    @extend_schema(request=s.SourceSerializer, responses={201: s.SourceSerializer}, parameters=[IF_MATCH])
    def create(self, request):
        claim_id = _id_in_body(request, "claim")
        claim = self._claim_to_edit(request, claim_id) if claim_id is not None else None
        data = s.SourceSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = {k: v for k, v in data.validated_data.items() if k != "claim"}
        if claim is None:  # named in a way only validation accepts
            claim = self._claim_to_edit(request, data.validated_data["claim"].pk)
        before = set(selectors.claim_sources(claim=claim).values_list("pk", flat=True))
        self._change(request, claim, claim_services.SourceChange(pk=None, fields=fields))
        source = read_committed(
            lambda: access.sources_of(request.user).filter(claim_id=claim.pk).exclude(pk__in=before).get())
        return Response(s.SourceSerializer(source).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.SourceSerializer, responses={200: s.SourceSerializer}, parameters=[IF_MATCH])
    def partial_update(self, request, pk=None):
        source = self.get_object()
        claim = self._claim_to_edit(request, source.claim_id)
        data = s.SourceSerializer(source, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        fields = {k: v for k, v in data.validated_data.items() if k != "claim"}
        self._change(request, claim, claim_services.SourceChange(pk=source.pk, fields=fields))
        return Response(s.SourceSerializer(read_committed(lambda: self.get_queryset().get(pk=source.pk))).data)

    @extend_schema(request=None, responses={204: None}, parameters=[IF_MATCH])
    def destroy(self, request, pk=None):
        source = self.get_object()
        claim = self._claim_to_edit(request, source.claim_id)
        self._change(request, claim, claim_services.SourceChange(pk=source.pk, fields={}, delete=True))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ReviewViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, Scoped):
    serializer_class = s.ReviewSerializer
    filterset_class = f.ReviewFilter
    ordering_fields = ["id", "created_at"]

    def get_queryset(self):
        return access.reviews_of(self.request.user).select_related("reviewer")


# --- Audit events --------------------------------------------------------------------------

class AuditEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, Scoped):
    """The audit trail of the desks you administer."""

    serializer_class = s.AuditEventSerializer
    filterset_class = f.AuditEventFilter
    ordering_fields = ["id", "occurred_at"]

    def get_queryset(self):
        return access.audit_events_of(self.request.user).select_related("actor")


# --- Verdict export ------------------------------------------------------------------------

class VerdictExportView(APIView):
    """Stream the published verdicts of your desks (the records in force, in publication
    order) as JSON lines, CSV, ClaimReview JSON-LD or W3C Web Annotations, straight from
    Postgres' COPY. `updated_since` for incremental sync: records published since then."""

    @extend_schema(
        parameters=[
            OpenApiParameter("format", str, enum=list(records_export.FORMATS), required=True),
            OpenApiParameter("workspace", str, description="Desk slug; all your desks if omitted."),
            OpenApiParameter("state", str, enum=["approved"],
                             description="Only published (approved) verdicts are exported; kept for older clients."),
            OpenApiParameter("rating", int),
            OpenApiParameter("article", int),
            OpenApiParameter("updated_since", OpenApiTypes.DATETIME,
                             description="Records published or corrected at or after this time. Withdrawals are "
                                         "not in the export: a verdict withdrawn since is simply absent."),
        ],
        responses={
            (200, "application/x-ndjson"): OpenApiResponse(OpenApiTypes.BINARY),
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY),
            (200, "application/ld+json"): OpenApiResponse(JSONLD_LIST),
        },
    )
    def get(self, request):
        filters, fmt = export_request(request, request.query_params)
        spec = records_export.FORMATS[fmt]
        response = StreamingHttpResponse(
            records_export.records_stream(fmt=fmt, filters=filters), content_type=spec.content_type
        )
        response["Content-Disposition"] = f'attachment; filename="verdicts.{spec.extension}"'
        response["X-Accel-Buffering"] = "no"
        return response


def export_request(request, params) -> tuple[records_export.ExportFilters, str]:
    data = s.VerdictExportQuerySerializer(data={k: v for k, v in params.items() if v not in (None, "")})
    data.is_valid(raise_exception=True)
    v = data.validated_data
    workspaces: tuple[int, ...]
    if v.get("workspace"):
        workspaces = (access.workspace_get(user=request.user, slug=v["workspace"], field="workspace").pk,)
    else:
        workspaces = tuple(access.workspaces_of(request.user).values_list("pk", flat=True))
    return records_export.ExportFilters(
        workspaces=workspaces, rating=v.get("rating"), article=v.get("article"), updated_since=v.get("updated_since"),
    ), v["format"]


class ExportJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, Scoped):
    """Large exports as background jobs: progress here, a download link when done."""

    serializer_class = s.ExportJobSerializer
    ordering_fields = ["id", "created_at"]

    def get_queryset(self):
        return access.export_jobs_of(self.request.user).select_related("workspace")

    @extend_schema(request=s.ExportRequestSerializer, responses={202: s.ExportJobSerializer})
    def create(self, request):
        data = s.ExportRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        workspace = access.workspace_get(user=request.user, slug=v.pop("workspace"), field="workspace")
        fmt = v.pop("format")
        if v.get("updated_since"):
            v["updated_since"] = v["updated_since"].isoformat()
        job = export_job_create(workspace=workspace, actor=request.user, fmt=fmt, filters=v)
        return Response(s.ExportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={
        (200, "application/x-ndjson"): OpenApiResponse(OpenApiTypes.BINARY),
        (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY),
        (200, "application/ld+json"): OpenApiResponse(JSONLD_LIST),
        302: OpenApiResponse(description="With EXPORT_DOWNLOAD_REDIRECT: the file's signed address in the bucket."),
    })
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        """The file from the exports storage, streamed through this process; with
        EXPORT_DOWNLOAD_REDIRECT (S3), a redirect to a short-lived signed address instead."""
        job = self.get_object()
        gone = "This export is not ready, or its file was removed after the retention period."
        if settings.EXPORT_DOWNLOAD_REDIRECT:
            url = export_file_url(job=job)
            if url is None:
                raise NotFound(gone)
            return HttpResponseRedirect(url)
        file = export_file_open(job=job)
        if file is None:
            raise NotFound(gone)
        spec = records_export.FORMATS[job.format]
        return FileResponse(file, content_type=spec.content_type, as_attachment=True,
                            filename=f"verdicts-{job.pk}.{spec.extension}")


# --- Assignments ---------------------------------------------------------------------------

@extend_schema_view(list=extend_schema(description="Assignments of your desks: filter by workspace, assignee "
                                                   "(username), kind, claim, article and overdue."))
class AssignmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, Scoped):
    """Who checks what by when. Admins of the desk assign, change and unassign; every member reads."""

    serializer_class = s.AssignmentSerializer
    filterset_class = f.AssignmentFilter
    ordering_fields = ["id", "due_at", "created_at"]

    def get_queryset(self):
        return selectors.assignments_for_list(assignments=access.assignments_of(self.request.user))

    @extend_schema(request=s.AssignmentWriteSerializer, responses={201: s.AssignmentSerializer})
    def create(self, request):
        # Who may assign is asked first: a member who may not is told that, not what is wrong with the body.
        slug = _slug_in_body(request)
        workspace = access.workspace_get(user=request.user, slug=slug, field="workspace") if slug else None
        if workspace is not None:
            require(request.user, "annotations.assign", workspace, ASSIGN_DENIED)
        data = s.AssignmentWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        if workspace is None or workspace.slug != v["workspace"]:
            workspace = access.workspace_get(user=request.user, slug=v["workspace"], field="workspace")
            require(request.user, "annotations.assign", workspace, ASSIGN_DENIED)
        claim = article = None
        if "claim" in v:
            claim = access.claim_get(user=request.user, claim_id=v["claim"], workspace_slug=workspace.slug,
                                     field="claim")
        else:
            article = access.article_get(user=request.user, article_id=v["article"], workspace_slug=workspace.slug,
                                         field="article")
        assignment = assignment_services.assign(
            actor=request.user, workspace=workspace, claim=claim, article=article,
            assignee=access.user_get_by_username(username=v["assignee"], field="assignee"),
            due_at=v["due_at"], note=v["note"],
        )
        return Response(s.AssignmentSerializer(read_committed(lambda: self.get_queryset().get(pk=assignment.pk))).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(request=s.AssignmentUpdateSerializer, responses={200: s.AssignmentSerializer})
    def partial_update(self, request, pk=None):
        """Change the due date (null: none), the note, or mark the work done."""
        assignment = self.get_object()
        require(request.user, "annotations.assign", assignment.workspace, ASSIGN_DENIED)
        data = s.AssignmentUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        assignment_services.assignment_update(actor=request.user, assignment=assignment, **data.validated_data)
        return Response(s.AssignmentSerializer(read_committed(lambda: self.get_queryset().get(pk=assignment.pk))).data)

    @extend_schema(request=None, responses={204: None})
    def destroy(self, request, pk=None):
        assignment = self.get_object()
        assignment_services.unassign(actor=request.user, assignment=assignment)
        return Response(status=status.HTTP_204_NO_CONTENT)
