"""Session: one account's connection, throttle, retries and error mapping.

Every request crmkit sends to a platform goes through :meth:`Session.request`,
which waits for the throttle, sends through an ``httpx.AsyncClient``, maps the
answer to a crmkit error, and retries what the :class:`RetryPolicy` says may be
retried. Platform clients own a Session and add only their wire rules.

What it is not: it knows nothing of any platform's URLs or bodies (the
``_wire`` modules do), and it has no second retry loop anywhere.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import random
import time
from collections.abc import AsyncGenerator, Awaitable, Mapping
from types import TracebackType
from typing import Any, TypeVar

import attrs
import httpx

from ._aiohttp import TransportChoice, choose_transport, is_aiohttp_transport
from ._clock import Clock, SystemClock
from ._json import json_is_whole
from ._log import clean_headers, logger, redact_url
from ._login import is_login_step
from ._mapping import (
    ErrorMapper,
    decoding_error,
    default_error_mapper,
    is_permanent_failure,
    transport_error,
    unexpected_redirect,
)
from ._retry import RetryPolicy
from ._throttle import PausableThrottle, RateLimiter, Throttle, as_pausable
from ._tls import shared_ssl_context
from .errors import (
    AccountBlockedError,
    ProtocolError,
    RateLimitError,
    ServerError,
    SessionClosedError,
)

__all__ = ["DEFAULT_TIMEOUT", "Session", "SessionStats"]

#: 30 s for the whole exchange, 10 s to connect.
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)

T = TypeVar("T")

_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class SendProbe:
    """Whether a request made in a task started by :func:`probed_task` may have left.

    Set once the transport reports the request's write (or, when it reports
    nothing, once the request is handed to it); a request still waiting for the
    throttle, the Session's concurrency cap or a pooled connection has not left.
    The paginator reads it to let a page it asked for ahead end instead of
    cancelling it, when a cancelled request that left would hold its slot long.
    """

    __slots__ = ("left",)

    def __init__(self) -> None:
        self.left = False


_PROBE: contextvars.ContextVar[SendProbe | None] = contextvars.ContextVar(
    "crmkit_send_probe", default=None
)


def probed_task(awaitable: Awaitable[T]) -> tuple[asyncio.Future[T], SendProbe]:
    """``awaitable`` in a task of its own, with a :class:`SendProbe` its requests set."""
    probe = SendProbe()
    context = contextvars.copy_context()
    context.run(_PROBE.set, probe)
    # A task copies the context it is made in: this one, with the probe.
    return context.run(asyncio.ensure_future, awaitable), probe


#: Relative paths whose absolute URL a Session keeps (a client asks for a few, often).
_CACHED_URLS = 256


def _with_query(target: httpx.URL, params: Any) -> tuple[httpx.URL, Any]:
    """``target`` with ``params`` as its query, as httpx would merge them, parsed once.

    httpx merges ``params`` into a URL by parsing it three times (~60 µs of CPU
    a request); the same URL from its text is one parse. A URL that has a query
    already is left to httpx's merge.
    """
    if target.query or target.fragment:
        return target, params
    query = str(httpx.QueryParams(params))
    if not query:
        return target, params
    return httpx.URL(f"{target}?{query}"), None


class _AnswerCookies(httpx.Cookies):
    """httpx's cookie jar, which reads an answer only when the answer sets a cookie.

    httpx gives every answer to the standard library's cookie jar, which wraps it
    in urllib request and message objects to find no ``Set-Cookie`` in most
    (~25 µs of CPU an answer); an answer without one changes nothing in the jar.
    """

    def extract_cookies(self, response: httpx.Response) -> None:
        headers = response.headers
        if "set-cookie" in headers or "set-cookie2" in headers:
            super().extract_cookies(response)


def _version() -> str:
    from . import __version__

    return __version__


@attrs.define
class SessionStats:
    """Counters a Session keeps, for progress displays and benchmarks."""

    requests: int = 0
    #: Answers that were rate-limit errors (429 or the platform's own).
    rate_limited: int = 0
    retries: int = 0
    #: Seconds spent waiting for the throttle (pauses included).
    throttle_wait: float = 0.0


class _Permit:
    """One request's hold on the throttle: each acquire is released once, and only once.

    A request hands its slot on from a login step to the next (see
    :class:`_ThrottledAuth`); a cancellation can come between a release and the
    next acquire, and the Session's last release must then not free a slot
    this request no longer holds (more slots than the rate allows).
    """

    __slots__ = ("held", "probe", "throttle", "timeout", "traced", "wrote")

    def __init__(self, throttle: PausableThrottle) -> None:
        self.throttle = throttle
        self.held = False
        #: The task's :class:`SendProbe` (a page asked for ahead), told when the request left.
        self.probe = _PROBE.get()
        #: Seconds the answer to this attempt would be waited for (None: no end).
        self.timeout: float | None = None
        #: Whether the transport reports this attempt's steps (httpcore's trace)...
        self.traced = False
        #: ...and the request has begun to leave (its headers are being written).
        self.wrote = False

    async def acquire(self) -> None:
        await self.throttle.acquire()
        self.held = True  # no await between: a cancelled acquire holds nothing
        self.traced = self.wrote = False

    def release(self) -> None:
        if self.held:
            self.held = False
            self.throttle.release()

    def abandon(self) -> None:
        """This attempt was cancelled: its slot ends as the throttle's ``abandon`` says.

        Sent for all it knows (the transport does not trace, or the headers
        began to leave), the server may still count it; only an attempt the
        trace shows never left frees its slot at once. Throttles without
        ``abandon`` are released.
        """
        if not self.held:
            return
        self.held = False
        abandon = getattr(self.throttle, "abandon", None)
        if abandon is None:
            self.throttle.release()
        else:
            abandon(sent=self.wrote or not self.traced, timeout=self.timeout)

    def sending(self) -> None:
        """The request goes to the transport: it may leave, unless the transport will say."""
        if not self.traced and self.probe is not None:
            self.probe.left = True

    async def trace(self, event: str, info: Mapping[str, Any]) -> None:
        """httpcore's ``trace`` extension: when the request leaves, when its answer comes."""
        self.traced = True
        if event.endswith(".send_request_headers.started") and self.held:
            self.wrote = True
            if self.probe is not None:
                self.probe.left = True
            written = getattr(self.throttle, "written", None)
            if written is not None:
                written()
        elif event.endswith(".receive_response_headers.complete") and self.held:
            answered = getattr(self.throttle, "answered", None)
            if answered is not None:
                answered()


class _ThrottledAuth(httpx.Auth):
    """An auth flow whose extra requests (a login, a token refresh, a repeat) wait their turn.

    The Session acquired the throttle for the first request a flow sends; for
    each further one the flow yields, the previous request's slot is released
    and a new one acquired, so logins and repeats count against the rate limit
    like any request, and the Session's one ``release()`` closes the last.
    Releasing before acquiring means a flow that waits (a single-flight
    login) can never hold a slot another flow needs.

    A login step (:func:`crmkit._login.is_login_step`: a challenge, a login, a
    refresh) answered 429 or with a retryable 5xx is sent again after the
    policy's backoff (a 429 pauses the whole throttle), as the Session does for
    its own requests; the caller's request, however the flow rebuilt it, is
    left to the Session's retry loop and its rules on what may be repeated.
    """

    def __init__(self, inner: httpx.Auth, session: Session, permit: _Permit) -> None:
        self.inner = inner
        self.session = session
        self.permit = permit

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        session = self.session
        flow = self.inner.async_auth_flow(request)
        try:
            outgoing = await flow.__anext__()
            while True:
                response = yield self._traced(outgoing)
                retry = 0
                while is_login_step(outgoing) and self._retryable(response, retry):
                    await response.aread()
                    delay = session.retry.backoff(retry, session._rng)
                    self.permit.release()
                    if response.status_code == 429:
                        session.stats.rate_limited += 1
                        session.throttle.pause(delay)
                    else:
                        await session.clock.sleep(delay)
                    why = (
                        f"HTTP {response.status_code} to an auth request, retrying in {delay:.2f}s"
                    )
                    session._log_retry(outgoing, why, retry)
                    await self.permit.acquire()
                    session.stats.requests += 1
                    session.stats.retries += 1
                    retry += 1
                    response = yield self._traced(outgoing)
                try:
                    outgoing = await flow.asend(response)
                except StopAsyncIteration:
                    return
                self.permit.release()
                await self.permit.acquire()
                session.stats.requests += 1
        finally:
            await flow.aclose()

    def _traced(self, outgoing: httpx.Request) -> httpx.Request:
        """``outgoing`` reporting its steps to the permit, as the caller's request does.

        A login the flow made is a request of its own: without the trace, a
        cancel during it would look like a request that never left.
        """
        if self.session._traced and "trace" not in outgoing.extensions:
            outgoing.extensions["trace"] = self.permit.trace
        return outgoing

    def _retryable(self, response: httpx.Response, retry: int) -> bool:
        policy = self.session.retry
        status = response.status_code
        return retry < policy.max_retries and (status == 429 or status in policy.retry_statuses)


class Session:
    """One account on one host: an HTTP client, a throttle, retries and error mapping.

    Make one per account at start-up, share it between all tasks, and close it
    at shutdown (``async with``, a FastAPI lifespan, an aiohttp ``cleanup_ctx``).
    It belongs to the event loop that first uses it.

    - ``base_url``: relative request URLs are joined to it (its path is kept).
    - ``auth``: an ``httpx.Auth`` applied to every request.
    - ``rate_limit``: requests per second, never bursting; ``throttle`` (any
      object with ``async acquire()``) replaces it.
    - ``max_concurrency``: requests in flight at once, or None for no limit.
    - ``timeout``: seconds or an ``httpx.Timeout`` (default 30 s, 10 s to connect).
    - ``max_retries`` or a whole ``retry`` policy.
    - ``http_client`` (used as is, not closed by the Session) or ``transport``: an
      httpx transport, ``"httpx"`` or ``"aiohttp"``; by default aiohttp's when
      the ``aiohttp-transport`` extra is installed (see :func:`crmkit.aiohttp_transport`).
    - ``allow_insecure_http``: permit ``http://`` URLs (sandboxes on loopback).
    - ``headers``: sent with every request.
    - ``error_mapper``: the platform's response-to-error rules.
    - ``clock``: time source for backoff and pauses (tests replace it).
    """

    def __init__(
        self,
        base_url: str | httpx.URL | None = None,
        *,
        auth: httpx.Auth | None = None,
        rate_limit: float | None = None,
        throttle: Throttle | None = None,
        max_concurrency: int | None = None,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        max_retries: int = 3,
        retry: RetryPolicy | None = None,
        http_client: httpx.AsyncClient | None = None,
        transport: TransportChoice = None,
        allow_insecure_http: bool = False,
        headers: Mapping[str, str] | None = None,
        error_mapper: ErrorMapper | None = None,
        clock: Clock | None = None,
    ) -> None:
        if http_client is not None and transport is not None:
            raise ValueError("pass http_client or transport, not both")
        if max_concurrency is not None and max_concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1, not {max_concurrency!r}")
        self.allow_insecure_http = allow_insecure_http
        headers = clean_headers(headers)  # a credential's trailing newline, never printed
        self.base_url: httpx.URL | None = None
        if base_url is not None:
            url = httpx.URL(str(base_url))
            if not url.is_absolute_url:
                raise ValueError(
                    f"base_url must be an absolute https:// URL, not {str(base_url)!r}"
                )
            self._check_scheme(url)
            if not url.raw_path.endswith(b"/"):
                url = url.copy_with(raw_path=url.raw_path + b"/")
            self.base_url = url
        self.auth = auth
        self.clock: Clock = clock or SystemClock()
        self.throttle: PausableThrottle = (
            as_pausable(throttle, self.clock)
            if throttle is not None
            else RateLimiter(rate_limit, clock=self.clock)
        )
        #: The throttle's ``record(seconds)``: each response time (the paced mode learns from it).
        self._record = getattr(self.throttle, "record", None)
        # Whether requests carry a trace: the throttle wants the instants a request
        # is written and its answer's headers come, or whether a cancelled one left.
        self._traced = getattr(self.throttle, "rate", 0) is not None and any(
            hasattr(self.throttle, name) for name in ("answered", "abandon", "written")
        )
        self.retry = retry or RetryPolicy(max_retries=max_retries)
        self.error_mapper: ErrorMapper = error_mapper or default_error_mapper
        self.stats = SessionStats()
        self._semaphore = asyncio.Semaphore(max_concurrency) if max_concurrency else None
        self._rng = random.Random()
        self._blocked: AccountBlockedError | None = None
        #: A Retry-After above the cap: nothing is sent before this instant (clock time).
        self._limited_until: float | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._in_flight: set[asyncio.Task[Any]] = set()
        self._urls: dict[str, httpx.URL] = {}  # see url_for
        self._urls_of: tuple[int, bool] | None = None
        self._urls_base: httpx.URL | None = None
        self._closing: set[asyncio.Task[Any]] = set()  # cancelled by aclose()
        self._owns_client = http_client is None
        if http_client is not None:
            self._client = http_client
        else:
            chosen = choose_transport(transport)  # None: aiohttp's when installed
            default_headers = {"User-Agent": f"crmkit/{_version()} httpx/{httpx.__version__}"}
            default_headers.update(headers or {})
            self._client = httpx.AsyncClient(
                transport=chosen,
                verify=shared_ssl_context() if chosen is None else True,
                timeout=timeout,
                headers=default_headers,
            )
            self._client._cookies = _AnswerCookies()  # the client's own jar, empty as made
            headers = None
        self._transport_traces = http_client is None and (
            chosen is None
            or isinstance(chosen, httpx.AsyncHTTPTransport)
            or is_aiohttp_transport(chosen)
        )
        self._extra_headers = dict(headers or {})

    # -- lifecycle -----------------------------------------------------------

    async def __aenter__(self) -> Session:
        self._check_open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client (unless the caller passed it in). Idempotent.

        Requests still in flight or waiting for the throttle end with
        :class:`crmkit.errors.SessionClosedError`.
        """
        if self._closed:
            return
        self._closed = True
        for task in self._in_flight:
            self._closing.add(task)
            task.cancel()
        if self._owns_client:
            await self._client.aclose()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def blocked(self) -> AccountBlockedError | None:
        """The block this Session has seen, if any: from then on it sends nothing."""
        return self._blocked

    def __repr__(self) -> str:
        base = redact_url(self.base_url) if self.base_url is not None else None
        state = "closed" if self._closed else "open"
        return f"<Session {base!s} {state}>"

    # -- sending -------------------------------------------------------------

    def url_for(self, url: str | httpx.URL) -> httpx.URL:
        """The absolute URL a request for ``url`` goes to (checked: https unless allowed)."""
        key = url if isinstance(url, str) and "?" not in url else None  # a path, asked for often
        if key is not None:
            if self._urls_of != (id(self.base_url), self.allow_insecure_http):
                self._urls.clear()  # made for another base URL or rule
                self._urls_of = (id(self.base_url), self.allow_insecure_http)
                self._urls_base = self.base_url  # kept alive: its id is not reused
            found = self._urls.get(key)
            if found is not None:
                return found
        target = httpx.URL(str(url))
        if not target.is_absolute_url:
            if self.base_url is None:
                raise ValueError(f"relative URL {str(url)!r} needs a Session base_url")
            raw = target.raw_path.lstrip(b"/")
            target = self.base_url.copy_with(raw_path=self.base_url.raw_path.split(b"?")[0] + raw)
        self._check_scheme(target)
        if key is not None and len(self._urls) < _CACHED_URLS:
            self._urls[key] = target  # parsing one costs ~20 µs, twice a request
        return target

    async def request(
        self,
        method: str,
        url: str | httpx.URL,
        *,
        params: Any = None,
        data: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        auth: httpx.Auth | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> httpx.Response:
        """Send one request through throttle, retries and error mapping; return a success.

        Failures raise :mod:`crmkit.errors` types. ``idempotent`` overrides
        whether the method is safe to repeat after a dropped connection or a
        502/503/504. ``auth`` replaces the Session's auth for this call.
        ``timeout`` replaces the Session's timeout for this call (None: the Session's).
        """
        self._check_open()
        self._check_loop()
        if self._blocked is not None:
            raise self._blocked
        target = self.url_for(url)
        if params is not None and not self._client.params:
            target, params = _with_query(target, params)
        method = method.upper()
        can_repeat = self.retry.is_idempotent(method, idempotent)
        merged_headers = {**self._extra_headers, **(headers or {})} or None
        permit = _Permit(self.throttle)
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        try:
            return await self._request(
                method,
                target,
                can_repeat,
                permit,
                params,
                data,
                json,
                content,
                merged_headers,
                auth,
                timeout,
            )
        except asyncio.CancelledError:
            permit.abandon()  # the server may yet count it: its slot ends no sooner
            if task is not None and task in self._closing:
                self._closing.discard(task)
                uncancel = getattr(task, "uncancel", None)  # Python 3.11+
                if uncancel is not None:
                    uncancel()  # aclose's cancel ends here, as an error
                raise self._closed_error(method, target) from None
            raise
        except RuntimeError as exc:
            # httpx refuses a request on a client closed under it.
            if self._closed and not isinstance(exc, SessionClosedError):
                raise self._closed_error(method, target) from exc
            raise
        finally:
            permit.release()
            if task is not None:
                self._in_flight.discard(task)

    def _closed_error(self, method: str, target: httpx.URL) -> SessionClosedError:
        return SessionClosedError(
            "the crmkit Session was closed while this request was in flight",
            method=method,
            url=redact_url(target),
        )

    async def _request(
        self,
        method: str,
        target: httpx.URL,
        can_repeat: bool,
        permit: _Permit,
        params: Any,
        data: Mapping[str, Any] | None,
        json: Any,
        content: bytes | str | None,
        merged_headers: Mapping[str, str] | None,
        auth: httpx.Auth | None,
        timeout: float | httpx.Timeout | None,
    ) -> httpx.Response:
        retry = 0
        while True:
            waited = time.perf_counter()
            await permit.acquire()
            self.stats.throttle_wait += time.perf_counter() - waited
            if self._blocked is not None:
                raise self._blocked
            self._check_open()
            if self._limited_until is not None:
                self._refuse_while_limited(method, target)
            request = self._client.build_request(
                method,
                target,
                params=params,
                data=data,
                json=json,
                content=content,
                headers=merged_headers,
                timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
            )
            if self._traced:
                request.extensions["trace"] = permit.trace
                permit.timeout = request.extensions.get("timeout", {}).get("read")
                # httpx's transport and crmkit's aiohttp one report a request's write:
                # without that report, a cancelled request never left.
                permit.traced = self._transport_traces
            started = time.perf_counter()
            self.stats.requests += 1
            try:
                response = await self._send(request, auth, permit)
            except httpx.TransportError as exc:
                permit.release()
                if self._closed:
                    raise self._closed_error(method, target) from exc
                failure, cause = transport_error(exc, request)
                self._log_attempt(request, None, started, retry, type(exc).__name__)
                if (
                    retry < self.retry.max_retries
                    and (can_repeat or isinstance(exc, _NOT_SENT))
                    and not is_permanent_failure(exc)
                ):
                    await self._backoff(retry, request, str(failure))
                    retry += 1
                    continue
                raise failure from cause
            except httpx.DecodingError as exc:
                raise decoding_error(exc, request) from None  # the permit: released below
            permit.release()
            if self._record is not None:
                self._record(time.perf_counter() - started)
            self._log_attempt(request, response, started, retry, None)
            mapped = self.error_mapper(response) or unexpected_redirect(response)
            if (
                (mapped is None or isinstance(mapped, ProtocolError))
                and can_repeat
                and retry < self.retry.max_retries
                and not json_is_whole(response)
            ):  # cut short on the way (an error's answer too): ask again, not fail the caller
                await self._backoff(retry, request, "a JSON answer cut short")
                retry += 1
                continue
            if mapped is None:
                recovered = getattr(self.throttle, "recovered", None)
                if recovered is not None:
                    recovered()
                return response
            error = mapped
            if isinstance(error, AccountBlockedError):
                self._blocked = error
                raise error
            if isinstance(error, RateLimitError):
                self.stats.rate_limited += 1
                delay = error.retry_after
                if delay is not None and delay > self.retry.retry_after_cap:
                    # Too long to wait out here, and no other task may send meanwhile.
                    self._limited_until = self.clock.monotonic() + delay
                    raise error
                if retry >= self.retry.max_retries:
                    raise error
                if delay is None:
                    delay = max(self.retry.backoff(retry, self._rng), self.retry.rate_limit_pause)
                slow_down = getattr(self.throttle, "slow_down", None)
                if slow_down is not None:
                    slow_down()
                self.throttle.pause(delay)
                self._log_retry(request, f"rate limited, pausing the session {delay:.2f}s", retry)
                self.stats.retries += 1
                retry += 1
                continue
            if (
                isinstance(error, ServerError)
                and response.status_code in self.retry.retry_statuses
                and can_repeat
                and retry < self.retry.max_retries
            ):
                # A server that says when to come back (a 503's Retry-After) is believed.
                asked = getattr(error, "retry_after", None)
                await self._backoff(retry, request, f"HTTP {response.status_code}", asked)
                retry += 1
                continue
            raise error

    async def _send(
        self, request: httpx.Request, auth: httpx.Auth | None, permit: _Permit
    ) -> httpx.Response:
        chosen = auth if auth is not None else self.auth
        sent: httpx.Auth | Any = httpx.USE_CLIENT_DEFAULT
        if chosen is not None:
            sent = _ThrottledAuth(chosen, self, permit)
        if self._semaphore is None:
            permit.sending()
            return await self._client.send(request, auth=sent)
        async with self._semaphore:
            permit.sending()
            return await self._client.send(request, auth=sent)

    async def _backoff(
        self, retry: int, request: httpx.Request, why: str, asked: float | None = None
    ) -> None:
        delay = self.retry.backoff(retry, self._rng)
        if asked is not None and 0 <= asked <= self.retry.retry_after_cap:
            delay = asked
        self._log_retry(request, f"{why}, retrying in {delay:.2f}s", retry)
        self.stats.retries += 1
        await self.clock.sleep(delay)

    # -- checks and logging --------------------------------------------------

    def _refuse_while_limited(self, method: str, url: httpx.URL) -> None:
        """Inside a long Retry-After pause: release the slot and raise, sending nothing."""
        left = (self._limited_until or 0.0) - self.clock.monotonic()
        if left <= 0:
            self._limited_until = None
            return
        raise RateLimitError(  # request()'s finally releases this attempt's permit
            f"the platform asked for a {left:.0f} s pause (Retry-After above the "
            f"{self.retry.retry_after_cap:.0f} s cap); nothing is sent until it passes",
            status=429,
            retry_after=left,
            method=method,
            url=redact_url(url),
        )

    def _check_open(self) -> None:
        if self._closed:
            raise SessionClosedError("this crmkit Session is closed; make a new one")

    def _check_loop(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif self._loop is not loop:
            raise RuntimeError(
                "this crmkit Session belongs to another event loop: make one Session per "
                "event loop (at application start-up), not one shared across loops"
            )

    def _check_scheme(self, url: httpx.URL) -> None:
        if url.scheme == "https":
            return
        if url.scheme == "http" and self.allow_insecure_http:
            return
        raise ValueError(
            f"refusing {url.scheme}:// URL {redact_url(url)!r}: crmkit talks to platforms over "
            "https only (pass allow_insecure_http=True for a local sandbox)"
        )

    def _log_attempt(
        self,
        request: httpx.Request,
        response: httpx.Response | None,
        started: float,
        retry: int,
        failure: str | None,
    ) -> None:
        if not logger.isEnabledFor(logging.DEBUG):
            return
        ms = (time.perf_counter() - started) * 1000
        outcome = failure or str(response.status_code if response is not None else "?")
        logger.debug(
            "%s %s -> %s in %.0f ms (attempt %d)",
            request.method,
            redact_url(request.url),
            outcome,
            ms,
            retry + 1,
        )

    def _log_retry(self, request: httpx.Request, why: str, retry: int) -> None:
        logger.info(
            "%s %s: %s (retry %d of %d)",
            request.method,
            redact_url(request.url),
            why,
            retry + 1,
            self.retry.max_retries,
        )
