"""Render time and query count of the desk's dashboard at N claims (default 100,000).

Creates a throwaway database (DATABASE_URL's name + _dashboard, dropped at the end, even
on failure), migrates it and seeds one desk: 12 annotators, 25 reviewers (some far busier
than others), 2 admins, 50 articles, and N claims marked over the last six months in every
state (most approved or draft, a few percent waiting or in review, some rejected or sent
back, a few corrected and approved again), with the reviews those decisions leave and 0-3
sources each, a few percent of them broken, changed or refused. Claims, reviews and
sources go in with COPY and the triggers off (session_replication_role = replica), which
only a superuser may do: it is a throwaway database.

Then renders /w/bench/dashboard/ through Django's test client R times as a reviewer and
prints p50/p95 and its query count, beside two references measured in the same run on
the same data, interleaved with it run by run so a busy neighbour slows all three alike:
the dashboard's own queries run alone (what Postgres needs, without Django, the charts or
the template), and the articles page (its claim counts per state read every claim of the
desk too). --explain prints EXPLAIN (ANALYZE, BUFFERS) of the dashboard's queries. Never
gates CI.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/factcheck .venv/bin/python bench/dashboard.py
    .venv/bin/python bench/dashboard.py --claims 10000 --runs 50 --explain
"""

import argparse
import math
import os
import random
import re
import signal
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

SLUG = "bench"
SEED = 20151001
DAYS = 182
TARGET_MS = 150

STATE_SHARES = [
    ("approved", 0.55), ("draft", 0.25), ("rejected", 0.10), ("changes_requested", 0.04),
    ("submitted", 0.05), ("in_review", 0.01),
]
RATING_SHARES = {"True": 10, "Mostly true": 15, "Half true": 20, "Mostly false": 20, "False": 20,
                 "Misleading": 10, "Unverifiable": 5}
SOURCES_PER_CLAIM = [(0, 25), (1, 35), (2, 25), (3, 15)]
# Per checked source; the rest are "ok" (or "pending" when a draft's was never checked).
LINK_PROBLEMS = [("broken", 0.02), ("changed", 0.015), ("unresolvable", 0.005), ("invalid_host", 0.002),
                 ("refused", 0.003)]

CLAIM_COLUMNS = [
    "id", "workspace_id", "article_id", "version_id", "exact", "prefix", "suffix", "start_offset",
    "end_offset", "anchor_status", "anchor_score", "claim_reviewed", "claimant", "claim_date",
    "rating_id", "rationale", "state", "revision", "submitted_at", "held_by_id", "held_until",
    "first_approved_at", "last_approved_at", "created_by_id", "last_edited_by_id", "created_at",
    "updated_at",
]
SOURCE_COLUMNS = [
    "claim_id", "url", "title", "publisher", "quote", "stance", "accessed_on", "archive_url",
    "link_status", "link_status_code", "link_final_url", "link_title", "link_content_hash",
    "link_error", "link_checked_at", "created_by_id", "created_at", "updated_at",
]
REVIEW_COLUMNS = ["claim_id", "reviewer_id", "decision", "comment", "claim_revision", "created_at"]


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(len(ordered) * share) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30, help="renders of each page measured")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the dashboard's queries")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # the finally block still drops the database

    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    name = f"{connection.settings_dict['NAME']}_dashboard"
    connection.settings_dict["TEST"]["NAME"] = name
    say(f"creating and migrating a throwaway database ({name}) ...")
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        run(args)
    finally:
        connection.close()
        connection.creation.destroy_test_db(name, verbosity=0)
        say(f"dropped {name}")


# --- Seeding ---------------------------------------------------------------------------------

def seed(args, rng: random.Random):
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from annotations.anchoring import selectors_for
    from annotations.models import Role
    from annotations.services.articles import article_import
    from annotations.services.workspaces import membership_set, workspace_create

    User = get_user_model()
    started = time.perf_counter()

    def people(prefix: str, n: int, first: list[str]):
        return User.objects.bulk_create(
            User(username=f"{prefix}{i:02d}", email=f"{prefix}{i:02d}@example.org", first_name=first[i % len(first)],
                 last_name=f"{prefix.title()} {i:02d}", password="!")
            for i in range(1, n + 1))

    annotators = people("annotator", 12, ["Ada", "Ben", "Cleo", "Dev"])
    reviewers = people("reviewer", 25, ["Eli", "Fay", "Gus", "Hana"])
    admins = people("admin", 2, ["Ivo", "Jun"])
    desk = workspace_create(name="Bench desk", slug=SLUG, creator=admins[0])
    for user, role in [(u, Role.ANNOTATOR) for u in annotators] + [(u, Role.REVIEWER) for u in reviewers] + [
            (admins[1], Role.ADMIN)]:
        membership_set(workspace=desk, user=user, role=role)
    labels = {label.name: label.pk for label in desk.rating_scale.labels.all()}

    say("importing 50 articles ...")
    texts = [p.read_text() for p in sorted((ROOT / "fixtures" / "articles").glob("*.txt"))]
    articles = []  # (article id, version id, [spans])
    for number in range(50):
        text = f"{texts[number % len(texts)]}\n\nBench copy {number + 1}."  # the same text would be one article
        result = article_import(workspace=desk, text=text, title=f"Bench report {number + 1}",
                                url=f"https://news.example.org/report-{number + 1}", actor=annotators[0])
        text = result.version.text
        spans = [selectors_for(text, m.start(), m.end())
                 for m in re.finditer(r"[^.!?\n]{25,}[.!?]", text)]
        articles.append((result.article.pk, result.version.pk, spans))

    claims, sources, reviews = plan(args=args, rng=rng, desk=desk, articles=articles, labels=labels,
                                    annotators=annotators, reviewers=reviewers, admin=admins[1])
    say(f"copying {len(claims):,} claims, {len(sources):,} sources and {len(reviews):,} reviews in "
        "(triggers off) ...")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        for table, columns, rows in (("annotations_claim", CLAIM_COLUMNS, claims),
                                     ("annotations_source", SOURCE_COLUMNS, sources),
                                     ("annotations_review", REVIEW_COLUMNS, reviews)):
            with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        cursor.execute("SELECT setval(pg_get_serial_sequence('annotations_claim', 'id'), "
                       "(SELECT max(id) FROM annotations_claim))")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("SELECT state, count(*) FROM annotations_claim GROUP BY state ORDER BY 2 DESC")
        states = ", ".join(f"{state} {n:,}" for state, n in cursor.fetchall())
    say(f"seeded in {time.perf_counter() - started:.0f} s: {states}")
    return desk, reviewers


def plan(*, args, rng, desk, articles, labels, annotators, reviewers, admin):
    """Rows of the claim, source and review tables: a desk that has worked for six months,
    reviewing faster in some weeks than in others."""
    now = datetime.now(UTC)
    states, state_weights = zip(*STATE_SHARES, strict=True)
    rating_ids = [labels[n] for n in RATING_SHARES]
    rating_weights = list(RATING_SHARES.values())
    reviewer_weights = [1 / (rank + 1) ** 0.8 for rank in range(len(reviewers))]
    claims, sources, reviews = [], [], []

    def hours(h: float) -> timedelta:
        return timedelta(hours=h)

    def review_time(moment: datetime) -> timedelta:
        """Time a review takes: log-normal around 8 h, slower in some weeks."""
        week = (now - moment).days // 7
        return hours(min(24 * 14, rng.lognormvariate(math.log(8), 0.9) * (1 + 0.6 * math.sin(week / 2.5))))

    def reviewer():
        return rng.choices(reviewers, weights=reviewer_weights)[0]

    for claim_id in range(1, args.claims + 1):
        article_id, version_id, spans = rng.choice(articles)
        span = rng.choice(spans)
        state = rng.choices(states, weights=state_weights)[0]
        author = rng.choice(annotators)
        rated = state != "draft" or rng.random() < 0.5
        rating = rng.choices(rating_ids, weights=rating_weights)[0] if rated else None
        revision = 1 + rng.randint(0, 3)
        submitted = held_by = held_until = first_approved = last_approved = None
        if state == "draft":
            created = now - timedelta(days=rng.uniform(0, DAYS))
            updated = min(now, created + hours(rng.uniform(0, 72)))
        elif state in ("submitted", "in_review"):
            submitted = now - hours(min(24 * 10, rng.expovariate(1 / 18)))
            created = submitted - hours(rng.uniform(0.2, 72))
            updated = submitted
            if state == "in_review":
                held_by = reviewer()
                # One in ten holds ran out: those claims wait for a reviewer again.
                held_until = now - hours(rng.uniform(0.02, 1)) if rng.random() < 0.1 else now + hours(
                    rng.uniform(0.02, 0.5))
                updated = max(submitted, held_until - hours(0.5))
        else:
            created = now - timedelta(days=rng.uniform(1, DAYS))
            submitted = min(now, created + hours(rng.uniform(0.3, 48)))
            if state == "approved" and rng.random() < 0.12:  # sent back once, then approved
                back = min(now, submitted + review_time(submitted))
                reviews.append([claim_id, reviewer().pk, "request_changes", "Add the primary source, please.",
                                revision, back])
                submitted = min(now, back + hours(rng.uniform(1, 30)))
            decided = min(now, submitted + review_time(submitted))
            updated = decided
            decision = {"approved": "approve", "rejected": "reject", "changes_requested": "request_changes"}[state]
            comment = "" if decision == "approve" else "The rating does not follow from the sources given."
            reviews.append([claim_id, reviewer().pk, decision, comment, revision + 1, decided])
            if state == "approved":
                first_approved = last_approved = decided
                if rng.random() < 0.03 and decided < now - timedelta(days=12):  # corrected, approved again
                    reopened = decided + timedelta(days=rng.uniform(1, 10))
                    reviews.append([claim_id, admin.pk, "reopen", "A figure was misstated.", revision + 2, reopened])
                    submitted = reopened + hours(rng.uniform(1, 24))
                    last_approved = min(now, submitted + review_time(submitted))
                    reviews.append([claim_id, reviewer().pk, "approve", "", revision + 3, last_approved])
                    updated = last_approved
            revision += 4
        claims.append([
            claim_id, desk.pk, article_id, version_id, span.exact, span.prefix, span.suffix, span.start, span.end,
            "created", None, span.exact[:120] if rated else "", "Campaign spokesperson" if rated else "",
            None, rating, "" if state == "draft" else f"The figures do not support it. Claim {claim_id}.",
            state, revision, submitted, held_by.pk if held_by else None, held_until, first_approved, last_approved,
            author.pk, author.pk, created, updated,
        ])
        count = rng.choices([k for k, _ in SOURCES_PER_CLAIM], weights=[w for _, w in SOURCES_PER_CLAIM])[0]
        for n in range(count):
            url = f"https://evidence.example.org/{claim_id}/{n + 1}"
            added = min(now, created + hours(rng.uniform(0, 24)))
            status, code = "ok", 200
            checked: datetime | None = min(now, added + hours(rng.uniform(0.01, 24)))
            if state == "draft" and rng.random() < 0.2:
                status, code, checked = "pending", 0, None
            else:
                roll, edge = rng.random(), 0.0
                for problem, share in LINK_PROBLEMS:
                    edge += share
                    if roll < edge:
                        status, code = problem, {"broken": 404, "changed": 200}.get(problem, 0)
                        break
            sources.append([
                claim_id, url, f"Evidence {n + 1}", "Example Wire", "", rng.choice(["supports", "refutes", "context"]),
                None, "", status, code or None, url if checked else "", "", "", "", checked, author.pk, added,
                checked or added,
            ])
    return claims, sources, reviews


# --- Measuring -------------------------------------------------------------------------------

class Render:
    """One page through Django's test client: milliseconds per render, and the last render's
    query count, milliseconds in Postgres and size."""

    def __init__(self, client, url: str):
        self.client, self.url = client, url
        self.timings: list[float] = []
        self.queries, self.db_ms, self.size = 0, 0.0, 0

    def __call__(self) -> None:
        from django.db import connection

        database = {"ms": 0.0, "queries": 0.0}

        def timed(execute, sql, params, many, context):
            started = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                database["ms"] += (time.perf_counter() - started) * 1000
                database["queries"] += 1

        with connection.execute_wrapper(timed):
            started = time.perf_counter()
            response = self.client.get(self.url)
            self.timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
        self.queries, self.db_ms, self.size = int(database["queries"]), database["ms"], len(response.content)

    def notes(self) -> str:
        return f"{self.queries} queries, {self.db_ms:.1f} ms in Postgres, {self.size // 1024} KiB"


class QueriesAlone:
    """The dashboard's reads straight from its selectors: what Postgres does for them, with
    no session, template or charts."""

    def __init__(self, desk):
        self.desk = desk
        self.timings: list[float] = []

    def __call__(self) -> None:
        from django.utils import timezone

        from annotations import selectors, selectors_dashboard

        now = timezone.now()
        started = time.perf_counter()
        list(selectors.rating_labels(workspace=self.desk))
        selectors_dashboard.queue_waits(workspace=self.desk, now=now)
        selectors_dashboard.verdict_weeks(workspace=self.desk, now=now)
        selectors_dashboard.reviews_by_reviewer(workspace=self.desk, since=now - timedelta(days=30))
        selectors_dashboard.sources_by_link_status(workspace=self.desk)
        self.timings.append((time.perf_counter() - started) * 1000)

    def notes(self) -> str:
        return "6 queries, no render"


def explain(client, url: str) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        client.get(url)
    for query in ctx.captured_queries:
        sql = query["sql"]
        if not any(table in sql for table in ('"annotations_claim"', '"annotations_review"', '"annotations_source"')):
            continue
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            plan = "\n    ".join(row[0] for row in cursor.fetchall())
        say(f"\n{sql[:200]} ...\n    {plan}")


def run(args) -> None:
    from django.test import Client
    from django.urls import reverse

    rng = random.Random(SEED)
    desk, reviewers = seed(args, rng)
    client = Client()
    client.force_login(reviewers[0])
    dashboard = reverse("dashboard", args=[desk.slug])
    articles = reverse("article_list", args=[desk.slug])
    if args.explain:
        explain(client, dashboard)

    measured: dict[str, Render | QueriesAlone] = {
        "dashboard": Render(client, dashboard),
        "dashboard's queries alone (ref.)": QueriesAlone(desk),
        "articles page (ref.)": Render(client, articles),
    }
    for measure in measured.values():  # warm up: caches, plans, the template loader
        for _ in range(3):
            measure()
        measure.timings.clear()
    # Interleaved, so a neighbour's load falls on all three alike.
    for _ in range(args.runs):
        for measure in measured.values():
            measure()

    load = " ".join(f"{n:.2f}" for n in os.getloadavg())
    print(f"\ndashboard of a {args.claims:,}-claim desk, {args.runs} runs each, interleaved (target: p50 <= "
          f"{TARGET_MS} ms, a fixed number of queries); load average {load} on {os.cpu_count()} CPUs")
    print(f"{'':<34}{'p50 ms':>9}{'p95 ms':>9}  last run")
    for label, measure in measured.items():
        timings = measure.timings
        print(f"{label:<34}{percentile(timings, 0.5):>9.1f}{percentile(timings, 0.95):>9.1f}  {measure.notes()}")


if __name__ == "__main__":
    main()
