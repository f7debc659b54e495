"""RetailCRM's two ways of paging, as strategies for the one paginator.

- lists (``/orders``, ``/customers``, ``/users``, ...): ``limit`` of 20, 50 or
  100 and ``page``; a ``pagination`` object says how many pages there are;
  multi-store keys filter by ``filter[sites][]`` (lists ignore a top-level
  ``site``);
- history feeds: ``filter[sinceId]`` advances to the last id seen and ``page``
  is never sent (the service refuses the two together);
- cursor lists (``loyalty/bonus/operations``): ``cursor`` from the last answer.

Datetimes in filters are left as datetimes here: the client writes them in the
account's time zone (``_wire.localize``) when it sends the page.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Generic, TypeVar

import attrs
import httpx

from .._log import redact_url
from .._models import from_wire
from .._pagination import Page, PageRequest
from ..errors import ProtocolError
from ._wire import PAGE_SIZES, encode_params, page_size_for, read_body

__all__ = ["CursorStrategy", "HistoryStrategy", "ListStrategy", "list_filter"]

M = TypeVar("M")


def list_filter(filter: Mapping[str, Any] | None, site: str | None) -> dict[str, Any]:
    """A list's filter with the client's or the call's ``site`` as ``sites`` (unless given)."""
    filters = dict(filter or {})
    if site and "sites" not in filters:
        filters["sites"] = [site]
    return filters


def _items(body: Mapping[str, Any], key: str, model: type[M], response: httpx.Response) -> list[M]:
    raw = body.get(key)
    if raw is None:
        raw = []
    if isinstance(raw, Mapping):  # some answers are {code: {...}}
        raw = list(raw.values())
    if not isinstance(raw, list):
        raise ProtocolError(
            f"expected {key!r} as a list",
            method=response.request.method,
            url=redact_url(response.request.url),
        )
    try:
        return [from_wire(item, model) for item in raw]
    except ProtocolError:  # again, naming the place of the bad record (not built per record)
        return [from_wire(item, model, what=f"{key}[{n}]") for n, item in enumerate(raw)]


@attrs.frozen
class ListStrategy(Generic[M]):
    """Page-numbered lists: ``GET /customers?limit=&page=&filter[...]``."""

    path: str
    key: str
    model: type[M]
    filter: Mapping[str, Any] | None = None
    max_page_size: int = PAGE_SIZES[-1]
    default_page_size: int = PAGE_SIZES[-1]

    def request(self, cursor: Any, page_size: int, modified_since: datetime | None) -> PageRequest:
        if modified_since is not None:
            raise ValueError(
                "RetailCRM lists have no 'changed since' filter: read the changes with "
                "history(start_date=...) instead"
            )
        params: dict[str, Any] = {"limit": page_size_for(page_size), "page": cursor or 1}
        if self.filter:
            params["filter"] = dict(self.filter)
        return PageRequest(self.path, params=encode_params(params))

    def cursor_after(self, cursor: Any, page_size: int) -> Any:
        """The page number after a full page (the paginator asks for pages ahead)."""
        return int(cursor or 1) + 1

    def peek_next(self, response: httpx.Response, cursor: Any, page_size: int) -> Any:
        """The next page number, from ``pagination`` alone (before any model is built)."""
        body = read_body(response)
        pagination = body.get("pagination") or {}
        current = int(pagination.get("currentPage", cursor or 1))
        pages = int(pagination.get("totalPageCount", current))
        return current + 1 if current < pages and body.get(self.key) else None

    def parse(self, response: httpx.Response, cursor: Any, page_size: int) -> Page[M]:
        body = read_body(response)
        pagination = body.get("pagination") or {}
        items = _items(body, self.key, self.model, response)
        return Page(
            items=items,
            next_cursor=self.peek_next(response, cursor, page_size),
            total=int(pagination["totalCount"]) if "totalCount" in pagination else None,
        )


@attrs.frozen
class HistoryStrategy(Generic[M]):
    """History windows: ``filter[sinceId]`` advances to the last id seen; ``page`` is never sent.

    The cursor is the id of the last change processed, so a saved state
    resumes right after it, mid-window included.
    """

    path: str
    model: type[M]
    since_id: int | None = None
    filter: Mapping[str, Any] | None = None
    key: str = "history"
    max_page_size: int = PAGE_SIZES[-1]
    default_page_size: int = PAGE_SIZES[-1]
    streaming: bool = True

    def request(self, cursor: Any, page_size: int, modified_since: datetime | None) -> PageRequest:
        filters = dict(self.filter or {})
        since = cursor if cursor is not None else self.since_id
        if since is not None:
            filters["sinceId"] = int(since)
        elif modified_since is not None:
            filters.setdefault("startDate", modified_since)
        params: dict[str, Any] = {"limit": page_size_for(page_size)}
        if filters:
            params["filter"] = filters
        return PageRequest(self.path, params=encode_params(params))

    def parse(self, response: httpx.Response, cursor: Any, page_size: int) -> Page[M]:
        body = read_body(response)
        items = _items(body, self.key, self.model, response)
        ids = [int(getattr(item, "id")) for item in items]  # noqa: B009 - M is any model
        pagination = body.get("pagination") or {}
        more = int(pagination.get("totalPageCount", 1 if items else 0)) > 1
        return Page(
            items=items,
            next_cursor=ids[-1] if items and more else None,
            total=None,
            item_cursors=ids,
        )


@attrs.frozen
class CursorStrategy(Generic[M]):
    """Cursor-paged lists (``loyalty/bonus/operations``): ``cursor`` is the answer's
    ``pagination.nextCursor`` (``AbstractCursorPaginatedResponse.php``); no ``page``."""

    path: str
    key: str
    model: type[M]
    filter: Mapping[str, Any] | None = None
    max_page_size: int = PAGE_SIZES[-1]
    default_page_size: int = PAGE_SIZES[-1]

    def request(self, cursor: Any, page_size: int, modified_since: datetime | None) -> PageRequest:
        if modified_since is not None:
            raise ValueError(f"{self.path} has no 'changed since' filter")
        params: dict[str, Any] = {"limit": page_size_for(page_size)}
        if cursor:
            params["cursor"] = cursor
        if self.filter:
            params["filter"] = dict(self.filter)
        return PageRequest(self.path, params=encode_params(params))

    def parse(self, response: httpx.Response, cursor: Any, page_size: int) -> Page[M]:
        body = read_body(response)
        items = _items(body, self.key, self.model, response)
        following = (body.get("pagination") or {}).get("nextCursor")
        return Page(items=items, next_cursor=following if items and following else None)
