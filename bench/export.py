"""Verdict export speed and memory, per format, beside Postgres' own COPY of the same rows.

Creates a throwaway database (test_factcheck_bench_export), seeds N approved verdicts
with one source each (inserted in bulk with triggers off: it is a throwaway database),
then streams GET /api/v1/verdicts/export?format=... through the whole Django stack,
consuming it as a client would. Prints rows/s, output size, and the peak growth of the
process' resident memory while the export ran, sampled every 10 ms. Never gates CI.

    .venv/bin/python bench/export.py --rows 10000
    .venv/bin/python bench/export.py --rows 100000
"""

import argparse
import os
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

SEED_CLAIMS = """
INSERT INTO annotations_claim (
    workspace_id, article_id, version_id, exact, prefix, suffix, start_offset, end_offset,
    anchor_status, claim_reviewed, claimant, claim_date, rating_id, rationale, state, revision,
    submitted_at, first_approved_at, last_approved_at, created_by_id, last_edited_by_id,
    created_at, updated_at)
SELECT %(ws)s, %(article)s, %(version)s, %(exact)s, %(prefix)s, %(suffix)s, %(start)s, %(end)s,
       'created', 'Restatement number ' || i, 'Claimant ' || (i %% 97), DATE '2015-10-01' + (i %% 30),
       %(rating)s, 'Rationale with "quotes", commas, and a' || E'\\n' || 'new line, number ' || i,
       'approved', 2, now() - interval '2 days', now() - interval '1 day', now() - interval '1 day',
       %(user)s, %(user)s, now() - interval '3 days', now() - (i || ' milliseconds')::interval
  FROM generate_series(1, %(n)s) AS i
"""
SEED_SOURCES = """
INSERT INTO annotations_source (claim_id, url, title, publisher, quote, stance, archive_url,
                                link_status, link_final_url, link_title, link_content_hash, link_error,
                                created_by_id, created_at, updated_at)
SELECT id, 'https://example.org/evidence/' || id, 'Evidence ' || id, 'Example Wire', 'A quote', 'supports', '',
       'ok', '', '', '', '', created_by_id, now(), now()
  FROM annotations_claim
"""
COPY_SAME_ROWS = """
COPY (SELECT c.*, a.title, a.url, a.publisher, v.number, v.sha256, v.created_at, r.name, r.value,
             u.username, s.url, s.title, s.publisher, s.quote, s.stance
        FROM annotations_claim c
        JOIN annotations_article a ON a.id = c.article_id
        JOIN annotations_articleversion v ON v.id = c.version_id
        LEFT JOIN annotations_ratinglabel r ON r.id = c.rating_id
        JOIN auth_user u ON u.id = c.created_by_id
        LEFT JOIN annotations_source s ON s.claim_id = c.id
       WHERE c.state = 'approved' ORDER BY c.updated_at, c.id) TO STDOUT
"""


def rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakRss:
    """Samples resident memory in a thread; `.growth` is the peak above the start."""

    def __enter__(self):
        self.start = self.peak = rss_bytes()
        self.running = True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self):
        while self.running:
            self.peak = max(self.peak, rss_bytes())
            time.sleep(0.01)

    def __exit__(self, *exc):
        self.running = False
        self.thread.join()
        self.growth = self.peak - self.start


def main() -> None:
    parser = argparse.ArgumentParser(description="Time the streaming verdict export per format.")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--formats", default="jsonl,csv,claimreview,w3c")
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    connection.settings_dict["TEST"]["NAME"] = "test_factcheck_bench_export"
    print("creating a throwaway database ...", file=sys.stderr)
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        run(args)
    finally:
        connection.close()
        connection.creation.destroy_test_db("test_factcheck_bench_export", verbosity=0)


def run(args) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.http import StreamingHttpResponse
    from django.test import Client

    from annotations.models import Role
    from annotations.services.articles import article_import
    from annotations.services.workspaces import membership_set, workspace_create

    user = get_user_model().objects.create_user("bench", password="bench-password")
    desk = workspace_create(name="Bench desk", slug="bench")
    membership_set(workspace=desk, user=user, role=Role.ADMIN)
    text = (ROOT / "fixtures" / "articles" / "004_428bd4dd585685f7.txt").read_text()
    article = article_import(workspace=desk, text=text).article
    version = article.versions.get()
    quote = "It’s a possibility, if we get the offer we’ll consider it"
    start = version.text.index(quote)
    rating = desk.rating_scale.labels.get(name="Mostly true")

    print(f"seeding {args.rows} approved verdicts with a source each ...", file=sys.stderr)
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        end = start + len(quote)
        cursor.execute(SEED_CLAIMS, {
            "ws": desk.pk, "article": article.pk, "version": version.pk, "exact": quote,
            "prefix": version.text[max(0, start - 32):start], "suffix": version.text[end:end + 32],
            "start": start, "end": end, "rating": rating.pk, "user": user.pk, "n": args.rows,
        })
        cursor.execute(SEED_SOURCES)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"seeded in {time.perf_counter() - started:.1f} s", file=sys.stderr)

    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor, for COPY
        started = time.perf_counter()
        size = 0
        with raw.copy(COPY_SAME_ROWS) as copy:
            for block in copy:
                size += len(block)
        copy_seconds = time.perf_counter() - started
    print(f"\n{args.rows} verdicts. Postgres COPY of the same rows (joined): {copy_seconds:.2f} s, "
          f"{args.rows / copy_seconds:,.0f} rows/s, {size / 1e6:.1f} MB\n")
    print(f"{'format':<12} {'seconds':>8} {'rows/s':>10} {'MB out':>8} "
          f"{'peak RSS +MB':>13} {'x COPY':>7} {'first byte ms':>14}")

    client = Client()
    client.force_login(user)
    client.get("/api/v1/verdicts/export?format=jsonl&workspace=bench&article=999999")  # warm up
    for fmt in args.formats.split(","):
        with PeakRss() as memory:
            started = time.perf_counter()
            response = client.get(f"/api/v1/verdicts/export?format={fmt}&workspace=bench")
            assert response.status_code == 200, response.content
            assert isinstance(response, StreamingHttpResponse), "the export is expected to stream"
            out = 0
            first_byte = None
            for chunk in response:
                if first_byte is None:
                    first_byte = (time.perf_counter() - started) * 1000
                out += len(chunk)
            seconds = time.perf_counter() - started
        print(f"{fmt:<12} {seconds:>8.2f} {args.rows / seconds:>10,.0f} {out / 1e6:>8.1f} "
              f"{memory.growth / 1e6:>13.1f} {seconds / copy_seconds:>7.1f} {first_byte:>14.0f}")


if __name__ == "__main__":
    main()
