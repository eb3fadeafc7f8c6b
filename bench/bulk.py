"""Bulk action speed: an admin assigns N waiting claims to a reviewer with a due date, and
releases the holds of N claims, at once, through annotations.services.bulk, directly and as
the Celery job a large selection runs as (bulk_job_create + bulk_job_run, in-process).

Creates a throwaway database (test_factcheck_bench_bulk), seeds N claims a reviewer holds
(inserted in bulk with triggers off: it is a throwaway database), then runs each bulk
action with the triggers on (the state trigger and the audit trail write their rows, as
in production). Prints the time, claims/s, the batches and the queries of every batch
(they must all be the same: a fixed number per batch, not per claim). Never gates CI.

    .venv/bin/python bench/bulk.py --claims 10000
"""

import argparse
import datetime
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

from seeding import fill_new_columns, in_throwaway_database  # noqa: E402  (after the settings module is named)

SEED = """
INSERT INTO annotations_claim (
    workspace_id, article_id, version_id, exact, prefix, suffix, start_offset, end_offset,
    anchor_status, claim_reviewed, claimant, claim_date, rating_id, rationale, state, revision,
    submitted_at, held_by_id, held_until, created_by_id, last_edited_by_id, created_at, updated_at)
SELECT %(ws)s, %(article)s, %(version)s, %(exact)s, '', '', %(start)s, %(end)s,
       'created', 'Restatement number ' || i, 'Claimant ' || (i %% 97), DATE '2015-10-01' + (i %% 30),
       %(rating)s, 'Rationale ' || i, %(state)s, 3, now() - interval '2 hours', %(holder)s,
       %(hold)s, %(author)s, %(author)s, now() - interval '3 days', now() - interval '1 hour'
  FROM generate_series(1, %(n)s) AS i
"""


def main() -> None:
    parser = argparse.ArgumentParser(description="Time bulk actions on N claims.")
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument("--actions", default="assign,release", help="assign needs annotations.services.assignments")
    args = parser.parse_args()

    in_throwaway_database("test_factcheck_bench_bulk", lambda: run(args))


def seed(desk, article, author, reviewer, n: int, *, held: bool) -> list[tuple[int, int | None]]:
    from datetime import timedelta

    from django.db import connection, transaction
    from django.utils import timezone

    version = article.versions.get()
    quote = "It’s a possibility, if we get the offer we’ll consider it"
    start = version.text.index(quote)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("SELECT coalesce(max(id), 0) FROM annotations_claim")
        after = cursor.fetchone()[0]
        cursor.execute(fill_new_columns(SEED), {
            "ws": desk.pk, "article": article.pk, "version": version.pk, "exact": quote, "start": start,
            "end": start + len(quote), "rating": desk.rating_scale.labels.get(name="Mostly true").pk,
            "state": "in_review" if held else "submitted", "holder": reviewer.pk if held else None,
            "hold": timezone.now() + timedelta(hours=1) if held else None, "author": author.pk, "n": n,
        })
        cursor.execute("SELECT id, revision FROM annotations_claim WHERE id > %s ORDER BY id", [after])
        items = [(claim_id, revision) for claim_id, revision in cursor.fetchall()]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE annotations_claim")
    return items


def run(args) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from annotations.models import AuditEvent, BulkJob, Claim, Role
    from annotations.services import bulk
    from annotations.services.articles import article_import
    from annotations.services.workspaces import membership_set, workspace_create

    users = get_user_model().objects
    admin, reviewer, author = (users.create_user(name, password=f"{name}-password", first_name=name.title())
                               for name in ("admin", "reviewer", "author"))
    desk = workspace_create(name="Bench desk", slug="bench")
    for user, role in ((admin, Role.ADMIN), (reviewer, Role.REVIEWER), (author, Role.ANNOTATOR)):
        membership_set(workspace=desk, user=user, role=role)
    text = (ROOT / "fixtures" / "articles" / "004_428bd4dd585685f7.txt").read_text()
    article = article_import(workspace=desk, text=text).article

    actions = [a for a in args.actions.split(",") if a in bulk.ACTIONS]
    due = (datetime.date.today() + datetime.timedelta(days=7)).isoformat()
    print(f"\nbulk actions on {args.claims:,} claims, batches of {bulk.BATCH_SIZE}")
    print(f"{'action':<8} {'path':<22} {'seconds':>8} {'claims/s':>10} {'batches':>8} {'queries/batch':>14} "
          f"{'applied':>8}")
    for action in actions:
        params = bulk.clean_params(workspace=desk, action=action, data={"assignee": "reviewer", "due": due})
        for path in ("service", "job"):
            items = seed(desk, article, author, reviewer, args.claims, held=action == "release")
            per_batch: list[int] = []
            admin = users.get(pk=admin.pk)  # a fresh user: the membership read counts, once
            with CaptureQueriesContext(connection) as ctx:
                mark = [0]

                def on_batch(result, done, ctx=ctx, mark=mark, per_batch=per_batch):
                    per_batch.append(len(ctx.captured_queries) - mark[0])
                    mark[0] = len(ctx.captured_queries)

                started = time.perf_counter()
                if path == "service":
                    result = bulk.bulk_apply(workspace=desk, actor=admin, action=action, items=items,
                                             params=params, on_batch=on_batch)
                    applied = len(result.applied)
                else:
                    created = bulk.bulk_job_create(workspace=desk, actor=admin, action=action, items=items,
                                                   params=params)
                    job = bulk.bulk_job_run(job_id=created.pk)
                    assert job is not None
                    applied = job.applied
                seconds = time.perf_counter() - started
            # Queries between two batch ends (the first batch also holds the one-off reads);
            # the job adds its progress write per batch.
            shape = ",".join(map(str, sorted(set(per_batch[1:])))) if per_batch else \
                f"{len(ctx.captured_queries) / -(-args.claims // bulk.BATCH_SIZE):.1f} avg"
            batches = -(-args.claims // bulk.BATCH_SIZE)
            print(f"{action:<8} {path:<22} {seconds:>8.2f} {args.claims / seconds:>10,.0f} {batches:>8} "
                  f"{shape:>14} {applied:>8}", flush=True)
            assert applied == args.claims, (action, path, applied)
    left = Claim.objects.filter(state="in_review").count()
    events = AuditEvent.objects.filter(action="claim.released").count()
    print(f"\nclaims still held: {left}; claim.released events on the trail: {events:,}; "
          f"bulk jobs: {BulkJob.objects.count()}")


if __name__ == "__main__":
    main()
