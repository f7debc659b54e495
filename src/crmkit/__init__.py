"""crmkit: an asyncio SDK for amoCRM (Kommo), RetailCRM (Simla), Corezoid and vtiger CRMs.

Every public name is here; the modules behind them are private. Platform
clients live in their subpackages and are re-exported below as they land.
"""

from __future__ import annotations

__version__ = "0.1.0"

from ._aiohttp import aiohttp_transport
from ._clock import Clock, SystemClock
from ._log import RedactingFilter, redact_url
from ._mapping import ErrorMapper, default_error_mapper, error_for_status
from ._pagination import AsyncPaginator, Page, PageRequest, PageStrategy, PaginatorState
from ._results import WriteResult
from ._retry import RetryPolicy
from ._session import DEFAULT_TIMEOUT, Session, SessionStats
from ._throttle import PausableThrottle, RateLimiter, Throttle
from ._tls import make_ssl_context
from .amocrm import AmoCRM
from .corezoid import Corezoid
from .errors import (
    AccountBlockedError,
    APIError,
    AuthenticationError,
    CRMError,
    NotFoundError,
    PaymentRequiredError,
    PermissionDeniedError,
    ProtocolError,
    RateLimitError,
    ServerError,
    SessionClosedError,
    TransportError,
    ValidationError,
)
from .retailcrm import RetailCRM
from .vtiger import Vtiger

__all__ = [
    "DEFAULT_TIMEOUT",
    "APIError",
    "AccountBlockedError",
    "AmoCRM",
    "AsyncPaginator",
    "AuthenticationError",
    "CRMError",
    "Clock",
    "Corezoid",
    "ErrorMapper",
    "NotFoundError",
    "Page",
    "PageRequest",
    "PageStrategy",
    "PaginatorState",
    "PausableThrottle",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "ProtocolError",
    "RateLimitError",
    "RateLimiter",
    "RedactingFilter",
    "RetailCRM",
    "RetryPolicy",
    "ServerError",
    "Session",
    "SessionClosedError",
    "SessionStats",
    "SystemClock",
    "Throttle",
    "TransportError",
    "ValidationError",
    "Vtiger",
    "WriteResult",
    "__version__",
    "aiohttp_transport",
    "default_error_mapper",
    "error_for_status",
    "make_ssl_context",
    "redact_url",
]

for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith("crmkit._"):
        try:
            _obj.__module__ = "crmkit"
        except (AttributeError, TypeError):
            pass
del _name, _obj
