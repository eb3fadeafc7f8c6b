"""Source link checks against a local HTTP server, and SSRF refusals."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from annotations import linkcheck
from annotations.models import Source, SourceCheck
from annotations.services.claims import claim_create
from annotations.services.sources import source_check_run


def check_now(source: Source, *, token: str) -> SourceCheck:
    """Check a source that exists: that always records a check, or finds the one recorded."""
    check = source_check_run(source_id=source.pk, token=token)
    assert check is not None
    return check


class Handler(BaseHTTPRequestHandler):
    pages = {
        "/article": (200, b"<html><head><title>Interview with  Abadi</title></head><body>v1</body></html>"),
        "/gone": (404, b"<html><title>Not found</title></html>"),
    }
    hits: dict[str, int] = {}

    def do_GET(self):
        Handler.hits[self.path] = Handler.hits.get(self.path, 0) + 1
        if self.path == "/to-private":
            self.send_response(302)
            self.send_header("Location", "http://10.0.0.1/admin")
            self.end_headers()
            return
        if self.path == "/to-article":
            self.send_response(301)
            self.send_header("Location", "/article")
            self.end_headers()
            return
        status, body = self.pages.get(self.path, (404, b"missing"))
        self.send_response(status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
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


@pytest.mark.parametrize(
    "url, reason",
    [
        ("http://127.0.0.1/", "127.0.0.1 is a loopback address"),
        ("http://10.0.0.1/", "10.0.0.1 is a private address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a cloud metadata address"),
        ("http://[::1]/", "::1 is a loopback address"),
        ("http://localhost/", "localhost resolves to"),
        ("http://192.168.1.1/", "192.168.1.1 is a private address"),
        ("http://[::ffff:10.0.0.1]/", "is a private address"),
        ("http://224.0.0.1/", "is a multicast address"),
        ("ftp://example.org/file", "only http and https"),
    ],
)
def test_unsafe_addresses_are_refused_with_a_reason(url, reason):
    with pytest.raises(linkcheck.Refused) as excinfo:
        linkcheck.fetch(url, allow_loopback=False)
    assert reason in str(excinfo.value)


def test_a_public_looking_url_that_redirects_to_a_private_address_is_refused(site):
    # The test server stands in for a public site (loopback is allowed for it), and
    # redirects to 10.0.0.1: refused after the redirect, before any connection there.
    with pytest.raises(linkcheck.Refused, match=r"10\.0\.0\.1 is a private address"):
        linkcheck.fetch(f"{site}/to-private", allow_loopback=True)


def test_a_page_is_fetched_with_status_title_hash_and_final_url(site):
    fetched = linkcheck.fetch(f"{site}/to-article", allow_loopback=True)
    assert fetched.status_code == 200
    assert fetched.final_url == f"{site}/article"
    assert fetched.title == "Interview with Abadi"
    assert len(fetched.content_hash) == 64


def test_the_body_read_is_bounded(site):
    fetched = linkcheck.fetch(f"{site}/article", allow_loopback=True, max_bytes=20)
    assert fetched.truncated is True


@pytest.fixture
def source(article, alice):
    version = article.versions.get()
    start = version.text.index("Not yet")
    claim = claim_create(actor=alice, article=article, version=version, exact="Not yet", start=start, end=start + 7)
    return Source.objects.create(claim=claim, url="https://example.org", created_by=alice)


@pytest.mark.django_db
def test_checks_record_ok_changed_broken_and_refused_on_the_source(site, source, settings):
    settings.LINKCHECK_ALLOW_LOOPBACK = True
    Source.objects.filter(pk=source.pk).update(url=f"{site}/article")
    assert check_now(source, token="t1").status == "ok"
    source.refresh_from_db()
    assert (source.link_status, source.link_status_code, source.link_title) == ("ok", 200, "Interview with Abadi")

    Handler.pages["/article"] = (200, b"<html><title>Interview with Abadi</title>v2, edited</html>")
    assert check_now(source, token="t2").status == "changed"

    Source.objects.filter(pk=source.pk).update(url=f"{site}/gone")
    check = check_now(source, token="t3")
    assert (check.status, check.status_code, check.error) == ("broken", 404, "The server answered 404.")

    settings.LINKCHECK_ALLOW_LOOPBACK = False
    Source.objects.filter(pk=source.pk).update(url="http://169.254.169.254/latest/meta-data/")
    check = check_now(source, token="t4")
    assert check.status == "refused" and "cloud metadata" in check.error
    source.refresh_from_db()
    assert source.link_status == "refused" and "cloud metadata" in source.link_error


@pytest.mark.django_db
def test_a_check_delivered_twice_is_recorded_once(site, source, settings):
    settings.LINKCHECK_ALLOW_LOOPBACK = True
    Source.objects.filter(pk=source.pk).update(url=f"{site}/article")
    first = check_now(source, token="same")
    again = check_now(source, token="same")
    assert first.pk == again.pk and source.checks.count() == 1


@pytest.mark.django_db
def test_the_queue_flags_a_claim_with_a_broken_source(client, source, bob, settings):
    from tests.conftest import ready_and_submit

    ready_and_submit(source.claim)
    Source.objects.filter(pk=source.pk).update(link_status="broken", link_error="The server answered 404.")
    client.force_login(bob)
    page = client.get(f"/w/{source.claim.workspace.slug}/queue/").content.decode()
    assert 'data-testid="source-problem"' in page


# --- Host names that do not resolve, or cannot be host names --------------------------------

def test_a_host_that_does_not_resolve_is_unresolvable_not_refused():
    # .invalid never resolves (RFC 6761).
    with pytest.raises(linkcheck.Unresolvable, match=r"no-such-host\.invalid could not be resolved"):
        linkcheck.fetch("http://no-such-host.invalid/story")


LONG_LABEL = "a" * 64 + ".example.org"
LONG_NAME = ".".join(["a" * 63] * 4) + ".org"  # 4 x 63 + 3 dots + 4 = 259 > 253


@pytest.mark.parametrize("host, reason", [
    (LONG_LABEL, "a label is longer than 63 characters"),
    (LONG_NAME, "it is longer than 253 characters"),
    ("news..example.org", "it has an empty label"),
    ("ü" * 60 + ".example.org", "cannot be encoded as an international domain name"),
])
def test_a_host_name_beyond_the_idna_limits_is_an_invalid_host(host, reason):
    with pytest.raises(linkcheck.InvalidHost) as excinfo:
        linkcheck.fetch(f"https://{host}/story")
    assert "is not valid" in str(excinfo.value) and reason in str(excinfo.value)
    assert len(str(excinfo.value)) < 300  # the name is shortened in the sentence
    with pytest.raises(linkcheck.InvalidHost):
        linkcheck.url_check(f"https://{host}/hook")  # webhooks: the same checks


def test_an_international_host_name_is_looked_up_in_its_idna_form():
    assert linkcheck.host_ascii("Bücher.example.") == "xn--bcher-kva.example"


@pytest.mark.django_db
def test_unresolvable_and_invalid_hosts_are_recorded_as_broken_links_not_unsafe_ones(client, source, bob):
    from tests.conftest import ready_and_submit

    Source.objects.filter(pk=source.pk).update(url="https://no-such-host.invalid/story")
    check = check_now(source, token="dns")
    assert check.status == "unresolvable" and "could not be resolved" in check.error
    Source.objects.filter(pk=source.pk).update(url=f"https://{LONG_LABEL}/story")
    check = check_now(source, token="long")
    assert check.status == "invalid_host" and "longer than 63 characters" in check.error

    Source.objects.filter(pk=source.pk).update(url="https://no-such-host.invalid/story")
    check_now(source, token="dns-again")
    ready_and_submit(source.claim)
    client.force_login(bob)
    queue = client.get(f"/w/{source.claim.workspace.slug}/queue/").content.decode()
    assert 'data-testid="source-problem"' in queue  # flagged like a broken link
    slug, pk = source.claim.workspace.slug, source.claim.pk
    review = client.get(f"/w/{slug}/review/{pk}/")
    assert review.status_code == 200
    for html in (review.content.decode(), client.get(f"/w/{slug}/claims/{pk}/").content.decode()):
        assert "Broken (host not found)" in html and "link-unresolvable" in html
        assert "Refused (unsafe address)" not in html
