"""The database itself refuses every broken invariant, whoever writes (app, admin, shell, SQL)."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import F

from annotations.models import (
    ArticleVersion,
    Claim,
    Membership,
    RatingLabel,
    Review,
    Source,
)
from annotations.services.articles import article_import

pytestmark = pytest.mark.django_db

SENTENCE = "It is a possibility."


def make_claim(on_article, user, **overrides) -> Claim:
    article = on_article
    version = article.versions.get()
    start = version.text.index(SENTENCE)
    fields = {
        "workspace": article.workspace,
        "article": article,
        "version": version,
        "exact": SENTENCE,
        "start_offset": start,
        "end_offset": start + len(SENTENCE),
        "created_by": user,
        "last_edited_by": user,
    }
    fields.update(overrides)
    return Claim.objects.create(**fields)


def snapshot(model) -> list[tuple]:
    return sorted(model.objects.values_list())


def assert_refused(model, write, constraint: str) -> None:
    """The write raises, names the constraint, and leaves the table as it was."""
    before = snapshot(model)
    with pytest.raises(DatabaseError) as excinfo, transaction.atomic():
        write()
    diag = getattr(excinfo.value.__cause__, "diag", None)
    assert constraint in f"{getattr(diag, 'constraint_name', '')} {excinfo.value}"
    assert snapshot(model) == before


def test_a_valid_claim_is_stored_with_its_selectors(article, alice):
    claim = make_claim(article, alice)
    claim.refresh_from_db()
    version = claim.version
    assert version.text[claim.start_offset : claim.end_offset] == claim.exact == SENTENCE


def test_it_refuses_a_claim_whose_start_is_not_before_its_end(article, alice):
    claim = make_claim(article, alice)
    assert_refused(
        Claim,
        lambda: Claim.objects.filter(pk=claim.pk).update(end_offset=F("start_offset"), exact=""),
        "claim_start_before_end",
    )


def test_it_refuses_a_quote_that_does_not_match_the_text_at_its_offsets(article, alice):
    make_claim(article, alice)
    version = article.versions.get()
    start = version.text.index(SENTENCE)
    assert_refused(
        Claim,
        lambda: make_claim(article, alice, exact="It is a certainty!!", end_offset=start + 19),
        "claim_exact_matches_text",
    )


def test_it_refuses_offsets_past_the_end_of_the_text(article, alice):
    length = len(article.versions.get().text)
    assert_refused(
        Claim,
        lambda: make_claim(article, alice, exact="x", start_offset=length, end_offset=length + 1),
        "claim_exact_matches_text",
    )


def test_it_refuses_a_claim_on_a_version_of_another_article(article, alice, desk):
    other = article_import(workspace=desk, text="Another article.\nWith text.").article
    assert_refused(
        Claim,
        lambda: make_claim(article, alice, article=other),
        "claim_version_of_article",
    )


def test_it_refuses_a_claim_in_one_workspace_on_an_article_of_another(article, alice, other_desk):
    assert_refused(
        Claim, lambda: make_claim(article, alice, workspace=other_desk), "claim_article_in_workspace"
    )


def test_it_refuses_a_rating_from_another_workspaces_scale(article, alice, other_desk):
    foreign = other_desk.rating_scale.labels.get(name="False")
    assert_refused(
        Claim, lambda: make_claim(article, alice, rating=foreign), "claim_rating_on_workspace_scale"
    )
    own = article.workspace.rating_scale.labels.get(name="False")
    assert make_claim(article, alice, rating=own).rating == own


def test_it_refuses_an_unknown_state_and_a_fuzzy_anchor_without_score(article, alice):
    claim = make_claim(article, alice)
    assert_refused(Claim, lambda: make_claim(article, alice, state="published"), "claim_state_is_known")
    assert_refused(
        Claim,
        lambda: Claim.objects.filter(pk=claim.pk).update(anchor_status="fuzzy"),
        "claim_fuzzy_anchor_has_score",
    )


def test_article_versions_cannot_be_changed_once_written(article):
    assert_refused(
        ArticleVersion,
        lambda: ArticleVersion.objects.filter(article=article).update(source_name="edited"),
        "Cannot update rows",
    )


def test_a_version_hash_must_be_the_sha256_of_its_text(article):
    assert_refused(
        ArticleVersion,
        lambda: ArticleVersion.objects.create(article=article, number=2, text="New text", sha256="0" * 64),
        "version_sha256_matches_text",
    )


def test_a_version_text_must_be_nfc(article):
    decomposed = "Cafe\u0301 owners said so."  # e + combining acute: NFD
    with connection.cursor() as cursor:
        cursor.execute("SELECT encode(sha256(convert_to(%s, 'UTF8')), 'hex')", [decomposed])
        digest = cursor.fetchone()[0]
    assert_refused(
        ArticleVersion,
        lambda: ArticleVersion.objects.create(article=article, number=2, text=decomposed, sha256=digest),
        "version_text_is_nfc",
    )


def test_one_membership_per_user_and_workspace(desk, alice):
    assert_refused(
        Membership,
        lambda: Membership.objects.create(workspace=desk, user=alice, role="reviewer"),
        "membership_one_per_user_and_workspace",
    )


def test_a_membership_role_must_be_known(desk, charlie):
    assert_refused(
        Membership,
        lambda: Membership.objects.create(workspace=desk, user=charlie, role="owner"),
        "membership_role_is_known",
    )


def test_rating_labels_are_unique_and_in_range(desk):
    scale = desk.rating_scale
    assert_refused(
        RatingLabel,
        lambda: RatingLabel.objects.create(scale=scale, name="True", position=99),
        "rating_label_name_unique",
    )
    assert_refused(
        RatingLabel,
        lambda: RatingLabel.objects.create(scale=scale, name="Pants on fire", value=0, position=99),
        "rating_label_value_in_range",
    )
    assert_refused(
        RatingLabel,
        lambda: RatingLabel.objects.create(scale=scale, name="Pants on fire", position=99, color="red"),
        "rating_label_color_is_hex",
    )


def test_the_default_scale_has_ordered_and_non_ordinal_labels(desk):
    labels = list(desk.rating_scale.labels.values_list("name", "value"))
    assert labels[:5] == [("True", 5), ("Mostly true", 4), ("Half true", 3), ("Mostly false", 2), ("False", 1)]
    assert ("Misleading", None) in labels and ("Unverifiable", None) in labels


def test_rejecting_or_requesting_changes_needs_a_comment(article, alice, bob):
    claim = make_claim(article, alice)
    for decision in ("reject", "request_changes"):
        assert_refused(
            Review,
            lambda decision=decision: Review.objects.create(
                claim=claim, reviewer=bob, decision=decision, comment="  \n", claim_revision=1
            ),
            "review_comment_required_unless_approved",
        )
    Review.objects.create(claim=claim, reviewer=bob, decision="approve", claim_revision=1)


def test_a_source_stance_must_be_known(article, alice):
    claim = make_claim(article, alice)
    assert_refused(
        Source,
        lambda: Source.objects.create(claim=claim, url="https://example.org", stance="maybe", created_by=alice),
        "source_stance_is_known",
    )


def test_a_state_change_outside_the_workflow_table_is_refused(article, alice):
    claim = make_claim(article, alice)
    assert_refused(
        Claim,
        lambda: Claim.objects.filter(pk=claim.pk).update(state="approved", submitted_at=claim.created_at),
        "claim_state_change_allowed",
    )


def test_a_claim_is_held_exactly_while_in_review(article, alice, bob):
    claim = make_claim(article, alice)
    assert_refused(
        Claim, lambda: Claim.objects.filter(pk=claim.pk).update(held_by=bob), "claim_held_exactly_when_in_review"
    )
