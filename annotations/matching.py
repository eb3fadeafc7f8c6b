"""Scoring two claims as claims: restatement, claimant and quote.

Pure functions (no database): the service (annotations/services/matching.py) fetches the
candidates from an index and scores them here; bench/matching.py and the tests score the
labelled pair set (tests/data/matching_pairs.jsonl) with the same code.

1. Attribution is taken out of the text before scoring: "X said (that)", "according to X",
   "X told reporters", quotation marks, and the claimant's own name; first-person pronouns
   stand for the claimant, so they go too. Who said it is compared once, by the claimant
   signal, instead of inflating (or deflating) the word overlap.
2. Three lexical scorers: IDF-weighted cosine over the restatement's words, over restatement +
   quote, and character-trigram similarity of the restatements (like pg_trgm).
3. Each score is standardised against the desk's background, i.e. unrelated pairs
   (z = (s - mean) / sd), and the z-scores are averaged: one scale, not the larger of two.
4. With the sentence-embedding model (annotations/embeddings.py) and both restatements
   embedded, the cosine of the two vectors is standardised the same way and averaged, half
   and half, with the lexical mean: the words say what is shared, the model what is meant
   ("would welcome Russian airstrikes" ~ "ready to accept Russian strikes").
5. Claimant: the same claimant adds CLAIMANT_BOOST; two different named claimants subtract
   CLAIMANT_PENALTY when the pair leans on names (both restatements name an entity). A state
   ("Russia") against a person ("Ilya Rogachev") is neither: an official speaks for the state.
6. The result goes through a logistic to 0..1 (the stored ClaimMatch.score), centred so that
   the calibrated threshold is DEFAULT_THRESHOLD with or without the model (OFFSETS); a
   desk's threshold is on that scale.
"""

from __future__ import annotations

import math
import random
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

# Added to the mean z-score when the claimants are the same person or body.
CLAIMANT_BOOST = 0.8
# Subtracted when both claimants are named, differ, and the restatements name entities.
CLAIMANT_PENALTY = 0.8
# The default threshold (0..1), calibrated on tests/data/matching_pairs.jsonl; a desk's own
# threshold replaces it once it has enough confirm/dismiss decisions (services/matching.py).
DEFAULT_THRESHOLD = 0.50
# Where the logistic is centred, per kind of score: the combined score calibrated on the pair
# set (precision 0.9) for words alone, and for words and the model, maps to DEFAULT_THRESHOLD.
OFFSETS = {"lexical": 2.0, "semantic": 1.18}

STOPWORDS = frozenset(re.split(
    r"\s+",
    """a an the and or but if of in on at to for from by with about as into onto than then that this
    these those it its it's is are was were be been being has have had do does did will would shall
    should may might can could must also just so such some any all both each more most very there
    here who whom which what when where while whether how why we us our ours you your he him his she
    her they them their i me my mine myself itself ourselves one ones now yet still only other
    against across over under up down out off again further once after before between during
    through upon because until like well actually fact""".strip(),
))
# Verbs and phrases of attribution: they say who speaks, not what is claimed.
ATTRIBUTION_WORDS = frozenset(re.split(
    r"\s+",
    """say says said saying tell tells told telling add adds added adding note notes noted noting
    stress stresses stressed emphasize emphasized emphasised announce announces announced claim
    claimed claiming insist insisted insists report reported reports according state stated
    statement reporter reporters think""".strip(),
))
NAME = r"(?:[A-Z][\w’'-]+|al-[A-Z][\w’'-]+)"
SAYS = r"(?:said|says|told|added|stressed|emphasi[sz]ed|noted|announced|insisted|claimed)"
ATTRIBUTION_PATTERNS = [
    # "Abadi said (that)", "Prime Minister Haider al-Abadi told France 24", ", said Sinirlioğlu"
    re.compile(rf"\b{NAME}(?:\s+{NAME}){{0,4}}\s+{SAYS}(?:\s+(?:on|last|this)\s+\w+)?(?:\s+that)?\b"),
    re.compile(rf",?\s*{SAYS}\s+{NAME}(?:\s+{NAME}){{0,4}}"),
    re.compile(r"\baccording to [^,.;]*", re.I),
    re.compile(r"\b(?:as )?reported by [^,.;]*", re.I),
    re.compile(r"\b(?:told|telling) (?:reporters|journalists|the press)\b", re.I),
]
QUOTES = re.compile("[\"“”„‘’«»]")
WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
FIRST_PERSON = frozenset({"i", "me", "my", "mine", "myself", "we", "us", "our", "ours", "ourselves"})
# Capitals and demonyms stand for their country, compounds are one word, and a few
# newswire synonyms are one word (asking for, striking from the air, helping).
SYNONYMS = {
    "ask": "request", "asked": "request", "asks": "request", "asking": "request", "appeal": "request",
    "seek": "request", "requests": "request", "requested": "request",
    "assistance": "help", "support": "help", "aid": "help", "assist": "help",
    "strike": "airstrike", "strikes": "airstrike", "raid": "airstrike", "raids": "airstrike",
    "center": "centre",
}
ALIASES = {
    "moscow": "russia", "kremlin": "russia", "russian": "russia", "russians": "russia",
    "baghdad": "iraq", "iraqi": "iraq", "iraqis": "iraq", "damascus": "syria", "syrian": "syria",
    "washington": "us", "american": "us", "americans": "us", "america": "us",
    "tehran": "iran", "iranian": "iran", "isil": "daesh", "isis": "daesh",
}
PHRASES = [
    (re.compile(r"\bislamic state\b", re.I), "daesh"),
    (re.compile(r"\bunited states\b", re.I), "us"),
    (re.compile(r"\bair ?(?:strikes?|raids?|attacks?)\b|\baerial attacks?\b", re.I), "airstrike"),
    (re.compile(r"\bprime minister\b|\bpremier\b", re.I), "premier"),
]
SUFFIXES = ("ations", "ation", "ing", "ed", "es", "s", "e", "ly")
NEGATIONS = frozenset({"not", "no", "never", "n't", "without"})
CAPITALISED = re.compile(r"\b[A-Z][a-z]+")


def stem(word: str) -> str:
    for suffix in SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def claimant_words(claimant: str) -> set[str]:
    """The claimant's name as words: "Haider al-Abadi" -> {"haider", "abadi"}."""
    words = set()
    for w in WORD.findall(_fold(claimant)):
        for part in w.split("-"):
            if part not in {"al", "el", "bin", "ibn", "de", "the"} and len(part) > 1:
                words.add(part)
    return words


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).replace("-", " - ")
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c)).lower()


def content_words(text: str, claimant: str = "") -> list[str]:
    """The words that carry the claim: attribution, quotation marks, the claimant's own name
    and first-person pronouns (the claimant speaking) removed; stemmed."""
    for pattern in ATTRIBUTION_PATTERNS:
        text = pattern.sub(" ", text)
    text = QUOTES.sub(" ", text)
    for pattern, replacement in PHRASES:
        text = pattern.sub(replacement, text)
    speaker = " ".join(sorted(claimant_words(claimant)))
    out: list[str] = []
    for raw in WORD.findall(_fold(text)):
        word = raw.replace("’", "'")
        if word.endswith("n't"):
            out.append("not")
            word = word[:-3]
        word = word.removesuffix("'s")
        if word == "al":
            continue
        if word in FIRST_PERSON:  # the claimant speaking
            if speaker:
                out.extend(content_words(speaker))
            continue
        word = SYNONYMS.get(word, ALIASES.get(word, word))
        if word in NEGATIONS:
            out.append("not")
        elif word not in STOPWORDS and word not in ATTRIBUTION_WORDS and len(word) > 1:
            out.append(ALIASES.get(stem(word), stem(word)))
    return out


def trigrams(text: str) -> set[str]:
    """pg_trgm-style trigrams of the words (padded with two spaces before, one after)."""
    grams: set[str] = set()
    for word in re.findall(r"[a-z0-9]+", _fold(text)):
        padded = f"  {word} "
        grams.update(padded[i : i + 3] for i in range(len(padded) - 2))
    return grams


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


@dataclass
class ClaimText:
    """One claim prepared for scoring."""

    restatement: str
    quote: str
    claimant: str
    r_words: list[str] = field(default_factory=list)
    rq_words: list[str] = field(default_factory=list)
    r_grams: set[str] = field(default_factory=set)
    speaker: set[str] = field(default_factory=set)
    names: bool = False
    # The restatement's embedding (annotations/embeddings.py), when the model is in use.
    vector: bytes | None = None

    @classmethod
    def of(cls, *, restatement: str, quote: str, claimant: str, vector: bytes | None = None) -> ClaimText:
        restatement = restatement.strip()
        r_words = content_words(restatement, claimant)
        q_words = content_words(quote, claimant)
        # No restatement yet: the quote stands in for it.
        cleaned = " ".join(r_words if restatement else q_words)
        return cls(
            restatement=restatement, quote=quote, claimant=claimant.strip(),
            r_words=r_words or q_words, rq_words=r_words + q_words, r_grams=trigrams(cleaned),
            speaker=claimant_words(claimant),
            names=bool(CAPITALISED.search(restatement[1:] if restatement else quote)),
            vector=vector if restatement else None,
        )


class Idf:
    """Inverse document frequency over a desk's paragraphs (or any documents)."""

    def __init__(self, df: Counter[str], n: int):
        self.df, self.n = df, max(1, n)

    @classmethod
    def from_documents(cls, documents: Iterable[str]) -> Idf:
        df: Counter[str] = Counter()
        n = 0
        for doc in documents:
            n += 1
            df.update(set(content_words(doc)))
        return cls(df, n)

    def weight(self, word: str) -> float:
        return math.log((self.n + 1) / (self.df.get(word, 0) + 1)) + 1.0

    def vector(self, words: Sequence[str]) -> dict[str, float]:
        tf = Counter(words)
        return {w: (1 + math.log(k)) * self.weight(w) for w, k in tf.items()}

    def rarest(self, words: Iterable[str], k: int) -> list[str]:
        return sorted(set(words), key=lambda w: (-self.weight(w), w))[:k]


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    dot = sum(v * b.get(w, 0.0) for w, v in a.items())
    na, nb = math.sqrt(sum(v * v for v in a.values())), math.sqrt(sum(v * v for v in b.values()))
    return dot / (na * nb) if na and nb else 0.0


SCORERS = ("restatement", "restatement_quote", "trigram")


def raw_scores(a: ClaimText, b: ClaimText, idf: Idf) -> dict[str, float]:
    return {
        "restatement": _cosine(idf.vector(a.r_words), idf.vector(b.r_words)),
        "restatement_quote": _cosine(idf.vector(a.rq_words), idf.vector(b.rq_words)),
        "trigram": _jaccard(a.r_grams, b.r_grams),
    }


@dataclass
class Background:
    """Mean and standard deviation of each scorer over unrelated pairs."""

    mean: dict[str, float]
    sd: dict[str, float]

    @classmethod
    def of_pairs(cls, pairs: Iterable[tuple[ClaimText, ClaimText]], idf: Idf) -> Background:
        """The embedding's background needs MIN_EMBEDDED_PAIRS pairs with both vectors; until
        then the demo desk's (EMBEDDING_MEAN, EMBEDDING_SD) stands in."""
        from annotations import embeddings

        values: dict[str, list[float]] = {name: [] for name in SCORERS}
        cosines: list[float] = []
        for a, b in pairs:
            for name, s in raw_scores(a, b, idf).items():
                values[name].append(s)
            if a.vector is not None and b.vector is not None:
                cosines.append(embeddings.cosine(a.vector, b.vector))
        if len(cosines) >= MIN_EMBEDDED_PAIRS:
            values["embedding"] = cosines
        mean, sd = {}, {}
        for name, xs in values.items():
            m = sum(xs) / len(xs) if xs else 0.0
            v = sum((x - m) ** 2 for x in xs) / (len(xs) - 1) if len(xs) > 1 else 0.0
            mean[name], sd[name] = m, max(math.sqrt(v), 0.02)
        return cls(mean, sd)

    @classmethod
    def sample(cls, claims: Sequence[ClaimText], idf: Idf, *, groups: Sequence[object] | None = None,
               size: int = 400, seed: int = 0) -> Background:
        """Random pairs of a desk's claims stand in for unrelated pairs (nearly all are);
        pairs with the same group (e.g. the same article) are skipped."""
        rng = random.Random(seed)
        pairs: list[tuple[ClaimText, ClaimText]] = []
        n = len(claims)
        for _ in range(size * 4):
            if len(pairs) >= size or n < 2:
                break
            i, j = rng.randrange(n), rng.randrange(n)
            if i != j and (groups is None or groups[i] != groups[j]):
                pairs.append((claims[i], claims[j]))
        return cls.of_pairs(pairs, idf)

    def to_json(self) -> dict:
        return {"mean": self.mean, "sd": self.sd}

    @classmethod
    def from_json(cls, data: dict) -> Background:
        return cls(dict(data["mean"]), dict(data["sd"]))


# Background of the demo desk (the 72 claims of tests/data/matching_pairs.jsonl, 400 random
# pairs from different articles): used until a desk has enough claims for its own. The
# embedding's cosine over those pairs' restatements (all-MiniLM-L6-v2):
EMBEDDING_MEAN, EMBEDDING_SD = 0.435, 0.145
MIN_EMBEDDED_PAIRS = 50
DEFAULT_BACKGROUND = Background(
    mean={"restatement": 0.108, "restatement_quote": 0.082, "trigram": 0.194, "embedding": EMBEDDING_MEAN},
    sd={"restatement": 0.117, "restatement_quote": 0.089, "trigram": 0.135, "embedding": EMBEDDING_SD},
)


@dataclass
class Score:
    score: float  # 0..1
    combined: float  # mean z-score plus the claimant adjustment
    shared: list[str]
    same_claimant: bool | None  # None: a claimant is missing
    parts: dict[str, float]


# Claimants that are a state, not a person: a capital, a demonym or the name (ALIASES).
STATES = frozenset(ALIASES.values()) - {"daesh"}


def _state(speaker: set[str]) -> bool:
    return len(speaker) == 1 and ALIASES.get(next(iter(speaker)), next(iter(speaker))) in STATES


def same_claimant(a: ClaimText, b: ClaimText) -> bool | None:
    """True when the claimants share a name (or name the same state), False when both are
    named and differ, None when one is missing or one is a state and the other a person."""
    if not a.speaker or not b.speaker:
        return None
    if a.speaker & b.speaker:
        return True
    if {ALIASES.get(w, w) for w in a.speaker} & {ALIASES.get(w, w) for w in b.speaker}:
        return True
    if _state(a.speaker) != _state(b.speaker):
        return None
    return False


def score(a: ClaimText, b: ClaimText, idf: Idf, background: Background, *,
          similarity: float | None = None) -> Score:
    """`similarity`: the cosine of the two restatements' embeddings, when both have one."""
    parts = raw_scores(a, b, idf)
    z = [(parts[name] - background.mean[name]) / background.sd[name] for name in SCORERS]
    combined = sum(z) / len(z)
    kind = "lexical"
    if similarity is None and a.vector is not None and b.vector is not None:
        from annotations import embeddings

        similarity = embeddings.cosine(a.vector, b.vector)
    if similarity is not None:
        parts["embedding"] = similarity
        semantic = (similarity - background.mean.get("embedding", EMBEDDING_MEAN)) / background.sd.get(
            "embedding", EMBEDDING_SD)
        combined, kind = (combined + semantic) / 2, "semantic"
    same = same_claimant(a, b)
    if same:
        combined += CLAIMANT_BOOST
    elif same is False and a.names and b.names:
        combined -= CLAIMANT_PENALTY
    shared = sorted(set(a.r_words) & set(b.r_words), key=lambda w: -idf.weight(w))
    return Score(
        score=round(1 / (1 + math.exp(-(combined - OFFSETS[kind]))), 4), combined=combined,
        shared=shared, same_claimant=same, parts=parts,
    )


def evaluate(labels: Sequence[int], scores: Sequence[float], threshold: float) -> dict[str, float]:
    tp = sum(1 for y, s in zip(labels, scores, strict=True) if y and s >= threshold)
    fp = sum(1 for y, s in zip(labels, scores, strict=True) if not y and s >= threshold)
    positives = sum(labels)
    return {
        "recall": tp / positives if positives else 0.0,
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "false_pairs": fp,
        "threshold": threshold,
    }


def calibrate(labels: Sequence[int], scores: Sequence[float], *, precision: float = 0.9) -> float:
    """The lowest threshold whose precision is at least `precision` (most recall)."""
    good = [t for t in set(scores) if evaluate(labels, scores, t)["precision"] >= precision]
    return min(good) if good else 1.0


def pair_set_scores(rows: Sequence[dict], paragraphs: Sequence[str], *, empty_restatements: bool = False,
                    embed: Callable[[Sequence[str]], list[bytes]] | None = None) -> tuple[list[int], list[Score]]:
    """Score a labelled pair set (tests/data/matching_pairs.jsonl rows) the way a desk holding
    those claims would: word frequencies from the articles' paragraphs, the background from
    random pairs of the set's claims from different articles. `embed` (embeddings.encode):
    the restatements' vectors join the scorers."""
    idf = Idf.from_documents(paragraphs)
    claims = {(s["article"], s["quote"], s["restatement"]): s for row in rows for s in (row["a"], row["b"])}
    vectors: dict[str, bytes] = {}
    if embed is not None and not empty_restatements:
        restatements = sorted({s["restatement"] for s in claims.values() if s["restatement"]})
        vectors = dict(zip(restatements, embed(restatements), strict=True))

    def text(side: dict) -> ClaimText:
        return ClaimText.of(restatement="" if empty_restatements else side["restatement"],
                            quote=side["quote"], claimant=side["claimant"],
                            vector=vectors.get(side["restatement"]))

    sides = list(claims.values())
    background = Background.sample([text(s) for s in sides], idf, groups=[s["article"] for s in sides], size=400)
    return [int(row["label"]) for row in rows], [score(text(row["a"]), text(row["b"]), idf, background) for row in rows]


# A restatement pair whose embeddings' cosine is this many standard deviations above the
# unrelated pairs' mean is "close in meaning" in the reason an editor reads: on the pair set,
# 84% of the same-claim pairs and 9% of the different ones.
CLOSE_IN_MEANING_Z = 1.5


def reason(claim, other, *, similarity: float | None = None) -> dict:
    """Why two claims (anything with claim_reviewed, exact, claimant) were matched, in words
    an editor reads: the telling words they share (as written), whether the claimant is the
    same, and whether the restatements are close in meaning (`similarity`: their embeddings'
    cosine, when both are stored) even where they share few words."""
    a = ClaimText.of(restatement=claim.claim_reviewed, quote=claim.exact, claimant=claim.claimant)
    b = ClaimText.of(restatement=other.claim_reviewed, quote=other.exact, claimant=other.claimant)
    shared = set(a.rq_words) & set(b.rq_words)
    words: list[str] = []
    for raw in WORD.findall(f"{other.claim_reviewed} {other.exact}"):
        key = content_words(raw)
        if key and key[0] in shared and raw.lower() not in (w.lower() for w in words):
            words.append(raw)
            shared.discard(key[0])
    close = similarity is not None and (similarity - EMBEDDING_MEAN) / EMBEDDING_SD >= CLOSE_IN_MEANING_Z
    return {"shared": words[:8], "same_claimant": same_claimant(a, b), "close_in_meaning": close}


# --- Suggesting claimant and restatement for the claim editor (issue 14) -------------------
# Title words dropped from the front of a speaker's name: "Iraqi Prime Minister Haider al-Abadi"
# -> "Haider al-Abadi".
TITLE_WORDS = frozenset(re.split(
    r"\s+",
    """iraqi russian syrian iranian american us chinese prime minister deputy defense defence foreign
    president vice senior official spokesman spokeswoman head chief general lawmaker mp the
    ministry""",
))
SPEAKER = rf"{NAME}(?:\s+{NAME}){{0,5}}"
_SPEAKER_PATTERNS = [
    # "..., said Lavrov", "” said Hakim al-Zamili" (the quote is replaced by "quote," first)
    re.compile(rf",\s*{SAYS}\s+(?P<who>{SPEAKER})"),
    # "Abadi said", "Haider al-Abadi told France 24", "Al-Zamili told reporters"
    re.compile(rf"(?P<who>{SPEAKER})\s+{SAYS}\b"),
    # "according to the Kremlin"
    re.compile(rf"\baccording to (?:the )?(?P<who>{SPEAKER})"),
]
_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+[\"”’]?|$)", re.M)
_PRONOUN_SUBJECTS = {
    "I": "{n}", "I'm": "{n} is", "I’m": "{n} is", "I've": "{n} has", "I’ve": "{n} has",
    "I'd": "{n} would", "I’d": "{n} would", "I'll": "{n} will", "I’ll": "{n} will",
    "me": "{n}", "my": "{n}'s", "My": "{n}'s", "myself": "{n}",
    "We": "{n}", "we": "{n}", "us": "{n}", "our": "{n}'s", "Our": "{n}'s",
    "We’ll": "{n} will", "we’ll": "{n} will", "We'll": "{n} will", "we'll": "{n} will",
}
_FIRST_PERSON_WORD = re.compile(r"\b(?:[Ww]e['’]ll|I['’](?:m|ve|d|ll)|I|me|my|My|myself|We|we|us|our|Our)\b")
MAX_RESTATEMENT = 75
# Quotation marks, but not apostrophes inside words ("It’s", "we’ll").
_QUOTE_MARKS = re.compile(r"[\"“”„«»]|(?<!\w)[‘’]|[‘’](?!\w)")
_WE_VERBS = {"have": "has", "are": "is", "were": "was", "do": "does", "don't": "doesn't", "don’t": "doesn’t"}


def _clean_speaker(who: str) -> str:
    words = who.split()
    while words and words[0].lower().strip("’'s") in TITLE_WORDS:
        words.pop(0)
    # Days of the week and a news agency picked up after the verb ("said Thursday") are not names.
    words = [w for w in words if w.lower() not in {"monday", "tuesday", "wednesday", "thursday",
                                                   "friday", "saturday", "sunday", "reuters"}]
    name = " ".join(words)
    return "" if name in {"", "He", "She", "They", "It"} else name


def _speaker_in(sentence: str) -> str:
    outside = re.sub(r"^[^“]*”", " quote, ", sentence)  # a quote opened in an earlier sentence
    outside = re.sub(r"[“\"][^”\"]*[”\"]?", " quote, ", outside)  # attribution sits outside the quote
    for pattern in _SPEAKER_PATTERNS:
        for m in pattern.finditer(outside):
            name = _clean_speaker(m.group("who"))
            if name:
                return name
    return ""


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", QUOTES.sub("", text)).strip().lower()


def suggest_claimant(quote: str, context_text: str) -> str:
    """Who said the quote, from the attribution in the sentence holding it, else the one after,
    else the one before (a pronoun "he said" points back to the last named speaker)."""
    sentences = [s.strip() for s in _SENTENCE.findall(context_text or "") if s.strip()]
    key = _norm(quote)[:60]
    at = next((i for i, s in enumerate(sentences) if key and key in _norm(s)), None)
    if at is None:
        return _speaker_in(quote)
    for i in (at, at + 1, at - 1):
        if 0 <= i < len(sentences):
            name = _speaker_in(sentences[i])
            if name:
                return name
    return ""


def suggest_restatement(quote: str, claimant: str) -> str:
    """A short neutral sentence: quotation marks and attribution removed, first person turned
    into the claimant, cut at a clause boundary when over MAX_RESTATEMENT characters."""
    text = _QUOTE_MARKS.sub("", quote or "")
    for pattern in ATTRIBUTION_PATTERNS[:2]:
        text = pattern.sub("", text)
    text = re.sub(r"\b(?:I|we) think(?: that)?\s+", "", text)
    text = re.sub(r"\s+", " ", text).strip(" ,;:-–")
    short = claimant.split()[-1] if claimant else ""
    if short:
        text = re.sub(r"\b([Ww]e) (have|are|were|do|don['’]t)\b",
                      lambda m: f"{m.group(1)} {_WE_VERBS[m.group(2)]}", text)
        text = _FIRST_PERSON_WORD.sub(lambda m: _PRONOUN_SUBJECTS[m.group(0)].format(n=short), text)
    if len(text) > MAX_RESTATEMENT:
        for sep in (", but ", "; ", ", which ", ", if ", " but ", ", "):
            head = text.split(sep)[0]
            if 20 <= len(head) <= MAX_RESTATEMENT:
                text = head
                break
    text = text.rstrip(" ,;:.")
    return (text[:1].upper() + text[1:] + ".") if text else ""


def suggest_claimant_and_restatement(quote: str, context_text: str) -> tuple[str, str]:
    """(claimant, restatement) suggested for the claim editor; either may be ""."""
    claimant = suggest_claimant(quote, context_text)
    return claimant, suggest_restatement(quote, claimant)
