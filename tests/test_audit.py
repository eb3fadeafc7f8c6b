"""The audit trail records every change, however it is made, and cannot be quietly rewritten."""

import io
import itertools

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.urls import reverse

from annotations.models import AuditEvent, Claim, Membership, Source
from annotations.services.claims import claim_create, claim_update
from tests.conftest import connect_as

pytestmark = pytest.mark.django_db

QUOTE = "It is a possibility."


@pytest.fixture
def claim(article, alice):
    version = article.versions.get()
    start = version.text.index(QUOTE)
    return claim_create(actor=alice, article=article, version=version, exact=QUOTE, start=start, end=start + len(QUOTE))


def last_event(**filters) -> AuditEvent:
    return AuditEvent.objects.filter(**filters).latest("id")


def verify() -> str:
    out = io.StringIO()
    call_command("verify_audit", "--no-progress", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def as_superuser_bypassing_triggers(sql: str, params=()) -> None:
    """What someone with the database's superuser password could do (committed, so the
    tests that use it run with transaction=True)."""
    with connect_as(admin=True) as superuser:
        superuser.execute("SET session_replication_role = replica")
        superuser.execute(sql, params)


def test_a_service_write_is_recorded_with_actor_and_before_after_values(claim, alice):
    claim_update(claim=claim, actor=alice, revision=claim.revision, fields={"claimant": "Haider al-Abadi"})
    event = last_event(object_type="claim", object_id=str(claim.pk))
    assert event.action == "claim.updated"
    assert event.actor == alice
    assert ("claimant", "", "Haider al-Abadi") in event.changes
    assert event.workspace_id == claim.workspace_id and event.claim_id == claim.pk


def test_a_queryset_update_from_the_shell_is_recorded(claim):
    Claim.objects.filter(pk=claim.pk).update(rationale="Edited in the shell")
    event = last_event(object_type="claim", object_id=str(claim.pk))
    assert event.action == "claim.updated"
    assert event.actor is None and event.request == "sql: " + connection.settings_dict["USER"]
    assert ("rationale", "", "Edited in the shell") in event.changes


def test_a_change_made_in_the_django_admin_is_recorded_with_its_user_and_path(client, claim, alice, admin_user):
    membership = Membership.objects.get(user=alice, workspace=claim.workspace)
    client.force_login(admin_user)
    url = reverse("admin:annotations_membership_change", args=[membership.pk])
    response = client.post(url, {"workspace": membership.workspace_id, "user": alice.pk, "role": "reviewer"})
    assert response.status_code == 302, response.content[:500]
    event = last_event(object_type="membership", object_id=str(membership.pk))
    assert event.action == "membership.updated"
    assert event.actor == admin_user
    assert event.request == f"POST {url}"
    assert ("role", "annotator", "reviewer") in event.changes


def test_deleting_a_source_is_recorded_on_the_claims_timeline(claim, alice):
    source = Source.objects.create(claim=claim, url="https://example.org", created_by=alice)
    source.delete()
    event = last_event(object_type="source")
    assert (event.action, event.claim_id, event.after) == ("source.deleted", claim.pk, None)
    assert event.before is not None and event.before["url"] == "https://example.org"


def make_history(claim, alice, n=4):
    for i in range(n):
        claim = claim_update(claim=claim, actor=alice, revision=claim.revision, fields={"claimant": f"Person {i}"})
    return list(AuditEvent.objects.order_by("id").values_list("id", flat=True))


def test_verify_audit_proves_an_untouched_trail_intact(claim, alice):
    ids = make_history(claim, alice)
    assert f"intact: {len(ids)} events" in verify()


@pytest.mark.django_db(transaction=True)
def test_verify_audit_names_an_altered_event(claim, alice):
    ids = make_history(claim, alice)
    target = ids[len(ids) // 2]
    as_superuser_bypassing_triggers(
        "UPDATE annotations_auditevent SET reason = 'rewritten' WHERE id = %s", [target]
    )
    with pytest.raises(CommandError, match=f"Event {target} was altered"):
        verify()


@pytest.mark.django_db(transaction=True)
def test_verify_audit_names_where_an_event_was_removed(claim, alice):
    ids = make_history(claim, alice)
    removed = ids[len(ids) // 2]
    as_superuser_bypassing_triggers("DELETE FROM annotations_auditevent WHERE id = %s", [removed])
    before, after = ids[ids.index(removed) - 1], ids[ids.index(removed) + 1]
    with pytest.raises(CommandError, match=f"chain breaks between event {before} and event {after}"):
        verify()


@pytest.mark.django_db(transaction=True)
def test_verify_audit_names_an_inserted_event(claim, alice):
    make_history(claim, alice, n=2)
    # A rolled-back write leaves a gap in the ids, where a forger can slip an event in.
    with pytest.raises(RuntimeError), transaction.atomic():
        claim_update(claim=Claim.objects.get(pk=claim.pk), actor=alice,
                     revision=Claim.objects.get(pk=claim.pk).revision, fields={"claimant": "rolled back"})
        raise RuntimeError
    make_history(Claim.objects.get(pk=claim.pk), alice, n=2)
    ids = list(AuditEvent.objects.order_by("id").values_list("id", flat=True))
    gap = next(i + 1 for i, j in itertools.pairwise(ids) if j != i + 1)
    previous = AuditEvent.objects.filter(id__lt=gap).latest("id")
    # The forger even computes a valid hash for the forged event.
    as_superuser_bypassing_triggers(
        """INSERT INTO annotations_auditevent (id, occurred_at, object_type, object_id, action, request,
               reason, prev_hash, hash)
           VALUES (%s, now(), 'claim', %s, 'claim.approved', 'forged', '', %s,
               factcheck_audit_hash(%s, %s, now(), 'claim', %s, 'claim.approved', NULL, 'forged', '',
                                    NULL, NULL, ''))""",
        [gap, str(claim.pk), previous.hash, previous.hash, gap, str(claim.pk)],
    )
    with pytest.raises(CommandError, match=f"Event {gap} was inserted"):
        verify()


def test_a_write_made_by_a_celery_task_names_the_task(claim, alice, bob):
    from datetime import timedelta

    from django.utils import timezone

    from annotations import tasks
    from annotations.services.workflow import claim_take
    from tests.conftest import ready_and_submit

    claim = claim_take(claim=ready_and_submit(claim), actor=bob)
    Claim.objects.filter(pk=claim.pk).update(held_until=timezone.now() - timedelta(minutes=1))
    result = tasks.expire_holds.apply()  # runs the task with Celery's signals, in process
    assert result.get() == 1
    event = last_event(object_type="claim", object_id=str(claim.pk))
    assert event.action == "claim.released"
    assert event.request.startswith("task: annotations.tasks.expire_holds[")
    assert event.reason == "The reviewer's hold expired."


def test_the_audit_log_page_filters_by_actor_action_and_object(client, claim, alice, desk, make_user):
    from annotations.services.workspaces import membership_set

    admin = make_user("erin")
    membership_set(workspace=desk, user=admin, role="admin")
    claim_update(claim=claim, actor=alice, revision=claim.revision, fields={"claimant": "Someone"})
    client.force_login(admin)
    url = reverse("audit_log", args=[desk.slug])

    def actions(**params):
        return [e.action for e in client.get(url, params).context["page"]]

    assert actions(actor=alice.pk)[:2] == ["claim.updated", "claim.created"]
    assert "article.created" in actions(actor=alice.pk) and "membership.created" not in actions(actor=alice.pk)
    assert actions(action="claim.updated") == ["claim.updated"]
    assert set(actions(object_type="claim", object_id=claim.pk)) == {"claim.created", "claim.updated"}
    assert "membership.created" in actions()
    assert actions(since="2999-01-01") == []
