"""What a sandbox handler answers, before it becomes an HTTP response (no Starlette here)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

import attrs
import orjson

__all__ = [
    "Call",
    "Reply",
    "forbidden",
    "not_found",
    "patch_items",
    "problem",
    "validation_failed",
]

HAL = "application/hal+json"
PROBLEM = "application/problem+json"


@attrs.frozen
class Reply:
    status: int
    body: Any = None
    kind: str = HAL
    cookies: Mapping[str, str] = attrs.field(factory=dict)


@attrs.frozen
class Call:
    """One request as the handlers see it: the route after ``/api/vN/``, query pairs, body."""

    method: str
    parts: list[str]
    query: str
    body: bytes
    headers: Mapping[str, str]
    #: ``https://acme.amocrm.ru``: the account's host, for absolute ``_links``.
    origin: str
    #: The user the token belongs to (v4), or None (v2 sessions act as the admin).
    user_id: int | None = None

    @property
    def pairs(self) -> list[tuple[str, str]]:
        return parse_qsl(self.query, keep_blank_values=True)

    @property
    def params(self) -> dict[str, str]:
        return dict(self.pairs)

    def json(self) -> Any:
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError:
            return None

    def href(self, path: str) -> dict[str, str]:
        return {"href": f"{self.origin}{path}"}


def problem(status: int, title: str, **more: Any) -> Reply:
    """amoCRM's ``application/problem+json`` error."""
    body = {"title": title, "type": f"https://httpstatus.es/{status}", "status": status, **more}
    return Reply(status, body, PROBLEM)


def forbidden() -> Reply:
    """amoCRM's JSON 403 for a token whose user lacks the rights for a method."""
    return problem(403, "Forbidden", detail="Insufficient rights to call this method")


def not_found() -> Reply:
    """What amoCRM answers for a path it does not have."""
    return problem(404, "Not Found", detail="Route not found")


def validation_failed(errors: list[dict[str, Any]]) -> Reply:
    """A 400 with ``validation-errors`` (``[{request_id, errors[{code, path, detail}]}]``)."""
    return problem(
        400, "Bad Request", detail="Request validation failed", **{"validation-errors": errors}
    )


def refused_parameter(path: str, detail: str = "This value is not supported") -> Reply:
    """A query parameter the list does not take, refused as amoCRM refuses it."""
    return validation_failed(
        [
            {
                "request_id": "0",
                "errors": [{"code": "NotSupportedChoice", "path": path, "detail": detail}],
            }
        ]
    )


def patch_items(items: list[dict[str, Any]], data: Any, key: str) -> Reply:
    """``PATCH`` of an array of ``{id, ...}`` over ``items``: all found, or a 400 naming each."""
    if not isinstance(data, list) or not data or not all(isinstance(d, dict) for d in data):
        return problem(400, "Bad Request", detail="A JSON array of objects with id is required")
    by_id = {str(item["id"]): item for item in items}
    missing = [
        {
            "request_id": str(d.get("request_id", n)),
            "errors": [{"code": "NotFound", "path": "id", "detail": "There is no such item"}],
        }
        for n, d in enumerate(data)
        if str(d.get("id")) not in by_id
    ]
    if missing:
        return validation_failed(missing)
    out = []
    for n, change in enumerate(data):
        item = by_id[str(change["id"])]
        item.update({k: v for k, v in change.items() if k not in ("id", "request_id")})
        out.append({**item, "request_id": str(change.get("request_id", n))})
    return Reply(200, {"_embedded": {key: out}})
