"""RetailCRM API v5 on the wire, without I/O.

What a request looks like (account URL, nested-bracket GET parameters, form
fields holding JSON), how a page or a history window is read, and which answer
means which crmkit error. The client (``_client.py``) only sends what these
functions build. Facts follow ``shared/api-notes.md``:

- GET parameters use nested brackets: ``filter[ids][]=1&filter[ids][]=2``;
- POST is ``application/x-www-form-urlencoded`` with each entity as one JSON field;
- list pages are 20, 50 or 100 long; history advances ``filter[sinceId]`` and
  never sends ``page`` (the server refuses the two together since 2023);
- failures are ``{"success": false, "errorMsg": ..., "errors": ...}`` with 200
  or 4xx; over the rate limit the server answers 429 or
  ``503 {"errorMsg": "Rate limit exceeded"}``; an unknown account answers HTML.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit, urlunsplit

import attrs
import httpx

from .._json import dumps_text, response_json
from .._log import redact_url
from .._mapping import default_error_mapper, error_for_status
from .._models import from_wire, to_wire
from .._pagination import Page, PageRequest
from .._params import _scalar, encode_query
from ..errors import (
    APIError,
    AuthenticationError,
    CRMError,
    NotFoundError,
    PermissionDeniedError,
    ProtocolError,
    RateLimitError,
    ValidationError,
)

__all__ = [
    "PAGE_SIZES",
    "HistoryStrategy",
    "ListStrategy",
    "api_base_url",
    "encode_form",
    "encode_query",
    "error_mapper",
    "page_size_for",
    "read_body",
]

M = TypeVar("M")

PAGE_SIZES = (20, 50, 100)
#: The API's limit on entities in one ``/upload`` request.
UPLOAD_CHUNK = 50


def api_base_url(url: str) -> str:
    """``https://demo.retailcrm.ru/`` or ``.../api/v5`` -> ``https://demo.retailcrm.ru/api/v5/``."""
    text = url.strip()
    parts = urlsplit(text)
    if not parts.scheme or not parts.netloc:
        raise ValueError(
            f"RetailCRM url must be the account's address, like https://demo.retailcrm.ru, "
            f"not {redact_url(text)!r}"
        )
    path = parts.path.rstrip("/")
    for suffix in ("/api/v5", "/api"):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
            break
    return urlunsplit((parts.scheme, parts.netloc, path + "/api/v5/", "", ""))


def page_size_for(requested: int | None) -> int:
    """Round a requested page size up to the next size the API allows (100 at most)."""
    if requested is None:
        return PAGE_SIZES[-1]
    if requested < 1:
        raise ValueError(f"page_size must be at least 1, not {requested!r}")
    return next((size for size in PAGE_SIZES if size >= requested), PAGE_SIZES[-1])


def encode_form(fields: Mapping[str, Any]) -> dict[str, str]:
    """Form fields: entities (mappings, lists, models) as one JSON text each, scalars as text."""
    out: dict[str, str] = {}
    for key, value in fields.items():
        if value is None:
            continue
        if attrs.has(type(value)):
            value = to_wire(value)
        if isinstance(value, (Mapping, list, tuple)):
            out[key] = dumps_text(
                [to_wire(v) if attrs.has(type(v)) else v for v in value]
                if isinstance(value, (list, tuple))
                else value
            )
        else:
            out[key] = _scalar(value)
    return out


# -- answers -----------------------------------------------------------------

_AUTH_MESSAGES = ('"apikey" is missing', 'wrong "apikey" value', "apikey is missing")
_NOT_FOUND_MESSAGES = ("not found", "account does not exist")
_VALIDATION_MESSAGES = ("errors in the entity format", "errors in the input parameters")


def _looks_html(response: httpx.Response) -> bool:
    kind = response.headers.get("content-type", "")
    return "html" in kind or response.content.lstrip()[:1] == b"<"


def error_mapper(response: httpx.Response) -> CRMError | None:
    """The Session's error mapper for RetailCRM (see the module docstring)."""
    status = response.status_code
    content = response.content
    if status < 400 and not _looks_html(response) and b'"success":false' not in content[:40]:
        return None
    if _looks_html(response):
        if status == 429 or status >= 500:  # a gateway's page (nginx 502): transient, retried
            return default_error_mapper(response)
        host = response.request.url.host
        return error_for_status(
            response,
            f"no RetailCRM account answers at {host}: check the account address "
            "(the server sent an HTML page, not the API)",
            cls=NotFoundError,
        )
    try:
        body = response_json(response)
    except ProtocolError as exc:
        if status == 429 or status >= 500:
            return default_error_mapper(response)
        return exc
    if not isinstance(body, Mapping):
        return default_error_mapper(response)
    message = str(body.get("errorMsg") or "") or None
    errors = body.get("errors")
    details: Mapping[str, Any] | list[Any] | None = (
        errors if isinstance(errors, (Mapping, list)) else None
    )
    low = (message or "").lower()
    cls: type[APIError] | None = None
    if status == 429 or "rate limit" in low:
        cls = RateLimitError
    elif any(m in low for m in _AUTH_MESSAGES):
        cls = AuthenticationError
    elif low.startswith("access denied"):
        cls = PermissionDeniedError
    elif any(m in low for m in _NOT_FOUND_MESSAGES):
        cls = NotFoundError
    elif any(m in low for m in _VALIDATION_MESSAGES) or low.startswith("parameter "):
        cls = ValidationError
    elif status < 400:
        cls = APIError
    if status < 400 and body.get("success") is not False:
        return None
    return error_for_status(response, message, details=details, cls=cls)


def read_body(response: httpx.Response) -> dict[str, Any]:
    """The decoded answer of a successful call, checked to be a RetailCRM object."""
    body = response_json(response)
    if not isinstance(body, dict):
        raise ProtocolError(
            f"expected a JSON object, got {type(body).__name__}",
            method=response.request.method,
            url=redact_url(response.request.url),
        )
    return body


def _items(body: Mapping[str, Any], key: str, model: type[M], response: httpx.Response) -> list[M]:
    raw = body.get(key)
    if raw is None:
        raw = []
    if isinstance(raw, Mapping):  # some references answer {code: {...}}
        raw = list(raw.values())
    if not isinstance(raw, list):
        raise ProtocolError(
            f"expected {key!r} as a list",
            method=response.request.method,
            url=redact_url(response.request.url),
        )
    return [from_wire(item, model, what=f"{key}[{n}]") for n, item in enumerate(raw)]


# -- paging strategies ---------------------------------------------------------


@attrs.frozen
class ListStrategy(Generic[M]):
    """Page-numbered lists: ``GET /customers?limit=&page=&filter[...]``."""

    path: str
    key: str
    model: type[M]
    filter: Mapping[str, Any] | None = None
    site: str | None = None
    max_page_size: int = PAGE_SIZES[-1]
    default_page_size: int = PAGE_SIZES[-1]

    def request(self, cursor: Any, page_size: int, modified_since: datetime | None) -> PageRequest:
        params: dict[str, Any] = {"limit": page_size_for(page_size), "page": cursor or 1}
        filters = dict(self.filter or {})
        if modified_since is not None:
            filters.setdefault("updatedAtFrom", modified_since)
        if filters:
            params["filter"] = filters
        if self.site:
            params["site"] = self.site
        return PageRequest(self.path, params=encode_query(params))

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
        return PageRequest(self.path, params=encode_query(params))

    def parse(self, response: httpx.Response, cursor: Any, page_size: int) -> Page[M]:
        body = read_body(response)
        items = _items(body, "history", self.model, response)
        ids = [int(getattr(item, "id")) for item in items]  # noqa: B009 - M is any model
        pagination = body.get("pagination") or {}
        more = int(pagination.get("totalPageCount", 1 if items else 0)) > 1
        return Page(
            items=items,
            next_cursor=ids[-1] if items and more else None,
            total=None,
            item_cursors=ids,
        )


def chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
