"""Check-worthiness: which sentences of an article make a claim worth checking.

An explainable scorer, not a model: the text is split into sentences (with their
offsets in code points, as claims count them), every sentence gets a list of the
features that fired with what each contributed, and the score is their sum. The
weights are all in WEIGHTS below, each with the reason it is there.

Pure Python, cached per text (an LRU cache in each process): the reader computes the
suggestions when it shows a version, a few milliseconds for a news article the first time
and microseconds after (see README), so nothing is stored and no query is added.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

# feature: (weight per occurrence, cap on occurrences counted, reason)
WEIGHTS: dict[str, tuple[float, int, str]] = {
    "number": (1.5, 2, "Figures, quantities and dates can be checked against records."),
    "comparison": (1.0, 1, "Comparisons (more than, the first, greater) assert a measurable ranking."),
    "causal": (1.0, 1, "Cause and effect (because, led to, due to) is a claim that evidence can test."),
    "attribution": (1.5, 1, "Someone said it: who said what, when, can be verified and matters."),
    "quotation": (1.0, 1, "Quoted words can be checked against the record of what was said."),
    "entity": (0.5, 3, "Named people, places and bodies make a statement specific enough to check."),
    "event": (1.0, 1, "A reported act (launched, announced, formed, captured) is a checkable event."),
    "hedge": (-0.5, 1, "Hedges and predictions (may, could, will) talk about a future nobody can check yet."),
    "fragment": (-3.0, 1, "Headings, captions and page furniture under six words rarely state a claim."),
    "caption": (-3.0, 1, "A line ending in a photo credit describes a picture, not the story."),
    "repeat": (-3.0, 1, "A line already seen above (a caption shown twice) needs checking only once."),
    "opinion": (-1.0, 1, "First-person views and wishes (I think, we want) are opinions, not facts."),
}

_LABELS = {
    "number": "numbers or dates",
    "comparison": "a comparison",
    "causal": "cause and effect",
    "attribution": "attributed to someone",
    "quotation": "a quotation",
    "entity": "named people or places",
    "event": "a reported event",
    "hedge": "a hedge",
    "fragment": "a fragment",
    "caption": "a caption",
    "repeat": "a repeat",
    "opinion": "an opinion",
}

# fmt: off
_ABBREVIATIONS = frozenset((
    "mr", "mrs", "ms", "dr", "prof", "gen", "lt", "col", "capt", "sgt", "maj", "adm", "gov", "sen", "rep", "st",
    "jr", "sr", "inc", "co", "corp", "ltd", "no", "vs", "etc", "e.g", "i.e", "u.s", "u.k", "u.n", "approx", "est",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
))
# fmt: on
# A sentence ends at . ! ? (and any closing quotes or brackets after it), before white space.
_END = re.compile(r"[.!?…]+[\"”’)\]]*(?=\s)")
_WORD_BEFORE = re.compile(r"([\w.]+)$")

_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred|"
    r"hundreds|thousand|thousands|million|millions|billion|billions|dozens?|half|quarter|percent|per cent"
)
_MONTHS = r"January|February|March|April|May|June|July|August|September|October|November|December"
_PATTERNS: dict[str, re.Pattern[str]] = {
    "number": re.compile(
        rf"\d+(?:[.,]\d+)*(?:st|nd|rd|th)?%?|\b(?:{_NUMBER_WORDS})\b|(?-i:\b(?:{_MONTHS})\b)|"
        r"\b(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|yesterday|today)\b",
        re.IGNORECASE,
    ),
    "comparison": re.compile(
        r"\b(?:more|less|fewer|greater|larger|smaller|higher|lower|bigger|better|worse|most|least|"
        r"first|largest|biggest|highest|lowest|major)\b|\b\w+er than\b",
        re.IGNORECASE,
    ),
    "causal": re.compile(
        r"\b(?:because|led to|lead to|leads to|caused?|causes|due to|as a result|result(?:ed|s)? in|"
        r"therefore|so that|in a bid to|following|after)\b",
        re.IGNORECASE,
    ),
    "attribution": re.compile(
        r"\b(?:said|says|say|told|tells|according to|announced|announces|reported|claimed|claiming|"
        r"stated|insisted|added|emphasi[sz]ed|stressed|confirmed|denied|expressed|complained|urging|"
        r"cautioned|ruled out)\b",
        re.IGNORECASE,
    ),
    "quotation": re.compile(r"[\"“”]"),
    "event": re.compile(
        r"\b(?:launch(?:ed|es)|announced|formed|captured|appointed|sent|started|began|carried out|"
        r"destroyed|hit|met|meets|renewed|relayed|won|received|receiving|signed|killed|attacked|"
        r"expanded|conducting|been conducting)\b",
        re.IGNORECASE,
    ),
    "hedge": re.compile(
        r"\b(?:will|would|could|may|might|should|expected to|plans? to|planning to|likely|unlikely|"
        r"possibility|possibly|perhaps|probably|ll)\b",
        re.IGNORECASE,
    ),
    "opinion": re.compile(
        r"\b(?:I think|he thinks|she thinks|I am positive|we want|I would like|I believe|in my view)\b", re.IGNORECASE
    ),
    "caption": re.compile(r"\((?:[^()]*\b(?:photo|screengrab|via AP|via Reuters|file)\b[^()]*)\)\s*$", re.IGNORECASE),
}
_CAPITALISED = re.compile(r"(?<![\w’'])[A-Z][\w’'-]*")
_FUNCTION_WORDS = {"I", "The", "A", "An", "But", "And", "If", "In", "On", "We", "It", "He", "She", "They", "This"}


@dataclass(frozen=True)
class Feature:
    name: str
    count: int
    contribution: float
    reason: str
    matches: tuple[str, ...]


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    text: str
    score: float = 0.0
    features: tuple[Feature, ...] = field(default=())

    def why(self) -> str:
        """What makes it worth checking, in words: the features that added to the score."""
        return ", ".join(_LABELS[f.name] for f in self.features if f.contribution > 0) or "nothing"

    def explain(self) -> str:
        parts = [f"{f.name} {f.contribution:+.1f} ({', '.join(f.matches[:3])})" for f in self.features]
        return f"{self.score:.1f}: " + ("; ".join(parts) or "no feature")


def _is_abbreviation(text: str, at: int) -> bool:
    """Whether the full stop at `at` ends an abbreviation or an initial (Gen., J.), not a sentence."""
    if text[at] != ".":
        return False
    match = _WORD_BEFORE.search(text[:at])
    if not match:
        return False
    word = match.group(1)
    return word.lower().strip(".") in _ABBREVIATIONS or (len(word) == 1 and word.isupper())


def _quote_depths(line: str) -> list[int]:
    """The quotation depth after each character (curly quotes nest; straight ones toggle)."""
    depth, straight, out = 0, False, []
    for ch in line:
        if ch == "“":
            depth += 1
        elif ch == "”":
            depth = max(0, depth - 1)
        elif ch == '"':
            straight = not straight
        out.append(depth + int(straight))
    return out


def split_sentences(text: str) -> list[Sentence]:
    """Sentences with their offsets: every line is at least one sentence; inside a line a
    sentence ends at . ! ? before white space, except after an abbreviation or an initial,
    before a lower-case word or a bracket (a caption's credit), or inside a quotation (when
    the line's quotes are balanced), so that a quoted passage of several sentences stays
    whole with its attribution."""
    sentences: list[Sentence] = []
    offset = 0
    for line in text.split("\n"):
        depths = _quote_depths(line)
        balanced = not depths or depths[-1] == 0
        cuts = [0]
        for match in _END.finditer(line):
            end = match.end()
            rest = line[end:].lstrip()
            if not rest or _is_abbreviation(line, match.start()) or rest[0].islower() or rest[0] == "(":
                continue
            if balanced and depths[end - 1] > 0:
                continue
            cuts.append(end)
        cuts.append(len(line))
        for a, b in itertools.pairwise(cuts):
            piece = line[a:b]
            stripped = piece.strip()
            if not stripped:
                continue
            start = offset + a + (len(piece) - len(piece.lstrip()))
            sentences.append(Sentence(start, start + len(stripped), stripped))
        offset += len(line) + 1
    return sentences


def _entities(sentence: str) -> list[str]:
    words = list(_CAPITALISED.finditer(sentence))
    found = []
    for m in words:
        before = sentence[: m.start()].rstrip()
        if not before or before[-1] in '.!?“"':  # the sentence's (or quote's) first word
            continue
        if m.group() not in _FUNCTION_WORDS:
            found.append(m.group())
    return found


def score_sentence(sentence: Sentence, *, repeated: bool = False) -> Sentence:
    """The sentence with its features and score; `repeated`: the same text came earlier."""
    text = sentence.text
    counts: dict[str, list[str]] = {name: [m.group() for m in p.finditer(text)] for name, p in _PATTERNS.items()}
    counts["entity"] = _entities(text)
    counts["fragment"] = ["short"] if len(text.split()) < 6 else []
    counts["repeat"] = ["repeated"] if repeated else []
    features = []
    for name, (weight, cap, reason) in WEIGHTS.items():
        matches = counts.get(name, [])
        if not matches:
            continue
        n = min(len(matches), cap)
        features.append(Feature(name, len(matches), weight * n, reason, tuple(matches)))
    score = round(sum(f.contribution for f in features), 2)
    return Sentence(sentence.start, sentence.end, sentence.text, score, tuple(features))


@lru_cache(maxsize=128)
def _scored(text: str) -> tuple[Sentence, ...]:
    seen: set[str] = set()
    out = []
    for s in split_sentences(text):
        out.append(score_sentence(s, repeated=s.text in seen))
        seen.add(s.text)
    return tuple(out)


def score_text(text: str) -> list[Sentence]:
    """Every sentence of the text, in order, scored (cached per text)."""
    return list(_scored(text))


def top_sentences(text: str, *, share: float = 0.3) -> list[Sentence]:
    """The best `share` of the sentences (at least one, only those scoring above zero),
    highest first; ties keep text order."""
    scored = score_text(text)
    if not scored:
        return []
    k = max(1, math.ceil(share * len(scored)))
    ranked = sorted(scored, key=lambda s: (-s.score, s.start))
    return [s for s in ranked[:k] if s.score > 0]


def suggestions(text: str, covered: Iterable[tuple[int, int]], *, share: float = 0.3) -> list[Sentence]:
    """The reader's suggested sentences: the top `share`, minus those overlapping a claim
    (`covered`: its start and end offsets), in text order."""
    spans = list(covered)
    return sorted(
        (s for s in top_sentences(text, share=share) if not any(a < s.end and s.start < b for a, b in spans)),
        key=lambda s: s.start,
    )
