"""One exception tree for every platform crmkit speaks to.

The tree::

    CRMError
     ├── APIError                  the platform answered, and the answer is a failure
     │    ├── AuthenticationError   401, wrong or expired credentials
     │    ├── PaymentRequiredError  402, the account's subscription is over
     │    ├── PermissionDeniedError 403, not allowed (an IP allow-list, a scope)
     │    │    └── AccountBlockedError  the account is blocked: nothing more is sent
     │    ├── NotFoundError         404, or the platform's own "not found"
     │    ├── ValidationError       400/422 with field details
     │    ├── RateLimitError        429 or the platform's own rate-limit answer
     │    └── ServerError           5xx
     ├── TransportError            no answer: connection refused or dropped, timeout
     └── ProtocolError             an answer that cannot be read (bad JSON, HTML, missing fields)

Every :class:`APIError` carries the HTTP status, the platform's own code and
message, and the request's method and URL with secrets removed. Platform
modules subclass these (``crmkit.corezoid.OpError``, ``crmkit.vtiger.VtigerError``)
so that ``except crmkit.NotFoundError`` works whatever the platform.

This module holds no logic beyond formatting; which answer becomes which error
is decided by the Session's error mapping and the platforms' wire modules.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "APIError",
    "AccountBlockedError",
    "AuthenticationError",
    "CRMError",
    "NotFoundError",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "ProtocolError",
    "RateLimitError",
    "ServerError",
    "SessionClosedError",
    "TransportError",
    "ValidationError",
]


class CRMError(Exception):
    """Base of every error crmkit raises on purpose."""

    def __init__(self, message: str, *, method: str | None = None, url: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        #: The request URL with secret query values and path signatures replaced by ``***``.
        self.url = url

    def __str__(self) -> str:
        where = f" ({self.method} {self.url})" if self.method and self.url else ""
        return f"{self.message}{where}"


class APIError(CRMError):
    """The platform answered, and its answer is a failure.

    ``status`` is the HTTP status (a platform failure inside a 200 keeps 200),
    ``code`` the platform's own error code where it gives one (``"INVALID_SESSIONID"``,
    ``"obj_id_not_found"``, ``110``), ``message`` its message, ``details`` any
    structured detail it sent (validation errors by field).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | int | None = None,
        details: Mapping[str, Any] | list[Any] | None = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message, method=method, url=url)
        self.status = status
        self.code = code
        self.details = details

    def __str__(self) -> str:
        head = f"{self.status} " if self.status is not None else ""
        code = f"[{self.code}] " if self.code not in (None, "") else ""
        return f"{head}{code}{super().__str__()}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, "
            f"message={self.message!r}, method={self.method!r}, url={self.url!r})"
        )


class AuthenticationError(APIError):
    """401: the credentials are wrong, expired or missing."""


class PaymentRequiredError(APIError):
    """402: the account's subscription is over; the platform refuses API access."""


class PermissionDeniedError(APIError):
    """403: the credentials are valid but not allowed to do this (scope, IP allow-list)."""


class AccountBlockedError(PermissionDeniedError):
    """The platform has blocked the account (amoCRM after repeated rate-limit violations).

    Once a Session has seen this error it sends nothing more: every later call
    raises it at once, so that a job cannot make the block worse.
    """


class NotFoundError(APIError):
    """404, or the platform's own "not found" inside a 200."""


class ValidationError(APIError):
    """400/422: the request was understood but its data is invalid; ``details`` says where."""


class RateLimitError(APIError):
    """429 or the platform's own rate-limit answer, raised once retries are used up.

    ``retry_after`` is the wait in seconds the server asked for, when it said.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(APIError):
    """5xx: the platform failed to answer the request."""


class TransportError(CRMError):
    """No answer came: the connection was refused or dropped, or a timeout passed."""


class ProtocolError(CRMError):
    """An answer came but cannot be read: not JSON, HTML where JSON was due, missing fields."""


class SessionClosedError(CRMError, RuntimeError):
    """The Session was closed: before this request, or while it was in flight or waiting.

    Also a ``RuntimeError``, which a closed Session raised before this class existed.
    """
