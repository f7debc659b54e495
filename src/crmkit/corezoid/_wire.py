"""Corezoid API v2 on the wire, without I/O: signatures, ops, answers.

- ``POST /api/2/json/{API_LOGIN}/{TIMESTAMP}/{SIGNATURE}`` with
  ``SIGNATURE = hex(sha1(TIMESTAMP + SECRET + BODY + SECRET))`` over the exact
  body bytes sent, TIMESTAMP integer unix seconds (UTC);
- body ``{"ops": [op, ...]}``; every op sent here carries an ``id`` unique in
  its request, because answers may come back in another order;
- the answer is good only if ``request_proc`` is ``"ok"`` AND each op's own
  ``proc`` is ``"ok"``: the first failing raises :class:`RequestError` for the
  whole package, the second is reported per op in :class:`OpResult`.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import httpx

from .._json import dumps, response_json
from .._log import redact_url
from .._mapping import error_for_status
from ..errors import APIError, CRMError, ProtocolError

__all__ = [
    "CONTENT_TYPE",
    "Op",
    "OpError",
    "OpResult",
    "RequestError",
    "build_body",
    "new_ref",
    "read_answer",
    "sign",
]

CONTENT_TYPE = "application/json; charset=utf8"
#: The op-level answer of a write over the process's rate limit (self-hosted default 5/s).
TOO_MANY_REQUESTS = "too many requests"


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


def new_ref() -> str:
    """A fresh task ``ref`` (32 hex characters) for creates the caller gave none."""
    return uuid.uuid4().hex


class RequestError(APIError):
    """The whole package failed (``request_proc`` was not ``"ok"``, e.g. ``format_error``)."""


class OpError(APIError):
    """One op failed: ``code`` is its ``proc`` and ``message`` its ``description``."""


class Op:
    """One Corezoid operation: ``type`` (create, modify, show, delete, list ...), ``obj``
    (task, conv, node, folder ...) and its other fields as the API names them.

    ``Op("list", "conv", obj_id=5)`` builds any op; the class methods build the task
    ops. An Op is immutable and compares by value.
    """

    __slots__ = ("fields", "obj", "type")
    type: str
    obj: str
    fields: Mapping[str, Any]

    def __init__(self, type: str, obj: str, **fields: Any) -> None:
        if not type or not obj:
            raise ValueError("an op needs a type and an obj")
        object.__setattr__(self, "type", type)
        object.__setattr__(self, "obj", obj)
        object.__setattr__(self, "fields", {k: v for k, v in fields.items() if v is not None})

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("an Op is immutable")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Op):
            return NotImplemented
        return (self.type, self.obj, self.fields) == (other.type, other.obj, other.fields)

    def __hash__(self) -> int:
        return hash((self.type, self.obj, tuple(sorted(self.fields))))

    def __repr__(self) -> str:
        shown = {k: v for k, v in self.fields.items() if k != "data"}
        args = "".join(f", {k}={v!r}" for k, v in shown.items())
        return f"Op({self.type!r}, {self.obj!r}{args})"

    @classmethod
    def create_task(cls, conv_id: int | str, data: Mapping[str, Any], ref: str | None = None) -> Op:
        if ref is not None and not 1 <= len(ref) <= 255:
            raise ValueError("a task ref is 1 to 255 characters")
        return cls("create", "task", conv_id=conv_id, data=dict(data), ref=ref)

    @classmethod
    def modify_task(
        cls,
        conv_id: int | str,
        data: Mapping[str, Any],
        ref: str | None = None,
        obj_id: str | None = None,
    ) -> Op:
        if ref is None and obj_id is None:
            raise ValueError("modify_task needs a ref or an obj_id")
        return cls("modify", "task", conv_id=conv_id, data=dict(data), ref=ref, obj_id=obj_id)

    @classmethod
    def show_task(cls, conv_id: int | str, ref: str | None = None, obj_id: str | None = None) -> Op:
        if ref is None and obj_id is None:
            raise ValueError("show_task needs a ref or an obj_id")
        return cls("show", "task", conv_id=conv_id, ref=ref, obj_id=obj_id)

    @classmethod
    def delete_task(cls, conv_id: int | str, obj_id: str, node_id: str) -> Op:
        return cls("delete", "task", conv_id=conv_id, obj_id=obj_id, node_id=node_id)

    @property
    def ref(self) -> str | None:
        ref = self.fields.get("ref")
        return str(ref) if ref is not None else None

    def with_ref(self) -> Op:
        """This op, with a generated ``ref`` if it is a task create without one."""
        if self.type == "create" and self.obj == "task" and self.ref is None:
            return Op(self.type, self.obj, **{**self.fields, "ref": new_ref()})
        return self

    def to_wire(self, op_id: str) -> dict[str, Any]:
        return {"id": op_id, "type": self.type, "obj": self.obj, **self.fields}


@attrs.frozen
class OpResult:
    """The answer to one op; ``raw`` keeps every field the server sent."""

    id: str
    obj: str | None
    obj_id: str | None
    ref: str | None
    proc: str
    description: str | None
    raw: Mapping[str, Any] = attrs.field(repr=False)

    @property
    def ok(self) -> bool:
        return self.proc == "ok"

    @property
    def data(self) -> Any:
        return self.raw.get("data")

    @property
    def rate_limited(self) -> bool:
        return not self.ok and TOO_MANY_REQUESTS in (self.description or "").lower()

    @property
    def duplicate_ref(self) -> bool:
        text = (self.description or "").lower()
        return not self.ok and "ref" in text and ("unical" in text or "unique" in text)

    def unwrap(self) -> OpResult:
        """Return self when ok, else raise :class:`OpError` with the proc and description."""
        if self.ok:
            return self
        raise OpError(self.description or self.proc, code=self.proc, status=200)

    @classmethod
    def from_wire(cls, raw: Mapping[str, Any]) -> OpResult:
        obj_id = raw.get("obj_id")
        ref = raw.get("ref")
        return cls(
            id=str(raw.get("id", "")),
            obj=raw.get("obj"),
            obj_id=str(obj_id) if obj_id not in (None, "") else None,
            ref=str(ref) if ref not in (None, "") else None,
            proc=str(raw.get("proc", "")),
            description=raw.get("description"),
            raw=raw,
        )


def error_mapper(response: httpx.Response) -> CRMError | None:
    """HTTP-level failures, with Corezoid's own ``description`` as the message when it sent one."""
    if response.status_code < 400:
        return None
    message = None
    if response.headers.get("content-type", "").startswith("application/json"):
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, Mapping) and body.get("description"):
            message = str(body["description"])
    return error_for_status(response, message)


def build_body(ops: Sequence[Op]) -> tuple[bytes, list[str]]:
    """The request body for ``ops`` and the op ids given to them ("1", "2", ...)."""
    ids = [str(n) for n in range(1, len(ops) + 1)]
    body = dumps({"ops": [op.to_wire(op_id) for op, op_id in zip(ops, ids, strict=True)]})
    return body, ids


def read_answer(response: httpx.Response, ids: Sequence[str]) -> list[OpResult]:
    """The results for the ops sent with ``ids``, in that order, matched by id."""
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
    by_id: dict[str, Mapping[str, Any]] = {}
    for raw in answers:
        if isinstance(raw, Mapping):
            by_id[str(raw.get("id", ""))] = raw
    missing = [op_id for op_id in ids if op_id not in by_id]
    if missing:
        raise ProtocolError(f"Corezoid answered no result for op ids {missing[:5]}", **where)
    return [OpResult.from_wire(by_id[op_id]) for op_id in ids]
