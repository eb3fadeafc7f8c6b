"""Claim matching across articles: "possibly the same claim as ..." suggestions.

A claim's text is its restatement plus its quote. Two signals, the better one counts:
- TF-IDF cosine over Postgres' English lexemes (to_tsvector), with document frequency
  counted over the paragraphs of the workspace's articles, so words every article uses
  ("Russia", "Iraq") weigh little and the telling ones ("welcome", "offer") weigh much;
- pg_trgm similarity of the two restatements, which catches the same claim restated in
  near-identical words.
On the demo articles TF-IDF separates the repeated claims from unrelated ones better than
trigram similarity of the quotes alone (see the note on the matching tests).
"""

import math
from collections import Counter

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from annotations.models import Claim, ClaimMatch, MatchStatus

MAX_CANDIDATES = 2000

CLAIM_LEXEMES = """
SELECT c.id, tsvector_to_array(to_tsvector('english', c.claim_reviewed || ' ' || c.exact)),
       CASE WHEN %(restatement)s <> '' AND c.claim_reviewed <> ''
            THEN similarity(lower(c.claim_reviewed), lower(%(restatement)s)) ELSE 0 END
  FROM annotations_claim c
 WHERE c.id = %(claim)s
    OR c.id IN (SELECT o.id FROM annotations_claim o
                 WHERE o.workspace_id = %(workspace)s AND o.article_id <> %(article)s
                 ORDER BY o.id DESC LIMIT %(limit)s)
"""
PARAGRAPH_FREQUENCY = """
WITH paragraphs AS (
    SELECT p.para
      FROM annotations_article a
      JOIN LATERAL (SELECT v.text FROM annotations_articleversion v WHERE v.article_id = a.id
                     ORDER BY v.number DESC LIMIT 1) latest ON true
      CROSS JOIN LATERAL regexp_split_to_table(latest.text, E'\\n+') AS p(para)
     WHERE a.workspace_id = %(workspace)s AND p.para ~ '\\S'
)
SELECT NULL, count(*) FROM paragraphs
UNION ALL
SELECT lexeme, count(*) FROM (
    SELECT DISTINCT para, unnest(tsvector_to_array(to_tsvector('english', para))) AS lexeme FROM paragraphs
) words WHERE lexeme = ANY(%(lexemes)s) GROUP BY lexeme
"""


def _weights(lexemes: list[str], df: Counter[str], n: int) -> dict[str, float]:
    tf = Counter(lexemes)
    return {w: (1 + math.log(k)) * math.log((n + 1) / (df.get(w, 0) + 1)) for w, k in tf.items()}


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    dot = sum(v * b.get(w, 0.0) for w, v in a.items())
    na, nb = math.sqrt(sum(v * v for v in a.values())), math.sqrt(sum(v * v for v in b.values()))
    return dot / (na * nb) if na and nb else 0.0


def claim_match_scores(*, claim: Claim) -> dict[int, float]:
    """Score every candidate claim (same workspace, another article) against this one."""
    with connection.cursor() as cursor:
        cursor.execute(CLAIM_LEXEMES, {"claim": claim.pk, "workspace": claim.workspace_id,
                                       "article": claim.article_id, "restatement": claim.claim_reviewed,
                                       "limit": MAX_CANDIDATES})
        rows = {row[0]: (row[1] or [], float(row[2])) for row in cursor.fetchall()}
        if claim.pk not in rows or len(rows) == 1:
            return {}
        vocabulary = sorted({w for lexemes, _ in rows.values() for w in lexemes})
        cursor.execute(PARAGRAPH_FREQUENCY, {"workspace": claim.workspace_id, "lexemes": vocabulary})
        df: Counter[str] = Counter()
        n = 1
        for lexeme, count in cursor.fetchall():
            if lexeme is None:
                n = max(1, count)
            else:
                df[lexeme] = count
    mine = _weights(rows[claim.pk][0], df, n)
    return {
        other: round(min(1.0, max(_cosine(mine, _weights(lexemes, df, n)), trigram)), 4)
        for other, (lexemes, trigram) in rows.items()
        if other != claim.pk
    }


@transaction.atomic
def claim_match_find(*, claim_id: int) -> int:
    """Store suggestions both ways for every candidate at or above MATCH_THRESHOLD.

    Idempotent. A dismissed or confirmed pair keeps its decision; suggestions that fell
    below the threshold (the claim was reworded) are withdrawn."""
    claim = Claim.objects.filter(pk=claim_id).first()
    if claim is None:
        return 0
    scores = {other: s for other, s in claim_match_scores(claim=claim).items() if s >= settings.MATCH_THRESHOLD}
    ClaimMatch.objects.filter(claim=claim, status=MatchStatus.SUGGESTED).exclude(other_id__in=scores).delete()
    ClaimMatch.objects.filter(other=claim, status=MatchStatus.SUGGESTED).exclude(claim_id__in=scores).delete()
    for other, score in scores.items():
        for a, b in ((claim.pk, other), (other, claim.pk)):
            match, created = ClaimMatch.objects.get_or_create(claim_id=a, other_id=b, defaults={"score": score})
            if not created and match.status == MatchStatus.SUGGESTED and match.score != score:
                ClaimMatch.objects.filter(pk=match.pk).update(score=score)
    return len(scores)


@transaction.atomic
def claim_match_decide(*, match: ClaimMatch, actor: User, status: str) -> ClaimMatch:
    """Confirm or dismiss a suggestion, for both claims of the pair."""
    from annotations.permissions import require

    require(actor, "annotations.view_claim", match.claim, "Only members of this desk decide on suggestions.")
    if status not in (MatchStatus.CONFIRMED, MatchStatus.DISMISSED):
        raise ValidationError({"status": "Confirm or dismiss the suggestion."})
    ClaimMatch.objects.filter(
        claim_id__in=[match.claim_id, match.other_id], other_id__in=[match.claim_id, match.other_id]
    ).update(status=status, decided_by=actor)
    match.refresh_from_db()
    return match
