"""Speed and memory of a list page's "Download CSV" (annotations/csvexport.py): the
desk-wide claims list of N claims, whole and filtered, streamed through the whole Django
stack, beside Postgres' own COPY of the same joined rows.

Creates a throwaway database (test_factcheck_bench_csv), seeds N claims in every state
(inserted in bulk with triggers off: it is a throwaway database), then streams
GET /w/bench/claims/?download=csv as a client would. Prints rows/s, MB out, the multiple
of COPY's speed, the peak growth of the process' resident memory while the CSV streamed
(sampled every 10 ms: flat memory means it does not grow with N) and the time to the first
byte. Never gates CI.

    .venv/bin/python bench/csv_lists.py --claims 100000
"""

import argparse
import csv
import io
import os
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

from seeding import fill_new_columns, in_throwaway_database  # noqa: E402  (after the settings module is named)


def rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakRss:
    """Samples resident memory in a thread; `.growth` is the peak above the start (as in
    bench/export.py)."""

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

SEED_CLAIMS = """
INSERT INTO annotations_claim (
    workspace_id, article_id, version_id, exact, prefix, suffix, start_offset, end_offset,
    anchor_status, claim_reviewed, claimant, claim_date, rating_id, rationale, state, revision,
    submitted_at, first_approved_at, last_approved_at, created_by_id, last_edited_by_id, created_at, updated_at)
SELECT %(ws)s, %(article)s, %(version)s, %(exact)s, '', '', %(start)s, %(end)s,
       'created', 'Restatement, with "quotes" and a comma, number ' || i, 'Claimant ' || (i %% 97),
       DATE '2015-10-01' + (i %% 30), %(rating)s, 'Rationale ' || i,
       (ARRAY['draft', 'submitted', 'approved', 'changes_requested', 'rejected'])[1 + i %% 5], 2,
       now() - interval '2 days',
       CASE WHEN i %% 5 = 2 THEN now() - interval '1 day' END, CASE WHEN i %% 5 = 2 THEN now() - interval '1 day' END,
       %(user)s, %(user)s, now() - interval '3 days', now() - (i || ' seconds')::interval
  FROM generate_series(1, %(n)s) AS i
"""
COPY_SAME_ROWS = """
COPY (SELECT c.id, a.title, a.url, c.exact, c.claim_reviewed, c.claimant, c.claim_date, r.name, c.state,
             u.username, h.username, c.submitted_at, c.updated_at, c.revision
        FROM annotations_claim c
        JOIN annotations_article a ON a.id = c.article_id
        LEFT JOIN annotations_ratinglabel r ON r.id = c.rating_id
        JOIN auth_user u ON u.id = c.created_by_id
        LEFT JOIN auth_user h ON h.id = c.held_by_id
       WHERE c.workspace_id = %s {where} ORDER BY c.updated_at DESC, c.id DESC) TO STDOUT WITH (FORMAT csv, HEADER)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description="Time the CSV of the claims list.")
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the fastest counts")
    args = parser.parse_args()

    in_throwaway_database("test_factcheck_bench_csv", lambda: run(args))


def run(args) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
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
    print(f"seeding {args.claims:,} claims ...", file=sys.stderr)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(fill_new_columns(SEED_CLAIMS), {
            "ws": desk.pk, "article": article.pk, "version": version.pk, "exact": quote, "start": start,
            "end": start + len(quote), "rating": desk.rating_scale.labels.get(name="Mostly true").pk,
            "user": user.pk, "n": args.claims,
        })
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    client = Client()
    client.force_login(user)
    client.get("/w/bench/claims/?download=csv&state=in_review")  # warm up
    print(f"\nCSV of the claims list, {args.claims:,} claims in the desk (fastest of {args.repeat})")
    print(f"{'list':<22} {'how':<10} {'rows':>8} {'seconds':>8} {'rows/s':>10} {'MB out':>7} "
          f"{'peak RSS +MB':>13} {'x COPY':>7} {'first byte ms':>14}")
    for name, query, where in (("all claims", "", ""), ("state=approved", "&state=approved",
                                                         "AND c.state = 'approved'")):
        copy_seconds, copied = float("inf"), 0
        for _ in range(args.repeat):
            with connection.cursor() as cursor:
                started = time.perf_counter()
                copied = 0
                with cursor.cursor.copy(COPY_SAME_ROWS.format(where=where).replace("%s", str(desk.pk))) as copy:
                    for block in copy:
                        copied += len(block)
                copy_seconds = min(copy_seconds, time.perf_counter() - started)
        runs = [streamed(client, f"/w/bench/claims/?download=csv{query}") for _ in range(args.repeat)]
        seconds = min(r[0] for r in runs)
        out, rows = runs[0][1], runs[0][4]
        growth, first_byte = max(r[2] for r in runs), max(r[3] for r in runs)
        copy_rate = rows / copy_seconds
        print(f"{name:<22} {'COPY':<10} {rows:>8,} {copy_seconds:>8.2f} {copy_rate:>10,.0f} {copied / 1e6:>7.1f} "
              f"{'':>13} {1:>7.2f} {'':>14}")
        print(f"{name:<22} {'page CSV':<10} {rows:>8,} {seconds:>8.2f} {rows / seconds:>10,.0f} {out / 1e6:>7.1f} "
              f"{growth / 1e6:>13.1f} {(rows / seconds) / copy_rate:>7.2f} {first_byte:>14.0f}", flush=True)


def streamed(client, url: str) -> tuple[float, int, int, float, int]:
    """Seconds, bytes, peak RSS growth, ms to the first byte and data rows of one CSV."""
    from django.http import StreamingHttpResponse

    with PeakRss() as memory:
        started = time.perf_counter()
        response = client.get(url)
        assert response.status_code == 200
        assert isinstance(response, StreamingHttpResponse), "the CSV is expected to stream"
        out, first_byte, lines = 0, None, 0
        tail = b""
        for chunk in response:
            if first_byte is None:
                first_byte = (time.perf_counter() - started) * 1000
            out += len(chunk)
            tail = chunk
            lines += 1
        seconds = time.perf_counter() - started
    assert tail.count(b"\n") >= 1
    # Every yielded chunk is one CSV record (the header first); the seeded cells hold no new line.
    assert next(csv.reader(io.StringIO(tail.decode("utf-8"))))
    return seconds, out, memory.growth, first_byte or 0.0, lines - 1


if __name__ == "__main__":
    main()
