"""Every page's query budget, written out query by query (the healthchecks way).

The desk is filled with several claims in every state, sources and reviews, so a query
per row (N+1) shows up as a query over budget; a failure prints the SQL that ran.
"""

import pytest
from django.urls import reverse

from annotations.models import ExportJob, Source
from annotations.services.claims import claim_create
from annotations.services.tokens import api_token_create
from tests.conftest import claim_in_state, expect_queries, ready_and_submit

pytestmark = pytest.mark.django_db

QUOTES = ["It is a possibility.", "Not yet", "massive information", "Daesh Takfiri militant group",
          "Kuralenko", "Tikrit", "Ramadi and Mosul", "Salahuddin province"]

SESSION = ("django_session: the session", "auth_user: the logged-in user")
DESK = "annotations_membership: the desk by its slug, with the user's membership (access.workspace_get)"
# Every desk page's top bar, read once when base.html renders (annotations/context_processors.py).
NAV = ("annotations_membership: the top bar: my desks with my role, the current desk's waiting count "
       "and my time zone (selectors.desk_nav)")


def add_claims(article, author, quotes):
    version = article.versions.get()
    claims = []
    for quote in quotes:
        start = version.text.index(quote)
        # Submitted: what the queue and "my claims" list.
        claim = ready_and_submit(claim_create(actor=author, article=article, version=version, exact=quote,
                                              start=start, end=start + len(quote)))
        Source.objects.create(claim=claim, url=f"https://example.org/{start}", created_by=author,
                              link_status="broken" if start % 2 else "ok")
        claims.append(claim)
    return claims


@pytest.fixture
def busy_desk(desk, article, crew):
    """Six waiting claims with sources, one held by the reviewer, one approved, an export job."""
    add_claims(article, crew["author"], QUOTES[:6])
    held = claim_in_state("in_review", article, crew, quote=QUOTES[6])
    approved = claim_in_state("approved", article, crew, quote=QUOTES[7])
    for _ in range(3):
        ExportJob.objects.create(workspace=desk, requested_by=crew["author"], format="csv")
    api_token_create(user=crew["author"], name="sync")
    return {"held": held, "approved": approved}


def page_budget(client, user, url, *expected):
    client.force_login(user)
    client.get(url)  # content types and other per-process caches
    with expect_queries(*SESSION, *expected):
        response = client.get(url)
    assert response.status_code == 200
    return response


def test_the_queue_page(client, crew, desk, busy_desk):
    page = page_budget(
        client, crew["reviewer"], reverse("queue", args=[desk.slug]),
        DESK,
        "annotations_claim: waiting claims with a source problem flag (source_problem_idx)",
        "annotations_article: their articles' titles",
        "annotations_ratinglabel: their ratings",
        "auth_user: their authors",
        "annotations_claim: the claims in review, with who holds them and their article (claim_hold_expiry_idx)",
        "annotations_claim: the counts of waiting, held and my claims (claim_queue_idx)",
        "annotations_claim: approved claims whose article changed since the verdict, with article and rating "
        "(claim_article_changed_idx)",
        NAV,
        "annotations_claim: the claims I hold",
        "annotations_article: article titles for the filter",
        "annotations_ratinglabel: the scale for the filter",
        "auth_user: the desk's people for the author filter",
    )
    assert len(page.context["claims"]) == 6


def test_my_claims(client, crew, desk, busy_desk):
    page_budget(
        client, crew["author"], reverse("my_claims", args=[desk.slug]),
        DESK,
        "annotations_assignment: work assigned to me, soonest due first (assignment_open_assignee_idx)",
        "annotations_claim: my claims with article, rating and the latest review's comment",
        NAV,
    )


def test_the_audit_log(client, crew, desk, busy_desk):
    page_budget(
        client, crew["admin"], reverse("audit_log", args=[desk.slug]),
        DESK,
        "annotations_auditevent: the page of events, newest first, by keyset on the id (no count, no offset)",
        "auth_user: the people the page's events name, all at once (selectors.people_by_id)",
        "annotations_ratinglabel: the ratings the page's events name, all at once (selectors.rating_names_by_id)",
        "annotations_auditevent: the actions for the action filter",
        NAV,
        "auth_user: the desk's people for the actor filter",
    )


def test_the_articles_page(client, crew, desk, busy_desk):
    page_budget(
        client, crew["author"], reverse("article_list", args=[desk.slug]),
        DESK,
        "annotations_article: publishers for the filter",
        NAV,
        "annotations_article: articles with latest version and claim counts per state",
    )


def test_the_article_reader(client, crew, desk, article, busy_desk):
    page_budget(
        client, crew["author"], reverse("article_detail", args=[desk.slug, article.pk]),
        "annotations_article: the article with my role, if it is in one of my desks (access.article_get)",
        "annotations_articleversion: the latest version",
        "annotations_claim: the claims on it, as plain rows",
        "annotations_claim: orphaned claims of earlier versions, and claims whose words changed meaning",
        "annotations_suggestiondismissal: suggested sentences the desk dismissed on this version "
        "(selectors.suggestion_dismissed_spans)",
        NAV,
    )


def test_the_claim_editor(client, crew, desk, busy_desk):
    page_budget(
        client, crew["author"], reverse("claim_edit", args=[desk.slug, busy_desk["approved"].pk]),
        "annotations_claim: the claim with its desk, article, version, rating, people and my role (access.claim_get)",
        "annotations_auditevent: the timeline",
        "auth_user: the people the timeline names, all at once (selectors.people_by_id)",
        "annotations_ratinglabel: the ratings the timeline names, all at once (selectors.rating_names_by_id)",
        NAV,
        "annotations_claimmatch: suggested matches",
        "annotations_review: reviews with reviewers",
        "annotations_source: the sources (form and list)",
    )


def test_the_review_page(client, crew, desk, busy_desk):
    page_budget(
        client, crew["reviewer"], reverse("review", args=[desk.slug, busy_desk["held"].pk]),
        "annotations_claim: the claim with its desk, article, version, rating, people and my role (access.claim_get)",
        "annotations_ratinglabel: label names for the changes since the last review",
        "annotations_review: the last decision, for what changed since",
        NAV,
        "annotations_source: the sources",
        "annotations_review: reviews with reviewers",
    )


def test_the_home_page(client, crew, desk, busy_desk):
    page_budget(
        client, crew["author"], reverse("home"),
        "annotations_workspace: my desks with my role",
        "annotations_article: their articles with latest version and claim counts",
    )


def test_the_members_page(client, crew, desk, busy_desk):
    page_budget(
        client, crew["admin"], reverse("members", args=[desk.slug]),
        DESK,
        NAV,
        "annotations_membership: the members with their users",
    )


def test_the_rating_scale_page(client, crew, desk, busy_desk):
    page_budget(
        client, crew["admin"], reverse("rating_scale", args=[desk.slug]),
        DESK,
        NAV,
        "annotations_ratinglabel: the labels",
    )


def test_the_exports_page(client, crew, desk, busy_desk):
    page_budget(
        client, crew["author"], reverse("exports", args=[desk.slug]),
        DESK,
        "annotations_exportjob: my export jobs",
        NAV,
    )


def test_the_profile_page(client, crew, busy_desk):
    page_budget(
        client, crew["author"], reverse("profile"),
        "annotations_profile: the time zone I chose",
        "annotations_workspace: the desks I am an admin of, for their time zones",
        "annotations_apitoken: my tokens",
    )


def test_a_budget_that_is_exceeded_fails_and_shows_the_sql(client, crew, desk, busy_desk):
    with pytest.raises(AssertionError) as failure:
        page_budget(client, crew["author"], reverse("exports", args=[desk.slug]), DESK)
    assert "annotations_exportjob" in str(failure.value) and "(not in the budget)" in str(failure.value)


def test_the_queue_pages_through_waiting_claims_oldest_first(client, crew, desk, busy_desk, monkeypatch):
    from annotations import views_review

    monkeypatch.setattr(views_review, "QUEUE_PAGE_SIZE", 4)
    client.force_login(crew["reviewer"])
    url = reverse("queue", args=[desk.slug])
    first = client.get(url)
    second = client.get(url, {"page": 2})
    ids = [c.pk for c in first.context["claims"]] + [c.pk for c in second.context["claims"]]
    assert (len(first.context["claims"]), first.context["has_next"]) == (4, True)
    assert (len(second.context["claims"]), second.context["has_next"]) == (2, False)
    assert ids == sorted(ids) and len(set(ids)) == 6  # oldest first, each once
    assert 'data-testid="queue-next-page"' in first.content.decode()
