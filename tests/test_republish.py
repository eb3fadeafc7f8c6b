"""Republishing: when what a published record says changes outside the claim (a label
renamed, the desk's publisher), new records replace the ones in force and the old ones
stay exactly as they were sent. And the desk's publishing settings, page and API."""

import csv
import io
import json
import time

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from annotations import tasks
from annotations.models import (
    Article,
    Claim,
    OutboxMessage,
    Publication,
    PublicationKind,
    RatingLabel,
    RepublishJob,
    Workspace,
)
from annotations.publishing.services import republish_job_run
from annotations.services.claims import claim_update
from annotations.services.workflow import claim_decide, claim_reopen, claim_submit, claim_take
from annotations.services.workspaces import rating_label_delete, rating_label_save, workspace_publishing_update
from annotations.validation import BAD_URL, MAX_PUBLISHER_NAME
from tests.conftest import claim_in_state
from tests.test_api import api_as, assert_error

TEXTS = ("jsonl", "csv", "claimreview", "w3c")
QUOTES = ("It is a possibility.", "Not yet", "massive information")


def in_force(claim: Claim) -> Publication:
    return Publication.objects.get(claim=claim, current=True)


def stored(record: Publication) -> tuple:
    """The record as the database holds it now, read afresh."""
    return Publication.objects.filter(pk=record.pk).values_list(*TEXTS, "snapshot", "current").get()


def rating_names(record: Publication) -> dict[str, str]:
    """The rating's name as each of the four texts says it."""
    row = next(csv.reader(io.StringIO(record.csv)))
    w3c_classifying = [b["value"] for b in json.loads(record.w3c)["body"] if b.get("purpose") == "classifying"]
    return {
        "jsonl": json.loads(record.jsonl)["rating"]["name"],
        "csv": row[13],
        "claimreview": json.loads(record.claimreview)["reviewRating"]["alternateName"],
        "w3c": w3c_classifying[0],
    }


def rename(desk, admin, old: str, new: str) -> RatingLabel:
    label = RatingLabel.objects.get(scale__workspace=desk, name=old)
    return rating_label_save(workspace=desk, actor=admin, label_id=label.pk, name=new, value=label.value,
                             color=label.color, description=label.description)


def republish_messages() -> list[list]:
    return list(OutboxMessage.objects.filter(task="annotations.tasks.run_republish").values_list("args", flat=True))


@pytest.fixture
def approved(article, crew):
    return claim_in_state("approved", article, crew)


# --- A label renamed --------------------------------------------------------------------

@pytest.mark.django_db
def test_renaming_a_label_republishes_its_verdicts_and_leaves_the_old_records_as_sent(approved, desk, crew):
    first = in_force(approved)
    sent = stored(first)
    assert set(rating_names(first).values()) == {"Mostly true"}

    rename(desk, crew["admin"], "Mostly true", "Largely true")

    # Queued with the rename, through the outbox; nothing is rewritten until it runs.
    job = RepublishJob.objects.get(workspace=desk)
    assert job.reason == "The rating \u201cMostly true\u201d was renamed \u201cLargely true\u201d."
    assert (job.rating_id, job.rows_total, job.rows_done, job.finished_at) == (approved.rating_id, 1, 0, None)
    assert republish_messages() == [[job.pk]]
    assert in_force(approved) == first

    assert tasks.run_republish(job.pk) == "1/1"

    new = in_force(approved)
    assert new.pk > first.pk and (new.kind, new.reason, new.replaces) == (PublicationKind.CORRECTED, job.reason, first)
    assert rating_names(new) == dict.fromkeys(TEXTS, "Largely true")
    assert new.snapshot["rating"]["name"] == "Largely true"
    # The same verdict: same page, first published when it was, modified now.
    review, first_review = json.loads(new.claimreview), json.loads(first.claimreview)
    assert review["url"] == first_review["url"] and review["datePublished"] == first_review["datePublished"]
    assert review["dateModified"] > first_review["dateModified"]
    assert json.loads(new.jsonl)["correction_reason"] == job.reason

    # The old record, byte for byte as it was sent, and no longer in force.
    assert stored(first)[:-1] == sent[:-1] and stored(first)[-1] is False
    job.refresh_from_db()
    assert (job.rows_done, job.rows_total) == (1, 1) and job.finished_at is not None

    # Idempotent: running the task again writes nothing more.
    assert tasks.run_republish(job.pk) == "1/1"
    assert Publication.objects.filter(claim=approved).count() == 2


@pytest.mark.django_db
def test_republishing_keeps_the_verdict_as_approved_and_changes_only_the_label(approved, desk, crew, article):
    first = in_force(approved)
    # Live rows that changed after approval: the record says what was approved.
    Article.objects.filter(pk=article.pk).update(title="A headline edited later")
    Claim.objects.filter(pk=approved.pk).update(rationale="Typed into the live row after approval.")

    rename(desk, crew["admin"], "Mostly true", "Largely true")
    republish_job_run(job_id=RepublishJob.objects.get().pk)

    new = in_force(approved)
    assert json.loads(new.jsonl) | {"rating": None, "publication": None, "date_modified": None,
                                    "correction_reason": None} == json.loads(first.jsonl) | {
        "rating": None, "publication": None, "date_modified": None, "correction_reason": None}
    assert json.loads(new.jsonl)["rating"] == {"name": "Largely true", "value": 4}


def label_change(desk, admin, **change) -> None:
    label = RatingLabel.objects.get(scale__workspace=desk, name="Mostly true")
    fields = {"name": label.name, "value": label.value, "color": label.color, "description": label.description}
    rating_label_save(workspace=desk, actor=admin, label_id=label.pk, **(fields | change))


@pytest.mark.django_db
def test_a_new_explanation_of_a_label_republishes_its_verdicts(approved, desk, crew):
    label_change(desk, crew["admin"], description="Accurate, with a caveat.")
    job = RepublishJob.objects.get()
    assert (job.reason, job.rating_id) == ("The explanation of the rating \u201cMostly true\u201d changed.",
                                           approved.rating_id)
    republish_job_run(job_id=job.pk)
    assert in_force(approved).snapshot["rating"]["description"] == "Accurate, with a caveat."


@pytest.mark.django_db
def test_a_new_colour_or_a_refused_change_republishes_nothing(approved, desk, crew):
    label_change(desk, crew["admin"], color="#000000")  # the desk's display: records do not carry it
    with pytest.raises(ValidationError, match="Another label of the scale has that value"):
        label_change(desk, crew["admin"], name="Largely true", value=3)
    assert not RepublishJob.objects.exists() and republish_messages() == []


@pytest.mark.django_db
def test_a_new_value_at_the_end_of_the_scale_republishes_every_verdict(approved, desk, crew):
    other = claim_in_state("approved", approved.article, crew, quote="Not yet")
    rating_label_save(workspace=desk, actor=crew["admin"], label_id=other.rating_id, name="Mostly true", value=4,
                      color="#4c9a2a", description=RatingLabel.objects.get(pk=other.rating_id).description)
    assert not RepublishJob.objects.exists()  # nothing a record says changed

    true = RatingLabel.objects.get(scale__workspace=desk, name="True")
    rating_label_save(workspace=desk, actor=crew["admin"], label_id=true.pk, name="True", value=9,
                      color=true.color, description=true.description)
    job = RepublishJob.objects.get()
    # No verdict is rated True, but every ClaimReview's bestRating moved.
    assert job.rating_id is None and job.rows_total == 2
    assert job.reason == ("The rating \u201cTrue\u201d now has the value 9 (it had the value 5). "
                          "The rating scale now runs from 1 to 9 (it ran from 1 to 5).")
    republish_job_run(job_id=job.pk)
    for claim in (approved, other):
        assert json.loads(in_force(claim).claimreview)["reviewRating"]["bestRating"] == 9


@pytest.mark.django_db
def test_a_label_only_old_records_carry_cannot_be_removed(approved, desk, crew):
    # Corrected to another rating: no claim is rated Mostly true, but its records still are.
    claim = claim_reopen(claim=approved, actor=crew["admin"], reason="Wrong rating.", revision=approved.revision)
    half = RatingLabel.objects.get(scale__workspace=desk, name="Half true")
    claim = claim_update(claim=claim, actor=crew["author"], revision=claim.revision, fields={"rating": half})
    claim = claim_take(claim=claim_submit(claim=claim, actor=crew["author"], revision=claim.revision),
                       actor=crew["reviewer"])
    claim_decide(claim=claim, actor=crew["reviewer"], decision="approve", comment="", revision=claim.revision)
    mostly = RatingLabel.objects.get(scale__workspace=desk, name="Mostly true")
    assert not mostly.claims.exists()

    with pytest.raises(ValidationError, match="Published verdicts were rated 'Mostly true'"):
        rating_label_delete(workspace=desk, actor=crew["admin"], label_id=mostly.pk)
    assert RatingLabel.objects.filter(pk=mostly.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_a_rename_on_the_scale_page_is_republished_by_a_real_worker(celery_worker, approved, desk, crew, client,
                                                                     settings):
    settings.OUTBOX_AUTOSEND = True
    first = in_force(approved)
    sent = stored(first)
    label = RatingLabel.objects.get(pk=approved.rating_id)
    client.force_login(crew["admin"])
    response = client.post(reverse("rating_scale", args=[desk.slug]), {
        "label": label.pk, "name": "Largely true", "value": label.value, "color": label.color,
        "description": label.description})
    assert response.status_code == 302

    job = RepublishJob.objects.get(workspace=desk)
    deadline = time.monotonic() + 30
    while job.finished_at is None and time.monotonic() < deadline:
        time.sleep(0.2)
        job.refresh_from_db()
    assert job.finished_at is not None, f"the worker did not finish job {job.pk}; see {celery_worker.log_path}"
    assert (job.rows_done, job.rows_total) == (1, 1)
    assert rating_names(in_force(approved)) == dict.fromkeys(TEXTS, "Largely true")
    assert stored(first)[:-1] == sent[:-1] and stored(first)[-1] is False
    assert OutboxMessage.objects.get(task="annotations.tasks.run_republish").sent_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_claim_reopened_while_its_verdict_is_being_republished_ends_withdrawn(approved, desk, crew, monkeypatch):
    import threading

    from django.db import connections

    from annotations.publishing import records

    rename(desk, crew["admin"], "Mostly true", "Largely true")
    job = RepublishJob.objects.get()
    rendering, go = threading.Event(), threading.Event()
    render = records.render

    def render_then_wait(*args, **kwargs):
        if threading.current_thread().name == "republish":
            rendering.set()
            go.wait(10)
        return render(*args, **kwargs)

    monkeypatch.setattr(records, "render", render_then_wait)
    errors: list[BaseException] = []

    def run(target):
        def body():
            try:
                target()
            except BaseException as exc:  # reported by the test below
                errors.append(exc)
            finally:
                connections.close_all()
        return body

    republish = threading.Thread(target=run(lambda: republish_job_run(job_id=job.pk)), name="republish")
    republish.start()
    assert rendering.wait(10), "the republish batch did not start"
    claim = Claim.objects.get(pk=approved.pk)
    reopen = threading.Thread(target=run(lambda: claim_reopen(
        claim=claim, actor=crew["admin"], reason="A source was wrong.", revision=claim.revision)))
    reopen.start()
    reopen.join(0.5)
    assert reopen.is_alive(), "the reopen should wait for the batch that holds its claim"
    go.set()
    republish.join(10)
    reopen.join(10)
    assert not errors, errors

    # The reopen withdrew the record the batch wrote, not the one it replaced.
    assert not Publication.objects.filter(claim=approved, current=True).exists()
    tombstone = Publication.objects.get(claim=approved, kind=PublicationKind.WITHDRAWN)
    assert tombstone.replaces is not None and tombstone.replaces.kind == PublicationKind.CORRECTED
    assert rating_names(tombstone.replaces) == dict.fromkeys(TEXTS, "Largely true")


# --- The desk's publisher -----------------------------------------------------------------

@pytest.mark.django_db
def test_a_new_publisher_name_republishes_every_verdict_in_force_with_progress(article, desk, crew, client):
    claims = [claim_in_state("approved", article, crew, quote=quote) for quote in QUOTES]
    # A withdrawn verdict is not published, so it is not republished either.
    claim_reopen(claim=claims[2], actor=crew["admin"], reason="Checking again.", revision=claims[2].revision)
    before = {claim.pk: stored(in_force(claim)) for claim in claims[:2]}

    saved = workspace_publishing_update(workspace=desk, actor=crew["admin"], publisher_name="Alice News")
    job = saved.job
    assert job is not None and job.rating_id is None and job.rows_total == 2
    assert job.reason == "The publisher's name changed from \u201cAlice's desk\u201d to \u201cAlice News\u201d."
    assert republish_messages() == [[job.pk]]

    done = republish_job_run(job_id=job.pk, batch=1)  # one verdict per transaction
    assert done is not None and (done.rows_done, done.rows_total) == (2, 2) and done.finished_at is not None
    for claim in claims[:2]:
        record = in_force(claim)
        assert json.loads(record.claimreview)["author"] == {"@type": "Organization", "name": "Alice News"}
        assert json.loads(record.w3c)["creator"]["name"] == "Alice News"
        assert record.replaces is not None and stored(record.replaces)[:-1] == before[claim.pk][:-1]
    assert not Publication.objects.filter(claim=claims[2], current=True).exists()
    assert Publication.objects.filter(claim=claims[2]).count() == 2  # published, withdrawn

    client.force_login(crew["admin"])
    page = client.get(reverse("publishing_settings", args=[desk.slug])).content.decode()
    assert "2 / 2" in page and "2 verdicts published now." in page


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["run again after a crash", "queued by a clock an hour ahead"])
def test_a_job_rewrites_each_verdict_once(article, desk, crew, how):
    from datetime import timedelta

    from django.utils import timezone

    claims = [claim_in_state("approved", article, crew, quote=quote) for quote in QUOTES]
    job = workspace_publishing_update(workspace=desk, actor=crew["admin"], publisher_name="Alice News").job
    assert job is not None
    if how == "run again after a crash":
        republish_job_run(job_id=job.pk, batch=1)
        # Redelivered: the crash came before the job was marked finished.
        RepublishJob.objects.filter(pk=job.pk).update(finished_at=None)
    else:
        # Every record the run writes looks older than the job: it must not chase them.
        RepublishJob.objects.filter(pk=job.pk).update(created_at=timezone.now() + timedelta(hours=1))
    republish_job_run(job_id=job.pk, batch=1)

    for claim in claims:
        assert list(Publication.objects.filter(claim=claim).values_list("kind", flat=True)) == [
            "published", "corrected"]
    job.refresh_from_db()
    assert (job.rows_done, job.rows_total) == (3, 3) and job.finished_at is not None


@pytest.mark.django_db
def test_the_same_publisher_again_or_only_public_pages_republishes_nothing(approved, desk, crew):
    workspace_publishing_update(workspace=desk, actor=crew["admin"], publisher_name=f"  {desk.publisher_name} ")
    saved = workspace_publishing_update(workspace=desk, actor=crew["admin"], public_pages=True)
    assert saved.job is None and saved.workspace.public_pages is True
    assert not RepublishJob.objects.exists() and republish_messages() == []


# --- Records cannot be changed --------------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize("statement", [
    "UPDATE annotations_publication SET jsonl = '{}' WHERE id = %s",
    "UPDATE annotations_publication SET snapshot = '{}'::jsonb WHERE id = %s",
    "UPDATE annotations_publication SET date_modified = now() WHERE id = %s",
    "UPDATE annotations_publication SET current = false, reason = 'quietly' WHERE id = %s",
    "DELETE FROM annotations_publication WHERE id = %s",
])
def test_a_republished_record_refuses_any_change_even_in_raw_sql(approved, desk, crew, statement):
    rename(desk, crew["admin"], "Mostly true", "Largely true")
    republish_job_run(job_id=RepublishJob.objects.get().pk)
    replaced, new = Publication.objects.filter(claim=approved).order_by("id")
    for record in (replaced, new):
        before = stored(record)
        with pytest.raises(IntegrityError, match="never"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [record.pk])
        assert stored(record) == before


@pytest.mark.django_db
def test_a_record_leaves_force_once_and_never_comes_back(approved):
    record = in_force(approved)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE annotations_publication SET current = false WHERE id = %s", [record.pk])
    assert stored(record)[-1] is False
    with pytest.raises(IntegrityError, match="not put back"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE annotations_publication SET current = true WHERE id = %s", [record.pk])
    assert stored(record)[-1] is False


# --- Who may change the publishing settings -------------------------------------------------

def settings_of(desk) -> tuple:
    return Workspace.objects.filter(pk=desk.pk).values_list("public_pages", "publisher_name", "publisher_url").get()


CHANGE = {"public_pages": True, "publisher_name": "Alice News", "publisher_url": "https://news.example.org/"}


@pytest.mark.django_db
@pytest.mark.parametrize("role, status", [
    ("admin", 200), ("reviewer", 403), ("author", 403), ("teammate", 403), ("outsider", 404),
])
def test_only_admins_see_and_change_the_publishing_page(approved, desk, crew, client, role, status):
    client.force_login(crew[role])
    url = reverse("publishing_settings", args=[desk.slug])
    before = settings_of(desk)
    assert client.get(url).status_code == status
    response = client.post(url, {**CHANGE, "public_pages": "on"})
    if role == "admin":
        assert response.status_code == 302
        assert settings_of(desk) == (True, "Alice News", "https://news.example.org/")
        assert RepublishJob.objects.get().rows_total == 1
        page = client.get(url).content.decode()
        assert f'href="/v/{desk.slug}/"' in page
    else:
        assert response.status_code == status
        assert settings_of(desk) == before and not RepublishJob.objects.exists() and republish_messages() == []


@pytest.mark.django_db
@pytest.mark.parametrize("role, status", [
    ("admin", 200), ("reviewer", 403), ("author", 403), ("teammate", 403), ("outsider", 404),
])
def test_only_admins_patch_the_publishing_settings_over_the_api(approved, desk, crew, role, status):
    before = settings_of(desk)
    response = api_as(crew[role]).patch(f"/api/v1/workspaces/{desk.pk}/", CHANGE, format="json")
    assert response.status_code == status, response.content
    if role == "admin":
        assert {k: response.json()[k] for k in CHANGE} == CHANGE
        assert settings_of(desk) == (True, "Alice News", "https://news.example.org/")
        job = RepublishJob.objects.get()
        assert job.rows_total == 1 and republish_messages() == [[job.pk]]
    else:
        assert settings_of(desk) == before and not RepublishJob.objects.exists() and republish_messages() == []


LONG_NAME = "N" * (MAX_PUBLISHER_NAME + 1)
BAD_INPUT = [
    ({"publisher_url": "javascript:alert(1)"}, "publisher_url", BAD_URL),
    ({"publisher_url": "ftp://files.example.org/"}, "publisher_url", BAD_URL),
    ({"publisher_name": LONG_NAME},
     "publisher_name", f"The publisher's name can be at most {MAX_PUBLISHER_NAME} characters (it has "),
    ({"publisher_name": "Alice\nNews"}, "publisher_name", "The publisher's name is one line"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("data, field, sentence", BAD_INPUT)
def test_bad_settings_on_the_page_are_explained_beside_the_field_and_change_nothing(
    approved, desk, crew, client, data, field, sentence
):
    client.force_login(crew["admin"])
    before = settings_of(desk)
    fields = {"publisher_name": desk.publisher_name, "publisher_url": desk.publisher_url, **data}
    response = client.post(reverse("publishing_settings", args=[desk.slug]), fields)
    assert response.status_code == 400
    assert sentence in "".join(response.context["errors"][field])
    page = response.content.decode()
    assert f'id="{field}_errors"' in page and 'aria-invalid="true"' in page
    assert settings_of(desk) == before and not RepublishJob.objects.exists() and republish_messages() == []


@pytest.mark.django_db
@pytest.mark.parametrize("data, field, sentence", [
    *BAD_INPUT,
    ({"public_pages": "perhaps"}, "public_pages", "true or false"),
    ({"slug": "elsewhere"}, "slug", "not a setting you can change here"),
])
def test_bad_settings_over_the_api_get_the_same_sentence_and_change_nothing(approved, desk, crew, data, field,
                                                                             sentence):
    before = settings_of(desk)
    response = api_as(crew["admin"]).patch(f"/api/v1/workspaces/{desk.pk}/", data, format="json")
    assert_error(response, 400, field=field, says=sentence)
    assert settings_of(desk) == before and not RepublishJob.objects.exists() and republish_messages() == []


@pytest.mark.django_db
def test_someone_who_may_not_change_the_settings_is_told_that_before_their_input_is_judged(desk, crew):
    response = api_as(crew["reviewer"]).patch(f"/api/v1/workspaces/{desk.pk}/", {"publisher_url": "ftp://x"},
                                              format="json")
    assert_error(response, 403, says="Only admins of this desk change how it publishes.")


@pytest.mark.django_db
def test_admins_find_the_page_from_their_desks(desk, crew, client):
    url = reverse("publishing_settings", args=[desk.slug])
    for role, shown in (("admin", True), ("reviewer", False), ("author", False)):
        client.force_login(crew[role])
        assert (f'href="{url}"' in client.get(reverse("home")).content.decode()) is shown, role


@pytest.mark.django_db
def test_the_demo_desk_has_public_pages():
    from django.core.management import call_command

    call_command("load_demo", "--force", stdout=io.StringIO())
    assert Workspace.objects.get(slug="demo").public_pages is True
