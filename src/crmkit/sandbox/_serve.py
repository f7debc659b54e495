"""Serving a sandbox: in-process through httpx, or on 127.0.0.1 over real sockets.

:func:`sandbox_transport` gives an ``httpx`` transport that calls the ASGI app
in the same event loop (fast, for most tests). :func:`serve` runs uvicorn on a
free loopback port in a background thread and returns the base URL, for the
tests and benchmarks where the point is the network, for the CLI, and for
synchronous clients such as the vendor's own ``retailcrm`` package.
Only loopback addresses are ever bound.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from types import TracebackType
from typing import Any

import httpx

from .._tls import LOOPBACK_HOSTS
from ._faults import ASGIApp, DroppedConnection

__all__ = ["ServedApp", "sandbox_transport", "serve"]


class _SandboxTransport(httpx.ASGITransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await super().handle_async_request(request)
        except DroppedConnection as exc:
            raise httpx.RemoteProtocolError(str(exc), request=request) from None


def sandbox_transport(
    app: ASGIApp, *, client: tuple[str, int] = ("127.0.0.1", 50000)
) -> httpx.AsyncBaseTransport:
    """An in-process transport to ``app``; a dropped connection surfaces as ``RemoteProtocolError``.

    ``client`` is the address the app sees as the caller (for IP allow-lists).
    """
    return _SandboxTransport(app=app, client=client)


class ServedApp:
    """A sandbox served by uvicorn on loopback; a context manager (sync or async)."""

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int = 0) -> None:
        if host not in LOOPBACK_HOSTS:
            raise ValueError(f"sandboxes are served on loopback only, not {host!r}")
        import uvicorn

        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # proto=IPPROTO_TCP matters: asyncio only turns Nagle off (TCP_NODELAY) on
        # accepted sockets whose proto says TCP, and with Nagle on, every answer
        # written in two parts waits ~40 ms for the client's delayed ACK.
        self._sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock.bind((host, port))
        self.host = host
        self.port: int = self._sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            log_level="critical",
            access_log=False,
            lifespan="off",
            # The sandbox sends its own Date (its clock can be moved); uvicorn's would
            # be a second one, from the real clock.
            date_header=False,
            server_header=False,
            timeout_keep_alive=30,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name=f"sandbox:{self.port}", daemon=True)
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``, no trailing slash."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def _run(self) -> None:
        try:
            asyncio.run(self._server.serve(sockets=[self._sock]))
        except BaseException as exc:  # pragma: no cover - reported by start()
            self._error = exc

    def start(self) -> ServedApp:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if self._error is not None or not self._thread.is_alive():
                raise RuntimeError(f"sandbox server failed to start: {self._error!r}")
            if time.monotonic() > deadline:
                raise RuntimeError("sandbox server did not start within 10 s")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self._sock.close()

    def __enter__(self) -> ServedApp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> ServedApp:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)

    def __repr__(self) -> str:
        return f"<ServedApp {self.url}>"


def serve(app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0, **_: Any) -> ServedApp:
    """Start serving ``app`` on loopback in a background thread; returns once it accepts.

    Use as ``with serve(app) as served: served.url`` (or ``async with``).
    """
    return ServedApp(app, host=host, port=port).start()
