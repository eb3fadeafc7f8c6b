"""What changed between two versions of an article, word by word (like NewsDiffs).

Paragraphs (lines) are matched first, so a long article is compared quickly and a page
shows only the paragraphs that changed, with CONTEXT unchanged paragraphs around each;
the words of a changed run of paragraphs are then compared, white space kept, so
inserted words are marked <ins> and removed ones <del>. Pure functions: nothing here
reads or writes the database; the template escapes every piece of text.
"""

import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Literal

CONTEXT = 1
TOKENS = re.compile(r"\s+|\w+(?:['’]\w+)*|[^\w\s]", re.UNICODE)

Op = Literal["same", "ins", "del"]


@dataclass(frozen=True)
class Piece:
    op: Op
    text: str


@dataclass
class Block:
    """A paragraph as shown: unchanged, or changed with its marked words; or a gap standing
    for `skipped` unchanged paragraphs."""

    pieces: list[Piece] = field(default_factory=list)
    changed: bool = False
    skipped: int = 0


@dataclass
class VersionDiff:
    blocks: list[Block]
    inserted_words: int
    removed_words: int
    changed_paragraphs: int


def _words(text: str) -> list[str]:
    return TOKENS.findall(text)


def _count(pieces: list[Piece], op: Op) -> int:
    return sum(1 for p in pieces if p.op == op for t in _words(p.text) if not t.isspace())


def word_diff(old: str, new: str) -> list[Piece]:
    """The words of `new` and the removed words of `old`, in reading order."""
    a, b = _words(old), _words(new)
    pieces: list[Piece] = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            pieces.append(Piece("same", "".join(a[i1:i2])))
            continue
        if tag in ("delete", "replace"):
            pieces.append(Piece("del", "".join(a[i1:i2])))
        if tag in ("insert", "replace"):
            pieces.append(Piece("ins", "".join(b[j1:j2])))
    return [p for p in pieces if p.text]


def version_diff(old: str, new: str, *, context: int = CONTEXT) -> VersionDiff:
    old_lines, new_lines = old.split("\n"), new.split("\n")
    paragraphs: list[Block] = []
    matcher = SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            paragraphs.extend(Block([Piece("same", line)]) for line in new_lines[j1:j2])
            continue
        # A changed run: compared word by word as one text, then split back at line ends.
        pieces = word_diff("\n".join(old_lines[i1:i2]), "\n".join(new_lines[j1:j2]))
        current = Block(changed=True)
        for piece in pieces:
            parts = piece.text.split("\n")
            for n, part in enumerate(parts):
                if n:
                    paragraphs.append(current)
                    current = Block(changed=True)
                if part:
                    current.pieces.append(Piece(piece.op, part))
        paragraphs.append(current)
    paragraphs = [p for p in paragraphs if any(piece.text.strip() for piece in p.pieces)]
    changed = [i for i, p in enumerate(paragraphs) if p.changed]
    shown = {j for i in changed for j in range(i - context, i + context + 1)}
    blocks: list[Block] = []
    skipped = 0
    for i, paragraph in enumerate(paragraphs):
        if i in shown:
            if skipped:
                blocks.append(Block(skipped=skipped))
                skipped = 0
            blocks.append(paragraph)
        else:
            skipped += 1
    if skipped:
        blocks.append(Block(skipped=skipped))
    every = [piece for p in paragraphs for piece in p.pieces]
    return VersionDiff(blocks, _count(every, "ins"), _count(every, "del"), len(changed))
