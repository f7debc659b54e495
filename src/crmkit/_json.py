"""JSON in and out, with orjson, and the one place a body becomes ``ProtocolError``.

orjson decodes the answers on crmkit's hot path several times faster than the
standard library (``benchmarks/overhead.py`` measures it), and it is a small,
well-kept wheel for every platform we support, so it is a core dependency.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import httpx
import orjson

from ._log import redact_log_text, redact_url
from .errors import CRMError, ProtocolError

__all__ = [
    "dumps",
    "dumps_text",
    "forget_json",
    "json_is_whole",
    "loads",
    "reading",
    "response_json",
]

_MISSING = object()


def dumps(value: Any) -> bytes:
    """Serialise to compact UTF-8 JSON bytes (non-ASCII kept as is, as the platforms expect)."""
    return orjson.dumps(value)


def dumps_text(value: Any) -> str:
    """Serialise to compact JSON text: for a JSON value carried inside a form field."""
    return orjson.dumps(value).decode()


def loads(data: bytes | str) -> Any:
    """Parse JSON; raises ``orjson.JSONDecodeError`` (a ``ValueError``)."""
    return orjson.loads(data)


def json_is_whole(response: httpx.Response) -> bool:
    """Whether a JSON answer parses (decoded once: :func:`response_json` reuses the value).

    The Session asks it of answers to requests it may repeat: a body cut short
    on the way (a proxy, a dropped connection that still closed cleanly) is
    then fetched again instead of failing the caller. Non-JSON answers pass.
    """
    if "json" not in response.headers.get("content-type", "") or not response.content:
        return True
    if getattr(response, "_crmkit_json", _MISSING) is not _MISSING:
        return True
    try:
        value = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return False
    response._crmkit_json = value  # type: ignore[attr-defined]
    return True


def response_json(response: httpx.Response, *, what: str = "JSON") -> Any:
    """Decode a response body as JSON or raise ``ProtocolError`` naming what came instead.

    The decoded value is kept on the response, so a second reading (a paginator
    peeking at the next page's cursor, then the page itself) decodes once. Do
    not change what it returns.
    """
    cached = getattr(response, "_crmkit_json", _MISSING)
    if cached is not _MISSING:
        return cached
    request = response.request
    try:
        value = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        kind = response.headers.get("content-type", "no content type").split(";")[0]
        snippet = response.content[:80].decode("utf-8", "replace").strip()
        looks = "an HTML page" if snippet.lower().startswith(("<!doctype", "<html")) else kind
        raise ProtocolError(
            f"expected {what} but got {looks} (HTTP {response.status_code}, "
            f"{len(response.content)} bytes)",
            method=request.method,
            url=redact_url(request.url),
        ) from None
    response._crmkit_json = value  # type: ignore[attr-defined]
    return value


def forget_json(response: httpx.Response) -> None:
    """Drop the decoded value :func:`response_json` kept on ``response``, once it is read.

    An httpx response sits in a reference cycle (its stream refers back to it), so
    it is freed only by the cyclic garbage collector; a page's decoded objects kept
    on it would wait with it, be promoted through the collector's generations and
    make each full collection longer (a third of a 20,000-record export's CPU).
    """
    response.__dict__.pop("_crmkit_json", None)


#: What reading an answer of the wrong shape raises: never shown to callers as such.
SHAPE_ERRORS = (KeyError, IndexError, TypeError, ValueError, AttributeError, RecursionError)


@contextlib.contextmanager
def reading(what: str, response: httpx.Response | None = None) -> Iterator[None]:
    """Read a decoded answer inside this block: a wrong shape becomes :class:`ProtocolError`.

    ``with reading("the create answer", response): return int(body["id"])``: a
    missing key, a null or text where a number is due, a list where an object
    is due, all become ``ProtocolError("malformed the create answer: ...")``
    instead of a bare KeyError or TypeError. Put only answer-reading code in it
    (a ValueError about the caller's arguments must stay a ValueError).
    """
    try:
        yield
    except CRMError:
        raise
    except SHAPE_ERRORS as exc:
        request = response.request if response is not None else None
        detail = redact_log_text(f"{type(exc).__name__}: {exc}")[:200]
        raise ProtocolError(
            f"malformed {what}: {detail}",
            method=request.method if request is not None else None,
            url=redact_url(request.url) if request is not None else None,
        ) from None
