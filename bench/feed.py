"""Partner change feed and webhook speed: reading the whole feed, the latency of one page,
and webhook deliveries per second to a local receiver.

Creates a throwaway database (test_factcheck_bench_feed, or --database), seeds N approved
verdicts with a source each and publishes them as bench/export.py does (its own seeding,
imported), then numbers the records in feed order as the insert trigger would (the bulk
copy runs with triggers off: it is a throwaway database). A partner of the desk gets a key.

Through the whole Django stack (the test client, `Authorization: Partner pk_...`):
the feed read from the start at limit=500 until an empty page, and the latency of one page
from random cursors at limit=100 and 500; beside them Postgres' COPY of the same records in
feed order. Then a receiver on 127.0.0.1 answering 204, one endpoint for the partner, and
the delivery task run in-process until the endpoint has caught up on --webhook-events
events (the last ones of the feed: each delivery is one POST). Never gates CI.

    .venv/bin/python bench/feed.py --events 5000
    .venv/bin/python bench/feed.py --events 100000
"""

import argparse
import importlib.util
import os
import random
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

FEED_IN_ORDER = """
UPDATE annotations_publication p SET feed_position = o.position
  FROM (SELECT id, row_number() OVER (ORDER BY id) AS position FROM annotations_publication) o
 WHERE p.id = o.id
"""
COPY_FEED = ("COPY (SELECT jsonl FROM annotations_publication WHERE workspace_id = {desk} "
             "ORDER BY feed_position) TO STDOUT")
PAGE_LIMIT = 500


def export_module() -> ModuleType:
    """bench/export.py, for its seeding (the bench folder is not a package)."""
    spec = importlib.util.spec_from_file_location("bench_export", ROOT / "bench" / "export.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description="Time the partner change feed and webhook deliveries.")
    parser.add_argument("--events", type=int, default=100_000, help="publication events to seed")
    parser.add_argument("--webhook-events", type=int, default=2000, help="events to deliver by webhook")
    parser.add_argument("--reads", type=int, default=100, help="single-page reads per limit, from random cursors")
    parser.add_argument("--database", default="test_factcheck_bench_feed", help="the throwaway database's name")
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    connection.settings_dict["TEST"]["NAME"] = args.database
    print("creating a throwaway database ...", file=sys.stderr)
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        run(args)
    finally:
        connection.close()
        connection.creation.destroy_test_db(args.database, verbosity=0)


def seed(*, events: int) -> tuple[object, object, str]:
    """The desk, its admin and a partner key; `events` published records in feed order."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from annotations.models import Role
    from annotations.publishing.partners import partner_create, partner_key_create
    from annotations.services.articles import article_import
    from annotations.services.workspaces import membership_set, workspace_create

    export = export_module()
    user = get_user_model().objects.create_user("bench", password="bench-password")
    desk = workspace_create(name="Bench desk", slug="bench")
    membership_set(workspace=desk, user=user, role=Role.ADMIN)
    text = (ROOT / "fixtures" / "articles" / "004_428bd4dd585685f7.txt").read_text()
    article = article_import(workspace=desk, text=text).article
    version = article.versions.get()
    quote = "It’s a possibility, if we get the offer we’ll consider it"
    start = version.text.index(quote)
    end = start + len(quote)
    rating = desk.rating_scale.labels.get(name="Mostly true")

    print(f"seeding {events} approved verdicts with a source each ...", file=sys.stderr)
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(export.SEED_CLAIMS, {
            "ws": desk.pk, "article": article.pk, "version": version.pk, "exact": quote,
            "prefix": version.text[max(0, start - 32):start], "suffix": version.text[end:end + 32],
            "start": start, "end": end, "rating": rating.pk, "user": user.pk, "n": events,
        })
        cursor.execute(export.SEED_SOURCES)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    export.seed_records(user_id=user.pk)
    with transaction.atomic(), connection.cursor() as cursor:
        # Past the immutability trigger as well as the numbering one: the records are new.
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(FEED_IN_ORDER)
        cursor.execute("SELECT setval('annotations_publication_feed_position_seq', "
                       "(SELECT max(feed_position) FROM annotations_publication))")
        cursor.execute("ANALYZE annotations_publication")
    print(f"seeded and published in {time.perf_counter() - started:.1f} s", file=sys.stderr)

    partner = partner_create(workspace=desk, actor=user, name="Bench Wire", contact_email="desk@wire.example",
                             throttle_rate="999999/min")
    key = partner_key_create(partner=partner, actor=user).key
    return desk, user, key


def run(args) -> None:
    from django.db import connection
    from django.test import Client

    from annotations.publishing import feed

    desk, user, key = seed(events=args.events)
    client = Client(HTTP_AUTHORIZATION=f"Partner {key}")

    def page_get(after: str, limit: int) -> dict:
        params: dict[str, str | int] = {"after": after, "limit": limit}
        response = client.get("/api/v1/feed/", params)
        assert response.status_code == 200, response.content
        return response.json()

    page_get("", 1)  # warm up: imports, connection, the plan

    print("reading the whole feed ...", file=sys.stderr)
    started = time.perf_counter()
    after, read, pages = "", 0, 0
    while True:
        page = page_get(after, PAGE_LIMIT)
        pages += 1
        if not page["events"]:
            break
        read += len(page["events"])
        after = page["next"]
    feed_seconds = time.perf_counter() - started
    assert read == args.events, f"the feed gave {read} events of {args.events}"

    with connection.cursor() as cursor:
        started = time.perf_counter()
        size = 0
        with cursor.cursor.copy(COPY_FEED.format(desk=int(desk.pk))) as copy:  # type: ignore[attr-defined]
            for block in copy:
                size += len(block)
        copy_seconds = time.perf_counter() - started

    print(f"timing {args.reads} single pages per limit ...", file=sys.stderr)
    latencies: dict[int, list[float]] = {}
    rng = random.Random(20151001)
    for limit in (100, PAGE_LIMIT):
        times = []
        for _ in range(args.reads):
            cursor_at = feed.cursor_encode(workspace_id=desk.pk, position=rng.randrange(0, args.events))  # type: ignore[attr-defined]
            started = time.perf_counter()
            page = page_get(cursor_at, limit)
            times.append((time.perf_counter() - started) * 1000)
            assert page["events"], "a random cursor inside the feed gave an empty page"
        latencies[limit] = times

    delivered, hook_seconds, received = webhooks_time(desk=desk, user=user, events=args.events,
                                                      wanted=args.webhook_events)

    feed_rate = read / feed_seconds
    copy_rate = args.events / copy_seconds
    print(f"\n{args.events} publication events, one desk.\n")
    print(f"{'what':<44} {'seconds':>8} {'events/s':>10} {'x COPY':>7}")
    print(f"{'feed, whole, limit=500 (' + str(pages) + ' pages)':<44} {feed_seconds:>8.2f} {feed_rate:>10,.0f} "
          f"{feed_rate / copy_rate:>7.3f}")
    print(f"{'Postgres COPY of jsonl in feed order':<44} {copy_seconds:>8.2f} {copy_rate:>10,.0f} {1:>7.3f}"
          f"   ({size / 1e6:.1f} MB)")
    print(f"{f'webhooks, {delivered} deliveries ({received} received)':<44} {hook_seconds:>8.2f} "
          f"{delivered / hook_seconds:>10,.0f} {'':>7}")
    print(f"\n{'one page':<16} {'reads':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for limit, times in latencies.items():
        cuts = statistics.quantiles(times, n=20)
        print(f"{f'limit={limit}':<16} {len(times):>6} {statistics.median(times):>8.1f} {cuts[18]:>8.1f} "
              f"{max(times):>8.1f}")


def webhooks_time(*, desk, user, events: int, wanted: int) -> tuple[int, float, int]:
    """Deliveries, seconds and the receiver's count: the endpoint starts `wanted` events
    before the end of the feed (position 0 when the feed is no longer) and the task runs
    until it has caught up."""
    from django.test import override_settings

    from annotations import tasks
    from annotations.models import Partner, WebhookEndpoint
    from annotations.publishing import webhooks

    received = 0
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            nonlocal received
            self.rfile.read(int(self.headers["Content-Length"]))
            with lock:
                received += 1
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with override_settings(LINKCHECK_ALLOW_LOOPBACK=True):
            partner = Partner.objects.get(workspace=desk)
            url = f"http://127.0.0.1:{server.server_address[1]}/hooks/factcheck"
            endpoint = webhooks.webhook_create(partner=partner, actor=user, url=url).record
            start = max(0, events - wanted)
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(last_position=start)
            goal = events - start
            print(f"delivering {goal} events by webhook ...", file=sys.stderr)
            delivered = 0
            started = time.perf_counter()
            while delivered < goal:
                done = tasks.deliver_webhooks.run(endpoint.pk)
                assert done, "a delivery run sent nothing before the endpoint caught up"
                delivered += done
            seconds = time.perf_counter() - started
        endpoint.refresh_from_db()
        assert endpoint.last_position == events, f"the endpoint stopped at {endpoint.last_position} of {events}"
    finally:
        server.shutdown()
        server.server_close()
    return delivered, seconds, received


if __name__ == "__main__":
    main()
