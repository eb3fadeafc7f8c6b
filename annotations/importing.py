"""Reading article files into canonical text. Pure functions: nothing here writes.

Canonical text is what claims are anchored to, so it is decided once, here:
NFC-normalised, \\n line ends, no byte-order mark, no trailing spaces on a line,
no white space at either end.
"""

import hashlib
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

SUPPORTED_SUFFIXES = (".txt", ".html", ".htm")
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_TITLE_CHARS = 500


class ArticleFileError(ValueError):
    """A file that cannot be read as an article; the message says why, as a sentence."""


@dataclass
class ParsedArticle:
    text: str
    title: str
    url: str = ""
    publisher: str = ""
    byline: str = ""
    published_on: date | None = None
    language: str = ""
    source_name: str = ""
    extra: dict = field(default_factory=dict)


def canonical_text(raw: str) -> str:
    text = unicodedata.normalize("NFC", raw.replace("\ufeff", ""))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def title_from_text(text: str) -> str:
    """The first non-empty line, which is where plain-text articles put their headline."""
    for line in text.split("\n"):
        if line.strip():
            return shorten(line.strip(), MAX_TITLE_CHARS)
    return ""


def shorten(value: str, limit: int) -> str:
    if len(value) <= limit:
        return value
    cut = value[: limit - 1].rsplit(" ", 1)[0]
    return cut + "…"


def parse_text(raw: str, *, source_name: str = "") -> ParsedArticle:
    text = canonical_text(raw)
    if not text.strip():
        raise ArticleFileError("it contains no text")
    return ParsedArticle(text=text, title=title_from_text(text), source_name=source_name)


def parse_html(raw: str, *, source_name: str = "") -> ParsedArticle:
    """Extract the main text and metadata of a news page with trafilatura."""
    import trafilatura

    body = trafilatura.extract(
        raw,
        output_format="txt",
        include_comments=False,
        include_tables=False,
        include_images=False,
    )
    if not body or not body.strip():
        raise ArticleFileError("no article text could be found in the HTML")
    meta = trafilatura.extract_metadata(raw)
    text = canonical_text(body)
    published_on = None
    if meta is not None and meta.date:
        try:
            published_on = date.fromisoformat(meta.date[:10])
        except ValueError:
            published_on = None
    title = (meta.title if meta is not None else "") or title_from_text(text)
    return ParsedArticle(
        text=text,
        title=shorten(title.strip(), MAX_TITLE_CHARS),
        url=(meta.url if meta is not None else "") or "",
        publisher=((meta.sitename if meta is not None else "") or "")[:200],
        byline=((meta.author if meta is not None else "") or "")[:300],
        published_on=published_on,
        language=((meta.language if meta is not None else "") or "")[:20],
        source_name=source_name,
    )


def decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ArticleFileError(
            f"it is not UTF-8 text (byte {exc.start} cannot be decoded)"
        ) from None


def parse_upload(name: str, data: bytes) -> ParsedArticle:
    """Parse an uploaded or on-disk file by its name's suffix."""
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise ArticleFileError(
            f"its type {suffix or '(none)'} is not supported; use .txt or .html"
        )
    if len(data) > MAX_FILE_BYTES:
        raise ArticleFileError(
            f"it is {len(data) // (1024 * 1024)} MiB, over the {MAX_FILE_BYTES // (1024 * 1024)} MiB limit"
        )
    raw = decode(data)
    if suffix == ".txt":
        return parse_text(raw, source_name=name)
    return parse_html(raw, source_name=name)


def parse_file(path: Path) -> ParsedArticle:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ArticleFileError("it does not exist") from None
    except IsADirectoryError:
        raise ArticleFileError("it is a directory") from None
    except OSError as exc:
        raise ArticleFileError(f"it cannot be read ({exc.strerror})") from None
    return parse_upload(path.name, data)
