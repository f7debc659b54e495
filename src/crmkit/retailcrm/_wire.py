"""RetailCRM API v5 on the wire, without I/O.

What a request looks like (account URL, path segments, nested-bracket GET
parameters, form fields holding JSON, datetimes in the account's time zone),
and which answer means which crmkit error. The client (``_client.py``) only
sends what these functions build; paging is in ``_paging.py``. Facts follow
``shared/api-notes.md`` and the vendor's clients (``retailcrm/api-client-php``,
``retailcrm/api-client-go``):

- GET parameters use nested brackets: ``filter[ids][]=1&filter[ids][]=2``;
- POST is ``application/x-www-form-urlencoded`` with each entity as one JSON field;
- failures are ``{"success": false, "errorMsg": ..., "errors": ...}`` with 200
  or 4xx (``Factory/ApiExceptionFactory.php`` maps the messages);
- a 429 and a 503 (any body) are the rate limit: the Go client (``client.go``
  ``executeWithRetry``) pauses and repeats both, for every method;
- an HTML answer means "no such account" only as
  ``Handler/Response/AccountNotFoundHandler.php`` reads it: a 405 ``text/html``
  to a non-GET (and the service's "Account does not exist" page); a gateway's
  HTML 502/504 is a :class:`~crmkit.ServerError` like any 5xx;
- uploads answer HTTP 460 on partial success, with ``uploaded*`` and
  ``failed*`` lists (``Model/Response/Orders/OrdersUploadResponse.php``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import attrs
import httpx

from .._json import dumps_text, reading, response_json
from .._log import redact_url
from .._mapping import default_error_mapper, error_for_status
from .._models import to_wire
from .._params import _scalar, encode_query
from .._results import WriteResult
from ..errors import (
    APIError,
    AuthenticationError,
    CRMError,
    NotFoundError,
    PermissionDeniedError,
    ProtocolError,
    RateLimitError,
    ServerError,
    ValidationError,
)

__all__ = [
    "DATETIME_FORMAT",
    "PAGE_SIZES",
    "PARTIAL_UPLOAD",
    "ServiceUnavailableError",
    "api_base_url",
    "encode_form",
    "encode_query",
    "error_mapper",
    "format_datetime",
    "localize",
    "page_size_for",
    "parse_datetime",
    "read_body",
    "read_upload",
    "segment",
]

PAGE_SIZES = (20, 50, 100)
#: The API's limit on entities in one ``/upload`` request.
UPLOAD_CHUNK = 50
#: The status of an upload that created some of its entities and refused others.
PARTIAL_UPLOAD = 460
#: How the API writes datetimes, in the account's time zone (``Y-m-d H:i:s``).
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"


class ServiceUnavailableError(RateLimitError, ServerError):
    """A 503: RetailCRM's "Rate limit exceeded" (or a gateway's 503), whatever the body.

    Both a :class:`~crmkit.RateLimitError` (the Session pauses and repeats it,
    for every method, as the vendor's Go client does) and a
    :class:`~crmkit.ServerError` (it is a 5xx).
    """


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


def segment(value: int | str) -> str:
    """A caller's value as one path segment: ``/``, ``?``, ``#``, ``%`` and dot segments escaped.

    ``orders.get("../customers/c-1")`` asks for the order with that externalId,
    never for another path.
    """
    text = str(value)
    if text == "":
        raise ValueError("an id or code in a path cannot be empty")
    quoted = quote(text, safe="")
    return quoted.replace(".", "%2E") if quoted in (".", "..") else quoted


def page_size_for(requested: int | None) -> int:
    """Round a requested page size up to the next size the API allows (100 at most)."""
    if requested is None:
        return PAGE_SIZES[-1]
    if requested < 1:
        raise ValueError(f"page_size must be at least 1, not {requested!r}")
    return next((size for size in PAGE_SIZES if size >= requested), PAGE_SIZES[-1])


# -- datetimes -------------------------------------------------------------------


def format_datetime(value: datetime, tz: tzinfo) -> str:
    """An aware datetime as the API reads it: ``Y-m-d H:i:s`` in the account's zone."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"naive datetime {value.isoformat()!r}: RetailCRM reads times in the account's "
            "time zone, so pass an aware datetime (datetime.now(timezone.utc), ...)"
        )
    return value.astimezone(tz).strftime(DATETIME_FORMAT)


def parse_datetime(text: str, tz: tzinfo) -> datetime:
    """A ``Y-m-d H:i:s`` the API sent, read as the account's local time (an aware datetime)."""
    return datetime.strptime(text, DATETIME_FORMAT).replace(tzinfo=tz)


def localize(params: Any, tz: tzinfo) -> Any:
    """Query pairs with their datetimes written in ``tz`` (other values as they are)."""
    if not isinstance(params, list):
        return params
    return [(k, format_datetime(v, tz) if isinstance(v, datetime) else v) for k, v in params]


def encode_params(params: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """Like :func:`encode_query`, but datetimes are left for :func:`localize` to write."""
    return encode_query(params, keep=(datetime,))


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


def entity_dict(entity: Any) -> dict[str, Any]:
    """An entity (a model or a mapping) as the dict that goes on the wire."""
    if attrs.has(type(entity)):
        wired = to_wire(entity)
        return dict(wired) if isinstance(wired, Mapping) else {}
    if isinstance(entity, Mapping):
        return dict(entity)
    raise TypeError(f"an entity is a crmkit model or a mapping, not {type(entity).__name__}")


# -- answers -----------------------------------------------------------------

_AUTH_MESSAGES = ('"apikey" is missing', 'wrong "apikey" value', "apikey is missing")
_NOT_FOUND_MESSAGES = ("not found", "account does not exist")
_VALIDATION_MESSAGES = ("errors in the entity format", "errors in the input parameters")
_MISSING_ACCOUNT_PAGE = b"account does not exist"


def _is_html(response: httpx.Response) -> bool:
    return "text/html" in response.headers.get("content-type", "").lower()


def _html_error(response: httpx.Response) -> CRMError:
    status = response.status_code
    request = response.request
    page = response.content[:4096].lower()
    if (status == 405 and request.method.upper() != "GET") or _MISSING_ACCOUNT_PAGE in page:
        return error_for_status(
            response,
            f"Account does not exist: no RetailCRM account answers at {request.url.host}; "
            "check the account address",
            cls=NotFoundError,
        )
    if status == 503:
        return error_for_status(response, "HTTP 503 (an HTML page)", cls=ServiceUnavailableError)
    if status >= 500:
        return error_for_status(response, f"HTTP {status} from a gateway (an HTML page)")
    return ProtocolError(
        f"HTTP {status}: the server sent an HTML page, not the API's JSON",
        method=request.method,
        url=redact_url(request.url),
    )


def error_mapper(response: httpx.Response) -> CRMError | None:
    """The Session's error mapper for RetailCRM (see the module docstring)."""
    status = response.status_code
    if status == PARTIAL_UPLOAD:
        return None  # the upload reads both lists (read_upload)
    if _is_html(response):
        return _html_error(response)
    if status < 400 and b'"success":false' not in response.content[:40]:
        return None
    try:
        body = response_json(response)
    except ProtocolError as exc:
        if status == 503:
            return error_for_status(response, cls=ServiceUnavailableError)
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
    if status == 503:
        cls = ServiceUnavailableError
    elif status == 429 or "rate limit" in low:
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


def read_upload(
    chunk: Sequence[Mapping[str, Any]], body: Mapping[str, Any], uploaded: str, failed: str
) -> WriteResult:
    """One upload's answer (200, 201 or 460) as ids in input order and errors by index.

    Items are matched by ``externalId``; items without one take the uploaded
    entries without one, in order, when the counts say which they are, and are
    reported failed ("not said") when they cannot be told apart.
    """
    done = [row for row in _listed(body.get(uploaded)) if isinstance(row, Mapping)]
    refused = [row for row in _listed(body.get(failed)) if isinstance(row, Mapping)]
    by_external = {str(r["externalId"]): r for r in done if r.get("externalId") not in (None, "")}
    failed_external = {str(r.get("externalId")) for r in refused}
    anonymous = [r for r in done if r.get("externalId") in (None, "")]
    errors_raw = body.get("errors")
    message = body.get("errorMsg") or "refused"
    ids: list[int | None] = []
    errors: dict[int, Any] = {}
    unnamed = [n for n, item in enumerate(chunk) if item.get("externalId") in (None, "")]
    unnamed_ok = len(anonymous) == len(unnamed)

    def why(n: int, external: str | None) -> Any:
        if isinstance(errors_raw, Mapping):
            for key in (str(n), external):
                if key is not None and key in errors_raw:
                    return {"errorMsg": message, "errors": errors_raw[key]}
        return {"errorMsg": message, "errors": errors_raw}

    for n, item in enumerate(chunk):
        external = item.get("externalId")
        if external not in (None, ""):
            row = by_external.get(str(external))
            with reading("the upload answer"):
                ids.append(int(row["id"]) if row is not None and "id" in row else None)
            if row is None:
                errors[n] = (
                    why(n, str(external))
                    if str(external) in failed_external
                    else {"errorMsg": "the service did not report this item"}
                )
        elif unnamed_ok:
            row = anonymous[unnamed.index(n)]
            with reading("the upload answer"):
                ids.append(int(row["id"]) if "id" in row else None)
        else:
            ids.append(None)
            errors[n] = {
                "errorMsg": "the service did not say whether this item (no externalId) was "
                "created; give every item an externalId to know",
                "errors": errors_raw,
            }
    return WriteResult(ids=ids, errors=errors)


def _listed(value: Any) -> list[Any]:
    """An answer's list, or nothing when the field is missing, null or not a list."""
    return value if isinstance(value, list) else []


def listed(body: Mapping[str, Any], key: str, what: str) -> list[Any]:
    """``body[key]`` as a list (missing or null: empty); any other shape is a ProtocolError."""
    value = body.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ProtocolError(f"malformed {what}: {key!r} is {type(value).__name__}, not a list")
    return value


def chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
