"""The public pages: a desk's published verdicts, one verdict, its embeddable card.

Logged out throughout (the `client` fixture has no session): a reader needs no account.
"""

import json
import re
from datetime import date
from html.parser import HTMLParser

import pytest
from django.db import connection

from annotations.models import Claim, Publication
from annotations.publishing import views as public_views
from annotations.publishing.selectors import publication_search
from annotations.services.claims import SourceChange, claim_create, claim_update
from annotations.services.workflow import claim_decide, claim_reopen, claim_submit, claim_take
from tests.conftest import claim_in_state, expect_queries

pytestmark = pytest.mark.django_db

QUOTE = "It is a possibility."
RATIONALE = "Abadi said so to France 24.\nHe added that he would welcome the offer."
HOSTILE = "</script><script>alert(1)</script><!-- & --> “quoted” </SCRIPT >"
PUBLISHED_RECORD = "annotations_publication: the claim's records with their desk, if its pages are public"


class Parsed(HTMLParser):
    """The parts of a page the tests read: scripts, meta tags, links."""

    def __init__(self, html: str):
        super().__init__()
        self.scripts: list[tuple[dict, str]] = []
        self.meta: dict[str, str] = {}
        self.links: list[dict] = []
        self._script: dict | None = None
        self._text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            self._script, self._text = attrs, []
        elif tag == "meta" and "property" in attrs:
            self.meta[attrs["property"]] = attrs.get("content", "")
        elif tag in ("a", "link"):
            self.links.append({"tag": tag, **attrs})

    def handle_data(self, data):
        if self._script is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script, "".join(self._text)))
            self._script = None

    def json_ld(self) -> dict:
        blocks = [text for attrs, text in self.scripts if attrs.get("type") == "application/ld+json"]
        assert len(blocks) == 1, f"one JSON-LD block expected, found {len(blocks)}"
        return json.loads(blocks[0])


def approve(claim: Claim, crew) -> Claim:
    claim = claim_submit(claim=claim, actor=crew["author"], revision=claim.revision)
    claim = claim_take(claim=claim, actor=crew["reviewer"])
    return claim_decide(claim=claim, actor=crew["reviewer"], decision="approve", comment="", revision=claim.revision)


def write_claim(article, crew, *, quote=QUOTE, rating="Mostly true", **fields) -> Claim:
    """A draft of the author's with a restatement, claimant, date, rating, rationale and a source."""
    version = article.versions.get()
    start = version.text.index(quote)
    claim = claim_create(actor=crew["author"], article=article, version=version, exact=quote,
                         start=start, end=start + len(quote))
    values = {
        "claim_reviewed": "Abadi says Russian airstrikes in Iraq are possible",
        "claimant": "Haider al-Abadi",
        "claim_date": date(2015, 10, 1),
        "rating": article.workspace.rating_scale.labels.get(name=rating),
        "rationale": RATIONALE,
    } | fields
    return claim_update(claim=claim, actor=crew["author"], revision=claim.revision, fields=values, sources=[
        SourceChange(pk=None, fields={
            "url": "https://www.france24.com/en/interview-abadi", "title": "Interview with Haider al-Abadi",
            "publisher": "France 24", "quote": "It is a possibility.", "stance": "supports",
            "accessed_on": date(2015, 10, 2), "archive_url": "https://web.archive.org/web/2015/france24-abadi",
        }),
    ])


@pytest.fixture
def public_desk(desk):
    desk.public_pages = True
    desk.publisher_name = "Example Checks"
    desk.save(update_fields=["public_pages", "publisher_name"])
    return desk


@pytest.fixture
def news_article(article):
    article.url = "https://www.example.org/news/iraq-russia"
    article.publisher = "Example News"
    article.save(update_fields=["url", "publisher"])
    return article


@pytest.fixture
def published(public_desk, news_article, crew):
    return approve(write_claim(news_article, crew), crew)


def cache_control(response) -> set[str]:
    return {part.strip() for part in response["Cache-Control"].split(",")}


def in_force(claim) -> Publication:
    return Publication.objects.get(claim=claim, current=True)


def page_url(desk, claim, suffix=""):
    return f"/v/{desk.slug}/{claim.pk}/{suffix}"


def reopen_and_approve(claim, crew, *, reason: str, **fields) -> Claim:
    claim = claim_reopen(claim=claim, actor=crew["admin"], reason=reason, revision=claim.revision)
    if fields:
        claim = claim_update(claim=claim, actor=crew["author"], revision=claim.revision, fields=fields)
    return approve(claim, crew)


# --- The verdict page ----------------------------------------------------------------------

def test_the_verdict_page_shows_the_published_verdict_to_anyone(client, public_desk, published):
    response = client.get(page_url(public_desk, published))
    assert response.status_code == 200
    assert cache_control(response) == {"public", "max-age=60"}
    html = response.content.decode()
    assert "<h1 data-testid=\"claim-reviewed\">Abadi says Russian airstrikes in Iraq are possible</h1>" in html
    assert "Haider al-Abadi" in html and "1 October 2015" in html
    # The quote highlighted inside its paragraph, exactly at the published offsets.
    assert "Abadi said, “Not yet,” adding, “<mark>It is a possibility.</mark> If we get the offer" in html
    assert 'href="https://www.example.org/news/iraq-russia"' in html and "Example News" in html
    # The rating with the scale's explanation of it.
    assert "<strong>Mostly true</strong>" in html
    assert "Accurate, but needs clarification or more information." in html
    assert "4 on a scale from 1 to 5" in html
    assert "<p>Abadi said so to France 24.<br>He added that he would welcome the offer.</p>" in html
    assert 'href="https://www.france24.com/en/interview-abadi"' in html and "Interview with Haider al-Abadi" in html
    assert 'href="https://web.archive.org/web/2015/france24-abadi"' in html and "Archived copy" in html
    assert "None since it was published." in html
    # A public page: no desk navigation, no login, nothing of the desk's own pages.
    assert "/w/" not in html and "Log out" not in html and "/login/" not in html
    assert "Example Checks fact checks" in html


def test_the_page_carries_the_stored_claimreview_open_graph_and_canonical(client, public_desk, published, settings):
    record = in_force(published)
    response = client.get(page_url(public_desk, published))
    parsed = Parsed(response.content.decode())
    stored = json.loads(record.claimreview)
    assert parsed.json_ld() == stored
    canonical = f"{settings.SITE_URL}/v/{public_desk.slug}/{published.pk}/"
    assert stored["url"] == canonical  # ClaimReview points at this very page
    assert {"tag": "link", "rel": "canonical", "href": canonical} in parsed.links
    assert parsed.meta["og:type"] == "article"
    assert parsed.meta["og:url"] == canonical
    assert parsed.meta["og:title"] == "Fact check: Abadi says Russian airstrikes in Iraq are possible"
    assert parsed.meta["og:description"].startswith("Mostly true. Abadi said so to France 24.")
    assert parsed.meta["article:modified_time"] == record.date_modified.isoformat()
    # Framing is the embed's business only.
    assert response["X-Frame-Options"] == "DENY"


def test_a_rationale_with_a_script_stays_text(client, public_desk, news_article, crew):
    claim = approve(write_claim(news_article, crew, rationale=HOSTILE, claim_reviewed="Hostile <b>claim</b>"), crew)
    html = client.get(page_url(public_desk, claim)).content.decode()
    parsed = Parsed(html)
    # One script element, and it is data: the rationale did not close it or open another.
    assert [attrs.get("type") for attrs, _ in parsed.scripts] == ["application/ld+json"]
    assert "alert(1)</script>" not in html and "<script>alert" not in html and "<b>claim</b>" not in html
    block = parsed.scripts[0][1]
    assert "<" not in block and ">" not in block and "&" not in block
    assert parsed.json_ld() == json.loads(in_force(claim).claimreview)
    assert parsed.json_ld()["reviewRating"]["ratingExplanation"] == HOSTILE
    # On the page itself it reads as the text it is.
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_stored_link_that_is_not_http_never_becomes_an_href(client, public_desk, news_article, crew, monkeypatch):
    """Links are checked on the way in; the page does not rely on that alone."""
    from annotations.publishing import services

    snapshot_of = services.selectors.claim_publication_snapshot

    def hostile_snapshot(*, claim_id):
        snap = snapshot_of(claim_id=claim_id)
        snap["article"]["url"] = "javascript:alert(1)"
        snap["sources"][0]["archive_url"] = "JavaScript:alert(2)"
        snap["rating"]["color"] = "red; background: url(https://tracker.example/)"
        return snap

    monkeypatch.setattr(services.selectors, "claim_publication_snapshot", hostile_snapshot)
    claim = approve(write_claim(news_article, crew), crew)
    html = client.get(page_url(public_desk, claim)).content.decode()
    assert 'href="javascript' not in html.lower() and 'data-testid="article-link"' not in html
    assert "Archived copy" not in html
    assert "tracker.example" not in html and 'fill="#8c959f"' in html  # a neutral colour instead


def test_the_page_shows_what_was_published_not_the_live_rows(client, public_desk, published, news_article, crew):
    news_article.title = "A headline rewritten after publication"
    news_article.save(update_fields=["title"])
    html = client.get(page_url(public_desk, published)).content.decode()
    assert "A headline rewritten after publication" not in html
    assert in_force(published).snapshot["article"]["title"] in html

    claim = claim_reopen(claim=published, actor=crew["admin"], reason="Check the date.", revision=published.revision)
    claim_update(claim=claim, actor=crew["author"], revision=claim.revision,
                 fields={"claim_reviewed": "A draft restatement nobody approved"})
    response = client.get(page_url(public_desk, published))
    assert response.status_code == 410
    assert "A draft restatement nobody approved" not in response.content.decode()


# --- Withdrawn and corrected -----------------------------------------------------------------

def test_a_withdrawn_verdict_is_gone_with_its_note(client, public_desk, published, crew):
    claim_reopen(claim=published, actor=crew["admin"], reason="The quote was misattributed.",
                 revision=published.revision)
    withdrawal = Publication.objects.get(claim=published, kind="withdrawn")
    response = client.get(page_url(public_desk, published))
    assert response.status_code == 410
    html = response.content.decode()
    day = f"{withdrawal.date_modified.day} {withdrawal.date_modified:%B %Y}"
    assert f"This fact check was withdrawn on <time datetime=\"{withdrawal.date_modified.isoformat()}\">{day}" in html
    assert "Reason: The quote was misattributed." in html
    # What was withdrawn: the restatement and its rating.
    assert "“Abadi says Russian airstrikes in Iraq are possible”, claimed by Haider al-Abadi" in html
    assert "<strong>Mostly true</strong>" in html
    assert "application/ld+json" not in html  # nothing in force to describe
    assert 'name="robots" content="noindex"' in html

    embed = client.get(page_url(public_desk, published, "embed/"))
    assert embed.status_code == 410
    assert "Withdrawn on" in embed.content.decode() and "The quote was misattributed." in embed.content.decode()


def test_approving_again_shows_the_correction_and_every_earlier_record(client, public_desk, published, crew):
    first = in_force(published)
    claim = reopen_and_approve(published, crew, reason="The rating was too generous.",
                               rating=public_desk.rating_scale.labels.get(name="Half true"))
    correction = in_force(claim)
    response = client.get(page_url(public_desk, published))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<strong>Half true</strong>" in html
    entries = [entry.split("</li>")[0] for entry in html.split('data-testid="history-entry"')[1:]]
    assert [entry.split('data-kind="')[1].split('"')[0] for entry in entries] == ["corrected", "withdrawn", "published"]
    corrected, withdrawn, original = entries
    assert "Corrected on" in corrected and ":</strong> The rating was too generous." in corrected
    assert "Half true" in corrected and "in force" in corrected
    assert "Withdrawn on" in withdrawn and "The rating was too generous." in withdrawn
    assert "Published on" in original and "Mostly true" in original
    assert f"{first.date_modified:%H:%M}" in original
    stored = json.loads(correction.claimreview)
    assert Parsed(html).json_ld() == stored
    assert stored["dateModified"] > json.loads(first.claimreview)["dateModified"]
    assert stored["datePublished"] == json.loads(first.claimreview)["datePublished"]


# --- Who gets a 404 ------------------------------------------------------------------------------

def test_a_claim_never_published_is_not_found(client, public_desk, news_article, crew):
    for state in ("draft", "submitted", "in_review"):
        claim = claim_in_state(state, news_article, crew, quote={"draft": "Not yet", "submitted": "Kuralenko",
                                                                  "in_review": "Tikrit"}[state])
        for suffix in ("", "embed/"):
            assert client.get(page_url(public_desk, claim, suffix)).status_code == 404, (state, suffix)
    assert client.get(f"/v/{public_desk.slug}/99999999999999999999/").status_code == 404
    assert client.get("/v/no-such-desk/").status_code == 404


def test_another_desks_verdict_is_not_found_under_this_desk(client, public_desk, published, other_desk):
    other_desk.public_pages = True
    other_desk.save(update_fields=["public_pages"])
    for suffix in ("", "embed/"):
        assert client.get(page_url(other_desk, published, suffix)).status_code == 404
        assert client.get(page_url(public_desk, published, suffix)).status_code == 200


def test_a_desk_with_public_pages_off_answers_404_for_everything(client, public_desk, published, news_article, crew):
    withdrawn = approve(write_claim(news_article, crew, quote="Not yet"), crew)
    claim_reopen(claim=withdrawn, actor=crew["admin"], reason="Wrong.", revision=withdrawn.revision)
    public_desk.public_pages = False
    public_desk.save(update_fields=["public_pages"])
    urls = [f"/v/{public_desk.slug}/", f"/v/{public_desk.slug}/?q=Abadi"]
    urls += [page_url(public_desk, claim, suffix) for claim in (published, withdrawn) for suffix in ("", "embed/")]
    responses = {url: client.get(url) for url in urls}
    assert {url: r.status_code for url, r in responses.items()} == dict.fromkeys(urls, 404)
    # The same answer as a desk that does not exist: it says nothing about the verdicts.
    assert len({r.content for r in responses.values()} | {client.get("/v/no-such-desk/").content}) == 1


def test_a_desk_member_gets_the_same_page_a_shared_cache_may_keep(client, public_desk, published, crew):
    """Nothing on the public pages depends on who asks: no session read, no Vary: Cookie."""
    url = page_url(public_desk, published)
    anonymous = client.get(url)
    client.force_login(crew["admin"])
    client.get(url)
    with expect_queries(PUBLISHED_RECORD):
        member = client.get(url)
    assert member.content == anonymous.content
    assert "Cookie" not in member.get("Vary", "") and not member.cookies


def test_the_pages_answer_only_get_and_head(client, public_desk, published):
    assert client.post(page_url(public_desk, published)).status_code == 405
    assert client.head(page_url(public_desk, published)).status_code == 200


# --- The embeddable card ----------------------------------------------------------------------------

def test_the_embed_card_may_be_framed_and_runs_no_script(client, public_desk, published):
    response = client.get(page_url(public_desk, published, "embed/"))
    assert response.status_code == 200
    assert not response.has_header("X-Frame-Options")
    assert cache_control(response) == {"public", "max-age=60"}
    html = response.content.decode()
    assert "<script" not in html and not re.search(r"\son[a-z]+=", html)
    assert "<strong>Mostly true</strong>" in html and "Abadi says Russian airstrikes in Iraq are possible" in html
    assert f'href="/v/{public_desk.slug}/{published.pk}/"' in html and "Read the full fact check" in html
    assert '<base target="_blank">' in html


# --- The desk's index -------------------------------------------------------------------------------

@pytest.fixture
def three_verdicts(public_desk, news_article, crew):
    """Published oldest to newest: Abadi's quote, Rogachev's, and one about Kuralenko."""
    abadi = approve(write_claim(news_article, crew), crew)
    rogachev = approve(write_claim(
        news_article, crew, quote="such a request from the Iraqi government", claimant="Ilya Rogachev",
        claim_reviewed="Russia would strike in Iraq if Baghdad asked", rating="True"), crew)
    kuralenko = approve(write_claim(
        news_article, crew, quote="Lieutenant General Sergei Kuralenko", claimant="Russian defence ministry",
        claim_reviewed="A Russian general joins a task force in Baghdad", rating="Unverifiable"), crew)
    return [abadi, rogachev, kuralenko]


def listed(response) -> list[int]:
    return [int(part.split('"')[0]) for part in response.content.decode().split('data-claim="')[1:]]


def test_the_index_lists_verdicts_in_force_newest_first(client, public_desk, three_verdicts, crew):
    abadi, rogachev, kuralenko = three_verdicts
    withdrawn = claim_reopen(claim=rogachev, actor=crew["admin"], reason="Wrong.", revision=rogachev.revision)
    response = client.get(f"/v/{public_desk.slug}/")
    assert response.status_code == 200 and cache_control(response) == {"public", "max-age=60"}
    assert listed(response) == [kuralenko.pk, abadi.pk]
    assert "2 published verdicts." in response.content.decode()
    approve(Claim.objects.get(pk=withdrawn.pk), crew)  # corrected now: the newest
    assert listed(client.get(f"/v/{public_desk.slug}/")) == [rogachev.pk, kuralenko.pk, abadi.pk]


@pytest.mark.parametrize(("q", "expected"), [
    ("Baghdad", ["kuralenko", "rogachev"]),  # the restatements
    ("Rogachev", ["rogachev"]),  # the claimant
    ("defence ministry", ["kuralenko"]),  # the claimant, every word
    ("Sergei", ["kuralenko"]),  # the quote only
    ("possibilities", ["abadi"]),  # stemmed: the quote says "possibility"
    ('"Iraqi government"', ["rogachev"]),  # a phrase
    ("Baghdad -general", ["rogachev"]),
    ("Lavrov", []),
    ("   ", ["kuralenko", "rogachev", "abadi"]),
    ("<script>\x00", []),
])
def test_the_index_searches_restatement_claimant_and_quote(client, public_desk, three_verdicts, q, expected):
    ids = dict(zip(["abadi", "rogachev", "kuralenko"], [c.pk for c in three_verdicts], strict=True))
    response = client.get(f"/v/{public_desk.slug}/", {"q": q})
    assert response.status_code == 200
    assert listed(response) == [ids[name] for name in expected]
    if not expected:
        assert "No published verdict matches your search." in response.content.decode()
    assert "<script>" not in response.content.decode()


def test_the_search_can_read_the_index_of_verdicts_in_force(public_desk, three_verdicts):
    """With three rows Postgres rightly reads the desk's records and filters them. Pricing
    each evaluation of the search expression high shows whether the index can answer the
    search at all, which it can only if the query's expression is the index's, to the byte."""
    query = publication_search(workspace=public_desk, q="Baghdad")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL cpu_operator_cost = 10")
        plan = query.explain()
    assert "Bitmap Index Scan on publication_search_idx" in plan


def test_the_index_pages_through_with_the_search_kept(client, public_desk, three_verdicts, monkeypatch):
    monkeypatch.setattr(public_views, "PAGE_SIZE", 2)
    abadi, rogachev, kuralenko = three_verdicts
    first = client.get(f"/v/{public_desk.slug}/")
    assert listed(first) == [kuralenko.pk, rogachev.pk]
    assert 'href="?page=2"' in first.content.decode() and "Page 1 of 2" in first.content.decode()
    second = client.get(f"/v/{public_desk.slug}/", {"page": "2"})
    assert listed(second) == [abadi.pk] and 'href="?page=1"' in second.content.decode()
    assert listed(client.get(f"/v/{public_desk.slug}/", {"page": "many"})) == [kuralenko.pk, rogachev.pk]
    searched = client.get(f"/v/{public_desk.slug}/", {"q": "Baghdad or Abadi"}).content.decode()
    assert 'href="?q=Baghdad%20or%20Abadi&amp;page=2"' in searched


# --- Query budgets ----------------------------------------------------------------------------------

def test_the_verdict_page_reads_one_query(client, public_desk, published, crew):
    published = reopen_and_approve(published, crew, reason="Sharper rationale.", rationale="Sharper.")
    url = page_url(public_desk, published)
    client.get(url)
    with expect_queries(PUBLISHED_RECORD):
        assert client.get(url).status_code == 200
    with expect_queries("annotations_publication: the claim's latest record with its desk, if its pages are public"):
        assert client.get(f"{url}embed/").status_code == 200


def test_the_index_page_reads_three_queries_whatever_its_length(client, public_desk, three_verdicts):
    url = f"/v/{public_desk.slug}/"
    client.get(url)
    for params in ({}, {"q": "Baghdad"}):
        with expect_queries(
            "annotations_workspace: the desk by its slug, if its pages are public",
            "annotations_publication: how many verdicts in force (match)",
            "annotations_publication: the page of them, newest first",
        ):
            assert client.get(url, params).status_code == 200
