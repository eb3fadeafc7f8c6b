"""Partners: organisations that republish the desk's verdicts, and their keys.

Every write checks the permission first (desk admins, `annotations.manage_partners`),
then the rules of annotations/validation.py, so the Partners page and the API say the
same thing. A key is shown once, when it is made; only its sha256 is stored.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from annotations import access, validation
from annotations.models import Partner, PartnerDailyUsage, PartnerKey, Role, Workspace
from annotations.permissions import require
from annotations.tokens import partner_key_hash, partner_key_new

PARTNERS_DENIED = "Only admins of this desk manage its partners."
PARTNER_KEY_VISIBLE_LENGTH = 10
USAGE_DAYS = 7
# A busy partner touches its key row at most this often; the daily count is exact.
LAST_USED_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedKey:
    """A key just made: `key` is shown to the admin this once and never stored."""

    record: PartnerKey
    key: str


# --- Reads ---------------------------------------------------------------------------------

def partners_of(*, workspace: Workspace) -> QuerySet[Partner]:
    return Partner.objects.filter(workspace=workspace)


def partner_get(*, workspace: Workspace, partner_id: int) -> Partner:
    """A partner of this desk; another desk's (or none) is missing."""
    partner = Partner.objects.filter(workspace=workspace, pk=partner_id).first()
    if partner is None:
        raise Http404("No such partner on this desk.")
    return partner


def usage_days(*, today: date | None = None) -> list[date]:
    """The last 7 days, oldest first, today (UTC) last."""
    today = today or timezone.now().date()
    return [today - timedelta(days=n) for n in range(USAGE_DAYS - 1, -1, -1)]


def partner_keys_with_usage(*, partner: Partner, today: date | None = None) -> list[dict]:
    """The partner's keys, newest first, each with its requests on each of the last 7 days."""
    days = usage_days(today=today)
    keys = list(PartnerKey.objects.filter(partner=partner))
    counts = {
        (row.key_id, row.day): row.requests
        for row in PartnerDailyUsage.objects.filter(key__in=keys, day__gte=days[0])
    }
    return [{"key": key, "usage": [{"day": day, "requests": counts.get((key.pk, day), 0)} for day in days]}
            for key in keys]


def partner_key_active(*, key: str) -> PartnerKey | None:
    """The key in force for this secret, or None (unknown, revoked or past its grace)."""
    record = (PartnerKey.objects.select_related("partner__workspace")
              .filter(key_hash=partner_key_hash(key=key)).first())
    if record is None or record.revoked_at is not None:
        return None
    if record.expires_at is not None and record.expires_at <= timezone.now():
        return None
    return record


# --- Writes --------------------------------------------------------------------------------

def _issue(*, partner: Partner) -> IssuedKey:
    key = partner_key_new()
    record = PartnerKey.objects.create(
        partner=partner, prefix=key[:PARTNER_KEY_VISIBLE_LENGTH], key_hash=partner_key_hash(key=key)
    )
    return IssuedKey(record=record, key=key)


@transaction.atomic
def partner_create(
    *, workspace: Workspace, actor: User, name: str, contact_email: str, note: str = "",
    throttle_rate: str = "600/min",
) -> Partner:
    require(actor, "annotations.manage_partners", workspace, PARTNERS_DENIED)
    fields = {"name": name.strip(), "contact_email": contact_email.strip(), "note": note.strip(),
              "throttle_rate": throttle_rate.strip()}
    validation.partner_fields_validate(fields=fields)
    return Partner.objects.create(workspace=workspace, **fields)


@transaction.atomic
def partner_key_create(*, partner: Partner, actor: User) -> IssuedKey:
    require(actor, "annotations.manage_partners", partner.workspace, PARTNERS_DENIED)
    return _issue(partner=partner)


def _key_of(*, partner: Partner, key_id: int) -> PartnerKey:
    record = PartnerKey.objects.select_for_update().filter(partner=partner, pk=key_id).first()
    if record is None:
        raise Http404("No such key for this partner.")
    return record


@transaction.atomic
def partner_key_revoke(*, partner: Partner, key_id: int, actor: User) -> PartnerKey:
    """Stops the key at once. Revoking a revoked key changes nothing."""
    require(actor, "annotations.manage_partners", partner.workspace, PARTNERS_DENIED)
    record = _key_of(partner=partner, key_id=key_id)
    if record.revoked_at is None:
        record.revoked_at = timezone.now()
        record.save(update_fields=["revoked_at"])
    return record


@transaction.atomic
def partner_key_rotate(*, partner: Partner, key_id: int, actor: User, grace_hours: int) -> IssuedKey:
    """A new key; the old one keeps working for `grace_hours` (0: stops now), so the
    partner can switch without a gap."""
    require(actor, "annotations.manage_partners", partner.workspace, PARTNERS_DENIED)
    validation.grace_hours_check(grace_hours)
    record = _key_of(partner=partner, key_id=key_id)
    now = timezone.now()
    if record.revoked_at is not None or (record.expires_at is not None and record.expires_at <= now):
        raise ValidationError({"key": "This key no longer works; create a new key instead of rotating it."})
    expires = now + timedelta(hours=grace_hours)
    if record.expires_at is None or expires < record.expires_at:
        record.expires_at = expires
        record.save(update_fields=["expires_at"])
    return _issue(partner=partner)


def partner_key_used(*, record: PartnerKey) -> None:
    """Count a request: one upsert on today's row, and last_used_at at most once a minute."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {PartnerDailyUsage._meta.db_table} (key_id, day, requests) VALUES (%s, %s, 1) "
            "ON CONFLICT (key_id, day) DO UPDATE SET requests = "
            f"{PartnerDailyUsage._meta.db_table}.requests + 1",
            [record.pk, now.date()],
        )
    if record.last_used_at is None or now - record.last_used_at > LAST_USED_EVERY:
        PartnerKey.objects.filter(pk=record.pk).update(last_used_at=now)
        record.last_used_at = now


def partners_for_member(*, user: User) -> QuerySet[Partner]:
    """Partners of the user's desks (the API's lookups: others' are 404); the list shows
    only those of desks the user administers."""
    return Partner.objects.filter(workspace_id__in=access.workspace_ids_of(user)).select_related("workspace")


def partners_for_admin(*, user: User) -> QuerySet[Partner]:
    return Partner.objects.filter(
        workspace_id__in=access.workspace_ids_of(user, role=Role.ADMIN)
    ).select_related("workspace")
