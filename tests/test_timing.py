"""Server-Timing: the time a response took in the desk and in PostgreSQL."""

import re

import pytest
from django.urls import reverse

from tests.conftest import expect_queries

pytestmark = pytest.mark.django_db


def test_a_response_says_how_long_it_took_and_how_many_queries_it_ran(client, settings, alice, article):
    settings.MIDDLEWARE = ["annotations.timing.ServerTimingMiddleware", *settings.MIDDLEWARE]
    client.force_login(alice)
    url = reverse("article_detail", args=[article.workspace.slug, article.pk])
    client.get(url)
    with expect_queries("django_session: session", "auth_user: user", "annotations_article: article",
                        "annotations_articleversion: version", "annotations_claim: claims",
                        "annotations_claim: orphans",
                        "annotations_suggestiondismissal: the version's dismissed suggestions",
                        "annotations_membership: the top bar"):
        response = client.get(url)
    timing = re.fullmatch(r'app;dur=([\d.]+), db;dur=([\d.]+);desc="(\d+) queries"', response["Server-Timing"])
    assert timing, response["Server-Timing"]
    app, db, queries = float(timing[1]), float(timing[2]), int(timing[3])
    assert queries == 8 and 0 < db <= app


def test_it_is_off_unless_asked_for(client, alice, article):
    client.force_login(alice)
    assert "Server-Timing" not in client.get(reverse("home"))
