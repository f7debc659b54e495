"""The vtiger webservice on the wire, without I/O.

- one endpoint, ``webservice.php``; each operation with the method of its type
  in vtiger's operation table (:data:`OPERATION_METHODS`);
- answers ``{"success": true, "result": ...}`` or, with HTTP 200,
  ``{"success": false, "error": {"code", "message"}}`` (typed in ``_errors.py``);
- ``login`` with ``accessKey = md5(challenge token + user access key)`` gives
  ``sessionName`` (vtiger) or ``sessionId`` (ABMS);
- records, their ids (``12x34``) and datetimes (``Y-m-d H:i:s`` UTC);
- ``sync`` answers windows of changes with ``more`` and ``lastModifiedTime``,
  and takes ``syncType``. Query paging is in ``_query.py``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from typing import Any

import attrs
import httpx

from .._json import response_json
from .._log import redact_url
from .._pagination import Page, PageRequest
from ..errors import ProtocolError
from ._errors import envelope_error

__all__ = [
    "GET_OPERATIONS",
    "OPERATION_METHODS",
    "SYNC_TYPES",
    "WIDEST_SYNC_TYPE",
    "Record",
    "SyncChange",
    "SyncStrategy",
    "VtigerId",
    "access_key_digest",
    "checked_rows",
    "endpoint_url",
    "malformed",
    "record_of",
    "records_from",
    "records_of",
    "result_of",
]

#: The HTTP method of each operation: vtiger reads a GET-type operation's inputs from
#: the query string and a POST-type one's from the form body, whatever the method
#: (``include/Webservices/OperationManager.php``; the types are vtiger's
#: ``vtiger_ws_operation`` rows, ``setup/sql/dump_firstinstall.sql`` in
#: ``thinkingreed-inc/F-RevoCRM``). An operation not listed here is sent as POST.
OPERATION_METHODS: Mapping[str, str] = {
    **dict.fromkeys(
        (
            "getchallenge",
            "query",
            "retrieve",
            "describe",
            "listtypes",
            "sync",
            "relatedtypes",
            "retrieve_related",
            "query_related",
            "retrieve_inventory",
            "files_retrieve",
        ),
        "GET",
    ),
    **dict.fromkeys(
        (
            "login",
            "create",
            "update",
            "revise",
            "delete",
            "logout",
            "extendsession",
            "convertlead",
            "add_related",
        ),
        "POST",
    ),
}
GET_OPERATIONS = frozenset(op for op, method in OPERATION_METHODS.items() if method == "GET")
#: ``sync``'s ``syncType`` values, widest first (``include/Webservices/GetUpdates.php``):
#: every owner (admins only), the user and the user's groups, the user alone.
SYNC_TYPES = ("application", "userandgroup", "user")
#: A ``syncType`` the client's auth flow replaces, once logged in, by the widest
#: the user may use (never sent as is).
WIDEST_SYNC_TYPE = "crmkit:widest"
PAGE_SIZE = 100
#: How vtiger writes a datetime (in UTC).
VTIGER_DATETIME = "%Y-%m-%d %H:%M:%S"
ENDPOINT = "webservice.php"


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


#: An id as vtiger writes it, which :meth:`VtigerId.parse` takes (checked without parsing).
_PLAIN_ID = re.compile(r"[0-9]+x[0-9]+")


def _checked_id(raw: Any) -> VtigerId | None:
    """``raw`` checked now (ValueError), parsed now only when not plain text (else later)."""
    if not raw or (type(raw) is str and _PLAIN_ID.fullmatch(raw) is not None):
        return None
    return VtigerId.parse(raw)


class Record(Mapping[str, Any]):
    """A vtiger record: a read-only mapping of its fields, with a typed :attr:`id`."""

    __slots__ = ("_fields", "_id")

    def __init__(self, fields: Mapping[str, Any]) -> None:
        self._fields = dict(fields)
        self._id = _checked_id(self._fields.get("id"))

    @classmethod
    def _decoded(cls, fields: Any) -> Record:
        """A record of a decoded answer's object, which is its own: kept, not copied."""
        if type(fields) is not dict:
            return cls(fields)
        record = cls.__new__(cls)
        record._fields = fields
        record._id = _checked_id(fields.get("id"))
        return record

    @property
    def id(self) -> VtigerId | None:
        """The record's id (``12x34``), or None when it has none.

        Checked when the record is made; built when first read (a listing of
        thousands whose ids nobody reads builds none).
        """
        parsed = self._id
        if parsed is None:
            raw = self._fields.get("id")
            if not raw:
                return None
            parsed = self._id = VtigerId.parse(raw)
        return parsed

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

    def to_record(self) -> dict[str, Any]:
        """JSON-ready: the fields as vtiger sent them (what the CLI's export writes)."""
        return dict(self._fields)

    def datetime(self, field: str) -> datetime | None:
        """Field ``field`` (``createdtime``, ``modifiedtime`` ...) as an aware UTC datetime.

        vtiger sends datetimes as ``Y-m-d H:i:s`` in UTC; None when the field is
        missing or empty, ValueError when it is not in that format.
        """
        value = self._fields.get(field)
        if value in (None, ""):
            return None
        try:
            moment = datetime.strptime(str(value), VTIGER_DATETIME)
        except ValueError:
            raise ValueError(f"{field} is not a vtiger datetime (Y-m-d H:i:s): {value!r}") from None
        return moment.replace(tzinfo=timezone.utc)


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


def result_of(response: httpx.Response) -> Any:
    """The ``result`` of a successful answer (HTML or empty bodies are ``ProtocolError``)."""
    request = response.request
    if not response.content.strip():
        raise ProtocolError(
            "vtiger answered an empty body", method=request.method, url=redact_url(request.url)
        )
    body = response_json(response, what="a vtiger JSON answer")
    error = envelope_error(response, body)
    if error is not None:
        raise error
    if not isinstance(body, Mapping) or body.get("success") is not True or "result" not in body:
        raise ProtocolError(
            "vtiger's answer has no success/result",
            method=request.method,
            url=redact_url(request.url),
        )
    return body["result"]


def malformed(operation: str, expected: str) -> ProtocolError:
    """The error for a successful answer whose ``result`` is not what ``operation`` gives."""
    return ProtocolError(f"vtiger's {operation} answer is malformed: its result is not {expected}")


def record_of(result: Any, operation: str) -> Record:
    """A ``result`` that must be one record, as a record."""
    if not isinstance(result, Mapping):
        raise malformed(operation, "a record")
    try:
        return Record._decoded(result)
    except ValueError as exc:
        raise malformed(operation, f"a record ({exc})") from None


def records_of(rows: Any, operation: str) -> list[Record]:
    """A ``result`` that must be a list of records, as records."""
    checked, _, parsed = checked_rows(rows, operation)
    return records_from(checked, parsed)


#: A page's ids joined by commas, each as vtiger writes it: one match checks a page.
_PLAIN_IDS = re.compile(f"{_PLAIN_ID.pattern}(?:,{_PLAIN_ID.pattern})*")


def _all_plain(ids: list[Any]) -> bool:
    """Whether every id is text as vtiger writes it (``12x34``), checked page by page."""
    try:
        joined = ",".join(ids)
    except TypeError:  # one is not text (None: a row without an id)
        return False
    # As many commas as joins: no id has one of its own (that would read as two ids).
    return joined.count(",") == len(ids) - 1 and _PLAIN_IDS.fullmatch(joined) is not None


def checked_rows(
    rows: Any, operation: str
) -> tuple[list[dict[str, Any]], list[Any], list[VtigerId | None] | None]:
    """A ``result`` that must be a list of records: its rows as dicts, their raw ids,
    and the ids parsed now (None when every id is plain text: parsed when first read).

    The decoded rows are kept, not copied (another mapping is copied into a dict).
    A row that is no mapping, or an id that is not a vtiger id, is ``ProtocolError``.
    """
    if not isinstance(rows, list):
        raise malformed(operation, "a list of records")
    if not set(map(type, rows)) <= {dict}:  # a decoded answer's rows are dicts
        if not all(isinstance(row, Mapping) for row in rows):
            raise malformed(operation, "a list of records")
        rows = [dict(row) for row in rows]
    ids = [row.get("id") for row in rows]
    if _all_plain(ids):
        return rows, ids, None
    try:
        return rows, ids, [_checked_id(raw) for raw in ids]
    except ValueError as exc:
        raise malformed(operation, f"a list of records ({exc})") from None


def records_from(rows: list[dict[str, Any]], parsed: list[VtigerId | None] | None) -> list[Record]:
    """Records of checked rows (see :func:`checked_rows`), each keeping its row."""
    records: list[Record] = []
    keep, new = records.append, object.__new__
    # One pass, as Record._decoded for each row inlined; plain ids are parsed when read.
    for row, id_ in zip(rows, [None] * len(rows) if parsed is None else parsed, strict=True):
        record = new(Record)
        record._fields = row
        record._id = id_
        keep(record)
    return records


def _updated(record: Record) -> SyncChange:
    if record.id is None:
        raise ProtocolError("vtiger's sync answer has an updated record without an id")
    return SyncChange("updated", record.id, record)


def _asked_since(request: httpx.Request) -> int:
    try:
        return int(request.url.params.get("modifiedTime") or 0)
    except ValueError:
        return 0


@attrs.frozen
class SyncStrategy:
    """``sync`` windows: repeat with ``lastModifiedTime`` while ``more`` is true.

    ``sync_type`` goes out as ``syncType`` (None: not sent, the client fills it).
    """

    module: str | None
    sync_type: str | None = None
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
        if self.sync_type:
            params["syncType"] = self.sync_type
        return PageRequest(ENDPOINT, params=params)

    def parse(self, response: httpx.Response, cursor: Any, page_size: int) -> Page[SyncChange]:
        result = result_of(response)
        if not isinstance(result, Mapping):
            raise ProtocolError("sync result is not an object")
        changes = [_updated(Record._decoded(row)) for row in result.get("updated") or []]
        changes += [SyncChange("deleted", VtigerId.parse(i)) for i in result.get("deleted") or []]
        # The window's start: the cursor, or on the first window what the request asked
        # (modified_since), so that a run stopped there resumes from it, not from 0.
        start = int(cursor) if cursor is not None else _asked_since(response.request)
        last = int(result.get("lastModifiedTime") or start)
        more = result.get("more") is True
        if more and last <= start:
            # The same request would get the same answer: following it never ends.
            raise ProtocolError(
                f"vtiger's sync answered more: true with lastModifiedTime {last}, not past "
                f"{start}: stopping instead of asking for the same window again",
                method=response.request.method,
                url=redact_url(response.request.url),
            )
        # Stopping mid-window resumes at the window's start (its changes come again:
        # at least once); after its last change, at the window's lastModifiedTime.
        cursors = [start] * (len(changes) - 1) + [last] if changes else []
        return Page(items=changes, next_cursor=last if more else None, item_cursors=cursors)
