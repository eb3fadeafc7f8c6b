"""Pages cost the same number of queries for a few rows or many (no N+1)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from annotations.services.claims import claim_create
from tests.conftest import ready_and_submit

pytestmark = pytest.mark.django_db

QUOTES = ["It is a possibility.", "Not yet", "massive information", "Daesh Takfiri militant group",
          "Kuralenko", "Tikrit", "Ramadi and Mosul", "Salahuddin province"]


def add_claims(article, author, quotes):
    version = article.versions.get()
    for quote in quotes:
        start = version.text.index(quote)
        # Submitted: what the queue and "my claims" list.
        ready_and_submit(claim_create(actor=author, article=article, version=version, exact=quote,
                                      start=start, end=start + len(quote)))


def count(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("page", ["queue", "my_claims", "audit_log", "article_list"])
def test_a_page_costs_the_same_for_two_rows_or_eight(client, crew, desk, article, page):
    user = {"queue": crew["reviewer"], "my_claims": crew["author"], "audit_log": crew["admin"],
            "article_list": crew["author"]}[page]
    client.force_login(user)
    url = reverse(page, args=[desk.slug])
    add_claims(article, crew["author"], QUOTES[:2])
    few = count(client, url)
    add_claims(article, crew["author"], QUOTES[2:])
    assert count(client, url) == few
