"""The dashboard's reads. annotations/selectors.py holds every other page's reads and is
shared by all of them; the dashboard's live here, apart, because they are one page's
aggregates written in SQL.

Each function is one or two queries that aggregate in Postgres (GROUP BY, width_bucket,
percentile_cont) and return a few dozen rows at most, so the dashboard costs the same
queries, and about the same Python, for a desk of ten claims or of a million; each reads
an index made for it (see the indexes' comments in models.py; bench/dashboard.py measures
them at 100,000 claims). Table names are quoted as Django quotes them: the query budget
(tests/test_dashboard.py) looks for them.

Weeks start on Monday, midnight in the desk's time zone; durations are in seconds.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db import connection

from annotations.models import ClaimState, Decision, LinkStatus, Workspace


def desk_time_zone(*, workspace: Workspace) -> ZoneInfo:
    """The zone the dashboard counts the desk's weeks and shows its dates in: the desk's own
    (Workspace.time_zone), whoever looks, so everyone's "week of 3 Mar" holds the same
    verdicts. A name tzdata no longer knows falls back to TIME_ZONE."""
    try:
        return ZoneInfo(workspace.time_zone or settings.TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(settings.TIME_ZONE)


def _rows(sql: str, params: dict) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# --- Queue: what waits, and for how long ---------------------------------------------------

# Lower bounds (seconds since submission) of the wait buckets, the first one being 0.
WAIT_BUCKETS = [0, 3600, 4 * 3600, 86400, 3 * 86400]
WAITING, IN_REVIEW = "waiting", "in_review"


@dataclass
class QueueWaits:
    """Claims in the queue per lane (waiting for a reviewer; in review, held by one) and
    per wait bucket, and the submission time of the oldest in each lane."""

    counts: dict[str, list[int]] = field(default_factory=lambda: {
        WAITING: [0] * len(WAIT_BUCKETS), IN_REVIEW: [0] * len(WAIT_BUCKETS)})
    oldest: dict[str, datetime | None] = field(default_factory=lambda: {WAITING: None, IN_REVIEW: None})

    def total(self, lane: str) -> int:
        return sum(self.counts[lane])


# A claim whose hold ran out waits for a reviewer again (the queue lists it first), as in
# selectors.queue_counts. Reads only the queue's claims (claim_queue_idx).
QUEUE_WAITS = """
SELECT CASE WHEN state = %(submitted)s OR held_until < %(now)s THEN 'waiting' ELSE 'in_review' END AS lane,
       width_bucket(extract(epoch FROM %(now)s - submitted_at)::float8, %(buckets)s::float8[]) AS bucket,
       count(*), min(submitted_at)
  FROM "annotations_claim"
 WHERE workspace_id = %(workspace)s AND state IN (%(submitted)s, %(in_review)s)
 GROUP BY 1, 2
"""


def queue_waits(*, workspace: Workspace, now: datetime) -> QueueWaits:
    waits = QueueWaits()
    rows = _rows(QUEUE_WAITS, {
        "workspace": workspace.pk, "now": now, "buckets": WAIT_BUCKETS[1:],
        "submitted": ClaimState.SUBMITTED, "in_review": ClaimState.IN_REVIEW,
    })
    for lane, bucket, claims, oldest in rows:
        waits.counts[lane][bucket] += claims
        if waits.oldest[lane] is None or oldest < waits.oldest[lane]:
            waits.oldest[lane] = oldest
    return waits


# --- Verdicts per week: by rating, and how long they took ------------------------------------

@dataclass
class VerdictWeek:
    """The verdicts (first approvals) of one week: counts per rating label id, and the
    median time from marking the claim to its verdict and from its submission to the
    approval (for a corrected claim, its latest submission and approval)."""

    week: date  # the Monday
    by_rating: dict[int | None, int] = field(default_factory=dict)
    verdicts: int = 0
    mark_to_verdict: float | None = None
    submit_to_decision: float | None = None


# The window's approved claims (claim_verdict_week_idx, index only), put in their week by
# comparing with the weeks' first moments: no time zone arithmetic per row. Counts per
# rating are a query of their own, so the medians are not also worked out per rating.
VERDICTS_BY_RATING = """
SELECT width_bucket(first_approved_at, %(weeks)s::timestamptz[]) AS week, rating_id, count(*)
  FROM "annotations_claim"
 WHERE workspace_id = %(workspace)s AND state = %(approved)s AND first_approved_at >= %(since)s
 GROUP BY 1, 2
"""
# ROLLUP adds the whole window's row (week NULL).
VERDICT_TIMES = """
SELECT width_bucket(first_approved_at, %(weeks)s::timestamptz[]) AS week, count(*),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY date_part('epoch', first_approved_at - created_at)),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY date_part('epoch', last_approved_at - submitted_at))
  FROM "annotations_claim"
 WHERE workspace_id = %(workspace)s AND state = %(approved)s AND first_approved_at >= %(since)s
 GROUP BY ROLLUP (1)
"""


@dataclass
class VerdictWindow:
    weeks: list[VerdictWeek]  # oldest first, every week present
    overall: VerdictWeek  # the whole window; its `week` is the first Monday


def week_starts(*, now: datetime, zone: ZoneInfo, weeks: int) -> list[date]:
    """The Mondays of the last `weeks` weeks in `zone`, this week's last."""
    today = now.astimezone(zone).date()
    this_week = today - timedelta(days=today.weekday())
    return [this_week - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]


def verdict_weeks(*, workspace: Workspace, now: datetime, weeks: int = 12) -> VerdictWindow:
    """The verdicts of each of the last `weeks` weeks (this one included) and of them all:
    two queries."""
    zone = desk_time_zone(workspace=workspace)
    starts = week_starts(now=now, zone=zone, weeks=weeks)
    found = [VerdictWeek(week=start) for start in starts]
    overall = VerdictWeek(week=starts[0])
    firsts = [datetime.combine(start, time(0), tzinfo=zone) for start in starts]
    params = {"workspace": workspace.pk, "weeks": firsts, "since": firsts[0], "approved": ClaimState.APPROVED}
    # width_bucket numbers the weeks from 1; 0 is before the first, which the WHERE leaves out.
    for bucket, rating_id, count in _rows(VERDICTS_BY_RATING, params):
        found[bucket - 1].by_rating[rating_id] = count
    for bucket, count, mark_to_verdict, submit_to_decision in _rows(VERDICT_TIMES, params):
        one = overall if bucket is None else found[bucket - 1]
        one.verdicts, one.mark_to_verdict, one.submit_to_decision = count, mark_to_verdict, submit_to_decision
    return VerdictWindow(weeks=found, overall=overall)


# --- Reviewers -------------------------------------------------------------------------------

# Decisions a reviewer makes; a reopen is an admin's correction, not a review.
REVIEW_DECISIONS = [Decision.APPROVE, Decision.REQUEST_CHANGES, Decision.REJECT]


@dataclass
class ReviewerCounts:
    user_id: int
    name: str
    by_decision: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.by_decision.values())


# review_created_idx finds the window's reviews; their claims are read by primary key.
REVIEWS_BY_REVIEWER = """
SELECT r.reviewer_id, u.username, u.first_name, u.last_name, r.decision, count(*)
  FROM "annotations_review" r
  JOIN "annotations_claim" c ON c.id = r.claim_id
  JOIN "auth_user" u ON u.id = r.reviewer_id
 WHERE c.workspace_id = %(workspace)s AND r.created_at >= %(since)s AND r.decision = ANY(%(decisions)s)
 GROUP BY r.reviewer_id, u.username, u.first_name, u.last_name, r.decision
"""


def reviews_by_reviewer(*, workspace: Workspace, since: datetime) -> list[ReviewerCounts]:
    """Each reviewer's decisions on the desk's claims since `since`, most first."""
    found: dict[int, ReviewerCounts] = {}
    rows = _rows(REVIEWS_BY_REVIEWER, {
        "workspace": workspace.pk, "since": since, "decisions": [str(d) for d in REVIEW_DECISIONS],
    })
    for user_id, username, first_name, last_name, decision, count in rows:
        name = f"{first_name} {last_name}".strip() or username
        found.setdefault(user_id, ReviewerCounts(user_id=user_id, name=name)).by_decision[decision] = count
    return sorted(found.values(), key=lambda r: (-r.total, r.name.casefold(), r.user_id))


# --- Sources ---------------------------------------------------------------------------------

SOURCES_BY_STATUS = """
SELECT s.link_status, count(*)
  FROM "annotations_source" s
  JOIN "annotations_claim" c ON c.id = s.claim_id
 WHERE c.workspace_id = %(workspace)s
 GROUP BY s.link_status
"""


def sources_by_link_status(*, workspace: Workspace) -> dict[str, int]:
    """The desk's sources per link status, every status present (0 when none)."""
    counts = {str(status): 0 for status in LinkStatus.values}
    for status, count in _rows(SOURCES_BY_STATUS, {"workspace": workspace.pk}):
        counts[status] = counts.get(status, 0) + count
    return counts


OVERDUE_SHOWN = 50


def overdue_assignments(*, workspace: Workspace, now: datetime) -> list:
    """Open assignments past their due date, most overdue first, with what the table shows:
    one query (assignment_open_due_idx), at most OVERDUE_SHOWN rows."""
    from annotations.selectors import overdue_assignments as overdue

    return list(overdue(workspace=workspace, now=now)[:OVERDUE_SHOWN])
