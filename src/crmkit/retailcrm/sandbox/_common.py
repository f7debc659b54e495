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
    "filters_of",
    "json_field",
    "limit_and_page",
    "paged",
    "pagination",
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
