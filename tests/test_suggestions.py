"""Dismissing a suggested check-worthy sentence for the whole desk (services/suggestions.py,
views_suggestions.py): who may, which spans, idempotence, undo, and the reader leaving
dismissed sentences out. Roles: alice annotates (owner), bob reviews and dave annotates on
her desk (teammates), erin is its admin, charlie is an outsider."""

import json

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from annotations.checkworthiness import score_text, suggestions, top_sentences
from annotations.errors import PermissionDenied
from annotations.models import AuditEvent, SuggestionDismissal
from annotations.services.suggestions import NOT_A_SUGGESTION, suggestion_dismiss, suggestion_restore

pytestmark = pytest.mark.django_db


@pytest.fixture
def version(article):
    return article.versions.select_related("article__workspace").get()


@pytest.fixture
def suggested(version):
    return suggestions(version.text, [])


def spans(version) -> set[tuple[int, int]]:
    return set(SuggestionDismissal.objects.filter(version=version).values_list("start", "end"))


# --- The service ---------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["author", "teammate", "reviewer", "admin"])
def test_every_member_of_the_desk_dismisses_a_suggestion_and_is_recorded(crew, version, suggested, who):
    sentence = suggested[0]
    dismissal = suggestion_dismiss(version=version, start=sentence.start, end=sentence.end, actor=crew[who])
    assert (dismissal.version_id, dismissal.start, dismissal.end, dismissal.dismissed_by) == (
        version.pk, sentence.start, sentence.end, crew[who],
    )
    assert spans(version) == {(sentence.start, sentence.end)}


def test_an_outsider_may_not_dismiss_or_restore(crew, version, suggested):
    sentence = suggested[0]
    with pytest.raises(PermissionDenied, match="Only members of this desk"):
        suggestion_dismiss(version=version, start=sentence.start, end=sentence.end, actor=crew["outsider"])
    assert spans(version) == set()
    suggestion_dismiss(version=version, start=sentence.start, end=sentence.end, actor=crew["author"])
    with pytest.raises(PermissionDenied, match="Only members of this desk"):
        suggestion_restore(version=version, start=sentence.start, end=sentence.end, actor=crew["outsider"])
    assert spans(version) == {(sentence.start, sentence.end)}


def test_dismissing_again_is_neither_an_error_nor_a_duplicate(crew, version, suggested):
    sentence = suggested[0]
    first = suggestion_dismiss(version=version, start=sentence.start, end=sentence.end, actor=crew["author"])
    again = suggestion_dismiss(version=version, start=sentence.start, end=sentence.end, actor=crew["teammate"])
    assert again.pk == first.pk
    assert again.dismissed_by == crew["author"]  # whoever dismissed it first
    assert SuggestionDismissal.objects.count() == 1


def test_it_refuses_a_span_that_is_not_a_suggestion(alice, version, suggested):
    sentence = suggested[0]
    unsuggested = next(s for s in score_text(version.text) if s not in top_sentences(version.text))
    for start, end in [
        (sentence.start + 1, sentence.end),  # part of a suggested sentence
        (sentence.start, sentence.end + 1),
        (unsuggested.start, unsuggested.end),  # a sentence that is not among the best
        (0, len(version.text)),
    ]:
        with pytest.raises(ValidationError) as caught:
            suggestion_dismiss(version=version, start=start, end=end, actor=alice)
        assert caught.value.message_dict == {"start": [NOT_A_SUGGESTION]}
    assert SuggestionDismissal.objects.count() == 0


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [("12", 40, "start"), (None, 40, "start"), (-1, 40, "start"), (True, 40, "start"), (12, 4.5, "end"),
     (12, None, "end")],
)
def test_it_names_the_offset_that_is_not_a_whole_number(alice, version, start, end, field):
    with pytest.raises(ValidationError) as caught:
        suggestion_dismiss(version=version, start=start, end=end, actor=alice)
    assert list(caught.value.message_dict) == [field]
    assert caught.value.message_dict[field][0].startswith(f"Give the sentence's {field} as a whole number")


def test_a_dismissal_is_a_hint_not_a_record(alice, version, suggested):
    before = AuditEvent.objects.count()
    suggestion_dismiss(version=version, start=suggested[0].start, end=suggested[0].end, actor=alice)
    suggestion_restore(version=version, start=suggested[0].start, end=suggested[0].end, actor=alice)
    assert AuditEvent.objects.count() == before


def test_a_teammate_restores_a_dismissed_suggestion_and_restoring_again_changes_nothing(crew, version, suggested):
    kept, restored = suggested[0], suggested[1]
    for sentence in (kept, restored):
        suggestion_dismiss(version=version, start=sentence.start, end=sentence.end, actor=crew["author"])
    assert suggestion_restore(version=version, start=restored.start, end=restored.end, actor=crew["teammate"])
    assert spans(version) == {(kept.start, kept.end)}
    assert not suggestion_restore(version=version, start=restored.start, end=restored.end, actor=crew["teammate"])
    assert spans(version) == {(kept.start, kept.end)}


# --- The endpoint and the reader -------------------------------------------------------------


def csrf_client(user) -> Client:
    """A client that checks CSRF like a browser's requests are checked, with the token the
    article page hands out."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def post(client, url, body, *, token=True):
    headers = {"X-CSRFToken": client.cookies["csrftoken"].value} if token else {}
    return client.post(url, json.dumps(body), content_type="application/json", headers=headers)


def dismiss_url(article):
    return reverse("suggestion_dismiss", args=[article.workspace.slug, article.pk])


def restore_url(article):
    return reverse("suggestion_restore", args=[article.workspace.slug, article.pk])


def page_suggestions(client, article) -> list[tuple[int, int]]:
    response = client.get(reverse("article_detail", args=[article.workspace.slug, article.pk]))
    assert response.status_code == 200
    return [(s.start, s.end) for s in response.context["suggestions"]]


def test_a_dismissed_sentence_leaves_the_reader_for_everyone_and_undo_brings_it_back(crew, article, version, suggested):
    alice, dave = csrf_client(crew["author"]), csrf_client(crew["teammate"])
    every = [(s.start, s.end) for s in suggested]
    assert page_suggestions(alice, article) == every
    sentence = suggested[1]
    body = {"version": version.pk, "start": sentence.start, "end": sentence.end}

    response = post(alice, dismiss_url(article), body)
    assert response.status_code == 204
    assert SuggestionDismissal.objects.get().dismissed_by == crew["author"]
    assert page_suggestions(dave, article) == [span for span in every if span != (sentence.start, sentence.end)]
    assert post(alice, dismiss_url(article), body).status_code == 204  # again: still one
    assert SuggestionDismissal.objects.count() == 1

    assert post(dave, restore_url(article), body).status_code == 204
    assert page_suggestions(alice, article) == every


def test_the_endpoint_needs_the_csrf_token(alice, article, version, suggested):
    client = csrf_client(alice)
    page_suggestions(client, article)  # sets the cookie
    body = {"version": version.pk, "start": suggested[0].start, "end": suggested[0].end}
    assert post(client, dismiss_url(article), body, token=False).status_code == 403
    assert SuggestionDismissal.objects.count() == 0


def test_the_endpoint_answers_400_with_the_field_sentence(alice, article, version, suggested):
    client = csrf_client(alice)
    page_suggestions(client, article)
    response = post(client, dismiss_url(article), {"version": version.pk, "start": suggested[0].start + 1,
                                                   "end": suggested[0].end})
    assert response.status_code == 400
    assert response.json() == {"error": NOT_A_SUGGESTION, "fields": {"start": [NOT_A_SUGGESTION]}}
    response = post(client, dismiss_url(article), {"version": 0, "start": 1, "end": 2})
    assert response.status_code == 400
    assert response.json()["fields"] == {"version": ["That version does not belong to the article."]}
    response = client.post(dismiss_url(article), "[1", content_type="application/json",
                           headers={"X-CSRFToken": client.cookies["csrftoken"].value})
    assert (response.status_code, response.json()["error"]) == (400, "The request body is not valid JSON.")
    assert SuggestionDismissal.objects.count() == 0


def test_another_desks_article_is_missing(crew, article, version, suggested):
    client = csrf_client(crew["outsider"])
    client.get(reverse("home"))  # any page hands out the token
    body = {"version": version.pk, "start": suggested[0].start, "end": suggested[0].end}
    for url in (dismiss_url(article), restore_url(article)):
        response = post(client, url, body)
        assert (response.status_code, response.json()["error"]) == (404, "No such article in your desks.")
    assert SuggestionDismissal.objects.count() == 0


def test_the_endpoint_takes_posts_only_and_logged_in_people_only(alice, article):
    client = Client()
    response = client.post(dismiss_url(article), "{}", content_type="application/json")
    assert response.status_code == 302 and "/login/" in response["Location"]
    client.force_login(alice)
    assert client.get(dismiss_url(article)).status_code == 405
