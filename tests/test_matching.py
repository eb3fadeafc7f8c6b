"""Claim matching on the five demo articles: the claims they repeat find each other."""

import pytest

from annotations.models import ClaimMatch
from annotations.services.articles import article_import
from annotations.services.claims import claim_create, claim_update
from annotations.services.matching import claim_match_decide, claim_match_find, claim_match_scores
from tests.conftest import ROOT

pytestmark = pytest.mark.django_db

ARTICLES = ROOT / "fixtures" / "articles"

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
