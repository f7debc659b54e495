"""The vtiger webservice on the wire, without I/O.

- one endpoint, ``webservice.php``; GET for query, retrieve, describe,
  listtypes, sync and getchallenge, POST (form) for login, create, update,
  revise, delete and logout;
- answers ``{"success": true, "result": ...}`` or, with HTTP 200,
  ``{"success": false, "error": {"code", "message"}}``;
- ``login`` with ``accessKey = md5(challenge token + user access key)`` gives
  ``sessionName`` (vtiger) or ``sessionId`` (ABMS);
- queries end in ``;`` and the server clamps a page to 100 rows;
- ``sync`` answers windows of changes with ``more`` and ``lastModifiedTime``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

import attrs
import httpx

from .._json import response_json
from .._log import redact_url
from .._mapping import default_error_mapper, error_for_status
from .._pagination import Page, PageRequest
from ..errors import (
    APIError,
    AuthenticationError,
    CRMError,
    NotFoundError,
    PermissionDeniedError,
    ProtocolError,
    ValidationError,
)

__all__ = [
    "GET_OPERATIONS",
    "SESSION_ERRORS",
    "QueryStrategy",
    "Record",
    "SyncChange",
    "SyncStrategy",
    "VtigerError",
    "VtigerId",
    "access_key_digest",
    "endpoint_url",
    "error_mapper",
    "result_of",
]

GET_OPERATIONS = frozenset({"query", "retrieve", "describe", "listtypes", "sync", "getchallenge"})
#: Error codes after which a new login is worth one retry.
SESSION_ERRORS = frozenset(
    {
        "INVALID_SESSIONID",
        "SESSION_EXPIRED",
        "SESSION_LEFT_IDLE",
        "AUTHENTICATION_REQUIRED",
        "INVALID_AUTH_TOKEN",
    }
)
PAGE_SIZE = 100
ENDPOINT = "webservice.php"
_LIMIT = re.compile(r"\bLIMIT\s+\d+(\s*,\s*\d+)?\s*;?\s*$", re.IGNORECASE)


def access_key_digest(token: str, access_key: str) -> str:
    """``md5(challenge token + user access key)`` as lowercase hex: the login's ``accessKey``."""
    return hashlib.md5((token + access_key).encode(), usedforsecurity=False).hexdigest()


def endpoint_url(url: str) -> str:
    """``https://crm.example.com`` or ``.../webservice.php`` -> the ``webservice.php`` URL."""
    text = url.strip().rstrip("/")
    if not text.startswith(("https://", "http://")):
        raise ValueError(f"vtiger url must be the CRM's https:// address, not {text!r}")
    return text if text.endswith("/webservice.php") else text + "/webservice.php"


@attrs.frozen(order=True)
class VtigerId:
    """A record id as vtiger writes it: ``12x34`` (module type id ``x`` record number)."""

    module_id: int
    record_id: int

    @classmethod
    def parse(cls, value: str | VtigerId) -> VtigerId:
        if isinstance(value, VtigerId):
            return value
        head, sep, tail = str(value).partition("x")
        if not sep or not head.isdigit() or not tail.isdigit():
            raise ValueError(f"not a vtiger id (like 12x34): {value!r}")
        return cls(int(head), int(tail))

    def __str__(self) -> str:
        return f"{self.module_id}x{self.record_id}"


class Record(Mapping[str, Any]):
    """A vtiger record: a read-only mapping of its fields, with a typed :attr:`id`."""

    __slots__ = ("_fields", "id")

    def __init__(self, fields: Mapping[str, Any]) -> None:
        self._fields = dict(fields)
        raw = self._fields.get("id")
        self.id: VtigerId | None = VtigerId.parse(raw) if raw else None

    def __getitem__(self, key: str) -> Any:
        return self._fields[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __repr__(self) -> str:
        return f"Record({self._fields!r})"

    def to_dict(self) -> dict[str, Any]:
        return dict(self._fields)


@attrs.frozen
class SyncChange:
    """One change from ``sync``: an updated record, or the id of a deleted one."""

    kind: str  # "updated" or "deleted"
    id: VtigerId
    record: Record | None = None

    def to_record(self) -> dict[str, Any]:
        """JSON-ready: ``{"kind", "id": "12x34", "record": {...} or None}``."""
        record = self.record.to_dict() if self.record is not None else None
        return {"kind": self.kind, "id": str(self.id), "record": record}


class VtigerError(APIError):
    """vtiger answered ``success: false``; ``code`` is its error code."""


class VtigerNotFoundError(VtigerError, NotFoundError):
    """``RECORD_NOT_FOUND``."""


class VtigerAccessDeniedError(VtigerError, PermissionDeniedError):
    """``ACCESS_DENIED`` (and other refusals of permission)."""


class VtigerAuthenticationError(VtigerError, AuthenticationError):
    """Bad credentials, or a session the server would not renew."""


class VtigerValidationError(VtigerError, ValidationError):
    """``MANDATORY_FIELDS_MISSING``, ``QUERY_SYNTAX_ERROR`` (with the parser's message) ..."""


_BY_CODE: dict[str, type[VtigerError]] = {
    "RECORD_NOT_FOUND": VtigerNotFoundError,
    "ACCESS_DENIED": VtigerAccessDeniedError,
    "INVALID_USER_CREDENTIALS": VtigerAuthenticationError,
    "INVALID_AUTH_TOKEN": VtigerAuthenticationError,
    "MANDATORY_FIELDS_MISSING": VtigerValidationError,
    "QUERY_SYNTAX_ERROR": VtigerValidationError,
    "INVALID_ID_ATTRIBUTE": VtigerValidationError,
    **{code: VtigerAuthenticationError for code in SESSION_ERRORS},
}


def envelope_error(response: httpx.Response, body: Any) -> VtigerError | None:
    """The error of a ``success: false`` answer, or None."""
    if not isinstance(body, Mapping) or body.get("success") is not False:
        return None
    raw_error = body.get("error")
    error: Mapping[str, Any] = raw_error if isinstance(raw_error, Mapping) else {}
    code = str(error.get("code") or "UNKNOWN_ERROR")
    message = str(error.get("message") or code)
    cls = _BY_CODE.get(code, VtigerError)
    built = error_for_status(response, message, code=code, cls=cls)
    assert isinstance(built, VtigerError)
    return built


def error_mapper(response: httpx.Response) -> CRMError | None:
    """The Session's error mapper: HTTP failures, then ``success: false`` inside a 200."""
    if response.status_code == 403:
        return error_for_status(
            response,
            "the CRM refused this machine's IP address (ABMS allows only whitelisted IPs: "
            "ask the CRM's administrator to add it)",
            cls=PermissionDeniedError,
        )
    if response.status_code >= 400:
        return default_error_mapper(response)
    if b'"success":false' not in response.content[:64]:
        return None
    try:
        body = response_json(response)
    except ProtocolError as exc:
        return exc
    return envelope_error(response, body)


def result_of(response: httpx.Response) -> Any:
    """The ``result`` of a successful answer (HTML or empty bodies are ``ProtocolError``)."""
    request = response.request
    where = {"method": request.method, "url": redact_url(request.url)}
    if not response.content.strip():
        raise ProtocolError("vtiger answered an empty body", **where)
    body = response_json(response, what="a vtiger JSON answer")
    error = envelope_error(response, body)
    if error is not None:
        raise error
    if not isinstance(body, Mapping) or body.get("success") is not True or "result" not in body:
        raise ProtocolError("vtiger's answer has no success/result", **where)
    return body["result"]


def finish_query(query: str) -> tuple[str, bool]:
    """``query`` ending in ``;`` without it, and whether it has its own LIMIT."""
    text = query.strip().rstrip(";").strip()
    if not text:
        raise ValueError("empty VTQL query")
    return text, bool(_LIMIT.search(text))


@attrs.frozen
class QueryStrategy:
    """``query`` pages: ``LIMIT offset, 100`` appended unless the query has its own LIMIT."""

    query: str
    has_limit: bool
    max_page_size: int = PAGE_SIZE
    default_page_size: int = PAGE_SIZE

    def request(self, cursor: Any, page_size: int, modified_since: datetime | None) -> PageRequest:
        text = self.query
        if not self.has_limit:
            text += f" LIMIT {int(cursor or 0)}, {page_size}"
        return PageRequest(ENDPOINT, params={"operation": "query", "query": text + ";"})

    def cursor_after(self, cursor: Any, page_size: int) -> Any:
        """The offset after a full page (the paginator asks for pages ahead), unless
        the query has its own LIMIT (one page only)."""
        return None if self.has_limit else int(cursor or 0) + page_size

    def parse(self, response: httpx.Response, cursor: Any, page_size: int) -> Page[Record]:
        rows = result_of(response)
        if not isinstance(rows, list):
            raise ProtocolError("query result is not a list")
        records = [Record(row) for row in rows]
        full = len(records) >= page_size
        next_cursor = int(cursor or 0) + len(records) if full and not self.has_limit else None
        return Page(items=records, next_cursor=next_cursor)


@attrs.frozen
class SyncStrategy:
    """``sync`` windows: repeat with ``lastModifiedTime`` while ``more`` is true."""

    module: str | None
    max_page_size: int = PAGE_SIZE
    default_page_size: int = PAGE_SIZE
    streaming: bool = True

    def request(self, cursor: Any, page_size: int, modified_since: datetime | None) -> PageRequest:
        since = (
            cursor
            if cursor is not None
            else int(modified_since.timestamp())
            if modified_since
            else 0
        )
        params: dict[str, Any] = {"operation": "sync", "modifiedTime": int(since)}
        if self.module:
            params["elementType"] = self.module
        return PageRequest(ENDPOINT, params=params)

    def parse(self, response: httpx.Response, cursor: Any, page_size: int) -> Page[SyncChange]:
        result = result_of(response)
        if not isinstance(result, Mapping):
            raise ProtocolError("sync result is not an object")
        changes = [
            SyncChange("updated", VtigerId.parse(row["id"]), Record(row))
            for row in result.get("updated") or []
        ]
        changes += [SyncChange("deleted", VtigerId.parse(i)) for i in result.get("deleted") or []]
        last = int(result.get("lastModifiedTime") or cursor or 0)
        # Stopping mid-window resumes at the window's start (its changes come again:
        # at least once); after its last change, at the window's lastModifiedTime.
        start = cursor if cursor is not None else 0
        cursors = [start] * (len(changes) - 1) + [last] if changes else []
        return Page(
            items=changes,
            next_cursor=last if result.get("more") else None,
            item_cursors=cursors,
        )
