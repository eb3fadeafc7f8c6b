"""Latency, query counts and take-next throughput of the desk's hot paths at N claims.

Creates a throwaway database (dropped at the end, even on failure), migrates it and
seeds one desk: 200 articles (some with two or three versions), annotators, 25
reviewers and admins with API tokens, and N claims in mixed states (most approved or
draft, 3% waiting in the queue, some in review) with 0-3 sources each, a few percent
of them broken, changed or refused. Seeding is bulk SQL (COPY into temporary tables,
then INSERT ... SELECT) through every trigger and constraint of the schema, the audit
trigger included, in one transaction.

It then starts `gunicorn factcheck.wsgi` (4 sync workers, DEBUG=0, OUTBOX_AUTOSEND=0,
SERVER_TIMING=1) on that database and measures over loopback HTTP: the claims list
(page_size=100, and page 10 at page_size=10), the queue API, the HTML queue page as a
logged-in reviewer, POST /api/v1/claims/ (one client, sequential) and take-next by 20
concurrent reviewers, checking from the responses and from the audit trail that no
claim was held twice. Each reply's Server-Timing header (app;dur, db;dur and its query
count) gives the server's own time beside the client's; the issue's latency targets
are judged on the server's p50 (on the client's where a server sends no header), the
take-next throughput and p50 at the client. The CPU the server's processes, its
Postgres backends and the clients used in each run is read from /proc, and during
take-next what the Postgres sessions wait on from pg_stat_activity. Each path also runs
once in this process through Django's test client to count its queries and the time
Postgres spent on them; --explain prints EXPLAIN ANALYZE of the slowest ones. Never
gates CI.

--reference-tree PATH measures another checkout the same way in the same run: its
gunicorn starts in PATH (so it imports that tree's code, with this virtualenv) on the
same database, migrated by this tree, before this tree's server, which then faces the
claims the reference created and took. Each tree's take-next run takes as many claims,
at most a third of those waiting. The table shows both rows per path and the speed-up.

    .venv/bin/python bench/hot_paths.py --claims 10000
    .venv/bin/python bench/hot_paths.py --claims 100000 --reference-tree ../baseline --explain
"""

import argparse
import http.client
import json
import math
import os
import random
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

SLUG = "bench"
PASSWORD = "bench-hot-paths-password"
SEED = 20151001

# Share of claims per state; the queue gets a few thousand at 100k claims.
STATE_SHARES = [
    ("approved", 0.55), ("draft", 0.35), ("changes_requested", 0.04), ("submitted", 0.03),
    ("rejected", 0.025), ("in_review", 0.005),
]
RATING_SHARES = {
    "True": 10, "Mostly true": 15, "Half true": 20, "Mostly false": 20, "False": 20,
    "Misleading": 10, "Unverifiable": 5,
}
SOURCES_PER_CLAIM = [(0, 25), (1, 35), (2, 25), (3, 15)]
# Per checked source; the rest are "ok" (or "pending" when never checked).
LINK_PROBLEMS = [("broken", 0.02), ("changed", 0.015), ("refused", 0.005)]
PUBLISHERS = ["reuters.com", "apnews.com", "bbc.co.uk", "who.int", "data.worldbank.org",
              "eurostat.ec.europa.eu", "census.gov", "parliament.uk", "un.org", "oecd.org"]
CLAIMANTS = ["Prime Minister", "Defence Ministry", "Opposition leader", "Party spokesperson",
             "Deputy Defense Minister", "Central bank governor", "Campaign group", "Local mayor",
             "State news agency", "Senator", "Health minister", "Union leader"]

TARGETS = {
    "claims_100": "server p50 <= 20 ms",
    "claims_p10": "",
    "queue_api": "server p50 <= 20 ms",
    "queue_html": "server p50 <= 50 ms",
    "claim_create": "server p50 <= 10 ms, <= 6 queries",
    "take_next": ">= 300 takes/s, p50 <= 50 ms, 0 double holds",
}

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


def load_average() -> str:
    with open("/proc/loadavg") as fh:
        return " ".join(fh.read().split()[:3])


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(len(ordered) * share) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--annotators", type=int, default=12)
    parser.add_argument("--reviewers", type=int, default=25)
    parser.add_argument("--runs", type=int, default=200, help="requests per read path")
    parser.add_argument("--concurrency", type=int, default=1, help="client threads for the read paths")
    parser.add_argument("--creates", type=int, default=200, help="sequential POST /api/v1/claims/")
    parser.add_argument("--takers", type=int, default=20, help="concurrent reviewers taking the next claim")
    parser.add_argument("--takes", type=int, default=1000,
                        help="stop take-next after this many takes (per tree; fewer when the queue is short)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--database", help="throwaway database name (default: DATABASE_URL's name + _hot_paths)")
    parser.add_argument("--reference-tree", type=Path, metavar="PATH",
                        help="another checkout (say, an older commit) whose server is measured first, on the same "
                             "database, for a speed-up")
    parser.add_argument("--explain", action="store_true",
                        help="EXPLAIN ANALYZE the slowest queries of each path (current tree)")
    args = parser.parse_args()
    if args.takers + args.concurrency > args.reviewers:
        parser.error("--takers plus --concurrency cannot exceed --reviewers: each taker and each reader is a "
                     "distinct reviewer.")
    if args.reference_tree is not None:
        args.reference_tree = args.reference_tree.resolve()
        if not (args.reference_tree / "factcheck" / "wsgi.py").is_file():
            parser.error(f"--reference-tree {args.reference_tree} is not a checkout of the desk: it has no "
                         "factcheck/wsgi.py.")
        if args.reference_tree == ROOT:
            parser.error("--reference-tree is this checkout; give another one.")

    # A kill still drops the database and stops gunicorn (the finally blocks run).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    import django

    # The bench process has no collected static files; only gunicorn serves pages.
    warnings.filterwarnings("ignore", message="No directory at")
    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    args.database = args.database or f"{connection.settings_dict['NAME']}_hot_paths"
    connection.settings_dict["TEST"]["NAME"] = args.database
    say(f"creating and migrating a throwaway database ({args.database}) ...")
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    started = time.perf_counter()
    try:
        run(args)
        say(f"done in {time.perf_counter() - started:.0f} s")
    finally:
        connection.close()
        connection.creation.destroy_test_db(args.database, verbosity=0)
        say(f"dropped {args.database}")


# --- Seeding ---------------------------------------------------------------------------

@dataclass
class Span:
    start: int
    end: int
    exact: str
    prefix: str
    suffix: str


@dataclass
class SeededArticle:
    article_id: int
    version_ids: list[int]
    spans: list[list[Span]]  # per version, oldest first


@dataclass
class Desk:
    workspace: object
    annotators: list
    reviewers: list
    admins: list
    keys: dict[int, str]  # user id -> API key
    articles: list[SeededArticle]
    counts: dict = field(default_factory=dict)
    seconds: float = 0.0


def article_texts(*, count: int, rng: random.Random) -> list[list[str]]:
    """Canonical texts of `count` articles, each a list of versions, made from the demo
    articles' paragraphs so the words are a newsroom's."""
    from annotations.importing import canonical_text

    paragraphs: list[str] = []
    for path in sorted((ROOT / "fixtures" / "articles").glob("*.txt")):
        lines = [line.strip() for line in path.read_text().splitlines() if line.strip()]
        paragraphs.extend(line for line in lines[1:] if len(line) > 80)
    articles = []
    for number in range(1, count + 1):
        body = rng.sample(paragraphs, k=min(len(paragraphs), rng.randint(8, 14)))
        title = f"Desk report {number}: {body[0][:70].rsplit(' ', 1)[0]}"
        dateline = f"Filed by correspondent {number % 17 + 1} on day {number} of the campaign."
        versions = [canonical_text("\n".join([title, dateline, *body]))]
        for extra in range(rng.choices([0, 1, 2], weights=[55, 35, 10])[0]):
            body = list(body)
            body[rng.randrange(len(body))] = rng.choice(paragraphs)
            correction = f"Correction {extra + 1}: an earlier version of this report misstated a figure."
            versions.append(canonical_text("\n".join([title, dateline, *body, correction])))
        articles.append(versions)
    return articles


def text_spans(text: str, rng: random.Random) -> list[Span]:
    """Claim-sized spans of the text: whole sentences and runs of words inside them."""
    from annotations.anchoring import selectors_for

    found = []
    for sentence in re.finditer(r"[^.!?\n]+[.!?]+[\"”’)]*", text):
        start, end = sentence.start(), sentence.end()
        while start < end and text[start].isspace():
            start += 1
        if end - start >= 25:
            found.append((start, end))
            words = [m.span() for m in re.finditer(r"\S+", text[start:end])]
            for _ in range(3):
                if len(words) > 6:
                    first = rng.randrange(len(words) - 4)
                    last = min(len(words) - 1, first + rng.randint(3, 16))
                    found.append((start + words[first][0], start + words[last][1]))
    spans = []
    for start, end in found:
        selectors = selectors_for(text, start, end)
        spans.append(Span(start, end, selectors.exact, selectors.prefix, selectors.suffix))
    return spans


def copy_rows(cursor, table: str, columns: list[str], rows) -> None:
    with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def desk_seed(args) -> Desk:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import PBKDF2PasswordHasher
    from django.db import connection, transaction

    from annotations import audit
    from annotations.importing import text_sha256
    from annotations.models import Article, ArticleVersion, Role
    from annotations.services.tokens import api_token_create
    from annotations.services.workspaces import membership_set, workspace_create

    started = time.perf_counter()
    rng = random.Random(SEED)
    User = get_user_model()
    # The server's own hasher, so the reviewer can log in through the login page;
    # one hash for everyone, since hashing is deliberately slow.
    hasher = PBKDF2PasswordHasher()
    password_hash = hasher.encode(PASSWORD, hasher.salt())

    def people(prefix: str, n: int, first: list[str]):
        return [User(username=f"{prefix}{i:02d}", password=password_hash, email=f"{prefix}{i:02d}@example.org",
                     first_name=first[i % len(first)], last_name=f"{prefix.title()} {i:02d}")
                for i in range(1, n + 1)]

    say("seeding users, the desk, memberships and API tokens ...")
    annotators = User.objects.bulk_create(people("annotator", args.annotators, ["Ada", "Ben", "Cleo", "Dev"]))
    reviewers = User.objects.bulk_create(people("reviewer", args.reviewers, ["Eli", "Fay", "Gus", "Hana"]))
    admins = User.objects.bulk_create(people("admin", 2, ["Ivo", "Jun"]))
    with audit.context(request="bench: seed hot paths"):
        workspace = workspace_create(name="Bench desk", slug=SLUG, creator=admins[0])
        for user, role in ([(u, Role.ANNOTATOR) for u in annotators] + [(u, Role.REVIEWER) for u in reviewers]
                           + [(admins[1], Role.ADMIN)]):
            membership_set(workspace=workspace, user=user, role=role)
    keys = {user.pk: api_token_create(user=user, name="bench")[1] for user in annotators + reviewers + admins}
    labels = {label.name: label.pk for label in workspace.rating_scale.labels.all()}

    say(f"seeding {args.articles} articles and their versions ...")
    texts = article_texts(count=args.articles, rng=rng)
    seeded: list[SeededArticle] = []
    with audit.context(request="bench: seed hot paths"), transaction.atomic():
        for number, versions in enumerate(texts, start=1):
            article = Article.objects.create(
                workspace=workspace, title=versions[0].split("\n", 1)[0][:500],
                url=f"https://news.example.org/{2015 + number % 10}/report-{number}",
                publisher=["Example Wire", "Daily Example", "Example Times", "Example Post"][number % 4],
                published_on=date(2015, 10, 1) + timedelta(days=number), language="en",
                created_by=annotators[number % len(annotators)],
            )
            version_ids, spans = [], []
            for v, text in enumerate(versions, start=1):
                version = ArticleVersion.objects.create(
                    article=article, number=v, text=text, sha256=text_sha256(text), source_name="bench",
                    created_by=article.created_by,
                )
                version_ids.append(version.pk)
                spans.append(text_spans(text, rng))
            seeded.append(SeededArticle(article.pk, version_ids, spans))

    claims, sources, reviews = claim_plan(args=args, rng=rng, workspace=workspace, articles=seeded,
                                          annotators=annotators, reviewers=reviewers, labels=labels)
    say(f"seeding {len(claims)} claims, {len(sources)} sources and {len(reviews)} reviews "
        "through the triggers, in one transaction ...")
    # One transaction: the audit trigger takes a desk-wide advisory lock per row, which
    # is cheap when the same transaction already holds it.
    with audit.context(request="bench: seed hot paths"), transaction.atomic(), connection.cursor() as cursor:
        for table, columns in (("claim", CLAIM_COLUMNS), ("source", SOURCE_COLUMNS), ("review", REVIEW_COLUMNS)):
            cursor.execute(f"CREATE TEMP TABLE bench_{table} ON COMMIT DROP AS "
                           f"SELECT {', '.join(columns)} FROM annotations_{table} WITH NO DATA")
        copy_rows(cursor, "bench_claim", CLAIM_COLUMNS, claims)
        copy_rows(cursor, "bench_source", SOURCE_COLUMNS, sources)
        copy_rows(cursor, "bench_review", REVIEW_COLUMNS, reviews)
        batch = 10_000
        for low in range(1, len(claims) + 1, batch):
            cursor.execute(
                f"INSERT INTO annotations_claim ({', '.join(CLAIM_COLUMNS)}) "
                f"SELECT {', '.join(CLAIM_COLUMNS)} FROM bench_claim WHERE id BETWEEN %s AND %s ORDER BY id",
                [low, low + batch - 1],
            )
            done = min(low + batch - 1, len(claims))
            say(f"  claims {done:>7} / {len(claims)}  ({time.perf_counter() - started:.0f} s)")
        cursor.execute("SELECT setval(pg_get_serial_sequence('annotations_claim', 'id'), "
                       "(SELECT max(id) FROM annotations_claim))")
        for low in range(1, len(claims) + 1, batch * 2):
            cursor.execute(
                f"INSERT INTO annotations_source ({', '.join(SOURCE_COLUMNS)}) "
                f"SELECT {', '.join(SOURCE_COLUMNS)} FROM bench_source "
                "WHERE claim_id BETWEEN %s AND %s ORDER BY claim_id",
                [low, low + batch * 2 - 1],
            )
            done = min(low + batch * 2 - 1, len(claims))
            say(f"  sources of claims up to {done:>7}  ({time.perf_counter() - started:.0f} s)")
        cursor.execute(
            f"INSERT INTO annotations_review ({', '.join(REVIEW_COLUMNS)}) "
            f"SELECT {', '.join(REVIEW_COLUMNS)} FROM bench_review ORDER BY created_at"
        )
        say(f"  reviews  ({time.perf_counter() - started:.0f} s)")
    say("vacuum analyze ...")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("SELECT state, count(*) FROM annotations_claim GROUP BY state")
        counts = dict(cursor.fetchall())
        for table in ("source", "review", "auditevent", "articleversion"):
            cursor.execute(f"SELECT count(*) FROM annotations_{table}")
            counts[table] = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM annotations_source WHERE link_status IN ('broken', 'changed', 'refused')")
        counts["source_problems"] = cursor.fetchone()[0]
    seconds = time.perf_counter() - started
    say(f"seeded in {seconds:.0f} s")
    return Desk(workspace, annotators, reviewers, admins, keys, seeded, counts, seconds)


def claim_plan(*, args, rng, workspace, articles, annotators, reviewers, labels):
    """Rows for the claim, source and review tables, as a desk that ran a year would have."""
    now = datetime.now(UTC)
    states = [s for s, _ in STATE_SHARES]
    state_weights = [w for _, w in STATE_SHARES]
    rating_names = list(RATING_SHARES)
    rating_weights = list(RATING_SHARES.values())
    # Some articles draw far more claims than others.
    article_weights = [1 / (rank + 1) ** 0.6 for rank in range(len(articles))]
    claims, sources, reviews = [], [], []

    def ago(low: timedelta, high: timedelta) -> datetime:
        return now - timedelta(seconds=rng.uniform(low.total_seconds(), high.total_seconds()))

    def later(moment: datetime, low: timedelta, high: timedelta) -> datetime:
        return min(now, moment + timedelta(seconds=rng.uniform(low.total_seconds(), high.total_seconds())))

    for claim_id in range(1, args.claims + 1):
        article = rng.choices(articles, weights=article_weights)[0]
        state = rng.choices(states, weights=state_weights)[0]
        latest = len(article.version_ids) - 1
        anchor, score, on = "created", None, latest
        if latest > 0:
            roll = rng.random()
            if roll < 0.01:
                anchor, on = "orphaned", latest - 1
            elif roll < 0.04:
                anchor, score = "fuzzy", round(rng.uniform(0.76, 0.99), 3)
            elif roll < 0.7:
                anchor = "exact"
        span = rng.choice(article.spans[on])
        author = rng.choice(annotators)
        reviewer = rng.choice(reviewers)
        rated = state != "draft" or rng.random() < 0.5
        rating = labels[rng.choices(rating_names, weights=rating_weights)[0]] if rated else None
        restatement = span.exact[:120].rstrip() if rated else ""
        revision = 1 + rng.randint(0, 3)
        submitted = held_by = held_until = first_approved = last_approved = None
        decided = None
        if state in ("submitted", "in_review"):
            submitted = ago(timedelta(minutes=5), timedelta(hours=72))
            created = submitted - timedelta(seconds=rng.uniform(600, 5 * 86400))
            updated = submitted
            revision += 1
            if state == "in_review":
                held_by = rng.choice(reviewers)
                # One in ten holds ran out: those claims are back in the queue.
                held_until = ago(timedelta(minutes=1), timedelta(hours=1)) if rng.random() < 0.1 else \
                    now + timedelta(seconds=rng.uniform(60, 29 * 60))
                updated = max(submitted, held_until - timedelta(minutes=30))
                revision += 1
        elif state == "draft":
            created = ago(timedelta(hours=1), timedelta(days=120))
            updated = later(created, timedelta(0), timedelta(days=3))
        else:
            created = ago(timedelta(days=3), timedelta(days=365))
            submitted = later(created, timedelta(hours=1), timedelta(days=2))
            decided = later(submitted, timedelta(hours=1), timedelta(days=3))
            updated = decided
            revision += 3
            if state == "approved":
                first_approved = decided
                # A few were corrected and approved again later.
                last_approved = decided if rng.random() > 0.05 else \
                    later(decided, timedelta(days=1), timedelta(days=30))
                updated = last_approved
        rationale = "" if state == "draft" else (
            f"The {rng.choice(['ministry', 'agency', 'report', 'official'])} figures for "
            f"{2010 + claim_id % 6} do not support the statement as made; see the sources. "
            f"Checked against {rng.randint(2, 5)} documents by the desk. Claim {claim_id}."
        )
        claims.append([
            claim_id, workspace.pk, article.article_id, article.version_ids[on], span.exact, span.prefix,
            span.suffix, span.start, span.end, anchor, score, restatement,
            rng.choice(CLAIMANTS) if rated else "",
            (created - timedelta(days=rng.randint(0, 20))).date() if rated else None,
            rating, rationale, state, revision, submitted, held_by.pk if held_by else None, held_until,
            first_approved, last_approved, author.pk, author.pk, created, updated,
        ])
        for n in range(rng.choices([k for k, _ in SOURCES_PER_CLAIM], weights=[w for _, w in SOURCES_PER_CLAIM])[0]):
            publisher = rng.choice(PUBLISHERS)
            url = f"https://{publisher}/{2015 + claim_id % 9}/evidence-{claim_id}-{n + 1}"
            added = later(created, timedelta(0), timedelta(days=2))
            status, error = "ok", ""
            code: int | None = 200
            checked: datetime | None = later(added, timedelta(minutes=1), timedelta(days=1))
            if state == "draft" and rng.random() < 0.2:
                status, code, checked = "pending", None, None
            else:
                roll, edge = rng.random(), 0.0
                for problem, share in LINK_PROBLEMS:
                    edge += share
                    if roll < edge:
                        status = problem
                        code = {"broken": rng.choice([404, 410, 500]), "changed": 200, "refused": None}[problem]
                        error = "The address is not public." if problem == "refused" else ""
                        break
            sources.append([
                claim_id, url, f"Evidence {n + 1} for claim {claim_id}", publisher,
                "The figures published for the year show otherwise.", rng.choice(["supports", "refutes", "context"]),
                added.date(), f"https://web.archive.org/web/2016/{url}" if rng.random() < 0.3 else "",
                status, code, url if checked else "", f"{publisher} evidence page" if checked else "",
                f"{claim_id * 7919 + n:064x}"[-64:] if checked else "", error, checked, author.pk, added,
                checked or added,
            ])
        if state in ("approved", "rejected", "changes_requested"):
            assert submitted is not None  # decided claims were submitted first
            if state == "approved" and rng.random() < 0.1:
                reviews.append([claim_id, reviewer.pk, "request_changes", "Add the primary source, please.",
                                revision - 3, later(submitted, timedelta(0), timedelta(hours=1))])
            decision = {"approved": "approve", "rejected": "reject", "changes_requested": "request_changes"}[state]
            comment = "" if decision == "approve" else "The rating does not follow from the sources given."
            reviews.append([claim_id, reviewer.pk, decision, comment, revision - 1, decided])
    return claims, sources, reviews


# --- The server and the client ---------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    log: Path
    imports: str  # the file the server's `annotations` package is read from


def server_env(*, static_root: Path) -> dict:
    from django.db import connection

    db = connection.settings_dict
    user = quote(db["USER"] or "", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    env = dict(os.environ)
    env.update({
        "DJANGO_SETTINGS_MODULE": "factcheck.settings",
        "DATABASE_URL": f"postgres://{user}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "DEBUG": "0",
        "SECRET_KEY": "bench-hot-paths-secret-key-used-only-by-this-throwaway-server",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_HSTS_SECONDS": "0",
        # No task is handed to Redis inside a request; the outbox rows are still written.
        "OUTBOX_AUTOSEND": "0",
        # Every reply says how long the desk and Postgres took; a tree without the
        # middleware ignores the setting and is timed at the client only.
        "SERVER_TIMING": "1",
        "STATIC_ROOT": str(static_root),
        "LOG_LEVEL": "WARNING",
    })
    return env


def server_start(*, workers: int, workdir: Path, tree: Path) -> Server:
    """gunicorn started in `tree` with this virtualenv's Python: the working directory
    comes first on sys.path, so the server runs that checkout's code."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = server_env(static_root=workdir / "static")
    imports = subprocess.run(
        [sys.executable, "-c", "import importlib.util; print(importlib.util.find_spec('annotations').origin)"],
        cwd=tree, env=env, capture_output=True, text=True, check=True,
    ).stdout.strip()
    if not Path(imports).resolve().is_relative_to(tree.resolve()):
        raise RuntimeError(f"a server started in {tree} would import {imports}, not that tree's code")
    say(f"collecting static files of {tree} for DEBUG=0 ...")
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
                   cwd=tree, env=env, check=True)
    port = free_port()
    log = workdir / "gunicorn.log"
    say(f"starting gunicorn factcheck.wsgi of {tree} with {workers} workers on 127.0.0.1:{port} ...")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "factcheck.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--timeout", "120", "--log-level", "warning"],
        cwd=tree, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
    )
    server = Server(process, port, log, imports)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn stopped at start-up:\n{log.read_text()[-3000:]}")
        try:
            if Client(port).call("GET", "/login/").status == 200:
                return server
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"gunicorn did not answer within 60 s:\n{log.read_text()[-3000:]}")


def server_stop(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
    if server.process.returncode not in (0, -signal.SIGTERM):
        say(f"gunicorn log:\n{server.log.read_text()[-3000:]}")


@dataclass
class ServerTiming:
    app_ms: float
    db_ms: float | None
    queries: int | None


SERVER_TIMING_PART = re.compile(r'(\w+);dur=([0-9.]+)(?:;desc="(\d+) quer)?')


def server_timing_parse(value: str | None) -> ServerTiming | None:
    """`app;dur=12.3, db;dur=4.1;desc="5 queries"`, as annotations/timing.py writes it."""
    parts = {name: (float(ms), desc) for name, ms, desc in SERVER_TIMING_PART.findall(value or "")}
    if "app" not in parts:
        return None
    db_ms, queries = parts.get("db", (None, ""))
    return ServerTiming(parts["app"][0], db_ms, int(queries) if queries else None)


@dataclass
class Reply:
    status: int
    body: bytes
    headers: object
    ms: float
    server: ServerTiming | None = None

    def json(self):
        return json.loads(self.body)


class Client:
    """One keep-alive-if-offered HTTP connection with a token or a session cookie."""

    def __init__(self, port: int, *, token: str | None = None):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.headers = {"Authorization": f"Token {token}"} if token else {}
        self.cookies: dict[str, str] = {}

    def call(self, method: str, path: str, *, body: bytes | None = None, headers: dict | None = None) -> Reply:
        sent = dict(self.headers, **(headers or {}))
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        started = time.perf_counter()
        try:
            self.connection.request(method, path, body=body, headers=sent)
            response = self.connection.getresponse()
            data = response.read()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            self.connection.close()
            started = time.perf_counter()
            self.connection.request(method, path, body=body, headers=sent)
            response = self.connection.getresponse()
            data = response.read()
        ms = (time.perf_counter() - started) * 1000
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie()
            cookie.load(header)
            self.cookies.update({name: morsel.value for name, morsel in cookie.items()})
        return Reply(response.status, data, response.headers, ms,
                     server_timing_parse(response.headers.get("Server-Timing")))

    def post_json(self, path: str, payload: dict) -> Reply:
        return self.call("POST", path, body=json.dumps(payload).encode(), headers={"Content-Type": "application/json"})

    def log_in(self, *, username: str, password: str) -> None:
        page = self.call("GET", "/login/")
        found = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)
        if found is None:
            raise RuntimeError(f"the login page has no CSRF token: {page.status} {page.body[:300]!r}")
        token = found.group(1).decode()
        form = urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token})
        reply = self.call("POST", "/login/", body=form.encode(),
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
        if reply.status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"logging in as {username} failed: {reply.status} {reply.body[:300]!r}")


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# Backends of this process's own connections, left out of the server's Postgres time.
BENCH_BACKENDS: set[int] = set()


def proc_cpu(pid: int) -> tuple[int, float, float] | None:
    """Parent, own CPU seconds, and CPU seconds of its ended (reaped) children."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # the process ended meanwhile
        return None
    fields = text.rsplit(")", 1)[1].split()  # past the command name, which may hold spaces
    # fields[1] is the parent; fields[11:15] utime, stime and the reaped children's cutime, cstime.
    return (int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS,
            (int(fields[13]) + int(fields[14])) / CLOCK_TICKS)


@dataclass
class CpuUse:
    """CPU seconds used during a timed run: by the gunicorn under test (master and
    workers), by the PostgreSQL backends serving this database (but this bench's own),
    by this bench process (the HTTP clients) and by the whole machine (busy of all)."""
    gunicorn: float
    postgres: float
    bench: float
    machine_busy: float
    machine_all: float
    backends_ended: int = 0  # their CPU is missing from `postgres`


@dataclass
class CpuSnapshot:
    gunicorn: float
    backends: dict[int, float]
    bench: float
    machine_busy: float
    machine_all: float

    def __sub__(self, earlier: "CpuSnapshot") -> CpuUse:
        return CpuUse(
            self.gunicorn - earlier.gunicorn,
            sum(seconds - earlier.backends.get(pid, 0.0) for pid, seconds in self.backends.items()),
            self.bench - earlier.bench, self.machine_busy - earlier.machine_busy,
            self.machine_all - earlier.machine_all, len(earlier.backends.keys() - self.backends.keys()),
        )


def cpu_snapshot(*, server_pid: int) -> CpuSnapshot:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                       "AND backend_type = 'client backend' AND pid <> pg_backend_pid() AND NOT pid = ANY(%s)",
                       [sorted(BENCH_BACKENDS)])
        backend_pids = [pid for (pid,) in cursor.fetchall()]
    backends = {pid: cpu[1] for pid in backend_pids if (cpu := proc_cpu(pid)) is not None}
    master = proc_cpu(server_pid)
    gunicorn = master[1] + master[2] if master else 0.0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and (cpu := proc_cpu(int(entry.name))) is not None and cpu[0] == server_pid:
            gunicorn += cpu[1]
    with open("/proc/stat") as fh:
        user, nice, system, idle, iowait, irq, softirq, steal = (int(v) for v in fh.readline().split()[1:9])
    busy = user + nice + system + irq + softirq + steal
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return CpuSnapshot(gunicorn, backends, usage.ru_utime + usage.ru_stime, busy / CLOCK_TICKS,
                       (busy + idle + iowait) / CLOCK_TICKS)


@dataclass
class Timing:
    ms: list[float] = field(default_factory=list)
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    # Server-Timing of the answered requests; empty when the server sends none.
    server: list[ServerTiming] = field(default_factory=list)
    cpu: CpuUse | None = None  # used during the run, warm-up excluded

    def record(self, reply: Reply) -> None:
        self.ms.append(reply.ms)
        if reply.server is not None:
            self.server.append(reply.server)

    @property
    def p50(self) -> float:
        return statistics.median(self.ms) if self.ms else float("nan")

    @property
    def p95(self) -> float:
        return percentile(self.ms, 0.95) if self.ms else float("nan")

    @property
    def per_second(self) -> float:
        return len(self.ms) / self.seconds if self.seconds else 0.0

    @property
    def timed_by_server(self) -> bool:
        """Every answered request carried a Server-Timing header."""
        return bool(self.ms) and len(self.server) == len(self.ms)

    @property
    def server_p50(self) -> float | None:
        return statistics.median(s.app_ms for s in self.server) if self.timed_by_server else None

    @property
    def server_p95(self) -> float | None:
        return percentile([s.app_ms for s in self.server], 0.95) if self.timed_by_server else None

    @property
    def server_db_p50(self) -> float | None:
        values = [s.db_ms for s in self.server if s.db_ms is not None]
        return statistics.median(values) if self.timed_by_server and values else None

    @property
    def server_python_p50(self) -> float | None:
        """Median of app minus db per request: the desk's own Python (and waiting for a CPU)."""
        values = [s.app_ms - s.db_ms for s in self.server if s.db_ms is not None]
        return statistics.median(values) if self.timed_by_server and values else None

    @property
    def server_queries(self) -> tuple[int, int, int] | None:
        """Fewest, median and most queries per request, from the header."""
        values = [s.queries for s in self.server if s.queries is not None]
        if not self.timed_by_server or not values:
            return None
        return min(values), round(statistics.median(values)), max(values)


def timed(*, clients: list[Client], runs: int, call, server_pid: int, expect: int = 200, warmup: int = 0) -> Timing:
    """`runs` calls spread over one thread per client; `call(client, n)` makes one."""
    for n in range(warmup):
        call(clients[n % len(clients)], -1 - n)
    timing = Timing()
    counter = iter(range(runs))
    lock = threading.Lock()

    def work(client: Client) -> None:
        while True:
            with lock:
                n = next(counter, None)
            if n is None:
                return
            reply = call(client, n)
            with lock:
                if reply.status == expect:
                    timing.record(reply)
                else:
                    timing.errors.append(f"{reply.status}: {reply.body[:200]!r}")

    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    cpu = cpu_snapshot(server_pid=server_pid)
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    timing.seconds = time.perf_counter() - started
    timing.cpu = cpu_snapshot(server_pid=server_pid) - cpu
    return timing


# --- The measurements ------------------------------------------------------------------

PATH_LABELS = {
    "claims_100": "GET /api/v1/claims/ page_size=100",
    "claims_p10": "GET /api/v1/claims/ page 10, size 10",
    "queue_api": "GET /api/v1/queue/",
    "queue_html": f"GET /w/{SLUG}/queue/ (HTML)",
    "claim_create": "POST /api/v1/claims/",
    "take_next": "POST /api/v1/queue/take-next/",
}


@dataclass
class HotPath:
    """What the current tree's request costs when run once in this process."""
    key: str
    label: str
    queries: int | None = None
    db_ms: float | None = None
    inproc_ms: float | None = None
    captured: list = field(default_factory=list)
    plans: list[str] = field(default_factory=list)


@dataclass
class TreeRun:
    """One checkout's server measured on the seeded desk."""
    name: str  # "reference" or "current"
    tree: Path
    commit: str
    imports: str = ""
    timings: dict[str, Timing] = field(default_factory=dict)
    concurrency: dict[str, int] = field(default_factory=dict)
    waiting: int = 0  # claims in the queue when its take-next run started
    doubles: tuple[int, int] = (0, 0)
    loads: tuple[str, str] = ("", "")
    take_next_sessions: str = ""  # what the server's Postgres sessions did during take-next


def create_payloads(desk: Desk, count: int) -> list[dict]:
    rng = random.Random(SEED + 1)
    payloads = []
    for _ in range(count):
        article = rng.choice(desk.articles)
        span = rng.choice(article.spans[-1])
        payloads.append({"article": article.article_id, "version": article.version_ids[-1],
                         "exact": span.exact, "start": span.start, "end": span.end})
    return payloads


def claims_page_10_path(client: Client) -> str:
    path = f"/api/v1/claims/?workspace={SLUG}&page_size=10"
    for _ in range(9):
        reply = client.call("GET", path)
        assert reply.status == 200, reply.body[:300]
        split = urlsplit(reply.json()["next"])
        path = f"{split.path}?{split.query}"
    return path


def in_process(desk: Desk, paths: dict[str, HotPath], page_10: str, payloads: list[dict], *, explain: bool) -> None:
    """Each path once through Django's test client: queries, their time, and the total."""
    from django.db import connection
    from django.test import Client as DjangoClient
    from django.test.utils import CaptureQueriesContext

    reviewer, annotator = desk.reviewers[0], desk.annotators[0]
    api = DjangoClient(HTTP_AUTHORIZATION=f"Token {desk.keys[reviewer.pk]}")
    author = DjangoClient(HTTP_AUTHORIZATION=f"Token {desk.keys[annotator.pk]}")
    browser = DjangoClient()
    browser.force_login(reviewer)
    requests = {
        "claims_100": (lambda: api.get(f"/api/v1/claims/?workspace={SLUG}&page_size=100"), 200),
        "claims_p10": (lambda: api.get(page_10), 200),
        "queue_api": (lambda: api.get(f"/api/v1/queue/?workspace={SLUG}"), 200),
        "queue_html": (lambda: browser.get(f"/w/{SLUG}/queue/"), 200),
        "claim_create": (lambda: author.post("/api/v1/claims/", payloads.pop(), content_type="application/json"), 201),
        "take_next": (lambda: api.post("/api/v1/queue/take-next/", {"workspace": SLUG},
                                       content_type="application/json"), 200),
    }
    for key, (once, expect) in requests.items():
        once()  # warm up
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            response = once()
            elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == expect, (key, response.status_code, response.content[:300])
        path = paths[key]
        path.queries = len(ctx.captured_queries)
        path.db_ms = sum(float(q["time"]) for q in ctx.captured_queries) * 1000
        path.inproc_ms = elapsed
        path.captured = list(ctx.captured_queries)
        if explain:
            path.plans = plans_of(path.captured)


def take_next_run(*, server: Server, desk: Desk, takers: int,
                  takes: int) -> tuple[Timing, list[tuple[int, int, str]]]:
    """Reviewers take the next claim concurrently until `takes` or the queue runs dry."""
    reviewers = desk.reviewers[:takers]
    remaining = [takes]
    lock = threading.Lock()
    held: list[tuple[int, int, str]] = []  # (claim id, reviewer id, held_by in the reply)
    timing = Timing()
    body = json.dumps({"workspace": SLUG}).encode()

    def work(reviewer) -> None:
        client = Client(server.port, token=desk.keys[reviewer.pk])
        while True:
            with lock:
                if remaining[0] <= 0:
                    return
                remaining[0] -= 1
            reply = client.call("POST", "/api/v1/queue/take-next/", body=body,
                                headers={"Content-Type": "application/json"})
            with lock:
                if reply.status == 200:
                    timing.record(reply)
                    claim = reply.json()
                    held.append((claim["id"], reviewer.pk, claim["held_by"]))
                elif reply.status == 204:
                    remaining[0] = 0
                    return
                else:
                    timing.errors.append(f"{reply.status}: {reply.body[:200]!r}")

    threads = [threading.Thread(target=work, args=(r,)) for r in reviewers]
    cpu = cpu_snapshot(server_pid=server.process.pid)
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    timing.seconds = time.perf_counter() - started
    timing.cpu = cpu_snapshot(server_pid=server.process.pid) - cpu
    return timing, held


class WaitSampler(threading.Thread):
    """What the server's Postgres sessions are doing, sampled every 20 ms: running,
    waiting (on a lock, on the WAL, ...), or idle in a transaction while the worker's
    Python runs between two statements. Idle sessions wait for Python or for a request."""

    SQL = ("SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
           "WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend' "
           "AND state IN ('active', 'idle in transaction')")

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.ready = threading.Event()  # its own backend is known, so the CPU count leaves it out
        self.seen: Counter = Counter()
        self.samples = 0

    def run(self) -> None:
        from django.db import connection

        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                BENCH_BACKENDS.add(cursor.fetchone()[0])
                self.ready.set()
                while not self.stop.wait(0.02):
                    cursor.execute(self.SQL)
                    for state, kind, event in cursor.fetchall():
                        if state == "idle in transaction":
                            self.seen["idle in transaction"] += 1
                        else:
                            self.seen[f"{kind}:{event}" if event else "running"] += 1
                    self.samples += 1
        finally:
            connection.close()

    def summary(self) -> str:
        if not self.samples:
            return "not sampled"
        busy = ", ".join(f"{n / self.samples:.2f} {what}" for what, n in self.seen.most_common(6))
        return f"{busy or 'none'} (mean sessions per sample, {self.samples} samples)"


def queue_depth() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM annotations_claim WHERE state = 'submitted' "
                       "OR (state = 'in_review' AND held_until < now())")
        return cursor.fetchone()[0]


def double_holds(*, desk: Desk, held: list[tuple[int, int, str]], since: datetime) -> tuple[int, int]:
    """Claims held twice, from the replies and from the database's audit trail and rows."""
    from django.db import connection

    names = {r.pk: r.username for r in desk.reviewers}
    in_replies = sum(n - 1 for n in Counter(claim for claim, _, _ in held).values() if n > 1)
    in_replies += sum(1 for _, reviewer, holder in held if names[reviewer] != holder)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM (SELECT claim_id FROM annotations_auditevent "
            "WHERE action = 'claim.taken' AND occurred_at >= %s GROUP BY claim_id HAVING count(*) > 1) t",
            [since],
        )
        in_database = cursor.fetchone()[0]
        cursor.execute("SELECT id, held_by_id FROM annotations_claim WHERE id = ANY(%s)", [[c for c, _, _ in held]])
        holders = dict(cursor.fetchall())
    in_database += sum(1 for claim, reviewer, _ in held if holders.get(claim) != reviewer)
    return in_replies, in_database


def tree_measure(*, args, desk: Desk, name: str, tree: Path, workdir: Path, takes: int,
                 paths: dict[str, HotPath] | None) -> TreeRun:
    """Start `tree`'s server on the seeded desk and time every path through it; with
    `paths`, also run each path once in this process (this tree's code) for its queries."""
    result = TreeRun(name=name, tree=tree, commit=commit_of(tree))
    # Each tree creates the same claims.
    payloads = create_payloads(desk, args.creates + 10)
    # Readers take nothing, so the queue page shows each tree the same claims held by them: none.
    readers = desk.reviewers[-args.concurrency:]
    server = None
    try:
        server = server_start(workers=args.workers, workdir=workdir / name, tree=tree)
        result.imports = server.imports
        page_10 = claims_page_10_path(Client(server.port, token=desk.keys[readers[0].pk]))
        if paths is not None:
            say("running each path once in-process for its queries ...")
            in_process(desk, paths, page_10, payloads, explain=args.explain)

        load_before = load_average()
        clients = [Client(server.port, token=desk.keys[r.pk]) for r in readers]
        warmup = args.workers * 3
        for key, url in [("claims_100", f"/api/v1/claims/?workspace={SLUG}&page_size=100"),
                         ("claims_p10", page_10), ("queue_api", f"/api/v1/queue/?workspace={SLUG}")]:
            say(f"{name}: {PATH_LABELS[key]}: {args.runs} requests ...")
            result.timings[key] = timed(clients=clients, runs=args.runs, warmup=warmup, server_pid=server.process.pid,
                                        call=lambda c, n, url=url: c.call("GET", url))
            result.concurrency[key] = args.concurrency

        say(f"{name}: {PATH_LABELS['queue_html']}: logging in, {args.runs} requests ...")
        browsers = []
        for r in readers:
            browser = Client(server.port)
            browser.log_in(username=r.username, password=PASSWORD)
            browsers.append(browser)
        result.timings["queue_html"] = timed(clients=browsers, runs=args.runs, warmup=warmup,
                                             server_pid=server.process.pid,
                                             call=lambda c, n: c.call("GET", f"/w/{SLUG}/queue/"))
        result.concurrency["queue_html"] = args.concurrency

        say(f"{name}: {PATH_LABELS['claim_create']}: {args.creates} sequential creates ...")
        author = Client(server.port, token=desk.keys[desk.annotators[1].pk])
        result.timings["claim_create"] = timed(clients=[author], runs=args.creates, expect=201, warmup=5,
                                               server_pid=server.process.pid,
                                               call=lambda c, n: c.post_json("/api/v1/claims/", payloads.pop()))
        result.concurrency["claim_create"] = 1

        say(f"{name}: {PATH_LABELS['take_next']}: up to {takes} takes by {args.takers} reviewers ...")
        result.waiting = queue_depth()
        since = datetime.now(UTC) - timedelta(seconds=1)
        sampler = WaitSampler()
        sampler.start()
        sampler.ready.wait(timeout=10)
        try:
            result.timings["take_next"], held = take_next_run(server=server, desk=desk, takers=args.takers,
                                                              takes=takes)
        finally:
            sampler.stop.set()
            sampler.join()
        result.take_next_sessions = sampler.summary()
        result.concurrency["take_next"] = args.takers
        result.loads = (load_before, load_average())
    finally:
        if server is not None:
            say(f"stopping gunicorn of {tree} ...")
            server_stop(server)
    result.doubles = double_holds(desk=desk, held=held, since=since)
    return result


def run(args) -> None:
    desk = desk_seed(args)
    workdir = Path(tempfile.mkdtemp(prefix="factcheck-bench-hot-paths-"))
    paths = {key: HotPath(key, label) for key, label in PATH_LABELS.items()}
    trees = [("reference", args.reference_tree)] if args.reference_tree else []
    trees.append(("current", ROOT))
    waiting = queue_depth()
    takes = args.takes
    if args.reference_tree:
        # Both trees take as many, and the second still finds a third of the queue waiting
        # (the in-process run takes two more).
        takes = min(args.takes, max(1, (waiting - 2) // 3))
    runs = []
    try:
        for name, tree in trees:
            runs.append(tree_measure(args=args, desk=desk, name=name, tree=tree, workdir=workdir, takes=takes,
                                     paths=paths if tree == ROOT else None))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report(args=args, desk=desk, paths=paths, runs=runs, takes=takes, waiting=waiting)
    if args.explain:
        explain(paths)


# --- The report ------------------------------------------------------------------------

def commit_of(tree: Path) -> str:
    try:
        commit = subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, check=True).stdout.strip()
        changed = subprocess.run(["git", "-C", str(tree), "diff", "--name-only", "HEAD"],
                                 capture_output=True, text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        return "unknown commit"
    return f"{commit}{f' with uncommitted changes to {len(changed)} files' if changed else ''}"


LATENCY_TARGETS_MS = {"claims_100": 20, "queue_api": 20, "queue_html": 50, "claim_create": 10}


def queries_judged(*, timing: Timing, path: HotPath | None) -> int | None:
    """The real server's count (median of the header) when it sent one, else the in-process count."""
    if timing.server_queries is not None:
        return timing.server_queries[1]
    return path.queries if path is not None else None


def met(*, key: str, timing: Timing | None, queries: int | None, doubles: tuple[int, int]) -> str:
    """The issue's target on the server's own time (Server-Timing app;dur) where the server
    sent it, else on the client's (marked *); take-next's throughput and p50 at the client."""
    if timing is None or not timing.ms:
        return "n/a"
    if key == "take_next":
        return "yes" if timing.per_second >= 300 and timing.p50 <= 50 and doubles == (0, 0) else "NO"
    if key not in LATENCY_TARGETS_MS:
        return ""
    server = timing.server_p50
    p50, mark = (server, "") if server is not None else (timing.p50, "*")
    ok = p50 <= LATENCY_TARGETS_MS[key]
    if key == "claim_create":
        if queries is None:
            return f"{'?' if ok else 'NO'}{mark}"
        ok = ok and queries <= 6
    return f"{'yes' if ok else 'NO'}{mark}"


def speedup(*, key: str, reference: Timing, current: Timing) -> str:
    if not reference.ms or not current.ms:
        return ""
    parts = [f"{reference.p50 / current.p50:.1f}x client p50"]
    if reference.server_p50 and current.server_p50:
        parts.append(f"{reference.server_p50 / current.server_p50:.1f}x server p50")
    if key == "take_next" and reference.per_second:
        parts.append(f"{current.per_second / reference.per_second:.1f}x takes/s")
    return ", ".join(parts)


def ms_or_dash(value: float | None, width: int) -> str:
    return f"{value:>{width}.1f}" if value is not None else f"{'-':>{width}}"


def report(*, args, desk: Desk, paths: dict[str, HotPath], runs: list[TreeRun], takes: int, waiting: int) -> None:
    from django.db import connection

    c = desk.counts
    states = ", ".join(f"{c.get(s, 0):,} {s}" for s, _ in STATE_SHARES)
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
        cursor.execute("SHOW shared_buffers")
        buffers = cursor.fetchone()[0]
    by_name = {r.name: r for r in runs}
    reference = by_name.get("reference")
    print(f"\nHot paths at {args.claims:,} claims")
    for r in runs:
        timed_by = sorted(PATH_LABELS[k] for k, t in r.timings.items() if t.timed_by_server)
        headers = ("Server-Timing on every path" if len(timed_by) == len(r.timings)
                   else f"Server-Timing on {', '.join(timed_by)}" if timed_by else "no Server-Timing header")
        print(f"{r.name + ':':<10} {r.tree} at {r.commit}; gunicorn started there, imports {r.imports}; {headers}")
    print(f"desk: {len(desk.articles)} articles ({c['articleversion']} versions), {args.annotators} annotators, "
          f"{args.reviewers} reviewers, 2 admins; claims: {states}")
    print(f"      {c['source']:,} sources ({c['source_problems']:,} broken, changed or refused), "
          f"{c['review']:,} reviews, {c['auditevent']:,} audit events")
    print(f"seeded in {desk.seconds:.0f} s with bulk SQL through every trigger (audit included), in one transaction, "
          "then VACUUM ANALYZE; schema migrated by the current tree")
    loads = "; ".join(f"{r.name} {r.loads[0]} before its HTTP runs, {r.loads[1]} after" for r in runs)
    print(f"server: gunicorn factcheck.wsgi, {args.workers} sync workers, DEBUG=0, OUTBOX_AUTOSEND=0, SERVER_TIMING=1; "
          f"PostgreSQL {pg} (shared_buffers {buffers}); {os.cpu_count()} CPUs; load average: {loads}")
    if reference:
        cur = by_name["current"]
        print(f"order: the reference tree first (its server stopped before the current one started), then the "
              f"current tree on the same database, facing the {len(reference.timings['claim_create'].ms)} claims "
              f"the reference created and the {len(reference.timings['take_next'].ms)} it took (still held)")
        print(f"take-next: {waiting:,} claims waited before both runs; each run stops after {takes:,} takes"
              + (f" (scaled down from --takes {args.takes:,} so the second run still finds a third of the queue "
                 "waiting)" if takes < args.takes else "")
              + f"; {reference.waiting:,} waited for the reference, {cur.waiting:,} for the current tree")
    print("client: latency at the client over loopback, request to last byte, a new TCP connection per request "
          "(gunicorn sync workers close it)")
    print("server: Server-Timing of each reply, app;dur (the desk's outermost middleware, request in to response "
          "out) as srv p50/p95, db;dur as srv db p50, app minus db per request as srv py p50 (Python, and waiting "
          "for a CPU), and the statements it counted as srv q (fewest-most when they differ; BEGIN and COMMIT "
          "are not statements there, as in tests/test_api_queries.py); '-' where the server sent no header")
    print("queries, db ms, in-proc ms: the current tree's request once through Django's test client in the "
          "bench process (Django's query log, BEGIN and COMMIT included; db ms = time Postgres took for those "
          "queries); '-' for the reference")
    print("met: the issue's latency targets on srv p50, or on client p50 where the server sent no Server-Timing "
          "(marked *); the query budget on srv q, else the in-process count; take-next throughput and p50 at "
          "the client\n")
    header = (f"{'path':<37} {'tree':<9} {'runs':>5} {'conc':>4} {'p50 ms':>7} {'p95 ms':>7} {'srv p50':>7} "
              f"{'srv p95':>7} {'srv db':>6} {'srv py':>6} {'srv q':>5} {'req/s':>6} {'queries':>7} {'db ms':>6} "
              f"{'in-proc':>7} {'err':>3}  {'target':<44} {'met':<4}  speed-up")
    print(header)
    print("-" * len(header))
    for key, label in PATH_LABELS.items():
        if key == "take_next":
            label = f"{label} x{args.takers}"
        for r in runs:
            t = r.timings[key]
            path = paths[key] if r.tree == ROOT else None
            q = t.server_queries
            srv_q = "-" if q is None else (f"{q[0]}" if q[0] == q[2] else f"{q[0]}-{q[2]}")
            speed = speedup(key=key, reference=reference.timings[key], current=t) if reference and r.name == "current" \
                else ""
            print(f"{label:<37} {r.name:<9} {len(t.ms):>5} {r.concurrency[key]:>4} {t.p50:>7.1f} {t.p95:>7.1f} "
                  f"{ms_or_dash(t.server_p50, 7)} {ms_or_dash(t.server_p95, 7)} {ms_or_dash(t.server_db_p50, 6)} "
                  f"{ms_or_dash(t.server_python_p50, 6)} {srv_q:>5} {t.per_second:>6.1f} "
                  f"{path.queries if path and path.queries is not None else '-':>7} "
                  f"{ms_or_dash(path.db_ms if path else None, 6)} {ms_or_dash(path.inproc_ms if path else None, 7)} "
                  f"{len(t.errors):>3}  {TARGETS[key]:<44} "
                  f"{met(key=key, timing=t, queries=queries_judged(timing=t, path=path), doubles=r.doubles):<4}  "
                  f"{speed}".rstrip())
        if reference:
            print()
    print(f"take-next: {args.takers} reviewers each wait for their reply before asking again, so mean client "
          f"latency = {args.takers} / throughput (Little's law): a p50 of 50 ms takes about "
          f"{args.takers / 0.05:.0f} takes/s")
    for r in runs:
        take = r.timings["take_next"]
        print(f"take-next, {r.name}: {r.waiting:,} claims waiting; {len(take.ms)} takes by {args.takers} reviewers "
              f"in {take.seconds:.1f} s = {take.per_second:.0f} takes/s, client p50 {take.p50:.1f} ms; "
              f"double holds: {r.doubles[0]} in the responses, {r.doubles[1]} in the database")
        print(f"  its Postgres sessions, not idle: {r.take_next_sessions}")
    print(f"\nCPU per answered request during each timed run, in ms (/proc; {os.cpu_count()} CPUs): gunicorn = "
          "its master and workers (Django and gunicorn, without waiting for a CPU), postgres = the backends "
          "serving this database, the bench's own left out (those that ended during the run are counted in "
          "'ended', their CPU missing), client = this bench process (the HTTP clients); busy = the machine's "
          "CPUs in use over the run, whoever used them")
    cpu_header = (f"{'path':<37} {'tree':<9} {'gunicorn':>8} {'postgres':>8} {'client':>7} {'sum':>7} {'busy':>6} "
                  f"{'ended':>5}")
    print(cpu_header)
    print("-" * len(cpu_header))
    for key, label in PATH_LABELS.items():
        for r in runs:
            t = r.timings[key]
            if t.cpu is None or not t.ms:
                continue
            n, cpu = len(t.ms), t.cpu
            per = [cpu.gunicorn * 1000 / n, cpu.postgres * 1000 / n, cpu.bench * 1000 / n]
            busy = cpu.machine_busy / cpu.machine_all * 100 if cpu.machine_all else float("nan")
            print(f"{label:<37} {r.name:<9} {per[0]:>8.1f} {per[1]:>8.1f} {per[2]:>7.1f} {sum(per):>7.1f} "
                  f"{busy:>5.0f}% {cpu.backends_ended:>5}")
    for r in runs:
        for key, t in r.timings.items():
            if t.errors:
                print(f"errors of {PATH_LABELS[key]} ({r.name}): {len(t.errors)}, first: {t.errors[0]}")


def plans_of(captured: list[dict], *, slowest: int = 3, repeat: int = 3) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of the slowest SELECTs, each run `repeat` times (the
    last plan is kept, every run's planning time is listed), in a transaction rolled back
    so a FOR UPDATE leaves nothing locked."""
    from django.db import connection, transaction

    selects = [q for q in captured if q["sql"].lstrip().upper().startswith("SELECT")]
    selects.sort(key=lambda q: float(q["time"]), reverse=True)
    out = []
    for q in selects[:slowest]:
        planning = []
        with transaction.atomic(), connection.cursor() as cursor:
            for _ in range(repeat):
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {q['sql']}")
                lines = [line for (line,) in cursor.fetchall()]
                planning += [line.split(":")[1].strip() for line in lines if line.startswith("Planning Time")]
            transaction.set_rollback(True)
        sql = q["sql"] if len(q["sql"]) <= 400 else q["sql"][:400] + " ..."
        out.append(f"--- {float(q['time']) * 1000:.1f} ms in the request; planning time of {repeat} EXPLAIN runs: "
                   f"{', '.join(planning)}\n{sql}\n" + "\n".join(f"    {line}" for line in lines))
    return out


def outer_from(sql: str) -> int:
    """Where the outermost FROM starts, past subqueries in the select list."""
    depth = 0
    for i, char in enumerate(sql):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and sql.startswith(" FROM ", i):
            return i + 1
    return 0


def query_shapes(captured: list[dict]) -> list[str]:
    """The request's queries in order, the same statement with other values counted once."""
    counts: Counter = Counter()
    seconds: dict[str, float] = {}
    for q in captured:
        shape = re.sub(r"'[^']*'|\b\d+\b", "?", q["sql"])
        if shape.startswith("SELECT "):
            shape = "SELECT ... " + shape[outer_from(shape):]
        counts[shape] += 1
        seconds[shape] = seconds.get(shape, 0.0) + float(q["time"])
    return [f"{n:>4} x {seconds[shape] * 1000:>5.0f} ms  {shape[:150]}" for shape, n in counts.items()]


def explain(paths: dict[str, HotPath]) -> None:
    print("\nQueries of each path and EXPLAIN ANALYZE of the slowest, run right after the in-process request")
    for path in paths.values():
        print(f"\n=== {path.label}: {path.queries} queries, {path.db_ms:.1f} ms in Postgres")
        print("\n".join(query_shapes(path.captured)))
        for plan in path.plans:
            print(f"\n{plan}")


if __name__ == "__main__":
    main()
