"""Claim matching: quality on the labelled pair set, match time per claim at 10k and 100k
claims in a desk, and a worker's throughput.

1. Quality: tests/data/matching_pairs.jsonl (57 positive, 110 negative pairs read off the
   five demo articles) scored by the old scorer (TF-IDF over Postgres lexemes of restatement
   + quote, or pg_trgm similarity of the restatements, whichever is larger; fixed 0.25
   threshold; also at its own best threshold) and by the new one (annotations/matching.py,
   at the shipped threshold and at the calibrated one), with restatements and with them
   empty (quote only). Also a split-half check: threshold calibrated on one half of the
   pairs, measured on the other.
2. Latency: a throwaway database (dropped at the end) with one desk per size: synthetic
   articles whose sentences draw on a Zipf-distributed vocabulary (the demo articles' words
   first, then made-up ones), one claim per sentence with a restatement and a claimant,
   seeded with COPY through every trigger. For --samples random claims: the time of
   claim_match_find (fetch candidates from the indexes, score, store suggestions), p50/p95,
   and EXPLAIN of the candidate query (index or scan).
3. Throughput: matches per second of one worker process (claim_match_coalesced, sequential,
   fresh revisions), i.e. what one `matcher` worker of the Procfile drains.

    .venv/bin/python bench/matching.py                  # 10k and 100k
    .venv/bin/python bench/matching.py --claims 10000 --samples 100

Runs as a database superuser (see README, "Benchmarks"). Never gates CI.
"""

import argparse
import json
import math
import os
import random
import re
import signal
import statistics
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

SEED = 20151014
ARTICLES = ROOT / "fixtures" / "articles"
PAIRS = ROOT / "tests" / "data" / "matching_pairs.jsonl"


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


# --- Quality -----------------------------------------------------------------------------

def pair_set() -> tuple[list[dict], list[str]]:
    rows = [json.loads(line) for line in PAIRS.read_text().splitlines() if line.strip()]
    paragraphs = [p for path in sorted(ARTICLES.glob("*.txt")) for p in re.split(r"\n+", path.read_text()) if p.strip()]
    return rows, paragraphs


def old_scores(rows: list[dict], paragraphs: list[str], *, empty_restatements: bool) -> list[float]:
    """The scorer before issue 14 (annotations/services/matching.py at 7d7ee21), on pairs."""
    from django.db import connection

    def lexemes(cursor, text: str) -> list[str]:
        cursor.execute("SELECT tsvector_to_array(to_tsvector('english', %s))", [text])
        return cursor.fetchone()[0] or []

    with connection.cursor() as cursor:
        n = len(paragraphs)
        df: Counter[str] = Counter()
        for p in paragraphs:
            df.update(set(lexemes(cursor, p)))

        def weights(words: list[str]) -> dict[str, float]:
            tf = Counter(words)
            return {w: (1 + math.log(k)) * math.log((n + 1) / (df.get(w, 0) + 1)) for w, k in tf.items()}

        def cosine(a: dict[str, float], b: dict[str, float]) -> float:
            dot = sum(v * b.get(w, 0.0) for w, v in a.items())
            na, nb = math.sqrt(sum(v * v for v in a.values())), math.sqrt(sum(v * v for v in b.values()))
            return dot / (na * nb) if na and nb else 0.0

        out = []
        for row in rows:
            a, b = row["a"], row["b"]
            ra, rb = ("", "") if empty_restatements else (a["restatement"], b["restatement"])
            lexical = cosine(weights(lexemes(cursor, f"{ra} {a['quote']}")),
                             weights(lexemes(cursor, f"{rb} {b['quote']}")))
            trigram = 0.0
            if ra and rb:
                cursor.execute("SELECT similarity(lower(%s), lower(%s))", [ra, rb])
                trigram = float(cursor.fetchone()[0])
            out.append(round(min(1.0, max(lexical, trigram)), 4))
    return out


def quality() -> list[str]:
    from annotations import embeddings, matching

    rows, paragraphs = pair_set()
    labels = [int(r["label"]) for r in rows]
    lines = [(f"pair set: {sum(labels)} positive, {len(labels) - sum(labels)} negative pairs "
              f"({PAIRS.relative_to(ROOT)})"),
             f"  {'scorer':<62} {'threshold':>9} {'recall':>7} {'precision':>9} {'false pairs':>11}"]

    def line(name: str, scores: list[float], threshold: float) -> None:
        e = matching.evaluate(labels, scores, threshold)
        lines.append(f"  {name:<62} {threshold:>9.3f} {e['recall']:>7.2f} {e['precision']:>9.2f} "
                     f"{e['false_pairs']:>11}")

    for empty in (False, True):
        tag = "quote only" if empty else "restatement"
        old = old_scores(rows, paragraphs, empty_restatements=empty)
        line(f"old, fixed 0.25 ({tag})", old, 0.25)
        line(f"old, calibrated for precision 0.9 ({tag})", old, matching.calibrate(labels, old))
        for kind, embed in (("words", None), ("words+model", None if empty else embeddings.encode)):
            if empty and embed is None and kind != "words":
                continue  # no restatement, nothing for the model to embed
            _, new = matching.pair_set_scores(rows, paragraphs, empty_restatements=empty, embed=embed)
            values = [s.score for s in new]
            line(f"new {kind}, shipped threshold ({tag})", values, matching.DEFAULT_THRESHOLD)
            line(f"new {kind}, calibrated for precision 0.9 ({tag})", values, matching.calibrate(labels, values))
            if not empty:
                # Split-half, 50 random halvings: calibrate on one half, measure on the other.
                recall, precision = [], []
                order = list(range(len(rows)))
                shuffle = random.Random(SEED)
                for _ in range(50):
                    shuffle.shuffle(order)
                    fit, test = order[::2], order[1::2]
                    t = matching.calibrate([labels[i] for i in fit], [values[i] for i in fit])
                    e = matching.evaluate([labels[i] for i in test], [values[i] for i in test], t)
                    recall.append(e["recall"])
                    precision.append(e["precision"])
                lines.append(f"  {'new ' + kind + ', split half x50 (mean on the held-out half)':<72} "
                             f"{statistics.mean(recall):>7.2f} {statistics.mean(precision):>9.2f}")
    return lines


# --- Seeding -----------------------------------------------------------------------------

CLAIM_COLUMNS = [  # as bench/hot_paths.py seeds them
    "id", "workspace_id", "article_id", "version_id", "exact", "prefix", "suffix", "start_offset",
    "end_offset", "anchor_status", "anchor_score", "claim_reviewed", "claimant", "claim_date",
    "rating_id", "rationale", "state", "revision", "submitted_at", "held_by_id", "held_until",
    "first_approved_at", "last_approved_at", "created_by_id", "last_edited_by_id", "created_at",
    "updated_at",
]


def copy_rows(cursor, table: str, columns: list[str], rows) -> None:
    with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def vocabulary(rng: random.Random, size: int) -> list[str]:
    """Content words only (a desk's claims share few function words once they are dropped)."""
    from annotations import matching

    words = []
    seen = set()
    for path in sorted(ARTICLES.glob("*.txt")):
        for w in re.findall(r"[A-Za-z]+", path.read_text()):
            if w.lower() not in seen and len(w) > 2 and w.lower() not in matching.STOPWORDS:
                seen.add(w.lower())
                words.append(w.lower())
    syllables = ["ka", "lo", "mi", "ra", "ten", "vo", "shi", "ar", "en", "du", "bel", "no", "sta", "qui", "zor"]
    while len(words) < size:
        w = "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4)))
        if w not in seen:
            seen.add(w)
            words.append(w)
    rng.shuffle(words)
    return words


def desk_seed(*, slug: str, claims: int, rng: random.Random) -> int:
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from annotations import audit
    from annotations.anchoring import selectors_for
    from annotations.importing import canonical_text, text_sha256
    from annotations.models import Article, ArticleVersion, Claim, Role
    from annotations.services.workspaces import membership_set, workspace_create
    # Columns added since (other features' fields) take their model default.
    extra = [f for f in Claim._meta.concrete_fields if f.column not in CLAIM_COLUMNS and f.column != "reused_from_id"]
    columns = CLAIM_COLUMNS + [str(f.column) for f in extra]
    defaults = [json.dumps(d) if isinstance(d := f.get_default(), dict | list) else d for f in extra]

    started = time.perf_counter()
    words = vocabulary(rng, 30_000)
    weights = [1 / (rank + 1) for rank in range(len(words))]
    cumulative = []
    total = 0.0
    for w in weights:
        total += w
        cumulative.append(total)
    names = [f"{rng.choice(words).title()} {rng.choice(words).title()}" for _ in range(2000)]
    per_article = 20
    user = get_user_model().objects.create(username=f"{slug}-annotator")
    with audit.context(request="bench: seed matching"):
        workspace = workspace_create(name=f"Matching {slug}", slug=slug)
        membership_set(workspace=workspace, user=user, role=Role.ANNOTATOR)

    def sentence() -> str:
        n = rng.randint(10, 24)
        picked = rng.choices(words, cum_weights=cumulative, k=n)
        return " ".join(picked).capitalize() + "."

    say(f"[{slug}] seeding {claims // per_article} articles ...")
    articles, texts = [], []
    with audit.context(request="bench: seed matching"), transaction.atomic():
        for number in range(claims // per_article):
            sentences = [sentence() for _ in range(per_article)]
            text = canonical_text("\n".join([f"Report {number}", *sentences]))
            articles.append(Article(workspace=workspace, title=f"Report {number}", created_by=user,
                                    url=f"https://news.example.org/{slug}/{number}"))
            texts.append((text, sentences))
        articles = Article.objects.bulk_create(articles, batch_size=2000)
        versions = ArticleVersion.objects.bulk_create(
            [ArticleVersion(article=a, number=1, text=t, sha256=text_sha256(t), source_name="bench", created_by=user)
             for a, (t, _) in zip(articles, texts, strict=True)], batch_size=2000)
    now = datetime.now(UTC)
    rows = []
    claim_id = 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM annotations_claim")
        claim_id = cursor.fetchone()[0]
    for article, version, (text, sentences) in zip(articles, versions, texts, strict=True):
        for s in sentences:
            start = text.index(s)
            selectors = selectors_for(text, start, start + len(s))
            sw = s.rstrip(".").split()
            restatement = " ".join(rng.sample(sw, k=min(len(sw), rng.randint(5, 9)))).capitalize()[:120]
            claim_id += 1
            values = {
                "id": claim_id, "workspace_id": workspace.pk, "article_id": article.pk, "version_id": version.pk,
                "exact": selectors.exact, "prefix": selectors.prefix, "suffix": selectors.suffix,
                "start_offset": start, "end_offset": start + len(s), "anchor_status": "created",
                "anchor_score": None, "claim_reviewed": restatement, "claimant": rng.choice(names),
                "claim_date": None, "rating_id": None, "rationale": "", "state": "draft", "revision": 1,
                "submitted_at": None, "held_by_id": None, "held_until": None, "first_approved_at": None,
                "last_approved_at": None, "created_by_id": user.pk, "last_edited_by_id": user.pk,
                "created_at": now, "updated_at": now,
            }
            rows.append([values[c] for c in CLAIM_COLUMNS] + defaults)
    say(f"[{slug}] seeding {len(rows)} claims through the triggers ...")
    with audit.context(request="bench: seed matching"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE bench_claim ON COMMIT DROP AS "
                       f"SELECT {', '.join(columns)} FROM annotations_claim WITH NO DATA")
        copy_rows(cursor, "bench_claim", columns, rows)
        cursor.execute(f"INSERT INTO annotations_claim ({', '.join(columns)}) "
                       f"SELECT {', '.join(columns)} FROM bench_claim ORDER BY id")
        cursor.execute("SELECT setval(pg_get_serial_sequence('annotations_claim', 'id'), "
                       "(SELECT max(id) FROM annotations_claim))")
    seed_vectors(rows=[(r[0], r[CLAIM_COLUMNS.index("claim_reviewed")]) for r in rows], rng=rng, slug=slug)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE annotations_claim")
        cursor.execute("VACUUM ANALYZE annotations_claimembedding")
    say(f"[{slug}] seeded in {time.perf_counter() - started:.0f} s")
    return workspace.pk


def seed_vectors(*, rows: list[tuple[int, str]], rng: random.Random, slug: str) -> None:
    """Every seeded claim's restatement embedding, as a desk that has run for a while has
    them: random unit vectors (the made-up words mean nothing to the model, and reading and
    comparing a vector costs the same whatever it holds), with the right text digest."""
    import numpy as np
    from django.db import connection, transaction

    from annotations import embeddings

    say(f"[{slug}] seeding {len(rows)} embeddings ...")
    generator = np.random.default_rng(rng.randrange(2**32))
    copy_sql = "COPY annotations_claimembedding (claim_id, model, text_sha256, vector, updated_at) FROM STDIN"
    with transaction.atomic(), connection.cursor() as cursor, cursor.cursor.copy(copy_sql) as copy:
        now = datetime.now(UTC)
        for start in range(0, len(rows), 10_000):
            chunk = rows[start:start + 10_000]
            vectors = generator.standard_normal((len(chunk), embeddings.DIMENSIONS)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            for (pk, restatement), v in zip(chunk, vectors, strict=True):
                sha = embeddings.text_sha256(restatement.strip())
                copy.write_row([pk, embeddings.MODEL, sha, v.tobytes(), now])


# --- Latency and throughput --------------------------------------------------------------

def measure(*, workspace_id: int, samples: int, rng: random.Random, model: bool) -> dict:
    """`model`: with the sentence-embedding scorer; each matched claim's own vector is made
    in the match (as for a claim just created or reworded), its candidates' are stored."""
    from django.conf import settings
    from django.core.cache import cache
    from django.db import connection

    from annotations import embeddings
    from annotations.models import Claim, ClaimEmbedding, Workspace
    from annotations.services import matching as service

    settings.MATCHING_MODEL = "minilm" if model else "off"
    if model:
        embeddings.encode(["warm the model"])
    service.forget_desk(Workspace.objects.get(pk=workspace_id))
    ids = list(Claim.objects.filter(workspace_id=workspace_id).values_list("id", flat=True))
    picked = rng.sample(ids, samples)
    started = time.perf_counter()
    service.claim_match_find(claim_id=picked[0])  # fills the desk's word frequencies and background
    warm = time.perf_counter() - started
    times, candidates, found, fetch = [], [], [], []
    for pk in picked[1:]:
        # As for a claim just created or reworded: its own vector is made in the match (the
        # other claims, matched when they were made, have theirs).
        ClaimEmbedding.objects.filter(claim_id=pk).delete()
        t0 = time.perf_counter()
        found.append(service.claim_match_find(claim_id=pk))
        times.append((time.perf_counter() - t0) * 1000)
    idf = service.desk_idf(Workspace.objects.get(pk=workspace_id))
    for pk in picked[1:21]:
        claim = Claim.objects.get(pk=pk)
        t0 = time.perf_counter()
        service.claim_match_candidates(claim=claim)
        candidates.append((time.perf_counter() - t0) * 1000)
        query = " | ".join(service.query_words(claim.claim_reviewed, idf) + service.query_words(claim.exact, idf))
        t0 = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(service.CANDIDATES, {
                "workspace": claim.workspace_id, "article": claim.article_id, "claim": claim.pk, "query": query,
                "limit": service.CANDIDATES_LIMIT, "pool": service.POOL, "model": embeddings.MODEL,
            })
            cursor.fetchall()
        fetch.append((time.perf_counter() - t0) * 1000)
    # The plan of the candidate query for one claim: index or scan.
    claim = Claim.objects.get(pk=picked[1])
    query = " | ".join(service.query_words(claim.claim_reviewed, idf) + service.query_words(claim.exact, idf))
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + service.CANDIDATES, {
            "workspace": claim.workspace_id, "article": claim.article_id, "claim": claim.pk, "query": query,
            "limit": service.CANDIDATES_LIMIT, "pool": service.POOL, "model": embeddings.MODEL,
        })
        plan = [row[0] for row in cursor.fetchall()]
    # Throughput of one worker: coalesced matching of claims with fresh revisions.
    batch = rng.sample(ids, min(len(ids), samples))
    cache.delete_many([f"matching:done:{pk}" for pk in batch])
    ClaimEmbedding.objects.filter(claim_id__in=batch).delete()
    t0 = time.perf_counter()
    for pk in batch:
        service.claim_match_coalesced(claim_id=pk)
    throughput = len(batch) / (time.perf_counter() - t0)
    skipped_t0 = time.perf_counter()
    repeats = sum(1 for pk in batch if service.claim_match_coalesced(claim_id=pk) == -1)
    skipped = (time.perf_counter() - skipped_t0) / len(batch) * 1000
    return {
        "model": model, "claims": len(ids), "first_ms": warm * 1000,
        "p50": statistics.median(times), "p95": percentile(times, 0.95),
        "max": max(times), "candidates_p50": statistics.median(candidates),
        "fetch_p50": statistics.median(fetch), "fetch_p95": percentile(fetch, 0.95),
        "found_mean": statistics.mean(found),
        "throughput": throughput, "repeats_skipped": repeats, "repeat_ms": skipped, "plan": plan,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--samples", type=int, default=200, help="claims matched per desk size")
    parser.add_argument("--database", help="throwaway database name (default: DATABASE_URL's name + _matching)")
    parser.add_argument("--plans", action="store_true", help="print EXPLAIN ANALYZE of the candidate query")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    args.database = args.database or f"{connection.settings_dict['NAME']}_matching"
    connection.settings_dict["TEST"]["NAME"] = args.database
    say(f"creating and migrating a throwaway database ({args.database}) ...")
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        lines = quality()
        print("\n".join(lines), flush=True)
        rng = random.Random(SEED)
        results = []
        from annotations import embeddings

        for n in args.claims:
            workspace_id = desk_seed(slug=f"m{n}", claims=n, rng=rng)
            # Words alone first: the reference, the scorer as it was before the model.
            results.append(measure(workspace_id=workspace_id, samples=args.samples, rng=rng, model=False))
            if embeddings._installed():
                results.append(measure(workspace_id=workspace_id, samples=args.samples, rng=rng, model=True))
        print(f"\nmatch time per claim (claim_match_find: candidates from the indexes, scoring, storing), "
              f"{args.samples} claims per desk:")
        print(f"  {'claims':>8} {'scorer':>11} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} {'fetch+score p50':>16} "
              f"{'fetch p50/p95':>13} "
              f"{'first (cold) ms':>15} {'suggestions':>11} {'worker matches/s':>16} {'repeat skip ms':>14}")
        for r in results:
            scorer = "words+model" if r["model"] else "words"
            print(f"  {r['claims']:>8} {scorer:>11} {r['p50']:>7.1f} {r['p95']:>7.1f} {r['max']:>7.1f} "
                  f"{r['candidates_p50']:>16.1f} "
                  f"{r['fetch_p50']:>6.1f}/{r['fetch_p95']:<6.1f} "
                  f"{r['first_ms']:>15.0f} {r['found_mean']:>11.2f} {r['throughput']:>16.1f} {r['repeat_ms']:>14.2f}")
            uses = [s for s in ("claim_match_document_idx",)
                    if any(s in line for line in r["plan"])]
            scans = [line.strip() for line in r["plan"] if "Seq Scan" in line]
            print(f"    candidate query uses: {', '.join(uses) or 'no matching index'}"
                  f"{'; seq scans: ' + '; '.join(scans) if scans else ''}; "
                  f"{r['repeats_skipped']} of {args.samples} repeated tasks skipped by coalescing")
            if args.plans:
                print("    " + "\n    ".join(r["plan"]))
    finally:
        connection.close()
        connection.creation.destroy_test_db(args.database, verbosity=0)
        say(f"dropped {args.database}")


if __name__ == "__main__":
    main()
