"""Import by URL and watch (issue 14): a page fetched through the SSRF-safe fetcher from a
local server (loopback allowed for it, as in test_linkcheck.py), re-fetched with a
conditional GET, backing off while unchanged; an edited page becomes a new version whose
diff shows the changed words; private addresses are refused with a sentence."""

import re
import threading
import time
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from annotations.models import Article, AuditEvent
from annotations.services import articles as article_services
from annotations.services.claims import claim_create
from annotations.services.tokens import api_token_create
from tests.test_page_queries import NAV, page_budget

PARAGRAPHS = [
    ("Iraqi Prime Minister Haider al-Abadi said on Thursday that Baghdad would welcome Russian airstrikes "
     "against Islamic State militants on Iraqi territory, but that it had not yet been asked."),
    ("Speaking in an interview, Abadi said Russia had sent 50 military aircraft to Syria in the past month, "
     "and that the coalition led by the United States had not provided enough air support."),
    ("If we get the offer, we will consider it, Abadi said. I would welcome it, he added, "
     "while officials in Washington declined to comment on the remarks."),
    ("Shia militias that fight alongside the army have long called for closer ties with Moscow, "
     "and several of their leaders welcomed the news of a joint intelligence centre in Baghdad."),
]


def page_html(paragraphs: list[str]) -> bytes:
    body = "".join(f"<p>{p}</p>\n" for p in paragraphs)
    return f"""<!doctype html><html lang="en"><head>
<title>Abadi would welcome Russian strikes | Daily Example</title>
<meta property="og:title" content="Abadi would welcome Russian strikes">
<meta property="og:site_name" content="Daily Example">
<meta name="author" content="Jane Reporter">
<meta property="article:published_time" content="2015-10-01T10:00:00Z">
</head><body><nav>Home · World · Sport</nav>
<article><h1>Abadi would welcome Russian strikes</h1>
<p class="byline">By Jane Reporter</p>
{body}</article><footer>Copyright Daily Example</footer></body></html>""".encode()


class Handler(BaseHTTPRequestHandler):
    # path -> [body, etag or ""]
    pages: dict[str, list] = {}
    conditional: list[str] = []

    def do_GET(self):
        page = self.pages.get(self.path)
        if page is None:
            self.send_response(404)
            self.end_headers()
            return
        body, etag = page
        sent = self.headers.get("If-None-Match")
        if sent:
            Handler.conditional.append(sent)
        if etag and sent == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        if etag:
            self.send_header("ETag", etag)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def story(site, settings):
    """A page on the local server, and its URL (loopback allowed, as for a public site)."""
    settings.LINKCHECK_ALLOW_LOOPBACK = True
    Handler.pages["/world/abadi"] = [page_html(PARAGRAPHS), '"v1"']
    Handler.conditional.clear()
    return f"{site}/world/abadi"


def edit_page(old: str, new: str, etag: str) -> None:
    Handler.pages["/world/abadi"] = [page_html([p.replace(old, new) for p in PARAGRAPHS]), etag]


@pytest.mark.django_db
def test_import_by_url_reads_title_text_publisher_author_and_date(client, desk, alice, story):
    client.force_login(alice)  # an annotator of the desk
    response = client.post(f"/w/{desk.slug}/articles/new/", {"url": story, "watch": "on"})
    assert response.status_code == 302, response.content.decode()[:2000]
    article = Article.objects.get(workspace=desk, url=story)
    assert response["Location"] == f"/w/{desk.slug}/articles/{article.pk}/"
    assert article.title == "Abadi would welcome Russian strikes"
    assert (article.publisher, article.byline, article.published_on) == (
        "Daily Example", "Jane Reporter", date(2015, 10, 1))
    text = article.versions.get().text
    assert PARAGRAPHS[1] in text and "Copyright" not in text and "Sport" not in text
    assert article.watch and article.etag == '"v1"'
    assert article.next_check_at is not None and article.next_check_at > timezone.now()
    page = client.get(f"/w/{desk.slug}/articles/{article.pk}/").content.decode()
    assert 'data-testid="versions-link"' in page and "(watched)" in page


@pytest.mark.django_db
def test_an_unchanged_page_makes_no_version_and_checks_back_later_each_time(desk, alice, story):
    article = article_services.article_import_url(workspace=desk, url=story, actor=alice).article
    first = article_services.WATCH_FIRST_INTERVAL

    # The server knows the ETag: 304, nothing read.
    assert article_services.article_watch_check(article_id=article.pk) == "not_modified"
    assert Handler.conditional == ['"v1"']
    article.refresh_from_db()
    assert article.check_interval == 2 * first and article.etag == '"v1"'

    # No validator this time, same text: unchanged, and the wait doubles again.
    Handler.pages["/world/abadi"][1] = ""
    assert article_services.article_watch_check(article_id=article.pk) == "unchanged"
    article.refresh_from_db()
    assert article.check_interval == 4 * first and article.etag == ""
    assert article.versions.count() == 1
    assert timedelta(seconds=4 * first - 5) < article.next_check_at - timezone.now() <= timedelta(seconds=4 * first)

    # The wait stops at a day.
    Article.objects.filter(pk=article.pk).update(check_interval=article_services.WATCH_MAX_INTERVAL)
    article_services.article_watch_check(article_id=article.pk)
    article.refresh_from_db()
    assert article.check_interval == article_services.WATCH_MAX_INTERVAL


@pytest.mark.django_db
def test_an_edited_page_becomes_a_new_version_and_its_diff_shows_the_changed_words(client, desk, alice, story):
    article = article_services.article_import_url(workspace=desk, url=story, actor=alice).article
    v1 = article.versions.get()
    start = v1.text.index("Baghdad would welcome")
    claim = claim_create(actor=alice, article=article, version=v1, exact="Baghdad would welcome",
                         start=start, end=start + len("Baghdad would welcome"))
    Article.objects.filter(pk=article.pk).update(check_interval=4 * article_services.WATCH_FIRST_INTERVAL)

    edit_page("50 military aircraft", "60 military aircraft", etag='"v2"')
    assert article_services.article_watch_check(article_id=article.pk) == "new_version"
    article.refresh_from_db()
    v2 = article.versions.order_by("number").last()
    assert v2.number == 2 and "60 military aircraft" in v2.text and v2.source_name == f"watch: {story}"
    assert article.etag == '"v2"' and article.check_interval == article_services.WATCH_FIRST_INTERVAL
    claim.refresh_from_db()
    assert claim.version_id == v2.pk  # re-anchored by the import service
    event = AuditEvent.objects.get(object_type="articleversion", object_id=str(v2.pk))
    assert event.reason == "The publisher changed the page (watch)"

    client.force_login(alice)
    versions = page_budget(client, alice, f"/w/{desk.slug}/articles/{article.pk}/versions/",
                           "annotations_article: the article, its desk and the reader's membership",
                           "annotations_articleversion: its versions, with who imported them", NAV).content.decode()
    diff_url = f"/w/{desk.slug}/articles/{article.pk}/versions/2/diff/"
    assert f'href="{diff_url}"' in versions
    page = page_budget(client, alice, diff_url,
                       "annotations_article: the article, its desk and the reader's membership",
                       "annotations_articleversion: the version and the one before it", NAV).content.decode()
    assert '<del><span class="visually-hidden">[removed: </span>50<' in page
    assert '<ins><span class="visually-hidden">[inserted: </span>60<' in page
    assert "1 paragraph changed: 1 word inserted, 1 removed." in page
    assert not re.search(r"<script(?![^>]*\bsrc=)", page) and "style=" not in page  # CSP: nothing inline
    assert client.get(f"/w/{desk.slug}/articles/{article.pk}/versions/3/diff/").status_code == 404


@pytest.mark.django_db
def test_private_addresses_are_refused_with_a_sentence_and_nothing_is_written(client, desk, alice, story, settings):
    settings.LINKCHECK_ALLOW_LOOPBACK = False
    client.force_login(alice)
    before = Article.objects.count()
    for url, says in [
        ("http://10.0.0.1/story", "The page could not be fetched: 10.0.0.1 is a private address."),
        (story, "The page could not be fetched: 127.0.0.1 is a loopback address."),
        ("http://localhost/story", "The page could not be fetched: localhost resolves to"),
        ("http://no-such-host.invalid/story", "The page could not be fetched: host not found."),
    ]:
        response = client.post(f"/w/{desk.slug}/articles/new/", {"url": url})
        assert response.status_code == 200
        assert says in response.context["form"].errors["url"][0]

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=alice, name='tests')[1]}")
    response = api.post("/api/v1/articles/", {"workspace": desk.slug, "url": "http://10.0.0.1/story"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["url"] == [
        "The page could not be fetched: 10.0.0.1 is a private address."]
    assert Article.objects.count() == before


@pytest.mark.django_db
def test_the_api_imports_by_url_and_an_outsider_gets_404(client, desk, alice, charlie, other_desk, story):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=alice, name='tests')[1]}")
    response = api.post("/api/v1/articles/", {"workspace": desk.slug, "url": story}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["title"] == "Abadi would welcome Russian strikes" and response.json()["watch"] is True
    article_id = response.json()["id"]

    client.force_login(charlie)  # admin of another desk only
    assert client.post(f"/w/{desk.slug}/articles/new/", {"url": story}).status_code == 404
    assert client.get(f"/w/{desk.slug}/articles/{article_id}/versions/").status_code == 404
    assert client.get(f"/w/{desk.slug}/articles/{article_id}/versions/2/diff/").status_code == 404
    assert Article.objects.filter(workspace=desk).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_beat_task_checks_due_articles_through_the_worker(desk, alice, story, celery_worker):
    from annotations.tasks import watch_articles

    article = article_services.article_import_url(workspace=desk, url=story, actor=alice).article
    Article.objects.filter(pk=article.pk).update(next_check_at=timezone.now() - timedelta(minutes=1))
    edit_page("would welcome", "would not welcome", etag='"v3"')
    assert watch_articles.delay().get(timeout=60) == 1
    article.refresh_from_db()  # leased: the next beat does not queue it again
    assert article.next_check_at > timezone.now()
    deadline = time.monotonic() + 60  # the check the beat task queued
    while article.versions.count() < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "would not welcome" in article.versions.order_by("number").last().text


def test_a_long_article_shows_only_the_changed_paragraph_with_its_neighbours():
    from annotations.textdiff import version_diff

    old = "\n\n".join(f"Paragraph {n} says something unremarkable." for n in range(60))
    new = old.replace("Paragraph 30 says something", "Paragraph 30 now says something else and")
    diff = version_diff(old, new)
    assert [b.skipped for b in diff.blocks] == [29, 0, 0, 0, 28]
    changed = diff.blocks[2]
    assert changed.changed and [p.text.strip() for p in changed.pieces if p.op == "ins"] == ["now", "else and"]
    assert (diff.inserted_words, diff.removed_words, diff.changed_paragraphs) == (3, 0, 1)
