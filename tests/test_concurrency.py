"""Real parallel database connections (one per thread) racing for the same rows."""

import threading

import pytest
from django.db import connection

from annotations.errors import ConflictError
from annotations.models import Claim, Role
from annotations.services.claims import claim_create, claim_update
from annotations.services.workflow import claim_take_next
from annotations.services.workspaces import membership_set
from tests.conftest import ready_and_submit

pytestmark = pytest.mark.django_db(transaction=True)


def run_at_once(functions) -> list:
    """Start every function in its own thread (its own connection) at the same moment."""
    barrier = threading.Barrier(len(functions))
    results: list = [None] * len(functions)

    def runner(i, fn):
        try:
            barrier.wait()
            results[i] = fn()
        except Exception as exc:  # the result is the exception, to be asserted on
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i, fn)) for i, fn in enumerate(functions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def claims_on(article, author, n):
    version = article.versions.get()
    words = [w for w in set(version.text.split()) if len(w) > 3][:n]
    claims = []
    for word in words:
        start = version.text.index(word)
        claims.append(ready_and_submit(
            claim_create(actor=author, article=article, version=version, exact=word, start=start, end=start + len(word))
        ))
    return claims


def test_many_reviewers_taking_at_once_never_hold_the_same_claim(article, alice, make_user):
    claims = claims_on(article, alice, 12)
    reviewers = [make_user(f"reviewer{i}") for i in range(8)]
    for reviewer in reviewers:
        membership_set(workspace=article.workspace, user=reviewer, role=Role.REVIEWER)

    def take_all(reviewer):
        def go():
            taken = []
            while (claim := claim_take_next(workspace=article.workspace, actor=reviewer)) is not None:
                taken.append(claim.pk)
            return taken
        return go

    results = run_at_once([take_all(r) for r in reviewers])
    assert not [r for r in results if isinstance(r, Exception)], results
    taken = [pk for result in results for pk in result]
    assert sorted(taken) == sorted(c.pk for c in claims)  # each exactly once
    holders = dict(Claim.objects.values_list("pk", "held_by_id"))
    for reviewer, result in zip(reviewers, results, strict=True):
        assert all(holders[pk] == reviewer.pk for pk in result)


def test_two_conflicting_edits_exactly_one_applies(article, alice):
    version = article.versions.get()
    start = version.text.index("Not yet")
    claim = claim_create(actor=alice, article=article, version=version, exact="Not yet", start=start, end=start + 7)

    def edit(rationale):
        return lambda: claim_update(
            claim=Claim.objects.get(pk=claim.pk), actor=alice, revision=claim.revision, fields={"rationale": rationale}
        )

    for _ in range(5):
        claim.refresh_from_db()
        results = run_at_once([edit("first tab"), edit("second tab")])
        conflicts = [r for r in results if isinstance(r, ConflictError)]
        winners = [r for r in results if isinstance(r, Claim)]
        assert len(conflicts) == 1 and len(winners) == 1, results
        claim.refresh_from_db()
        assert claim.rationale == winners[0].rationale
