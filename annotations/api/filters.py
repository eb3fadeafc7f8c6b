"""The API's list filters (django-filter). Every filter here is backed by an index; the
comment beside a filterset names it."""

import datetime

import django_filters
import django_filters.constants
from django import forms
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ValidationError

from annotations.models import (
    Article,
    ArticleVersion,
    Assignment,
    AuditEvent,
    Claim,
    Membership,
    RatingScale,
    Review,
    Source,
    Workspace,
)

MAX_ID = 2**63 - 1


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class IdFilter(django_filters.NumberFilter):
    """An object id: an unknown one filters to nothing; a non-id is a 400 naming the filter."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        """`claim_id=5`, not `claim_id__exact=5`: Django reads the latter as the related
        model's field named `exact` (Claim.exact, the quoted text), so ?claim= on reviews
        and sources compared the quote with the id and found nothing."""
        if value in django_filters.constants.EMPTY_VALUES or self.lookup_expr != "exact":
            return super().filter(qs, value)
        return self.get_method(qs)(**{self.field_name: value})


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    """ISO 8601 with any offset; compared in UTC, since Postgres refuses offsets past ±15:59."""

    def filter(self, qs, value):
        if value is not None:
            try:
                value = value.astimezone(datetime.UTC)
            except (OverflowError, ValueError):
                raise ValidationError({self._parameter(): "This date is out of range once moved to UTC."}) from None
        return super().filter(qs, value)

    def _parameter(self) -> str:
        """The query parameter this filter reads (e.g. updated_since), which the error names."""
        filters = getattr(getattr(self, "parent", None), "filters", {})
        return next((name for name, flt in filters.items() if flt is self), self.field_name)


class WorkspaceFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Workspace
        fields = ["slug", "name"]


class RatingScaleFilter(django_filters.FilterSet):
    workspace = django_filters.CharFilter(field_name="workspace__slug")

    class Meta:
        model = RatingScale
        fields = ["workspace"]


class MembershipFilter(django_filters.FilterSet):
    workspace = django_filters.CharFilter(field_name="workspace__slug")
    username = django_filters.CharFilter(field_name="user__username")

    class Meta:
        model = Membership
        fields = ["workspace", "role", "username"]


class ArticleFilter(django_filters.FilterSet):
    # article_ws_created_idx, article_ws_title_idx, article_ws_publisher_idx
    workspace = django_filters.CharFilter(field_name="workspace__slug")
    title = django_filters.CharFilter(lookup_expr="icontains")
    created_after = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte")

    class Meta:
        model = Article
        fields = ["workspace", "publisher", "title", "url", "created_after"]


class ArticleVersionFilter(django_filters.FilterSet):
    # Ids as plain numbers: an unknown id filters to nothing instead of failing.
    article = IdFilter(field_name="article_id")

    class Meta:
        model = ArticleVersion
        fields = ["article", "sha256"]


class ClaimFilter(django_filters.FilterSet):
    # claim_ws_state_idx (workspace, state, updated_at), claim_article_start_idx, claim_author_state_idx
    workspace = django_filters.CharFilter(field_name="workspace__slug")
    created_by = django_filters.CharFilter(field_name="created_by__username")
    updated_since = UtcDateTimeFilter(field_name="updated_at", lookup_expr="gte")
    article = IdFilter(field_name="article_id")
    version = IdFilter(field_name="version_id")
    rating = IdFilter(field_name="rating_id")

    class Meta:
        model = Claim
        fields = ["workspace", "article", "version", "state", "rating", "anchor_status", "created_by", "updated_since"]


class SourceFilter(django_filters.FilterSet):
    claim = IdFilter(field_name="claim_id")

    class Meta:
        model = Source
        fields = ["claim", "stance"]


class ReviewFilter(django_filters.FilterSet):
    reviewer = django_filters.CharFilter(field_name="reviewer__username")
    claim = IdFilter(field_name="claim_id")

    class Meta:
        model = Review
        fields = ["claim", "decision", "reviewer"]


class AuditEventFilter(django_filters.FilterSet):
    # audit_ws_time_idx, audit_actor_time_idx, audit_claim_idx, audit_object_idx, audit_action_idx
    actor = django_filters.CharFilter(field_name="actor__username")
    occurred_after = UtcDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = UtcDateTimeFilter(field_name="occurred_at", lookup_expr="lte")
    workspace = IdFilter(field_name="workspace_id")
    claim = IdFilter(field_name="claim_id")

    class Meta:
        model = AuditEvent
        fields = [
            "workspace", "claim", "actor", "action", "object_type", "object_id", "occurred_after", "occurred_before",
        ]


class AssignmentFilter(django_filters.FilterSet):
    # assignment_open_assignee_idx, assignment_open_due_idx
    workspace = django_filters.CharFilter(field_name="workspace__slug")
    assignee = django_filters.CharFilter(field_name="assignee__username")
    claim = IdFilter(field_name="claim_id")
    article = IdFilter(field_name="article_id")
    overdue = django_filters.ChoiceFilter(method="filter_overdue", label="Open and past its due date",
                                          choices=[("true", "true"), ("false", "false")])

    class Meta:
        model = Assignment
        fields = ["workspace", "assignee", "kind", "claim", "article", "overdue"]

    def filter_overdue(self, qs, name, value):
        from annotations.selectors import assignments_for_list

        return assignments_for_list(assignments=qs, overdue=value == "true")
