"""Serializers: shapes and input checks only. Every write goes through a service."""

import datetime

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from annotations.forms import BAD_URL
from annotations.models import (
    Article,
    ArticleVersion,
    AuditEvent,
    Claim,
    ExportJob,
    Membership,
    RatingLabel,
    RatingScale,
    Review,
    Role,
    Source,
    Stance,
    Workspace,
)


class WorkspaceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Workspace
        fields = ["id", "name", "slug", "publisher_name", "publisher_url", "created_at"]


class RatingLabelSerializer(serializers.ModelSerializer):
    class Meta:
        model = RatingLabel
        fields = ["id", "name", "value", "position", "description", "color"]


class RatingScaleSerializer(serializers.ModelSerializer):
    workspace = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    labels = RatingLabelSerializer(many=True, read_only=True)
    best_rating = serializers.SerializerMethodField()
    worst_rating = serializers.SerializerMethodField()

    class Meta:
        model = RatingScale
        fields = ["id", "workspace", "name", "best_rating", "worst_rating", "labels"]

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_best_rating(self, scale):
        values = [label.value for label in scale.labels.all() if label.value is not None]
        return max(values) if values else None

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_worst_rating(self, scale):
        values = [label.value for label in scale.labels.all() if label.value is not None]
        return min(values) if values else None


class MembershipSerializer(serializers.ModelSerializer):
    workspace = serializers.SlugRelatedField(slug_field="slug", queryset=Workspace.objects.all())
    username = serializers.CharField(source="user.username")

    class Meta:
        model = Membership
        fields = ["id", "workspace", "username", "role", "created_at"]
        read_only_fields = ["created_at"]


class MembershipWriteSerializer(serializers.Serializer):
    workspace = serializers.SlugField()
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=Role.choices)


class ArticleSerializer(serializers.ModelSerializer):
    workspace = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    latest_version = serializers.IntegerField(read_only=True)
    claim_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Article
        fields = ["id", "workspace", "title", "url", "publisher", "byline", "published_on", "language",
                  "latest_version", "claim_count", "created_at", "updated_at"]


class ArticleCreateSerializer(serializers.Serializer):
    workspace = serializers.SlugField()
    text = serializers.CharField(trim_whitespace=False, max_length=2_000_000)
    title = serializers.CharField(required=False, allow_blank=True, max_length=500)
    url = serializers.URLField(required=False, allow_blank=True, max_length=2000,
                               error_messages={"invalid": BAD_URL})
    publisher = serializers.CharField(required=False, allow_blank=True, max_length=200)


class ArticleVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ArticleVersion
        fields = ["id", "article", "number", "sha256", "text", "source_name", "created_at"]


class ArticleVersionListSerializer(serializers.ModelSerializer):
    class Meta:
        model = ArticleVersion
        fields = ["id", "article", "number", "sha256", "source_name", "created_at"]


class SourceSerializer(serializers.ModelSerializer):
    url = serializers.URLField(max_length=2000, error_messages={"invalid": BAD_URL})
    archive_url = serializers.URLField(max_length=2000, required=False, allow_blank=True,
                                       error_messages={"invalid": BAD_URL})
    stance = serializers.ChoiceField(choices=Stance.choices, required=False)

    class Meta:
        model = Source
        fields = ["id", "claim", "url", "title", "publisher", "quote", "stance", "accessed_on",
                  "archive_url", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]

    def validate_url(self, value):
        if not value.lower().startswith(("http://", "https://")):
            raise serializers.ValidationError(BAD_URL)
        return value


class SelectorsSerializer(serializers.Serializer):
    exact = serializers.CharField(trim_whitespace=False)
    prefix = serializers.CharField(trim_whitespace=False, allow_blank=True, required=False)
    suffix = serializers.CharField(trim_whitespace=False, allow_blank=True, required=False)
    start = serializers.IntegerField(min_value=0)
    end = serializers.IntegerField(min_value=1)


class ClaimSerializer(serializers.ModelSerializer):
    workspace = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    version_sha256 = serializers.CharField(source="version.sha256", read_only=True)
    selectors = serializers.SerializerMethodField()
    rating_name = serializers.CharField(source="rating.name", read_only=True, default=None, allow_null=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True)
    last_edited_by = serializers.CharField(source="last_edited_by.username", read_only=True)
    held_by = serializers.CharField(source="held_by.username", read_only=True, default=None, allow_null=True)
    sources = SourceSerializer(many=True, read_only=True)

    class Meta:
        model = Claim
        fields = [
            "id", "workspace", "article", "version", "version_sha256", "selectors", "anchor_status",
            "anchor_score", "claim_reviewed", "claimant", "claim_date", "rating", "rating_name",
            "rationale", "state", "revision", "created_by", "last_edited_by", "submitted_at",
            "held_by", "held_until", "first_approved_at", "last_approved_at", "created_at",
            "updated_at", "sources",
        ]
        read_only_fields = fields

    @extend_schema_field(SelectorsSerializer)
    def get_selectors(self, claim):
        return {"exact": claim.exact, "prefix": claim.prefix, "suffix": claim.suffix,
                "start": claim.start_offset, "end": claim.end_offset}


class ClaimCreateSerializer(SelectorsSerializer):
    article = serializers.IntegerField()
    version = serializers.IntegerField()


class ClaimUpdateSerializer(serializers.Serializer):
    claim_reviewed = serializers.CharField(required=False, allow_blank=True, max_length=300)
    claimant = serializers.CharField(required=False, allow_blank=True, max_length=200)
    claim_date = serializers.DateField(required=False, allow_null=True)
    rating = serializers.PrimaryKeyRelatedField(queryset=RatingLabel.objects.all(), required=False, allow_null=True)
    rationale = serializers.CharField(required=False, allow_blank=True, max_length=20_000, trim_whitespace=False)
    revision = serializers.IntegerField(required=False, min_value=1)

    def validate_claim_reviewed(self, value):
        if "\n" in value:
            raise serializers.ValidationError("The restatement is one line; remove the line breaks.")
        return value.strip()


class TransitionSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, max_length=20_000)
    revision = serializers.IntegerField(required=False, min_value=1)


class ReattachSerializer(SelectorsSerializer):
    revision = serializers.IntegerField(required=False, min_value=1)


class TakeNextSerializer(serializers.Serializer):
    workspace = serializers.SlugField()


class ReviewSerializer(serializers.ModelSerializer):
    reviewer = serializers.CharField(source="reviewer.username", read_only=True)

    class Meta:
        model = Review
        fields = ["id", "claim", "reviewer", "decision", "comment", "claim_revision", "created_at"]


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", read_only=True, default=None, allow_null=True)

    class Meta:
        model = AuditEvent
        fields = ["id", "occurred_at", "action", "object_type", "object_id", "workspace_id", "claim_id",
                  "actor", "request", "reason", "before", "after", "prev_hash", "hash"]


class ExportJobSerializer(serializers.ModelSerializer):
    workspace = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ExportJob
        fields = ["id", "workspace", "format", "filters", "status", "rows_total", "rows_done", "error",
                  "created_at", "finished_at", "download_url"]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_download_url(self, job):
        if job.status != "done":
            return None
        return f"/api/v1/exports/{job.pk}/download/"


class UtcDateTimeField(serializers.DateTimeField):
    """A date-time with any offset, read as UTC; one out of range is a 400, not a crash."""

    def __init__(self, **kwargs):
        super().__init__(default_timezone=datetime.timezone.utc, **kwargs)

    def enforce_timezone(self, value):
        try:
            return super().enforce_timezone(value)
        except (OverflowError, ValueError):
            self.fail("invalid", format="an ISO 8601 date-time within the years 1-9999")


class ExportRequestSerializer(serializers.Serializer):
    workspace = serializers.SlugField()
    format = serializers.ChoiceField(choices=["jsonl", "csv", "claimreview", "w3c"])
    state = serializers.ChoiceField(choices=["draft", "submitted", "in_review", "approved", "changes_requested", "rejected"],
                                    required=False, default="approved")
    rating = serializers.IntegerField(required=False, min_value=1)
    article = serializers.IntegerField(required=False, min_value=1)
    updated_since = UtcDateTimeField(required=False)


class VerdictExportQuerySerializer(ExportRequestSerializer):
    """The streaming export's query: the desk is optional (all of yours if omitted)."""

    workspace = serializers.SlugField(required=False)
