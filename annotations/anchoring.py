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
3. `orphaned`: otherwise. Orphans keep their old anchor and wait for a person.

Scoring follows Hypothesis' quote matcher in spirit (quote weighs most, then context,
then position) but, unlike it, has a floor: below it nothing is attached.
"""

from dataclasses import dataclass

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
    status: str  # "exact" | "fuzzy" | "orphaned"
    selectors: Selectors | None
    score: float | None = None


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


def _mapped_span(old_text: str, new_text: str, old: Selectors) -> tuple[int, int]:
    dmp = diff_match_patch()
    dmp.Diff_Timeout = 2.0
    diffs = dmp.diff_main(old_text, new_text, False)
    dmp.diff_cleanupSemantic(diffs)
    return dmp.diff_xIndex(diffs, old.start), dmp.diff_xIndex(diffs, old.end)


def reanchor(old_text: str, new_text: str, old: Selectors) -> Anchor:
    expected_start, expected_end = _mapped_span(old_text, new_text, old)

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
    if best is not None:
        start = best[1]
        return Anchor("exact", selectors_for(new_text, start, start + len(old.exact)))

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
        return Anchor("fuzzy", selectors_for(new_text, start, end), round(score, 4))
    return Anchor("orphaned", None, round(score, 4))
