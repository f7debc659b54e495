"""Fault injection for sandboxes: errors, 429s, dropped connections, truncated bodies, latency.

:class:`FaultPlan` says how often each fault happens, drawn from a seeded RNG so
a failing test can be replayed. :class:`FaultInjector` is ASGI middleware that
applies a plan in front of any app. A dropped connection is raised as
:class:`DroppedConnection`: uvicorn then closes the socket mid-answer, and the
in-process transport (:func:`crmkit.sandbox.sandbox_transport`) turns it into
``httpx.RemoteProtocolError``; either way the client sees a connection dropped
before (``drop_before``) or after (``drop_after``) the request was processed.
``server_error_after`` lets the app act on the request (a write commits), then
answers an nginx-style HTML 502 or 504 page instead of the app's answer: what a
gateway sends when it gave up on an upstream that went on to finish, and the
case that tells a client which writes it may repeat.

Time, as a real server's clients see it, has two parts: the network's delay
before the server counts a request against its rate limit (``network_delay``:
seconds, or a ``(low, high)`` range drawn uniformly per request, i.e. jitter),
and the server's processing time after it counted it and before it answers
(``server_time``, the same forms). A throttle that paces by send time is
exposed by the first (requests counted closer together than they were sent)
and slowed by the second.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import attrs

__all__ = ["DroppedConnection", "FaultInjector", "FaultPlan"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class DroppedConnection(Exception):
    """Raised inside a sandbox to drop the client's connection."""


def _probability(_: Any, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{attribute.name} must be a probability in [0, 1], not {value!r}")


_DELAYS = ("latency", "network_delay", "server_time")


def _delay(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    low, high = value if isinstance(value, tuple) else (value, value)
    if not 0.0 <= low <= high:
        raise ValueError(
            f"{attribute.name} must be seconds >= 0 or a (low, high) range, not {value!r}"
        )


@attrs.frozen
class FaultPlan:
    """How often a sandbox misbehaves; every probability is per request.

    ``network_delay`` holds each request that many seconds (or a uniform draw
    from a ``(low, high)`` pair) before the sandbox sees and counts it;
    ``server_time`` holds its answer that long after the sandbox handled it.
    ``latency`` is the older name of a delay before the sandbox (added to
    ``network_delay``). ``paths`` limits faults to requests whose path
    starts with one of the prefixes (all requests when empty); ``methods`` to
    requests with one of these methods (``("POST",)``: only the writes).
    """

    server_error: float = attrs.field(default=0.0, validator=_probability)
    #: A 502/504 HTML gateway page sent after the app processed the request.
    server_error_after: float = attrs.field(default=0.0, validator=_probability)
    rate_limited: float = attrs.field(default=0.0, validator=_probability)
    drop_before: float = attrs.field(default=0.0, validator=_probability)
    drop_after: float = attrs.field(default=0.0, validator=_probability)
    truncate: float = attrs.field(default=0.0, validator=_probability)
    latency: float | tuple[float, float] = attrs.field(default=0.0, validator=_delay)
    network_delay: float | tuple[float, float] = attrs.field(default=0.0, validator=_delay)
    server_time: float | tuple[float, float] = attrs.field(default=0.0, validator=_delay)
    seed: int = 0
    paths: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> FaultPlan:
        """Read ``"server_error=0.05,drop_after=0.02,seed=7"`` (the CLI's ``--faults``)."""
        fields = {a.name: a for a in attrs.fields(cls)}
        values: dict[str, Any] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            name, sep, raw = part.partition("=")
            name = name.strip().replace("-", "_")
            if not sep or name not in fields or name in ("paths", "methods"):
                raise ValueError(f"unknown fault setting {part!r}; known: {', '.join(fields)}")
            if name == "seed":
                values[name] = int(raw)
            elif name in _DELAYS and ":" in raw:
                low, high = raw.split(":", 1)
                values[name] = (float(low), float(high))
            else:
                values[name] = float(raw)
        return cls(**values)

    @property
    def active(self) -> bool:
        return any(
            (
                self.server_error,
                self.server_error_after,
                self.rate_limited,
                self.drop_before,
                self.drop_after,
                self.truncate,
            )
        ) or any(getattr(self, name) != 0.0 for name in _DELAYS)


class FaultInjector:
    """ASGI middleware applying a :class:`FaultPlan` in front of ``app``."""

    def __init__(self, app: ASGIApp, plan: FaultPlan) -> None:
        self.app = app
        self.plan = plan
        self._rng = random.Random(plan.seed)
        self.injected: dict[str, int] = {}

    def _draw(self, delay: float | tuple[float, float]) -> float:
        return self._rng.uniform(*delay) if isinstance(delay, tuple) else delay

    def _roll(self, name: str, probability: float) -> bool:
        if probability and self._rng.random() < probability:
            self.injected[name] = self.injected.get(name, 0) + 1
            return True
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        plan = self.plan
        if (
            scope["type"] != "http"
            or (plan.paths and not str(scope.get("path", "")).startswith(plan.paths))
            or (plan.methods and scope.get("method") not in plan.methods)
        ):
            await self.app(scope, receive, send)
            return
        delay = self._draw(plan.latency) + self._draw(plan.network_delay)
        if delay:
            await asyncio.sleep(delay)
        processing = self._draw(plan.server_time)
        if processing:
            send = _Delayed(send, processing)
        if self._roll("drop_before", plan.drop_before):
            await _drop(send, "before")
        if self._roll("rate_limited", plan.rate_limited):
            await _plain(send, 429, b"Too Many Requests", [(b"retry-after", b"1")])
            return
        if self._roll("server_error", plan.server_error):
            status = self._rng.choice((502, 503, 504))  # transient, as gateways answer
            await _plain(send, status, b"Injected server error")
            return
        if self._roll("drop_after", plan.drop_after):
            await self.app(scope, receive, _discard)
            await _drop(send, "after")
        if self._roll("server_error_after", plan.server_error_after):
            await self.app(scope, receive, _discard)
            status = self._rng.choice((502, 504))  # the gateway gave up; the app went on
            await _gateway_page(send, status)
            return
        if self._roll("truncate", plan.truncate):
            await self.app(scope, receive, _Truncating(send))
            return
        await self.app(scope, receive, send)


async def _discard(message: Message) -> None:
    return None


async def _drop(send: Send, when: str) -> None:
    # Start an answer that promises a body, then fail: uvicorn closes the socket
    # mid-answer (raising before any answer would make it send a 500 instead).
    headers = [(b"content-type", b"application/json"), (b"content-length", b"64")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b'{"partial":', "more_body": True})
    raise DroppedConnection(f"sandbox dropped the connection {when} processing")


async def _plain(
    send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    await send(
        {"type": "http.response.start", "status": status, "headers": headers + (extra or [])}
    )
    await send({"type": "http.response.body", "body": body})


_GATEWAY_TITLES = {502: b"502 Bad Gateway", 504: b"504 Gateway Time-out"}


async def _gateway_page(send: Send, status: int) -> None:
    """nginx's own error page, as a gateway in front of the platform sends it."""
    title = _GATEWAY_TITLES[status]
    body = (
        b"<html>\r\n<head><title>" + title + b"</title></head>\r\n<body>\r\n<center><h1>"
        + title + b"</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )  # fmt: skip
    headers = [(b"content-type", b"text/html"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _Delayed:
    """Holds an answer's start for the server's processing time, then passes everything on."""

    def __init__(self, send: Send, seconds: float) -> None:
        self._send = send
        self._seconds = seconds

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            await asyncio.sleep(self._seconds)
        await self._send(message)


class _Truncating:
    """Buffers an answer and sends only its first half, with a matching Content-Length."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self._start: Message | None = None
        self._body = bytearray()

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self._start = message
            return
        if message["type"] != "http.response.body":
            return
        self._body += message.get("body", b"")
        if message.get("more_body"):
            return
        assert self._start is not None
        body = bytes(self._body[: len(self._body) // 2])
        headers = [
            (k, v) for k, v in self._start.get("headers", []) if k.lower() != b"content-length"
        ]
        headers.append((b"content-length", str(len(body)).encode()))
        await self._send({**self._start, "headers": headers})
        await self._send({"type": "http.response.body", "body": body})
