"""Admins manage the desk's rating scale; everyone else may only read it."""

import pytest
from django.urls import reverse

from annotations.models import RatingLabel
from tests.conftest import claim_in_state

pytestmark = pytest.mark.django_db


def labels(desk):
    scale = RatingLabel.objects.filter(scale__workspace=desk).order_by("position")
    return list(scale.values_list("name", "value", "color"))


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


def test_an_admin_adds_changes_and_removes_labels(client, crew, desk):
    client.force_login(crew["admin"])
    url = reverse("rating_scale", args=[desk.slug])
    client.post(url, {"name": "Pants on fire", "value": "", "color": "#ff0000", "description": "Ridiculous."})
    assert labels(desk)[-1] == ("Pants on fire", None, "#ff0000")
    label = RatingLabel.objects.get(name="Pants on fire")
    client.post(url, {"label": label.pk, "name": "Pants on fire", "value": "", "color": "#aa0000"})
    assert labels(desk)[-1][2] == "#aa0000"
    client.post(url, {"delete": label.pk})
    assert "Pants on fire" not in [name for name, _, _ in labels(desk)]


@pytest.mark.parametrize(
    "data, message",
    [
        ({"name": "True", "value": "", "color": "#000000"}, "The scale already has a label of that name."),
        ({"name": "Zero", "value": "0", "color": "#000000"}, "Ensure this value is greater than or equal to 1."),
        ({"name": "Seven", "value": "seven", "color": "#000000"}, "The value is a whole number from 1 to 100"),
        ({"name": "Red", "value": "", "color": "red"}, "Give the colour as #rrggbb"),
        ({"name": "  ", "value": "", "color": "#000000"}, "This field cannot be blank."),
    ],
)
def test_a_bad_label_is_explained_and_changes_nothing(client, crew, desk, data, message):
    client.force_login(crew["admin"])
    before = labels(desk)
    response = client.post(reverse("rating_scale", args=[desk.slug]), data, follow=True)
    assert any(message in m for m in messages_of(response)), messages_of(response)
    assert labels(desk) == before


def test_a_label_in_use_cannot_be_removed(client, crew, desk, article):
    claim = claim_in_state("submitted", article, crew)
    client.force_login(crew["admin"])
    response = client.post(reverse("rating_scale", args=[desk.slug]), {"delete": claim.rating_id}, follow=True)
    assert any("cannot be removed while they are" in m for m in messages_of(response))
    assert RatingLabel.objects.filter(pk=claim.rating_id).exists()


@pytest.mark.parametrize("role, status", [("reviewer", 403), ("author", 403), ("outsider", 404)])
def test_only_admins_change_the_scale(client, crew, desk, role, status):
    client.force_login(crew[role])
    url = reverse("rating_scale", args=[desk.slug])
    before = labels(desk)
    assert client.post(url, {"name": "Sneaky", "value": "", "color": "#000000"}).status_code == status
    assert labels(desk) == before
    assert client.get(url).status_code == (404 if role == "outsider" else 200)
