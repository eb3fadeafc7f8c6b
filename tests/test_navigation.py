"""The top bar (links by role, the current page, the queue's count, the desk switcher) and the
review queue (labelled filters, who holds what until when, an admin releasing a hold)."""

import re

import pytest
from django.urls import NoReverseMatch, reverse

from annotations.models import AuditEvent, Claim, ClaimState, Role
from annotations.services.workspaces import membership_set
from tests.conftest import claim_in_state, ready_and_submit
from tests.test_page_queries import QUOTES, add_claims

pytestmark = pytest.mark.django_db


def nav_links(html: str) -> dict[str, str]:
    """The desk links of the top bar: text -> the <a> tag."""
    bar = html.split('class="nav-links"', 1)[1].split("</ul>", 1)[0]
    return {re.sub(r"\s+\d+\s+waiting", "", re.sub(r"<[^>]+>", "", body)).strip(): tag
            for tag, body in re.findall(r"(<a [^>]*>)(.*?)</a>", bar, flags=re.S)}


def dashboard_exists(desk) -> bool:
    try:
        reverse("dashboard", args=[desk.slug])
    except NoReverseMatch:
        return False
    return True


def test_the_bar_links_a_desks_pages_by_role_and_marks_the_current_one(client, desk, crew):
    common = ["Articles", "My claims", *(["Dashboard"] if dashboard_exists(desk) else []), "Exports"]
    expected = {
        "author": common,
        "reviewer": ["Articles", "Queue", *common[1:]],
        "admin": ["Articles", "Queue", *common[1:], "Members", "Scale", "Partners", "Audit"],
    }
    for role, links in expected.items():
        client.force_login(crew[role])
        html = client.get(reverse("my_claims", args=[desk.slug])).content.decode()
        found = nav_links(html)
        assert list(found) == links, role
        assert 'aria-current="page"' in found["My claims"]
        assert [name for name, tag in found.items() if "aria-current" in tag] == ["My claims"]
        assert "Log out" in html and 'data-testid="current-user"' in html and ">Change password</a>" in html

    client.force_login(crew["admin"])
    found = nav_links(client.get(reverse("audit_log", args=[desk.slug])).content.decode())
    assert [name for name, tag in found.items() if "aria-current" in tag] == ["Audit"]


def test_the_queue_count_in_the_bar_is_the_queues_waiting_count(client, desk, article, crew):
    add_claims(article, crew["author"], QUOTES[:3])
    claim_in_state("in_review", article, crew, quote=QUOTES[6])  # held: not waiting
    client.force_login(crew["reviewer"])
    page = client.get(reverse("queue", args=[desk.slug]))
    html = page.content.decode()
    [count] = re.findall(r'data-testid="nav-queue-count">(\d+)<', html)
    assert int(count) == page.context["counts"]["waiting"] == len(page.context["claims"]) == 3
    # Elsewhere too, from the same one query of the bar.
    html = client.get(reverse("exports", args=[desk.slug])).content.decode()
    assert re.findall(r'data-testid="nav-queue-count">(\d+)<', html) == ["3"]


def test_the_desk_switcher_lists_my_desks_only(client, desk, other_desk, crew):
    membership_set(workspace=other_desk, user=crew["admin"], role=Role.ANNOTATOR)
    client.force_login(crew["admin"])
    html = client.get(reverse("exports", args=[desk.slug])).content.decode()
    switcher = html.split('data-testid="desk-switcher"', 1)[1].split("</details>", 1)[0]
    assert reverse("article_list", args=[other_desk.slug]) in switcher and "Charlie&#x27;s desk" in switcher
    client.force_login(crew["author"])  # one desk: its name, no menu
    html = client.get(reverse("exports", args=[desk.slug])).content.decode()
    assert "<details" not in html.split('class="topbar"', 1)[1].split("</header>", 1)[0]
    assert "Charlie" not in html


def test_pages_outside_a_desk_and_logged_out_pages_have_no_desk_links(client, crew):
    assert 'class="nav-links"' not in client.get(reverse("login")).content.decode()
    client.force_login(crew["author"])
    home = client.get(reverse("home")).content.decode()
    assert 'class="nav-links"' not in home and 'data-testid="current-user"' in home


# --- The queue --------------------------------------------------------------------------------

def test_the_queue_lists_the_claims_in_review_with_holder_and_hold_end_in_the_zone(client, desk, article, crew):
    held = claim_in_state("in_review", article, crew)
    client.force_login(crew["admin"])
    page = client.get(reverse("queue", args=[desk.slug]))
    html = page.content.decode()
    rows = re.findall(r'data-testid="in-review-row" data-claim="(\d+)"', html)
    assert rows == [str(held.pk)]
    assert re.search(r'data-testid="in-review-count">1 in review<', html)
    row = html.split('data-testid="in-review-row"', 1)[1].split("</tr>", 1)[0]
    assert 'data-testid="holder">Bob<' in row
    assert re.search(r'data-testid="hold-end">\d\d:\d\d UTC</time>', row)
    assert "Times are in UTC." in html
    for name in ("article", "rating", "author"):  # each filter has a visible label
        assert re.search(rf'<label for="queue-{name}">\w+</label>\s*<select id="queue-{name}" name="{name}">', html)


def test_in_review_counts_only_what_it_lists(client, desk, article, crew):
    from datetime import timedelta

    from django.utils import timezone

    live = claim_in_state("in_review", article, crew)
    lapsed = claim_in_state("in_review", article, crew, quote=QUOTES[1])
    Claim.objects.filter(pk=lapsed.pk).update(held_until=timezone.now() - timedelta(minutes=1))
    client.force_login(crew["reviewer"])
    page = client.get(reverse("queue", args=[desk.slug]))
    assert [c.pk for c in page.context["in_review"]] == [live.pk]
    assert "1 in review" in page.content.decode()
    assert lapsed.pk in [c.pk for c in page.context["claims"]]  # waiting again, for anyone


@pytest.mark.parametrize("role, status", [("admin", 302), ("reviewer", 403), ("author", 403), ("outsider", 404)])
def test_only_an_admin_releases_someone_elses_hold(client, desk, article, crew, role, status):
    held = claim_in_state("in_review", article, crew)
    before = AuditEvent.objects.count()
    client.force_login(crew[role])
    response = client.post(reverse("queue", args=[desk.slug]), {"release": held.pk})
    assert response.status_code == status
    claim = Claim.objects.get(pk=held.pk)
    if role != "admin":
        assert (claim.state, claim.held_by_id) == (ClaimState.IN_REVIEW, crew["reviewer"].pk)
        assert AuditEvent.objects.count() == before
        if status == 403:
            assert "admin" in response.content.decode()
        return
    assert (claim.state, claim.held_by_id, claim.held_until) == (ClaimState.SUBMITTED, None, None)
    event = AuditEvent.objects.filter(object_type="claim", object_id=str(held.pk)).latest("id")
    assert (event.action, event.actor_id) == ("claim.released", crew["admin"].pk)
    assert event.reason == "An admin released the hold of Bob."
    # The button shows only to those who may press it.
    claim_in_state("in_review", article, crew, quote=QUOTES[1])
    assert "Release hold" in client.get(reverse("queue", args=[desk.slug])).content.decode()
    client.force_login(crew["reviewer"])
    assert "Release hold" not in client.get(reverse("queue", args=[desk.slug])).content.decode()


def test_releasing_a_claim_nobody_holds_says_so(client, desk, article, crew):
    waiting = ready_and_submit(claim_in_state("draft", article, crew))
    client.force_login(crew["admin"])
    response = client.post(reverse("queue", args=[desk.slug]), {"release": waiting.pk}, follow=True)
    assert "Nobody holds this claim: it is submitted." in response.content.decode()
    assert Claim.objects.get(pk=waiting.pk).revision == waiting.revision
