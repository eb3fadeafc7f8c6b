from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from annotations import audit, outbox, validation
from annotations.anchoring import Selectors, reanchor, selectors_for, trim_span
from annotations.audit import as_actor
from annotations.errors import ConflictError
from annotations.models import AnchorStatus, Article, ArticleVersion, Claim, ClaimState, Source
from annotations.permissions import require
from annotations.services.sources import source_check_enqueue

CLAIM_FIELDS = ("claim_reviewed", "claimant", "claim_date", "rating", "rationale")
SOURCE_FIELDS = ("url", "title", "publisher", "quote", "stance", "accessed_on", "archive_url")

EDIT_DENIED = "Only the author can edit a claim, and only while it is a draft or has changes requested."
DELETE_DENIED = "Only the author can delete a claim, and only while it is a draft."
REATTACH_DENIED = "Only the author or a desk admin can re-attach a claim."
CONFIRM_POSITION_DENIED = "Only the author or a desk admin can confirm where a claim moved."
# Waiting for a person after a new version: re-attach these by hand.
NEEDS_A_PERSON = (AnchorStatus.ORPHANED, AnchorStatus.CHANGED)


# Who may act, asked before anything looks at the input (the API asks these before it
# parses the body): someone who may not edit a claim is told that, not what is wrong with
# the fields they sent. The services ask the same again.

def claim_edit_check(*, claim: Claim, actor: User) -> None:
    require(actor, "annotations.change_claim", claim, EDIT_DENIED)


def claim_delete_check(*, claim: Claim, actor: User) -> None:
    require(actor, "annotations.delete_claim", claim, DELETE_DENIED)


def claim_reattach_check(*, claim: Claim, actor: User) -> None:
    require(actor, "annotations.reattach_claim", claim, REATTACH_DENIED)


def _selectors_from_request(
    *, text: str, exact: str, start: int, end: int, prefix: str | None, suffix: str | None
) -> Selectors:
    """Check the browser's selectors against the text; trim white space at both ends."""
    if not isinstance(start, int) or not isinstance(end, int) or isinstance(start, bool):
        raise ValidationError({"start": "start and end must be whole numbers of code points."})
    if not 0 <= start < end <= len(text):
        raise ValidationError(
            {"start": f"The span {start}-{end} is not inside the text (0-{len(text)})."}
        )
    if text[start:end] != exact:
        raise ValidationError(
            {"exact": f"The quote does not match the article text at {start}-{end}; "
                      "reload the article and select the text again."}
        )
    context = selectors_for(text, start, end)
    if prefix is not None and prefix != context.prefix:
        raise ValidationError({"prefix": "The prefix does not match the text before the quote."})
    if suffix is not None and suffix != context.suffix:
        raise ValidationError({"suffix": "The suffix does not match the text after the quote."})
    start, end = trim_span(text, start, end)
    if start >= end:
        raise ValidationError({"exact": "The selection is only white space."})
    selectors = selectors_for(text, start, end)
    return selectors


@as_actor
@transaction.atomic
def claim_create(
    *,
    actor: User,
    article: Article,
    version: ArticleVersion,
    exact: str,
    start: int,
    end: int,
    prefix: str | None = None,
    suffix: str | None = None,
) -> Claim:
    """Mark a span of the article's current version as a draft claim."""
    require(actor, "annotations.add_claim", article.workspace, "Only members of this desk can mark claims.")
    if version.article_id != article.pk:
        raise ValidationError({"version": "That version belongs to another article."})
    latest = article.versions.order_by("-number").values_list("pk", flat=True).first()
    if version.pk != latest:
        raise ValidationError(
            {"version": "The article has a newer version; reload it and select the text again."}
        )
    selectors = _selectors_from_request(
        text=version.text, exact=exact, start=start, end=end, prefix=prefix, suffix=suffix
    )
    claim = Claim.objects.create(
        workspace=article.workspace,
        article=article,
        version=version,
        exact=selectors.exact,
        prefix=selectors.prefix,
        suffix=selectors.suffix,
        start_offset=selectors.start,
        end_offset=selectors.end,
        created_by=actor,
        last_edited_by=actor,
    )
    outbox.enqueue("annotations.tasks.match_claim", claim.pk)
    # A new claim has no sources: say so, so that showing it does not ask the database.
    claim._prefetched_objects_cache = {"sources": claim.sources.none()}  # type: ignore[attr-defined]  # Django's own cache
    return claim


def _claim_bump(*, claim: Claim, actor: User, revision: int, **changes) -> None:
    """Compare-and-set on the revision: exactly one of two concurrent writers wins."""
    updated = Claim.objects.filter(pk=claim.pk, revision=revision).update(
        revision=F("revision") + 1, last_edited_by=actor, updated_at=timezone.now(), **changes
    )
    if updated != 1:
        raise ConflictError(
            "Someone else changed this claim since you opened it, so your changes were not "
            "saved. They are still in the form: copy what you need, reload the claim, and "
            "apply them again."
        )
    claim.refresh_from_db()


@dataclass
class SourceChange:
    """One row of the sources part of the editor: new (pk None), changed, or deleted."""

    pk: int | None
    fields: dict
    delete: bool = False


@as_actor
@transaction.atomic
def claim_update(
    *,
    claim: Claim,
    actor: User,
    revision: int,
    fields: dict,
    sources: Sequence[SourceChange] = (),
) -> Claim:
    """Save the editor: the claim's fields and its sources, all or nothing."""
    claim_edit_check(claim=claim, actor=actor)
    unknown = set(fields) - set(CLAIM_FIELDS)
    if unknown:
        raise ValidationError({sorted(unknown)[0]: "This field cannot be changed here."})
    validation.claim_fields_validate(fields=fields, workspace_id=claim.workspace_id)
    # Every row is checked before the first write, so a bad one changes nothing.
    existing = {s.pk: s for s in claim.sources.all()}
    writes: list[tuple[Source, bool, bool]] = []  # (source, delete, url changed)
    for change in sources:
        if change.pk is not None and change.pk not in existing:
            raise ValidationError({"sources": "A source in the form does not belong to this claim."})
        if change.delete:
            if change.pk is not None:
                writes.append((existing[change.pk], True, False))
            continue
        validation.source_fields_validate(fields=change.fields, new=change.pk is None)
        source = (existing.get(change.pk) if change.pk is not None else None) or Source(claim=claim, created_by=actor)
        old_url = source.url if source.pk else None
        for name in SOURCE_FIELDS:
            if name in change.fields:
                setattr(source, name, change.fields[name])
        source.full_clean(exclude=["claim", "created_by"])
        writes.append((source, False, old_url != source.url))

    _claim_bump(claim=claim, actor=actor, revision=revision, **fields)
    for source, delete, url_changed in writes:
        if delete:
            source.delete()
            continue
        source.save()
        if url_changed:
            source_check_enqueue(source=source)
    if "claim_reviewed" in fields:
        outbox.enqueue("annotations.tasks.match_claim", claim.pk)
    return claim


@as_actor
@transaction.atomic
def claim_delete(*, claim: Claim, actor: User, revision: int) -> None:
    claim_delete_check(claim=claim, actor=actor)
    deleted, _ = Claim.objects.filter(pk=claim.pk, revision=revision).delete()
    if not deleted:
        raise ConflictError("Someone else changed this claim since you opened it; nothing was deleted.")


@as_actor
@transaction.atomic
def claim_reattach(
    *,
    claim: Claim,
    actor: User,
    revision: int,
    exact: str,
    start: int,
    end: int,
) -> Claim:
    """Anchor an orphaned claim, or one whose words changed meaning, to a span of its
    article's current version, by hand."""
    claim_reattach_check(claim=claim, actor=actor)
    if claim.anchor_status not in NEEDS_A_PERSON:
        raise ValidationError(
            {"claim": "Only an orphaned claim, or one whose words changed meaning, can be re-attached."}
        )
    version = claim.article.versions.order_by("-number").first()
    if version is None:  # an article always has a version; say so rather than crash if not
        raise ValidationError({"claim": "The claim's article has no text to re-attach it to."})
    selectors = _selectors_from_request(
        text=version.text, exact=exact, start=start, end=end, prefix=None, suffix=None
    )
    _claim_bump(
        claim=claim, actor=actor, revision=revision,
        version=version, exact=selectors.exact, prefix=selectors.prefix, suffix=selectors.suffix,
        start_offset=selectors.start, end_offset=selectors.end,
        anchor_status=AnchorStatus.REATTACHED, anchor_score=None, anchor_previous_exact="",
    )
    return claim


@as_actor
@transaction.atomic
def claim_position_confirm(*, claim: Claim, actor: User, revision: int) -> Claim:
    """A person read the word diff of a `changed` move and confirms the claim's new
    position: it becomes a normal anchor (`confirmed`), and the trail says what changed.
    Not an edit of the claim: the verdict and who last edited it stay as they were."""
    require(actor, "annotations.confirm_position", claim, CONFIRM_POSITION_DENIED)
    if claim.anchor_status != AnchorStatus.CHANGED:
        raise ValidationError(
            {"claim": "Only a claim whose words changed meaning in a new version needs its position confirmed."}
        )
    if not isinstance(revision, int) or isinstance(revision, bool):
        raise ValidationError({"revision": "revision must be the whole number of the claim revision you read."})
    reason = (f"Confirmed the new position after the article changed: "
              f"“{claim.anchor_previous_exact}” now reads “{claim.exact}”.")[:1000]
    with audit.context(actor_id=actor.pk, reason=reason):
        matched = Claim.objects.filter(pk=claim.pk, revision=revision, anchor_status=AnchorStatus.CHANGED).update(
            anchor_status=AnchorStatus.CONFIRMED, anchor_score=None, anchor_previous_exact="",
            revision=F("revision") + 1, updated_at=timezone.now(),
        )
    if matched != 1:
        raise ConflictError("This claim changed since you opened the page. Nothing was done; reload it.")
    claim.refresh_from_db()
    return claim


def article_reanchor_claims(*, article: Article, version: ArticleVersion) -> dict[str, int]:
    """Move every claim of the article onto `version`, recording how each one moved.

    Runs inside the import's transaction. Orphans keep their old, still valid anchor.
    Re-anchoring is not an edit: it does not bump the revision a person is editing.

    The meaning-change guard: a `changed` move keeps the quote it had before (for the
    word diff) and stays `changed` through later versions until a person confirms or
    re-attaches it. An approved claim that moves `changed` or is orphaned is flagged
    (`article_changed_at`) for the reviewer queue; its verdict stays until a person acts.
    """
    counts = {"exact": 0, "fuzzy": 0, "changed": 0, "orphaned": 0}
    claims = (
        Claim.objects.select_for_update()
        .filter(article=article)
        .exclude(version=version)
        .select_related("version")
    )
    now = timezone.now()
    for claim in claims:
        old = Selectors(claim.exact, claim.prefix, claim.suffix, claim.start_offset, claim.end_offset)
        anchor = reanchor(claim.version.text, version.text, old)
        pending = claim.anchor_status == AnchorStatus.CHANGED
        status, score = anchor.status, anchor.score
        if pending and status in (AnchorStatus.EXACT, AnchorStatus.FUZZY):
            # Still waiting for a person: a later, quieter edit does not settle it.
            status, score = AnchorStatus.CHANGED, score if score is not None else claim.anchor_score
        counts[anchor.status] += 1
        flag = {}
        if (claim.state == ClaimState.APPROVED and claim.article_changed_at is None
                and status in (AnchorStatus.CHANGED, AnchorStatus.ORPHANED)):
            flag = {"article_changed_at": now}
        reason = (
            f"Version {version.number} of the article changed the claim's words: {'; '.join(anchor.reasons)}."
            if anchor.status == AnchorStatus.CHANGED else
            f"Version {version.number} of the article no longer has the claim's text."
            if anchor.status == AnchorStatus.ORPHANED else None
        )
        with audit.context(reason=reason):
            if anchor.selectors is None:
                Claim.objects.filter(pk=claim.pk).update(
                    anchor_status=AnchorStatus.ORPHANED, anchor_score=None, **flag
                )
                continue
            new = anchor.selectors
            Claim.objects.filter(pk=claim.pk).update(
                version=version,
                exact=new.exact,
                prefix=new.prefix,
                suffix=new.suffix,
                start_offset=new.start,
                end_offset=new.end,
                anchor_status=status,
                anchor_score=score,
                anchor_previous_exact=(
                    (claim.anchor_previous_exact if pending else claim.exact)
                    if status == AnchorStatus.CHANGED else ""
                ),
                **flag,
            )
    return counts
