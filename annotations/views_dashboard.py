"""The desk's dashboard (/w/<desk>/dashboard/): what waits in the queue and for how long,
verdicts by rating per week, the time from mark to verdict, reviews per reviewer and
sources by link status. Every member of the desk sees it; anyone else gets a 404.

Each chart is an SVG drawn on the server (annotations/charts.py) with its numbers in a
table beside it; the reads are annotations/selectors_dashboard.py, a fixed number of
aggregate queries whatever the desk's size. Another chart is another `ChartBlock` in the
list the template walks.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.template.defaultfilters import pluralize
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.safestring import SafeString

from annotations import access, charts, selectors, selectors_dashboard
from annotations.charts import DURATION, Series, count_words, duration_words
from annotations.models import Decision, LinkStatus
from annotations.selectors_dashboard import IN_REVIEW, WAIT_BUCKETS, WAITING

VERDICT_WEEKS = 12
REVIEW_DAYS = 30

WAIT_LABELS = ["under 1 h", "1 to 4 h", "4 to 24 h", "1 to 3 days", "over 3 days"]
LANES = [(WAITING, "Waiting for a reviewer", "#0969da"), (IN_REVIEW, "In review", "#8250df")]
DECISIONS = [
    (Decision.APPROVE, "Approved", "#1a7f37"),
    (Decision.REQUEST_CHANGES, "Changes requested", "#bf8700"),
    (Decision.REJECT, "Rejected", "#cf222e"),
]
LINK_COLOURS: dict[str, str] = {
    LinkStatus.PENDING: "#8c959f", LinkStatus.OK: "#1a7f37", LinkStatus.CHANGED: "#bf8700",
    LinkStatus.BROKEN: "#cf222e", LinkStatus.UNRESOLVABLE: "#a40e26", LinkStatus.INVALID_HOST: "#82071e",
    LinkStatus.REFUSED: "#8250df",
}
UNRATED = ("No rating", "#9a6700")
assert len(WAIT_LABELS) == len(WAIT_BUCKETS)


@dataclass
class Table:
    caption: str
    columns: list[str]
    rows: list[list[str]]  # the first cell of a row is its header
    footer: list[str] | None = None


@dataclass
class ChartBlock:
    """One section of the page: a heading, facts in words, the chart and its table."""

    slug: str
    heading: str
    svg: SafeString
    table: Table
    facts: list[tuple[str, str]] = field(default_factory=list)
    note: str = ""


def _when(moment: datetime, zone: ZoneInfo) -> str:
    """A moment in the desk's zone, with the zone's abbreviation: "3 Mar 2025, 14:05 CET"."""
    local = moment.astimezone(zone)
    return f"{date_format(local, 'j M Y, H:i')} {local.tzname()}"


def _day(day: date) -> str:
    return date_format(day, "j M")


def _claims(n: int) -> str:
    return f"{count_words(n)} claim{pluralize(n)}"


def _listed(parts: list[str]) -> str:
    return ", ".join(parts[:-1]) + f" and {parts[-1]}" if len(parts) > 1 else "".join(parts)


# --- The charts ------------------------------------------------------------------------------

def queue_block(*, workspace, now: datetime, zone: ZoneInfo) -> ChartBlock:
    waits = selectors_dashboard.queue_waits(workspace=workspace, now=now)
    waiting, in_review = waits.total(WAITING), waits.total(IN_REVIEW)
    facts = []
    for lane, name, _ in LANES:
        oldest = waits.oldest[lane]
        facts.append((name, _claims(waits.total(lane)) + (
            f", the oldest submitted {duration_words((now - oldest).total_seconds())} ago ({_when(oldest, zone)})"
            if oldest else "")))
    oldest = waits.oldest[WAITING]
    summary = (
        f"{_claims(waiting)} {'waits' if waiting == 1 else 'wait'} for a reviewer"
        + (f", the oldest for {duration_words((now - oldest).total_seconds())}" if oldest else "")
        + f"; {count_words(in_review)} {'is' if in_review == 1 else 'are'} in review."
    )
    svg = charts.bar_chart(
        chart_id="chart-queue", title="Claims in the queue by time since submission", summary=summary,
        categories=WAIT_LABELS,
        series=[Series(name, waits.counts[lane], colour) for lane, name, colour in LANES],
        axis_title="Time since submission",
    )
    rows = [[label, *(count_words(waits.counts[lane][i]) for lane, _, _ in LANES),
             count_words(sum(waits.counts[lane][i] for lane, _, _ in LANES))]
            for i, label in enumerate(WAIT_LABELS)]
    table = Table(
        caption="Claims in the queue by time since submission",
        columns=["Waited", *(name for _, name, _ in LANES), "Total"], rows=rows,
        footer=["All", count_words(waiting), count_words(in_review), count_words(waiting + in_review)],
    )
    return ChartBlock(slug="queue", heading="Queue", svg=svg, table=table, facts=facts,
                      note="A claim whose review hold ran out waits for a reviewer again.")


def verdict_blocks(*, workspace, labels: list, now: datetime) -> list[ChartBlock]:
    window = selectors_dashboard.verdict_weeks(workspace=workspace, now=now, weeks=VERDICT_WEEKS)
    weeks = window.weeks
    categories = [_day(w.week) for w in weeks]
    first, last = _day(weeks[0].week), date_format(weeks[-1].week, "j M Y")
    # The desk's scale in its order, then any rating that is not on it any more.
    known = {label.pk for label in labels}
    ratings = [(label.pk, label.name, label.color) for label in labels]
    strays = sorted({r for w in weeks for r in w.by_rating if r not in known}, key=lambda r: (r is not None, r))
    ratings += [(r, UNRATED[0] if r is None else f"Rating {r}", UNRATED[1]) for r in strays]
    per_rating = Counter({r: sum(w.by_rating.get(r, 0) for w in weeks) for r, _, _ in ratings})

    shown = [f"{name} {count_words(per_rating[r])}" for r, name, _ in ratings if per_rating[r]]
    verdicts = window.overall.verdicts
    summary = (f"{count_words(verdicts)} verdict{pluralize(verdicts)} in the {VERDICT_WEEKS} weeks from the week of "
               f"{first} to the week of {last}" + (f": {_listed(shown)}." if shown else "."))
    by_rating = ChartBlock(
        slug="verdicts", heading=f"Verdicts by rating, per week (last {VERDICT_WEEKS} weeks)",
        svg=charts.bar_chart(
            chart_id="chart-verdicts", title="Verdicts by rating per week", summary=summary,
            categories=categories,
            series=[Series(name, [w.by_rating.get(r, 0) for w in weeks], colour) for r, name, colour in ratings],
            axis_title="Week starting (Monday)",
        ),
        table=Table(
            caption="Verdicts by rating per week",
            columns=["Week of", *(name for _, name, _ in ratings), "Total"],
            rows=[[date_format(w.week, "j M Y"), *(count_words(w.by_rating.get(r, 0)) for r, _, _ in ratings),
                   count_words(w.verdicts)] for w in weeks],
            footer=["All weeks", *(count_words(per_rating[r]) for r, _, _ in ratings),
                    count_words(window.overall.verdicts)],
        ),
        note="A verdict is a claim's first approval, counted in the week it was given; a claim reopened "
             "for correction counts again once it is approved again.",
    )

    latest = next((w for w in reversed(weeks) if w.verdicts), None)
    summary = (
        f"Over all {count_words(window.overall.verdicts)} verdicts: mark to verdict "
        f"{duration_words(window.overall.mark_to_verdict)}, submit to decision "
        f"{duration_words(window.overall.submit_to_decision)} (medians)."
        + (f" Week of {_day(latest.week)}: {duration_words(latest.mark_to_verdict)} and "
           f"{duration_words(latest.submit_to_decision)}." if latest else "")
    )
    times = ChartBlock(
        slug="times", heading="Time to verdict, median per week",
        svg=charts.line_chart(
            chart_id="chart-times", title="Median time to verdict per week", summary=summary,
            categories=categories, scale=DURATION, axis_title="Week starting (Monday)",
            series=[
                Series("Mark to verdict", [w.mark_to_verdict for w in weeks], "#0969da"),
                Series("Submit to decision", [w.submit_to_decision for w in weeks], "#bf3989"),
            ],
        ),
        table=Table(
            caption="Median time to verdict per week",
            columns=["Week of", "Verdicts", "Mark to verdict", "Submit to decision"],
            rows=[[date_format(w.week, "j M Y"), count_words(w.verdicts), duration_words(w.mark_to_verdict),
                   duration_words(w.submit_to_decision)] for w in weeks],
            footer=["All weeks", count_words(window.overall.verdicts),
                    duration_words(window.overall.mark_to_verdict),
                    duration_words(window.overall.submit_to_decision)],
        ),
        note="Medians over the verdicts of each week: from marking the claim to its first approval, and "
             "from its submission to the approval.",
    )
    return [by_rating, times]


def reviewers_block(*, workspace, now: datetime) -> ChartBlock:
    reviewers = selectors_dashboard.reviews_by_reviewer(workspace=workspace, since=now - timedelta(days=REVIEW_DAYS))
    total = sum(r.total for r in reviewers)
    summary = (f"{count_words(len(reviewers))} reviewer{pluralize(len(reviewers))} made {count_words(total)} "
               f"decision{pluralize(total)} in the last "
               f"{REVIEW_DAYS} days" + (f"; the most: {reviewers[0].name}, {count_words(reviewers[0].total)}."
                                        if reviewers else "."))
    return ChartBlock(
        slug="reviewers", heading=f"Reviews per reviewer (last {REVIEW_DAYS} days)",
        svg=charts.bar_chart(
            chart_id="chart-reviewers", title="Reviews per reviewer", summary=summary, horizontal=True,
            categories=[r.name for r in reviewers], axis_title="Decisions",
            series=[Series(name, [r.by_decision.get(d, 0) for r in reviewers], colour)
                    for d, name, colour in DECISIONS],
        ),
        table=Table(
            caption=f"Reviews per reviewer in the last {REVIEW_DAYS} days",
            columns=["Reviewer", *(name for _, name, _ in DECISIONS), "Total"],
            rows=[[r.name, *(count_words(r.by_decision.get(d, 0)) for d, _, _ in DECISIONS), count_words(r.total)]
                  for r in reviewers],
            footer=["All reviewers", *(count_words(sum(r.by_decision.get(d, 0) for r in reviewers))
                                       for d, _, _ in DECISIONS), count_words(total)],
        ),
    )


def sources_block(*, workspace) -> ChartBlock:
    counts = selectors_dashboard.sources_by_link_status(workspace=workspace)
    statuses = [(str(value), str(label)) for value, label in LinkStatus.choices]
    statuses += [(s, s) for s in counts if s not in dict(statuses)]
    total = sum(counts.values())
    shown = [f"{label.lower()} {count_words(counts[s])}" for s, label in statuses if counts.get(s)]
    summary = f"{count_words(total)} source{pluralize(total)}" + (f": {_listed(shown)}." if shown else ".")
    return ChartBlock(
        slug="sources", heading="Sources by link status",
        svg=charts.bar_chart(
            chart_id="chart-sources", title="Sources by link status", summary=summary, horizontal=True,
            legend=False, categories=[label for _, label in statuses], axis_title="Sources",
            series=[Series(label, [counts.get(s, 0) if s == other else 0 for other, _ in statuses],
                           LINK_COLOURS.get(s, "#888888")) for s, label in statuses],
        ),
        table=Table(
            caption="Sources by link status", columns=["Link status", "Sources"],
            rows=[[label, count_words(counts.get(s, 0))] for s, label in statuses],
            footer=["All sources", count_words(total)],
        ),
        note="The latest check of each source's link.",
    )


@login_required
def dashboard(request, workspace_slug: str):
    workspace = access.workspace_get(user=request.user, slug=workspace_slug)
    zone = selectors_dashboard.desk_time_zone(workspace=workspace)
    now = timezone.now()
    labels = list(selectors.rating_labels(workspace=workspace))
    blocks = [
        queue_block(workspace=workspace, now=now, zone=zone),
        *verdict_blocks(workspace=workspace, labels=labels, now=now),
        reviewers_block(workspace=workspace, now=now),
        sources_block(workspace=workspace),
    ]
    return render(request, "annotations/dashboard.html", {
        "workspace": workspace, "blocks": blocks, "as_of": _when(now, zone), "zone": zone.key,
        "overdue": overdue_table(workspace=workspace, now=now, zone=zone),
    })


def overdue_table(*, workspace, now: datetime, zone: ZoneInfo) -> Table:
    """Assigned work past its due date (services/assignments.py), most overdue first."""
    rows = []
    for a in selectors_dashboard.overdue_assignments(workspace=workspace, now=now):
        what = (a.claim.claim_reviewed or a.claim.exact)[:120] if a.claim is not None else a.article.title[:120]
        rows.append([what, "Claim" if a.claim is not None else "Article",
                     a.assignee.get_full_name() or a.assignee.username, _when(a.due_at, zone),
                     duration_words((now - a.due_at).total_seconds())])
    return Table(caption="Overdue assignments", columns=["Work", "Kind", "Assigned to", "Due", "Overdue by"],
                 rows=rows)
