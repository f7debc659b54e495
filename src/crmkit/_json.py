"""JSON in and out, with orjson, and the one place a body becomes ``ProtocolError``.

orjson decodes the answers on crmkit's hot path several times faster than the
standard library (``benchmarks/overhead.py`` measures it), and it is a small,
well-kept wheel for every platform we support, so it is a core dependency.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from ._log import redact_url
from .errors import ProtocolError

__all__ = ["dumps", "dumps_text", "forget_json", "loads", "response_json"]

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
