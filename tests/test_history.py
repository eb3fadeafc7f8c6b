"""The claim timeline and the audit log speak in labels, in the reader's time zone, and the
audit log pages by keyset."""

import re
import zoneinfo
from datetime import datetime

import pytest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format

from annotations import audit, selectors
from annotations.models import AuditEvent, Profile, Source, Workspace
from annotations.services.profiles import profile_time_zone_set, workspace_time_zone_set
from tests.conftest import claim_in_state

pytestmark = pytest.mark.django_db

# What the old pages showed: database columns, raw states, task ids.
RAW = re.compile(r"rating_id|claim_reviewed|held_by_id|in_review|changes_requested|task: |sql: |outbox-")


@pytest.fixture
def reviewed(article, crew):
    """An approved claim with a source, a link check and a change made straight in the database."""
    claim = claim_in_state("approved", article, crew)
    source = Source.objects.create(claim=claim, url="https://example.org/report", title="The report",
                                   created_by=crew["author"])
    with audit.context(request="task: annotations.tasks.check_source_link[outbox-7-0]"):
        Source.objects.filter(pk=source.pk).update(link_status="broken", link_status_code=404)
    Source.objects.filter(pk=source.pk).update(title="The report (renamed in psql)")  # no context
    return claim


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("\xa0", " ")


def test_the_timeline_names_people_ratings_states_fields_and_system_writers(reviewed, crew):
    entries = selectors.claim_timeline(claim=reviewed)
    lines = [(e.who, e.what) for e in entries]
    assert ("Alice", "submitted the claim for review") in lines
    assert ("Bob", "took the claim for review") in lines
    assert ("Bob", "approved the claim") in lines
    assert ("link check", "changed a source") in lines
    assert any(who.startswith("database (role ") and what == "changed a source" for who, what in lines)

    edit = next(e for e in entries if e.action == "claim.updated")
    changes = {label: (str(old), str(new)) for label, old, new in edit.changes}
    assert changes["Rating"] == ("—", "Mostly true")
    assert changes["Restatement"] == ("—", "Abadi says Russian strikes are possible")
    taken = next(e for e in entries if e.action == "claim.taken")
    changes = {label: (str(old), str(new)) for label, old, new in taken.changes}
    assert changes["State"] == ("Submitted", "In review")
    assert changes["Held by"] == ("—", "Bob")
    link = next(e for e in entries if e.who == "link check")
    assert {label: str(new) for label, _, new in link.changes}["Link check"] == "Broken"

    html = render_to_string("annotations/_timeline.html", {"timeline": entries})
    assert not RAW.search(text_of(html)), text_of(html)


def test_times_show_in_the_readers_zone_with_the_exact_time_beside_the_relative_one(reviewed):
    entries = selectors.claim_timeline(claim=reviewed)
    with timezone.override(zoneinfo.ZoneInfo("Asia/Kathmandu")):
        html = render_to_string("annotations/_timeline.html", {"timeline": entries})
    first = entries[0].occurred_at
    assert f'datetime="{date_format(timezone.localtime(first, zoneinfo.ZoneInfo("Asia/Kathmandu")), "c")}"' in html
    assert "+0545" in html  # the zone is named in the exact time (title)
    assert "ago" in text_of(html) or "now" in text_of(html)


def test_the_audit_log_shows_the_readers_zone_else_the_desks(client, desk, crew, reviewed):
    url = reverse("audit_log", args=[desk.slug])
    workspace_time_zone_set(workspace=desk, actor=crew["admin"], time_zone="America/New_York")
    client.force_login(crew["admin"])
    page = client.get(url).content.decode()
    new_york = date_format(timezone.localtime(timezone.now(), zoneinfo.ZoneInfo("America/New_York")), "T")
    assert re.search(rf"\d\d:\d\d {new_york}\b", page)

    profile_time_zone_set(user=crew["admin"], time_zone="Asia/Kathmandu")
    page = client.get(url).content.decode()
    assert re.search(r"\d\d:\d\d \+0545", page) and not re.search(rf"\d\d:\d\d {new_york}\b", page)
    text = text_of(page)
    assert "Alice submitted the claim for review" in text and "Bob approved the claim" in text
    assert "Raw row diff" in page and "rating_id" in page  # the raw diff, one click away


def test_the_audit_log_pages_by_keyset_newest_first(client, desk, crew, reviewed, monkeypatch):
    from annotations import views_review

    monkeypatch.setattr(views_review, "AUDIT_PAGE_SIZE", 5)
    for i in range(8):
        Workspace.objects.filter(pk=desk.pk).update(publisher_name=f"Desk {i}")
    ids = list(AuditEvent.objects.filter(workspace_id=desk.pk).order_by("-id").values_list("id", flat=True))
    client.force_login(crew["admin"])
    url = reverse("audit_log", args=[desk.slug])

    seen, response = [], client.get(url)
    while True:
        seen += [e.pk for e in response.context["page"]]
        if response.context["older"] is None:
            break
        response = client.get(url, {"before": response.context["older"]})
    assert seen == ids  # every event once, newest first
    back = client.get(url, {"after": client.get(url, {"before": ids[4]}).context["newer"]})
    assert [e.pk for e in back.context["page"]] == ids[:5] and back.context["newer"] is None


def test_a_bad_date_filter_is_named_and_left_out(client, desk, crew, reviewed):
    client.force_login(crew["admin"])
    response = client.get(reverse("audit_log", args=[desk.slug]), {"since": "2024-13-45"})
    assert response.status_code == 200
    assert "From: enter a date as YYYY-MM-DD" in response.content.decode()
    assert len(response.context["page"]) > 0


def test_a_person_picks_their_zone_and_an_admin_the_desks(client, desk, crew, other_desk):
    client.force_login(crew["admin"])
    url = reverse("profile")
    bad = client.post(url, {"time_zone": "Mars/Olympus_Mons"})
    assert bad.status_code == 400 and "Choose a time zone from the list" in bad.content.decode()
    assert not Profile.objects.filter(user=crew["admin"]).exists()

    assert client.post(url, {"time_zone": "Europe/Paris"}).status_code == 302
    assert Profile.objects.get(user=crew["admin"]).time_zone == "Europe/Paris"
    assert client.post(url, {"time_zone": ""}).status_code == 302  # back to each desk's own
    assert Profile.objects.get(user=crew["admin"]).time_zone == ""

    assert client.post(url, {"desk": desk.slug, "desk_time_zone": "Asia/Tokyo"}).status_code == 302
    desk.refresh_from_db()
    assert desk.time_zone == "Asia/Tokyo"
    event = AuditEvent.objects.filter(object_type="workspace", object_id=str(desk.pk)).latest("id")
    assert event.actor_id == crew["admin"].pk and ("time_zone", "UTC", "Asia/Tokyo") in event.changes

    client.force_login(crew["reviewer"])  # not the desk's admin
    refused = client.post(url, {"desk": desk.slug, "desk_time_zone": "Europe/Paris"})
    assert refused.status_code == 403
    outsider = client.post(url, {"desk": other_desk.slug, "desk_time_zone": "Europe/Paris"})
    assert outsider.status_code == 400 and "You are not a member of a desk called" in outsider.content.decode()
    desk.refresh_from_db()
    other_desk.refresh_from_db()
    assert (desk.time_zone, other_desk.time_zone) == ("Asia/Tokyo", "UTC")


def test_a_label_removed_since_is_still_named_by_what_it_was(reviewed, crew):
    entries = selectors.claim_timeline(claim=reviewed)
    # A rating id of another desk is never named (nor read): it shows as removed.
    event = next(e.event for e in entries if e.action == "claim.updated")
    event.after = {**event.after, "rating_id": 999_999}
    from annotations import history

    [entry] = history.describe([event], workspace_id=reviewed.workspace_id)
    assert ("Rating", "rating #999999 (removed)") in [(label, str(new)) for label, _, new in entry.changes]
    assert isinstance(entry.occurred_at, datetime)
