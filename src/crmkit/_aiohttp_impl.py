"""The httpx transport over aiohttp behind :func:`crmkit.aiohttp_transport`.

``crmkit.aiohttp_transport()`` gives every request of a Session to aiohttp's
connection pool and HTTP parser (C-accelerated) through the ``httpx-aiohttp``
package, as openai-python offers it (``DefaultAioHttpClient``). The Session
stays the same: throttle, retries, auth flows, error mapping, logging and its
redaction all run above the transport, on httpx's request and response objects.

What this module adds to ``httpx_aiohttp.AiohttpTransport``:

- crmkit's TLS context (TLS 1.2 at least, the system's CAs), as the default
  transport has it;
- no cookie jar of aiohttp's own: httpx keeps the cookies (amoCRM's v2 login
  session), so a cookie is sent once, as httpx decides;
- a URL's user and password reach aiohttp only as the ``Authorization`` header
  httpx made of them (aiohttp refuses a request that has both);
- exceptions mapped by what happened, not only by aiohttp's class tree: the
  package maps every ``ClientConnectionError`` (a server that hung up halfway
  through an answer included) to ``httpx.ConnectTimeout``, which the Session
  reads as "never sent" and would repeat even for a POST. Here only a
  connection that could not be made is a ``ConnectError`` / ``ConnectTimeout``;
  a read that timed out is ``ReadTimeout``, a dropped connection
  ``RemoteProtocolError`` / ``ReadError``, as the default transport raises them;
  a header aiohttp refuses to write (a line break in a value) is
  ``LocalProtocolError``, as h11's refusal is.
  The Session maps these to :class:`crmkit.TransportError` as ever; aiohttp's
  messages quote no header, and an invalid URL's text is not repeated;
- httpcore's ``trace`` extension, the two events the Session's throttle reads:
  ``send_request_headers.started`` once aiohttp holds a connection for the
  request (made or reused: from then on it may leave) and
  ``receive_response_headers.complete`` when aiohttp returns the response (its
  headers read, its body not yet). aiohttp's own trace signals find the request's
  callback through a context variable (they run in the request's task). A
  request without a ``trace`` goes through a second aiohttp session, one with
  no trace config, over the same connection pool: aiohttp sends its signals for
  every request of a session that has one.

Timeouts: httpx's ``connect`` and ``read`` become aiohttp's ``sock_connect`` and
``sock_read``, ``pool`` its ``connect`` (waiting for a pooled connection and
connecting); aiohttp has no write timeout, so ``write`` is not applied.
"""

from __future__ import annotations

import asyncio
import contextvars
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

from ._tls import shared_ssl_context

__all__ = ["Transport", "make_transport"]

_Trace = Callable[[str, dict[str, Any]], Awaitable[None]]
#: The ``trace`` extension of the request aiohttp is sending in this task.
_TRACE: contextvars.ContextVar[_Trace | None] = contextvars.ContextVar("crmkit_trace", default=None)


async def _connection_ready(*_: Any) -> None:
    """aiohttp made or reused a connection for the request: it may leave from now on."""
    trace = _TRACE.get()
    if trace is not None:
        await trace("http11.send_request_headers.started", {})


def _trace_config() -> aiohttp.TraceConfig:
    config = aiohttp.TraceConfig()
    config.on_connection_create_end.append(_connection_ready)
    config.on_connection_reuseconn.append(_connection_ready)
    return config


def _mapped(exc: BaseException) -> httpx.TransportError:
    """The httpx error the default transport would raise for what ``exc`` says happened."""
    cause = exc.__cause__ if isinstance(exc, httpx.TransportError) and exc.__cause__ else exc
    if isinstance(exc, httpx.TransportError) and cause is exc:
        return exc  # raised by httpx itself (a request it could not build)
    kind: type[httpx.TransportError]
    text = str(cause)
    connect_timeout = getattr(aiohttp, "ConnectionTimeoutError", ())
    if isinstance(cause, aiohttp.ClientConnectorError):
        kind = httpx.ConnectError  # no connection: nothing was sent
    elif connect_timeout and isinstance(cause, connect_timeout):
        kind = httpx.ConnectTimeout
    elif isinstance(cause, (aiohttp.ServerTimeoutError, asyncio.TimeoutError)):
        kind = httpx.ReadTimeout
    elif isinstance(cause, aiohttp.ServerDisconnectedError):
        kind = httpx.RemoteProtocolError
    elif isinstance(cause, aiohttp.InvalidURL):
        kind, text = httpx.UnsupportedProtocol, "the URL cannot be requested"
    elif isinstance(cause, (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError)):
        kind = httpx.ReadError
    else:
        kind = httpx.TransportError
    error = kind(text or type(cause).__name__)
    error.__cause__ = cause
    return error


_FAILURES = (httpx.TransportError, aiohttp.ClientError, asyncio.TimeoutError)


class _Stream(httpx.AsyncByteStream):
    """An answer's body, read whole; a failure while reading it mapped as the request's are.

    A Session reads every answer whole: one ``read()`` instead of 16 KiB chunks,
    each of which httpx passes through its decoders and chunker.
    """

    def __init__(self, inner: httpx.AsyncByteStream) -> None:
        self._inner = inner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        whole = getattr(self._inner, "_aiohttp_response", None)  # httpx-aiohttp's own
        try:
            if whole is not None:
                body = await whole.read()
                if body:
                    yield body
                return
            async for chunk in self._inner:
                yield chunk
        except _FAILURES as exc:
            raise _mapped(exc)  # noqa: B904 (the cause is set: what aiohttp raised)

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        except _FAILURES as exc:
            raise _mapped(exc)  # noqa: B904 (the cause is set: what aiohttp raised)


class Transport(httpx.AsyncBaseTransport):
    def __init__(self, context: ssl.SSLContext, max_connections: int) -> None:
        self._connector: aiohttp.TCPConnector | None = None

        def connector() -> aiohttp.TCPConnector:
            # Made on the first request, inside the event loop that will use it.
            if self._connector is None:
                self._connector = aiohttp.TCPConnector(ssl=context, limit=max_connections)
            return self._connector

        def session(traced: bool) -> Callable[[], aiohttp.ClientSession]:
            def make() -> aiohttp.ClientSession:
                return aiohttp.ClientSession(
                    connector=connector(),
                    connector_owner=False,  # one pool for both: closed by aclose()
                    cookie_jar=aiohttp.DummyCookieJar(),
                    trace_configs=[_trace_config()] if traced else None,
                )

            return make

        # aiohttp sends its trace signals for every request of a session that has a
        # trace config (~30-50 µs of CPU a request): a request without a ``trace``
        # extension (the Session traces only for a throttle that reads it) goes
        # through a session without one, over the same connections.
        self._traced = AiohttpTransport(verify=context, client=session(True))
        self._plain = AiohttpTransport(verify=context, client=session(False))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        sent = request
        if request.url.userinfo:
            # httpx made them the Authorization header already (aiohttp would refuse both).
            sent = httpx.Request(
                request.method,
                request.url.copy_with(userinfo=b""),
                headers=request.headers,
                stream=request.stream,
                extensions=request.extensions,
            )
        trace = request.extensions.get("trace")
        inner = self._plain if trace is None else self._traced
        token = _TRACE.set(trace)
        try:
            response = await inner.handle_async_request(sent)
            if trace is not None:  # the headers are in; the body is read later
                await trace("http11.receive_response_headers.complete", {})
        except _FAILURES as exc:
            raise _mapped(exc)  # noqa: B904 (the cause is set: what aiohttp raised)
        except ValueError as exc:
            # aiohttp refusing a header with a line break in it (h11's LocalProtocolError):
            # never sent, never worth repeating; its text quotes no value.
            raise httpx.LocalProtocolError(f"the request cannot be written: {exc}") from None
        finally:
            _TRACE.reset(token)
        response.request = request
        stream: Any = response.stream
        response.stream = _Stream(stream)
        return response

    async def aclose(self) -> None:
        try:
            await self._plain.aclose()
            await self._traced.aclose()
        finally:
            if self._connector is not None:
                await self._connector.close()


def make_transport(
    context: ssl.SSLContext | None, max_connections: int
) -> httpx.AsyncBaseTransport:
    """See :func:`crmkit.aiohttp_transport`."""
    return Transport(context or shared_ssl_context(), max_connections)
