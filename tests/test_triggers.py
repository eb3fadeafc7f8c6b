"""The workflow's triggers are declared on the models, so the migrations follow the code:
the claim's state-change trigger is generated from the transition table, a change to the
table is a change `makemigrations` sees, and the database runs what the models declare."""

import re
from datetime import timedelta
from io import StringIO
from itertools import product

import pgtrigger
import psycopg
import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.commands import makemigrations
from django.db import DatabaseError, connection, transaction
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.questioner import NonInteractiveMigrationQuestioner
from django.db.migrations.state import ProjectState
from django.db.models import Model
from django.utils import timezone
from pgtrigger import compiler
from pgtrigger.core import INSTALLED
from pgtrigger.migrations import AddTrigger, RemoveTrigger

from annotations.models import Claim, ClaimState, Review, claim_state_change_trigger
from annotations.workflow import TRANSITIONS, Transition, allowed_state_changes
from tests.test_models import make_claim

WITHDRAW = Transition("withdraw", frozenset({ClaimState.SUBMITTED}), ClaimState.DRAFT, "annotations.submit_claim")


def declared_triggers(model: type[Model]) -> list[pgtrigger.Trigger]:
    return list(model._meta.triggers)  # type: ignore[attr-defined]  # pgtrigger adds Meta.triggers


def declared_trigger(model: type[Model], name: str) -> pgtrigger.Trigger:
    return next(trigger for trigger in declared_triggers(model) if trigger.name == name)


def compiled(trigger: pgtrigger.Trigger, model: type[Model]) -> compiler.Trigger:
    return trigger.compile(model)  # type: ignore[arg-type]  # pgtrigger annotates the class as an instance


def constraint_name(error: DatabaseError) -> str:
    """The constraint Postgres names in the error, as services that translate it read it."""
    assert isinstance(error.__cause__, psycopg.Error)
    return error.__cause__.diag.constraint_name or ""


def autodetected_operations(*, claim_triggers: list[pgtrigger.Trigger]) -> list:
    """What `makemigrations` would write if Claim declared `claim_triggers`: the app's
    models as they are, against the state its migrations build."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    models_state = ProjectState.from_apps(apps)
    models_state.models["annotations", "claim"].options["triggers"] = claim_triggers
    # makemigrations' own autodetector, which pgtrigger extends to compare triggers.
    autodetector = makemigrations.Command.autodetector(
        loader.project_state(),
        models_state,
        NonInteractiveMigrationQuestioner(specified_apps={"annotations"}, dry_run=True),
    )
    changes = autodetector.changes(graph=loader.graph, trim_to_apps={"annotations"})
    return [operation for migration in changes.get("annotations", []) for operation in migration.operations]


def test_the_claim_declares_the_trigger_generated_from_the_transition_table():
    declared = compiled(declared_trigger(Claim, "claim_state_change_allowed"), Claim)
    generated = compiled(claim_state_change_trigger(transitions=TRANSITIONS.values()), Claim)
    assert declared.install_sql == generated.install_sql
    for source, target in allowed_state_changes(transitions=TRANSITIONS.values()):
        assert f"('{source}', '{target}')" in declared.install_sql


def test_a_changed_transition_table_needs_a_migration():
    changed = [*TRANSITIONS.values(), WITHDRAW]
    claim_triggers = [
        claim_state_change_trigger(transitions=changed) if trigger.name == "claim_state_change_allowed" else trigger
        for trigger in declared_triggers(Claim)
    ]

    operations = autodetected_operations(claim_triggers=claim_triggers)

    assert [(type(op), op.model_name) for op in operations] == [(RemoveTrigger, "claim"), (AddTrigger, "claim")]
    removed, added = operations
    assert removed.name == added.trigger.name == "claim_state_change_allowed"
    assert "('submitted', 'draft')" in added.trigger.install_sql


def test_the_real_transition_table_needs_no_migration():
    assert autodetected_operations(claim_triggers=declared_triggers(Claim)) == []


@pytest.mark.django_db
def test_makemigrations_finds_nothing_to_write():
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


@pytest.mark.django_db
def test_the_database_runs_the_triggers_the_models_declare():
    for model, name in [(Claim, "claim_state_change_allowed"), (Review, "review_four_eyes")]:
        status, enabled = declared_trigger(model, name).get_installation_status(model)  # type: ignore[arg-type]
        assert (status, enabled) == (INSTALLED, True), f"{name}: {status}"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT proname FROM pg_proc WHERE proname IN"
            " ('factcheck_claim_state_change', 'factcheck_review_four_eyes')"
        )
        assert cursor.fetchall() == []  # 0005's raw versions are gone


def fields_in_state(state: str, *, reviewer) -> dict:
    """The columns the claim's check constraints require in `state`."""
    now = timezone.now()
    fields = {"state": state, "submitted_at": None if state == ClaimState.DRAFT else now,
              "held_by": None, "held_until": None}
    if state == ClaimState.IN_REVIEW:
        fields |= {"held_by": reviewer, "held_until": now + timedelta(minutes=30)}
    if state == ClaimState.APPROVED:
        fields |= {"first_approved_at": now, "last_approved_at": now}
    return fields


def path_to(state: str) -> list[str]:
    """The states after draft on a shortest path of allowed changes from draft to `state`."""
    allowed = allowed_state_changes(transitions=TRANSITIONS.values())
    paths: dict[str, list[str]] = {ClaimState.DRAFT: []}
    frontier: list[str] = [ClaimState.DRAFT]
    while frontier:
        here = frontier.pop(0)
        for source, target in sorted(allowed):
            if source == here and target not in paths:
                paths[target] = [*paths[here], target]
                frontier.append(target)
    return paths[state]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "source, target", [pair for pair in product(ClaimState.values, repeat=2) if pair[0] != pair[1]]
)
def test_the_database_allows_exactly_the_state_changes_of_the_table(article, alice, bob, source, target):
    claim = make_claim(article, alice)
    # Walk the claim to `source` by allowed changes (the application role may not switch the
    # trigger off); the trigger under test is what judges the next step.
    for step in path_to(source):
        Claim.objects.filter(pk=claim.pk).update(**fields_in_state(step, reviewer=bob))
    change = lambda: Claim.objects.filter(pk=claim.pk).update(**fields_in_state(target, reviewer=bob))  # noqa: E731

    if (source, target) in allowed_state_changes(transitions=TRANSITIONS.values()):
        change()
        assert Claim.objects.get(pk=claim.pk).state == target
    else:
        refusal = re.escape(f"A claim cannot go from {source} to {target}.")
        with pytest.raises(DatabaseError, match=refusal) as excinfo, transaction.atomic():
            change()
        assert constraint_name(excinfo.value) == "claim_state_change_allowed"
        assert Claim.objects.get(pk=claim.pk).state == source


@pytest.mark.django_db
def test_the_database_refuses_a_review_by_the_author_or_last_editor(article, alice, bob, charlie):
    claim = make_claim(article, alice, last_edited_by=bob)
    for reviewer in (alice, bob):
        refusal = re.escape("Nobody reviews a claim they wrote or last edited.")
        with pytest.raises(DatabaseError, match=refusal) as excinfo, transaction.atomic():
            Review.objects.create(claim=claim, reviewer=reviewer, decision="approve", claim_revision=1)
        assert constraint_name(excinfo.value) == "review_four_eyes"
    Review.objects.create(claim=claim, reviewer=charlie, decision="approve", claim_revision=1)
    assert list(claim.reviews.values_list("reviewer__username", flat=True)) == ["charlie"]


@pytest.mark.django_db
def test_the_author_may_record_a_reopen_which_is_a_correction_not_a_review(article, alice):
    claim = make_claim(article, alice)
    Review.objects.create(
        claim=claim, reviewer=alice, decision="reopen", comment="The date was wrong.", claim_revision=1
    )
    assert claim.reviews.get().decision == "reopen"
