"""The application's database role, and an audit trail that no role's session can quietly
rewrite: the suite runs as the application role, like the web and the workers."""

import json

import pytest
from django.db import DatabaseError, connection, transaction

from annotations.models import AuditEvent, Claim, Publication
from annotations.services.claims import claim_update
from tests.conftest import claim_in_state, connect_as

pytestmark = pytest.mark.django_db

AUDIT = "annotations_auditevent"
# The exact statement that lifted the pgtrigger.Protect the audit table had before.
LIFT_OLD_PROTECTION = "SET pgtrigger.ignore='{pgtrigger_audit_is_append_only_42d5e}'"


@pytest.fixture(autouse=True)
def two_roles():
    from annotations import dbroles

    owner = dbroles.owner_credentials()
    if owner is None or owner["USER"] == connection.settings_dict["USER"]:
        pytest.fail("These tests need the owner and the application role: set DATABASE_OWNER_URL "
                    "(./desk test does), or run them through ./desk test.")
    return owner


def refused(statement: str, params=()) -> str:
    """Run `statement` as the application role; return Postgres's refusal."""
    with pytest.raises(DatabaseError) as excinfo, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, params)
    return str(excinfo.value)


def pgid(model, name: str) -> str:
    trigger = next(t for t in model._meta.triggers if t.name == name)
    return trigger.get_pgid(model)


def test_the_application_role_is_no_superuser_and_owns_nothing():
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles "
                       "WHERE rolname = current_user")
        assert cursor.fetchone() == (False, False, False, False)
        cursor.execute("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                       "WHERE n.nspname = 'public' "
                       "AND c.relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)")
        assert cursor.fetchone() == (0,)
        cursor.execute(
            "SELECT privilege, has_table_privilege(current_user, %s, privilege) FROM unnest(ARRAY"
            "['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) privilege",
            [AUDIT],
        )
        assert dict(cursor.fetchall()) == {"SELECT": True, "INSERT": False, "UPDATE": False, "DELETE": False,
                                           "TRUNCATE": False, "REFERENCES": False, "TRIGGER": False}


@pytest.mark.parametrize("statement, because", [
    ("ALTER TABLE annotations_auditevent DISABLE TRIGGER USER", "must be owner"),
    ("ALTER TABLE annotations_auditevent DISABLE TRIGGER audit_append_only", "must be owner"),
    ("ALTER TABLE annotations_claim DISABLE TRIGGER ALL", "must be owner"),
    ("ALTER TABLE annotations_claim ADD COLUMN verdict_override text", "must be owner"),
    ("DROP TRIGGER audit_no_truncate ON annotations_auditevent", "must be owner"),
    ("DROP TABLE annotations_auditevent", "must be owner"),
    ("TRUNCATE annotations_auditevent", "permission denied"),
    ("TRUNCATE annotations_claim CASCADE", "permission denied"),
    ("UPDATE annotations_auditevent SET reason = 'nothing to see'", "permission denied"),
    ("DELETE FROM annotations_auditevent", "permission denied"),
    (("INSERT INTO annotations_auditevent (occurred_at, object_type, object_id, action, request, reason,"
      " prev_hash, hash) VALUES (now(), 'claim', '1', 'claim.approved', 'forged', '', '', '')"), "permission denied"),
    ("CREATE TABLE public.shadow (id int)", "permission denied"),
    ("CREATE OR REPLACE FUNCTION public.factcheck_app_role() RETURNS name LANGUAGE sql AS $$ SELECT 'x'::name $$",
     "permission denied for schema public"),
    (("CREATE OR REPLACE FUNCTION public._pgtrigger_should_ignore(trigger_name name) RETURNS boolean "
      "LANGUAGE sql AS $$ SELECT true $$"), "permission denied for schema public"),
    ("SET session_replication_role = replica", "permission denied"),
    ("ALTER ROLE CURRENT_USER SUPERUSER", "must be superuser"),
])
def test_the_application_role_cannot_run_a_forbidden_statement(statement, because):
    assert because in refused(statement)


def test_pgtrigger_ignore_lifts_nothing(article, crew):
    """The exact SET that switched the append-only rule off, and the same for the
    workflow's and the publications' pgtrigger triggers, from the application role."""
    event = AuditEvent.objects.latest("id")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(LIFT_OLD_PROTECTION.replace("SET ", "SET LOCAL ", 1))
        assert "permission denied" in refused("UPDATE annotations_auditevent SET reason = 'x' WHERE id = %s",
                                              [event.pk])
    claim = claim_in_state("approved", article, crew)
    publication = Publication.objects.get(claim=claim, current=True)
    state_change, immutable = pgid(Claim, "claim_state_change_allowed"), pgid(Publication, "publication_is_immutable")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('pgtrigger.ignore', %s, true)", [f"{{{state_change},{immutable}}}"])
        assert "A claim cannot go from approved to draft." in refused(
            "UPDATE annotations_claim SET state = 'draft', submitted_at = NULL WHERE id = %s", [claim.pk])
        message = refused("UPDATE annotations_publication SET record = '{}'::jsonb WHERE id = %s", [publication.pk])
        assert "publication" in message.lower()
    assert Claim.objects.get(pk=claim.pk).state == "approved"


@pytest.mark.django_db(transaction=True)
def test_even_the_owner_cannot_change_delete_or_truncate_audit_rows_with_any_session_setting(article, crew):
    claim_in_state("submitted", article, crew)
    events = AuditEvent.objects.count()
    with connect_as() as owner:
        owner.execute(LIFT_OLD_PROTECTION)
        for statement in ("UPDATE annotations_auditevent SET reason = 'x'", "DELETE FROM annotations_auditevent",
                          "TRUNCATE annotations_auditevent"):
            with pytest.raises(Exception, match="The audit trail is append-only"), owner.transaction():
                owner.execute(statement)
    assert AuditEvent.objects.count() == events


@pytest.mark.django_db(transaction=True)
def test_a_forged_actor_is_believed_only_from_the_application_role(article, alice, bob):
    from annotations.services.claims import claim_create
    from tests.test_audit import verify

    version = article.versions.get()
    start = version.text.index("It is a possibility.")
    claim = claim_create(actor=alice, article=article, version=version, exact="It is a possibility.",
                         start=start, end=start + 20)
    forged = json.dumps({"actor_id": bob.pk, "request": "POST /claims/approve", "reason": "made up"})
    with connect_as() as owner:  # a second role: the tables' owner
        owner.execute("SELECT set_config('factcheck.audit', %s, false)", [forged])
        owner.execute("UPDATE annotations_claim SET rationale = 'Edited by the owner' WHERE id = %s", [claim.pk])
        owner_role = owner.info.user
    event = AuditEvent.objects.filter(claim_id=claim.pk).latest("id")
    assert (event.actor_id, event.request, event.reason, event.db_role) == (
        None, f"sql: {owner_role}", "", owner_role)

    # The application role's own context is believed, and its role recorded.
    claim = Claim.objects.get(pk=claim.pk)
    claim_update(claim=claim, actor=alice, revision=claim.revision, fields={"claimant": "Abadi"})
    event = AuditEvent.objects.filter(claim_id=claim.pk).latest("id")
    assert (event.actor_id, event.db_role) == (alice.pk, connection.settings_dict["USER"])
    assert "intact" in verify()


def test_events_written_before_the_role_was_recorded_keep_their_hash():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT factcheck_audit_hash('a', 1, now(), 'claim', '1', 'claim.created', 2, 'r', '', NULL, '{}'),"
            "       factcheck_audit_hash('a', 1, now(), 'claim', '1', 'claim.created', 2, 'r', '', NULL, '{}', ''),"
            "       factcheck_audit_hash('a', 1, now(), 'claim', '1', 'claim.created', 2, 'r', '', NULL, '{}', 'x')")
        old, empty_role, with_role = cursor.fetchone()
    assert old == empty_role != with_role
