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

from annotations.errors import PermissionDenied
from annotations.models import Article, ArticleWatch, AuditEvent
from annotations.services import articles as article_services
from annotations.services.claims import claim_create
from annotations.services.tokens import api_token_create
from tests.test_api import api_as, assert_error
from tests.test_page_queries import NAV, page_budget

VERSIONS_PAGE = ("annotations_article: the article, its desk and the reader's membership",
                 "annotations_articleversion: its versions, with who imported them",
                 "annotations_articlewatch: the watch's checks of its page")

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
    assert article.watch and article.watch_state.etag == '"v1"'
    assert article.watch_state.next_check_at is not None and article.watch_state.next_check_at > timezone.now()
    page = client.get(f"/w/{desk.slug}/articles/{article.pk}/").content.decode()
    assert 'data-testid="versions-link"' in page and "(watched)" in page


@pytest.mark.django_db
def test_an_unchanged_page_makes_no_version_and_checks_back_later_each_time(desk, alice, story):
    article = article_services.article_import_url(workspace=desk, url=story, actor=alice).article
    first = article_services.WATCH_FIRST_INTERVAL

    # The server knows the ETag: 304, nothing read.
    assert article_services.article_watch_check(article_id=article.pk) == "not_modified"
    assert Handler.conditional == ['"v1"']
    state = ArticleWatch.objects.get(article=article)
    assert state.check_interval == 2 * first and state.etag == '"v1"'

    # No validator this time, same text: unchanged, and the wait doubles again.
    Handler.pages["/world/abadi"][1] = ""
    assert article_services.article_watch_check(article_id=article.pk) == "unchanged"
    state.refresh_from_db()
    assert state.check_interval == 4 * first and state.etag == ""
    assert article.versions.count() == 1
    assert state.next_check_at is not None
    assert timedelta(seconds=4 * first - 5) < state.next_check_at - timezone.now() <= timedelta(seconds=4 * first)

    # The wait stops at a day.
    ArticleWatch.objects.filter(article=article).update(check_interval=article_services.WATCH_MAX_INTERVAL)
    article_services.article_watch_check(article_id=article.pk)
    state.refresh_from_db()
    assert state.check_interval == article_services.WATCH_MAX_INTERVAL


@pytest.mark.django_db
def test_an_edited_page_becomes_a_new_version_and_its_diff_shows_the_changed_words(client, desk, alice, story):
    article = article_services.article_import_url(workspace=desk, url=story, actor=alice).article
    v1 = article.versions.get()
    start = v1.text.index("Baghdad would welcome")
    claim = claim_create(actor=alice, article=article, version=v1, exact="Baghdad would welcome",
                         start=start, end=start + len("Baghdad would welcome"))
    ArticleWatch.objects.filter(article=article).update(check_interval=4 * article_services.WATCH_FIRST_INTERVAL)

    edit_page("50 military aircraft", "60 military aircraft", etag='"v2"')
    assert article_services.article_watch_check(article_id=article.pk) == "new_version"
    v2 = article.versions.order_by("number").last()
    assert v2.number == 2 and "60 military aircraft" in v2.text and v2.source_name == f"watch: {story}"
    state = ArticleWatch.objects.get(article=article)
    assert state.etag == '"v2"' and state.check_interval == article_services.WATCH_FIRST_INTERVAL
    claim.refresh_from_db()
    assert claim.version_id == v2.pk  # re-anchored by the import service
    event = AuditEvent.objects.get(object_type="articleversion", object_id=str(v2.pk))
    assert event.reason == "The publisher changed the page (watch)"

    client.force_login(alice)
    versions = page_budget(client, alice, f"/w/{desk.slug}/articles/{article.pk}/versions/",
                           *VERSIONS_PAGE, NAV).content.decode()
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
    body = response.json()
    assert body["title"] == "Abadi would welcome Russian strikes" and body["watch"] is True
    assert body["last_checked_at"] and body["next_check_at"] and body["watch_failures"] == 0
    assert (body["watch_error"], body["watch_stopped_at"]) == ("", None)
    article_id = body["id"]

    client.force_login(charlie)  # admin of another desk only
    assert client.post(f"/w/{desk.slug}/articles/new/", {"url": story}).status_code == 404
    assert client.get(f"/w/{desk.slug}/articles/{article_id}/versions/").status_code == 404
    assert client.get(f"/w/{desk.slug}/articles/{article_id}/versions/2/diff/").status_code == 404
    assert Article.objects.filter(workspace=desk).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_beat_task_checks_due_articles_through_the_worker(desk, alice, story, celery_worker):
    from annotations.tasks import watch_articles

    article = article_services.article_import_url(workspace=desk, url=story, actor=alice).article
    ArticleWatch.objects.filter(article=article).update(next_check_at=timezone.now() - timedelta(minutes=1))
    edit_page("would welcome", "would not welcome", etag='"v3"')
    assert watch_articles.delay().get(timeout=60) == 1
    # Leased: the next beat does not queue it again (the check may already have rescheduled it).
    due_at = ArticleWatch.objects.get(article=article).next_check_at
    assert due_at is not None and due_at > timezone.now()
    deadline = time.monotonic() + 60  # the check the beat task queued
    while article.versions.count() < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "would not welcome" in article.versions.order_by("number").last().text



# --- What a check writes: the watch's bookkeeping, off the audit trail -----------------------

def audit_events_since(event_id: int):
    return AuditEvent.objects.filter(pk__gt=event_id).order_by("pk")


def last_event_id() -> int:
    return AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


@pytest.mark.django_db
def test_checks_that_find_nothing_new_write_no_audit_event_and_a_change_writes_the_versions(desk, alice, story):
    article = article_services.article_import_url(workspace=desk, url=story, actor=alice).article
    before = last_event_id()

    assert article_services.article_watch_check(article_id=article.pk) == "not_modified"
    Handler.pages["/world/abadi"][1] = ""  # no validator: the page is read, and is the same
    assert article_services.article_watch_check(article_id=article.pk) == "unchanged"
    del Handler.pages["/world/abadi"]
    assert article_services.article_watch_check(article_id=article.pk) == "failed"
    assert list(audit_events_since(before)) == []
    state = ArticleWatch.objects.get(article=article)
    assert (state.check_failures, state.check_error) == (1, "The page could not be fetched: the server answered 404.")

    edit_page("50 military aircraft", "60 military aircraft", etag='"v2"')
    assert article_services.article_watch_check(article_id=article.pk) == "new_version"
    events = list(audit_events_since(before))
    v2 = article.versions.get(number=2)
    assert ("articleversion", str(v2.pk)) in [(e.object_type, e.object_id) for e in events]
    assert {e.reason for e in events} == {"The publisher changed the page (watch)"}
    assert not any(e.object_type == "articlewatch" for e in events)
    state.refresh_from_db()
    assert (state.check_failures, state.check_error) == (0, "")


@pytest.mark.django_db
def test_the_due_query_leases_watched_articles_and_skips_those_switched_off(desk, alice, story):
    watched = article_services.article_import_url(workspace=desk, url=story, actor=alice).article
    Handler.pages["/world/other"] = [page_html(PARAGRAPHS[:2]), ""]
    other_url = story.replace("abadi", "other")
    never = article_services.article_import_url(workspace=desk, url=other_url, watch=False, actor=alice).article
    assert ArticleWatch.objects.get(article=never).next_check_at is None  # fetched once, not watched
    Handler.pages["/world/third"] = [page_html(PARAGRAPHS[2:]), ""]
    switched_off = article_services.article_import_url(
        workspace=desk, url=story.replace("abadi", "third"), actor=alice).article
    ArticleWatch.objects.exclude(article=never).update(next_check_at=timezone.now() - timedelta(minutes=1))
    article_services.article_watch_set(article=switched_off, actor=alice, watch=False)

    assert article_services.articles_watch_due() == [watched.pk]
    leased = ArticleWatch.objects.get(article=watched).next_check_at
    assert leased is not None and timedelta(seconds=article_services.WATCH_LEASE - 5) < leased - timezone.now()
    assert article_services.articles_watch_due() == []  # leased: not picked again


# --- Switching the watch on and off --------------------------------------------------------

def switch_on_page(client, user, desk, article, watch: str):
    client.force_login(user)
    return client.post(f"/w/{desk.slug}/articles/{article.pk}/watch/", {"watch": watch})


@pytest.mark.django_db
def test_the_owner_and_a_teammate_switch_the_watch_on_the_versions_page_and_an_outsider_gets_404(
        client, desk, alice, bob, charlie, other_desk, story):
    article = article_services.article_import_url(workspace=desk, url=story, actor=alice).article
    versions_url = f"/w/{desk.slug}/articles/{article.pk}/versions/"
    client.force_login(alice)
    page = client.get(versions_url).content.decode()
    assert 'data-testid="watch-form"' in page and "Stop watching the page" in page

    # The owner (alice imported it) switches it off: on the trail, with who and why.
    before = last_event_id()
    response = switch_on_page(client, alice, desk, article, "off")
    assert response.status_code == 302 and response["Location"] == versions_url
    article.refresh_from_db()
    assert article.watch is False and ArticleWatch.objects.get(article=article).next_check_at is None
    (event,) = audit_events_since(before)
    assert (event.object_type, event.object_id, event.actor_id) == ("article", str(article.pk), alice.pk)
    assert event.reason == "The watch was switched off: the page is no longer checked."
    page = client.get(versions_url).content.decode()
    assert "Not watched:" in page and "Watch the page for the publisher's edits" in page
    assert "The watch is off: the page will not be checked again." in page

    # A teammate (bob reviews on the desk) switches it on again: a check is due now.
    ArticleWatch.objects.filter(article=article).update(check_failures=3, check_error="The page could not be fetched.")
    before = last_event_id()
    assert switch_on_page(client, bob, desk, article, "on").status_code == 302
    article.refresh_from_db()
    state = ArticleWatch.objects.get(article=article)
    assert article.watch is True and state.next_check_at is not None and state.next_check_at <= timezone.now()
    assert (state.check_failures, state.check_error, state.stopped_at) == (0, "", None)
    (event,) = audit_events_since(before)
    assert event.actor_id == bob.pk and event.reason.startswith("The watch was switched on")
    assert article_services.articles_watch_due() == [article.pk]

    # An outsider (charlie, admin of another desk) does not see it.
    before = last_event_id()
    assert switch_on_page(client, charlie, desk, article, "off").status_code == 404
    assert client.get(versions_url).status_code == 404
    with pytest.raises(PermissionDenied):  # and the service refuses them, whatever calls it
        article_services.article_watch_set(article=article, actor=charlie, watch=False)
    article.refresh_from_db()
    assert article.watch is True and list(audit_events_since(before)) == []


@pytest.mark.django_db
def test_the_api_switches_the_watch_for_owner_and_teammate_and_an_outsider_gets_404(
        desk, alice, bob, charlie, other_desk, story):
    article = article_services.article_import_url(workspace=desk, url=story, actor=alice).article
    url = f"/api/v1/articles/{article.pk}/"

    response = api_as(alice).patch(url, {"watch": False}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["watch"] is False and response.json()["next_check_at"] is None
    assert Article.objects.get(pk=article.pk).watch is False

    before = last_event_id()
    response = api_as(bob).patch(url, {"watch": True, "title": "Not written"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["watch"] is True and body["title"] == "Abadi would welcome Russian strikes"
    (event,) = audit_events_since(before)
    assert event.actor_id == bob.pk and event.object_type == "article"
    due_at = ArticleWatch.objects.get(article=article).next_check_at
    assert due_at is not None and due_at <= timezone.now()

    assert_error(api_as(charlie).patch(url, {"watch": False}, format="json"), 404)
    assert Article.objects.get(pk=article.pk).watch is True


@pytest.mark.django_db
def test_watching_an_article_without_a_web_address_is_a_400_naming_watch_and_changes_nothing(
        client, desk, alice, article):
    assert article.url == ""  # pasted text
    before = last_event_id()
    error = assert_error(api_as(alice).patch(f"/api/v1/articles/{article.pk}/", {"watch": True}, format="json"),
                         400, "watch", article_services.WATCH_NEEDS_URL)
    assert error["fields"]["watch"] == [article_services.WATCH_NEEDS_URL]
    assert_error(api_as(alice).patch(f"/api/v1/articles/{article.pk}/", {"watch": "sometimes"}, format="json"),
                 400, "watch", "Must be a valid boolean.")
    assert_error(api_as(alice).patch(f"/api/v1/articles/{article.pk}/", {"title": "New"}, format="json"),
                 400, "watch", "Send watch: true to watch the page, or false to stop.")
    response = switch_on_page(client, alice, desk, article, "on")
    assert response.status_code == 302
    assert article_services.WATCH_NEEDS_URL in client.get(response["Location"]).content.decode()
    article.refresh_from_db()
    assert article.watch is False and not ArticleWatch.objects.filter(article=article).exists()
    assert list(audit_events_since(before)) == []
    page = client.get(f"/w/{desk.slug}/articles/{article.pk}/versions/").content.decode()
    assert 'data-testid="watch-form"' not in page  # nothing to switch without an address


# --- A page that fails for ever ----------------------------------------------------------

@pytest.mark.django_db
def test_the_watch_stops_after_too_many_failed_checks_and_says_so_and_resumes_when_switched_on(
        client, desk, alice, bob, story, caplog):
    article = article_services.article_import_url(workspace=desk, url=story, actor=alice).article
    del Handler.pages["/world/abadi"]
    before = last_event_id()
    for n in range(1, article_services.WATCH_MAX_FAILURES):
        assert article_services.article_watch_check(article_id=article.pk) == "failed"
        state = ArticleWatch.objects.get(article=article)
        assert state.check_failures == n and state.next_check_at is not None and state.stopped_at is None
    assert state.check_interval == article_services.WATCH_MAX_INTERVAL  # backed off to a day

    with caplog.at_level("WARNING", logger="annotations.services.articles"):
        assert article_services.article_watch_check(article_id=article.pk) == "stopped"
    state.refresh_from_db()
    assert state.stopped_at is not None and state.next_check_at is None
    assert state.check_failures == article_services.WATCH_MAX_FAILURES
    assert f"Stopped watching article {article.pk} after 14 failed checks" in caplog.text
    article.refresh_from_db()
    assert article.watch is True  # the editorial decision stands; the checks stopped
    assert list(audit_events_since(before)) == []  # bookkeeping, not an editorial change
    assert article_services.articles_watch_due() == []
    assert article_services.article_watch_check(article_id=article.pk) == "not_watched"  # a check queued before

    error = "The page could not be fetched: the server answered 404."
    stopped_on = timezone.localtime(state.stopped_at).strftime("%-d %b %Y")
    page = page_budget(client, alice, f"/w/{desk.slug}/articles/{article.pk}/versions/",
                       *VERSIONS_PAGE, NAV).content.decode()
    assert (f"Stopped checking on {stopped_on} after 14 failed checks: {error} "
            "Switch the watch on again to retry.") in page
    assert "Switch the watch on again</button>" in page
    body = api_as(alice).get(f"/api/v1/articles/{article.pk}/").json()
    assert body["watch"] is True and body["watch_stopped_at"] and body["next_check_at"] is None
    assert (body["watch_error"], body["watch_failures"]) == (error, 14)

    # Switched on again (bob, a teammate): checked now, counting failures from zero.
    Handler.pages["/world/abadi"] = [page_html(PARAGRAPHS), '"v1"']
    assert switch_on_page(client, bob, desk, article, "on").status_code == 302
    state.refresh_from_db()
    assert (state.stopped_at, state.check_failures, state.check_error) == (None, 0, "")
    (event,) = audit_events_since(before)
    assert event.actor_id == bob.pk and event.reason == "The watch was switched on again after 14 failed checks."
    assert article_services.articles_watch_due() == [article.pk]
    assert article_services.article_watch_check(article_id=article.pk) == "not_modified"
    state.refresh_from_db()
    assert state.next_check_at is not None and state.next_check_at > timezone.now() and state.check_failures == 0

def test_a_long_article_shows_only_the_changed_paragraph_with_its_neighbours():
    from annotations.textdiff import version_diff

    old = "\n\n".join(f"Paragraph {n} says something unremarkable." for n in range(60))
    new = old.replace("Paragraph 30 says something", "Paragraph 30 now says something else and")
    diff = version_diff(old, new)
    assert [b.skipped for b in diff.blocks] == [29, 0, 0, 0, 28]
    changed = diff.blocks[2]
    assert changed.changed and [p.text.strip() for p in changed.pieces if p.op == "ins"] == ["now", "else and"]
    assert (diff.inserted_words, diff.removed_words, diff.changed_paragraphs) == (3, 0, 1)
