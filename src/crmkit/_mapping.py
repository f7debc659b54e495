"""From an HTTP answer to a crmkit error, the part that is the same on every platform.

``ErrorMapper`` is the hook a platform gives its Session: it looks at a
response and returns the error it means, or None when the response is a
success. :func:`default_error_mapper` maps on status alone; platforms call it
for whatever their own rules do not cover, and :func:`error_for_status` to
build an error of the right class with the platform's own code and message.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from ._log import redact_log_text, redact_text, redact_url, secret_values
from ._retry import parse_retry_after
from .errors import (
    APIError,
    AuthenticationError,
    CRMError,
    NotFoundError,
    PaymentRequiredError,
    PermissionDeniedError,
    ProtocolError,
    RateLimitError,
    ServerError,
    TransportError,
    ValidationError,
)

__all__ = [
    "ErrorMapper",
    "decoding_error",
    "default_error_mapper",
    "error_for_status",
    "is_permanent_failure",
    "transport_error",
    "unexpected_redirect",
]

ErrorMapper = Callable[[httpx.Response], "CRMError | None"]

_BY_STATUS: dict[int, type[APIError]] = {
    400: ValidationError,
    401: AuthenticationError,
    402: PaymentRequiredError,
    403: PermissionDeniedError,
    404: NotFoundError,
    422: ValidationError,
    429: RateLimitError,
}


def error_class_for_status(status: int) -> type[APIError]:
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return ServerError
    return APIError


def error_for_status(
    response: httpx.Response,
    message: str | None = None,
    *,
    code: str | int | None = None,
    details: Mapping[str, Any] | list[Any] | None = None,
    cls: type[APIError] | None = None,
) -> APIError:
    """Build the error for ``response``: its class from the status unless ``cls`` is given."""
    status = response.status_code
    cls = cls or error_class_for_status(status)
    request = response.request
    text = message or response.reason_phrase or f"HTTP {status}"
    kwargs: dict[str, Any] = {
        "status": status,
        "code": code,
        "details": details,
        "method": request.method,
        "url": redact_url(request.url),
    }
    if issubclass(cls, RateLimitError):
        kwargs["retry_after"] = parse_retry_after(response.headers.get("retry-after"))
    return cls(text, **kwargs)


def default_error_mapper(response: httpx.Response) -> CRMError | None:
    """None for 1xx-3xx; the status's error class for 4xx and 5xx."""
    if response.status_code < 400:
        return None
    return error_for_status(response)


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain and len(chain) < 10:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _tls_failure(exc: BaseException) -> ssl.SSLError | None:
    return next((e for e in _causes(exc) if isinstance(e, ssl.SSLError)), None)


#: OpenSSL's reasons for a refusal that the next handshake would meet again.
_TLS_REFUSALS = frozenset(
    {
        "UNSUPPORTED_PROTOCOL",
        "TLSV1_ALERT_PROTOCOL_VERSION",
        "WRONG_VERSION_NUMBER",
        "NO_PROTOCOLS_AVAILABLE",
        "TLSV1_ALERT_INSUFFICIENT_SECURITY",
    }
)


def is_permanent_failure(exc: httpx.TransportError) -> bool:
    """Whether trying again cannot help: h11 refused to write a header, or TLS was refused.

    A certificate that does not verify, a wrong host name or a protocol version
    the server refuses answers the same way the next time: never worth a retry.
    A handshake cut short (an EOF) may be the network's doing and is retried.
    """
    if isinstance(exc, httpx.LocalProtocolError):
        return True
    tls = _tls_failure(exc)
    if tls is None:
        return False
    return isinstance(tls, ssl.SSLCertVerificationError) or tls.reason in _TLS_REFUSALS


def transport_error(
    exc: httpx.TransportError, request: httpx.Request
) -> tuple[TransportError, BaseException | None]:
    """The :class:`TransportError` for ``exc``, and what it may be chained to.

    httpx's messages can quote what was being sent: h11 refuses a header by
    printing its value (an API key with a trailing newline). Every header value
    of a secret-named header and anything that looks secret are removed from the text;
    when that changed the text, the original exception is not chained either
    (``--debug`` tracebacks print chained exceptions), so the cause is None.
    """
    raw = str(exc)
    tls = _tls_failure(exc)
    if not raw and tls is not None:  # httpx's ConnectError is often empty; say what TLS said
        raw = f"TLS handshake failed: {tls}"
    text = redact_log_text(redact_text(raw, secret_values(request.headers.multi_items())))
    name = type(exc).__name__
    if isinstance(exc, httpx.LocalProtocolError):
        message = f"the request could not be sent: {name}: {text}"
    else:
        message = f"{name}: {text or 'no answer'}"
    error = TransportError(message, method=request.method, url=redact_url(request.url))
    return error, (exc if text == raw else None)


def unexpected_redirect(response: httpx.Response) -> APIError | None:
    """A 3xx other than 304 is an error: crmkit follows no redirect, and none is a success.

    A platform that moved, a gateway sending the caller to a login page, an
    ``http://`` account address answered with a redirect to ``https://``: each
    would otherwise be read as an empty success.
    """
    status = response.status_code
    if not 300 <= status < 400 or status == 304:
        return None
    location = response.headers.get("location")
    where = f" to {redact_url(location)}" if location else ""
    return error_for_status(
        response,
        f"HTTP {status} redirect{where}: crmkit does not follow redirects "
        "(is the account's address right?)",
    )


def decoding_error(exc: httpx.DecodingError, request: httpx.Request) -> ProtocolError:
    """A body that cannot be decoded as its ``Content-Encoding`` says (gzip that is not gzip)."""
    return ProtocolError(
        f"the answer's body cannot be decoded: {type(exc).__name__}: {redact_log_text(str(exc))}",
        method=request.method,
        url=redact_url(request.url),
    )
