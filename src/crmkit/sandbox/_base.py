"""What every platform sandbox is: an ASGI app with state, a clock, faults and a request log.

A platform emulator subclasses :class:`Sandbox` and implements
:meth:`Sandbox.build_app` (usually a Starlette app). The base wraps it with
request counting and fault injection, and offers the two ways to reach it:
:meth:`Sandbox.transport` (in-process) and :meth:`Sandbox.serve` (loopback).
A Sandbox object is itself an ASGI app, so it can be mounted anywhere.
"""

from __future__ import annotations

from collections import Counter, deque
from email.utils import format_datetime
from typing import Any

import attrs
import httpx

from ._clock import SandboxClock
from ._faults import ASGIApp, FaultInjector, FaultPlan, Message, Receive, Scope, Send
from ._serve import ServedApp, sandbox_transport, serve

__all__ = ["RecordedRequest", "Sandbox"]


@attrs.frozen
class RecordedRequest:
    method: str
    path: str
    query: str


class Sandbox:
    """Base class of the platform emulators.

    - ``faults``: a :class:`FaultPlan` (or its text form) applied to every request;
    - ``clock``: the platform's wall clock (:class:`SandboxClock`), shared with tests;
    - ``request_count`` / ``requests_by_path`` / ``recent_requests``: what reached the
      app (after fault injection: a request dropped before processing still counts).
    """

    def __init__(
        self,
        *,
        faults: FaultPlan | str | None = None,
        clock: SandboxClock | None = None,
        keep_requests: int = 1000,
    ) -> None:
        self.clock = clock or SandboxClock()
        if isinstance(faults, str):
            faults = FaultPlan.parse(faults)
        self.faults = faults or FaultPlan()
        self.request_count = 0
        self.requests_by_path: Counter[str] = Counter()
        self.recent_requests: deque[RecordedRequest] = deque(maxlen=keep_requests)
        self._injector: FaultInjector | None = None
        self._app: ASGIApp | None = None

    def build_app(self) -> ASGIApp:
        """Return the platform's ASGI app (called once, lazily)."""
        raise NotImplementedError

    @property
    def app(self) -> ASGIApp:
        if self._app is None:
            self._injector = FaultInjector(self.build_app(), self.faults)
            self._app = self._injector
        return self._app

    def set_faults(self, plan: FaultPlan | str | None) -> None:
        """Change the fault plan while running (``None`` turns faults off)."""
        if isinstance(plan, str):
            plan = FaultPlan.parse(plan)
        self.faults = plan or FaultPlan()
        if self._injector is not None:
            self._injector.plan = self.faults

    @property
    def injected_faults(self) -> dict[str, int]:
        return dict(self._injector.injected) if self._injector else {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.request_count += 1
            path = str(scope.get("path", ""))
            self.requests_by_path[path] += 1
            query = scope.get("query_string", b"")
            self.recent_requests.append(
                RecordedRequest(str(scope.get("method", "")), path, query.decode("latin-1"))
            )
            await self.app(scope, receive, self._dated(send))
            return
        await self.app(scope, receive, send)

    def _dated(self, send: Send) -> Send:
        """Every answer carries a ``Date`` from the sandbox clock, as real servers' do."""

        async def dated(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                if not any(name.lower() == b"date" for name, _ in headers):
                    stamp = format_datetime(self.clock.datetime(), usegmt=True)
                    headers.append((b"date", stamp.encode("latin-1")))
                    message = {**message, "headers": headers}
            await send(message)

        return dated

    def transport(self, *, client_ip: str = "127.0.0.1") -> httpx.AsyncBaseTransport:
        """An in-process httpx transport to this sandbox (``client_ip`` is the caller it sees)."""
        return sandbox_transport(self, client=(client_ip, 50000))

    def serve(self, *, host: str = "127.0.0.1", port: int = 0, **kwargs: Any) -> ServedApp:
        """Serve on loopback in a background thread; ``.url`` is its base URL."""
        return serve(self, host=host, port=port, **kwargs)
