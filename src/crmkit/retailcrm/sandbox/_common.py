"""What the sandbox's handlers share: their errors, form fields, paging and filtering."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from ._filters import matcher
from ._state import Account

__all__ = [
    "PAGE_LIMITS",
    "BadEntity",
    "BadParameters",
    "Handler",
    "Missing",
    "as_int",
    "entity_ref",
    "filters_of",
    "history_feed",
    "json_field",
    "limit_and_page",
    "paged",
    "pagination",
    "record_change",
]

Handler = Callable[[dict[str, Any], dict[str, Any]], tuple[int, dict[str, Any]]]

PAGE_LIMITS = (20, 50, 100)


class BadParameters(Exception):
    """A GET parameter or form field that cannot be read: 400 "Errors in the input parameters"."""


class BadEntity(Exception):
    """An entity that cannot be read: 400 "Errors in the entity format"."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


class Missing(Exception):
    """A required parameter is absent: 400 "Parameter 'x' is missing"."""


def json_field(form: dict[str, Any], name: str, kind: type = dict) -> Any:
    if name not in form:
        raise Missing(name)
    try:
        value = orjson.loads(form[name])
    except (orjson.JSONDecodeError, TypeError):
        raise BadEntity({name: "is not valid JSON"}) from None
    if not isinstance(value, kind):
        raise BadEntity({name: f"must be a JSON {'object' if kind is dict else 'array'}"})
    return value


def as_int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise BadParameters(f"{name} must be an integer") from None


def limit_and_page(query: dict[str, Any]) -> tuple[int, int]:
    limit = as_int(query.get("limit", 20), "limit")
    if limit not in PAGE_LIMITS:
        raise BadParameters(f"limit must be one of {', '.join(map(str, PAGE_LIMITS))}")
    page = as_int(query.get("page", 1), "page")
    if page < 1:
        raise BadParameters("page must be 1 or more")
    return limit, page


def filters_of(query: dict[str, Any]) -> dict[str, Any]:
    value = query.get("filter")
    # The vendor's own client sends a bare ``filter=None`` when it has no filter;
    # the service ignores a filter that is not a map.
    return value if isinstance(value, dict) else {}


def pagination(limit: int, page: int, total: int) -> dict[str, int]:
    pages = max(1, -(-total // limit))
    return {"limit": limit, "totalCount": total, "currentPage": page, "totalPageCount": pages}


def paged(
    area: str, rows: list[dict[str, Any]], query: dict[str, Any], account: Account, key: str
) -> tuple[int, dict[str, Any]]:
    """A list's answer: the rows meeting the query's filters, one page of them."""
    limit, page = limit_and_page(query)
    check = matcher(area, filters_of(query))
    found = [r for r in rows if check(r, account)]
    chunk = found[(page - 1) * limit : page * limit]
    return 200, {"pagination": pagination(limit, page, len(found)), key: chunk}


def history_feed(
    account: Account, kind: str, area: str
) -> Callable[[dict[str, Any], dict[str, Any]], tuple[int, dict[str, Any]]]:
    """A change feed (``tasks/history``, ``orders/packs/history``): ``sinceId`` and its filters.

    ``page`` with ``sinceId`` is refused as the service refuses it.
    """

    def handler(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        since = filters_of(query)
        if "sinceId" in since and "page" in query:
            return 400, {"errorMsg": "The 'page' parameter can not be used with 'sinceId'"}
        start = as_int(since.get("sinceId", 0), "filter[sinceId]")
        rows = [e for e in account.records.get(kind, {}).values() if e["id"] > start]
        status, answer = paged(area, rows, query, account, "history")
        return status, {"generatedAt": account.stamp(), **answer}

    return handler


def record_change(
    account: Account,
    kind: str,
    key: str,
    record: dict[str, Any],
    field: str,
    old: Any,
    new: Any,
    **flags: bool,
) -> None:
    """Note one change of ``record`` in the feed ``kind`` (under ``key``: ``task``, ``pack``)."""
    ref = {"id": record["id"], **({"item": record["item"]} if "item" in record else {})}
    entry = {"field": field, "oldValue": old, "newValue": new, "source": "api", key: ref, **flags}
    account.add(kind, entry)


def entity_ref(account: Account, kind: str, ref: Any, field: str) -> dict[str, Any]:
    """The record a ``{id}`` or ``{externalId}`` reference names, or a 400 naming ``field``."""
    if not isinstance(ref, dict):
        raise BadEntity({field: "This value should not be blank."})
    store = account.stores[kind]
    if "id" in ref:
        found = store.find(str(ref["id"]), "id")
    else:
        found = store.find(str(ref.get("externalId")), "externalId")
    if found is None:
        raise BadEntity({field: f"{field} not found"})
    return found
