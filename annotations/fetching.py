"""Fetching an article's page by URL, through linkcheck's SSRF-safe GET, and reading it.

Every hop is checked as for a source link (annotations/linkcheck.py: http(s) only, every
address the host resolves to must be public, the connection pinned to the checked address).
A conditional GET sends the ETag and Last-Modified the page answered last time; a 304 is
"not modified" and carries no text. Nothing here writes; every failure is a FetchError
whose message completes "The page could not be fetched: …".
"""

import http.client
import re
from dataclasses import dataclass

from django.conf import settings

from annotations import linkcheck
from annotations.importing import ArticleFileError, ParsedArticle, parse_html, parse_text

MAX_PAGE_BYTES = 5 * 1024 * 1024
CHARSET = re.compile(r"charset=[\"']?([\w.:-]+)", re.IGNORECASE)


class FetchError(Exception):
    """Why the page could not be fetched or read, as the end of a sentence (no full stop)."""


@dataclass(frozen=True)
class Page:
    final_url: str
    not_modified: bool
    etag: str = ""
    last_modified: str = ""
    parsed: ParsedArticle | None = None


def _decoded(body: bytes, content_type: str) -> str:
    match = CHARSET.search(content_type)
    if match:
        try:
            return body.decode(match.group(1), "replace")
        except LookupError:
            pass
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError:
        return body.decode("cp1252", "replace")


def _reason(exc: linkcheck.Refused) -> str:
    if isinstance(exc, linkcheck.Unresolvable):
        return "host not found"
    message = str(exc).rstrip(".")
    if message.startswith("Refused") and ": " in message:
        message = message.split(": ", 1)[1]  # "Refused to fetch: 10.0.0.1 is a private address"
    return message[:1].lower() + message[1:]


def fetch_page(url: str, *, etag: str = "", last_modified: str = "", timeout: float | None = None) -> Page:
    """GET the page (conditionally when etag or last_modified is given) and extract its text
    and metadata with trafilatura."""
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        response = linkcheck.get(
            url, headers=headers, allow_loopback=settings.LINKCHECK_ALLOW_LOOPBACK,
            timeout=timeout or settings.LINKCHECK_TIMEOUT, max_bytes=MAX_PAGE_BYTES,
        )
    except linkcheck.Refused as exc:
        raise FetchError(_reason(exc)) from None
    except TimeoutError:
        raise FetchError("the site took too long to answer") from None
    except OSError as exc:
        raise FetchError(f"the connection failed ({exc.strerror or exc.__class__.__name__})") from None
    except (http.client.HTTPException, ValueError) as exc:  # a malformed answer
        raise FetchError(f"the site's answer could not be read ({exc.__class__.__name__})") from None
    final_url = response.final_url
    etag = response.headers.get("etag", "")[:300]
    last_modified = response.headers.get("last-modified", "")[:100]
    if response.status_code == 304:
        return Page(final_url, not_modified=True, etag=etag, last_modified=last_modified)
    if response.status_code != 200:
        raise FetchError(f"the server answered {response.status_code}")
    if response.truncated:
        raise FetchError(f"the page is larger than {MAX_PAGE_BYTES // (1024 * 1024)} MiB")
    content_type = response.headers.get("content-type", "")
    raw = _decoded(response.body, content_type)
    try:
        if content_type.split(";")[0].strip().lower() == "text/plain":
            parsed = parse_text(raw, source_name=url[:300])
        else:
            parsed = parse_html(raw, source_name=url[:300])
    except ArticleFileError as exc:
        raise FetchError(str(exc)) from None
    return Page(final_url, not_modified=False, etag=etag, last_modified=last_modified, parsed=parsed)
