"""The Content-Security-Policy: on every page, no inline script anywhere, and every page
still works under it in a real browser (no violation reported, no script error)."""

import re

import pytest
from django.urls import reverse

from annotations.models import Claim
from tests.conftest import ROOT, claim_in_state
from tests.test_browser_annotate import login, select_with_mouse
from tests.test_public_pages import approve, write_claim

STRICT = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def policy(response) -> dict[str, str]:
    header = response.headers.get("content-security-policy")
    assert header, f"no Content-Security-Policy on {getattr(response, 'url', response)}"
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


@pytest.fixture
def public_claim(desk, article, crew):
    desk.public_pages = True
    desk.save(update_fields=["public_pages"])
    return approve(write_claim(article, crew), crew)


# --- The header --------------------------------------------------------------------------------

@pytest.mark.django_db
def test_desk_public_and_api_pages_carry_the_strict_policy(client, crew, public_claim):
    assert policy(client.get(reverse("login"))) == STRICT
    assert policy(client.get(f"/v/{public_claim.workspace.slug}/{public_claim.pk}/")) == STRICT
    client.force_login(crew["admin"])
    assert policy(client.get(reverse("article_list", args=[public_claim.workspace.slug]))) == STRICT
    assert policy(client.get("/api/v1/claims/", HTTP_ACCEPT="application/json")) == STRICT


@pytest.mark.django_db
def test_the_exceptions_are_narrow(client, crew, public_claim):
    # The embed card may be framed anywhere, as X-Frame-Options already allows.
    embed = policy(client.get(f"/v/{public_claim.workspace.slug}/{public_claim.pk}/embed/"))
    assert embed == {k: v for k, v in STRICT.items() if k != "frame-ancestors"}

    # The API docs' start-up scripts run under a nonce of the response's own; Redoc's bundle
    # also inserts <style> elements and starts a worker from a blob: URL.
    docs = {}
    for url in ("/api/v1/docs/", "/api/v1/redoc/"):
        response = client.get(url)
        [nonce] = re.findall(r'<script nonce="([^"]+)">', response.content.decode())
        docs[url] = policy(response)
        assert docs[url]["script-src"] == f"'self' 'nonce-{nonce}'"
    assert docs["/api/v1/docs/"] == STRICT | {"script-src": docs["/api/v1/docs/"]["script-src"]}
    assert docs["/api/v1/redoc/"]["style-src"] == "'self' 'unsafe-inline'"
    assert docs["/api/v1/redoc/"]["worker-src"] == "'self' blob:"
    assert docs["/api/v1/docs/"]["script-src"] != docs["/api/v1/redoc/"]["script-src"]  # one per response

    # DRF's browsable API keeps its inline styles; its scripts stay strict.
    client.force_login(crew["admin"])
    browsable = policy(client.get("/api/v1/claims/", HTTP_ACCEPT="text/html"))
    assert browsable == STRICT | {"style-src": "'self' 'unsafe-inline'"}


def test_no_template_has_an_inline_script_handler_or_style():
    """The rule the policy enforces, checked where it is written: scripts come from files,
    data in data- attributes or JSON blocks, colours in data-hl (or SVG fill)."""
    found = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        html = path.read_text()
        where = str(path.relative_to(ROOT))
        for tag in re.findall(r"<script\b[^>]*>", html):
            json_block = re.search(r'type="application/(ld\+)?json"', tag)
            if "src=" not in tag and not json_block and "nonce=" not in tag:
                found.append(f"{where}: inline {tag}")
        found += [f"{where}: handler {m}" for m in re.findall(r"\son[a-z]+=", html)]
        found += [f"{where}: {m}" for m in re.findall(r"\sstyle=", html)]
        found += [f"{where}: {m}" for m in re.findall(r"<style\b", html)]
        found += [f"{where}: {m}" for m in re.findall(r"javascript:", html, re.I)]
    rendering = (ROOT / "annotations" / "rendering.py").read_text()
    found += [f"rendering.py: {m}" for m in re.findall(r"\sstyle=", rendering)]
    assert not found, "\n".join(found)


# --- In the browser -----------------------------------------------------------------------------

REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => window.__cspViolation({
  page: location.pathname, directive: e.violatedDirective, blocked: e.blockedURI,
  source: `${e.sourceFile}:${e.lineNumber}`, sample: e.sample,
}));
"""


REDOCLY_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


class Watch:
    """A browser context that records CSP violations, console errors and script errors."""

    def __init__(self, browser):
        self.problems: list[str] = []
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.context.expose_binding("__cspViolation", lambda _source, v: self.problems.append(f"violation {v}"))
        self.context.add_init_script(REPORT_VIOLATIONS)
        self.page = self.context.new_page()
        self.page.set_default_timeout(15_000)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"script error on {self.page.url}: {error}"))
        self.visited: list[str] = []

    def _console(self, message) -> None:
        if message.location.get("url", "").endswith("/favicon.ico"):
            return  # pages of Django's admin, DRF and Redoc name no icon
        if message.type == "error" or "Content Security Policy" in message.text:
            self.problems.append(f"console {message.type} on {self.page.url}: {message.text}")

    def open(self, url: str, *, status: int = 200) -> dict[str, str]:
        response = self.page.goto(url)
        assert response is not None and response.status == status, (url, response and response.status)
        self.visited.append(url)
        return policy(response)

    def close(self) -> None:
        self.context.close()


def applied_colour(page, selector: str) -> str:
    return page.evaluate(f"getComputedStyle(document.querySelector('{selector}')).getPropertyValue('--hl')")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_every_page_works_under_the_policy(browser, live_server, article, crew, make_user, public_claim):
    desk, base = article.workspace.slug, live_server.url
    waiting = claim_in_state("submitted", article, crew, quote="Not yet")
    make_user("root", is_staff=True, is_superuser=True)
    watches = [Watch(browser) for _ in range(4)]
    author, admin, stranger, superuser = watches
    try:
        # The author logs in, opens the reader and marks a claim with the mouse.
        assert author.open(f"{base}/login/") == STRICT
        login(author.page, live_server, "alice")
        assert author.open(f"{base}/w/{desk}/articles/") == STRICT
        author.open(f"{base}/w/{desk}/articles/{article.pk}/")
        mostly_true = article.workspace.rating_scale.labels.get(name="Mostly true").color
        assert applied_colour(author.page, f'.seg.hl[data-claims~="{public_claim.pk}"]') == mostly_true
        select_with_mouse(author.page, "he had been receiving “massive information”")
        author.page.get_by_role("button", name="Mark claim").click()
        author.page.wait_for_selector("#claim-editor form.claim-form")
        marked = Claim.objects.latest("pk")
        assert marked.exact == "he had been receiving “massive information”"

        # The claim editor beside the article: Ctrl+S saves; deleting the draft asks first (a script, not onsubmit=).
        author.page.fill("#id_claim_reviewed", "Strikes may begin within weeks")
        author.page.keyboard.press("Control+s")
        author.page.get_by_test_id("panel-notice").wait_for()
        author.open(f"{base}/w/{desk}/claims/{marked.pk}/")
        author.page.once("dialog", lambda dialog: dialog.dismiss())
        author.page.get_by_role("button", name="Delete draft").click()
        assert Claim.objects.filter(pk=marked.pk).exists()
        author.page.once("dialog", lambda dialog: dialog.accept())
        author.page.get_by_role("button", name="Delete draft").click()
        author.page.wait_for_url(f"**/articles/{article.pk}/")
        assert not Claim.objects.filter(pk=marked.pk).exists()
        author.open(f"{base}/password/change/")

        # The desk's admin: the queue, a review, the audit log, the rating scale, the browsable API.
        login(admin.page, live_server, "erin")
        admin.open(f"{base}/w/{desk}/queue/")
        assert admin.page.get_by_test_id("queue-row").count() == 1
        admin.open(f"{base}/w/{desk}/review/{waiting.pk}/")
        admin.open(f"{base}/w/{desk}/audit/")
        admin.open(f"{base}/w/{desk}/scale/")
        assert applied_colour(admin.page, "td .swatch") != ""
        assert "unsafe-inline" in admin.open(f"{base}/api/v1/claims/")["style-src"]
        admin.page.wait_for_selector(".response-info")

        # Someone with no account: the desk's public pages and the API docs.
        stranger.open(f"{base}/v/{desk}/")
        assert stranger.open(f"{base}/v/{desk}/{public_claim.pk}/") == STRICT
        assert stranger.page.locator(".rating-bar rect").get_attribute("fill") == mostly_true
        assert "frame-ancestors" not in stranger.open(f"{base}/v/{desk}/{public_claim.pk}/embed/")
        stranger.open(f"{base}/password/reset/")
        stranger.open(f"{base}/api/v1/docs/")
        stranger.page.wait_for_selector(".opblock")  # Swagger UI drew the operations
        stranger.open(f"{base}/api/v1/redoc/")
        stranger.page.wait_for_selector("[data-section-id]")  # Redoc drew the sections

        # The Django admin, logged in through its own form.
        superuser.open(f"{base}/admin/login/")
        superuser.page.fill("#id_username", "root")
        superuser.page.fill("#id_password", "root-password")
        superuser.page.get_by_role("button", name="Log in").click()
        superuser.page.wait_for_url(f"{base}/admin/")
        superuser.open(f"{base}/admin/annotations/claim/")
        superuser.open(f"{base}/admin/annotations/claim/{public_claim.pk}/change/")
        superuser.open(f"{base}/admin/auth/user/add/")

        # Redoc shows its maker's logo from the internet; the desk loads nothing from there.
        problems = [p for w in watches for p in w.problems if REDOCLY_LOGO not in p]
        assert not problems, "\n".join(problems)
    finally:
        for watch in watches:
            watch.close()

