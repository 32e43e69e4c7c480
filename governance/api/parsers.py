"""Request parsers that refuse, once and for every endpoint, input nothing downstream can hold.

A JSON body is read only up to DATA_UPLOAD_MAX_MEMORY_SIZE (Django enforces that limit for
forms it parses itself, not for the streams DRF's parsers read) and parsed; then, when its
text or its parse could hold one, it is walked to find: nesting beyond API_JSON_MAX_DEPTH,
NUL characters (PostgreSQL refuses them in text and jsonb), lone surrogates (they cannot be
encoded as UTF-8, so neither stored nor answered) and numbers beyond a 64-bit float
(`10**400`, whose float() overflows; `1e400`, read as infinity). Each is a 400 naming where
it is, in the shape DRF gives nested field errors, before any serializer, service or model
sees it. predict/explain name bad numbers in their own feature check
(models_registry/serving/features.py), so their lenient parser leaves numbers to it.
"""

from __future__ import annotations

import io
import json
import math
import re
import sys
from typing import Any

import numpy as np
import orjson
from django.conf import settings
from rest_framework import parsers, status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.utils.json import strict_constant

from governance.errors import InvalidInput

# Characters no text column can hold: NUL, and the surrogate halves UTF-8 cannot encode.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# The largest integer that still converts to a finite float.
FLOAT_MAX = int(sys.float_info.max)
# A NUL or a surrogate written as a JSON escape; the walk decides whether a surrogate is
# alone. Bodies without any of these (and without numbers beyond a float, which the decoder's
# hooks notice) skip the walk: a predict body parses in less time than with DRF's own parser.
SUSPECT_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")
# An integer of 19 digits or more may lie beyond 64 bits, which orjson would read as a float:
# such bodies go to the standard decoder, which keeps it an integer (and names it if too
# big). Digits after a decimal point or before one or an exponent belong to a float.
LONG_INTEGER = re.compile(r"(?<![.\d])\d{19,}(?![.eE\d])")
# What the depth check reads of a UTF-8 body: quotes and brackets (no multi-byte character
# holds an ASCII byte, so deleting every other byte leaves exactly these).
STRUCTURE_BYTES = b'"[]{}'
NOT_STRUCTURE = bytes(set(range(256)) - set(STRUCTURE_BYTES))
ESCAPE = re.compile(rb"\\.", re.DOTALL)


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


def body_limit_error() -> PayloadTooLarge:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return PayloadTooLarge(f"The request body is larger than {limit} bytes.")


def read_bounded(stream: Any) -> bytes:
    """The body, or a 413 once it passes DATA_UPLOAD_MAX_MEMORY_SIZE (never read further)."""
    if stream is None:
        return b""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is None:
        return stream.read()
    body = stream.read(limit + 1)
    if len(body) > limit:
        raise body_limit_error()
    return body


def printable(text: str) -> str:
    """`text` with NUL and surrogates spelled out, so an error message can quote it."""
    return UNSTORABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def _text_problem(text: str) -> str:
    found = UNSTORABLE.search(text)
    if found is None:
        return ""
    return "holds a NUL character" if found.group() == "\x00" else "holds a lone surrogate"


def _number_problem(value: Any) -> str:
    if isinstance(value, bool):
        return ""
    if isinstance(value, int) and not -FLOAT_MAX <= value <= FLOAT_MAX:
        return "Not a finite number."
    if isinstance(value, float) and not math.isfinite(value):
        return "Not a finite number."
    return ""


def json_problem(
    data: Any, *, max_depth: int, check_numbers: bool = True
) -> tuple[tuple[str, ...], str]:
    """(path, what is wrong) for the first value nothing can store; ((), "") if none.

    Iterative, so a deep document cannot exhaust the stack here either. With
    `check_numbers` off, the endpoint's own validation names non-finite numbers.
    """
    stack: list[tuple[Any, tuple[str, ...]]] = [(data, ())]
    while stack:
        value, path = stack.pop()
        if isinstance(value, dict | list):
            if len(path) >= max_depth:
                return path, f"Nested deeper than {max_depth} levels."
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                child = (*path, printable(str(key)))
                problem = _text_problem(key) if isinstance(key, str) else ""
                if problem:
                    return child, f"The name {problem}."
                stack.append((item, child))
        elif isinstance(value, str):
            problem = _text_problem(value)
            if problem:
                return path, f"The text {problem}."
        elif check_numbers:
            problem = _number_problem(value)
            if problem:
                return path, problem
    return (), ""


def _needs_walk(text: str, body: bytes | None, data: Any, *, max_depth: int) -> bool:
    """Whether the parsed body may hold something json_problem would name.

    `body`: the raw bytes when they are UTF-8, for the depth check; else None.
    """
    raw = "\x00" in text if text.isascii() else UNSTORABLE.search(text) is not None
    if raw or ("\\u" in text and SUSPECT_ESCAPE.search(text)):
        return True
    containers = text.count("[") + text.count("{")
    if containers <= max_depth:
        return False
    if body is not None:
        return structure_depth(body) > max_depth
    return not _depth_within(data, max_depth)


def structure_depth(body: bytes) -> int:
    """How deeply the containers of a valid UTF-8 JSON text nest ({} is 1), read from its bytes.

    Escapes are dropped, then every byte but quotes and brackets; a bracket after an odd
    number of quotes is inside a string. A few milliseconds for a 5,000-record ingest body,
    where walking the parsed values took twenty.
    """
    if b"\\" in body:
        body = ESCAPE.sub(b"", body)
    codes = np.frombuffer(body.translate(None, NOT_STRUCTURE), dtype=np.uint8)
    quote = codes == ord('"')
    outside = (np.cumsum(quote, dtype=np.int64) & 1) == 0
    steps = np.zeros(len(codes), dtype=np.int32)
    steps[outside & ((codes == ord("[")) | (codes == ord("{")))] = 1
    steps[outside & ((codes == ord("]")) | (codes == ord("}")))] = -1
    return int(np.cumsum(steps).max(initial=0))


class _BeyondFloat(Exception):
    """Raised by the strict decoder's number hooks: the body holds a number beyond a float."""


def _checked_int(literal: str) -> int:
    value = int(literal)
    if not -FLOAT_MAX <= value <= FLOAT_MAX:
        raise _BeyondFloat
    return value


def _checked_float(literal: str) -> float:
    value = float(literal)
    if math.isinf(value):
        raise _BeyondFloat
    return value


# Built once: json.loads with hooks would build a decoder per call, which costs a predict
# call more than the parse itself.
STRICT_DECODER = json.JSONDecoder(
    parse_constant=strict_constant, parse_int=_checked_int, parse_float=_checked_float
)
LENIENT_DECODER = json.JSONDecoder()


def _depth_within(data: Any, levels: int) -> bool:
    """True if no container in `data` is nested `levels` deep (one pass per level)."""
    level = [data]
    for _ in range(levels):
        deeper = []
        for value in level:
            children = value.values() if isinstance(value, dict) else value
            deeper += [child for child in children if isinstance(child, dict | list)]
        if not deeper:
            return True
        level = deeper
    return False


def _nested(path: tuple[str, ...], message: str) -> dict[str, Any]:
    """The error in the shape of the body, as DRF reports nested fields."""
    error: Any = [message]
    for key in reversed(path):
        error = {key: error}
    return error if path and path[0] != "detail" else {}


class SafeJSONParser(parsers.JSONParser):
    """JSON within the body limit, the depth limit and what PostgreSQL and UTF-8 can hold."""

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        encoding = parsers.get_encoding(parser_context or {})
        body = read_bounded(stream)
        max_depth = settings.API_JSON_MAX_DEPTH
        utf8 = encoding.lower().replace("_", "-") in ("utf-8", "utf8")
        try:
            text = body.decode(encoding)
            data, beyond_float = self._decode(text)
        except RecursionError as exc:
            raise ParseError(
                f"The JSON is nested too deeply (at most {max_depth} levels)."
            ) from exc
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        if (
            beyond_float
            or not isinstance(data, dict | list)
            or _needs_walk(text, body if utf8 else None, data, max_depth=max_depth)
        ):
            path, problem = json_problem(data, max_depth=max_depth, check_numbers=self.strict)
        else:
            path, problem = (), ""
        if problem:
            where = ".".join(path) or "the body"
            raise InvalidInput(f"Invalid input at {where}: {problem}", extra=_nested(path, problem))
        return data

    def _decode(self, text: str) -> tuple[Any, bool]:
        """(data, whether a number beyond a float was seen: strict parsing only).

        orjson reads what it can (3x faster than the standard decoder: it matters for ingest
        batches); NaN, infinities, numbers beyond a float, lone surrogates and deep nesting
        it refuses, and the standard decoder then reads or names them as before. Both give
        the same values: floats are correctly rounded by each.
        """
        if not LONG_INTEGER.search(text):
            try:
                return orjson.loads(text), False
            except orjson.JSONDecodeError:
                pass
        if not self.strict:
            return LENIENT_DECODER.decode(text), False
        try:
            return STRICT_DECODER.decode(text), False
        except _BeyondFloat:
            return json.loads(text, parse_constant=strict_constant), True


class SafeFormParser(parsers.FormParser):
    """A URL-encoded form within the body limit (Django counts its fields)."""

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        return super().parse(io.BytesIO(read_bounded(stream)), media_type, parser_context)
