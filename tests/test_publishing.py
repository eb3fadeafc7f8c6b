"""Approval is publication: records written with the verdict, withdrawn on reopen,
corrected on the next approval, and never edited."""

import csv
import io
import json

import pytest

from annotations.models import Publication, PublicationKind
from annotations.services.workflow import claim_reopen
from tests.conftest import claim_in_state

pytestmark = pytest.mark.django_db


@pytest.fixture
def approved(article, crew):
    article.url = "https://www.example.org/news/iraq-russia"
    article.publisher = "Example News"
    article.save()
    return claim_in_state("approved", article, crew)


def in_force(claim):
    return Publication.objects.get(claim=claim, current=True)


def test_approving_publishes_the_verdict_in_every_format(approved, desk, settings):
    record = in_force(approved)
    assert (record.kind, record.reason, record.rating_id) == (PublicationKind.PUBLISHED, "", approved.rating_id)
    page = f"{settings.SITE_URL}/v/{desk.slug}/{approved.pk}/"

    review = json.loads(record.claimreview)
    assert review["url"] == page
    assert review["claimReviewed"] == approved.claim_reviewed
    assert review["reviewRating"]["alternateName"] == "Mostly true"
    assert (review["reviewRating"]["ratingValue"], review["reviewRating"]["bestRating"],
            review["reviewRating"]["worstRating"]) == (4, 5, 1)
    assert review["itemReviewed"]["appearance"][0]["url"] == "https://www.example.org/news/iraq-russia"
    assert review["author"] == {"@type": "Organization", "name": desk.publisher_name}
    assert review["datePublished"] == record.date_published.date().isoformat()
    assert review["dateModified"] == record.date_modified.isoformat()

    line = json.loads(record.jsonl)
    assert (line["id"], line["publication"], line["url"]) == (approved.pk, record.pk, page)
    assert line["selectors"]["exact"] == approved.exact and line["rating"] == {"name": "Mostly true", "value": 4}

    annotation = json.loads(record.w3c)
    assert annotation["id"] == page and annotation["target"]["source"] == "https://www.example.org/news/iraq-russia"

    row = next(csv.reader(io.StringIO(record.csv)))
    assert row[0] == str(approved.pk) and row[1] == page and "\n" not in record.csv[-1:]

    # What the public page shows, as it was approved: the quote in its paragraph.
    paragraph = record.snapshot["paragraph"]
    assert paragraph["text"][paragraph["start"]:paragraph["end"]] == approved.exact


def test_reopening_withdraws_and_approving_again_corrects_with_the_reason(approved, article, crew):
    first = in_force(approved)
    claim_reopen(claim=approved, actor=crew["admin"], reason="The date was wrong.", revision=approved.revision)
    assert not Publication.objects.filter(claim=approved, current=True).exists()
    tombstone = Publication.objects.get(claim=approved, kind=PublicationKind.WITHDRAWN)
    assert json.loads(tombstone.jsonl) | {"date_withdrawn": None} == {
        "id": approved.pk, "publication": tombstone.pk, "url": json.loads(first.jsonl)["url"], "withdrawn": True,
        "date_withdrawn": None, "reason": "The date was wrong.",
    }
    assert tombstone.replaces == first

    from annotations.services.workflow import claim_decide, claim_submit, claim_take

    claim = approved.__class__.objects.get(pk=approved.pk)
    claim = claim_submit(claim=claim, actor=crew["author"], revision=claim.revision)
    claim = claim_take(claim=claim, actor=crew["reviewer"])
    claim_decide(claim=claim, actor=crew["reviewer"], decision="approve", comment="", revision=claim.revision)

    correction = in_force(approved)
    assert (correction.kind, correction.reason, correction.replaces) == (
        PublicationKind.CORRECTED, "The date was wrong.", tombstone)
    review = json.loads(correction.claimreview)
    assert review["datePublished"] == json.loads(first.claimreview)["datePublished"]  # first publication
    assert review["dateModified"] > json.loads(first.claimreview)["dateModified"]
    assert json.loads(correction.jsonl)["correction_reason"] == "The date was wrong."
    assert list(Publication.objects.filter(claim=approved).values_list("kind", flat=True)) == [
        "published", "withdrawn", "corrected"]


def test_a_record_cannot_be_edited_deleted_or_put_back_in_force(approved):
    from django.db import IntegrityError, connection, transaction

    record = in_force(approved)
    for statement in (
        "UPDATE annotations_publication SET claimreview = '{}' WHERE id = %s",
        "UPDATE annotations_publication SET reason = 'rewritten' WHERE id = %s",
        "DELETE FROM annotations_publication WHERE id = %s",
    ):
        with pytest.raises(IntegrityError, match="never"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [record.pk])
    with connection.cursor() as cursor:  # being replaced is the one change a record allows
        cursor.execute("UPDATE annotations_publication SET current = false WHERE id = %s", [record.pk])
    with pytest.raises(IntegrityError, match="not put back"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE annotations_publication SET current = true WHERE id = %s", [record.pk])
    assert Publication.objects.get(pk=record.pk).claimreview == record.claimreview


def test_drafts_and_the_review_conversation_are_never_published(article, crew):
    for state in ("draft", "submitted", "in_review"):
        claim_in_state(state, article, crew, quote={"draft": "Not yet", "submitted": "Kuralenko",
                                                     "in_review": "Tikrit"}[state])
    assert not Publication.objects.exists()
    approved = claim_in_state("approved", article, crew)
    record = in_force(approved)
    for text in (record.jsonl, record.csv, record.claimreview, record.w3c, json.dumps(record.snapshot)):
        assert crew["reviewer"].username not in text and "review" not in json.loads(record.jsonl)
