from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from annotations.audit import as_actor
from annotations.models import Membership, RatingLabel, RatingScale, Role, Workspace
from annotations.permissions import require

MEMBERS_DENIED = "Only admins of this desk manage its members."

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


@as_actor
@transaction.atomic
def rating_label_save(
    *, workspace: Workspace, actor: User, label_id: int | None, name: str,
    value: int | None, color: str, description: str = "",
) -> RatingLabel:
    """Add a label to the desk's scale, or change one. Admins only."""
    require(actor, "annotations.manage_rating_scale", workspace, "Only admins of this desk manage its rating scale.")
    scale = RatingScale.objects.select_for_update().get(workspace=workspace)
    label: RatingLabel | None
    if label_id is None:
        last = scale.labels.order_by("-position").values_list("position", flat=True).first() or 0
        label = RatingLabel(scale=scale, position=last + 1)
    else:
        label = scale.labels.filter(pk=label_id).first()
        if label is None:
            raise ValidationError({"label": "No such label on this desk's scale."})
    label.name, label.value, label.color, label.description = name.strip(), value, color.strip(), description.strip()
    label.full_clean()
    label.save()
    return label


@as_actor
@transaction.atomic
def rating_label_delete(*, workspace: Workspace, actor: User, label_id: int) -> None:
    require(actor, "annotations.manage_rating_scale", workspace, "Only admins of this desk manage its rating scale.")
    label = RatingLabel.objects.filter(pk=label_id, scale__workspace=workspace).first()
    if label is None:
        raise ValidationError({"label": "No such label on this desk's scale."})
    if label.claims.exists():
        raise ValidationError({"label": f"Claims are rated {label.name!r}; it cannot be removed while they are."})
    label.delete()
