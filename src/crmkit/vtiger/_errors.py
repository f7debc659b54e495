"""vtiger's errors: ``success: false`` answers as typed crmkit errors, without I/O.

vtiger answers a failure with HTTP 200 and ``{"success": false, "error": {"code",
"message"}}``. Every code of ``include/Webservices/WebServiceErrorCode.php``
(``vtiger-crm/vtigercrm``; vtiger 7: ``thinkingreed-inc/F-RevoCRM``) becomes the
crmkit error it means; an unknown code is a plain :class:`VtigerError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from .._json import response_json
from .._mapping import default_error_mapper, error_for_status
from ..errors import (
    APIError,
    AuthenticationError,
    CRMError,
    NotFoundError,
    PermissionDeniedError,
    ProtocolError,
    ServerError,
    ValidationError,
)

__all__ = [
    "ERROR_CODES",
    "SESSION_ERRORS",
    "VtigerAccessDeniedError",
    "VtigerAuthenticationError",
    "VtigerError",
    "VtigerNotFoundError",
    "VtigerServerError",
    "VtigerValidationError",
    "envelope_error",
    "error_mapper",
]

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


class VtigerServerError(VtigerError, ServerError):
    """vtiger failed to do it: ``INTERNAL_SERVER_ERROR``, ``DATABASE_QUERY_ERROR`` ..."""


#: Every code of vtiger's ``include/Webservices/WebServiceErrorCode.php`` (vtiger 7,
#: ``thinkingreed-inc/F-RevoCRM``), by the crmkit error it means.
_CODES_BY_ERROR: dict[type[VtigerError], tuple[str, ...]] = {
    VtigerAuthenticationError: (
        *sorted(SESSION_ERRORS),  # SESSION_EXPIRED, SESSION_LEFT_IDLE, INVALID_SESSIONID, ...
        "INVALID_USER_CREDENTIALS",
        "AUTHENTICATION_FAILURE",
        "ACCESSKEY_UNDEFINED",
    ),
    VtigerAccessDeniedError: ("ACCESS_DENIED", "OPERATION_NOT_SUPPORTED"),
    VtigerNotFoundError: ("RECORD_NOT_FOUND", "UNKOWN_ENTITY", "UNKNOWN_OPERATION"),
    VtigerValidationError: (
        "MANDATORY_FIELDS_MISSING",
        "QUERY_SYNTAX_ERROR",
        "INVALID_ID_ATTRIBUTE",
        "REFERENCE_INVALID",
        "INVALID_POTENTIAL_FOR_CONVERTLEAD",
        "LEAD_ALREADY_CONVERTED",
        "POTENTIAL_ALREADY_CONVERTED",
        "INVALID_OLD_PASSWORD",
        "NEW_PASSWORD_MISMATCH",
        "CURRENCY_INACTIVE",
        "INVALID_PARAMETER",
    ),
    VtigerServerError: (
        "INTERNAL_SERVER_ERROR",
        "DATABASE_QUERY_ERROR",
        "FAILED_TO_CREATE",
        "FAILED_TO_CREATE_RELATION",
        "FAILED_TO_MARK_LEAD_CONVERTED",
        "LEAD_RELATEDLIST_UPDATE_FAILED",
        "FAILED_TO_MARK_POTENTIAL_CONVERTED",
        "POTENTIAL_RELATEDLIST_UPDATE_FAILED",
        "CHANGE_PASSWORD_FAILURE",
    ),
}
ERROR_CODES: Mapping[str, type[VtigerError]] = {
    code: cls for cls, codes in _CODES_BY_ERROR.items() for code in codes
}


def envelope_error(response: httpx.Response, body: Any) -> VtigerError | None:
    """The error of a ``success: false`` answer, or None."""
    if not isinstance(body, Mapping) or body.get("success") is not False:
        return None
    raw_error = body.get("error")
    error: Mapping[str, Any] = raw_error if isinstance(raw_error, Mapping) else {}
    code = str(error.get("code") or "UNKNOWN_ERROR")
    message = str(error.get("message") or code)
    cls = ERROR_CODES.get(code, VtigerError)
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
