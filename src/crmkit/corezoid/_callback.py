"""Checking the signature Corezoid puts on its own outgoing API calls: :func:`verify_callback`.

A process's API Call node, with "Send system parameters" or "Sign the request
by secret key" on, adds ``conv_signature`` and ``conv_time`` (and ``conv_id``)
to the URL it calls (``corezoid/documentation`` ``en/api/upload_data/
format_post_json.md``, ``format_get.md``, ``format_conveyor.md``,
``en/interface/nodes/api/README.md``). ``conv_signature`` follows the API's own
formula (``en/api/v1/spec.md``) with the node's key as the secret::

    conv_signature = hex(sha1(conv_time + SECRET + BODY + SECRET))

over the raw request body as received (empty for a GET). ``conv_time`` is
unix seconds; a request older or newer than ``max_age`` seconds is refused,
so a captured request cannot be replayed later.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Mapping
from typing import Any

from ._errors import CallbackSignatureError
from ._wire import sign

__all__ = ["verify_callback"]


def _find(values: Mapping[str, Any], name: str) -> str | None:
    """``name`` in query parameters or headers (any case, ``-`` for ``_``)."""
    value = values.get(name)
    if value is None:
        for key in values:
            if isinstance(key, str) and key.lower().replace("-", "_") == name:
                value = values[key]
                break
    if isinstance(value, (list, tuple)):
        value = value[0] if len(value) == 1 else None
    return value if isinstance(value, str) else None


def verify_callback(
    body: bytes | str,
    headers_or_query: Mapping[str, Any],
    secret: str,
    *,
    max_age: float | None = 300.0,
    now: float | None = None,
) -> None:
    """Check a request from a Corezoid process; :class:`CallbackSignatureError` if it fails.

    ``body`` is the raw body as received (bytes; text is encoded as UTF-8),
    ``headers_or_query`` the request's query parameters (or headers) holding
    ``conv_signature`` and ``conv_time``, ``secret`` the node's key. ``max_age``
    (None: no limit) bounds how far ``conv_time`` may be from ``now``.
    """
    if not secret:
        raise ValueError("secret must be the API Call node's key, not empty")
    raw = body.encode() if isinstance(body, str) else bytes(body)
    given = _find(headers_or_query, "conv_signature")
    stamp = _find(headers_or_query, "conv_time")
    if not given or not stamp:
        raise CallbackSignatureError("conv_signature or conv_time is missing")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise CallbackSignatureError("conv_time is not integer unix seconds") from None
    if max_age is not None:
        skew = abs((time.time() if now is None else now) - timestamp)
        if skew > max_age:
            raise CallbackSignatureError(f"conv_time is {skew:.0f} s away (over {max_age:g} s)")
    expected = sign(timestamp, secret, raw)
    if not hmac.compare_digest(expected, given.strip().lower().encode("ascii", "replace").decode()):
        raise CallbackSignatureError("conv_signature does not match the body and secret")
