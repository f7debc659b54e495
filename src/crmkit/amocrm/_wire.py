"""amoCRM (Kommo) on the wire, both dialects, without I/O.

- API v2 (legacy): cookie session from ``POST /private/api/auth.php?type=json``;
  lists ``GET /api/v2/{entity}?limit_rows=&limit_offset=`` (500 at most) answering
  ``{"_embedded": {"items": [...]}}``; writes ``{"add": [...]}`` / ``{"update": [...]}``
  with per-item failures in ``_embedded.errors``;
- API v4: ``Authorization: Bearer``; lists ``?page=&limit=`` (250 at most) with
  ``_links.next``; writes POST (add) / PATCH (update) of a JSON array;
  failures as ``application/problem+json`` with ``validation-errors``;
- both: ``If-Modified-Since: Mon, 01 Aug 2017 07:07:23 UTC`` asks only for what
  changed; 204 means nothing found and ends a listing; 429 over the rate limit;
  403 on everything once the account is blocked (often an nginx HTML page);
  402 when the subscription is over; v2 auth codes 110/111/112/101 (401) and
  113 (IP not allowed, 403).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any, Generic, TypeVar

import attrs
import httpx

from .._json import response_json
from .._log import redact_url
from .._mapping import default_error_mapper, error_for_status
from .._models import from_wire
from .._pagination import Page, PageRequest
from ..errors import (
    AccountBlockedError,
    AuthenticationError,
    CRMError,
    PermissionDeniedError,
    ProtocolError,
    ValidationError,
)

__all__ = [
    "V2_PAGE_MAX",
    "V4_PAGE_MAX",
    "ErrorMapper",
    "V2ListStrategy",
    "V4ListStrategy",
    "if_modified_since",
]

M = TypeVar("M")
V2_PAGE_MAX = 500
V4_PAGE_MAX = 250
WRITE_CHUNK = 250
#: The parents notes hang under: v4's path segment -> v2's ``type`` parameter.
NOTE_PARENTS = {
    "leads": "lead",
    "contacts": "contact",
    "companies": "company",
    "customers": "customer",
    "tasks": "task",
}
_AUTH_CODES = {"110", "111", "112", "101"}
_IP_CODE = "113"


def if_modified_since(when: datetime) -> str:
    """amoCRM's header format (PHP ``D, d M Y H:i:s``, UTC): ``Mon, 01 Aug 2017 07:07:23 UTC``."""
    return when.astimezone(timezone.utc).strftime("%a, %d %b %Y %H:%M:%S UTC")


def _is_html(response: httpx.Response) -> bool:
    kind = response.headers.get("content-type", "")
    return "html" in kind or response.content.lstrip()[:1] == b"<"


def _json_or_none(response: httpx.Response) -> Any:
    if not response.content or _is_html(response):
        return None
    try:
        return response_json(response)
    except ProtocolError:
        return None


def _v2_error(body: Any) -> tuple[str | None, str | None]:
    if isinstance(body, Mapping) and isinstance(body.get("response"), Mapping):
        inner = body["response"]
        code = inner.get("error_code")
        return (str(code) if code is not None else None), inner.get("error")
    return None, None


class ErrorMapper:
    """amoCRM's rules, with one piece of memory: whether the account has worked.

    A 403 is the block (every request refused) when it is an HTML page, or when
    the account answered normally before; a first-call JSON 403 is a plain
    permission refusal (or v2's code 113, IP not allowed).
    """

    def __init__(self) -> None:
        self.worked = False

    def __call__(self, response: httpx.Response) -> CRMError | None:
        status = response.status_code
        if status < 400:
            self.worked = True
            return None
        body = _json_or_none(response)
        code, message = _v2_error(body)
        if status == 403:
            if code == _IP_CODE:
                return error_for_status(
                    response,
                    f"amoCRM refused this machine's IP address (code 113): {message or ''}".strip(),
                    code=code,
                    cls=PermissionDeniedError,
                )
            if _is_html(response) or self.worked:
                return error_for_status(
                    response,
                    "amoCRM has blocked API access for this account (403 on every request; "
                    "usually after repeated rate-limit violations): crmkit sends nothing more",
                    cls=AccountBlockedError,
                )
            return error_for_status(response, _problem_title(body), cls=PermissionDeniedError)
        if status == 401 and code in _AUTH_CODES:
            return error_for_status(
                response,
                f"amoCRM refused the login: {message or code}",
                code=code,
                cls=AuthenticationError,
            )
        if status == 400 and isinstance(body, Mapping) and "validation-errors" in body:
            details = body["validation-errors"]
            return error_for_status(
                response,
                _problem_title(body) or "amoCRM refused the data",
                details=details if isinstance(details, list) else None,
                cls=ValidationError,
            )
        if status == 402:
            return error_for_status(response, "amoCRM: the account's subscription has ended (402)")
        title = _problem_title(body)
        if title:
            return error_for_status(response, title, code=code)
        return default_error_mapper(response)


def _problem_title(body: Any) -> str | None:
    if isinstance(body, Mapping):
        for key in ("title", "detail"):
            if isinstance(body.get(key), str):
                return str(body[key])
        _, message = _v2_error(body)
        return message
    return None


def _embedded(response: httpx.Response, key: str) -> list[Any]:
    body = response_json(response)
    embedded = body.get("_embedded") if isinstance(body, Mapping) else None
    items = embedded.get(key) if isinstance(embedded, Mapping) else None
    if not isinstance(items, list):
        raise ProtocolError(
            f"amoCRM answer has no _embedded.{key} list",
            method=response.request.method,
            url=redact_url(response.request.url),
        )
    return items


@attrs.frozen
class V2ListStrategy(Generic[M]):
    """API v2 lists: ``limit_rows`` / ``limit_offset``; a short page or a 204 ends it."""

    entity: str
    model: type[M]
    params: Mapping[str, Any] = attrs.field(factory=dict)
    max_page_size: int = V2_PAGE_MAX
    default_page_size: int = V2_PAGE_MAX

    def request(self, cursor: Any, page_size: int, modified_since: datetime | None) -> PageRequest:
        params = {**self.params, "limit_rows": page_size, "limit_offset": int(cursor or 0)}
        headers = (
            {"If-Modified-Since": if_modified_since(modified_since)} if modified_since else None
        )
        return PageRequest(f"api/v2/{self.entity}", params=params, headers=headers)

    def cursor_after(self, cursor: Any, page_size: int) -> Any:
        """The offset after a full page (the paginator asks for pages ahead)."""
        return int(cursor or 0) + page_size

    def peek_next(self, response: httpx.Response, cursor: Any, page_size: int) -> Any:
        """The next offset: a full page may have more after it; a short one ends the run."""
        count = len(_embedded(response, "items"))
        return int(cursor or 0) + count if count >= page_size else None

    def parse(self, response: httpx.Response, cursor: Any, page_size: int) -> Page[M]:
        items = [from_wire(v2_to_v4(raw), self.model) for raw in _embedded(response, "items")]
        return Page(items=items, next_cursor=self.peek_next(response, cursor, page_size))


@attrs.frozen
class V4ListStrategy(Generic[M]):
    """API v4 lists: ``page`` / ``limit``; the last page has no ``_links.next``."""

    entity: str
    model: type[M]
    params: Mapping[str, Any] = attrs.field(factory=dict)
    max_page_size: int = V4_PAGE_MAX
    default_page_size: int = V4_PAGE_MAX
    #: The path after ``api/v4/`` when it is not the entity's name (``leads/notes``).
    path: str | None = None

    def request(self, cursor: Any, page_size: int, modified_since: datetime | None) -> PageRequest:
        params: dict[str, Any] = {**self.params, "page": int(cursor or 1), "limit": page_size}
        headers = None
        if modified_since is not None:
            params["filter[updated_at][from]"] = int(modified_since.timestamp())
            headers = {"If-Modified-Since": if_modified_since(modified_since)}
        return PageRequest(f"api/v4/{self.path or self.entity}", params=params, headers=headers)

    def cursor_after(self, cursor: Any, page_size: int) -> Any:
        """The page number after a full page (the paginator asks for pages ahead)."""
        return int(cursor or 1) + 1

    def peek_next(self, response: httpx.Response, cursor: Any, page_size: int) -> Any:
        """The next page number when the answer links to one (the last page does not)."""
        body = response_json(response)
        links = body.get("_links") if isinstance(body, Mapping) else None
        has_next = isinstance(links, Mapping) and bool(links.get("next"))
        return int(cursor or 1) + 1 if has_next else None

    def parse(self, response: httpx.Response, cursor: Any, page_size: int) -> Page[M]:
        items = [from_wire(raw, self.model) for raw in _embedded(response, self.entity)]
        return Page(items=items, next_cursor=self.peek_next(response, cursor, page_size))


def v4_to_v2(item: Mapping[str, Any]) -> dict[str, Any]:
    """An entity to write, from v4's field names to v2's (``sale``, ``custom_fields``)."""
    out = {k: v for k, v in item.items() if k not in ("price", "custom_fields_values")}
    if "price" in item:
        out["sale"] = item["price"]
    if "custom_fields_values" in item:
        out["custom_fields"] = [
            {
                "id": field.get("field_id"),
                **({"code": field["field_code"]} if field.get("field_code") else {}),
                "values": field.get("values") or [],
            }
            for field in item["custom_fields_values"] or []
        ]
    return out


def v2_to_v4(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A v2 entity in v4's field names, so one model reads both dialects."""
    out = dict(raw)
    if "sale" in out and "price" not in out:
        out["price"] = out.pop("sale")
    if "custom_fields" in out and "custom_fields_values" not in out:
        out["custom_fields_values"] = [
            {
                "field_id": field.get("id"),
                "field_code": field.get("code"),
                "field_name": field.get("name"),
                "values": field.get("values") or [],
            }
            for field in out.pop("custom_fields") or []
            if isinstance(field, Mapping)
        ]
    if isinstance(out.get("pipeline"), Mapping) and "pipeline_id" not in out:
        out["pipeline_id"] = out["pipeline"].get("id")
    return out
