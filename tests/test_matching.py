"""Claim matching on the five demo articles: the claims they repeat find each other; the
scorer on the labelled pair set; the matching queue, coalescing, reuse of a verdict and the
per-desk threshold."""

import io
import json
import re

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError

from annotations import matching
from annotations.errors import PermissionDenied
from annotations.models import Claim, ClaimMatch
from annotations.services.articles import article_import
from annotations.services.claims import SourceChange, claim_create, claim_update
from annotations.services.matching import (
    claim_match_candidates,
    claim_match_coalesced,
    claim_match_decide,
    claim_match_find,
    claim_match_scores,
    claim_reuse_verdict,
    workspace_match_threshold_update,
)
from tests.conftest import ROOT

pytestmark = pytest.mark.django_db

ARTICLES = ROOT / "fixtures" / "articles"
PAIRS = ROOT / "tests" / "data" / "matching_pairs.jsonl"


def load_pair_set():
    rows = [json.loads(line) for line in PAIRS.read_text().splitlines() if line.strip()]
    paragraphs = [p for path in sorted(ARTICLES.glob("*.txt")) for p in re.split(r"\n+", path.read_text()) if p.strip()]
    return rows, paragraphs


def test_the_pair_set_is_read_off_the_articles():
    rows, _ = load_pair_set()
    texts = {path.name[:3]: path.read_text() for path in ARTICLES.glob("*.txt")}
    assert sum(r["label"] for r in rows) >= 40 and sum(1 for r in rows if not r["label"]) >= 80
    for row in rows:
        assert row["reason"] and row["a"]["article"] != row["b"]["article"]
        for side in (row["a"], row["b"]):
            assert side["quote"] in texts[side["article"]], side["quote"]
            assert side["restatement"]


@pytest.mark.parametrize("model", [False, True], ids=["words alone", "with the model"])
def test_the_scorer_on_the_pair_set_at_the_shipped_threshold(model, capsys):
    """At the default threshold (calibrated on this set, for each kind of score) precision is
    at least 0.9; recall reaches 0.9 with the sentence-embedding model, 0.8 on words alone."""
    from annotations import embeddings

    rows, paragraphs = load_pair_set()
    labels, scores = matching.pair_set_scores(rows, paragraphs, embed=embeddings.encode if model else None)
    assert all(("embedding" in s.parts) is model for s in scores)
    values = [s.score for s in scores]
    shipped = matching.evaluate(labels, values, matching.DEFAULT_THRESHOLD)
    calibrated = matching.evaluate(labels, values, matching.calibrate(labels, values))
    with capsys.disabled():
        print(f"\npair set ({'model' if model else 'words'}): shipped {shipped}, calibrated {calibrated}")
    assert shipped["precision"] >= 0.9
    assert shipped["recall"] >= (0.9 if model else 0.8)
    assert calibrated["threshold"] == pytest.approx(matching.DEFAULT_THRESHOLD, abs=0.03)


@pytest.mark.parametrize("model", [False, True], ids=["words alone", "with the model"])
def test_the_scorer_on_held_out_pairs(model):
    """The shipped threshold and the scale's centre were chosen on this same set; this asks
    what they cannot: calibrated on a random half of the pairs, how does the scorer do on the
    other half? The mean over 20 halvings (the bench prints it over 50)."""
    import random
    import statistics

    from annotations import embeddings

    rows, paragraphs = load_pair_set()
    labels, scores = matching.pair_set_scores(rows, paragraphs, embed=embeddings.encode if model else None)
    values = [s.score for s in scores]
    order, shuffle, recall, precision = list(range(len(rows))), random.Random(20151014), [], []
    for _ in range(20):
        shuffle.shuffle(order)
        fit, held_out = order[::2], order[1::2]
        threshold = matching.calibrate([labels[i] for i in fit], [values[i] for i in fit])
        e = matching.evaluate([labels[i] for i in held_out], [values[i] for i in held_out], threshold)
        recall.append(e["recall"])
        precision.append(e["precision"])
    assert statistics.mean(precision) >= 0.85
    assert statistics.mean(recall) >= (0.85 if model else 0.72)


def test_close_in_meaning_needs_both_vectors_and_a_high_cosine():
    abadi = Claim(claim_reviewed="Abadi would welcome Russian airstrikes", exact="I would welcome it.",
                  claimant="Haider al-Abadi")
    again = Claim(claim_reviewed="Iraq's premier would accept Russian bombing", exact="I would welcome it.",
                  claimant="Haider al-Abadi")
    assert matching.reason(abadi, again, similarity=0.70)["close_in_meaning"] is True  # z = 1.8
    assert matching.reason(abadi, again, similarity=0.60)["close_in_meaning"] is False  # z = 1.1
    assert matching.reason(abadi, again)["close_in_meaning"] is False  # no vectors


def test_a_state_and_its_official_are_not_different_claimants():
    state = matching.ClaimText.of(restatement="Russia would strike in Iraq on request", quote="", claimant="Russia")
    official = matching.ClaimText.of(restatement="Russia would strike Iraq if asked", quote="",
                                     claimant="Ilya Rogachev")
    moscow = matching.ClaimText.of(restatement="Russia would strike Iraq if asked", quote="", claimant="Moscow")
    other = matching.ClaimText.of(restatement="Iraq will ask for strikes", quote="", claimant="Hakim al-Zamili")
    assert matching.same_claimant(state, official) is None
    assert matching.same_claimant(state, moscow) is True
    assert matching.same_claimant(official, other) is False


def test_attribution_is_stripped_and_first_person_is_the_claimant():
    said = matching.content_words("Abadi said Baghdad would welcome Russian airstrikes", "Haider al-Abadi")
    assert said == ["iraq", "welcom", "russia", "airstrik"]
    mine = matching.content_words("“In actual fact, I would welcome it.”", "Haider al-Abadi")
    assert "abadi" in mine and "welcom" in mine
    assert matching.content_words("according to the Washington Post, Iraq has no request") == ["iraq", "not", "request"]


def test_a_different_claimant_separates_look_alikes():
    idf = matching.Idf.from_documents(load_pair_set()[1])
    bg = matching.DEFAULT_BACKGROUND
    abadi = matching.ClaimText.of(restatement="Abadi would welcome Russian airstrikes in Iraq",
                                  quote="I would welcome it.", claimant="Haider al-Abadi")
    again = matching.ClaimText.of(restatement="Iraq's prime minister would welcome Russian strikes",
                                  quote="In actual fact, I would welcome it.", claimant="Haider al-Abadi")
    shia = matching.ClaimText.of(restatement="Shia factions welcomed Russian airstrikes in Iraq",
                                 quote="two main Shia factions in Iraq welcomed prospective Russian airstrikes",
                                 claimant="Shia factions")
    assert matching.score(abadi, again, idf, bg).same_claimant is True
    assert matching.score(abadi, again, idf, bg).score > matching.score(again, shia, idf, bg).score

# (article file, quote, restatement as an editor would write it), grouped by the claim they make.
REPEATED = {
    "Russia would consider airstrikes in Iraq if asked": [
        ("000",
         ("Moscow has not yet received a request for military assistance from the Iraqi government in the fight "
          "against the Takfiri terror network, but it would consider such an appeal"),
         "Russia would consider an Iraqi request for military help"),
        ("001", "his country would consider launching the strikes if it gets “such a request from the Iraqi government",
         "Russia would consider strikes in Iraq if Baghdad asked"),
        ("002",
         ("Russia said it would consider extending its airstrikes against Daesh in Syria to include targets in Iraq if "
          "it received requests from Baghdad."),
         "Russia would consider extending airstrikes to Iraq on request"),
        ("004",
         ("Russia is ready to consider expanding its new military campaign beyond Syria to launch airstrikes in Iraq "
          "if Baghdad asks it to do so"),
         "Russia is ready to consider airstrikes in Iraq if Baghdad asks"),
    ],
    "Abadi would welcome Russian airstrikes": [
        ("001", "If we get the offer we will consider it and I would welcome it.",
         "Abadi would welcome Russian airstrikes in Iraq"),
        ("004", "In actual fact, I would welcome it.", "Iraq's prime minister would welcome Russian strikes"),
    ],
    "Zamili: in the coming days or weeks": [
        ("000", "I think in the upcoming few days or weeks Iraq will be forced to ask Russia to launch airstrikes",
         "Iraq will ask Russia for airstrikes within days or weeks"),
        ("002",
         "We might be obliged to request Russia to carry out air strikes in Iraq in the coming few days or weeks",
         "Baghdad may request Russian air strikes in the coming days or weeks"),
    ],
}
UNRELATED = [
    ("000", "the Russian airstrike campaign against foreign-backed terrorist forces across Syria",
     "Russia's Syria campaign was a major success"),
    ("001", "The Iraqi army has managed to push back the group from some northern territories, including from Tikrit",
     "The Iraqi army pushed Daesh out of Tikrit"),
    ("002",
     ("Iraq and a number of Iraqi factions backed by Iran are sceptical about the effectiveness of the strikes carried "
      "out by the US-led coalition in Syria."),
     "Iran-backed Iraqi factions doubt the US-led coalition's strikes"),
    ("004",
     "Baghdad said earlier this week that it had been sharing intelligence with Russia, Syria and Iran for some time",
     "Iraq shares intelligence with Russia, Syria and Iran"),
]


@pytest.fixture
def demo_claims(desk, alice):
    from annotations.services.matching import forget_desk

    forget_desk(desk)  # Redis db outlives the test database: no frequencies of an earlier run
    articles = {}
    for path in sorted(ARTICLES.glob("*.txt")):
        articles[path.name[:3]] = article_import(workspace=desk, text=path.read_text(), actor=alice).article

    def mark(code, quote, restatement):
        article = articles[code]
        version = article.versions.get()
        start = version.text.index(quote)
        claim = claim_create(
            actor=alice, article=article, version=version, exact=quote, start=start, end=start + len(quote)
        )
        return claim_update(claim=claim, actor=alice, revision=claim.revision, fields={"claim_reviewed": restatement})

    groups = {name: [mark(*spec) for spec in specs] for name, specs in REPEATED.items()}
    others = [mark(*spec) for spec in UNRELATED]
    return groups, others


def test_the_repeated_demo_claims_find_each_other(demo_claims, settings, capsys):
    """Every repeated claim is suggested at least one other telling of itself, the
    tellings of one claim are all linked through suggestions (so an editor reaches the
    existing verdict), and each scores its own group above every unrelated claim."""
    groups, others = demo_claims
    everything = [c for group in groups.values() for c in group] + others
    for claim in everything:
        claim_match_find(claim_id=claim.pk)
    unrelated = {c.pk for c in others}

    report, missed = [], []
    for name, group in groups.items():
        ids = {c.pk for c in group}
        linked = {group[0].pk}
        for _ in group:  # grow the set of claims reachable through suggestions
            reached = ClaimMatch.objects.filter(claim_id__in=linked, other_id__in=ids)
            linked |= set(reached.values_list("other_id", flat=True))
        assert linked == ids, f"{name}: not all tellings are linked"
        for claim in group:
            scores = claim_match_scores(claim=claim)
            suggested = set(ClaimMatch.objects.filter(claim=claim).values_list("other_id", flat=True))
            assert suggested & ids, f"{claim.claim_reviewed!r} found none of its other tellings"
            best_own = max(scores[o] for o in ids - {claim.pk} if o in scores)
            assert best_own > max(scores.get(o, 0) for o in unrelated), claim.claim_reviewed
            missed += [(claim.claim_reviewed, o.claim_reviewed, scores.get(o.pk)) for o in group
                       if o.pk != claim.pk and o.article_id != claim.article_id and o.pk not in suggested]
            report.append((claim.claim_reviewed, sorted(round(scores[o], 2) for o in ids - {claim.pk} if o in scores)))
    with capsys.disabled():
        print(f"\nmatching scores to the other tellings (threshold {settings.MATCH_THRESHOLD:.2f}):")
        for row in report:
            print("  ", row)
        print("   direct pairs below the threshold:", missed)
        print("   suggestions for the unrelated claims:", ClaimMatch.objects.filter(claim__in=others).count())


def test_a_dismissed_suggestion_does_not_come_back(demo_claims, alice):
    groups, _ = demo_claims
    first, second = groups["Abadi would welcome Russian airstrikes"]
    claim_match_find(claim_id=first.pk)
    match = ClaimMatch.objects.get(claim=first, other=second)
    claim_match_decide(match=match, actor=alice, status="dismissed")
    claim_match_find(claim_id=first.pk)
    claim_match_find(claim_id=second.pk)
    pair = ClaimMatch.objects.filter(claim__in=[first, second], other__in=[first, second])
    assert list(pair.values_list("status", flat=True)) == ["dismissed", "dismissed"]


def test_scores_stay_in_the_same_workspace_and_other_articles(demo_claims, other_desk):
    groups, _ = demo_claims
    claim = groups["Zamili: in the coming days or weeks"][0]
    scores = claim_match_scores(claim=claim)
    from annotations.models import Claim

    assert set(Claim.objects.filter(pk__in=scores).values_list("workspace_id", flat=True)) == {claim.workspace_id}
    assert claim.article_id not in set(Claim.objects.filter(pk__in=scores).values_list("article_id", flat=True))


def test_matching_has_its_own_queue():
    from factcheck.celery import app

    router = app.amqp.router
    assert router.route({}, "annotations.tasks.match_claim")["queue"].name == "matching"
    assert router.route({}, "annotations.tasks.check_source_link")["queue"].name == "celery"
    procfile = (ROOT / "Procfile").read_text()
    assert "--queues matching" in procfile and "--queues celery" in procfile


def test_a_burst_of_edits_runs_one_match(demo_claims, alice):
    groups, _ = demo_claims
    claim = groups["Abadi would welcome Russian airstrikes"][0]
    cache.delete_many([f"matching:done:{claim.pk}", f"matching:lock:{claim.pk}"])
    runs = [claim_match_coalesced(claim_id=claim.pk) for _ in range(5)]
    assert runs[0] and runs[0] >= 1 and runs[1:] == [-1] * 4  # the same revision is matched once
    claim = claim_update(claim=claim, actor=alice, revision=claim.revision, fields={"claimant": "Haider al-Abadi"})
    assert (claim_match_coalesced(claim_id=claim.pk) or 0) >= 1  # a new revision is matched again
    cache.add(f"matching:lock:{claim.pk}", 0, 60)  # another worker holds the claim
    claim = claim_update(claim=claim, actor=alice, revision=claim.revision, fields={"claimant": "Abadi"})
    assert claim_match_coalesced(claim_id=claim.pk) is None
    cache.delete(f"matching:lock:{claim.pk}")


def _rated(claim, actor):
    label = claim.workspace.rating_scale.labels.get(name="True")
    return claim_update(
        claim=claim, actor=actor, revision=claim.revision,
        fields={"rating": label, "rationale": "Abadi said so on France 24."},
        sources=[SourceChange(pk=None, fields={"url": "https://www.france24.com/en/abadi", "title": "Interview"})],
    )


def test_reuse_this_verdict_starts_the_draft_and_links_both_ways(demo_claims, alice, bob):
    groups, _ = demo_claims
    earlier, claim = groups["Abadi would welcome Russian airstrikes"]
    earlier = _rated(earlier, alice)
    claim_match_find(claim_id=claim.pk)
    match = ClaimMatch.objects.get(claim=claim, other=earlier)
    with pytest.raises(PermissionDenied):  # bob is a member, not the author
        claim_reuse_verdict(match=match, actor=bob, revision=claim.revision)
    claim = claim_reuse_verdict(match=match, actor=alice, revision=claim.revision)
    assert (claim.rating_id, claim.rationale) == (earlier.rating_id, earlier.rationale)
    assert list(claim.sources.values_list("url", flat=True)) == ["https://www.france24.com/en/abadi"]
    assert claim.reused_from_id == earlier.pk
    assert list(Claim.objects.get(pk=earlier.pk).reused_by.all()) == [claim]
    pair = ClaimMatch.objects.filter(claim__in=[claim, earlier], other__in=[claim, earlier])
    assert sorted(pair.values_list("status", flat=True)) == ["confirmed", "confirmed"]


def test_a_claim_without_a_verdict_is_not_reused(demo_claims, alice):
    groups, _ = demo_claims
    earlier, claim = groups["Abadi would welcome Russian airstrikes"]
    claim_match_find(claim_id=claim.pk)
    match = ClaimMatch.objects.get(claim=claim, other=earlier)
    with pytest.raises(ValidationError) as error:
        claim_reuse_verdict(match=match, actor=alice, revision=claim.revision)
    assert error.value.message_dict == {"other": ["The earlier claim has no verdict to reuse yet."]}
    assert Claim.objects.get(pk=claim.pk).reused_from_id is None


def test_decisions_recalibrate_the_desks_threshold(demo_claims, alice, desk):
    groups, others = demo_claims
    everything = [c for group in groups.values() for c in group] + others
    assert workspace_match_threshold_update(workspace_id=desk.pk) is None  # no decisions yet
    pairs = [(a, b) for a in everything for b in everything if a.pk < b.pk and a.article_id != b.article_id]
    same = {frozenset((a.pk, b.pk)) for g in groups.values() for a in g for b in g}
    confirmed = dismissed = 0
    for a, b in pairs:
        ok = frozenset((a.pk, b.pk)) in same
        if (ok and confirmed >= 5) or (not ok and dismissed >= 5):
            continue
        score = 0.9 if ok else 0.3 + 0.1 * dismissed
        ClaimMatch.objects.create(claim=a, other=b, score=score)
        ClaimMatch.objects.create(claim=b, other=a, score=score)
        match = ClaimMatch.objects.get(claim=a, other=b)
        claim_match_decide(match=match, actor=alice, status="confirmed" if ok else "dismissed")
        confirmed, dismissed = confirmed + ok, dismissed + (not ok)
    desk.refresh_from_db()
    assert desk.match_threshold == pytest.approx(0.9)


def test_the_editor_shows_the_reason_and_reuses_the_verdict(demo_claims, alice, client):
    from django.urls import reverse

    groups, _ = demo_claims
    earlier, claim = groups["Abadi would welcome Russian airstrikes"]
    _rated(earlier, alice)
    claim_match_find(claim_id=claim.pk)
    match = ClaimMatch.objects.get(claim=claim, other=earlier)
    client.force_login(alice)
    page = client.get(reverse("claim_edit", args=[claim.workspace.slug, claim.pk])).content.decode()
    assert "shared words: " in page and "welcome" in page and "Reuse this verdict" in page
    assert "Abadi said so on France 24." in page
    found = re.search(r'data-testid="match-reason">([^<]*)<', page)
    assert found is not None
    assert found[1].startswith("close in meaning · shared words: ")  # both restatements are embedded
    url = reverse("match_decide", args=[claim.workspace.slug, match.pk, "reuse"])
    assert client.post(url, {"revision": "x"}).status_code == 302
    assert Claim.objects.get(pk=claim.pk).reused_from_id is None  # refused: no revision
    client.post(url, {"revision": claim.revision})
    assert Claim.objects.get(pk=claim.pk).reused_from_id == earlier.pk
    assert "verdict reused" in client.get(reverse("claim_edit", args=[claim.workspace.slug, claim.pk])).content.decode()


# --- The sentence-embedding scorer in the service ------------------------------------------

def test_matching_embeds_restatements_once_and_again_when_reworded(demo_claims, alice):
    from annotations import embeddings
    from annotations.models import ClaimEmbedding

    groups, _ = demo_claims
    claim, other = groups["Abadi would welcome Russian airstrikes"]
    assert not ClaimEmbedding.objects.exists()  # nothing is embedded until a match runs
    found = {c.claim_id: c.score for c in claim_match_candidates(claim=claim)}
    assert "embedding" in found[other.pk].parts  # the candidate's vector was made and used
    stored = {e.claim_id: e for e in ClaimEmbedding.objects.all()}
    assert claim.pk in stored and other.pk in stored and stored[claim.pk].model == embeddings.MODEL
    assert stored[claim.pk].text_sha256 == embeddings.text_sha256(claim.claim_reviewed)
    assert len(bytes(stored[claim.pk].vector)) == 4 * embeddings.DIMENSIONS
    before = bytes(stored[claim.pk].vector)
    claim = claim_update(claim=claim, actor=alice, revision=claim.revision,
                         fields={"claim_reviewed": "Abadi would accept Russian bombing of Daesh in Iraq"})
    claim_match_candidates(claim=claim)
    again = ClaimEmbedding.objects.get(claim=claim)
    assert again.text_sha256 == embeddings.text_sha256(claim.claim_reviewed) and bytes(again.vector) != before
    assert ClaimEmbedding.objects.get(claim=other).updated_at == stored[other.pk].updated_at  # not redone


def test_with_the_model_off_matching_scores_words_alone(demo_claims, settings):
    from annotations.models import ClaimEmbedding

    settings.MATCHING_MODEL = "off"
    groups, _ = demo_claims
    claim, other = groups["Zamili: in the coming days or weeks"]
    candidates = {c.claim_id: c.score for c in claim_match_candidates(claim=claim)}
    assert "embedding" not in candidates[other.pk].parts
    assert claim_match_find(claim_id=claim.pk) >= 1
    assert ClaimMatch.objects.filter(claim=claim, other=other).exists()
    assert not ClaimEmbedding.objects.exists()


def test_a_match_with_every_vector_stored_reads_in_a_fixed_number_of_queries(demo_claims, django_assert_num_queries):
    groups, _ = demo_claims
    claim = groups["Russia would consider airstrikes in Iraq if asked"][0]
    claim_match_find(claim_id=claim.pk)  # embeds the claim and its candidates, warms the desk's caches
    with django_assert_num_queries(8) as captured:
        # 1 the claim with its desk, 2 the claim's stored vector, 3 candidates with their
        # vectors (one query, from the full-text index); then the suggestions' transaction
        # (a savepoint inside the test's): 4 savepoint, 5-6 withdraw stale suggestions both
        # ways, 7 the pairs already suggested or decided, 8 release the savepoint. Nothing is
        # inserted or updated: every suggestion exists with its score.
        claim_match_find(claim_id=claim.pk)
    assert "annotations_claimembedding e" in captured.captured_queries[2]["sql"]


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_matches_a_claim_with_the_model(celery_worker, desk, alice):
    """Through the matching queue: the worker loads the model, embeds both restatements and
    stores the suggestion both ways."""
    import time

    from annotations import tasks
    from annotations.models import ClaimEmbedding
    from annotations.services.matching import forget_desk

    forget_desk(desk)
    claims = []
    for code, quote, restatement in REPEATED["Abadi would welcome Russian airstrikes"]:
        text = (ARTICLES / next(p.name for p in ARTICLES.glob(f"{code}*.txt"))).read_text()
        article = article_import(workspace=desk, text=text, actor=alice).article
        version = article.versions.get()
        start = version.text.index(quote)
        claim = claim_create(actor=alice, article=article, version=version, exact=quote, start=start,
                             end=start + len(quote))
        claims.append(claim_update(claim=claim, actor=alice, revision=claim.revision,
                                   fields={"claim_reviewed": restatement, "claimant": "Haider al-Abadi"}))
    tasks.match_claim.delay(claims[1].pk)
    deadline = time.monotonic() + 120  # the first match loads the model
    while time.monotonic() < deadline and not ClaimMatch.objects.filter(claim=claims[1]).exists():
        time.sleep(0.5)
    assert set(ClaimMatch.objects.values_list("claim_id", "other_id")) == {
        (claims[1].pk, claims[0].pk), (claims[0].pk, claims[1].pk)}
    assert set(ClaimEmbedding.objects.values_list("claim_id", flat=True)) == {c.pk for c in claims}


def test_a_broken_model_leaves_matching_on_words(demo_claims, monkeypatch):
    """A model that cannot load or run (a broken install, out of memory) is logged once and
    the process matches on words alone: matches still find their pairs."""
    from annotations import embeddings

    groups, _ = demo_claims
    claim, other = groups["Zamili: in the coming days or weeks"]

    def broken():
        raise OSError("model.safetensors: No such file or directory")

    monkeypatch.setattr(embeddings, "_loaded", None)
    monkeypatch.setattr(embeddings, "_model", broken)
    monkeypatch.setattr(embeddings, "_broken", None)
    candidates = {c.claim_id: c.score for c in claim_match_candidates(claim=claim)}
    assert "embedding" not in candidates[other.pk].parts
    assert not embeddings.available() and "No such file" in (embeddings._broken or "")
    assert claim_match_find(claim_id=claim.pk) >= 1


def test_the_embedding_is_the_models_own():
    """embeddings.encode runs the model's modules directly: the same unit vectors as
    sentence-transformers' encode."""
    import numpy as np

    from annotations import embeddings

    texts = ["Russia would consider strikes in Iraq if Baghdad asked", "Abadi would welcome Russian airstrikes"]
    ours = np.stack([embeddings.vector(v) for v in embeddings.encode(texts)])
    reference = embeddings._model().encode(texts, normalize_embeddings=True, show_progress_bar=False)
    assert ours.shape == (2, embeddings.DIMENSIONS)
    assert np.allclose(ours, reference, atol=1e-5) and np.allclose(np.linalg.norm(ours, axis=1), 1, atol=1e-5)
    assert embeddings.cosine(embeddings.encode(texts[:1])[0], embeddings.encode(texts[1:])[0]) == pytest.approx(
        float(reference[0] @ reference[1]), abs=1e-5)


def test_matching_embed_fills_missing_and_stale_embeddings(demo_claims, alice, settings):
    from django.core.management import CommandError, call_command

    from annotations import embeddings
    from annotations.models import ClaimEmbedding

    groups, others = demo_claims
    everyone = [c for group in groups.values() for c in group] + others
    call_command("matching_embed", "--desk", "alice-desk", stdout=(out := io.StringIO()), stderr=io.StringIO())
    assert f"Embedded {len(everyone)} restatements; 0 were up to date." in out.getvalue()
    assert ClaimEmbedding.objects.count() == len(everyone)
    reworded = claim_update(claim=everyone[0], actor=alice, revision=everyone[0].revision,
                            fields={"claim_reviewed": "Russia would weigh a request from Iraq"})
    call_command("matching_embed", stdout=(out := io.StringIO()), stderr=io.StringIO())
    assert f"Embedded 1 restatements; {len(everyone) - 1} were up to date." in out.getvalue()
    assert ClaimEmbedding.objects.get(claim=reworded).text_sha256 == embeddings.text_sha256(reworded.claim_reviewed)
    with pytest.raises(CommandError, match="no desk with the slug"):
        call_command("matching_embed", "--desk", "nowhere")
    settings.MATCHING_MODEL = "off"
    with pytest.raises(CommandError, match="model is off"):
        call_command("matching_embed")
