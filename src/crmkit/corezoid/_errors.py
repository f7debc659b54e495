"""Corezoid's own errors, beside crmkit's tree (:mod:`crmkit.errors`).

- :class:`RequestError`: the whole package failed (``request_proc`` not ``"ok"``);
- :class:`OpError`: one op failed (its ``proc`` and ``description``);
- :class:`SyncTimeoutError`: the Sync API's process did not answer in time;
- :class:`ServiceUnavailableError`: a 503 (Corezoid's overload answer), with
  the ``Retry-After`` the server gave;
- :class:`CallbackSignatureError`: an incoming API-call request whose
  ``conv_signature`` does not check out.
"""

from __future__ import annotations

from typing import Any

from ..errors import APIError, ServerError

__all__ = [
    "CallbackSignatureError",
    "OpError",
    "RequestError",
    "ServiceUnavailableError",
    "SyncTimeoutError",
]


class RequestError(APIError):
    """The whole package failed (``request_proc`` was not ``"ok"``, e.g. ``format_error``)."""


class OpError(APIError):
    """One op failed: ``code`` is its ``proc`` and ``message`` its ``description``."""


class SyncTimeoutError(OpError):
    """The Sync API's process did not answer within the timeout."""


class ServiceUnavailableError(ServerError):
    """HTTP 503, Corezoid's overload answer; ``retry_after`` is the wait it asked for."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class CallbackSignatureError(ValueError):
    """A request claiming to come from a Corezoid process failed its signature check.

    The message says what was wrong (missing, stale, not matching), never the
    signature expected or given. A ValueError: answer the request 401/403.
    """
