"""The desk's dashboard: its numbers on a small desk worked out by hand, who may see it,
its query budget, and charts the Content-Security-Policy allows, each with its table."""

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from xml.etree import ElementTree

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from annotations import selectors_dashboard
from annotations.charts import Series, bar_chart, duration_words
from annotations.models import Claim, Source
from annotations.publishing.partners import partner_create, partner_key_create
from annotations.services.claims import claim_create
from annotations.services.workflow import claim_decide, claim_take
from tests.conftest import claim_in_state, expect_queries, ready_and_submit
from tests.test_page_queries import DESK, NAV, SESSION, busy_desk  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db

H = 3600


def moved(claim, **times):
    """The claim's timestamps set as if its steps had happened then."""
    Claim.objects.filter(pk=claim.pk).update(**times)
    return Claim.objects.get(pk=claim.pk)


def verdict(article, crew, quote, *, rating, approved, mark_to_verdict, submit_to_decision):
    claim = claim_in_state("approved", article, crew, quote=quote)
    return moved(claim, rating=article.workspace.rating_scale.labels.get(name=rating),
                 created_at=approved - timedelta(seconds=mark_to_verdict),
                 submitted_at=approved - timedelta(seconds=submit_to_decision),
                 first_approved_at=approved, last_approved_at=approved)


@pytest.fixture
def small_desk(desk, article, crew):
    """Three verdicts in two weeks, one claim in review, one waiting 5 h, one rejected by the
    admin, three sources (one broken)."""
    now = timezone.now()
    this_monday = (now - timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    two_weeks_ago, last_week = this_monday - timedelta(weeks=2), this_monday - timedelta(weeks=1)
    first = verdict(article, crew, "It is a possibility.", rating="True", approved=two_weeks_ago + timedelta(days=2),
                    mark_to_verdict=5 * H, submit_to_decision=3 * H)
    verdict(article, crew, "Not yet", rating="True", approved=last_week + timedelta(days=1),
            mark_to_verdict=2 * H, submit_to_decision=1 * H)
    verdict(article, crew, "massive information", rating="False", approved=last_week + timedelta(days=3),
            mark_to_verdict=10 * H, submit_to_decision=4 * H)
    claim_in_state("in_review", article, crew, quote="Kuralenko")
    waiting = claim_in_state("submitted", article, crew, quote="Tikrit")
    moved(waiting, submitted_at=now - timedelta(hours=5))
    rejected = claim_take(claim=claim_in_state("submitted", article, crew, quote="Ramadi and Mosul"),
                          actor=crew["admin"])
    claim_decide(claim=rejected, actor=crew["admin"], decision="reject", comment="No source says so.",
                 revision=rejected.revision)
    for n, status in enumerate(["ok", "ok", "broken"]):
        Source.objects.create(claim=first, url=f"https://example.org/{n}", created_by=crew["author"],
                              link_status=status)
    return {"now": now, "weeks": [two_weeks_ago.date(), last_week.date()]}


def test_the_numbers_are_right_on_a_small_desk(small_desk, desk, crew):
    now = small_desk["now"]
    queue = selectors_dashboard.queue_waits(workspace=desk, now=now)
    assert queue.counts == {"waiting": [0, 0, 1, 0, 0], "in_review": [1, 0, 0, 0, 0]}
    assert round((now - queue.oldest["waiting"]).total_seconds()) == 5 * H

    window = selectors_dashboard.verdict_weeks(workspace=desk, now=now, weeks=12)
    weeks = {w.week: w for w in window.weeks}
    assert len(window.weeks) == 12 and window.weeks[-1].week == timezone.localdate(now) - timedelta(
        days=now.weekday())
    two_weeks_ago, last_week = (weeks[day] for day in small_desk["weeks"])
    labels = {label.name: label.pk for label in desk.rating_scale.labels.all()}
    assert (two_weeks_ago.verdicts, two_weeks_ago.by_rating) == (1, {labels["True"]: 1})
    assert (last_week.verdicts, last_week.by_rating) == (2, {labels["True"]: 1, labels["False"]: 1})
    # Medians by hand: last week (2 h, 10 h) -> 6 h and (1 h, 4 h) -> 2.5 h; overall (5, 2, 10) and (3, 1, 4).
    assert (last_week.mark_to_verdict, last_week.submit_to_decision) == (6 * H, 2.5 * H)
    assert (two_weeks_ago.mark_to_verdict, two_weeks_ago.submit_to_decision) == (5 * H, 3 * H)
    assert (window.overall.verdicts, window.overall.mark_to_verdict, window.overall.submit_to_decision) == (
        3, 5 * H, 3 * H)
    assert sum(w.verdicts for w in window.weeks) == 3

    reviewers = selectors_dashboard.reviews_by_reviewer(workspace=desk, since=now - timedelta(days=30))
    assert [(r.name, r.by_decision) for r in reviewers] == [("Bob", {"approve": 3}), ("erin", {"reject": 1})]
    assert selectors_dashboard.sources_by_link_status(workspace=desk) == {
        "pending": 0, "ok": 2, "changed": 0, "broken": 1, "unresolvable": 0, "invalid_host": 0, "refused": 0}

    client = Client()
    client.force_login(crew["author"])
    page = client.get(reverse("dashboard", args=[desk.slug])).content.decode()
    for words in ("6 h", "2 h 30 min", "5 h", "3 h", "Waiting for a reviewer", "1 claim, the oldest submitted 5 h ago",
                  "3 verdicts in the 12 weeks", "True 2 and False 1", "3 sources: reachable 2 and broken 1."):
        assert words in page, words


def test_a_week_is_counted_in_the_desks_time_zone(desk, article, crew):
    """Sunday 23:30 UTC is already Monday in Berlin: the verdict is in the new week there."""
    sunday_night = datetime(2025, 3, 9, 23, 30, tzinfo=UTC)
    verdict(article, crew, "It is a possibility.", rating="True", approved=sunday_night,
            mark_to_verdict=H, submit_to_decision=H)
    now = datetime(2025, 3, 12, 12, 0, tzinfo=UTC)
    for zone, week in (("UTC", "2025-03-03"), ("Europe/Berlin", "2025-03-10")):
        desk.time_zone = zone
        weeks = selectors_dashboard.verdict_weeks(workspace=desk, now=now, weeks=2).weeks
        assert [str(w.week) for w in weeks if w.verdicts] == [week], zone


def test_what_a_chart_shows_is_escaped():
    svg = bar_chart(chart_id="x", title="Reviews <b>", summary="A & B", horizontal=True,
                    categories=['<script>alert("x")</script>'], series=[Series('"Bob"', [3], "#123456")])
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "A &amp; B" in svg
    ElementTree.fromstring(svg)


def test_durations_read_as_words():
    assert [duration_words(s) for s in (None, 20, 60, 45 * 60, 3 * H + 20 * 60, 5 * H, 2 * 86400 + 4 * H, 86400)] == [
        "—", "under 1 min", "1 min", "45 min", "3 h 20 min", "5 h", "2 d 4 h", "1 d"]


# --- Who sees it -----------------------------------------------------------------------------

@pytest.mark.parametrize("who, status", [
    ("author", 200), ("teammate", 200), ("reviewer", 200), ("admin", 200), ("outsider", 404), ("anonymous", 302),
])
def test_every_member_sees_the_dashboard_and_nobody_else(client, crew, desk, small_desk, who, status):
    if who != "anonymous":
        client.force_login(crew[who])
    url = reverse("dashboard", args=[desk.slug])
    response = client.get(url)
    assert response.status_code == status
    if status == 302:
        assert response["Location"].startswith(reverse("login"))
    if status != 200:
        assert b"Verdicts" not in response.content


def test_a_partner_key_gets_no_dashboard(desk, crew, small_desk):
    """A partner is no member: its key opens no page (the login page, like any visitor)."""
    wire = partner_create(workspace=desk, actor=crew["admin"], name="Wire", contact_email="desk@wire.example")
    key = partner_key_create(partner=wire, actor=crew["admin"]).key
    response = Client(HTTP_AUTHORIZATION=f"Partner {key}").get(reverse("dashboard", args=[desk.slug]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_the_desk_links_to_its_dashboard(client, crew, desk):
    client.force_login(crew["author"])
    url = reverse("dashboard", args=[desk.slug])
    assert f'href="{url}"' in client.get(reverse("article_list", args=[desk.slug])).content.decode()
    assert f'href="{url}"' in client.get(reverse("home")).content.decode()


# --- Query budget ----------------------------------------------------------------------------

DASHBOARD_QUERIES = (
    *SESSION,
    DESK,
    "annotations_ratinglabel: the desk's scale, for the verdicts' series",
    "annotations_claim: the queue's claims per lane and wait, with the oldest (claim_queue_idx)",
    "annotations_claim: verdicts of the last 12 weeks per week and rating (claim_verdict_week_idx)",
    "annotations_claim: verdicts per week with their median times, and the whole window's (ROLLUP)",
    "annotations_review: decisions per reviewer in the last 30 days (review_created_idx)",
    "annotations_source: sources per link status (source_claim_status_idx)",
    "annotations_assignment: overdue assignments with their work and assignee (assignment_open_due_idx)",
    NAV,
)


def test_the_dashboard_costs_a_fixed_number_of_queries(client, crew, desk, article, busy_desk, small_desk):  # noqa: F811
    client.force_login(crew["reviewer"])
    url = reverse("dashboard", args=[desk.slug])
    client.get(url)  # per-process caches
    with expect_queries(*DASHBOARD_QUERIES):
        assert client.get(url).status_code == 200
    # More claims, sources and reviews, the same queries.
    version = article.versions.get()
    for quote in ("Daesh Takfiri militant group", "Salahuddin province"):
        start = version.text.index(quote)
        claim = ready_and_submit(claim_create(actor=crew["teammate"], article=article, version=version, exact=quote,
                                              start=start, end=start + len(quote)))
        Source.objects.create(claim=claim, url=f"https://example.org/more/{start}", created_by=crew["teammate"])
    with expect_queries(*DASHBOARD_QUERIES):
        assert client.get(url).status_code == 200


# --- Markup the policy allows, and a table for every chart -----------------------------------

class PageOutline(HTMLParser):
    """The dashboard's sections, each with its charts and tables, and every style attribute,
    <style> and inline <script> of the page."""

    def __init__(self):
        super().__init__()
        self.sections: list[dict] = []
        self.styles: list[str] = []
        self.inline_scripts = 0
        self._svg_depth = 0
        self._svg_title = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if "style" in attributes:
            self.styles.append(f"<{tag} style=...>")
        if tag == "style":
            self.styles.append("<style>")
        if tag == "script" and "src" not in attributes:
            self.inline_scripts += 1
        if tag == "section" and "dashboard-block" in (attributes.get("class") or ""):
            self.sections.append({"id": attributes["id"], "svgs": [], "tables": 0})
        elif tag == "svg" and self.sections:
            self.sections[-1]["svgs"].append({"role": attributes.get("role"), "label": attributes.get("aria-label"),
                                              "title": ""})
            self._svg_depth += 1
        elif tag == "table" and self.sections:
            self.sections[-1]["tables"] += 1
        # The chart's own title is its first; bars and points have their own tooltips.
        self._svg_title = tag == "title" and self._svg_depth > 0 and not self.sections[-1]["svgs"][-1]["title"]

    def handle_endtag(self, tag):
        if tag == "svg":
            self._svg_depth -= 1
        self._svg_title = False

    def handle_data(self, data):
        if self._svg_title:
            self.sections[-1]["svgs"][-1]["title"] += data


def test_every_chart_is_an_svg_the_policy_allows_with_its_numbers_in_a_table(client, crew, desk, small_desk):
    client.force_login(crew["admin"])
    response = client.get(reverse("dashboard", args=[desk.slug]))
    outline = PageOutline()
    outline.feed(response.content.decode())
    assert [s["id"] for s in outline.sections] == ["queue", "verdicts", "times", "reviewers", "sources", "overdue"]
    overdue = outline.sections.pop()  # assignments past due: a table, no chart
    assert (overdue["tables"], overdue["svgs"]) == (1, [])
    for section in outline.sections:
        assert section["tables"] == 1, section["id"]
        [svg] = section["svgs"]
        assert svg["role"] == "img" and svg["title"] and svg["label"].startswith(svg["title"]), section
    assert outline.styles == [] and outline.inline_scripts == 0
    for svg in re.findall(r"<svg .*?</svg>", response.content.decode(), flags=re.S):
        ElementTree.fromstring(svg)  # well-formed, so a browser draws all of it
    assert "style-src" in response["Content-Security-Policy"]
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "css/dashboard.css" in response.content.decode()
