"""Server-side highlighting: the article text split once at every claim boundary.

Each piece of text becomes one <span> that knows its code-point offset (data-s) and
the claims covering it (data-claims), so overlapping and nested claims need no nested
wrapping, and the browser can turn a DOM selection back into code points.
"""

from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe


@dataclass(frozen=True)
class Mark:
    claim_id: int
    start: int
    end: int
    color: str
    state: str


def render_highlights(text: str, marks: list[Mark]) -> SafeString:
    length = len(text)
    starts: dict[int, list[Mark]] = {}
    ends: dict[int, list[Mark]] = {}
    for mark in marks:
        if 0 <= mark.start < mark.end <= length:
            starts.setdefault(mark.start, []).append(mark)
            ends.setdefault(mark.end, []).append(mark)
    boundaries = sorted({0, length, *starts, *ends})

    active: dict[int, Mark] = {}
    out: list[str] = []
    for a, b in zip(boundaries, boundaries[1:]):
        for mark in ends.get(a, ()):
            active.pop(mark.claim_id, None)
        for mark in starts.get(a, ()):
            active[mark.claim_id] = mark
        piece = escape(text[a:b])
        if not active:
            out.append(f'<span class="seg" data-s="{a}">{piece}</span>')
            continue
        # Outermost first; the innermost (shortest) claim gives the colour and state.
        covering = sorted(active.values(), key=lambda m: (m.start, -m.end, m.claim_id))
        inner = min(covering, key=lambda m: (m.end - m.start, -m.start))
        ids = " ".join(str(m.claim_id) for m in covering)
        out.append(
            f'<span class="seg hl st-{inner.state}{" multi" if len(covering) > 1 else ""}" '
            f'data-s="{a}" data-claims="{ids}" style="--hl:{inner.color}">{piece}</span>'
        )
    return mark_safe("".join(out))
