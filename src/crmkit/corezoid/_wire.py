"""Corezoid API on the wire, without I/O: signatures, packages, answers, HTTP errors.

- ``POST /api/{1|2}/json/{API_LOGIN}/{TIMESTAMP}/{SIGNATURE}`` with
  ``SIGNATURE = hex(sha1(TIMESTAMP + SECRET + BODY + SECRET))`` over the exact
  body bytes sent, TIMESTAMP integer unix seconds (UTC)
  (``corezoid/documentation`` ``en/api/v2/spec.md``, ``en/api/v1/spec.md``);
- body ``{"ops": [op, ...]}``; every op sent here carries an ``id`` unique in
  its request, because answers may come back in another order; the Sync API's
  body adds ``timeout`` and its documented answer has no ``id``
  (``en/api/sync-api.md``): with one op per request, it is matched by position;
- the answer is good only if ``request_proc`` is ``"ok"`` AND each op's own
  ``proc`` is ``"ok"``: the first failing raises :class:`RequestError` for the
  whole package, the second is reported per op in :class:`OpResult`;
- a 400's message is its ``ops[0].description``, a 503 (overload) keeps its
  ``Retry-After`` (``corezoid/corezoid-ai-plugin`` ``docs/corezoid-swagger.json``
  ``error400``; its Go client ``mcp-server/executor_api.go`` retries 429/503).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from .._json import dumps, response_json
from .._log import redact_url
from .._mapping import error_for_status
from .._retry import parse_retry_after
from ..errors import CRMError, ProtocolError
from ._errors import OpError, RequestError, ServiceUnavailableError, SyncTimeoutError
from ._ops import Op, OpResult, new_ref

__all__ = [
    "CONTENT_TYPE",
    "Op",
    "OpError",
    "OpResult",
    "RequestError",
    "ServiceUnavailableError",
    "SyncTimeoutError",
    "build_body",
    "error_mapper",
    "new_ref",
    "read_answer",
    "sign",
]

CONTENT_TYPE = "application/json; charset=utf8"


def sign(timestamp: int, secret: str, body: bytes) -> str:
    """``hex(sha1(TIMESTAMP + SECRET + BODY + SECRET))`` in lowercase, over the exact body bytes."""
    if isinstance(timestamp, bool) or not isinstance(timestamp, int):
        raise TypeError(f"timestamp must be integer unix seconds, not {timestamp!r}")
    digest = hashlib.sha1(usedforsecurity=False)
    digest.update(str(timestamp).encode())
    digest.update(secret.encode())
    digest.update(body)
    digest.update(secret.encode())
    return digest.hexdigest()


def _body_json(response: httpx.Response) -> Any:
    if not response.headers.get("content-type", "").startswith("application/json"):
        return None
    try:
        return response.json()
    except ValueError:
        return None


def error_mapper(response: httpx.Response) -> CRMError | None:
    """HTTP-level failures, with Corezoid's own ``description`` as the message when it sent one.

    The message is the body's ``ops[0].description`` (the documented 400 body)
    or its top-level ``description``; a 503 is :class:`ServiceUnavailableError`.
    """
    if response.status_code < 400:
        return None
    body = _body_json(response)
    message = None
    if isinstance(body, Mapping):
        ops = body.get("ops")
        first = ops[0] if isinstance(ops, list) and ops else None
        if isinstance(first, Mapping) and first.get("description"):
            message = str(first["description"])
        elif body.get("description"):
            message = str(body["description"])
    if response.status_code == 503:
        request = response.request
        return ServiceUnavailableError(
            message or "Corezoid is overloaded (HTTP 503)",
            retry_after=parse_retry_after(response.headers.get("retry-after")),
            status=503,
            method=request.method,
            url=redact_url(request.url),
        )
    return error_for_status(response, message)


def build_body(ops: Sequence[Op], *, timeout: float | None = None) -> tuple[bytes, list[str]]:
    """The request body for ``ops`` and the op ids given to them ("1", "2", ...).

    ``timeout`` makes it a Sync API body (``{"timeout": s, "ops": [...]}``).
    """
    if not ops:
        raise ValueError("ops must not be empty: a package needs at least one op")
    ids = [str(n) for n in range(1, len(ops) + 1)]
    package: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
    package["ops"] = [op.to_wire(op_id) for op, op_id in zip(ops, ids, strict=True)]
    return dumps(package), ids


def read_answer(
    response: httpx.Response, ids: Sequence[str], *, by_position: bool = False
) -> list[OpResult]:
    """The results for the ops sent with ``ids``, in that order, matched by id.

    ``by_position``: for a service that answers one op per request without its
    ``id`` (the Sync API), a lone answer without an id is the lone op's.
    """
    request = response.request
    where: dict[str, Any] = {"method": request.method, "url": redact_url(request.url)}
    body = response_json(response)
    if not isinstance(body, Mapping):
        raise ProtocolError("expected a JSON object from Corezoid", **where)
    proc = body.get("request_proc")
    if proc != "ok":
        message = str(body.get("description") or f"request_proc is {proc!r}")
        raise RequestError(message, code=str(proc), status=response.status_code, **where)
    answers = body.get("ops")
    if not isinstance(answers, list):
        raise ProtocolError("Corezoid's answer has no ops list", **where)
    if any(not isinstance(raw, Mapping) for raw in answers):
        raise ProtocolError("Corezoid's answer has an op that is not an object", **where)
    lone = answers[0] if by_position and len(ids) == 1 and len(answers) == 1 else None
    if lone is not None and str(lone.get("id") or "") in ("", ids[0]):  # no id, or the right one
        return [OpResult.from_wire(lone)]
    by_id = {str(raw.get("id", "")): raw for raw in answers}
    missing = [op_id for op_id in ids if op_id not in by_id]
    if missing:
        raise ProtocolError(f"Corezoid answered no result for op ids {missing[:5]}", **where)
    return [OpResult.from_wire(by_id[op_id]) for op_id in ids]
