"""Server-side render time of an article page with N claims (default 1,000).

Creates a throwaway database (test_factcheck_bench), seeds one demo article with N
overlapping claims, renders the page with Django's test client R times and prints the
median and 95th percentile, plus the query count. Never gates CI.

    .venv/bin/python bench/render_article.py [--claims 1000] [--runs 30]
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    setup_test_environment()
    connection.settings_dict["TEST"]["NAME"] = "test_factcheck_bench"
    print("creating a throwaway database ...", file=sys.stderr)
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        from django.contrib.auth import get_user_model
        from django.test import Client
        from django.urls import reverse

        from annotations.models import Claim, Role
        from annotations.services.articles import article_import
        from annotations.services.workspaces import membership_set, workspace_create

        user = get_user_model().objects.create_user("bench", password="bench-password")
        desk = workspace_create(name="Bench", slug="bench")
        membership_set(workspace=desk, user=user, role=Role.ANNOTATOR)
        text = (ROOT / "fixtures" / "articles" / "004_428bd4dd585685f7.txt").read_text()
        article = article_import(workspace=desk, text=text).article
        version = article.versions.get()
        labels = list(desk.rating_scale.labels.all())
        span = 60
        room = len(version.text) - span
        Claim.objects.bulk_create(
            Claim(
                workspace=desk, article=article, version=version,
                exact=version.text[(i * 7) % room : (i * 7) % room + span],
                start_offset=(i * 7) % room, end_offset=(i * 7) % room + span,
                rating=labels[i % len(labels)], created_by=user, last_edited_by=user,
            )
            for i in range(args.claims)
        )
        client = Client()
        client.force_login(user)
        url = reverse("article_detail", args=[desk.slug, article.pk])
        client.get(url)  # warm up
        timings = []
        for _ in range(args.runs):
            with CaptureQueriesContext(connection) as ctx:
                started = time.perf_counter()
                response = client.get(url)
                timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        timings.sort()
        p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
        print(
            f"article page, {args.claims} claims, {len(response.content) // 1024} KiB: "
            f"median {statistics.median(timings):.1f} ms, p95 {p95:.1f} ms, "
            f"{len(ctx.captured_queries)} queries ({args.runs} runs)"
        )
    finally:
        connection.creation.destroy_test_db("test_factcheck_bench", verbosity=0)


if __name__ == "__main__":
    main()
