"""The desk's history in words: audit events as a person reads them.

`describe(events, workspace_id=...)` turns a page of AuditEvents into entries that say who
did what in labels: people by name, ratings by their label, states and other choices by
their display names ("In review"), fields by their labels ("Restatement"), system writers
as "link check", "scheduled job" or "database (role x)". The names are read once per kind
for the whole page (annotations.selectors.people_by_id, rating_names_by_id), never per row.

Times stay aware datetimes: templates show them in the zone the page activated
(templates/base.html, `{% timezone %}`), and `Shown` formats them in it when rendered.
"""

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

from django.apps import apps
from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.text import capfirst

from annotations import selectors
from annotations.models import AuditEvent, RatingLabel

# Bookkeeping nobody reads in a history: they change with every write or only place a quote.
HIDDEN_FIELDS = {"id", "updated_at", "created_at", "revision", "prefix", "suffix", "start_offset", "end_offset",
                 "anchor_score", "link_content_hash", "sha256", "text"}
LABELS = {
    "exact": "Quote", "claim_reviewed": "Restatement", "rating_id": "Rating", "held_by_id": "Held by",
    "held_until": "Held until", "last_edited_by_id": "Last edited by", "created_by_id": "Created by",
    "submitted_at": "Submitted", "first_approved_at": "First approved", "last_approved_at": "Last approved",
    "version_id": "Article version", "anchor_status": "Anchor", "reviewer_id": "Reviewer", "user_id": "Person",
    "claim_revision": "Claim revision", "link_status": "Link check", "link_status_code": "Link status code",
    "link_final_url": "Link goes to", "link_title": "Page title", "link_error": "Link error",
    "link_checked_at": "Link checked", "public_pages": "Public pages", "time_zone": "Time zone",
    "assignee_id": "Assignee", "assigned_by_id": "Assigned by", "due_at": "Due", "done_at": "Done",
}
NOUNS = {
    "claim": "the claim", "source": "a source", "review": "a review", "membership": "a member",
    "ratinglabel": "a rating label", "ratingscale": "the rating scale", "article": "an article",
    "articleversion": "a new version of an article", "workspace": "the desk's settings",
    "assignment": "an assignment",
}
# What a claim's state change says, by the transition the trail recorded (claim.<name>).
CLAIM_VERBS = {
    "created": "marked the claim", "updated": "edited the claim", "deleted": "deleted the claim",
    "submitted": "submitted the claim for review", "taken": "took the claim for review",
    "released": "gave the claim back to the queue", "approved": "approved the claim",
    "changes_requested": "asked for changes to the claim", "rejected": "rejected the claim",
    "reopened": "reopened the claim for correction",
}
VERBS = {"created": "added", "updated": "changed", "deleted": "removed"}
# Celery tasks by their last name; any other task is a "scheduled job".
TASKS = {
    "check_source_link": "link check", "recheck_sources": "link check", "expire_holds": "scheduled job (hold expiry)",
    "match_claim": "claim matching", "run_export": "export job", "run_republish": "republishing job",
}


class Shown:
    """One value as a page shows it: text, or a time formatted in the active zone when rendered."""

    def __init__(self, text: str = "", when: datetime | None = None):
        self.text = text
        self.when = when

    def __str__(self) -> str:
        if self.when is not None:
            return date_format(timezone.localtime(self.when), "j M Y H:i T")
        return self.text or "—"

    def __bool__(self) -> bool:
        return bool(self.text) or self.when is not None

    def __eq__(self, other: object) -> bool:
        return str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))

    def __repr__(self) -> str:
        return f"Shown({str(self)!r})"


class Change(NamedTuple):
    """A field that changed: its label and the values before and after, as shown."""

    label: str
    old: Shown
    new: Shown


@dataclass
class Entry:
    event: AuditEvent
    actor: Any  # the acting user (names only), or None for the system
    who: str  # the person's name, or what the system was ("link check")
    via: str  # where it came from: "the desk's pages", "the API", "the Django admin", ""
    what: str  # "submitted the claim for review"
    subject: str  # what the object is, in a few words
    changes: list[Change] = field(default_factory=list)

    # The event's own columns, for templates and tests.
    @property
    def pk(self) -> int:
        return self.event.pk

    @property
    def occurred_at(self) -> datetime:
        return self.event.occurred_at

    @property
    def action(self) -> str:
        return self.event.action

    @property
    def reason(self) -> str:
        return self.event.reason

    @property
    def object_type(self) -> str:
        return self.event.object_type

    @property
    def object_id(self) -> str:
        return self.event.object_id

    @property
    def claim_id(self) -> int | None:
        return self.event.claim_id

    @property
    def request(self) -> str:
        """What wrote it when no person did (the name a timeline shows in place of a person)."""
        return self.who

    @property
    def raw_changes(self) -> list[tuple[str, object, object]]:
        return self.event.changes

    @property
    def raw_before(self) -> str:
        return json.dumps(self.event.before, sort_keys=True, ensure_ascii=False) if self.event.before else ""

    @property
    def raw_after(self) -> str:
        return json.dumps(self.event.after, sort_keys=True, ensure_ascii=False) if self.event.after else ""


def _model(object_type: str) -> type[models.Model] | None:
    try:
        return apps.get_model("annotations", object_type)
    except LookupError:
        return None


def _fields(object_type: str) -> dict[str, models.Field]:
    model = _model(object_type)
    return {f.attname: f for f in model._meta.concrete_fields} if model else {}


def _is_person(f: models.Field | None) -> bool:
    return isinstance(f, models.ForeignKey) and f.related_model == apps.get_model(settings.AUTH_USER_MODEL)


def _is_rating(f: models.Field | None) -> bool:
    return isinstance(f, models.ForeignKey) and f.related_model is RatingLabel


def person_name(user: Any) -> str:
    return (user.get_full_name() or user.username) if user is not None else ""


class _Names:
    """People and rating labels named anywhere on the page: one query per kind."""

    def __init__(self, events: list[AuditEvent], workspace_id: int | None):
        people: set[int] = set()
        ratings: set[int] = set()
        for event in events:
            if event.actor_id:
                people.add(event.actor_id)
            fields = _fields(event.object_type)
            for row in (event.before or {}, event.after or {}):
                for key, value in row.items():
                    if isinstance(value, int) and not isinstance(value, bool):
                        if _is_person(fields.get(key)):
                            people.add(value)
                        elif _is_rating(fields.get(key)):
                            ratings.add(value)
        self.people = selectors.people_by_id(ids=people) if people else {}
        self.ratings = selectors.rating_names_by_id(workspace_id=workspace_id, ids=ratings) if ratings else {}

    def person(self, user_id: int) -> str:
        user = self.people.get(user_id)
        return person_name(user) if user is not None else f"user #{user_id} (removed)"

    def rating(self, label_id: int) -> str:
        return self.ratings.get(label_id) or f"rating #{label_id} (removed)"


def _shown(f: models.Field | None, value: object, names: _Names) -> Shown:
    if value is None or value == "":
        return Shown()
    if _is_person(f) and isinstance(value, int):
        return Shown(names.person(value))
    if _is_rating(f) and isinstance(value, int):
        return Shown(names.rating(value))
    if f is not None and f.choices:
        return Shown(str(dict(f.flatchoices).get(value, value)))
    if isinstance(f, models.DateTimeField) and isinstance(value, str):
        parsed = parse_datetime(value)
        return Shown(when=parsed) if parsed is not None else Shown(value)
    if isinstance(f, models.DateField) and isinstance(value, str):
        day: date | None = parse_date(value)
        return Shown(date_format(day, "j M Y")) if day is not None else Shown(value)
    if isinstance(value, bool):
        return Shown("yes" if value else "no")
    if isinstance(f, models.ForeignKey):
        return Shown(f"#{value}")
    return Shown(str(value))


def field_label(object_type: str, key: str) -> str:
    if key in LABELS:
        return LABELS[key]
    f = _fields(object_type).get(key)
    return capfirst(str(f.verbose_name)) if f is not None else capfirst(key.replace("_", " "))


def _who_and_via(event: AuditEvent, names: _Names) -> tuple[str, str]:
    request = event.request or ""
    via = ""
    system = ""
    if request.startswith("task: "):
        task = request[len("task: "):].split("[", 1)[0].rsplit(".", 1)[-1]
        system = TASKS.get(task, "scheduled job")
    elif request.startswith("sql: "):
        system = f"database (role {request[len('sql: '):]})"
    elif " " in request:
        path = request.split(" ", 1)[1]
        via = ("the API" if path.startswith("/api/") else "the Django admin" if path.startswith("/admin/")
               else "the desk's pages")
        system = "someone not logged in"
    if event.actor_id:
        # A person acting without a web request (a script, the shell): nothing more to say.
        return names.person(event.actor_id), via or ("" if request.startswith("sql: ") else system)
    return system or "the system", ""


def _subject(event: AuditEvent, names: _Names) -> str:
    row = event.after or event.before or {}
    kind = event.object_type
    if kind == "source":
        return str(row.get("title") or row.get("url") or "")
    if kind == "claim":
        quote = str(row.get("exact") or "")
        return f"“{quote[:80]}{'…' if len(quote) > 80 else ''}”" if quote else ""
    if kind == "review":
        shown = _shown(_fields("review").get("decision"), row.get("decision"), names)
        return f"{shown}" + (f": “{str(row.get('comment'))[:80]}”" if row.get("comment") else "")
    if kind == "membership":
        person = names.person(row["user_id"]) if isinstance(row.get("user_id"), int) else ""
        role = _shown(_fields("membership").get("role"), row.get("role"), names)
        return f"{person} ({role})" if person else ""
    if kind in ("ratinglabel", "workspace", "ratingscale"):
        return str(row.get("name") or "")
    if kind == "article":
        return str(row.get("title") or "")
    if kind == "articleversion":
        return f"version {row.get('number')}" if row.get("number") else ""
    if kind == "assignment":
        return f"to {names.person(row['assignee_id'])}" if isinstance(row.get("assignee_id"), int) else ""
    return ""


def _what(event: AuditEvent) -> str:
    kind, _, verb = event.action.partition(".")
    if kind == "claim":
        if verb in CLAIM_VERBS:
            return CLAIM_VERBS[verb]
        state = _fields("claim")["state"]
        return f"moved the claim to {dict(state.flatchoices).get(verb, verb.replace('_', ' '))}"
    noun = NOUNS.get(kind, kind)
    return f"{VERBS.get(verb, verb.replace('_', ' '))} {noun}"


def _changes(event: AuditEvent, names: _Names) -> list[Change]:
    fields = _fields(event.object_type)
    before, after = event.before or {}, event.after or {}
    if not before or not after:
        return []  # created or deleted: the subject says what it was
    return [
        Change(field_label(event.object_type, key), _shown(fields.get(key), old, names),
               _shown(fields.get(key), new, names))
        for key, old, new in event.changes
        if key not in HIDDEN_FIELDS
    ]


def describe(events: list[AuditEvent], *, workspace_id: int | None) -> list[Entry]:
    """The events as entries, in the order given. Two queries at most, whatever their number."""
    names = _Names(events, workspace_id)
    entries = []
    for event in events:
        who, via = _who_and_via(event, names)
        entries.append(Entry(
            event=event, actor=names.people.get(event.actor_id) if event.actor_id else None, who=who, via=via,
            what=_what(event), subject=_subject(event, names), changes=_changes(event, names),
        ))
    return entries


def action_label(action: str) -> str:
    """For the audit log's action filter: "claim.submitted" -> "Claim: submitted the claim for review"."""
    kind = action.partition(".")[0]
    model = _model(kind)
    noun = capfirst(str(model._meta.verbose_name)) if model else capfirst(kind)
    return f"{noun}: {_what(AuditEvent(action=action))}"
