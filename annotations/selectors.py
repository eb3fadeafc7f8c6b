"""Every read of the desk that is more than a get(): querysets built for their page."""

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    prefetch_related_objects,
)
from django.db.models.functions import Coalesce
from django.urls import reverse

from annotations.anchoring import word_diff
from annotations.models import (
    SOURCE_PROBLEMS,
    AnchorStatus,
    Article,
    ArticleVersion,
    Assignment,
    AssignmentKind,
    AuditEvent,
    Claim,
    ClaimState,
    ExportJob,
    Membership,
    Publication,
    RatingLabel,
    RatingScale,
    RepublishJob,
    Review,
    Source,
    SuggestionDismissal,
    Workspace,
)
from annotations.rendering import Mark, render_claim_items, render_highlights

UNRATED_COLOR = "#9a6700"
SEARCH_CONFIG = "english"


def _latest_version_number():
    return ArticleVersion.objects.filter(article=OuterRef("pk")).order_by("-number").values("number")[:1]


def article_list(*, workspace: Workspace | None = None) -> QuerySet[Article]:
    """Articles with their latest version number and claim count, newest first.

    Subqueries rather than joins, so counts don't multiply and a page costs one query.
    """
    claims = (
        Claim.objects.filter(article=OuterRef("pk"))
        .order_by()
        .values("article")
        .annotate(n=Count("pk"))
        .values("n")
    )
    qs = Article.objects.annotate(
        latest_version=Subquery(_latest_version_number(), output_field=IntegerField()),
        claim_count=Coalesce(Subquery(claims, output_field=IntegerField()), 0),
    )
    if workspace is not None:
        qs = qs.filter(workspace=workspace)
    return qs.order_by("-created_at", "-id")


def article_search(
    *, workspace: Workspace, q: str = "", has_claims: bool = False, has_drafts: bool = False, publisher: str = ""
) -> QuerySet[Article]:
    """The articles page: full-text search over title and current text, filters, and
    per-state claim counts, in one query."""
    state_counts = {
        f"n_{state}": Count("claims", filter=Q(claims__state=state)) for state in ClaimState.values
    }
    qs = (
        Article.objects.filter(workspace=workspace)
        .annotate(
            latest_version=Subquery(_latest_version_number(), output_field=IntegerField()),
            claim_count=Count("claims"),
            **state_counts,
        )
        .order_by("-created_at", "-id")
    )
    if q.strip():
        query = SearchQuery(q, search_type="websearch", config=SEARCH_CONFIG)
        # Uses the GIN index on the version text (version_text_search_idx).
        text_hit = ArticleVersion.objects.annotate(
            doc=SearchVector("text", config=SEARCH_CONFIG)
        ).filter(article=OuterRef("pk"), number=OuterRef("latest_version"), doc=query)
        qs = qs.annotate(title_doc=SearchVector("title", config=SEARCH_CONFIG)).filter(
            Q(title_doc=query) | Exists(text_hit)
        )
    if has_claims:
        qs = qs.filter(claim_count__gt=0)
    if has_drafts:
        qs = qs.filter(Exists(Claim.objects.filter(article=OuterRef("pk"), state=ClaimState.DRAFT)))
    if publisher.strip():
        qs = qs.filter(publisher=publisher.strip())
    return qs


def article_publishers(*, workspace: Workspace) -> list[str]:
    return list(
        Article.objects.filter(workspace=workspace)
        .exclude(publisher="")
        .order_by("publisher")
        .values_list("publisher", flat=True)
        .distinct()
    )


def workspace_list_for_user(*, user) -> QuerySet[Workspace]:
    """The user's workspaces, each with its articles prefetched: two queries in all."""
    return (
        Workspace.objects.filter(memberships__user=user)
        .annotate(
            role=Subquery(
                Membership.objects.filter(workspace=OuterRef("pk"), user=user).values("role")[:1]
            )
        )
        .prefetch_related(Prefetch("articles", queryset=article_list()))
        .order_by("name")
    )


def article_latest_version(*, article: Article) -> ArticleVersion | None:
    return article.versions.order_by("-number").first()


def article_titles(*, workspace: Workspace) -> QuerySet[Article]:
    """For filter menus: the desk's articles by title, with nothing else read."""
    return Article.objects.filter(workspace=workspace).order_by("title").only("id", "title")


def rating_labels(*, workspace: Workspace) -> QuerySet[RatingLabel]:
    """The desk's scale in its order."""
    return RatingLabel.objects.filter(scale__workspace=workspace).order_by("position")


def workspace_users(*, workspace: Workspace):
    """The people of a desk, by username: for author and actor filters."""
    return get_user_model().objects.filter(memberships__workspace=workspace).order_by("username")


def membership_list(*, workspace: Workspace) -> QuerySet[Membership]:
    return Membership.objects.filter(workspace=workspace).select_related("user").order_by("user__username")


def claim_sources(*, claim: Claim) -> QuerySet[Source]:
    return Source.objects.filter(claim=claim).order_by("id")


def claim_reviews(*, claim: Claim) -> QuerySet[Review]:
    return Review.objects.filter(claim=claim).select_related("reviewer").order_by("created_at", "id")


def export_jobs(*, user, workspace: Workspace) -> QuerySet[ExportJob]:
    """The user's own export jobs in a desk, newest first (export_ws_user_idx)."""
    return ExportJob.objects.filter(workspace=workspace, requested_by_id=user.pk).order_by("-created_at", "-id")


def republish_jobs(*, workspace: Workspace) -> QuerySet[RepublishJob]:
    """The desk's republishing jobs, newest first: the publishing settings page."""
    return RepublishJob.objects.filter(workspace=workspace).order_by("-created_at", "-id")


def publications_in_force_count(*, workspace: Workspace) -> int:
    """How many of the desk's verdicts are published now (publication_export_idx)."""
    return Publication.objects.filter(workspace=workspace, current=True).count()


def audit_actions(*, workspace: Workspace) -> QuerySet:
    """The actions that occur in a desk's audit trail, for the action filter."""
    return (
        AuditEvent.objects.filter(workspace_id=workspace.pk)
        .order_by("action").values_list("action", flat=True).distinct()
    )


# --- What the API lists and shows ---------------------------------------------------------

def rating_scales_for_api(*, scales: QuerySet[RatingScale]) -> QuerySet[RatingScale]:
    """Scales with their desk and labels: two queries for any number of scales."""
    return scales.select_related("workspace").prefetch_related(
        Prefetch("labels", queryset=RatingLabel.objects.order_by("position"))
    )


def articles_for_api(*, articles: QuerySet[Article]) -> QuerySet[Article]:
    """Articles with their desk, latest version number and claim count (0 when none)."""
    claims = (
        Claim.objects.filter(article=OuterRef("pk")).order_by().values("article").annotate(n=Count("pk")).values("n")
    )
    return articles.select_related("workspace").annotate(
        latest_version=Subquery(_latest_version_number(), output_field=IntegerField()),
        claim_count=Coalesce(Subquery(claims, output_field=IntegerField()), 0),
    )


def claims_for_api(*, claims: QuerySet[Claim]) -> QuerySet[Claim]:
    """Claims with what ClaimSerializer shows.

    The claim query joins nothing: each related table is read by id in a query of its
    own. At 100k claims Postgres spent 20-40 ms just planning the eight-table join
    (the claim table has many indexes); these small queries plan in microseconds, and
    their tables are small (a desk's people, labels and articles' versions by id).
    """
    people = get_user_model().objects.only("id", "username")
    return claims.prefetch_related(
        "workspace",
        Prefetch("version", queryset=ArticleVersion.objects.only("id", "sha256")),
        "rating",
        Prefetch("created_by", queryset=people),
        Prefetch("last_edited_by", queryset=people),
        Prefetch("held_by", queryset=people),
        Prefetch("sources", queryset=Source.objects.order_by("id")),
    )


# The claim columns a list of the API shows, read as plain rows.
CLAIM_ROW_FIELDS = (
    "id", "workspace_id", "article_id", "version_id", "exact", "prefix", "suffix", "start_offset", "end_offset",
    "anchor_status", "anchor_score", "anchor_previous_exact", "article_changed_at", "claim_reviewed", "claimant",
    "claim_date", "rating_id", "rationale", "state", "revision", "created_by_id", "last_edited_by_id", "submitted_at",
    "held_by_id", "held_until", "first_approved_at", "last_approved_at", "created_at", "updated_at",
)
SOURCE_ROW_FIELDS = (
    "id", "claim_id", "url", "title", "publisher", "quote", "stance", "accessed_on", "archive_url",
    "created_at", "updated_at",
)


def claim_rows_for_api(*, rows: list[dict]) -> list[dict]:
    """A page of claim rows (CLAIM_ROW_FIELDS) with what the API shows beside them:
    their desks' slugs, versions' sha256, ratings' names, people's usernames and their
    sources. Plain rows, not model instances, and five small queries whatever the page
    size: at 100 claims a page, building model instances was most of the list's time."""
    if not rows:
        return rows
    slugs = dict(Workspace.objects.filter(pk__in={r["workspace_id"] for r in rows}).values_list("id", "slug"))
    hashes = dict(ArticleVersion.objects.filter(pk__in={r["version_id"] for r in rows}).values_list("id", "sha256"))
    ratings = dict(
        RatingLabel.objects.filter(pk__in={r["rating_id"] for r in rows if r["rating_id"]}).values_list("id", "name")
    )
    people = {r[k] for r in rows for k in ("created_by_id", "last_edited_by_id", "held_by_id") if r[k]}
    usernames = dict(get_user_model().objects.filter(pk__in=people).values_list("id", "username"))
    sources: dict[int, list[dict]] = {r["id"]: [] for r in rows}
    for source in Source.objects.filter(claim_id__in=sources).order_by("claim_id", "id").values(*SOURCE_ROW_FIELDS):
        sources[source["claim_id"]].append(source)
    for r in rows:
        r["workspace_slug"] = slugs[r["workspace_id"]]
        r["version_sha256"] = hashes[r["version_id"]]
        r["rating_name"] = ratings.get(r["rating_id"])
        r["created_by_username"] = usernames[r["created_by_id"]]
        r["last_edited_by_username"] = usernames[r["last_edited_by_id"]]
        r["held_by_username"] = usernames.get(r["held_by_id"])
        r["sources"] = sources[r["id"]]
    return rows


def claim_with_sources(*, claim: Claim) -> Claim:
    """Add the sources to a claim already read (one query), for showing it whole."""
    prefetch_related_objects([claim], Prefetch("sources", queryset=Source.objects.order_by("id")))
    return claim


def claims_none() -> QuerySet[Claim]:
    return Claim.objects.none()


@dataclass
class Reader:
    version: ArticleVersion
    claims: list[Any]
    orphans: list[Claim]
    html: str
    panel_html: str


def article_reader(*, article: Article) -> Reader | None:
    """The article page: current text with every claim highlighted, and the orphans.

    Three queries whatever the number of claims: version, claims, orphans.
    """
    version = article_latest_version(article=article)
    if version is None:
        return None
    # Plain rows, not model instances: at 1,000 claims building models was a third
    # of the page's time. Only what the highlights and the panel show is read.
    on_version = list(
        Claim.objects.filter(article=article, version=version)
        .order_by("start_offset", "end_offset", "id")
        .values(
            "id", "start_offset", "end_offset", "exact", "claim_reviewed", "rationale", "state",
            "anchor_status", "anchor_score", "rating__name", "rating__color",
            "created_by__username", "created_by__first_name", "created_by__last_name",
        )
    )
    # With the orphans: claims whose words changed meaning (anchoring.py), each with its
    # word diff, until a person confirms the new position or re-attaches them.
    orphans: list[Any] = list(
        Claim.objects.filter(
            (Q(anchor_status=AnchorStatus.ORPHANED) & ~Q(version=version)) | Q(anchor_status=AnchorStatus.CHANGED),
            article=article,
        )
        .select_related("rating", "created_by", "version")
        .order_by("created_at")
    )
    for claim in orphans:
        if claim.anchor_status == AnchorStatus.CHANGED:
            claim.word_diff = word_diff(claim.anchor_previous_exact, claim.exact)
    marks = [
        Mark(c["id"], c["start_offset"], c["end_offset"], c["rating__color"] or UNRATED_COLOR, c["state"])
        for c in on_version
    ]
    panel = render_claim_items(
        on_version,
        edit_url_template=reverse("claim_edit", args=[article.workspace.slug, 0]),
        unrated_color=UNRATED_COLOR,
    )
    return Reader(version, on_version, orphans, render_highlights(version.text, marks), panel)


def suggestion_dismissed_spans(*, version: ArticleVersion) -> set[tuple[int, int]]:
    """The suggested sentences someone on the desk dismissed on this version, as (start,
    end) offsets (services/suggestions.py): one query, on the dismissals' unique index."""
    return set(SuggestionDismissal.objects.filter(version=version).values_list("start", "end"))


# What a queue row shows besides the claim, each read by id in a small query of its own
# rather than joined (a join of many tables costs Postgres more to plan than to run).
_QUEUE_ROW_PARTS = (
    Prefetch("article", queryset=Article.objects.only("id", "title")),
    "rating",
    Prefetch("created_by", queryset=get_user_model().objects.only("id", "username", "first_name", "last_name")),
)


def queue_claims(*, workspace: Workspace, reviewer, article_id=None, rating_id=None, author_id=None):
    """The reviewer queue: claims waiting (or whose hold ran out), oldest first, with
    what the queue shows. Uses claim_queue_idx. Whether a new version of the article
    changed or removed a claim's quote since it was submitted is its own anchor_status
    (with anchor_previous_exact), read with the claim: no query more."""
    from django.utils import timezone

    now = timezone.now()
    # Assigned to the reviewer first ("assigned to you", with the due date), in the same query.
    assigned = _open_claim_assignment()
    qs = (
        Claim.objects.filter(workspace=workspace)
        .filter(Q(state=ClaimState.SUBMITTED) | Q(state=ClaimState.IN_REVIEW, held_until__lt=now))
        .prefetch_related(*_QUEUE_ROW_PARTS)
        .annotate(assigned_to_id=Subquery(assigned.values("assignee_id")[:1]),
                  assigned_due_at=Subquery(assigned.values("due_at")[:1]))
        .annotate(assigned_to_me=Case(When(assigned_to_id=getattr(reviewer, "pk", None) or 0, then=Value(0)),
                                      default=Value(1), output_field=IntegerField()))
        .order_by("assigned_to_me", "submitted_at", "id")
    )
    if article_id:
        qs = qs.filter(article_id=article_id)
    if rating_id:
        qs = qs.filter(rating_id=rating_id)
    if author_id:
        qs = qs.filter(created_by_id=author_id)
    return with_source_problems(qs)


def _open_claim_assignment() -> QuerySet[Assignment]:
    return Assignment.objects.filter(claim_id=OuterRef("pk"), kind=AssignmentKind.CLAIM, done_at__isnull=True)


def my_assignments(*, workspace: Workspace, user) -> list[Assignment]:
    """Open work given to the user on this desk, soonest due first (assignment_open_assignee_idx):
    articles, and claims still waiting for review or in review."""
    return list(
        Assignment.objects.filter(workspace=workspace, assignee_id=user.pk, done_at__isnull=True)
        .filter(Q(kind=AssignmentKind.ARTICLE)
                | Q(claim__state__in=[ClaimState.SUBMITTED, ClaimState.IN_REVIEW]))
        .select_related("article", "claim", "assigned_by")
        .only("id", "kind", "due_at", "note", "workspace_id", "article__id", "article__title",
              "claim__id", "claim__exact", "claim__claim_reviewed", "claim__state",
              "assigned_by__id", "assigned_by__username", "assigned_by__first_name", "assigned_by__last_name")
        .order_by(F("due_at").asc(nulls_last=True), "id")
    )


def open_assignments(*, workspace: Workspace) -> QuerySet[Assignment]:
    """The desk's open assignments (an article's, or a claim's still waiting or in review)."""
    return Assignment.objects.filter(workspace=workspace, done_at__isnull=True).filter(
        Q(kind=AssignmentKind.ARTICLE) | Q(claim__state__in=[ClaimState.SUBMITTED, ClaimState.IN_REVIEW]))


def overdue_assignments(*, workspace: Workspace, now=None) -> QuerySet[Assignment]:
    """Open assignments past their due date, most overdue first (assignment_open_due_idx)."""
    from django.utils import timezone

    return (
        open_assignments(workspace=workspace).filter(due_at__lt=now or timezone.now())
        .select_related("assignee", "article", "claim").order_by("due_at", "id")
    )


def assignments_for_list(*, assignments: QuerySet[Assignment], assignee_id=None, overdue=None) -> QuerySet[Assignment]:
    """The API's list: filtered by assignee and by overdue (yes/no)."""
    from django.utils import timezone

    if assignee_id:
        assignments = assignments.filter(assignee_id=assignee_id)
    if overdue is True:
        assignments = assignments.filter(done_at__isnull=True, due_at__lt=timezone.now())
    elif overdue is False:
        assignments = assignments.exclude(done_at__isnull=True, due_at__lt=timezone.now())
    return assignments.select_related("workspace", "assignee", "assigned_by").order_by(
        F("due_at").asc(nulls_last=True), "id")


def article_assignments(*, article: Article) -> list[Assignment]:
    return list(Assignment.objects.filter(article=article, done_at__isnull=True)
                .select_related("assignee", "claim").order_by(F("due_at").asc(nulls_last=True), "id"))


def claim_assignment(*, claim: Claim) -> Assignment | None:
    return (Assignment.objects.filter(claim=claim, kind=AssignmentKind.CLAIM, done_at__isnull=True)
            .select_related("assignee").first())


def assignable_people(*, workspace: Workspace, kind: str) -> QuerySet[Membership]:
    """Who an admin may give this kind of work: annotators for articles, reviewers and admins for claims."""
    roles = ["annotator"] if kind == AssignmentKind.ARTICLE else ["reviewer", "admin"]
    return Membership.objects.filter(workspace=workspace, role__in=roles).select_related("user").order_by(
        "user__username")


def queue_article_changed(*, workspace: Workspace) -> list[Claim]:
    """Approved claims whose article changed since the verdict (a `changed` move or an
    orphan), longest waiting first, with their article (claim_article_changed_idx)."""
    return list(
        Claim.objects.filter(workspace=workspace, article_changed_at__isnull=False, state=ClaimState.APPROVED)
        .select_related("article", "rating")
        .only("id", "exact", "claim_reviewed", "state", "revision", "anchor_status", "anchor_previous_exact",
              "article_changed_at", "workspace_id", "created_by_id", "last_edited_by_id",
              "article__id", "article__title", "rating__id", "rating__name")
        .order_by("article_changed_at", "id")
    )


def queue_counts(*, workspace: Workspace, reviewer) -> dict:
    from django.utils import timezone

    now = timezone.now()
    # Only the claims the queue can hold are read (claim_queue_idx), not the whole desk.
    return Claim.objects.filter(
        workspace=workspace, state__in=[ClaimState.SUBMITTED, ClaimState.IN_REVIEW]
    ).aggregate(
        waiting=Count("pk", filter=Q(state=ClaimState.SUBMITTED) | Q(state=ClaimState.IN_REVIEW, held_until__lt=now)),
        in_review=Count("pk", filter=Q(state=ClaimState.IN_REVIEW, held_until__gte=now)),
        mine=Count("pk", filter=Q(state=ClaimState.IN_REVIEW, held_by=reviewer)),
    )


def claims_in_review(*, workspace: Workspace) -> list[Claim]:
    """The claims someone is reviewing now (hold not run out), whose hold ends first first,
    with who holds them and their article (claim_hold_expiry_idx)."""
    from django.utils import timezone

    return list(
        Claim.objects.filter(workspace=workspace, state=ClaimState.IN_REVIEW, held_until__gte=timezone.now())
        .select_related("held_by", "article")
        .only("id", "exact", "claim_reviewed", "state", "held_until", "submitted_at", "workspace_id",
              "anchor_status", "anchor_previous_exact",  # "Article changed since it was submitted"
              "held_by__id", "held_by__username", "held_by__first_name", "held_by__last_name",
              "article__id", "article__title")
        .order_by("held_until", "id")
    )


def claims_held_by(*, workspace: Workspace, reviewer):
    return (
        Claim.objects.filter(workspace=workspace, state=ClaimState.IN_REVIEW, held_by=reviewer)
        .order_by("held_until")
    )


# "Needs changes" first, then drafts, then what waits on others, then the decided.
MY_CLAIMS_ORDER = [
    ClaimState.CHANGES_REQUESTED, ClaimState.DRAFT, ClaimState.SUBMITTED, ClaimState.IN_REVIEW,
    ClaimState.APPROVED, ClaimState.REJECTED,
]


def my_claims(*, workspace: Workspace, user) -> list[tuple[str, list[Claim]]]:
    """The author's claims grouped by state, each with its latest review comment."""
    from annotations.models import Review

    latest_review = Review.objects.filter(claim=OuterRef("pk")).order_by("-created_at", "-id")
    claims = (
        Claim.objects.filter(workspace=workspace, created_by=user)
        .select_related("article", "rating")
        .annotate(
            last_comment=Subquery(latest_review.values("comment")[:1]),
            last_decision=Subquery(latest_review.values("decision")[:1]),
        )
        .order_by("-updated_at")
    )
    groups: dict[str, list[Claim]] = {state: [] for state in MY_CLAIMS_ORDER}
    for claim in claims:
        groups[claim.state].append(claim)
    labels = dict(ClaimState.choices)
    return [(labels[state], groups[state]) for state in MY_CLAIMS_ORDER if groups[state]]


def my_claims_rows(*, workspace: Workspace, user) -> QuerySet[Claim]:
    """The author's claims of the desk, newest change first (the CSV of "My claims")."""
    return Claim.objects.filter(workspace=workspace, created_by=user).order_by("-updated_at", "-id")


def claim_timeline(*, claim: Claim) -> list:
    """Every audit event of the claim, its sources and its reviews, oldest first, in words
    (annotations.history.Entry): three queries, the events and the names they mention."""
    from annotations import history
    from annotations.models import AuditEvent

    events = list(AuditEvent.objects.filter(claim_id=claim.pk).order_by("id"))
    return history.describe(events, workspace_id=claim.workspace_id)


def people_by_id(*, ids) -> dict[int, Any]:
    """Users by id, with only their names read: for histories naming many people."""
    users = get_user_model().objects.filter(pk__in=list(ids)).only("id", "username", "first_name", "last_name")
    return {user.pk: user for user in users}


def rating_names_by_id(*, workspace_id: int | None, ids) -> dict[int, str]:
    """Names of the desk's rating labels by id (a label of another desk is not named)."""
    if workspace_id is None:
        return {}
    labels = RatingLabel.objects.filter(pk__in=list(ids), scale__workspace_id=workspace_id)
    return dict(labels.values_list("id", "name"))


def claim_changes_since_last_review(*, claim: Claim) -> list[tuple[str, object, object]]:
    """(field, at last review, now) for what the author changed since the last decision."""
    from annotations.models import AuditEvent

    last = claim.reviews.exclude(decision="approve").order_by("-created_at", "-id").first()
    if last is None:
        return []
    review_event = (
        AuditEvent.objects.filter(object_type="review", object_id=str(last.pk))
        .values_list("id", flat=True)
        .first()
    )
    if review_event is None:
        return []
    snapshot = (
        AuditEvent.objects.filter(object_type="claim", object_id=str(claim.pk), id__lt=review_event)
        .exclude(after=None)
        .order_by("-id")
        .values_list("after", flat=True)
        .first()
    )
    if not snapshot:
        return []
    fields = ["exact", "claim_reviewed", "claimant", "claim_date", "rating_id", "rationale"]
    now = {
        "exact": claim.exact, "claim_reviewed": claim.claim_reviewed, "claimant": claim.claimant,
        "claim_date": claim.claim_date.isoformat() if claim.claim_date else None,
        "rating_id": claim.rating_id, "rationale": claim.rationale,
    }
    return [(f, snapshot.get(f), now[f]) for f in fields if snapshot.get(f) != now[f]]


def audit_log(*, workspace: Workspace, actor_id=None, action="", object_type="", object_id="", since=None, until=None):
    from annotations.models import AuditEvent

    qs = AuditEvent.objects.filter(workspace_id=workspace.pk).select_related("actor").order_by("-occurred_at", "-id")
    if actor_id:
        qs = qs.filter(actor_id=actor_id)
    if action:
        qs = qs.filter(action=action)
    if object_type:
        qs = qs.filter(object_type=object_type)
    if object_id:
        qs = qs.filter(object_id=str(object_id))
    if since:
        qs = qs.filter(occurred_at__date__gte=since)
    if until:
        qs = qs.filter(occurred_at__date__lte=until)
    return qs


def audit_log_page(events: QuerySet, *, before: int | None = None, after: int | None = None, size: int = 50):
    """A page of audit events, newest first, by keyset on id: `before` an id gives the page
    of older events, `after` an id the page of newer ones; no count, no offset.
    Returns (events, newer, older): the cursors of the pages on either side, or None."""
    if after is not None:
        rows = list(events.filter(pk__gt=after).order_by("id")[:size + 1])
        more_newer = len(rows) > size
        rows = rows[:size][::-1]
        return rows, (rows[0].pk if rows and more_newer else None), (rows[-1].pk if rows else None)
    if before is not None:
        events = events.filter(pk__lt=before)
    rows = list(events.order_by("-id")[:size + 1])
    more_older = len(rows) > size
    rows = rows[:size]
    return rows, (rows[0].pk if rows and before is not None else None), (rows[-1].pk if rows and more_older else None)


def desk_nav(*, user, slug: str) -> "DeskNav":
    """The top bar of a desk page, in one query: the user's desks with their role, the
    queue's waiting count of the current desk (reviewers and admins), and the time zone
    the pages show times in (the user's own, else the desk's)."""
    from django.conf import settings
    from django.db.models import Case, When
    from django.utils import timezone

    from annotations.models import Profile, Role

    now = timezone.now()
    waiting = (
        Claim.objects.filter(workspace=OuterRef("workspace_id"))
        .filter(Q(state=ClaimState.SUBMITTED) | Q(state=ClaimState.IN_REVIEW, held_until__lt=now))
        .order_by().values("workspace").annotate(n=Count("pk")).values("n")
    )
    rows = list(
        Membership.objects.filter(user_id=user.pk).select_related("workspace")
        .annotate(
            waiting=Case(
                When(workspace__slug=slug, role__in=[Role.REVIEWER, Role.ADMIN],
                     then=Coalesce(Subquery(waiting, output_field=IntegerField()), 0)),
                default=None, output_field=IntegerField(),
            ),
            own_time_zone=Subquery(Profile.objects.filter(user_id=OuterRef("user_id")).values("time_zone")[:1]),
        )
        .order_by("workspace__name", "workspace_id")
    )
    desks = []
    current = None
    own = ""
    for row in rows:
        desk: Any = row.workspace
        desk.role = row.role
        desk.waiting = row.waiting
        own = row.own_time_zone or ""
        desks.append(desk)
        if desk.slug == slug:
            current = desk
    zone = own or (current.time_zone if current is not None else "") or settings.TIME_ZONE
    return DeskNav(desks=desks, current=current, time_zone=zone, own_time_zone=own)


def own_time_zone(*, user) -> str:
    """The time zone the user chose on their profile, or "" (each desk's own)."""
    from annotations.models import Profile

    return Profile.objects.filter(user_id=user.pk).values_list("time_zone", flat=True).first() or ""


def desks_administered(*, user) -> QuerySet[Workspace]:
    """The desks the user is an admin of, by name: the profile page sets their time zones."""
    from annotations.models import Role

    return Workspace.objects.filter(memberships__user_id=user.pk, memberships__role=Role.ADMIN).order_by("name")


@dataclass
class DeskNav:
    desks: list[Workspace]  # each with .role (and .waiting for the current one)
    current: Workspace | None
    time_zone: str  # the zone the page shows times in
    own_time_zone: str  # the one the user chose, or ""


def claim_matches(*, claim: Claim):
    """"Possibly the same claim as ...": open and confirmed suggestions, best first, each
    with .reason (shared words, same claimant: annotations/matching.py)."""
    from annotations import embeddings, matching
    from annotations.models import ClaimEmbedding, ClaimMatch, MatchStatus

    mine = ClaimEmbedding.objects.filter(claim_id=OuterRef("claim_id"), model=embeddings.MODEL)
    queryset = (
        ClaimMatch.objects.filter(claim=claim)
        .exclude(status=MatchStatus.DISMISSED)
        # Both restatements' embeddings, in the same query: "close in meaning" in the reason.
        .select_related("other__article", "other__rating", "other__embedding")
        .annotate(mine_vector=Subquery(mine.values("vector")[:1]), mine_digest=Subquery(mine.values("text_sha256")[:1]))
        .order_by("-score")
    )

    def similarity(m) -> float | None:
        theirs = getattr(m.other, "embedding", None)
        if not embeddings.available() or theirs is None or theirs.model != embeddings.MODEL:
            return None
        mine = embeddings.fresh(claim.claim_reviewed, m.mine_vector, m.mine_digest)
        other = embeddings.fresh(m.other.claim_reviewed, theirs.vector, theirs.text_sha256)
        return None if mine is None or other is None else embeddings.cosine(mine, other)

    class Matches:  # read when the page first uses it, like the queryset it wraps
        rows: list | None = None

        def _rows(self) -> list:
            if self.rows is None:
                self.rows = list(queryset)
                for m in self.rows:
                    m.reason = matching.reason(claim, m.other, similarity=similarity(m))
            return self.rows

        def __iter__(self):
            return iter(self._rows())

        def __len__(self) -> int:
            return len(self._rows())

        def __bool__(self) -> bool:
            return bool(self._rows())

    return Matches()


def with_source_problems(qs):
    """Annotate claims with whether any of their sources is broken, changed or refused
    (source_problem_idx)."""
    return qs.annotate(
        source_problem=Exists(Source.objects.filter(claim=OuterRef("pk"), link_status__in=SOURCE_PROBLEMS))
    )


def operations_summary() -> dict:
    """For the operations page: broker queue depth, outbox backlog, recent failures."""
    import redis
    from django.conf import settings
    from django.utils import timezone

    from annotations.models import OutboxMessage, TaskFailure

    pending = OutboxMessage.objects.filter(sent_at__isnull=True)
    oldest = pending.order_by("id").values_list("created_at", flat=True).first()
    depth: int | None
    unacked: int | None
    matching_depth: int | None
    try:
        client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=2, socket_timeout=2)
        depth = client.llen("celery")
        matching_depth = client.llen("matching")  # claim matching's own queue
        unacked = client.hlen("unacked")
        broker = "ok"
    except Exception as exc:  # the page must show that the broker is down, not fail
        depth = unacked = matching_depth = None
        broker = f"unreachable: {exc.__class__.__name__}"
    return {
        "broker": broker,
        "queue_depth": depth,
        "matching_queue_depth": matching_depth,
        "unacked": unacked,
        "outbox_backlog": pending.count(),
        "outbox_oldest_age": (timezone.now() - oldest) if oldest else None,
        "failures": TaskFailure.objects.order_by("-id")[:50],
    }


# --- Publication -----------------------------------------------------------------------------

def _paragraph(text: str, start: int, end: int) -> dict:
    """The paragraph (line) around a quote, and where the quote is inside it."""
    begin = text.rfind("\n", 0, start) + 1
    stop = text.find("\n", end)
    stop = len(text) if stop == -1 else stop
    return {"text": text[begin:stop], "start": start - begin, "end": end - begin}


def claim_publication_snapshot(*, claim_id: int) -> dict:
    """Everything a published record says about a verdict, read as it is now: the claim,
    the quote in its paragraph, the article, the rating with its scale, the sources and
    the desk that publishes it. Three queries."""
    claim = (
        Claim.objects.filter(pk=claim_id)
        .values(
            "id", "exact", "prefix", "suffix", "start_offset", "end_offset", "claim_reviewed", "claimant",
            "claim_date", "rationale", "rating_id", "rating__name", "rating__value", "rating__description",
            "rating__color", "workspace__slug", "workspace__name", "workspace__publisher_name",
            "workspace__publisher_url", "workspace_id", "article_id", "article__title", "article__url",
            "article__publisher", "version_id", "version__number", "version__sha256", "version__created_at",
            "version__text",
        )
        .get()
    )
    values = [
        value for value in RatingLabel.objects.filter(scale__workspace_id=claim["workspace_id"])
        .values_list("value", flat=True) if value is not None
    ]
    sources = [
        {**source, "accessed_on": source["accessed_on"].isoformat() if source["accessed_on"] else None}
        for source in Source.objects.filter(claim_id=claim_id).order_by("id").values(
            "url", "title", "publisher", "quote", "stance", "accessed_on", "archive_url")
    ]
    return {
        "claim_id": claim["id"],
        "workspace": {"slug": claim["workspace__slug"], "name": claim["workspace__name"],
                      "publisher_name": claim["workspace__publisher_name"],
                      "publisher_url": claim["workspace__publisher_url"]},
        "article": {"id": claim["article_id"], "title": claim["article__title"], "url": claim["article__url"],
                    "publisher": claim["article__publisher"]},
        "version": {"id": claim["version_id"], "number": claim["version__number"],
                    "sha256": claim["version__sha256"], "created_at": claim["version__created_at"].isoformat()},
        "selectors": {"exact": claim["exact"], "prefix": claim["prefix"], "suffix": claim["suffix"],
                      "start": claim["start_offset"], "end": claim["end_offset"]},
        "paragraph": _paragraph(claim["version__text"], claim["start_offset"], claim["end_offset"]),
        "claim_reviewed": claim["claim_reviewed"],
        "claimant": claim["claimant"],
        "claim_date": claim["claim_date"].isoformat() if claim["claim_date"] else None,
        "rating": {"id": claim["rating_id"], "name": claim["rating__name"], "value": claim["rating__value"],
                   "description": claim["rating__description"], "color": claim["rating__color"]}
        if claim["rating_id"] else None,
        "scale": {"best": max(values) if values else None, "worst": min(values) if values else None},
        "rationale": claim["rationale"],
        "sources": sources,
    }
