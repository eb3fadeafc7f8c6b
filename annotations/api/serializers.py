"""Serializers: shapes and parsing only. Every write goes through a service, which checks
the field rules (annotations.validation) after its permission check."""

import datetime

from django import forms
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import serializers

from annotations import validation
from annotations.models import (
    Article,
    ArticleVersion,
    Assignment,
    AuditEvent,
    Claim,
    ExportJob,
    Membership,
    Partner,
    PartnerKey,
    RatingLabel,
    RatingScale,
    Review,
    Role,
    Source,
    Stance,
    WebhookDelivery,
    WebhookEndpoint,
    Workspace,
)
from annotations.publishing.exports import FORMATS as EXPORT_FORMATS

# The largest values the columns hold (integer, bigint): past them a number is refused as
# out of range here, not passed on to Postgres.
MAX_INT = 2**31 - 1
MAX_ID = 2**63 - 1


class RuleCheckedCharField(serializers.CharField):
    """Text parsed here and checked by the service against annotations.validation.

    Not here, so that someone who may not make the change is told that first, and the
    API words each rule as the pages do. `documented` is the rule as the schema shows it.
    """

    def __init__(self, *, documented: serializers.Field | dict, **kwargs):
        super().__init__(**kwargs)
        # On the instance, since serializers copy their fields by calling __init__ again.
        extend_schema_field(documented)(self)  # type: ignore[type-var]


def _rule_checked_text(*, limit: int, **kwargs) -> RuleCheckedCharField:
    return RuleCheckedCharField(
        required=False, allow_blank=True, documented={"type": "string", "maxLength": limit}, **kwargs
    )


def _rule_checked_url(**kwargs) -> RuleCheckedCharField:
    return RuleCheckedCharField(
        documented={"type": "string", "format": "uri", "maxLength": validation.MAX_URL}, **kwargs
    )


class WorkspaceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Workspace
        fields = ["id", "name", "slug", "public_pages", "publisher_name", "publisher_url", "created_at"]


class WorkspaceUpdateSerializer(serializers.Serializer):
    """How the desk publishes: public pages, and the publisher its published records name.
    The same rules, and the same sentences, as the desk's publishing settings page."""

    public_pages = serializers.BooleanField(required=False, error_messages={
        "invalid": validation.PUBLIC_PAGES_NOT_YES_OR_NO, "null": validation.PUBLIC_PAGES_NOT_YES_OR_NO,
    })
    publisher_name = _rule_checked_text(limit=validation.MAX_PUBLISHER_NAME)
    publisher_url = RuleCheckedCharField(
        required=False, allow_blank=True,
        documented={"type": "string", "format": "uri", "maxLength": validation.MAX_PUBLISHER_URL},
    )

    def validate(self, attrs):
        # A field this endpoint does not change is refused rather than silently ignored.
        unknown = sorted(set(getattr(self, "initial_data", {})) - set(self.fields))
        if unknown:
            settable = ", ".join(self.fields)
            raise serializers.ValidationError(
                {name: [f"This is not a setting you can change here; send {settable}."] for name in unknown}
            )
        return attrs


class RatingLabelSerializer(serializers.ModelSerializer):
    class Meta:
        model = RatingLabel
        fields = ["id", "name", "value", "position", "description", "color"]


class RatingScaleSerializer(serializers.ModelSerializer):
    workspace: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="slug", read_only=True)
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
    workspace: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="slug", queryset=Workspace.objects.all())
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
    """An article; PATCH switches its watch (`watch`), the only field written here."""

    workspace: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    latest_version = serializers.IntegerField(read_only=True)
    claim_count = serializers.IntegerField(read_only=True)
    # Not a URL field: empty for an article that was pasted or uploaded.
    url = serializers.CharField(read_only=True, help_text="The page's web address; empty when there is none.")
    watch = serializers.BooleanField(
        required=False,
        help_text="Whether the page at `url` is fetched again on a schedule for the publisher's edits. "
                  "Switching it on checks the page within minutes (and retries a watch that stopped); "
                  "only an article with a `url` can be watched.")
    # The watch's checks (ArticleWatch); null for an article whose page was never fetched.
    last_checked_at = serializers.DateTimeField(
        source="watch_state.last_checked_at", read_only=True, allow_null=True,
        help_text="When the page was last fetched.")
    next_check_at = serializers.DateTimeField(
        source="watch_state.next_check_at", read_only=True, allow_null=True,
        help_text="When the page is fetched next; null while the watch is off or stopped.")
    watch_failures = serializers.IntegerField(
        source="watch_state.check_failures", read_only=True, allow_null=True,
        help_text="Checks in a row that could not fetch the page.")
    watch_error = serializers.CharField(
        source="watch_state.check_error", read_only=True, allow_null=True,
        help_text="Why the last check failed; empty when it did not.")
    watch_stopped_at = serializers.DateTimeField(
        source="watch_state.stopped_at", read_only=True, allow_null=True,
        help_text="When the watch stopped checking after failing too long; switch it on again to retry.")

    class Meta:
        model = Article
        fields = ["id", "workspace", "title", "url", "publisher", "byline", "published_on", "language",
                  "latest_version", "claim_count", "created_at", "updated_at", "watch", "last_checked_at",
                  "next_check_at", "watch_failures", "watch_error", "watch_stopped_at"]
        read_only_fields = ["title", "url", "publisher", "byline", "published_on", "language",
                            "created_at", "updated_at"]


class ArticleCreateSerializer(serializers.Serializer):
    workspace = serializers.SlugField()
    # Present and not empty is parsing, in the rule's words; white space only is the service's.
    # Left out with a `url`: the desk fetches the page and reads its text and metadata.
    text = RuleCheckedCharField(
        required=False, trim_whitespace=False,
        error_messages={"blank": validation.ARTICLE_NO_TEXT},
        documented={"type": "string", "maxLength": validation.MAX_ARTICLE_CHARS},
    )
    title = _rule_checked_text(limit=validation.MAX_ARTICLE_TITLE)
    url = _rule_checked_url(required=False, allow_blank=True)
    publisher = _rule_checked_text(limit=validation.MAX_ARTICLE_PUBLISHER)
    watch = serializers.BooleanField(
        required=False, default=True, help_text="For a fetched page: fetch it again on a schedule.")

    def validate(self, attrs):
        if "text" not in attrs and not attrs.get("url"):
            raise serializers.ValidationError({"text": validation.ARTICLE_NO_TEXT})
        return attrs


class ArticleVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ArticleVersion
        fields = ["id", "article", "number", "sha256", "text", "source_name", "created_at"]


class ArticleVersionListSerializer(serializers.ModelSerializer):
    class Meta:
        model = ArticleVersion
        fields = ["id", "article", "number", "sha256", "source_name", "created_at"]


class SourceSerializer(serializers.ModelSerializer):
    # Present and not blank is parsing, in the rule's words; the rest of the rule is the service's.
    url = _rule_checked_url(error_messages={"required": validation.SOURCE_URL_MISSING,
                                            "blank": validation.SOURCE_URL_MISSING})
    title = _rule_checked_text(limit=validation.MAX_SOURCE_TITLE)
    publisher = _rule_checked_text(limit=validation.MAX_SOURCE_PUBLISHER)
    quote = _rule_checked_text(limit=validation.MAX_QUOTE)
    stance = RuleCheckedCharField(required=False, allow_blank=True,
                                  documented=serializers.ChoiceField(choices=Stance.choices))
    accessed_on = serializers.DateField(required=False, allow_null=True,
                                        error_messages={"invalid": validation.ACCESSED_ON_INVALID})
    archive_url = _rule_checked_url(required=False, allow_blank=True)

    class Meta:
        model = Source
        fields = ["id", "claim", "url", "title", "publisher", "quote", "stance", "accessed_on",
                  "archive_url", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]

    def to_representation(self, source):
        """What DRF's fields make of a source (tests/test_api_queries.py compares the two),
        built directly: claims lists show hundreds of sources a page."""
        return {
            "id": source.pk, "claim": source.claim_id, "url": source.url, "title": source.title,
            "publisher": source.publisher, "quote": source.quote, "stance": source.stance,
            "accessed_on": _date(source.accessed_on), "archive_url": source.archive_url,
            "created_at": _datetime(source.created_at), "updated_at": _datetime(source.updated_at),
        }


def _datetime(value):
    """What DRF's DateTimeField says of an aware datetime (ISO 8601 in the current time
    zone, "Z" for UTC), without its per-call machinery: a page of claims has hundreds."""
    if value is None:
        return None
    text = value.astimezone(timezone.get_current_timezone()).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _date(value):
    return None if value is None else value.isoformat()


class SelectorsSerializer(serializers.Serializer):
    exact = serializers.CharField(trim_whitespace=False)
    prefix = serializers.CharField(trim_whitespace=False, allow_blank=True, required=False)
    suffix = serializers.CharField(trim_whitespace=False, allow_blank=True, required=False)
    start = serializers.IntegerField(min_value=0, max_value=MAX_INT)
    end = serializers.IntegerField(min_value=1, max_value=MAX_INT)


class ClaimSerializer(serializers.ModelSerializer):
    workspace: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="slug", read_only=True)
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
            "anchor_score", "anchor_previous_exact", "article_changed_at", "claim_reviewed", "claimant",
            "claim_date", "rating", "rating_name", "rationale", "state", "revision", "created_by",
            "last_edited_by", "submitted_at", "held_by", "held_until", "first_approved_at", "last_approved_at",
            "created_at", "updated_at", "sources",
        ]
        read_only_fields = fields
        # The meaning-change guard: what tells a client that a person must act.
        extra_kwargs = {
            "anchor_status": {"help_text": (
                "How the quote moved to the article's latest version. `changed`: its words now say something "
                "else (`anchor_previous_exact` is what they said): the author or an admin confirms the new "
                "position (POST confirm-position/) or re-attaches it (POST reattach/). `orphaned`: its text "
                "is gone; re-attach it.")},
            "anchor_previous_exact": {"help_text": (
                "While `anchor_status` is `changed`: the quote as it read before the article changed "
                "(`selectors.exact` is what it reads now). Empty otherwise.")},
            "article_changed_at": {"help_text": (
                "When the article changed under this approved claim (its quote changed meaning or is gone). "
                "Until a reviewer confirms the verdict stands (POST confirm-verdict/) or an admin reopens it, "
                "the claim waits in the review queue; null when nothing waits.")},
        }

    @extend_schema_field(SelectorsSerializer)
    def get_selectors(self, claim):
        return {"exact": claim.exact, "prefix": claim.prefix, "suffix": claim.suffix,
                "start": claim.start_offset, "end": claim.end_offset}

    def to_representation(self, claim):
        """What the fields above make of a claim (tests/test_api_queries.py compares the two),
        built directly: at 100 claims a page, DRF's per-field machinery was most of the
        list's time. The fields stay declared for the schema."""
        sources = SourceSerializer()
        return {
            "id": claim.pk, "workspace": claim.workspace.slug, "article": claim.article_id,
            "version": claim.version_id, "version_sha256": claim.version.sha256,
            "selectors": self.get_selectors(claim), "anchor_status": claim.anchor_status,
            "anchor_score": claim.anchor_score, "anchor_previous_exact": claim.anchor_previous_exact,
            "article_changed_at": _datetime(claim.article_changed_at), "claim_reviewed": claim.claim_reviewed,
            "claimant": claim.claimant, "claim_date": _date(claim.claim_date), "rating": claim.rating_id,
            "rating_name": claim.rating.name if claim.rating_id else None, "rationale": claim.rationale,
            "state": claim.state, "revision": claim.revision, "created_by": claim.created_by.username,
            "last_edited_by": claim.last_edited_by.username, "submitted_at": _datetime(claim.submitted_at),
            "held_by": claim.held_by.username if claim.held_by_id else None,
            "held_until": _datetime(claim.held_until), "first_approved_at": _datetime(claim.first_approved_at),
            "last_approved_at": _datetime(claim.last_approved_at), "created_at": _datetime(claim.created_at),
            "updated_at": _datetime(claim.updated_at),
            "sources": [sources.to_representation(source) for source in claim.sources.all()],
        }


def source_row_representation(row: dict) -> dict:
    """SourceSerializer's output for a plain row (selectors.SOURCE_ROW_FIELDS)."""
    return {
        "id": row["id"], "claim": row["claim_id"], "url": row["url"], "title": row["title"],
        "publisher": row["publisher"], "quote": row["quote"], "stance": row["stance"],
        "accessed_on": _date(row["accessed_on"]), "archive_url": row["archive_url"],
        "created_at": _datetime(row["created_at"]), "updated_at": _datetime(row["updated_at"]),
    }


def claim_row_representation(row: dict) -> dict:
    """ClaimSerializer's output for a row of selectors.claim_rows_for_api (tests compare
    the two for every claim): what the API lists are made of."""
    return {
        "id": row["id"], "workspace": row["workspace_slug"], "article": row["article_id"],
        "version": row["version_id"], "version_sha256": row["version_sha256"],
        "selectors": {"exact": row["exact"], "prefix": row["prefix"], "suffix": row["suffix"],
                      "start": row["start_offset"], "end": row["end_offset"]},
        "anchor_status": row["anchor_status"], "anchor_score": row["anchor_score"],
        "anchor_previous_exact": row["anchor_previous_exact"],
        "article_changed_at": _datetime(row["article_changed_at"]),
        "claim_reviewed": row["claim_reviewed"], "claimant": row["claimant"], "claim_date": _date(row["claim_date"]),
        "rating": row["rating_id"], "rating_name": row["rating_name"], "rationale": row["rationale"],
        "state": row["state"], "revision": row["revision"], "created_by": row["created_by_username"],
        "last_edited_by": row["last_edited_by_username"], "submitted_at": _datetime(row["submitted_at"]),
        "held_by": row["held_by_username"], "held_until": _datetime(row["held_until"]),
        "first_approved_at": _datetime(row["first_approved_at"]),
        "last_approved_at": _datetime(row["last_approved_at"]),
        "created_at": _datetime(row["created_at"]), "updated_at": _datetime(row["updated_at"]),
        "sources": [source_row_representation(source) for source in row["sources"]],
    }


class ClaimCreateSerializer(SelectorsSerializer):
    article = serializers.IntegerField(max_value=MAX_ID)
    version = serializers.IntegerField(max_value=MAX_ID)


class ClaimUpdateSerializer(serializers.Serializer):
    claim_reviewed = _rule_checked_text(limit=validation.MAX_RESTATEMENT)
    claimant = _rule_checked_text(limit=validation.MAX_CLAIMANT)
    claim_date = serializers.DateField(required=False, allow_null=True,
                                       error_messages={"invalid": validation.CLAIM_DATE_INVALID})
    # An id that names no label cannot become one, so that much is checked here; whether
    # the label is of the claim's desk is the service's rule, in the same words.
    rating = serializers.PrimaryKeyRelatedField(
        queryset=RatingLabel.objects.all(), required=False, allow_null=True,
        error_messages={"does_not_exist": validation.RATING_NOT_IN_SCALE,
                        "incorrect_type": validation.RATING_NOT_IN_SCALE},
    )
    rationale = _rule_checked_text(limit=validation.MAX_RATIONALE)
    # The editor page's words for a revision that is not a number.
    revision = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_INT,
        error_messages={"invalid": forms.IntegerField.default_error_messages["invalid"]},
    )


class TransitionSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, max_length=20_000)
    revision = serializers.IntegerField(required=False, min_value=1, max_value=MAX_INT)


class BulkItemSerializer(serializers.Serializer):
    id = serializers.IntegerField(min_value=1, max_value=MAX_INT)
    revision = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=MAX_INT)


class BulkSerializer(serializers.Serializer):
    """POST /api/v1/claims/bulk/: an action on claims of one desk (services/bulk.py)."""

    workspace = serializers.SlugField(max_length=100)
    action = serializers.CharField(max_length=30)
    claims = BulkItemSerializer(many=True, allow_empty=False)
    # assign and due_date (when assignments are there): who, by when (YYYY-MM-DD or ISO), a note.
    assignee = serializers.CharField(required=False, max_length=150)
    due = serializers.CharField(required=False, max_length=40)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class BulkFailureSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    error = serializers.CharField()


class BulkResultSerializer(serializers.Serializer):
    applied = serializers.ListField(child=serializers.IntegerField())
    failed = BulkFailureSerializer(many=True)
    job = serializers.IntegerField(allow_null=True, required=False)
    status = serializers.CharField()


class ReattachSerializer(SelectorsSerializer):
    revision = serializers.IntegerField(required=False, min_value=1, max_value=MAX_INT)


class PositionConfirmSerializer(serializers.Serializer):
    """POST /claims/{id}/confirm-position/: nothing but the revision read (or If-Match)."""

    revision = serializers.IntegerField(required=False, min_value=1, max_value=MAX_INT)


# The trail's reason holds "The article changed since the verdict; the verdict stands." and
# the comment within its 1,000 characters (services.workflow.claim_verdict_confirm): a longer
# comment is refused here rather than cut short there.
VERDICT_COMMENT_MAX = 900


class VerdictConfirmSerializer(serializers.Serializer):
    """POST /claims/{id}/confirm-verdict/: the verdict stands, optionally saying why."""

    comment = serializers.CharField(required=False, allow_blank=True, max_length=VERDICT_COMMENT_MAX,
                                    help_text="Why the verdict stands; recorded on the claim's trail.")
    revision = serializers.IntegerField(required=False, min_value=1, max_value=MAX_INT)


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
    workspace: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="slug", read_only=True)
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
        super().__init__(default_timezone=datetime.UTC, **kwargs)

    def enforce_timezone(self, value):
        try:
            return super().enforce_timezone(value)
        except (OverflowError, ValueError):
            self.fail("invalid", format="an ISO 8601 date-time within the years 1-9999")


PUBLISHED_ONLY = "Only published verdicts are exported; state can only be approved."


class ExportRequestSerializer(serializers.Serializer):
    """An export of the desk's published records (the verdicts in force)."""

    workspace = serializers.SlugField()
    format = serializers.ChoiceField(choices=list(EXPORT_FORMATS))
    # Kept for the clients that send it: only published verdicts ever leave the desk.
    state = serializers.ChoiceField(
        choices=["approved"], required=False, default="approved", error_messages={"invalid_choice": PUBLISHED_ONLY}
    )
    rating = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    article = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    updated_since = UtcDateTimeField(required=False)


class VerdictExportQuerySerializer(ExportRequestSerializer):
    """The streaming export's query: the desk is optional (all of yours if omitted)."""

    workspace = serializers.SlugField(required=False)


# --- Partners (annotations/api/partner.py) ----------------------------------------------

class PartnerSerializer(serializers.ModelSerializer):
    workspace: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Partner
        fields = ["id", "workspace", "name", "contact_email", "note", "throttle_rate", "created_at"]


class PartnerCreateSerializer(serializers.Serializer):
    workspace = serializers.SlugField()
    name = serializers.CharField(allow_blank=True, trim_whitespace=False)
    contact_email = serializers.CharField(allow_blank=True)
    note = serializers.CharField(required=False, allow_blank=True, default="")
    throttle_rate = serializers.CharField(required=False, default="600/min")


class PartnerKeySerializer(serializers.ModelSerializer):
    class Meta:
        model = PartnerKey
        fields = ["id", "prefix", "created_at", "last_used_at", "revoked_at", "expires_at"]


class PartnerKeyUsageSerializer(serializers.Serializer):
    key = PartnerKeySerializer()
    usage = serializers.ListField(child=inline_serializer("PartnerKeyDay", fields={
        "day": serializers.DateField(), "requests": serializers.IntegerField(),
    }))


class IssuedKeySerializer(PartnerKeySerializer):
    key = serializers.CharField(help_text="Shown this once; only its hash is kept.")

    class Meta(PartnerKeySerializer.Meta):
        fields = [*PartnerKeySerializer.Meta.fields, "key"]


class WebhookSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "enabled", "disabled_reason", "consecutive_failures", "created_at"]


class WebhookCreateSerializer(serializers.Serializer):
    url = serializers.CharField(allow_blank=True, help_text="https, at a public address.")


class IssuedWebhookSerializer(WebhookSerializer):
    secret = serializers.CharField(help_text="The signing secret (whsec_...), shown this once.")

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]


class WebhookDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = ["id", "webhook_id", "publication", "attempt", "status_code", "latency_ms", "response_excerpt",
                  "error", "delivered_at", "next_attempt_at", "created_at"]


class WebhookLogSerializer(serializers.Serializer):
    endpoint = WebhookSerializer()
    deliveries = WebhookDeliverySerializer(many=True)


class RedeliverSerializer(serializers.Serializer):
    after = serializers.CharField(required=False, allow_blank=True, default="",
                                  help_text="A feed position (an event's `position`); empty: from the start.")


class RotateSerializer(serializers.Serializer):
    grace_hours = serializers.IntegerField(
        help_text="How long the old key keeps working (0 to 720 hours).",
        error_messages={"invalid": "Give the grace period as a whole number of hours from 0 to 720."},
    )


class AssignmentSerializer(serializers.ModelSerializer):
    """Who checks what by when (services/assignments.py)."""

    workspace: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    assignee: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="username", read_only=True)
    assigned_by: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="username", read_only=True)
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = Assignment
        fields = ["id", "workspace", "kind", "article", "claim", "assignee", "assigned_by", "due_at", "note",
                  "done_at", "overdue", "created_at", "updated_at"]
        read_only_fields = fields

    def get_overdue(self, obj: Assignment) -> bool:
        return obj.done_at is None and obj.due_at is not None and obj.due_at < timezone.now()


class AssignmentWriteSerializer(serializers.Serializer):
    """Assign an article (to an annotator) or a claim (to a reviewer): name one of them."""

    workspace = serializers.SlugField()
    article = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    claim = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    assignee = serializers.CharField(max_length=150)
    due_at = serializers.DateTimeField(required=False, allow_null=True, default=None,
                                       error_messages={"invalid": validation.DUE_AT_INVALID})
    note = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=False)

    def validate(self, attrs):
        if ("article" in attrs) == ("claim" in attrs):
            raise serializers.ValidationError({"article": "Name either an article or a claim to assign."})
        return attrs


class AssignmentUpdateSerializer(serializers.Serializer):
    due_at = serializers.DateTimeField(required=False, allow_null=True,
                                       error_messages={"invalid": validation.DUE_AT_INVALID})
    note = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    done = serializers.BooleanField(required=False)
