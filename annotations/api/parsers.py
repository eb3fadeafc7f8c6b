"""The API's request parsers: JSON with a nesting limit, and only text Postgres can store.

`json.loads` recurses once per level of nesting, so a body nested 100,000 deep raised
RecursionError (a 500). Here the depth is measured first, at C speed and without
recursion, and a body nested deeper than API_JSON_MAX_DEPTH is a 400 naming the limit.

Parsed text (JSON, form or multipart fields) is then checked for what no text column can
hold, wherever it would go: a NUL character (Postgres refuses it in text and jsonb) and a
lone surrogate such as "\\ud800" (not Unicode: it cannot be encoded as UTF-8). Each is a
400 naming the field, before any view reads the data. A JSON number too large for any
column (1e400 would parse as infinity) is a 400 too.
"""

import codecs
import json
import math
import re
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.http import QueryDict
from rest_framework import parsers
from rest_framework.exceptions import ParseError, ValidationError

# In JSON a backslash only starts an escape inside a string: with every escape dropped,
# strings hold no quote, and what lies outside them is every other piece between quotes.
_ESCAPE = re.compile(r"\\.", re.DOTALL)
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

NUL_IN_TEXT = "This text contains a NUL character (\\u0000), which cannot be stored; remove it."
LONE_SURROGATE = (
    "This text contains a lone surrogate ({escape}), which is not a character: send the character "
    "as UTF-8 or as a complete surrogate pair."
)


def max_depth() -> int:
    return settings.API_JSON_MAX_DEPTH


def too_deep_message(limit: int) -> str:
    return f"The JSON is nested too deeply: at most {limit} levels of arrays and objects are accepted."


def json_depth(text: str, *, limit: int) -> int:
    """How deeply `text` nests arrays and objects, measured without parsing it: a number
    over `limit` when it nests deeper than that (for malformed JSON, when it might).

    No recursion, and no Python-level loop over the body: escapes, strings and everything
    but brackets are dropped by C-speed string operations, then the brackets are peeled a
    layer of innermost pairs at a time, at most `limit` layers.
    """
    if text.count("[") + text.count("{") <= limit:  # the usual body: nothing to scan
        return limit
    if "\\" in text:
        text = _ESCAPE.sub("", text)
    outside = "".join(text.split('"')[::2])
    # Outside strings valid JSON is ASCII; anything else is dropped with the rest.
    brackets = outside.encode("ascii", "ignore").translate(None, _NOT_BRACKET).decode("ascii")
    brackets = brackets.replace("{", "[").replace("}", "]")
    if "[" * (limit + 1) in brackets:  # the usual attack, found at once
        return limit + 1
    # Peel the innermost pairs a layer at a time: a balanced body is gone after as many
    # layers as it is deep.
    rest, layers = brackets, 0
    while rest and layers <= limit:
        peeled = rest.replace("[]", "")
        if peeled == rest:
            break
        rest, layers = peeled, layers + 1
    if not rest or layers > limit:
        return layers
    # Malformed: only unmatched brackets are left. json.loads stops at the first error, at
    # most this deep: the arrays never closed, around what was peeled.
    return rest.count("[") + layers


class JSONTooDeep(ValueError):
    def __init__(self, limit: int):
        super().__init__(too_deep_message(limit))
        self.limit = limit


class UnstorableText(ValueError):
    """A string Postgres cannot store; `field` is where it was, in the API's error notation."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def json_loads_limited(text: str, *, limit: int | None = None) -> Any:
    """json.loads for a request body: JSONTooDeep past the nesting limit, UnstorableText
    for a NUL or a lone surrogate in any key or value, json.JSONDecodeError as usual."""
    limit = max_depth() if limit is None else limit
    if json_depth(text, limit=limit) > limit:
        raise JSONTooDeep(limit)
    try:
        data = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:  # a recursion limit set below the nesting limit; never a 500
        raise JSONTooDeep(limit) from None
    # In JSON text (decoded strictly; json.loads refuses raw control characters) a NUL or a
    # surrogate can only come as a \u escape: without one there is nothing to look for.
    if "\\u" in text:
        storable_check(data)
    return data


def _refuse_constant(name: str):
    raise json.JSONDecodeError(f"{name} is not a JSON number", name, 0)


class NumberTooLarge(ValueError):
    pass


def _finite_float(literal: str) -> float:
    """1e400 would parse as infinity, which no number column holds."""
    value = float(literal)
    if not math.isfinite(value):
        raise NumberTooLarge(f"The number {literal[:40]}{'…' if len(literal) > 40 else ''} is too large.")
    return value


def _problem(text: str) -> str | None:
    if text.isascii():
        return NUL_IN_TEXT if "\x00" in text else None
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return NUL_IN_TEXT
    return LONE_SURROGATE.format(escape=f"\\u{ord(found.group()):04x}")


def _walk(data: Any) -> Iterator[tuple[str, str]]:
    """(where, text) for every key and string in parsed data, without recursion; `where`
    reads like the API's error fields: `claim`, `sources[0].url`."""
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, str):
            yield where, value
        elif isinstance(value, dict):
            for key, item in value.items():
                key = str(key)
                path = f"{where}.{key}" if where else key
                yield path, key
                stack.append((path, item))
        elif isinstance(value, list):
            stack.extend((f"{where}[{i}]", item) for i, item in enumerate(value))


def _escaped(where: str) -> str:
    """A field's name as the error can show it: a key may hold the very character refused."""
    return _UNSTORABLE.sub(lambda found: f"\\u{ord(found.group()):04x}", where)


def storable_check(data: Any) -> None:
    for where, text in _walk(data):
        problem = _problem(text)
        if problem is not None:
            raise UnstorableText(_escaped(where) or "non_field_errors", problem)


def _api_errors(exc: Exception) -> Exception:
    if isinstance(exc, JSONTooDeep):
        return ParseError(str(exc))
    if isinstance(exc, UnstorableText):
        return ValidationError({exc.field: [exc.message]})
    return exc


class LimitedJSONParser(parsers.JSONParser):
    """DRF's JSON parser with the nesting limit and the storable-text check."""

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.decode(stream.read(), encoding)
        except (UnicodeDecodeError, LookupError):
            raise ParseError(f"The request body is not valid {encoding} text.") from None
        try:
            return json_loads_limited(text)
        except (JSONTooDeep, UnstorableText) as exc:
            raise _api_errors(exc) from None
        except NumberTooLarge as exc:
            raise ParseError(str(exc)) from None
        except ValueError as exc:  # JSONDecodeError, or an integer of over 4,300 digits
            raise ParseError(f"The request body is not valid JSON: {exc}") from None


def _form_check(data: QueryDict) -> None:
    for key, values in data.lists():
        for text in (key, *values):
            problem = _problem(text) if isinstance(text, str) else None
            if problem is not None:
                raise ValidationError({_escaped(key): [problem]})


class CheckedFormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        _form_check(data)
        return data


class CheckedMultiPartParser(parsers.MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        result = super().parse(stream, media_type, parser_context)
        _form_check(result.data)
        return result
