"""Verdict export speed and memory, per format: the export of published records beside
Postgres' own COPY of the same joined rows and beside the old live-query export.

Creates a throwaway database (test_factcheck_bench_export), seeds N approved verdicts
with one source each (inserted in bulk with triggers off: it is a throwaway database) and
publishes them: each record rendered by `publishing.records.render`, as approval renders
it, and copied into the table in batches. Then streams
GET /api/v1/verdicts/export?format=... through the whole Django stack, consuming it as a
client would, and the same for the old export (live rows in keyset pages, rendered in
Python: bench/export_live.py, served at /bench/live-export). Prints rows/s, output size,
throughput as a multiple of COPY's, the peak growth of the process' resident memory while
the export ran (sampled every 10 ms) and the time to the first byte. Never gates CI.

    .venv/bin/python bench/export.py --rows 10000
    .venv/bin/python bench/export.py --rows 1000000
"""

import argparse
import json
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
VERDICTS_TO_PUBLISH = """
SELECT c.id, c.workspace_id, c.article_id, c.rating_id, c.claim_reviewed, c.claimant, c.claim_date, c.rationale,
       c.first_approved_at, c.last_approved_at, s.url, s.title
  FROM annotations_claim c JOIN annotations_source s ON s.claim_id = c.id
 WHERE c.id > %s ORDER BY c.id LIMIT %s
"""
COPY_RECORDS_IN = """
COPY annotations_publication (id, workspace_id, claim_id, kind, current, reason, article_id, rating_id,
                              date_published, date_modified, snapshot, jsonl, csv, claimreview, w3c,
                              created_by_id, created_at) FROM STDIN
"""
SEED_BATCH = 20_000


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
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of COPY and of each records export; the fastest counts")
    parser.add_argument("--no-live", action="store_true", help="skip the old live-query export (slow at 1M)")
    parser.add_argument("--explain", action="store_true", help="print the export's query plans")
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
    from django.test import Client, override_settings

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
    started = time.perf_counter()
    seed_records(user_id=user.pk)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE annotations_publication")
    print(f"published (records rendered and copied in) in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    if args.explain:
        explain(desk.pk)

    copy_seconds = float("inf")
    for _ in range(args.repeat):
        with connection.cursor() as cursor:
            raw = cursor.cursor  # psycopg's own cursor, for COPY
            started = time.perf_counter()
            size = 0
            with raw.copy(COPY_SAME_ROWS) as copy:
                for block in copy:
                    size += len(block)
            copy_seconds = min(copy_seconds, time.perf_counter() - started)
    copy_rate = args.rows / copy_seconds
    print(f"\n{args.rows} verdicts. Postgres COPY of the same rows (joined): {copy_seconds:.2f} s, "
          f"{copy_rate:,.0f} rows/s, {size / 1e6:.1f} MB (fastest of {args.repeat}; the records export "
          f"likewise, with its largest memory growth and slowest first byte; the live query once)\n")
    print(f"{'format':<12} {'export':<11} {'seconds':>8} {'rows/s':>10} {'MB out':>8} "
          f"{'peak RSS +MB':>13} {'x COPY':>7} {'first byte ms':>14}")

    client = Client()
    client.force_login(user)
    client.get("/api/v1/verdicts/export?format=jsonl&workspace=bench&article=999999")  # warm up
    paths = [("records", "/api/v1/verdicts/export?format={fmt}&workspace=bench")]
    if not args.no_live:
        paths.append(("live query", f"/bench/live-export?format={{fmt}}&workspace={desk.pk}"))
    with override_settings(ROOT_URLCONF="bench.export_live"):
        for fmt in args.formats.split(","):
            for name, url in paths:
                runs = [streamed(client, url.format(fmt=fmt)) for _ in range(args.repeat if name == "records" else 1)]
                seconds, out = min(run[0] for run in runs), runs[0][1]
                growth, first_byte = max(run[2] for run in runs), max(run[3] for run in runs)
                rate = args.rows / seconds
                print(f"{fmt:<12} {name:<11} {seconds:>8.2f} {rate:>10,.0f} {out / 1e6:>8.1f} "
                      f"{growth / 1e6:>13.1f} {rate / copy_rate:>7.2f} {first_byte:>14.0f}", flush=True)


def streamed(client, url: str) -> tuple[float, int, int, float]:
    """Seconds, bytes, peak RSS growth and milliseconds to the first byte of one export."""
    from django.http import StreamingHttpResponse

    with PeakRss() as memory:
        started = time.perf_counter()
        response = client.get(url)
        assert response.status_code == 200, response.content
        assert isinstance(response, StreamingHttpResponse), "the export is expected to stream"
        out = 0
        first_byte = None
        for chunk in response:
            if first_byte is None:
                first_byte = (time.perf_counter() - started) * 1000
            out += len(chunk)
        seconds = time.perf_counter() - started
    return seconds, out, memory.growth, first_byte or 0.0


def seed_records(*, user_id: int) -> None:
    """Publish every seeded verdict as approval would: its snapshot (the first verdict's,
    read by the selector approval uses, with each verdict's own fields and source), its
    texts rendered by `records.render`, the rows copied in SEED_BATCH at a time."""
    from django.db import connection, transaction

    from annotations import selectors
    from annotations.publishing import records
    from annotations.publishing.services import public_url

    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id) FROM annotations_claim")
        template = selectors.claim_publication_snapshot(claim_id=cursor.fetchone()[0])
    slug = template["workspace"]["slug"]
    after = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute(VERDICTS_TO_PUBLISH, [after, SEED_BATCH])
            rows = cursor.fetchall()
            if not rows:
                break
            with cursor.cursor.copy(COPY_RECORDS_IN) as copy:
                for (claim_id, ws, article, rating, restated, claimant, claim_date, rationale, first, last,
                     source_url, source_title) in rows:
                    snapshot = {
                        **template, "claim_id": claim_id, "claim_reviewed": restated, "claimant": claimant,
                        "claim_date": claim_date.isoformat(), "rationale": rationale,
                        "sources": [{"url": source_url, "title": source_title, "publisher": "Example Wire",
                                     "quote": "A quote", "stance": "supports", "accessed_on": None,
                                     "archive_url": ""}],
                    }
                    texts = records.render(snapshot, records.RecordFacts(
                        number=claim_id, date_published=first, date_modified=last, reason="",
                        public_url=public_url(workspace_slug=slug, claim_id=claim_id),
                    ))
                    copy.write_row((claim_id, ws, claim_id, "published", True, "", article, rating, first, last,
                                    json.dumps(snapshot), texts.jsonl, texts.csv, texts.claimreview, texts.w3c,
                                    user_id, last))
            after = rows[-1][0]
    with connection.cursor() as cursor:
        cursor.execute("SELECT setval(pg_get_serial_sequence('annotations_publication', 'id'), "
                       "(SELECT max(id) FROM annotations_publication))")


def explain(desk_id: int) -> None:
    """The plans of one desk's export and of two desks' (publication order across desks)."""
    from django.db import connection

    from annotations.publishing.exports import ExportFilters, records_query

    for workspaces in ((desk_id,), (desk_id, desk_id + 1)):
        sql, params = records_query(fmt="claimreview", filters=ExportFilters(workspaces=workspaces))
        select = sql.removeprefix("COPY (").rsplit(") TO STDOUT", 1)[0]
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN " + select, params)
            print(f"plan for desks {workspaces}:", *(row[0] for row in cursor.fetchall()), sep="\n  ",
                  file=sys.stderr)

if __name__ == "__main__":
    main()
