"""The desk's domain: workspaces and their members, articles and their immutable
versions, claims anchored to a version by W3C selectors, their sources and reviews.

Every invariant that can be stated to the database is: check constraints on a row,
and Postgres triggers (via django-pgtrigger) for those that span tables, so that a
write from the admin, the shell or raw SQL is held to the same rules as the app.
Offsets are Unicode code points, which is what Postgres' char_length and substr
count too.
"""

from collections.abc import Iterable

import pgtrigger
from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q

# The workflow's states and decisions live beside its transition table, which the claim's
# state-change trigger is generated from; they are re-exported here for the rest of the app.
from annotations.workflow import TRANSITIONS, ClaimState, Decision, Transition, allowed_state_changes


class Sha256Hex(models.Func):
    """Postgres' own sha256 of a text column, as lowercase hex."""

    template = "encode(sha256(convert_to(%(expressions)s, 'UTF8')), 'hex')"
    output_field = models.CharField()


class IsNFC(models.Func):
    template = "(%(expressions)s IS NFC NORMALIZED)"
    output_field = models.BooleanField()


def default_time_zone() -> str:
    """A new desk's time zone: the installation's (TIME_ZONE, UTC unless set)."""
    return settings.TIME_ZONE


class Workspace(models.Model):
    """A fact-check desk. Every other object belongs to exactly one workspace."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    # The organisation named as author of this desk's ClaimReviews.
    publisher_name = models.CharField(max_length=200, blank=True)
    publisher_url = models.URLField(max_length=500, blank=True)
    # Published verdicts get public pages at /v/<slug>/ (and ClaimReview points at them).
    public_pages = models.BooleanField(default=False)
    # The desk's clock: its pages show times in this zone, unless a person chose their own
    # (Profile.time_zone). An IANA name; annotations/services/profiles.py checks it.
    time_zone = models.CharField(max_length=64, default=default_time_zone)
    # Claim matching: suggestions at or above this score (0..1) are shown; recalibrated from
    # the desk's confirm/dismiss decisions (annotations/services/matching.py). None: default.
    match_threshold = models.FloatField(null=True, blank=True)
    # Assignments (services/assignments.py): an assigned claim is taken by its assignee
    # only, until it is this many hours past its due date; then by anyone.
    assignment_grace_hours = models.PositiveIntegerField(default=24)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    ANNOTATOR = "annotator", "Annotator"
    REVIEWER = "reviewer", "Reviewer"
    ADMIN = "admin", "Admin"


class Membership(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.ANNOTATOR)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "workspace"], name="membership_one_per_user_and_workspace"
            ),
            models.CheckConstraint(
                condition=Q(role__in=Role.values), name="membership_role_is_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) in {self.workspace}"


class Profile(models.Model):
    """A person's own settings. `time_zone` empty: each desk's pages in the desk's zone."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    time_zone = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return f"Profile of {self.user}"


class RatingScale(models.Model):
    """The ordered verdict labels a workspace rates claims with."""

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, related_name="rating_scale"
    )
    name = models.CharField(max_length=200)

    def __str__(self) -> str:
        return f"{self.name} ({self.workspace})"


class RatingLabel(models.Model):
    """One verdict on a scale.

    `value` places ordinal labels on the scale (higher is more true) and is what
    ClaimReview publishes as ratingValue; non-ordinal labels such as "Misleading"
    have none. `position` is the order labels are shown in.
    """

    scale = models.ForeignKey(RatingScale, on_delete=models.CASCADE, related_name="labels")
    name = models.CharField(max_length=60)
    value = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="1 to 100, higher is more true; empty for a non-ordinal label such as Misleading.",
    )
    position = models.PositiveSmallIntegerField()
    description = models.CharField(max_length=300, blank=True)
    color = models.CharField(
        max_length=7, default="#888888",
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", "Give the colour as #rrggbb, e.g. #cf222e.")],
    )

    class Meta:
        ordering = ["scale", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["scale", "name"], name="rating_label_name_unique",
                violation_error_message="The scale already has a label of that name.",
            ),
            models.UniqueConstraint(
                fields=["scale", "position"], name="rating_label_position_unique"
            ),
            models.UniqueConstraint(
                fields=["scale", "value"], name="rating_label_value_unique",
                violation_error_message="Another label of the scale has that value.",
            ),
            models.CheckConstraint(
                condition=Q(value__isnull=True) | Q(value__gte=1, value__lte=100),
                name="rating_label_value_in_range",
            ),
            models.CheckConstraint(
                condition=Q(color__regex=r"^#[0-9a-fA-F]{6}$"), name="rating_label_color_is_hex"
            ),
            models.CheckConstraint(condition=~Q(name=""), name="rating_label_name_not_empty"),
        ]

    def __str__(self) -> str:
        return self.name


class Article(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="articles")
    title = models.CharField(max_length=500)
    url = models.URLField(max_length=2000, blank=True)
    publisher = models.CharField(max_length=200, blank=True)
    byline = models.CharField(max_length=300, blank=True)
    published_on = models.DateField(null=True, blank=True)
    language = models.CharField(max_length=20, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Watching the page at `url` for the publisher's edits (services.articles.article_watch_check).
    # Switching it on or off is an editorial decision, on the audit trail; the checks' own
    # bookkeeping is in ArticleWatch, which is not audited.
    watch = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # The importer finds "the same article" by URL within a workspace.
            models.UniqueConstraint(
                fields=["workspace", "url"],
                condition=~Q(url=""),
                name="article_url_unique_in_workspace",
            ),
            models.CheckConstraint(condition=~Q(title=""), name="article_title_not_empty"),
        ]
        indexes = [
            # Home page and article list: a workspace's articles, newest first.
            models.Index(fields=["workspace", "-created_at"], name="article_ws_created_idx"),
            # Importer: same title in a workspace means a new version of that article.
            models.Index(fields=["workspace", "title"], name="article_ws_title_idx"),
            # Articles page: full-text search over titles (selectors.article_search).
            GinIndex(SearchVector("title", config="english"), name="article_title_search_idx"),
            # Articles page: the publisher filter.
            models.Index(fields=["workspace", "publisher"], name="article_ws_publisher_idx"),
        ]

    def __str__(self) -> str:
        return self.title


class ArticleWatch(models.Model):
    """The checks of a watched article's page: what the page last answered (for a conditional
    GET) and when to check it next. Machine bookkeeping, not on the audit trail: a check that
    finds the page unchanged writes here and nowhere else (services.articles.article_watch_check).
    A row exists while the article has been watched at least once; `next_check_at` is null
    while the watch is off or has stopped after failing (`stopped_at`)."""

    article = models.OneToOneField(Article, on_delete=models.CASCADE, primary_key=True, related_name="watch_state")
    etag = models.CharField(max_length=300, blank=True)
    last_modified = models.CharField(max_length=100, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    next_check_at = models.DateTimeField(null=True, blank=True)
    check_interval = models.PositiveIntegerField(default=0, help_text="Seconds until the next check.")
    check_failures = models.PositiveIntegerField(default=0, help_text="Failed checks in a row.")
    check_error = models.CharField(max_length=500, blank=True)
    stopped_at = models.DateTimeField(
        null=True, blank=True, help_text="When the watch stopped checking after failing too long."
    )

    class Meta:
        indexes = [
            # The watch: articles due for a check (services.articles.articles_watch_due).
            models.Index(fields=["next_check_at"], condition=Q(next_check_at__isnull=False),
                         name="article_watch_due_idx"),
        ]

    def __str__(self) -> str:
        return f"Watch of article {self.article_id}"


class ArticleVersion(models.Model):
    """An immutable snapshot of an article's canonical text (NFC, \\n line ends)."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    text = models.TextField()
    sha256 = models.CharField(max_length=64)
    source_name = models.CharField(
        max_length=300, blank=True, help_text="File or form the text was imported from."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["article", "number"]
        get_latest_by = "number"
        constraints = [
            models.UniqueConstraint(fields=["article", "number"], name="version_number_unique"),
            models.UniqueConstraint(fields=["article", "sha256"], name="version_text_unique"),
            models.CheckConstraint(condition=Q(number__gte=1), name="version_number_positive"),
            models.CheckConstraint(condition=~Q(text=""), name="version_text_not_empty"),
            models.CheckConstraint(
                condition=Q(sha256=Sha256Hex("text")), name="version_sha256_matches_text"
            ),
            models.CheckConstraint(condition=IsNFC("text"), name="version_text_is_nfc"),
        ]
        indexes = [
            # Articles page: full-text search over the current text (selectors.article_search).
            GinIndex(
                SearchVector("text", config="english"), name="version_text_search_idx"
            ),
        ]
        triggers = [
            pgtrigger.Protect(name="version_is_immutable", operation=pgtrigger.Update),
        ]

    def __str__(self) -> str:
        return f"{self.article} v{self.number}"


class AnchorStatus(models.TextChoices):
    CREATED = "created", "Created on this version"
    EXACT = "exact", "Re-anchored exactly"
    FUZZY = "fuzzy", "Re-anchored fuzzily"
    # Moved like a fuzzy one, but the words that changed carry meaning (anchoring.py):
    # waits, with the orphans, for a person to confirm the new position or re-attach it.
    CHANGED = "changed", "Moved, but its words changed meaning"
    ORPHANED = "orphaned", "Orphaned"
    REATTACHED = "reattached", "Re-attached by hand"
    CONFIRMED = "confirmed", "Confirmed by hand after a change"


# Spans tables, so it is a trigger rather than a check constraint. ERRCODE 23514
# (check_violation) makes Django raise IntegrityError, like any other constraint.
CLAIM_ANCHOR_CHECK = """
    SELECT v.article_id, v.text INTO version_article, version_text
      FROM annotations_articleversion v WHERE v.id = NEW.version_id;
    IF version_article IS DISTINCT FROM NEW.article_id THEN
        RAISE EXCEPTION USING ERRCODE = '23514', CONSTRAINT = 'claim_version_of_article',
            MESSAGE = 'The claim''s version does not belong to the claim''s article.';
    END IF;
    SELECT a.workspace_id INTO article_workspace
      FROM annotations_article a WHERE a.id = NEW.article_id;
    IF article_workspace IS DISTINCT FROM NEW.workspace_id THEN
        RAISE EXCEPTION USING ERRCODE = '23514', CONSTRAINT = 'claim_article_in_workspace',
            MESSAGE = 'The claim''s article belongs to another workspace.';
    END IF;
    IF NEW.end_offset > char_length(version_text)
       OR substr(version_text, NEW.start_offset + 1, NEW.end_offset - NEW.start_offset)
          IS DISTINCT FROM NEW.exact THEN
        RAISE EXCEPTION USING ERRCODE = '23514', CONSTRAINT = 'claim_exact_matches_text',
            MESSAGE = format('The quote does not match the text at %s-%s of version %s.',
                             NEW.start_offset, NEW.end_offset, NEW.version_id);
    END IF;
    IF NEW.rating_id IS NOT NULL THEN
        SELECT s.workspace_id INTO label_workspace
          FROM annotations_ratinglabel l JOIN annotations_ratingscale s ON s.id = l.scale_id
         WHERE l.id = NEW.rating_id;
        IF label_workspace IS DISTINCT FROM NEW.workspace_id THEN
            RAISE EXCEPTION USING ERRCODE = '23514', CONSTRAINT = 'claim_rating_on_workspace_scale',
                MESSAGE = 'The rating is not on the claim''s workspace scale.';
        END IF;
    END IF;
    RETURN NEW;
"""


def _sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# Compares the row before and after the write, which a check constraint cannot do. The
# trigger's WHEN clause lets through every change the table allows, so this only refuses.
CLAIM_STATE_CHANGE_REFUSAL = """
    RAISE EXCEPTION USING ERRCODE = '23514', CONSTRAINT = 'claim_state_change_allowed',
        MESSAGE = format('A claim cannot go from %s to %s.', OLD.state, NEW.state);
"""


def claim_state_change_trigger(*, transitions: Iterable[Transition]) -> pgtrigger.Trigger:
    """Refuses any change of a claim's state that no transition of the table makes.

    The allowed pairs are written into the trigger's WHEN clause, so a change to the table
    is a change to Claim's Meta that `makemigrations` sees and migrates.
    """
    pairs = ", ".join(
        "({}, {})".format(*(_sql_literal(state) for state in pair))
        for pair in sorted(allowed_state_changes(transitions=transitions))
    )
    return pgtrigger.Trigger(
        name="claim_state_change_allowed",
        operation=pgtrigger.Update,
        when=pgtrigger.Before,
        condition=pgtrigger.Condition(
            f"OLD.state IS DISTINCT FROM NEW.state AND (OLD.state, NEW.state) NOT IN ({pairs})"
        ),
        func=CLAIM_STATE_CHANGE_REFUSAL,
    )


class Claim(models.Model):
    """A span of one article version, marked as a claim and rated.

    The span is a W3C TextQuoteSelector (exact, prefix, suffix) plus a
    TextPositionSelector (start_offset, end_offset) in code points of `version.text`.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="claims")
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="claims")
    version = models.ForeignKey(ArticleVersion, on_delete=models.RESTRICT, related_name="claims")
    exact = models.TextField()
    prefix = models.CharField(max_length=32, blank=True)
    suffix = models.CharField(max_length=32, blank=True)
    start_offset = models.PositiveIntegerField()
    end_offset = models.PositiveIntegerField()
    anchor_status = models.CharField(
        max_length=12, choices=AnchorStatus.choices, default=AnchorStatus.CREATED
    )
    anchor_score = models.FloatField(null=True, blank=True)
    # A `changed` move: the quote as it was before it, for the word diff a person checks.
    anchor_previous_exact = models.TextField(blank=True)
    # An approved claim whose article changed under it (a `changed` move, or orphaned):
    # waits in the reviewer queue until a reviewer confirms the verdict or reopens it.
    article_changed_at = models.DateTimeField(null=True, blank=True)

    claim_reviewed = models.CharField(
        "restatement",
        max_length=300,
        blank=True,
        help_text="The claim in a neutral sentence; under 75 characters reads best in search results.",
    )
    claimant = models.CharField(max_length=200, blank=True)
    claim_date = models.DateField(null=True, blank=True)
    rating = models.ForeignKey(
        RatingLabel, null=True, blank=True, on_delete=models.PROTECT, related_name="claims"
    )
    rationale = models.TextField(blank=True)
    # "Reuse this verdict": the earlier claim whose rating, rationale and sources started this
    # one's draft (and claim.reused_by the other way).
    reused_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reused_by"
    )
    state = models.CharField(max_length=20, choices=ClaimState.choices, default=ClaimState.DRAFT)
    # Optimistic concurrency: every write increments it and must name the one it read.
    revision = models.PositiveIntegerField(default=1)
    # Reviewer queue: waiting since, and who holds it for review until when.
    submitted_at = models.DateTimeField(null=True, blank=True)
    held_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="claims_held"
    )
    held_until = models.DateTimeField(null=True, blank=True)
    # ClaimReview's datePublished and dateModified: the first and the latest approval.
    first_approved_at = models.DateTimeField(null=True, blank=True)
    last_approved_at = models.DateTimeField(null=True, blank=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="claims_created"
    )
    last_edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="claims_edited"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["article", "start_offset", "end_offset", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(start_offset__lt=F("end_offset")), name="claim_start_before_end"
            ),
            models.CheckConstraint(
                condition=Q(state__in=ClaimState.values), name="claim_state_is_known"
            ),
            models.CheckConstraint(
                condition=Q(anchor_status__in=AnchorStatus.values), name="claim_anchor_status_is_known"
            ),
            models.CheckConstraint(
                condition=(
                    Q(
                        anchor_status__in=[AnchorStatus.FUZZY, AnchorStatus.CHANGED],
                        anchor_score__isnull=False,
                        anchor_score__gte=0,
                        anchor_score__lte=1,
                    )
                    | (
                        ~Q(anchor_status__in=[AnchorStatus.FUZZY, AnchorStatus.CHANGED])
                        & Q(anchor_score__isnull=True)
                    )
                ),
                name="claim_fuzzy_anchor_has_score",
            ),
            models.CheckConstraint(condition=Q(revision__gte=1), name="claim_revision_positive"),
            models.CheckConstraint(
                condition=(
                    Q(state=ClaimState.IN_REVIEW, held_by__isnull=False, held_until__isnull=False)
                    | (~Q(state=ClaimState.IN_REVIEW) & Q(held_by__isnull=True, held_until__isnull=True))
                ),
                name="claim_held_exactly_when_in_review",
            ),
            models.CheckConstraint(
                condition=Q(state=ClaimState.DRAFT) | Q(submitted_at__isnull=False),
                name="claim_submitted_at_once_submitted",
            ),
            models.CheckConstraint(
                condition=~Q(state=ClaimState.APPROVED)
                | Q(first_approved_at__isnull=False, last_approved_at__isnull=False),
                name="claim_approved_has_approval_dates",
            ),
        ]
        indexes = [
            # Article reader: an article's claims in text order.
            models.Index(fields=["article", "start_offset"], name="claim_article_start_idx"),
            # Per-state counts and lists: a workspace's claims by state.
            models.Index(fields=["workspace", "state", "updated_at"], name="claim_ws_state_idx"),
            # Reviewer queue (selectors.queue_claims, services.claim_take_next): waiting
            # claims, oldest first. State and hold carried along, so the queue's counts and
            # the dashboard's queue chart (selectors_dashboard.queue_waits) read the index only.
            models.Index(
                fields=["workspace", "submitted_at", "id"],
                include=["state", "held_until"],
                condition=Q(state__in=[ClaimState.SUBMITTED, ClaimState.IN_REVIEW]),
                name="claim_queue_idx",
            ),
            # Dashboard (selectors_dashboard.verdict_weeks): the verdicts of the last weeks by
            # rating, and their times, from the index only.
            models.Index(
                fields=["workspace", "first_approved_at"],
                include=["rating", "created_at", "submitted_at", "last_approved_at"],
                condition=Q(state=ClaimState.APPROVED),
                name="claim_verdict_week_idx",
            ),
            # Verdict export and API: keyset pages over (updated_at, id) within a state.
            models.Index(fields=["workspace", "state", "updated_at", "id"], name="claim_export_idx"),
            # Take next (services.claim_take_next): the oldest submitted claim, read without
            # passing the claims already being reviewed.
            models.Index(
                fields=["workspace", "submitted_at", "id"],
                condition=Q(state=ClaimState.SUBMITTED),
                name="claim_waiting_idx",
            ),
            # Take next and the hold-expiry job: holds that ran out.
            models.Index(
                fields=["workspace", "held_until"],
                condition=Q(state=ClaimState.IN_REVIEW),
                name="claim_hold_expiry_idx",
            ),
            # "My claims": an author's claims by state.
            models.Index(fields=["created_by", "state"], name="claim_author_state_idx"),
            # Reviewer queue: approved claims whose article changed since the verdict.
            models.Index(
                fields=["workspace", "article_changed_at"],
                condition=Q(article_changed_at__isnull=False),
                name="claim_article_changed_idx",
            ),
        ]
        triggers = [
            pgtrigger.Trigger(
                name="claim_anchor_is_consistent",
                operation=pgtrigger.Insert | pgtrigger.Update,
                when=pgtrigger.Before,
                declare=[
                    ("version_article", "bigint"),
                    ("version_text", "text"),
                    ("article_workspace", "bigint"),
                    ("label_workspace", "bigint"),
                ],
                func=CLAIM_ANCHOR_CHECK,
            ),
            claim_state_change_trigger(transitions=TRANSITIONS.values()),
        ]

    def __str__(self) -> str:
        return self.claim_reviewed or self.exact[:80]


class Stance(models.TextChoices):
    SUPPORTS = "supports", "Supports the claim"
    REFUTES = "refutes", "Refutes the claim"
    CONTEXT = "context", "Gives context"


class LinkStatus(models.TextChoices):
    PENDING = "pending", "Not checked yet"
    OK = "ok", "Reachable"
    CHANGED = "changed", "Changed since the last check"
    BROKEN = "broken", "Broken"
    # Broken too, and said why: the host name does not resolve, or cannot be a host name.
    UNRESOLVABLE = "unresolvable", "Broken (host not found)"
    INVALID_HOST = "invalid_host", "Broken (invalid host name)"
    REFUSED = "refused", "Refused (unsafe address)"


# A source in one of these states flags its claim in the queue and on the claim page.
SOURCE_PROBLEMS = [
    LinkStatus.BROKEN, LinkStatus.UNRESOLVABLE, LinkStatus.INVALID_HOST, LinkStatus.CHANGED, LinkStatus.REFUSED,
]


class Source(models.Model):
    """Evidence for a claim's verdict."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="sources")
    url = models.URLField(max_length=2000)
    title = models.CharField(max_length=500, blank=True)
    publisher = models.CharField(max_length=200, blank=True)
    quote = models.TextField(blank=True)
    stance = models.CharField(max_length=10, choices=Stance.choices, default=Stance.CONTEXT)
    accessed_on = models.DateField(null=True, blank=True)
    archive_url = models.URLField(max_length=2000, blank=True)
    # The latest link check (history in SourceCheck); written by the link-check task.
    link_status = models.CharField(max_length=20, choices=LinkStatus.choices, default=LinkStatus.PENDING)
    link_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    link_final_url = models.URLField(max_length=2000, blank=True)
    link_title = models.CharField(max_length=500, blank=True)
    link_content_hash = models.CharField(max_length=64, blank=True)
    link_error = models.CharField(max_length=500, blank=True)
    link_checked_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["claim", "id"]
        indexes = [
            # Re-check job: sources checked longest ago first.
            models.Index(fields=["link_checked_at"], name="source_checked_idx"),
            # Queue and claim flags (selectors.with_source_problems): only the few sources
            # with a problem are in it, so the queue's EXISTS probe reads nothing else.
            models.Index(fields=["claim"], condition=Q(link_status__in=SOURCE_PROBLEMS), name="source_problem_idx"),
            # Dashboard (selectors_dashboard.sources_by_link_status): a desk's sources per
            # status, joined to its claims from the index only.
            models.Index(fields=["claim", "link_status"], name="source_claim_status_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(url=""), name="source_url_not_empty"),
            models.CheckConstraint(
                condition=Q(stance__in=Stance.values), name="source_stance_is_known"
            ),
        ]

    def __str__(self) -> str:
        return self.title or self.url


# Spans tables (the review and its claim), so it is a trigger. A reopen is recorded as a
# review too, and an admin may reopen a claim they wrote: that is a correction, not a review.
REVIEW_FOUR_EYES_CHECK = """
    IF EXISTS (
        SELECT 1 FROM annotations_claim c
         WHERE c.id = NEW.claim_id
           AND (c.created_by_id = NEW.reviewer_id OR c.last_edited_by_id = NEW.reviewer_id)) THEN
        RAISE EXCEPTION USING ERRCODE = '23514', CONSTRAINT = 'review_four_eyes',
            MESSAGE = 'Nobody reviews a claim they wrote or last edited.';
    END IF;
    RETURN NEW;
"""


class Review(models.Model):
    """A reviewer's decision on one revision of a claim."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews"
    )
    decision = models.CharField(max_length=20, choices=Decision.choices)
    comment = models.TextField(blank=True)
    claim_revision = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["claim", "created_at", "id"]
        indexes = [
            # Dashboard (selectors_dashboard.reviews_by_reviewer): the decisions of the last
            # 30 days, from the index only.
            models.Index(fields=["created_at"], include=["claim", "reviewer", "decision"], name="review_created_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(decision__in=Decision.values), name="review_decision_is_known"
            ),
            models.CheckConstraint(
                condition=Q(decision=Decision.APPROVE) | Q(comment__regex=r"\S"),
                name="review_comment_required_unless_approved",
            ),
        ]
        triggers = [
            pgtrigger.Trigger(
                name="review_four_eyes",
                operation=pgtrigger.Insert,
                when=pgtrigger.Before,
                condition=~pgtrigger.Q(new__decision=Decision.REOPEN),
                func=REVIEW_FOUR_EYES_CHECK,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} by {self.reviewer} on claim {self.claim_id}"


class AuditEvent(models.Model):
    """One recorded change, written only by the database trigger `factcheck_audit`.

    `hash` chains each event to the one before it (see `verify_audit`); the database
    refuses UPDATE, DELETE and TRUNCATE on this table, and the application role may only
    read it. Ids of workspaces, claims and actors are
    kept as plain numbers so the trail outlives what it describes.
    """

    occurred_at = models.DateTimeField()
    object_type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=40)
    action = models.CharField(max_length=60)
    workspace_id = models.BigIntegerField(null=True)
    claim_id = models.BigIntegerField(null=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    request = models.CharField(max_length=300)
    reason = models.TextField(blank=True)
    # The database role (session_user) whose session wrote the change. Only the
    # application role's word on `actor` and `request` is believed (migration 0020).
    db_role = models.CharField(max_length=63, blank=True, default="", db_default="")
    before = models.JSONField(null=True)
    after = models.JSONField(null=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["id"]
        indexes = [
            # Audit log page: a workspace's events, newest first, filtered by date range.
            models.Index(fields=["workspace_id", "-occurred_at"], name="audit_ws_time_idx"),
            # Audit log page: the actor filter.
            models.Index(fields=["actor", "-occurred_at"], name="audit_actor_time_idx"),
            # Claim timeline.
            models.Index(fields=["claim_id", "id"], name="audit_claim_idx"),
            # Audit log page: the object filter.
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
            # Audit log page: the action filter.
            models.Index(fields=["action", "-occurred_at"], name="audit_action_idx"),
        ]
        # Append-only, and no TRUNCATE: plain triggers of migration 0020, which no session
        # setting lifts (pgtrigger's `pgtrigger.ignore` would lift a pgtrigger.Protect).

    def __str__(self) -> str:
        return f"{self.action} #{self.object_id} at {self.occurred_at:%Y-%m-%d %H:%M}"

    @property
    def changes(self) -> list[tuple[str, object, object]]:
        """(field, before, after) for every field that changed, bookkeeping left out."""
        before, after = self.before or {}, self.after or {}
        skip = {"updated_at", "revision", "id"}
        return [
            (key, before.get(key), after.get(key))
            for key in sorted(set(before) | set(after))
            if key not in skip and before.get(key) != after.get(key)
        ]


class ApiToken(models.Model):
    """A personal API token. Only its sha256 is stored; the key is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=~Q(name=""), name="api_token_name_not_empty")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class ExportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    EXPIRED = "expired", "Expired"


class ExportJob(models.Model):
    """A verdict export written to a file by a Celery worker, for large exports."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="export_jobs")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    format = models.CharField(max_length=20)
    filters = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED)
    rows_total = models.PositiveIntegerField(null=True, blank=True)
    rows_done = models.PositiveIntegerField(default=0)
    file_name = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # Exports page and API list: a user's jobs in a workspace, newest first.
            models.Index(fields=["workspace", "requested_by", "-created_at"], name="export_ws_user_idx"),
            # Retention job: finished exports by age.
            models.Index(fields=["status", "finished_at"], name="export_status_finished_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ExportStatus.values), name="export_status_is_known"),
        ]

    def __str__(self) -> str:
        return f"{self.format} export #{self.pk} ({self.get_status_display()})"


class SourceCheck(models.Model):
    """One link check of a source. `token` is fixed when the check is enqueued, so a
    check delivered twice (a worker died after doing it) is recorded once."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="checks")
    token = models.CharField(max_length=40)
    status = models.CharField(max_length=20, choices=LinkStatus.choices)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    final_url = models.URLField(max_length=2000, blank=True)
    title = models.CharField(max_length=500, blank=True)
    content_hash = models.CharField(max_length=64, blank=True)
    error = models.CharField(max_length=500, blank=True)
    checked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["source", "-checked_at"]
        constraints = [models.UniqueConstraint(fields=["source", "token"], name="source_check_once_per_token")]

    def __str__(self) -> str:
        return f"{self.get_status_display()} check of source {self.source_id}"


class OutboxMessage(models.Model):
    """A task to enqueue, written in the same transaction as the change that needs it.

    Sent to the broker after commit; if the broker is down, the periodic drain (and the
    next successful send) delivers it later. Nothing is lost with Redis.
    """

    task = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            # Drain job and operations page: what is still waiting, oldest first.
            models.Index(fields=["id"], condition=Q(sent_at__isnull=True), name="outbox_pending_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.task} #{self.pk} ({'sent' if self.sent_at else 'waiting'})"


class NotificationSent(models.Model):
    """One e-mail sent, so a notification task that runs twice sends it once."""

    kind = models.CharField(max_length=40)
    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="+")
    revision = models.PositiveIntegerField()
    recipient = models.EmailField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "claim", "revision", "recipient"], name="notification_sent_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.recipient} for claim {self.claim_id} revision {self.revision}"


class MatchStatus(models.TextChoices):
    SUGGESTED = "suggested", "Suggested"
    CONFIRMED = "confirmed", "Confirmed"
    DISMISSED = "dismissed", "Dismissed"


class ClaimMatch(models.Model):
    """"Possibly the same claim as": another claim of the workspace, with a score."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="matches")
    other = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="+")
    score = models.FloatField()
    status = models.CharField(max_length=10, choices=MatchStatus.choices, default=MatchStatus.SUGGESTED)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["claim", "-score"]
        constraints = [
            # A dismissed pair stays dismissed: re-matching updates, never duplicates.
            models.UniqueConstraint(fields=["claim", "other"], name="claim_match_pair_unique"),
            models.CheckConstraint(condition=~Q(claim=F("other")), name="claim_match_not_self"),
            models.CheckConstraint(condition=Q(score__gte=0, score__lte=1), name="claim_match_score_range"),
        ]

    def __str__(self) -> str:
        return f"Claim {self.claim_id} may match claim {self.other_id} (score {self.score}, {self.status})"


class ClaimEmbedding(models.Model):
    """A claim's restatement as a sentence embedding (annotations/embeddings.py), for matching.

    Derived data, not on the audit trail: recomputed whenever the restatement's text
    (`text_sha256`) or the model differs. `vector` holds float32 values, unit length."""

    claim = models.OneToOneField(Claim, on_delete=models.CASCADE, primary_key=True, related_name="embedding")
    model = models.CharField(max_length=100)
    text_sha256 = models.CharField(max_length=64)
    vector = models.BinaryField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Embedding of claim {self.claim_id} ({self.model})"


class SuggestionDismissal(models.Model):
    """A suggested check-worthy sentence someone dismissed, for everyone on the desk: the
    reader stops suggesting [start, end) (code points) of that version."""

    version = models.ForeignKey(ArticleVersion, on_delete=models.CASCADE, related_name="dismissals")
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    dismissed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # One dismissal per sentence; the reader reads them by version (the unique index).
            models.UniqueConstraint(fields=["version", "start", "end"], name="dismissal_unique"),
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="dismissal_span_not_empty"),
        ]

    def __str__(self) -> str:
        return f"Dismissed suggestion {self.start}-{self.end} of version {self.version_id}"


class TaskFailure(models.Model):
    """A task that failed for good (after its retries), for the operations page."""

    task = models.CharField(max_length=200)
    task_id = models.CharField(max_length=200)
    args = models.TextField(blank=True)
    error = models.TextField()
    failed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-failed_at"]

    def __str__(self) -> str:
        return f"{self.task} [{self.task_id}]"


class PublicationKind(models.TextChoices):
    PUBLISHED = "published", "Published"
    CORRECTED = "corrected", "Corrected"  # a new record replacing the one in force
    WITHDRAWN = "withdrawn", "Withdrawn"  # a tombstone: the verdict was taken back


# A record says what it said when it was sent. Only `current` may change, and only from
# true to false (a newer record, or a withdrawal, replaced it); nothing is ever deleted.
PUBLICATION_IS_IMMUTABLE = """
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION USING ERRCODE = '23514', CONSTRAINT = 'publication_is_immutable',
            MESSAGE = 'Published records are never deleted.';
    END IF;
    IF (to_jsonb(NEW) - 'current') IS DISTINCT FROM (to_jsonb(OLD) - 'current') THEN
        RAISE EXCEPTION USING ERRCODE = '23514', CONSTRAINT = 'publication_is_immutable',
            MESSAGE = 'A published record is never changed; publish a new one.';
    END IF;
    IF NEW.current AND NOT OLD.current THEN
        RAISE EXCEPTION USING ERRCODE = '23514', CONSTRAINT = 'publication_is_immutable',
            MESSAGE = 'A replaced record is not put back in force; publish a new one.';
    END IF;
    RETURN NEW;
"""


# A record's feed position follows commit order, not start order: the number is drawn while
# holding the lock that also orders the audit chain (taken by every audited write, the
# claim's approval among them, and held until commit), so no transaction can draw a higher
# number and commit before a lower one is committed. A reader that has seen position N
# has seen every committed position below it; a rolled-back one leaves a gap, never a miss.
PUBLICATION_FEED_POSITION = """
    PERFORM pg_advisory_xact_lock(20151001);
    NEW.feed_position := nextval('annotations_publication_feed_position_seq');
    RETURN NEW;
"""


class Publication(models.Model):
    """A published record: a verdict exactly as approved, rendered once in every format it
    leaves the desk in. Exports, public pages and partners read these, never live rows.

    Its id is the publication number. A correction is a new record that replaces the one
    in force (`replaces`); a withdrawal is a tombstone. `snapshot` is what the public page
    shows; the four texts are sent byte for byte as stored.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="publications")
    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="publications")
    kind = models.CharField(max_length=10, choices=PublicationKind.choices)
    # The claim's record in force: at most one per claim; exports and public pages read these.
    current = models.BooleanField(default=False)
    replaces = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="replaced_by"
    )
    reason = models.TextField(blank=True)  # why it was corrected or withdrawn
    # For the export's filters; the record itself says the rest.
    article = models.ForeignKey(Article, on_delete=models.PROTECT, related_name="+")
    rating = models.ForeignKey(RatingLabel, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    date_published = models.DateTimeField()  # the verdict's first publication
    date_modified = models.DateTimeField()  # this record's
    snapshot = models.JSONField()
    jsonl = models.TextField(blank=True)
    csv = models.TextField(blank=True)
    claimreview = models.TextField(blank=True)
    w3c = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The change feed's order: given by the database at insert, in commit order (see
    # PUBLICATION_FEED_POSITION). Partners read the feed by it.
    feed_position = models.BigIntegerField(unique=True, null=True, editable=False)

    class Meta:
        ordering = ["id"]
        indexes = [
            # Exports (publishing.exports): a desk's records in force, in publication order.
            models.Index(fields=["workspace", "id"], condition=Q(current=True), name="publication_export_idx"),
            # Public index page: newest first.
            models.Index(fields=["workspace", "-date_modified"], condition=Q(current=True),
                         name="publication_newest_idx"),
            # A verdict's page: its records, oldest first (the corrections log).
            models.Index(fields=["claim", "id"], name="publication_claim_idx"),
            # Public index page's search over the restatement, claimant and quote of the
            # verdicts in force: the expression of publishing.selectors.publication_search_document.
            GinIndex(
                SearchVector(
                    models.fields.json.KeyTextTransform("claim_reviewed", "snapshot"),
                    models.fields.json.KeyTextTransform("claimant", "snapshot"),
                    models.fields.json.KeyTextTransform(
                        "exact", models.fields.json.KeyTransform("selectors", "snapshot")
                    ),
                    config="english",
                ),
                condition=Q(current=True),
                name="publication_search_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["claim"], condition=Q(current=True), name="publication_one_in_force"),
            models.CheckConstraint(condition=Q(kind__in=PublicationKind.values), name="publication_kind_is_known"),
            models.CheckConstraint(
                condition=~Q(kind=PublicationKind.WITHDRAWN, current=True), name="publication_withdrawal_not_in_force"
            ),
        ]
        triggers = [
            pgtrigger.Trigger(
                name="publication_feed_position",
                operation=pgtrigger.Insert,
                when=pgtrigger.Before,
                func=PUBLICATION_FEED_POSITION,
            ),
            pgtrigger.Trigger(
                name="publication_is_immutable",
                operation=pgtrigger.Update | pgtrigger.Delete,
                when=pgtrigger.Before,
                func=PUBLICATION_IS_IMMUTABLE,
            ),
        ]

    def __str__(self) -> str:
        return f"Publication {self.pk} ({self.kind}) of claim {self.claim_id}"


class RepublishJob(models.Model):
    """New records for verdicts in force whose text changed outside the claim (a label
    renamed, the desk's publisher name), written by a worker with progress."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=500)
    rating = models.ForeignKey(RatingLabel, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Republish {self.pk} of desk {self.workspace_id}: {self.rows_done}/{self.rows_total}"


class Partner(models.Model):
    """An organisation that republishes the desk's verdicts. Not a member: its keys read the
    desk's published records and feed, nothing else."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="partners")
    name = models.CharField(max_length=200)
    contact_email = models.EmailField(max_length=254)
    note = models.TextField(blank=True)
    # DRF's rate syntax ("600/min"); annotations.api.partner.PartnerKeyThrottle reads it.
    throttle_rate = models.CharField(max_length=20, default="600/min")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.CheckConstraint(condition=~Q(name=""), name="partner_name_not_empty")]

    def __str__(self) -> str:
        return self.name


class PartnerKey(models.Model):
    """A partner's API key. Only its sha256 is stored; the key is shown once. A rotated key
    keeps working until `expires_at`, so the partner can switch without a gap."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="keys")
    prefix = models.CharField(max_length=12)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.prefix}… of {self.partner_id}"


class PartnerDailyUsage(models.Model):
    """Requests a key made on one day (UTC), counted with an upsert on every request."""

    key = models.ForeignKey(PartnerKey, on_delete=models.CASCADE, related_name="usage")
    day = models.DateField()
    requests = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "day"], name="partner_usage_one_row_per_day")]

    def __str__(self) -> str:
        return f"{self.requests} requests by key {self.key_id} on {self.day}"


class WebhookEndpoint(models.Model):
    """Where a partner wants the desk's feed events POSTed, signed per Standard Webhooks.
    The secret must be kept to sign; it is shown once, when the endpoint is created."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=100)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=500, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    # The feed position of the last event the endpoint answered 2xx to; the next delivery
    # starts after it.
    last_position = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.url} of partner {self.partner_id}"


class WebhookDelivery(models.Model):
    """One attempt to deliver one event to one endpoint: the delivery log."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    feed_position = models.BigIntegerField()
    publication = models.ForeignKey(Publication, on_delete=models.CASCADE, related_name="+")
    # The same for every attempt at the same event, so a receiver can drop duplicates.
    webhook_id = models.CharField(max_length=100)
    attempt = models.PositiveIntegerField(default=1)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True)
    error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        # The delivery log of an endpoint, newest first.
        indexes = [models.Index(fields=["endpoint", "-id"], name="webhook_delivery_log_idx")]

    def __str__(self) -> str:
        return f"{self.webhook_id} attempt {self.attempt}"


class BulkJob(models.Model):
    """A bulk action on more claims than a request should carry (services/bulk.py), run by
    a Celery worker in batches; each batch commits, so `done` and `failures` show progress
    and a retry goes on from the first batch not done."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="bulk_jobs")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    action = models.CharField(max_length=30)
    params = models.JSONField(default=dict, blank=True)
    # [[claim id, revision or null], ...] as selected.
    items = models.JSONField(default=list)
    status = models.CharField(max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    applied = models.PositiveIntegerField(default=0)
    # [{"id": claim id, "error": why}, ...]
    failures = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "requested_by", "-created_at"], name="bulk_ws_user_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ExportStatus.values), name="bulk_status_is_known"),
        ]

    def __str__(self) -> str:
        return f"bulk {self.action} #{self.pk} ({self.get_status_display()})"


class AssignmentKind(models.TextChoices):
    ARTICLE = "article", "Article"
    CLAIM = "claim", "Claim"


class Assignment(models.Model):
    """Who checks what by when (services/assignments.py): an article given to an annotator,
    or a submitted claim given to a reviewer. Open while done_at is empty; a claim has at
    most one open assignment, an article one per annotator. Audited (migration 0026), and a
    claim's assignments are on its timeline (the audit trigger reads claim_id)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="assignments")
    kind = models.CharField(max_length=10, choices=AssignmentKind.choices)
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="assignments")
    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, null=True, blank=True, related_name="assignments")
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments")
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    due_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=AssignmentKind.values), name="assignment_kind_is_known"),
            models.CheckConstraint(
                condition=(Q(kind=AssignmentKind.CLAIM, claim__isnull=False)
                           | Q(kind=AssignmentKind.ARTICLE, claim__isnull=True)),
                name="assignment_kind_matches_target",
            ),
            models.UniqueConstraint(
                fields=["claim"], condition=Q(done_at__isnull=True, kind=AssignmentKind.CLAIM),
                name="assignment_one_open_per_claim",
            ),
            models.UniqueConstraint(
                fields=["article", "assignee"], condition=Q(done_at__isnull=True, kind=AssignmentKind.ARTICLE),
                name="assignment_one_open_per_article_assignee",
            ),
        ]
        indexes = [
            # "Assigned to you" (My claims, the queue, take-next): open work of one person.
            models.Index(fields=["assignee", "due_at"], condition=Q(done_at__isnull=True),
                         name="assignment_open_assignee_idx"),
            # The desk's list and its overdue filter, the dashboard and the digest.
            models.Index(fields=["workspace", "due_at"], condition=Q(done_at__isnull=True),
                         name="assignment_open_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} assignment #{self.pk}"


class AssignmentDigest(models.Model):
    """One row per person and day a digest of overdue work was sent (tasks.assignment_digest):
    a retry, or a second run the same day, finds the row and sends nothing."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "day"], name="assignment_digest_once_a_day")]

    def __str__(self) -> str:
        return f"digest for user {self.user_id} on {self.day}"
