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

import re
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import attrs
import httpx

from .._json import response_json
from .._log import redact_url
from .._mapping import default_error_mapper, error_for_status
from .._models import from_wire
from .._pagination import Page, PageRequest
from .._params import encode_query
from ..errors import (
    AccountBlockedError,
    AuthenticationError,
    CRMError,
    PermissionDeniedError,
    ProtocolError,
    ValidationError,
)
from ._v2_fields import v2_to_v4

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
#: v4 lists read by ``updated_at``: they page in ``order[updated_at]=asc`` so that pages
#: stay stable while records change (tasks and events take no such order).
ORDERED_BY_UPDATE = frozenset({"leads", "contacts", "companies", "customers", "notes"})
#: v4 has notes under these (no ``tasks/notes``: amoCRM v4 docs, official PHP SDK EntityNotes).
V4_NOTE_PARENTS = {k: v for k, v in NOTE_PARENTS.items() if k != "tasks"}
_AUTH_CODES = {"110", "111", "112", "101"}
_IP_CODE = "113"


def unix_seconds(value: Any, name: str) -> Any:
    """Every datetime in ``value`` (nested) as unix seconds; a naive one is a ValueError.

    amoCRM's date filters take unix seconds (``filter[updated_at][from]=1704067200``).
    """
    if isinstance(value, datetime):
        if value.utcoffset() is None:
            raise ValueError(
                f"{name}: naive datetime {value!r}; pass an aware one (tzinfo=timezone.utc)"
            )
        return int(value.timestamp())
    if isinstance(value, Mapping):
        return {key: unix_seconds(inner, f"{name}[{key}]") for key, inner in value.items()}
    if isinstance(value, (list, tuple)):
        if any(isinstance(inner, Mapping) for inner in value):
            # filter[statuses][0][pipeline_id]=1: a list of objects goes by position
            return {str(n): unix_seconds(inner, f"{name}[{n}]") for n, inner in enumerate(value)}
        return [unix_seconds(inner, f"{name}[]") for inner in value]
    return value


def list_params(
    entity: str,
    api_version: int,
    *,
    filter: Mapping[str, Any] | None,
    order: Mapping[str, str] | None,
    query: str | None,
    params: Mapping[str, Any],
) -> dict[str, Any]:
    """The query of a list: filters (dates as unix seconds), order, search, the rest as given.

    A repeated name keeps every value (``filter[id][]=1&filter[id][]=2``).
    """
    out: dict[str, Any] = {}
    pairs = encode_query(unix_seconds({"filter": filter or {}, "order": order or {}}, "filter"))
    for key, value in pairs:
        out.setdefault(key, []).append(value)
    out.update(unix_seconds(dict(params), "params"))
    if query:
        out["query"] = query
    if api_version == 4 and entity in ORDERED_BY_UPDATE and not order:
        out["order[updated_at]"] = "asc"
    return out


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


#: A JSON 403 this soon after a 429 is taken for the block (Kommo's "limitations" page:
#: repeated violations, then every request refused).
BLOCK_WINDOW = 60.0
_ID_SEGMENT = re.compile(r"/\d+(?=/|$)")


class ErrorMapper:
    """amoCRM's rules, with memory of the calls that worked and of the last 429.

    A 403 is the block (every request refused) when it is an HTML page (nginx's),
    or when it is JSON on a call (method and path) that answered normally
    before, arriving after 429s in the last minute. Any other JSON 403 is an
    ordinary refusal ("insufficient rights for this method", e.g.
    ``/api/v4/users`` for a non-admin user; the official PHP SDK's
    ``AmoCRMApiRequest::checkHttpStatus`` and Krukov's ``amocrm.v2.interaction``
    treat 403 as a refusal): ``PermissionDeniedError``, and the Session goes
    on. v2's code 113 (IP not allowed) is a refusal too.
    """

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        #: The calls (method and path, ids folded) that have answered normally.
        self.worked: set[str] = set()
        self._now = now
        self.last_rate_limited: float | None = None

    @staticmethod
    def _call(response: httpx.Response) -> str:
        request = response.request
        return f"{request.method} {_ID_SEGMENT.sub('/{id}', request.url.path)}"

    def _recently_rate_limited(self) -> bool:
        last = self.last_rate_limited
        return last is not None and self._now() - last <= BLOCK_WINDOW

    def __call__(self, response: httpx.Response) -> CRMError | None:
        status = response.status_code
        if status < 400:
            self.worked.add(self._call(response))
            return None
        if status == 429:
            self.last_rate_limited = self._now()
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
            had_worked = self._call(response) in self.worked
            if _is_html(response) or (had_worked and self._recently_rate_limited()):
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


def protocol_error(response: httpx.Response, message: str) -> ProtocolError:
    """A ``ProtocolError`` naming the request (secrets removed)."""
    return ProtocolError(
        message, method=response.request.method, url=redact_url(response.request.url)
    )


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
        items = [
            from_wire(v2_to_v4(raw, self.entity), self.model)
            for raw in _embedded(response, "items")
        ]
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
    #: ``_embedded`` parts of each item read as its own fields (a pipeline's ``statuses``).
    lift: tuple[str, ...] = ()

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
        items = [
            from_wire(lift_embedded(raw, self.lift), self.model)
            for raw in _embedded(response, self.entity)
        ]
        return Page(items=items, next_cursor=self.peek_next(response, cursor, page_size))


def lift_embedded(raw: Any, keys: tuple[str, ...]) -> Any:
    """``raw`` with ``_embedded[key]`` copied up as ``raw[key]`` for each of ``keys``."""
    if not keys or not isinstance(raw, Mapping) or not isinstance(raw.get("_embedded"), Mapping):
        return raw
    embedded = raw["_embedded"]
    return {**raw, **{key: embedded[key] for key in keys if key in embedded}}


def segment(value: Any) -> str:
    """A caller's value as one URL path segment: percent-encoded, never ``/``, ``.`` or ``..``."""
    text = str(value)
    if text in ("", ".", ".."):
        raise ValueError(f"{text!r} cannot be a path segment")
    return quote(text, safe="")
