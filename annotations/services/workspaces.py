from typing import NamedTuple

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from annotations import audit, publishing, validation
from annotations.audit import as_actor
from annotations.models import Membership, Publication, RatingLabel, RatingScale, RepublishJob, Role, Workspace
from annotations.permissions import require

MEMBERS_DENIED = "Only admins of this desk manage its members."
SCALE_DENIED = "Only admins of this desk manage its rating scale."
PUBLISHING_DENIED = "Only admins of this desk change how it publishes."

# (name, value on the ordinal scale or None, colour, description)
DEFAULT_SCALE = [
    ("True", 5, "#1a7f37", "Accurate, with nothing significant missing."),
    ("Mostly true", 4, "#4c9a2a", "Accurate, but needs clarification or more information."),
    ("Half true", 3, "#b08800", "Partially accurate; leaves out important details."),
    ("Mostly false", 2, "#d1600f", "Contains an element of truth but ignores critical facts."),
    ("False", 1, "#cf222e", "Not accurate."),
    ("Misleading", None, "#8250df", "Accurate facts arranged to give a false impression."),
    ("Unverifiable", None, "#6e7781", "Cannot be proved or disproved with available evidence."),
]


@transaction.atomic
def workspace_create(
    *, name: str, slug: str, creator: User | None = None, publisher_name: str = ""
) -> Workspace:
    """A new desk with the default rating scale; its creator becomes its admin."""
    workspace = Workspace(name=name, slug=slug, publisher_name=publisher_name or name)
    workspace.full_clean()
    workspace.save()
    scale = RatingScale.objects.create(workspace=workspace, name="Default scale")
    RatingLabel.objects.bulk_create(
        RatingLabel(scale=scale, name=n, value=v, position=i, color=c, description=d)
        for i, (n, v, c, d) in enumerate(DEFAULT_SCALE, start=1)
    )
    if creator is not None:
        membership_set(workspace=workspace, user=creator, role=Role.ADMIN)
    return workspace


@as_actor
@transaction.atomic
def membership_set(
    *, workspace: Workspace, user: User, role: str, actor: User | None = None
) -> Membership:
    """Give `user` a role in the desk. Without an actor (setting up a desk, the demo) no
    permission is asked; with one, only an admin of the desk may."""
    if actor is not None:
        require(actor, "annotations.manage_members", workspace, MEMBERS_DENIED)
    if role not in Role.values:
        raise ValidationError(
            {"role": f"{role!r} is not a role; choose one of {', '.join(Role.values)}."}
        )
    membership, _ = Membership.objects.update_or_create(
        workspace=workspace, user=user, defaults={"role": role}
    )
    return membership


@as_actor
@transaction.atomic
def membership_remove(*, workspace: Workspace, user: User, actor: User) -> None:
    require(actor, "annotations.manage_members", workspace, MEMBERS_DENIED)
    admins = Membership.objects.select_for_update().filter(workspace=workspace, role=Role.ADMIN)
    if list(admins.values_list("user_id", flat=True)) == [user.pk]:
        raise ValidationError({"user": "A desk needs at least one admin; make someone else admin first."})
    Membership.objects.filter(workspace=workspace, user=user).delete()


def _scale_range(scale: RatingScale) -> tuple[int | None, int | None]:
    """(worst, best): ClaimReview's worstRating and bestRating, which every record carries."""
    values = [value for value in scale.labels.values_list("value", flat=True) if value is not None]
    return (min(values), max(values)) if values else (None, None)


def _range_sentence(before: tuple[int | None, int | None], after: tuple[int | None, int | None]) -> str:
    if after == (None, None):
        return "The rating scale no longer has values."
    shown = f"from {after[0]} to {after[1]}"
    return f"The rating scale now runs {shown}." if before == (None, None) else (
        f"The rating scale now runs {shown} (it ran from {before[0]} to {before[1]}).")


def _republish_after_scale_change(
    *, workspace: Workspace, scale: RatingScale, label_id: int | None, sentences: list[str],
    range_before: tuple[int | None, int | None],
) -> RepublishJob | None:
    """Published records carry a label's name, value and explanation and the scale's range:
    new records for the verdicts in force with the label, or for all of them when the
    range moved. In the caller's transaction, so the job is queued only with the change."""
    range_after = _scale_range(scale)
    if range_after != range_before:
        sentences = [*sentences, _range_sentence(range_before, range_after)]
        label_id = None
    if not sentences:
        return None
    return publishing.republish_job_create(workspace=workspace, reason=" ".join(sentences), rating_id=label_id)


def _label_change_sentences(*, before: RatingLabel, after: RatingLabel) -> list[str]:
    """What a record would say differently about the label, one sentence each (colour is
    the desk's own display and is not published)."""
    sentences = []
    if before.name != after.name:
        sentences.append(f"The rating “{before.name}” was renamed “{after.name}”.")
    if before.value != after.value:
        was = "no value" if before.value is None else f"the value {before.value}"
        now = "no value" if after.value is None else f"the value {after.value}"
        sentences.append(f"The rating “{after.name}” now has {now} (it had {was}).")
    if before.description != after.description:
        sentences.append(f"The explanation of the rating “{after.name}” changed.")
    return sentences


@as_actor
@transaction.atomic
def rating_label_save(
    *, workspace: Workspace, actor: User, label_id: int | None, name: str,
    value: int | None, color: str, description: str = "",
) -> RatingLabel:
    """Add a label to the desk's scale, or change one. Admins only. A change that
    published records show queues their republishing (see `_republish_after_scale_change`)."""
    require(actor, "annotations.manage_rating_scale", workspace, SCALE_DENIED)
    scale = RatingScale.objects.select_for_update().get(workspace=workspace)
    range_before = _scale_range(scale)
    label: RatingLabel | None
    if label_id is None:
        last = scale.labels.order_by("-position").values_list("position", flat=True).first() or 0
        label = RatingLabel(scale=scale, position=last + 1)
        before = None
    else:
        label = scale.labels.filter(pk=label_id).first()
        if label is None:
            raise ValidationError({"label": "No such label on this desk's scale."})
        before = RatingLabel(name=label.name, value=label.value, description=label.description)
    label.name, label.value, label.color, label.description = name.strip(), value, color.strip(), description.strip()
    label.full_clean()
    label.save()
    sentences = _label_change_sentences(before=before, after=label) if before is not None else []
    _republish_after_scale_change(
        workspace=workspace, scale=scale, label_id=label.pk, sentences=sentences, range_before=range_before
    )
    return label


@as_actor
@transaction.atomic
def rating_label_delete(*, workspace: Workspace, actor: User, label_id: int) -> None:
    require(actor, "annotations.manage_rating_scale", workspace, SCALE_DENIED)
    scale = RatingScale.objects.select_for_update().get(workspace=workspace)
    label = RatingLabel.objects.filter(pk=label_id, scale=scale).first()
    if label is None:
        raise ValidationError({"label": "No such label on this desk's scale."})
    if label.claims.exists():
        raise ValidationError({"label": f"Claims are rated {label.name!r}; it cannot be removed while they are."})
    if Publication.objects.filter(rating=label).exists():
        raise ValidationError({"label": f"Published verdicts were rated {label.name!r}; it stays on the scale so "
                                        "their records keep their meaning."})
    range_before = _scale_range(scale)
    label.delete()
    # Removing the label at either end of the scale moves every record's range.
    _republish_after_scale_change(
        workspace=workspace, scale=scale, label_id=None, sentences=[], range_before=range_before
    )


# --- Publishing settings -------------------------------------------------------------------

class PublishingUpdate(NamedTuple):
    workspace: Workspace
    job: RepublishJob | None  # the republishing it queued, if what records say changed


def _change_sentence(noun: str, before: str, after: str) -> str:
    if not before:
        return f"The {noun} is now “{after}”."
    if not after:
        return f"The {noun} “{before}” was removed."
    return f"The {noun} changed from “{before}” to “{after}”."


@as_actor
@transaction.atomic
def workspace_publishing_update(
    *, workspace: Workspace, actor: User, public_pages: bool | None = None,
    publisher_name: str | None = None, publisher_url: str | None = None,
) -> PublishingUpdate:
    """Change how the desk publishes; a setting left None stays as it is. Admins only.
    Published records name the publisher, so a new name or address queues new records of
    every verdict in force, in this transaction."""
    require(actor, "annotations.manage_publishing", workspace, PUBLISHING_DENIED)
    fields: dict[str, object] = {}
    if public_pages is not None:
        fields["public_pages"] = public_pages
    if publisher_name is not None:
        fields["publisher_name"] = publisher_name.strip()
    if publisher_url is not None:
        fields["publisher_url"] = publisher_url.strip()
    validation.workspace_publishing_validate(fields=fields)
    # Locked: two admins saving at once each compare against what the other committed, and
    # a republish batch reading the publisher finishes first (publishing.services). NO KEY,
    # so rows that point at the desk (new claims, articles) can still be written meanwhile.
    locked = Workspace.objects.select_for_update(no_key=True).get(pk=workspace.pk)
    # What records say: the publisher's name (the desk's own when empty) and address.
    name_before, url_before = locked.publisher_name or locked.name, locked.publisher_url
    changed = [name for name, value in fields.items() if getattr(locked, name) != value]
    if not changed:
        return PublishingUpdate(workspace=locked, job=None)
    for name in changed:
        setattr(locked, name, fields[name])
    name_after, url_after = locked.publisher_name or locked.name, locked.publisher_url
    sentences = []
    if name_after != name_before:
        sentences.append(_change_sentence("publisher's name", name_before, name_after))
    if url_after != url_before:
        sentences.append(_change_sentence("publisher's web address", url_before, url_after))
    reason = " ".join(sentences)
    with audit.context(reason=reason or None):
        locked.save(update_fields=changed)
        job = publishing.republish_job_create(workspace=locked, reason=reason) if reason else None
    for name in changed:  # the caller's object shows what was saved
        setattr(workspace, name, fields[name])
    return PublishingUpdate(workspace=locked, job=job)
