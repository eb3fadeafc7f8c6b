"""The field rules of claims, sources, articles, a desk's publishing settings and partners: one sentence per bad value.

The services run these after their permission check and before they write anything,
whoever calls them. Forms and serializers only parse (a date that is not a date) and
leave the rules to the services, or call these same functions, so the browser and the
API say the same thing about the same value.

Every rule raises ``ValidationError({field: sentence})``; the ``*_validate`` functions
run the rules of the fields they are given and raise one error naming every bad field.
"""

import re
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db import models
from django.utils import timezone

from annotations.models import Article, Claim, Partner, RatingLabel, Source, Stance, Workspace

BAD_URL = "Enter a web address starting with http:// or https://."
SOURCE_URL_MISSING = "Give the source's web address."
RESTATEMENT_ONE_LINE = "The restatement is one line; remove the line breaks."
RATING_NOT_IN_SCALE = "Choose a rating from this desk's scale."
STANCE_UNKNOWN = "Choose whether the source supports, refutes or gives context."
ARTICLE_NO_TEXT = "The article has no text."
PUBLISHER_NAME_ONE_LINE = "The publisher's name is one line; remove the line breaks."
PUBLIC_PAGES_NOT_YES_OR_NO = "Say whether the desk's verdicts have public pages: true or false."
# For values that are not dates at all; forms and serializers parse dates, with these words.
CLAIM_DATE_INVALID = "Enter the claim date as YYYY-MM-DD."
ACCESSED_ON_INVALID = "Enter the date you accessed the source as YYYY-MM-DD."


def _column_limit(model: type[models.Model], name: str) -> int:
    # From the model, so a rule never lets through what the column refuses.
    limit = getattr(model._meta.get_field(name), "max_length", None)
    if not isinstance(limit, int):
        raise ImproperlyConfigured(f"{model.__name__}.{name} has no max_length for its rule to use.")
    return limit


MAX_RESTATEMENT = _column_limit(Claim, "claim_reviewed")
MAX_CLAIMANT = _column_limit(Claim, "claimant")
MAX_RATIONALE = 20_000
MAX_URL = _column_limit(Source, "url")
MAX_SOURCE_TITLE = _column_limit(Source, "title")
MAX_SOURCE_PUBLISHER = _column_limit(Source, "publisher")
MAX_QUOTE = 5_000
MAX_ARTICLE_TITLE = _column_limit(Article, "title")
MAX_ARTICLE_PUBLISHER = _column_limit(Article, "publisher")
MAX_ARTICLE_CHARS = 2_000_000
MAX_PUBLISHER_NAME = _column_limit(Workspace, "publisher_name")
MAX_PUBLISHER_URL = _column_limit(Workspace, "publisher_url")

_HTTP_URL = URLValidator(schemes=["http", "https"], message=BAD_URL)


def _too_long_check(*, field: str, noun: str, value: str, limit: int) -> None:
    if len(value) > limit:
        raise ValidationError({field: f"The {noun} can be at most {limit} characters (it has {len(value)})."})


def _not_in_future_check(*, field: str, noun: str, value: date | None) -> None:
    if value is not None and value > timezone.localdate():
        raise ValidationError({field: f"The {noun} cannot be in the future."})


def web_address_check(*, field: str, value: str) -> None:
    """http(s) only: a javascript: or file: link would run or open on the reviewer's machine."""
    if len(value) > MAX_URL:
        raise ValidationError({field: f"The web address is too long (at most {MAX_URL} characters)."})
    try:
        _HTTP_URL(value)
    except ValidationError:
        raise ValidationError({field: BAD_URL}) from None


# --- Claims --------------------------------------------------------------------------------

def claim_reviewed_check(value: str) -> None:
    # splitlines knows every line boundary (\r, \u2028, ...), not only \n.
    if value and value.splitlines() != [value]:
        raise ValidationError({"claim_reviewed": RESTATEMENT_ONE_LINE})
    _too_long_check(field="claim_reviewed", noun="restatement", value=value, limit=MAX_RESTATEMENT)


def claimant_check(value: str) -> None:
    _too_long_check(field="claimant", noun="claimant", value=value, limit=MAX_CLAIMANT)


def claim_date_check(value: date | None) -> None:
    _not_in_future_check(field="claim_date", noun="claim date", value=value)


def rationale_check(value: str) -> None:
    _too_long_check(field="rationale", noun="rationale", value=value, limit=MAX_RATIONALE)


def rating_check(value: RatingLabel | None, *, workspace_id: int) -> None:
    if value is not None and value.scale.workspace_id != workspace_id:
        raise ValidationError({"rating": RATING_NOT_IN_SCALE})


CLAIM_RULES: dict[str, Callable[[Any], None]] = {
    "claim_reviewed": claim_reviewed_check,
    "claimant": claimant_check,
    "claim_date": claim_date_check,
    "rationale": rationale_check,
}


def claim_fields_validate(*, fields: Mapping[str, Any], workspace_id: int) -> None:
    """Check the claim fields present in `fields`; the rating must be of the desk's scale."""
    rules = CLAIM_RULES | {"rating": lambda value: rating_check(value, workspace_id=workspace_id)}
    _rules_run(fields=fields, rules=rules)


# --- Sources -------------------------------------------------------------------------------

def source_url_check(value: str) -> None:
    if not value:
        raise ValidationError({"url": SOURCE_URL_MISSING})
    web_address_check(field="url", value=value)


def archive_url_check(value: str) -> None:
    if value:
        web_address_check(field="archive_url", value=value)


def source_title_check(value: str) -> None:
    _too_long_check(field="title", noun="title", value=value, limit=MAX_SOURCE_TITLE)


def source_publisher_check(value: str) -> None:
    _too_long_check(field="publisher", noun="publisher", value=value, limit=MAX_SOURCE_PUBLISHER)


def quote_check(value: str) -> None:
    _too_long_check(field="quote", noun="quote", value=value, limit=MAX_QUOTE)


def stance_check(value: str) -> None:
    if value not in Stance.values:
        raise ValidationError({"stance": STANCE_UNKNOWN})


def accessed_on_check(value: date | None) -> None:
    _not_in_future_check(field="accessed_on", noun="access date", value=value)


SOURCE_RULES: dict[str, Callable[[Any], None]] = {
    "url": source_url_check,
    "title": source_title_check,
    "publisher": source_publisher_check,
    "quote": quote_check,
    "stance": stance_check,
    "accessed_on": accessed_on_check,
    "archive_url": archive_url_check,
}


def source_fields_validate(*, fields: Mapping[str, Any], new: bool) -> None:
    """Check the source fields present in `fields`; a new source needs its web address."""
    if new and "url" not in fields:
        fields = {"url": "", **fields}
    _rules_run(fields=fields, rules=SOURCE_RULES)


# --- Articles ------------------------------------------------------------------------------

def article_text_check(value: str) -> None:
    """`value` is the canonical text, as it will be stored."""
    if not value.strip():
        raise ValidationError({"text": ARTICLE_NO_TEXT})
    _too_long_check(field="text", noun="article text", value=value, limit=MAX_ARTICLE_CHARS)


def article_title_check(value: str) -> None:
    _too_long_check(field="title", noun="title", value=value, limit=MAX_ARTICLE_TITLE)


def article_url_check(value: str) -> None:
    if value:
        web_address_check(field="url", value=value)


def article_publisher_check(value: str) -> None:
    _too_long_check(field="publisher", noun="publisher", value=value, limit=MAX_ARTICLE_PUBLISHER)


ARTICLE_RULES: dict[str, Callable[[Any], None]] = {
    "text": article_text_check,
    "title": article_title_check,
    "url": article_url_check,
    "publisher": article_publisher_check,
}


def article_fields_validate(*, fields: Mapping[str, Any]) -> None:
    """Check the article fields present in `fields` (text, title, url, publisher)."""
    _rules_run(fields=fields, rules=ARTICLE_RULES)


# --- A desk's publishing settings ----------------------------------------------------------

def public_pages_check(value: bool) -> None:
    if not isinstance(value, bool):
        raise ValidationError({"public_pages": PUBLIC_PAGES_NOT_YES_OR_NO})


def publisher_name_check(value: str) -> None:
    """Empty is allowed: the desk's own name is published instead."""
    if value and value.splitlines() != [value]:
        raise ValidationError({"publisher_name": PUBLISHER_NAME_ONE_LINE})
    _too_long_check(field="publisher_name", noun="publisher's name", value=value, limit=MAX_PUBLISHER_NAME)


def publisher_url_check(value: str) -> None:
    if not value:
        return
    # The desk's column is shorter than a source's, which web_address_check measures against.
    if len(value) > MAX_PUBLISHER_URL:
        raise ValidationError(
            {"publisher_url": f"The web address is too long (at most {MAX_PUBLISHER_URL} characters)."}
        )
    web_address_check(field="publisher_url", value=value)


WORKSPACE_PUBLISHING_RULES: dict[str, Callable[[Any], None]] = {
    "public_pages": public_pages_check,
    "publisher_name": publisher_name_check,
    "publisher_url": publisher_url_check,
}


def workspace_publishing_validate(*, fields: Mapping[str, Any]) -> None:
    """Check the publishing settings present in `fields`."""
    _rules_run(fields=fields, rules=WORKSPACE_PUBLISHING_RULES)


# --- Partners -------------------------------------------------------------------------------

MAX_PARTNER_NAME = _column_limit(Partner, "name")
MAX_PARTNER_EMAIL = _column_limit(Partner, "contact_email")
MAX_PARTNER_NOTE = 2_000
# DRF's rate syntax: a count, a slash and a period it knows (s, m, h, d or longer words).
_THROTTLE_RATE = re.compile(r"^([1-9][0-9]{0,5})/(s|sec|second|m|min|minute|h|hour|d|day)$")
THROTTLE_RATE_INVALID = (
    "Enter the rate as a number of requests per period, like 600/min (periods: sec, min, hour, day)."
)
PARTNER_GRACE_HOURS_INVALID = "Give the grace period as a whole number of hours from 0 to 720."
MAX_GRACE_HOURS = 720


def partner_name_check(value: str) -> None:
    if not value.strip():
        raise ValidationError({"name": "Give the partner organisation's name."})
    if value.splitlines() != [value]:
        raise ValidationError({"name": "The partner's name is one line; remove the line breaks."})
    _too_long_check(field="name", noun="partner's name", value=value, limit=MAX_PARTNER_NAME)


def partner_contact_email_check(value: str) -> None:
    try:
        EmailValidator()(value)
    except ValidationError:
        raise ValidationError(
            {"contact_email": "Enter the partner's contact e-mail address, like news@example.org."}
        ) from None
    _too_long_check(field="contact_email", noun="contact e-mail", value=value, limit=MAX_PARTNER_EMAIL)


def partner_note_check(value: str) -> None:
    _too_long_check(field="note", noun="note", value=value, limit=MAX_PARTNER_NOTE)


def throttle_rate_check(value: str) -> None:
    if not isinstance(value, str) or not _THROTTLE_RATE.match(value):
        raise ValidationError({"throttle_rate": THROTTLE_RATE_INVALID})


PARTNER_RULES: dict[str, Callable[[Any], None]] = {
    "name": partner_name_check,
    "contact_email": partner_contact_email_check,
    "note": partner_note_check,
    "throttle_rate": throttle_rate_check,
}


def partner_fields_validate(*, fields: Mapping[str, Any]) -> None:
    _rules_run(fields=fields, rules=PARTNER_RULES)


def grace_hours_check(value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_GRACE_HOURS:
        raise ValidationError({"grace_hours": PARTNER_GRACE_HOURS_INVALID})


def _rules_run(*, fields: Mapping[str, Any], rules: Mapping[str, Callable[[Any], None]]) -> None:
    """Run the rule of every field given, so one answer names every bad field at once."""
    errors: dict[str, list[str]] = {}
    for name, value in fields.items():
        rule = rules.get(name)
        if rule is None:
            continue
        try:
            rule(value)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)


# --- Assignments (services/assignments.py) -----------------------------------------------

MAX_ASSIGNMENT_NOTE = 2_000
DUE_AT_INVALID = "Enter the due date as a date and time, e.g. 2026-12-31T17:00."


def assignment_validate(*, due_at: Any = None, note: Any = "", check_due: bool = True) -> None:
    """The due date is a moment not already past; the note is text of at most 2,000 characters."""
    errors: dict[str, str] = {}
    if check_due and due_at is not None:
        from datetime import datetime as _datetime

        if not isinstance(due_at, _datetime):
            errors["due_at"] = DUE_AT_INVALID
        elif timezone.is_naive(due_at):
            errors["due_at"] = "Give the due date with its time zone."
        elif due_at <= timezone.now():
            errors["due_at"] = "The due date must be in the future."
    if not isinstance(note, str):
        errors["note"] = "The note is text."
    elif len(note) > MAX_ASSIGNMENT_NOTE:
        errors["note"] = f"The note can be at most {MAX_ASSIGNMENT_NOTE} characters (it has {len(note)})."
    if errors:
        raise ValidationError(errors)
