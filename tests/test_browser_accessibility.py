"""Accessibility in Chromium: every page of the desk and of the public site (PAGES), each as
the person who sees it, at 1280 px and at 360 px: 0 serious or critical axe-core violations,
a visible focus ring on every element Tab reaches, nothing wider than the window. Then no
state told by colour alone, and the screenshots in docs/screenshots/.

axe-core comes from the axe-playwright-python wheel (its bundled axe.min.js, axe 4.12.1; nothing
is downloaded). It is injected with `page.evaluate`, which the pages' Content-Security-Policy
does not block, so the pages are checked with their CSP in force (no `bypass_csp`); a CSP
violation or a script error on any page fails the test too.

Not checked: /api/v1/docs/ and /api/v1/redoc/ (Swagger UI and ReDoc, third-party pages
served as they ship) and /admin/ (Django's own admin).

SCREENSHOTS=docs/screenshots (a directory) also saves the queue and the dashboard, at
1280x900; tests/test_browser_editor.py saves the reader with its side-panel editor.
"""

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]
from django.contrib.auth.tokens import default_token_generator
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from annotations import checkpoints
from annotations.models import Claim, Role
from annotations.publishing.partners import partner_create, partner_key_create
from annotations.services.workflow import claim_reopen
from annotations.services.workspaces import membership_set
from tests.conftest import claim_in_state
from tests.test_dashboard import small_desk  # noqa: F401 - a fixture: a desk with some history

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# What fails the test; AXE_IMPACTS="minor moderate serious critical" shows the lesser findings too.
BLOCKING = set(os.environ.get("AXE_IMPACTS", "serious critical").split())
OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
AXE = Axe()
# The innermost elements that stick out of the window: what a failure names.
STICKING_OUT = r"""() => {
  const sticks = (e) => e.getBoundingClientRect().right > innerWidth + 1;
  const name = (e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
    + (typeof e.className === 'string' && e.className.trim() ? '.' + e.className.trim().split(/\s+/).join('.') : '');
  return [...document.body.querySelectorAll('*')].filter(e => sticks(e) && ![...e.children].some(sticks))
    .slice(0, 5).map(e => `${name(e)} (right edge ${Math.round(e.getBoundingClientRect().right)} px)`);
}"""


@dataclass(frozen=True)
class Page:
    name: str
    who: str | None  # the username logged in, None for someone with no account
    path: str  # formatted with the scene's ids
    status: int = 200
    open: str = ""  # what to open before checking: "panel" (the draft's editor beside the article), "help"
    narrow: bool = True  # also checked in a 360 px wide window


# Every page, listed: what, as whom, where.
PAGES = [
    # No account
    Page("login", None, "/login/"),
    Page("password reset", None, "/password/reset/"),
    Page("password reset: e-mail sent", None, "/password/reset/sent/"),
    Page("password reset: new password", None, "/password/reset/{uid}/{token}/"),
    Page("password reset: done", None, "/password/reset/done/"),
    Page("public desk index", None, "/v/{desk}/"),
    Page("public verdict", None, "/v/{desk}/{approved}/"),
    Page("public verdict, withdrawn", None, "/v/{desk}/{withdrawn}/", status=410),
    Page("public verdict card (embed)", None, "/v/{desk}/{approved}/embed/", narrow=False),  # sized by the frame
    Page("audit key", None, "/v/audit/key/"),
    # An annotator
    Page("home", "alice", "/"),
    Page("articles", "alice", "/w/{desk}/articles/"),
    Page("add article", "alice", "/w/{desk}/articles/new/"),
    Page("reader with claims", "alice", "/w/{desk}/articles/{article}/"),
    Page("reader with the side-panel editor", "alice", "/w/{desk}/articles/{article}/", open="panel"),
    Page("reader's keyboard help", "alice", "/w/{desk}/articles/{article}/", open="help"),
    Page("claim editor", "alice", "/w/{desk}/claims/{draft}/"),
    Page("claim, read-only (approved)", "alice", "/w/{desk}/claims/{approved}/"),
    Page("my claims", "alice", "/w/{desk}/mine/"),
    Page("dashboard (annotator)", "alice", "/w/{desk}/dashboard/"),
    Page("exports", "alice", "/w/{desk}/exports/"),
    Page("profile", "alice", "/profile/"),
    Page("password change", "alice", "/password/change/"),
    Page("forbidden (an annotator on members)", "alice", "/w/{desk}/members/", status=403),
    Page("not found", "alice", "/w/{desk}/articles/999999/", status=404),
    # A reviewer
    Page("queue", "bob", "/w/{desk}/queue/"),
    Page("review", "bob", "/w/{desk}/review/{in_review}/"),
    # The desk's admin, with a second desk (the desk switcher) and staff (for /ops/)
    Page("queue (admin: release holds)", "erin", "/w/{desk}/queue/"),
    Page("dashboard", "erin", "/w/{desk}/dashboard/"),
    Page("members", "erin", "/w/{desk}/members/"),
    Page("rating scale", "erin", "/w/{desk}/scale/"),
    Page("publishing settings", "erin", "/w/{desk}/publishing/"),
    Page("partners", "erin", "/w/{desk}/partners/"),
    Page("audit log", "erin", "/w/{desk}/audit/"),
    Page("operations", "erin", "/ops/"),
]


@pytest.fixture
def scene(desk, article, crew, request, settings, tmp_path):
    """The small desk of the dashboard's tests (verdicts over two weeks, one claim in review,
    one waiting, one rejected, sources with link statuses), with public pages, a draft, a
    withdrawn verdict, a partner and a staff admin."""
    desk.public_pages = True
    desk.save(update_fields=["public_pages"])
    request.getfixturevalue("small_desk")
    erin = crew["admin"]
    erin.is_staff = True
    erin.save(update_fields=["is_staff"])
    membership_set(workspace=request.getfixturevalue("other_desk"), user=erin, role=Role.ANNOTATOR)
    withdrawn = claim_in_state("approved", article, crew, quote="Rogachyov also ruled out Russia")
    claim_reopen(claim=withdrawn, actor=erin, reason="The quote is cut short.", revision=withdrawn.revision)
    partner = partner_create(workspace=desk, actor=erin, name="Wire Service", contact_email="desk@wire.example")
    partner_key_create(partner=partner, actor=erin)
    settings.AUDIT_CHECKPOINT_DIR = tmp_path / "checkpoints"
    assert checkpoints.checkpoint_sign_head().signed  # for the audit key page's latest checkpoint
    draft = claim_in_state("draft", article, crew, quote="Turkey’s foreign minister expressed concerns")
    return {
        "desk": desk.slug,
        "article": article.pk,
        "draft": draft.pk,
        "approved": Claim.objects.filter(state="approved").order_by("pk").values_list("pk", flat=True)[0],
        "withdrawn": withdrawn.pk,
        "in_review": Claim.objects.get(state="in_review").pk,
        "uid": urlsafe_base64_encode(force_bytes(crew["author"].pk)),
        "token": default_token_generator.make_token(crew["author"]),
    }


def new_tab(browser, problems: list[str], width: int = 1280, height: int = 900):
    """A tab that records every script error and console error (a Content-Security-Policy
    violation is one) in `problems`, except a page's own expected 4xx status."""
    context = browser.new_context(viewport={"width": width, "height": height})
    tab = context.new_page()
    tab.set_default_timeout(10_000)

    def console(message) -> None:
        own_status = message.text.startswith("Failed to load resource") and message.location.get("url") == tab.url
        if message.type == "error" and not own_status:
            problems.append(f"{tab.url}: {message.text}")

    tab.on("pageerror", lambda error: problems.append(f"{tab.url}: {error}"))
    tab.on("console", console)
    return context, tab


def log_in(tab, live_server, username: str) -> None:
    tab.goto(f"{live_server.url}/login/")
    tab.fill("#id_username", username)
    tab.fill("#id_password", f"{username}-password")
    tab.click("button[type=submit]")
    tab.wait_for_url(f"{live_server.url}/")


def visit(tab, live_server, page: Page, ids: dict) -> None:
    response = tab.goto(live_server.url + page.path.format(**ids))
    assert response is not None and response.status == page.status, (page.name, response and response.status)
    if page.open == "panel":
        tab.locator(f"#claim-{ids['draft']} .claim-open").click()
        tab.get_by_role("link", name="Open claim").click()
        tab.wait_for_selector(f'#claim-editor form.claim-form[data-claim="{ids["draft"]}"]')
    elif page.open == "help":
        tab.get_by_role("button", name="Keyboard shortcuts (?)").click()
        tab.get_by_role("dialog", name="Keyboard shortcuts").wait_for()


def blocking_violations(tab) -> list[str]:
    """axe's serious and critical violations on the page: rule, impact, element, help."""
    results = AXE.run(tab, options={"resultTypes": ["violations"]})
    lines = []
    for violation in results.response["violations"]:
        if violation["impact"] not in BLOCKING:
            continue
        for node in violation["nodes"]:
            lines.append(f"{violation['id']} ({violation['impact']}) at {', '.join(map(str, node['target']))}: "
                         f"{violation['help']}\n      {node['html'][:200]}")
    return lines


# Every element one reaches with Tab, focused in turn after a first Tab press (so the browser
# is in keyboard mode and :focus-visible applies): those that show no outline and no shadow.
UNFOCUSED = """() => {
  const reachable = 'a[href], button, input:not([type=hidden]), select, textarea, summary, '
    + '[tabindex]:not([tabindex="-1"]), [contenteditable]';
  const bad = [];
  for (const el of document.querySelectorAll(reachable)) {
    if (el.disabled || !el.checkVisibility({visibilityProperty: true})) continue;
    el.focus();
    if (document.activeElement !== el) continue;
    const s = getComputedStyle(el);
    const ring = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none';
    if (!ring || !el.matches(':focus-visible'))
      bad.push(el.outerHTML.slice(0, 120));
  }
  return bad;
}"""


def check_every_page(browser, live_server, scene, *, width: int, height: int) -> dict[str, list[str]]:
    """Every page of PAGES (at 360 px, those marked narrow) as its person sees it: what axe
    finds, what sticks out of the window, what shows no focus, and any script or CSP error."""
    problems: list[str] = []
    found: dict[str, list[str]] = {}
    people: dict[str | None, list[Page]] = {}
    for page in PAGES:
        if page.narrow or width > 360:
            people.setdefault(page.who, []).append(page)
    for who, pages in people.items():
        context, tab = new_tab(browser, problems, width=width, height=height)
        try:
            if who:
                log_in(tab, live_server, who)
            for page in pages:
                visit(tab, live_server, page, scene)
                lines = blocking_violations(tab)
                if tab.evaluate(OVERFLOW) > 0:
                    lines.append(f"wider than the window by {tab.evaluate(OVERFLOW)} px: "
                                 + "; ".join(tab.evaluate(STICKING_OUT)))
                tab.keyboard.press("Tab")
                lines += [f"no visible focus: {html}" for html in tab.evaluate(UNFOCUSED)]
                if lines:
                    found[f"{page.name} ({who or 'no account'}, {page.path.format(**scene)})"] = lines
        finally:
            context.close()
    if problems:
        found["script or Content-Security-Policy errors"] = problems
    return found


def report(found: dict[str, list[str]]) -> str:
    return "\n".join(f"{page}:\n  " + "\n  ".join(lines) for page, lines in found.items())


def test_every_page_passes_axe_shows_focus_and_fits_at_1280px(browser, live_server, scene):
    found = check_every_page(browser, live_server, scene, width=1280, height=900)
    assert not found, f"{len(found)} of {len(PAGES)} pages have problems:\n{report(found)}"


def test_every_page_passes_axe_shows_focus_and_fits_at_360px(browser, live_server, scene):
    """The pages in a phone's window: nothing wider than 360 px (a table becomes one card per
    row, or scrolls in a region of its own), and axe on the narrow layout (the menu button)."""
    found = check_every_page(browser, live_server, scene, width=360, height=740)
    assert not found, f"{len(found)} pages have problems at 360 px:\n{report(found)}"


# Each state of a claim's highlight, told by its line (not only its colour, which is the rating's).
HIGHLIGHT_LINES = """() => {
  const lines = {};
  for (const seg of document.querySelectorAll('.article-text .seg.hl:not(.multi)')) {
    const state = [...seg.classList].find(c => c.startsWith('st-')).slice(3);
    const s = getComputedStyle(seg);
    lines[state] ??= `${s.borderBottomStyle} ${s.textDecorationLine}`;
  }
  return lines;
}"""
# The current page in the top bar, told by weight and underline, not by colour alone.
CURRENT_LINK = """() => [...document.querySelectorAll('.nav-links a')].map(a => {
  const s = getComputedStyle(a);
  return [a.getAttribute('aria-current'), `${s.fontWeight} ${s.textDecorationLine}`];
})"""


def test_no_state_is_told_by_colour_alone(browser, live_server, scene):
    problems: list[str] = []
    context, tab = new_tab(browser, problems)
    try:
        log_in(tab, live_server, "erin")
        tab.goto(f"{live_server.url}/w/{scene['desk']}/articles/{scene['article']}/")
        lines = tab.evaluate(HIGHLIGHT_LINES)
        assert set(lines) == {"draft", "submitted", "in_review", "changes_requested", "approved", "rejected"}, lines
        assert lines["submitted"] == lines["in_review"]  # both wait for a reviewer: one line
        told = [lines[s] for s in ("draft", "submitted", "changes_requested", "approved", "rejected")]
        assert len(set(told)) == len(told), lines  # dashed, dotted, double, solid, struck

        tab.goto(f"{live_server.url}/w/{scene['desk']}/queue/")
        links = tab.evaluate(CURRENT_LINK)
        current = {style for marker, style in links if marker == "page"}
        others = {style for marker, style in links if marker != "page"}
        assert len(current) == 1 and not current & others, links
        # The queue says in words what waits, who holds what and which source is broken.
        assert tab.get_by_test_id("in-review-count").inner_text() == "1 in review"
        assert tab.get_by_test_id("holder").inner_text() == "Bob"
        badges = tab.locator(".badge").all_inner_texts()
        assert badges and all(text.strip() for text in badges), badges

        # The dashboard: every series of a chart has a hatching of its own beside its colour.
        tab.goto(f"{live_server.url}/w/{scene['desk']}/dashboard/")
        hatchings = tab.evaluate("""() => [...document.querySelectorAll('svg.chart')].map(svg =>
            [...svg.querySelectorAll('pattern g')].map(g => g.innerHTML.replace(/#[0-9a-f]{6}/gi, '')))""")
        assert any(len(chart) > 1 for chart in hatchings)
        for chart in hatchings:
            assert len(set(chart)) == len(chart), chart
    finally:
        context.close()
    assert problems == []


@pytest.mark.skipif(not os.environ.get("SCREENSHOTS"), reason="SCREENSHOTS=<directory> saves the screenshots")
def test_screenshots_of_the_queue_and_the_dashboard(browser, live_server, scene):
    """The pictures in README.md: the queue with a claim in review (as the desk's admin, who
    may release the hold) and the dashboard of the small desk, at 1280x900."""
    folder = Path(os.environ["SCREENSHOTS"])
    folder.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    context, tab = new_tab(browser, problems)
    try:
        log_in(tab, live_server, "erin")
        tab.goto(f"{live_server.url}/w/{scene['desk']}/queue/")
        assert tab.get_by_test_id("in-review-row").count() == 1
        tab.get_by_test_id("in-review").evaluate("section => section.scrollIntoView({block: 'end'})")
        tab.screenshot(path=str(folder / "queue.png"))
        tab.goto(f"{live_server.url}/w/{scene['desk']}/dashboard/")
        tab.screenshot(path=str(folder / "dashboard.png"))
    finally:
        context.close()
    assert problems == []
