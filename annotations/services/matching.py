"""Claim matching across articles: "possibly the same claim as ..." suggestions.

Candidates come from an index (migration 0028): Postgres full text over restatement + quote,
queried with the claim's rarest words (OR-ed, best ts_rank first), never a scan of the
desk's claims. (A pg_trgm index over restatements was measured too: its recheck of every row
sharing a trigram cost 100 ms at 10k claims, and full text finds the same candidates.) They
are scored as claims by annotations/matching.py (attribution stripped, standardised scores
averaged, claimant boost/penalty) against the desk's own word frequencies and background,
both cached for an hour.

With the sentence-embedding model (annotations/embeddings.py, on unless MATCHING_MODEL=off
or its packages are missing) each claim's restatement is embedded once per text (the
ClaimEmbedding row, refreshed when the restatement or the model changes): the claim's own
when it is matched, a candidate's when it is first scored (at most CANDIDATES_LIMIT per match,
then stored; `manage.py matching_embed` fills a desk's in one go). The vectors come with the
candidates in the same query.

The task is coalesced: a match runs once per claim revision (a burst of N edits runs one
match, or two when the burst outlasts a match), one at a time per claim (a Redis lock);
it is routed to its own queue, "matching" (settings.CELERY_TASK_ROUTES).

The threshold is per desk (Workspace.match_threshold): recomputed from the desk's
confirm/dismiss decisions once there are enough of both, else matching.DEFAULT_THRESHOLD
(settings.MATCH_THRESHOLD), calibrated on tests/data/matching_pairs.jsonl.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q

from annotations import embeddings, matching
from annotations.errors import PermissionDenied
from annotations.models import Claim, ClaimEmbedding, ClaimMatch, MatchStatus, Workspace

CANDIDATES_LIMIT = 50
POOL = 400
# A query word in more than this share of the desk's paragraphs (and more than 50) finds too
# much to be telling.
COMMON_SHARE = 0.02
QUERY_WORDS = 4
MAX_SUGGESTIONS = 5  # the editor shows the best few
CACHE_SECONDS = 3600
LOCK_SECONDS = 120
BACKGROUND_CLAIMS = 400  # the desk needs this many claims to use its own background
# Decisions needed (of each kind) before a desk's threshold is recalibrated from them.
MIN_CONFIRMED = 5
MIN_DISMISSED = 5
THRESHOLD_RANGE = (0.2, 0.95)

MATCH_DOCUMENT = "to_tsvector('english'::regconfig, c.claim_reviewed::text || ' ' || c.exact)"
# Bounded whatever the desk's size: at most POOL claims (the latest) that share a query word
# are ranked, and only the best CANDIDATES_LIMIT are scored.
CANDIDATES = f"""
WITH hits AS MATERIALIZED (  -- from the index (a bitmap scan), never a walk of the table in id order
    SELECT c.id FROM annotations_claim c
     WHERE c.workspace_id = %(workspace)s AND {MATCH_DOCUMENT} @@ to_tsquery('english', %(query)s)
), pool AS (
    SELECT c.id, c.claim_reviewed, c.exact, c.claimant
      FROM annotations_claim c
     WHERE c.id IN (SELECT id FROM hits ORDER BY id DESC LIMIT %(pool)s)
       AND c.article_id <> %(article)s AND c.id <> %(claim)s
)
SELECT pool.id, pool.claim_reviewed, pool.exact, pool.claimant, e.vector, e.text_sha256
  FROM pool
  LEFT JOIN annotations_claimembedding e ON e.claim_id = pool.id AND e.model = %(model)s
 ORDER BY ts_rank(to_tsvector('english'::regconfig, pool.claim_reviewed::text || ' ' || pool.exact),
                  to_tsquery('english', %(query)s)) DESC, pool.id DESC
 LIMIT %(limit)s
"""
PARAGRAPHS = """
SELECT latest.text
  FROM annotations_article a
  JOIN LATERAL (SELECT v.text FROM annotations_articleversion v WHERE v.article_id = a.id
                 ORDER BY v.number DESC LIMIT 1) latest ON true
 WHERE a.workspace_id = %s
 ORDER BY a.id DESC LIMIT 500
"""
PLAIN_WORD = re.compile(r"^[a-z0-9]+$")


# A worker keeps a desk's word frequencies and background in memory for a few minutes
# (reading them from Redis for every match costs more than the match).
_memo: dict[str, tuple[float, object]] = {}
MEMO_SECONDS = 300


def _memoised(key: str, build):
    now = time.monotonic()
    hit = _memo.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    value = build()
    _memo[key] = (now + MEMO_SECONDS, value)
    return value


def desk_key(workspace: Workspace) -> str:
    """The desk in cache keys: its id and creation time (ids start again in a new database,
    Redis keeps its keys)."""
    return f"{workspace.pk}.{workspace.created_at.timestamp():.6f}"


def desk_idf(workspace: Workspace) -> matching.Idf:
    """Word frequencies over the paragraphs of the desk's articles (latest 500), cached."""
    key = desk_key(workspace)
    return _memoised(f"idf:{key}", lambda: _desk_idf(workspace.pk, key))


def desk_background(workspace: Workspace, idf: matching.Idf) -> matching.Background:
    key = desk_key(workspace)
    return _memoised(f"background:{key}:{embeddings.model_name() or 'lexical'}",
                     lambda: _desk_background(workspace.pk, key, idf))


def forget_desk(workspace: Workspace) -> None:
    """Drop the desk's cached word frequencies and background (here and in Redis)."""
    key = desk_key(workspace)
    cache.delete_many([f"matching:idf:{key}", f"matching:background:{key}:lexical",
                       f"matching:background:{key}:{embeddings.MODEL}"])
    _memo.pop(f"idf:{key}", None)
    _memo.pop(f"background:{key}:lexical", None)
    _memo.pop(f"background:{key}:{embeddings.MODEL}", None)


def _desk_idf(workspace_id: int, desk: str) -> matching.Idf:
    key = f"matching:idf:{desk}"
    data = cache.get(key)
    if data is None:
        with connection.cursor() as cursor:
            cursor.execute(PARAGRAPHS, [workspace_id])
            paragraphs = [p for (text,) in cursor.fetchall() for p in re.split(r"\n+", text) if p.strip()]
        idf = matching.Idf.from_documents(paragraphs)
        # A young desk's frequencies change with every article: keep them briefly.
        cache.set(key, {"df": dict(idf.df), "n": idf.n}, CACHE_SECONDS if len(paragraphs) >= 1000 else 60)
        return idf
    from collections import Counter

    return matching.Idf(Counter(data["df"]), data["n"])


def _desk_background(workspace_id: int, desk: str, idf: matching.Idf) -> matching.Background:
    """Scores of random pairs of the desk's claims (from different articles), cached; the
    demo desk's background until the desk has BACKGROUND_CLAIMS claims."""
    key = f"matching:background:{desk}:{embeddings.model_name() or 'lexical'}"
    data = cache.get(key)
    if data is not None:
        return matching.Background.from_json(data)
    model = embeddings.model_name()
    rows = list(
        Claim.objects.filter(workspace_id=workspace_id)
        .order_by("-id")
        .values_list("article_id", "claim_reviewed", "exact", "claimant",
                     "embedding__model", "embedding__text_sha256", "embedding__vector")[:BACKGROUND_CLAIMS]
    )
    if len(rows) < BACKGROUND_CLAIMS:
        background = matching.DEFAULT_BACKGROUND
    else:
        texts = [
            matching.ClaimText.of(restatement=r, quote=q, claimant=c,
                                  vector=embeddings.fresh(r, vector, sha) if m == model and model else None)
            for _, r, q, c, m, sha, vector in rows
        ]
        background = matching.Background.sample(texts, idf, groups=[a for a, *_ in rows], size=400)
    cache.set(key, background.to_json(), CACHE_SECONDS)
    return background


def desk_threshold(workspace: Workspace) -> float:
    if workspace.match_threshold is not None:
        return workspace.match_threshold
    return settings.MATCH_THRESHOLD


def query_words(text: str, idf: matching.Idf) -> list[str]:
    """The text's QUERY_WORDS rarest words (and the country a capital or demonym names), for
    to_tsquery: Postgres stems them itself; only plain words go into the query."""
    raw = {w for w in re.findall(r"[a-z0-9]+", text.lower())
           if w not in matching.STOPWORDS and w not in matching.ATTRIBUTION_WORDS and len(w) > 2}
    ranked = sorted(raw, key=lambda w: (-idf.weight(matching.stem(w)), w))[:QUERY_WORDS]
    telling = [w for w in ranked if idf.df.get(matching.stem(w), 0) <= max(COMMON_SHARE * idf.n, 50)]
    ranked = telling or ranked[:1]
    words = ranked + [matching.ALIASES[w] for w in ranked if w in matching.ALIASES]
    return [w for w in dict.fromkeys(words) if PLAIN_WORD.match(w)]


def claim_embeddings_store(*, texts: dict[int, str]) -> dict[int, bytes]:
    """Embed restatements (claim id -> text) and store them; returns the vectors (empty when
    the model is unavailable: the caller scores on words).

    One upsert statement, rows in claim id order, on its own and never inside the match's
    transaction: two workers storing overlapping candidates lock the rows in the same order
    and hold them only for that statement, so they cannot deadlock. A claim deleted
    meanwhile fails the foreign key: the vectors are still returned, nothing is stored.
    A vector stored from a wording that has since changed is never used (its digest differs:
    `embeddings.fresh`) and is made again the next time the claim is scored."""
    ids = sorted(pk for pk, text in texts.items() if text.strip())
    try:
        vectors = dict(zip(ids, embeddings.encode([texts[pk].strip() for pk in ids]), strict=True))
    except embeddings.Unavailable:
        return {}
    _vectors_save(texts=texts, vectors=vectors)
    return vectors


def _vectors_save(*, texts: dict[int, str], vectors: dict[int, bytes]) -> None:
    try:
        with transaction.atomic():
            ClaimEmbedding.objects.bulk_create(
                [ClaimEmbedding(claim_id=pk, model=embeddings.MODEL, vector=vector,
                                text_sha256=embeddings.text_sha256(texts[pk].strip()))
                 for pk, vector in sorted(vectors.items())],
                update_conflicts=True, unique_fields=["claim"],
                update_fields=["model", "text_sha256", "vector", "updated_at"],
            )
    except IntegrityError:
        pass


def _stored_vector(claim: Claim) -> bytes | None:
    row = ClaimEmbedding.objects.filter(claim=claim, model=embeddings.MODEL).values_list(
        "vector", "text_sha256").first()
    return embeddings.fresh(claim.claim_reviewed, *row) if row else None


_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _embedder() -> ThreadPoolExecutor:
    """One thread per worker process that embeds while the match reads its candidates
    (made on first use, so after a prefork worker has forked)."""
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="matching-embed")
        return _executor


@dataclass
class Candidate:
    claim_id: int
    score: matching.Score


@functools.lru_cache(maxsize=20_000)
def _claim_text(restatement: str, quote: str, claimant: str) -> matching.ClaimText:
    """A candidate prepared for scoring (its words stemmed, attribution stripped: a quarter of
    a millisecond), kept in the worker: the same claims come up as candidates again and again."""
    return matching.ClaimText.of(restatement=restatement, quote=quote, claimant=claimant)


def claim_match_candidates(*, claim: Claim) -> list[Candidate]:
    """The claim's candidates from the indexes, scored, best first."""
    idf = desk_idf(claim.workspace)
    query = " | ".join(query_words(claim.claim_reviewed, idf) + query_words(claim.exact, idf))
    if not query:
        return []
    restatement = claim.claim_reviewed.strip()
    use_model = embeddings.available() and bool(restatement)
    mine_vector = _stored_vector(claim) if use_model else None
    pending: Future[list[bytes]] | None = None
    if use_model and mine_vector is None:
        # The claim's own restatement is embedded in a thread while this one reads and
        # prepares the candidates: torch computes without the GIL, so the two overlap.
        pending = _embedder().submit(embeddings.encode, [restatement])
    with connection.cursor() as cursor:
        cursor.execute(CANDIDATES, {
            "workspace": claim.workspace_id, "article": claim.article_id, "claim": claim.pk,
            "query": query, "limit": CANDIDATES_LIMIT, "pool": POOL, "model": embeddings.MODEL,
        })
        rows = cursor.fetchall()
    prepared = {pk: _claim_text(r.strip(), q, c.strip()) for pk, r, q, c, *_ in rows}
    background = desk_background(claim.workspace, idf)
    if pending is not None:
        try:
            mine_vector = pending.result()[0]
        except embeddings.Unavailable:  # logged; this match and the next score words alone
            mine_vector = None
        else:
            _vectors_save(texts={claim.pk: restatement}, vectors={claim.pk: mine_vector})
    mine = matching.ClaimText.of(restatement=claim.claim_reviewed, quote=claim.exact, claimant=claim.claimant,
                                 vector=mine_vector)
    vectors: dict[int, bytes | None] = {}
    if mine_vector is not None:
        vectors = {pk: embeddings.fresh(r, vector, sha) for pk, r, _q, _c, vector, sha in rows}
        missing = {pk: r for pk, r, *_ in rows if vectors[pk] is None and r.strip()}
        if missing:  # candidates never embedded, or reworded since
            vectors.update(claim_embeddings_store(texts=missing))
    scored = [
        Candidate(pk, matching.score(mine, dataclasses.replace(prepared[pk], vector=vectors.get(pk)), idf, background))
        for pk, *_ in rows
    ]
    return sorted(scored, key=lambda c: -c.score.score)


def claim_match_scores(*, claim: Claim) -> dict[int, float]:
    """Scores (0..1) of the claim's candidates, by claim id."""
    return {c.claim_id: c.score.score for c in claim_match_candidates(claim=claim)}


def claim_match_find(*, claim_id: int) -> int:
    """Store suggestions both ways for every candidate at or above the desk's threshold.

    Idempotent. A dismissed or confirmed pair keeps its decision; suggestions that fell
    below the threshold (the claim was reworded) are withdrawn. Candidates are read and
    embedded first; only the suggestions are written in one transaction."""
    claim = Claim.objects.select_related("workspace").filter(pk=claim_id).first()
    if claim is None:
        return 0
    threshold = desk_threshold(claim.workspace)
    best = [c for c in claim_match_candidates(claim=claim) if c.score.score >= threshold][:MAX_SUGGESTIONS]
    with transaction.atomic():
        return _suggestions_store(claim=claim, scores={c.claim_id: c.score.score for c in best})


def _suggestions_store(*, claim: Claim, scores: dict[int, float]) -> int:
    ClaimMatch.objects.filter(claim=claim, status=MatchStatus.SUGGESTED).exclude(other_id__in=scores).delete()
    ClaimMatch.objects.filter(other=claim, status=MatchStatus.SUGGESTED).exclude(claim_id__in=scores).delete()
    existing = {
        (m.claim_id, m.other_id): m
        for m in ClaimMatch.objects.filter(claim_id__in=[claim.pk, *scores], other_id__in=[claim.pk, *scores])
        .filter(Q(claim=claim) | Q(other=claim))
    }
    new, changed = [], []
    for other, score in scores.items():
        for a, b in ((claim.pk, other), (other, claim.pk)):
            match = existing.get((a, b))
            if match is None:
                new.append(ClaimMatch(claim_id=a, other_id=b, score=score))
            elif match.status == MatchStatus.SUGGESTED and match.score != score:
                match.score = score
                changed.append(match)
    ClaimMatch.objects.bulk_create(new, ignore_conflicts=True)
    ClaimMatch.objects.bulk_update(changed, ["score"])
    return len(scores)


def claim_match_coalesced(*, claim_id: int) -> int | None:
    """Match the claim unless its current revision was matched already.

    Returns the number of suggestions, -1 when the revision was already matched (a task
    of the same burst did it), None when another worker is matching this claim right now
    (the caller sends the task again a little later)."""
    def version() -> str | None:
        row = Claim.objects.filter(pk=claim_id).values_list("revision", "updated_at").first()
        return None if row is None else f"{row[0]}@{row[1].timestamp():.6f}"

    revision = version()
    if revision is None:
        return 0
    done, lock = f"matching:done:{claim_id}", f"matching:lock:{claim_id}"
    if cache.get(done) == revision:
        return -1
    if not cache.add(lock, revision, LOCK_SECONDS):
        return None
    try:
        # Read again under the lock: the revision matched is the one now in the table.
        revision = version()
        if revision is None:
            return 0
        if cache.get(done) == revision:
            return -1
        found = claim_match_find(claim_id=claim_id)
        cache.set(done, revision, 24 * 3600)
        return found
    finally:
        cache.delete(lock)


def workspace_match_threshold_update(*, workspace_id: int) -> float | None:
    """Recalibrate the desk's threshold from its decisions: the lowest score at which the
    confirmed pairs make up 90% of the decided ones. Needs MIN_CONFIRMED confirmed and
    MIN_DISMISSED dismissed pairs; until then the desk keeps its threshold."""
    decided = list(
        ClaimMatch.objects.filter(
            claim__workspace_id=workspace_id, status__in=[MatchStatus.CONFIRMED, MatchStatus.DISMISSED]
        ).values_list("claim_id", "other_id", "status", "score")
    )
    pairs = {(min(a, b), max(a, b)): (status == MatchStatus.CONFIRMED, score) for a, b, status, score in decided}
    labels = [int(ok) for ok, _ in pairs.values()]
    if sum(labels) < MIN_CONFIRMED or len(labels) - sum(labels) < MIN_DISMISSED:
        return None
    threshold = matching.calibrate(labels, [s for _, s in pairs.values()], precision=0.9)
    threshold = min(max(threshold, THRESHOLD_RANGE[0]), THRESHOLD_RANGE[1])
    Workspace.objects.filter(pk=workspace_id).update(match_threshold=threshold)
    return threshold


@transaction.atomic
def claim_match_decide(*, match: ClaimMatch, actor: User, status: str) -> ClaimMatch:
    """Confirm or dismiss a suggestion, for both claims of the pair; the decision feeds the
    desk's threshold."""
    from annotations.permissions import require

    require(actor, "annotations.view_claim", match.claim, "Only members of this desk decide on suggestions.")
    if status not in (MatchStatus.CONFIRMED, MatchStatus.DISMISSED):
        raise ValidationError({"status": "Confirm or dismiss the suggestion."})
    ClaimMatch.objects.filter(
        claim_id__in=[match.claim_id, match.other_id], other_id__in=[match.claim_id, match.other_id]
    ).update(status=status, decided_by=actor)
    workspace_match_threshold_update(workspace_id=match.claim.workspace_id)
    match.refresh_from_db()
    return match


@transaction.atomic
def claim_reuse_verdict(*, match: ClaimMatch, actor: User, revision: int) -> Claim:
    """"Reuse this verdict": start the claim's draft from the earlier claim's rating,
    rationale and sources, and link the two (claim.reused_from, earlier.reused_by).

    Only the claim's author, while it is editable; the earlier claim must have a verdict.
    The pair counts as confirmed."""
    from annotations.permissions import require
    from annotations.services.claims import SOURCE_FIELDS, SourceChange, claim_update

    claim = Claim.objects.select_for_update().get(pk=match.claim_id)
    earlier = Claim.objects.select_related("rating").get(pk=match.other_id)
    require(actor, "annotations.view_claim", earlier, "Only members of this desk reuse its verdicts.")
    if earlier.workspace_id != claim.workspace_id:
        raise PermissionDenied("Only members of this desk reuse its verdicts.")
    if earlier.rating_id is None and not earlier.rationale:
        raise ValidationError({"other": "The earlier claim has no verdict to reuse yet."})
    sources = [
        SourceChange(pk=None, fields={name: getattr(s, name) for name in SOURCE_FIELDS})
        for s in earlier.sources.order_by("pk")
    ]
    claim = claim_update(
        claim=claim, actor=actor, revision=revision, sources=sources,
        fields={"rating": earlier.rating, "rationale": earlier.rationale},
    )
    Claim.objects.filter(pk=claim.pk).update(reused_from=earlier)
    ClaimMatch.objects.filter(
        claim_id__in=[claim.pk, earlier.pk], other_id__in=[claim.pk, earlier.pk]
    ).update(status=MatchStatus.CONFIRMED, decided_by=actor)
    claim.refresh_from_db()
    return claim
