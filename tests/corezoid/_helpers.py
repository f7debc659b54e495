"""Helpers shared by the Corezoid tests."""

from __future__ import annotations

from typing import Any

import httpx

from crmkit.corezoid import Corezoid
from crmkit.corezoid.sandbox import DEFAULT_LOGIN, DEFAULT_SECRET, CorezoidSandbox
from tests.conftest import VirtualClock

__all__ = ["DropAfterProcessing", "DropNth", "VirtualClock", "client_for"]


def client_for(sandbox: CorezoidSandbox, **kwargs: Any) -> Corezoid:
    """A client on the in-process sandbox (the Sync API on its own path, as served)."""
    kwargs.setdefault("transport", sandbox.transport())
    return Corezoid(
        DEFAULT_LOGIN,
        DEFAULT_SECRET,
        base_url="http://corezoid.sandbox",
        sync_url="http://corezoid.sandbox/sync-api",
        allow_insecure_http=True,
        **kwargs,
    )


class DropAfterProcessing(httpx.AsyncBaseTransport):
    """Forwards to ``inner``; the first ``drops`` requests whose path starts with
    ``prefix`` reach the server, then their answers are lost (a dropped connection)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, prefix: str, drops: int = 1) -> None:
        self.inner = inner
        self.prefix = prefix
        self.drops = drops

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if self.drops and request.url.path.startswith(self.prefix):
            self.drops -= 1
            await response.aread()
            raise httpx.RemoteProtocolError("connection dropped", request=request)
        return response


class DropNth(httpx.AsyncBaseTransport):
    """Forwards every request to ``inner``; the answers to the requests numbered in
    ``lost`` (0 for the first) are lost after the server processed them."""

    def __init__(self, inner: httpx.AsyncBaseTransport, lost: set[int]) -> None:
        self.inner = inner
        self.lost = lost
        self.sent = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        number, self.sent = self.sent, self.sent + 1
        response = await self.inner.handle_async_request(request)
        if number in self.lost:
            await response.aread()
            raise httpx.RemoteProtocolError("connection dropped", request=request)
        return response
