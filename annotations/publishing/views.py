"""The public pages: a desk's published verdicts, one verdict, and a card to embed; and the
key that signs the audit trail's checkpoints, with the latest one (/v/audit/key/).

No login, no desk navigation, and nothing that depends on who is asking (the pages read
neither the session nor the user), so a shared cache may keep them for a minute. They read
published records only (`publishing.selectors`): what a reader sees is what was approved.
A desk with public pages off, a claim never published and another desk's claim are all
the same 404, so the answer says nothing about whether a verdict exists.
"""

import re
from datetime import date
from typing import Any

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.cache import cache_control
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_safe

from annotations import checkpoints
from annotations.models import PublicationKind, Stance
from annotations.publishing import selectors
from annotations.publishing.services import public_url

PAGE_SIZE = 20
CACHE_SECONDS = 60
_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
_NEUTRAL = "#8c959f"
_STANCES = dict(Stance.choices)
# Inside <script> the HTML parser looks for "</script" and "<!--", never for entities, so
# the JSON must not contain "<" at all. JSON may spell any character in a string as \uXXXX,
# and "<", ">" and "&" only ever occur inside strings, so this changes no parsed value.
_SCRIPT_SAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def _json_ld(text: str) -> SafeString:
    """The stored ClaimReview, byte for byte but for the escapes above."""
    return mark_safe(text.translate(_SCRIPT_SAFE))


def _http_url(value: Any) -> str:
    """A link only to the web: a stored javascript: or data: URL never becomes an href."""
    return value if isinstance(value, str) and value.lower().startswith(("http://", "https://")) else ""


def _rating(snapshot: dict) -> dict | None:
    rating = snapshot.get("rating")
    if not rating:
        return None
    scale = snapshot.get("scale") or {}
    color = rating.get("color") or ""
    return {
        "name": rating.get("name") or "",
        "description": rating.get("description") or "",
        "value": rating.get("value"),
        "best": scale.get("best"),
        "worst": scale.get("worst"),
        # It goes into a style attribute: only a colour the scale page would accept.
        "color": color if _COLOR.fullmatch(color) else _NEUTRAL,
    }


def _quote_in_paragraph(snapshot: dict) -> dict:
    """The paragraph split around the quote, for <mark>; the bare quote if the offsets
    do not fit the paragraph."""
    paragraph = snapshot.get("paragraph") or {}
    text, start, end = paragraph.get("text") or "", paragraph.get("start"), paragraph.get("end")
    if isinstance(start, int) and isinstance(end, int) and 0 <= start <= end <= len(text):
        return {"before": text[:start], "quote": text[start:end], "after": text[end:]}
    return {"before": "", "quote": snapshot["selectors"]["exact"], "after": ""}


def _date(value: Any) -> date | None:
    """A snapshot's ISO date, for the template's date format."""
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _verdict(snapshot: dict) -> dict:
    """What a page shows of one published verdict."""
    article = snapshot["article"]
    return {
        "claim_reviewed": snapshot["claim_reviewed"] or snapshot["selectors"]["exact"],
        "claimant": snapshot["claimant"],
        "claim_date": _date(snapshot["claim_date"]),
        "rating": _rating(snapshot),
        "rationale": snapshot["rationale"],
        "quote": _quote_in_paragraph(snapshot),
        "article": {"title": article["title"], "url": _http_url(article["url"]), "publisher": article["publisher"]},
        "sources": [
            {**source, "url": _http_url(source["url"]), "archive_url": _http_url(source.get("archive_url")),
             "accessed_on": _date(source.get("accessed_on")), "stance_label": _STANCES.get(source.get("stance"), "")}
            for source in snapshot["sources"]
        ],
    }


def _publisher(workspace) -> dict:
    return {"name": workspace.publisher_name or workspace.name, "url": _http_url(workspace.publisher_url)}


@require_safe
@cache_control(public=True, max_age=CACHE_SECONDS)
def desk_index(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    workspace = selectors.public_desk_get(slug=workspace_slug)
    if workspace is None:
        raise Http404("No published verdicts here.")
    q = request.GET.get("q", "")
    page = Paginator(selectors.publication_search(workspace=workspace, q=q), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    items = [
        {"record": record, "verdict": _verdict(record.snapshot),
         "url": reverse("publishing:verdict", args=[workspace.slug, record.claim_id])}
        for record in page
    ]
    return render(request, "publishing/desk_index.html", {
        "desk": workspace, "publisher": _publisher(workspace), "page": page, "items": items, "q": q.strip(),
    })


@require_safe
@cache_control(public=True, max_age=CACHE_SECONDS)
def verdict(request: HttpRequest, workspace_slug: str, claim_id: int) -> HttpResponse:
    found = selectors.public_verdict_get(workspace_slug=workspace_slug, claim_id=claim_id)
    if found is None:
        raise Http404("No such verdict.")
    context: dict[str, Any] = {
        "desk": found.workspace,
        "publisher": _publisher(found.workspace),
        "history": [
            {"record": record, "rating": _rating(record.snapshot)} for record in reversed(found.records)
        ],
    }
    in_force = found.in_force
    if in_force is None:
        withdrawal = found.withdrawal
        if withdrawal is None:  # records, yet neither in force nor withdrawn: not for the public
            raise Http404("No such verdict.")
        context.update(withdrawal=withdrawal, verdict=_verdict(withdrawal.snapshot))
        return render(request, "publishing/withdrawn.html", context, status=410)
    canonical_url = public_url(workspace_slug=found.workspace.slug, claim_id=claim_id)
    context.update(
        record=in_force,
        verdict=_verdict(in_force.snapshot),
        json_ld=_json_ld(in_force.claimreview),
        canonical_url=canonical_url,
        embed_url=f"{canonical_url}embed/",
    )
    return render(request, "publishing/verdict.html", context)


@require_safe
@xframe_options_exempt  # the one page a partner's site may frame
@cache_control(public=True, max_age=CACHE_SECONDS)
def verdict_embed(request: HttpRequest, workspace_slug: str, claim_id: int) -> HttpResponse:
    latest = selectors.public_verdict_latest(workspace_slug=workspace_slug, claim_id=claim_id)
    if latest is None:
        raise Http404("No such verdict.")
    withdrawn = latest.kind == PublicationKind.WITHDRAWN
    return render(request, "publishing/embed.html", {
        "desk": latest.workspace,
        "publisher": _publisher(latest.workspace),
        "record": latest,
        "verdict": _verdict(latest.snapshot),
        "withdrawn": withdrawn,
        "page_url": reverse("publishing:verdict", args=[latest.workspace.slug, claim_id]),
    }, status=410 if withdrawn else 200)


@require_safe
@cache_control(public=True, max_age=CACHE_SECONDS)
def audit_key(request: HttpRequest) -> HttpResponse:
    """The key that signs the audit trail's checkpoints, the latest one, and how to check it."""
    return render(request, "publishing/audit_key.html", {
        "keys": checkpoints.public_keys(),
        "checkpoint_url": request.build_absolute_uri(reverse("publishing:audit_checkpoint")),
    })


@require_safe
@cache_control(public=True, max_age=CACHE_SECONDS)
def audit_checkpoint(request: HttpRequest) -> HttpResponse:
    """The latest checkpoint as written, for `curl` and for partners' tools."""
    note = checkpoints.latest_note()
    if note is None:
        raise Http404("No checkpoint has been signed yet.")
    return HttpResponse(note, content_type="text/plain; charset=utf-8")
