"""Time zones: the one a person chooses for themselves, and each desk's own.

Pages show times in the person's zone if they chose one, else in the desk's
(annotations.context_processors.desk_nav picks it).
"""

import zoneinfo
from functools import cache

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from annotations.audit import as_actor
from annotations.models import Profile, Workspace
from annotations.permissions import require

TIME_ZONE_UNKNOWN = "Choose a time zone from the list, such as Europe/Paris or America/New_York."
DESK_TIME_ZONE_DENIED = "Only admins of this desk set its time zone."
# The regions of the IANA database people pick from; older aliases (US/Eastern) are accepted too.
REGIONS = ("Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe", "Indian",
           "Pacific")


@cache
def _known() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


@cache
def time_zone_choices() -> list[str]:
    """The zones a menu offers: UTC, then every Region/City name, sorted."""
    return ["UTC", *sorted(name for name in _known() if name.split("/", 1)[0] in REGIONS and "/" in name)]


def time_zone_check(value: str, *, field: str = "time_zone") -> str:
    """The IANA name, stripped; a ValidationError on `field` for anything else."""
    value = (value or "").strip()
    if value not in _known():
        raise ValidationError({field: TIME_ZONE_UNKNOWN})
    return value


def profile_time_zone_set(*, user: User, time_zone: str) -> Profile:
    """The person's own zone; empty means "each desk's own"."""
    value = (time_zone or "").strip()
    if value:
        value = time_zone_check(value)
    profile, _ = Profile.objects.update_or_create(user=user, defaults={"time_zone": value})
    return profile


@as_actor
@transaction.atomic
def workspace_time_zone_set(*, workspace: Workspace, actor: User, time_zone: str) -> Workspace:
    """The desk's zone, which its members see times in unless they chose their own. Admins only."""
    require(actor, "annotations.manage_desk_time_zone", workspace, DESK_TIME_ZONE_DENIED)
    value = time_zone_check(time_zone)
    Workspace.objects.filter(pk=workspace.pk).update(time_zone=value)
    workspace.time_zone = value
    return workspace
