import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from annotations.services.articles import article_import

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clear_login_throttle():
    cache.clear()
    yield
    cache.clear()


def test_the_home_page_asks_for_a_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_member_sees_their_desks_articles_and_an_outsider_does_not(client, alice, charlie, article, other_desk):
    client.force_login(alice)
    page = client.get("/").content.decode()
    assert "Alice&#x27;s desk" in page and article.title[:40] in page
    assert "Charlie&#x27;s desk" not in page

    client.force_login(charlie)
    page = client.get("/").content.decode()
    assert "Charlie&#x27;s desk" in page and article.title[:40] not in page


def test_the_home_page_costs_the_same_queries_for_one_or_many_articles(client, alice, desk, article):
    client.force_login(alice)

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/").status_code == 200
        return len(ctx.captured_queries)

    few = count_queries()
    for n in range(10):
        article_import(workspace=desk, text=f"Article {n}\nBody {n}.")
    # session, user, workspaces with the user's role, their articles with counts
    assert count_queries() == few == 4


def test_an_article_of_another_desk_is_404_not_403(client, alice, bob, charlie, article):
    url = reverse("article_detail", args=[article.workspace.slug, article.pk])
    client.force_login(alice)
    assert client.get(url).status_code == 200
    client.force_login(bob)
    assert client.get(url).status_code == 200
    client.force_login(charlie)
    assert client.get(url).status_code == 404


def test_article_text_is_escaped(client, alice, desk):
    hostile = article_import(workspace=desk, text="Headline\n<script>window.pwned=1</script> & more").article
    client.force_login(alice)
    page = client.get(reverse("article_detail", args=[desk.slug, hostile.pk])).content.decode()
    assert "<script>window.pwned" not in page
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt; &amp; more" in page


def test_logins_are_throttled_after_repeated_failures(client, alice, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    for _ in range(3):
        response = client.post(reverse("login"), {"username": "alice", "password": "wrong"})
        assert "Please enter a correct username and password" in response.content.decode()
    response = client.post(reverse("login"), {"username": "alice", "password": "alice-password"})
    assert response.status_code == 200
    assert "Too many failed log-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_correct_login_lands_on_the_home_page(client, alice):
    response = client.post(reverse("login"), {"username": "alice", "password": "alice-password"})
    assert response.status_code == 302 and response["Location"] == reverse("home")
