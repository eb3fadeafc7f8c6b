"""Selectors and re-anchoring. Pure functions over strings; offsets are code points.

When an article gets a new version, each claim is looked for in the new text:

1. `exact`: the quote occurs in the new text, and the occurrence chosen is the one
   whose surrounding text (prefix/suffix) and position agree best with the old one.
   An occurrence with neither its context nor its position in common is not taken:
   the same words elsewhere in the article are another statement.
2. `fuzzy`: the old span is carried through a character diff of the two versions
   (diff-match-patch), and the text now at that place is compared with the quote.
   Accepted only when the combined score reaches FUZZY_THRESHOLD and the quote itself
   is at least QUOTE_THRESHOLD similar; the score is stored with the claim.
3. `changed`: a fuzzy move whose word diff touches what carries a claim's meaning
   (numbers and number words, dates, negations, comparatives, capitalised names; see
   `meaning_changes`). It moves like a fuzzy one, with its score, but a person confirms
   the new position or re-attaches it: "has not discussed" -> "has discussed" is not a
   typo fix.
4. `orphaned`: otherwise. Orphans keep their old anchor and wait for a person.

Before step 1 finds nothing, the search is repeated on both texts normalised for
comparison (`normalise`: curly and straight quotes and primes alike, every Unicode space
a space, runs of white space one space), so a cosmetic edit stays `exact`; the offsets
are mapped back to the new text as it is.

Scoring follows Hypothesis' quote matcher in spirit (quote weighs most, then context,
then position) but, unlike it, has a floor: below it nothing is attached.
"""

import re
import unicodedata
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from functools import lru_cache

from diff_match_patch import diff_match_patch

CONTEXT_CHARS = 32
# Combined score in [0, 1] a fuzzy anchor needs. 0.75 accepts typo fixes and small
# rewordings inside a quote and rejects a span whose words were mostly replaced.
FUZZY_THRESHOLD = 0.75
QUOTE_THRESHOLD = 0.8
# An exact occurrence elsewhere is taken only with this much context in common.
EXACT_CONTEXT_THRESHOLD = 0.5

QUOTE_WEIGHT, PREFIX_WEIGHT, SUFFIX_WEIGHT, POSITION_WEIGHT = 0.7, 0.12, 0.12, 0.06


@dataclass(frozen=True)
class Selectors:
    exact: str
    prefix: str
    suffix: str
    start: int
    end: int


@dataclass(frozen=True)
class Anchor:
    status: str  # "exact" | "fuzzy" | "changed" | "orphaned"
    selectors: Selectors | None
    score: float | None = None
    # For `changed`: what in the word diff touches the meaning ("negation: not", ...).
    reasons: tuple[str, ...] = field(default=())


def selectors_for(text: str, start: int, end: int) -> Selectors:
    return Selectors(
        exact=text[start:end],
        prefix=text[max(0, start - CONTEXT_CHARS) : start],
        suffix=text[end : end + CONTEXT_CHARS],
        start=start,
        end=end,
    )


def trim_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink [start, end) so it neither starts nor ends with white space."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def similarity(a: str, b: str) -> float:
    """1 - normalised edit distance; 1.0 for equal strings (two empty ones included)."""
    if a == b:
        return 1.0
    longest = max(len(a), len(b))
    dmp = diff_match_patch()
    diffs = dmp.diff_main(a, b, False)
    return max(0.0, 1.0 - dmp.diff_levenshtein(diffs) / longest)


def _context_score(old: Selectors, text: str, start: int, end: int) -> tuple[float, float]:
    prefix = text[max(0, start - len(old.prefix)) : start]
    suffix = text[end : end + len(old.suffix)]
    return similarity(old.prefix, prefix), similarity(old.suffix, suffix)


def _position_score(expected: int, actual: int, length: int) -> float:
    return max(0.0, 1.0 - abs(expected - actual) / max(length, 1))


@lru_cache(maxsize=4)
def _diffs(old_text: str, new_text: str) -> tuple[tuple[int, str], ...]:
    """The character diff of two versions, computed once for all the claims of an article."""
    dmp = diff_match_patch()
    dmp.Diff_Timeout = 2.0
    diffs = dmp.diff_main(old_text, new_text, False)
    dmp.diff_cleanupSemantic(diffs)
    return tuple(diffs)


def _mapped_span(old_text: str, new_text: str, old: Selectors) -> tuple[int, int]:
    dmp = diff_match_patch()
    diffs = list(_diffs(old_text, new_text))
    return dmp.diff_xIndex(diffs, old.start), dmp.diff_xIndex(diffs, old.end)


def _exact_start(old_text: str, new_text: str, old: Selectors, expected_start: int) -> int | None:
    """Where the quote occurs in the new text with its context or at its mapped place."""
    best: tuple[float, int] | None = None
    position = new_text.find(old.exact)
    while position != -1:
        prefix_score, suffix_score = _context_score(old, new_text, position, position + len(old.exact))
        context = (prefix_score + suffix_score) / 2
        at_mapped_place = position == expected_start
        if context >= EXACT_CONTEXT_THRESHOLD or at_mapped_place:
            rank = context + _position_score(expected_start, position, len(new_text))
            if best is None or rank > best[0]:
                best = (rank, position)
        position = new_text.find(old.exact, position + 1)
    return None if best is None else best[1]


def _normalised_exact(old_text: str, new_text: str, old: Selectors) -> Selectors | None:
    """The exact search again, on both texts normalised; the span mapped back to new_text."""
    norm_old, old_positions = _normalised(old_text)
    norm_new, new_positions = _normalised(new_text)
    start, end = bisect_left(old_positions, old.start), bisect_left(old_positions, old.end)
    if start >= end:
        return None
    norm_selectors = selectors_for(norm_old, start, end)
    expected_start, _ = _mapped_span(norm_old, norm_new, norm_selectors)
    found = _exact_start(norm_old, norm_new, norm_selectors, expected_start)
    if found is None:
        return None
    new_start, new_end = trim_span(
        new_text, new_positions[found], new_positions[found + len(norm_selectors.exact) - 1] + 1
    )
    if new_start >= new_end:
        return None
    return selectors_for(new_text, new_start, new_end)


def reanchor(old_text: str, new_text: str, old: Selectors) -> Anchor:
    expected_start, expected_end = _mapped_span(old_text, new_text, old)

    found = _exact_start(old_text, new_text, old, expected_start)
    if found is not None:
        return Anchor("exact", selectors_for(new_text, found, found + len(old.exact)))
    cosmetic = _normalised_exact(old_text, new_text, old)
    if cosmetic is not None:
        return Anchor("exact", cosmetic)

    start, end = trim_span(new_text, expected_start, expected_end)
    if start >= end:
        return Anchor("orphaned", None)
    quote_score = similarity(old.exact, new_text[start:end])
    prefix_score, suffix_score = _context_score(old, new_text, start, end)
    score = (
        QUOTE_WEIGHT * quote_score
        + PREFIX_WEIGHT * prefix_score
        + SUFFIX_WEIGHT * suffix_score
        + POSITION_WEIGHT * _position_score(expected_start, start, len(new_text))
    )
    if quote_score >= QUOTE_THRESHOLD and score >= FUZZY_THRESHOLD:
        new = selectors_for(new_text, start, end)
        reasons = meaning_changes(old.exact, new.exact, old_prefix=old.prefix, new_prefix=new.prefix)
        if reasons:
            return Anchor("changed", new, round(score, 4), reasons)
        return Anchor("fuzzy", new, round(score, 4))
    return Anchor("orphaned", None, round(score, 4))


# --- Normalisation for comparison ---------------------------------------------------

SINGLE_QUOTES = "\u2018\u2019\u201a\u201b\u2032\u2035\u02bc`\u00b4"
DOUBLE_QUOTES = "\u201c\u201d\u201e\u201f\u2033\u2036"
# Invisible characters a CMS adds or drops (soft hyphen, zero-width space, word joiner, BOM).
INVISIBLE = "\u00ad\u200b\u2060\ufeff"
_FOLD = {**{ord(c): "'" for c in SINGLE_QUOTES}, **{ord(c): '"' for c in DOUBLE_QUOTES}}


@lru_cache(maxsize=8)
def _normalised(text: str) -> tuple[str, tuple[int, ...]]:
    folded, positions = normalise(text)
    return folded, tuple(positions)


def normalise(text: str) -> tuple[str, list[int]]:
    """`text` as compared: quote styles and primes folded to ' and ", every Unicode space
    a space and each run of white space one space, invisible characters dropped.

    Returns the normalised text and, for each of its characters, its offset in `text`
    (plus len(text) at the end), so a span found in the one maps back to the other.
    """
    out: list[str] = []
    positions: list[int] = []
    in_space = False
    for i, ch in enumerate(text):
        if ch in INVISIBLE:
            continue
        if ch.isspace() or unicodedata.category(ch) == "Zs":
            if in_space:
                continue
            in_space = True
            out.append(" ")
        else:
            in_space = False
            out.append(ch.translate(_FOLD))
        positions.append(i)
    positions.append(len(text))
    return "".join(out), positions


def fold(text: str) -> str:
    return normalise(text)[0]


# --- What a change of words does to the meaning -------------------------------------

def _vocabulary(words: str) -> frozenset[str]:
    return frozenset(words.split())


NUMBER_WORDS = _vocabulary(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty "
    "ninety hundred hundreds thousand thousands million millions billion billions trillion "
    "dozen dozens half quarter twice double triple percent first second third once"
)
DATE_WORDS = _vocabulary(
    "january february march april june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec monday tuesday wednesday thursday friday "
    "saturday sunday today yesterday tomorrow"
)
NEGATIONS = _vocabulary("not no never without nobody nothing none neither nor nowhere cannot")
COMPARATIVES = _vocabulary(
    "more less fewer most least than bigger biggest larger largest smaller smallest higher highest "
    "lower lowest greater greatest better best worse worst longer longest shorter shortest older "
    "oldest younger youngest newer newest stronger strongest weaker weakest faster fastest slower "
    "slowest earlier earliest later latest cheaper cheapest richer richest poorer poorest"
)
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_TOKEN = re.compile(r"\S+")
_SENTENCE_END = ".!?\u2026:;\n"
_OPENERS = "\"'([{\u00ab-\u2013\u2014"


def _at_sentence_start(context: str, position: int) -> bool:
    i = position - 1
    while i >= 0 and (context[i].isspace() or context[i] in _OPENERS):
        if context[i] == "\n":
            return True
        i -= 1
    return i < 0 or context[i] in _SENTENCE_END


def _words(tokens: list[re.Match], context: str, offset: int) -> list[tuple[str, bool]]:
    """Each word of the tokens, with whether it is capitalised mid-sentence (a name).
    `context` is the prefix and the quote; the quote starts at `offset` in it."""
    out = []
    for token in tokens:
        for word in _WORD.finditer(token.group()):
            text = word.group()
            at = offset + token.start() + word.start()
            name = text[0].isupper() and text != "I" and not _at_sentence_start(context, at)
            out.append((text, name))
    return out


def _edit_distance(a: str, b: str) -> int:
    dmp = diff_match_patch()
    return dmp.diff_levenshtein(dmp.diff_main(a, b, False))


def _spelling_fix(a: str, b: str) -> bool:
    """A name respelt rather than replaced: letters swapped ("Daseh" -> "Daesh") or one
    letter changed in a long name ("Roreign" -> "Foreign"); "Iran" -> "Iraq" is not."""
    a, b = a.lower(), b.lower()
    if len(a) >= 4 and sorted(a) == sorted(b):
        return True
    return min(len(a), len(b)) >= 6 and _edit_distance(a, b) == 1


def _respelt(gone: list[tuple[str, bool]], came: list[tuple[str, bool]]) -> bool:
    """Words joined or split and respelt ("Iraqgovernment" -> "Iraqi government"), with
    nothing but names among them: a typo fix. So is a word whose letters were swapped
    ("gerater" -> "greater"), whatever it is, unless it has digits."""
    before, after = "".join(w for w, _ in gone), "".join(w for w, _ in came)
    if (len(before) >= 5 and sorted(before.lower()) == sorted(after.lower())
            and not any(ch.isdigit() for ch in before)):
        return True
    if any(_reason(word, False) for word, _ in gone + came):
        return False
    return _spelling_fix(before, after)


def _reason(word: str, name: bool) -> str | None:
    lower = word.lower()
    if any(ch.isdigit() for ch in word):
        return f"number: {word}"
    if lower in NUMBER_WORDS:
        return f"number word: {word}"
    if lower in DATE_WORDS or (word == "May"):
        return f"date: {word}"
    if lower in NEGATIONS or lower.endswith("n't"):
        return f"negation: {word}"
    if lower in COMPARATIVES:
        return f"comparison: {word}"
    if name:
        return f"name: {word}"
    return None


@dataclass(frozen=True)
class WordDiff:
    """A quote's words before and after, as runs: ("=", text), ("-", removed), ("+", inserted)."""

    runs: tuple[tuple[str, str], ...]
    reasons: tuple[str, ...]


def word_diff(old: str, new: str, *, old_prefix: str = "", new_prefix: str = "") -> WordDiff:
    """Words removed and inserted between two quotes (compared normalised, shown as they
    are), and which of them carry meaning. A prefix says whether a quote's first word
    starts a sentence (a capital there is no name)."""
    old_context, new_context = fold(old_prefix) + " ", fold(new_prefix) + " "
    old_folded, new_folded = fold(old), fold(new)
    old_tokens = list(_TOKEN.finditer(old_folded))
    new_tokens = list(_TOKEN.finditer(new_folded))
    old_shown, new_shown = old.split(), new.split()
    if len(old_shown) != len(old_tokens) or len(new_shown) != len(new_tokens):  # invisible-only tokens
        old_shown, new_shown = [t.group() for t in old_tokens], [t.group() for t in new_tokens]
    matcher = SequenceMatcher(None, [t.group() for t in old_tokens], [t.group() for t in new_tokens],
                              autojunk=False)
    runs: list[tuple[str, str]] = []
    removed: list[tuple[str, bool]] = []
    added: list[tuple[str, bool]] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            runs.append(("=", " ".join(new_shown[j1:j2])))
            continue
        gone = _words(old_tokens[i1:i2], old_context + old_folded, len(old_context))
        came = _words(new_tokens[j1:j2], new_context + new_folded, len(new_context))
        if i2 > i1:
            runs.append(("-", " ".join(old_shown[i1:i2])))
        if j2 > j1:
            runs.append(("+", " ".join(new_shown[j1:j2])))
        if gone and came and _respelt(gone, came):
            continue
        removed += gone
        added += came
    return WordDiff(tuple(runs), _meaning_reasons(removed, added))


def _meaning_reasons(removed: list[tuple[str, bool]], added: list[tuple[str, bool]]) -> tuple[str, ...]:
    # A word on both sides (moved, or only its punctuation changed) changed nothing.
    common = Counter(w.lower() for w, _ in removed) & Counter(w.lower() for w, _ in added)
    left: list[tuple[str, bool]] = []
    right: list[tuple[str, bool]] = []
    for words, out in ((removed, left), (added, right)):
        budget = Counter(common)
        for word, name in words:
            if budget[word.lower()] > 0:
                budget[word.lower()] -= 1
            else:
                out.append((word, name))
    # A name respelt is a typo fix, on both sides.
    for a in list(left):
        b = next((b for b in right if a[1] and b[1] and _spelling_fix(a[0], b[0])), None)
        if b is not None:
            left.remove(a)
            right.remove(b)
    reasons = []
    for sign, words in (("-", left), ("+", right)):
        for word, name in words:
            reason = _reason(word, name)
            if reason is not None:
                reasons.append(f"{reason} ({'removed' if sign == '-' else 'inserted'})")
    return tuple(reasons)


def meaning_changes(old: str, new: str, *, old_prefix: str = "", new_prefix: str = "") -> tuple[str, ...]:
    """Why a move from quote `old` to `new` may change what the claim says; () if nothing."""
    return word_diff(old, new, old_prefix=old_prefix, new_prefix=new_prefix).reasons
