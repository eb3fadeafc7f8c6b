"""Suggested check-worthy sentences (checkworthiness.py): dismissing one hides it in the
reader for everyone on the desk, on that version of the article; restoring it undoes that.

A dismissal is a hint, not part of the record: its table has no audit trigger, but the row
keeps who dismissed the sentence. Both writes are idempotent, so a repeated click or two
editors dismissing the same sentence at once is not an error.
"""

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from annotations import checkworthiness
from annotations.models import ArticleVersion, SuggestionDismissal
from annotations.permissions import require

DISMISS_DENIED = "Only members of this desk can dismiss suggested sentences."
NOT_A_SUGGESTION = "That sentence is not one of this version's suggestions; reload the article and try again."
NOT_AN_OFFSET = "Give the sentence's {edge} as a whole number of characters from the start of the text."


def _offset(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError({field: NOT_AN_OFFSET.format(edge=field)})
    return value


def suggestion_dismiss(
    *, version: ArticleVersion, start: object, end: object, actor: User
) -> SuggestionDismissal:
    """Stop suggesting the sentence [start, end) of this version to anyone on the desk.
    Only the version's current suggestions can be dismissed; dismissing one again returns
    the first dismissal (and who made it)."""
    require(actor, "annotations.dismiss_suggestion", version.article.workspace, DISMISS_DENIED)
    start, end = _offset(start, "start"), _offset(end, "end")
    suggested = {(s.start, s.end) for s in checkworthiness.top_sentences(version.text)}
    if (start, end) not in suggested:
        raise ValidationError({"start": NOT_A_SUGGESTION})
    # get_or_create inserts in a savepoint and reads the row again if a concurrent
    # dismissal won the unique index (dismissal_unique): never a duplicate, never an error.
    dismissal, _ = SuggestionDismissal.objects.get_or_create(
        version=version, start=start, end=end, defaults={"dismissed_by": actor}
    )
    return dismissal


def suggestion_restore(*, version: ArticleVersion, start: object, end: object, actor: User) -> bool:
    """Suggest the sentence [start, end) again (undo a dismissal). Whether a dismissal was
    removed; restoring a sentence nobody dismissed changes nothing."""
    require(actor, "annotations.dismiss_suggestion", version.article.workspace, DISMISS_DENIED)
    start, end = _offset(start, "start"), _offset(end, "end")
    removed, _ = SuggestionDismissal.objects.filter(version=version, start=start, end=end).delete()
    return removed > 0
