"""Server-side highlighting: the article text split once at every claim boundary.

Each piece of text becomes one <span> that knows its code-point offset (data-s) and
the claims covering it (data-claims), so overlapping and nested claims need no nested
wrapping, and the browser can turn a DOM selection back into code points.
"""

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

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
    for a, b in itertools.pairwise(boundaries):
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
            f'data-s="{a}" data-claims="{ids}" data-hl="{inner.color}">{piece}</span>'
        )
    return mark_safe("".join(out))


def render_claim_items(rows: Sequence[Mapping[str, Any]], *, edit_url_template: str, unrated_color: str) -> SafeString:
    """The side panel's list, one <li> per claim row (see selectors.article_reader).

    Built here rather than in a template loop: at 1,000 claims the template engine
    alone took most of the page's time budget. Every user-typed value is escaped.
    """
    from annotations.models import ClaimState

    state_labels = dict(ClaimState.choices)
    edit_base = edit_url_template.removesuffix("0/")  # ".../claims/0/" -> ".../claims/"
    out = []
    for c in rows:
        pk, exact = c["id"], c["exact"]
        color = c["rating__color"] or unrated_color
        rating = escape(c["rating__name"]) if c["rating__name"] else "Not rated"
        full_name = f'{c["created_by__first_name"]} {c["created_by__last_name"]}'.strip()
        author = escape(full_name or c["created_by__username"])
        quote = escape(exact if len(exact) <= 140 else exact[:139] + "…")
        fuzzy = (
            f' <span class="badge" title="Re-anchored to similar text">fuzzy {c["anchor_score"]:.2f}</span>'
            if c["anchor_status"] == "fuzzy" else ""
        )
        out.append(
            f'<li class="claim-item st-{c["state"]}" id="claim-{pk}" data-claim="{pk}" tabindex="-1">'
            f'<button type="button" class="claim-open" data-claim="{pk}">'
            f'<span class="swatch" data-hl="{color}"></span><q class="claim-quote">{quote}</q></button>'
            f'<div class="claim-details" hidden><dl>'
            f'<dt>Restatement</dt><dd>{escape(c["claim_reviewed"]) or "—"}</dd>'
            f"<dt>Rating</dt><dd>{rating}</dd>"
            f'<dt>State</dt><dd><span class="badge state">{state_labels[c["state"]]}</span>{fuzzy}</dd>'
            f'<dt>Rationale</dt><dd class="rationale" data-testid="rationale">{escape(c["rationale"]) or "—"}</dd>'
            f"<dt>By</dt><dd>{author}</dd></dl>"
            f'<a class="button" href="{edit_base}{pk}/">Open claim</a>'
            f"</div></li>"
        )
    return mark_safe("".join(out))
