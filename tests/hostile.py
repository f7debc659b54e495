"""A hostile server for property tests: the sandbox's real answers, one of them spoiled.

:class:`HostileTransport` forwards each request to a sandbox (in process), then
replaces the answer numbered ``spoil.index`` by what :class:`Spoil` says: a JSON
body with one value changed (wrong type, null, a huge number, HTML ...) or one
key removed, other bytes entirely (empty, HTML, not UTF-8, truncated JSON,
random), another status (a 302, a 204, a 5xx HTML gateway page, a 429 with a
garbage ``Retry-After``), a lying ``Content-Encoding``, or, from that answer
on, the same answer to every request (a cursor that never moves). A run that
sends more than ``max_requests`` requests raises :class:`EndlessRun`: an
outcome no test accepts.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import httpx
import orjson
from hypothesis import strategies as st

import crmkit

from .conftest import VirtualClock

#: Values put where a sane one was.
HOSTILE_VALUES: list[Any] = [
    None,
    "",
    "x",
    "<html><body>502 Bad Gateway</body></html>",
    "2026-13-45T99:99:99",
    "1e999",
    -1,
    0,
    2**63,
    -(2**63),
    10**30,
    1.5e308,
    -0.5,
    True,
    False,
    [],
    {},
    [None],
    {"id": None},
    [[[[[]]]]],
    "\u0000\ud7ff",
]

GARBAGE_BODIES: list[bytes] = [
    b"",
    b" ",
    b"null",
    b"[]",
    b"{}",
    b'"text"',
    b"12345678901234567890123456789",
    b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head></html>",
    b"\xff\xfe\x00\x00garbage",
    b'{"success": true, "data": ',
    b"[" * 5000 + b"]" * 5000,
    b'{"a":' * 2000 + b"1" + b"}" * 2000,
]

RETRY_AFTERS = ["garbage", "-5", "1e400", "nan", "inf", "99999999", "", "Wed, 21 Oct 2099 07:28:00"]


class EndlessRun(Exception):
    """The client kept sending requests: a loop that does not end."""


@attrs.frozen
class Spoil:
    index: int
    kind: str
    path_pick: int = 0
    value: Any = None
    body: bytes = b""
    status: int = 200
    header: str = ""


def spoils(max_index: int) -> st.SearchStrategy[Spoil]:
    index = st.integers(0, max_index)
    return st.one_of(
        st.builds(
            Spoil,
            index,
            st.just("value"),
            st.integers(0, 10_000),
            st.one_of(
                st.sampled_from(HOSTILE_VALUES),
                st.recursive(
                    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda inner: (
                        st.lists(inner, max_size=3)
                        | st.dictionaries(st.text(max_size=4), inner, max_size=3)
                    ),
                    max_leaves=6,
                ),
            ),
        ),
        st.builds(Spoil, index, st.just("drop"), st.integers(0, 10_000)),
        st.builds(
            Spoil,
            index,
            st.just("body"),
            body=st.one_of(st.sampled_from(GARBAGE_BODIES), st.binary(max_size=64)),
        ),
        st.builds(Spoil, index, st.just("truncate"), st.integers(0, 10_000)),
        st.builds(
            Spoil, index, st.just("status"), status=st.sampled_from([204, 302, 304, 418, 500, 502])
        ),
        st.builds(Spoil, index, st.just("retry_after"), header=st.sampled_from(RETRY_AFTERS)),
        st.builds(Spoil, index, st.just("encoding"), header=st.sampled_from(["gzip", "br", "zz"])),
        st.builds(Spoil, index, st.just("repeat")),
    )


def _paths(value: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [here]
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _paths(inner, (*here, key))
    elif isinstance(value, list):
        for position, inner in enumerate(value[:20]):
            found += _paths(inner, (*here, position))
    return found


def _replace(value: Any, path: tuple[Any, ...], new: Any, drop: bool) -> Any:
    if not path:
        return None if drop else new
    head, rest = path[0], path[1:]
    copy: Any = dict(value) if isinstance(value, dict) else list(value)
    if drop and not rest:
        del copy[head]
        return copy
    copy[head] = _replace(copy[head], rest, new, drop)
    return copy


def spoil_json(data: Any, spoil: Spoil) -> Any:
    paths = _paths(data)
    path = paths[spoil.path_pick % len(paths)]
    return _replace(data, path, spoil.value, spoil.kind == "drop")


class HostileTransport(httpx.AsyncBaseTransport):
    def __init__(
        self, inner: httpx.AsyncBaseTransport, spoil: Spoil, max_requests: int = 150
    ) -> None:
        self.inner = inner
        self.spoil = spoil
        self.max_requests = max_requests
        self.count = 0
        self.spoiled = False
        self._repeat: tuple[int, list[tuple[bytes, bytes]], bytes] | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.count += 1
        if self.count > self.max_requests:
            raise EndlessRun(f"{self.count} requests: the client does not stop")
        number = self.count - 1
        if self._repeat is not None:
            status, headers, body = self._repeat
            return _answer(status, headers, body, request)
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        status, headers = response.status_code, list(response.headers.raw)
        if number != self.spoil.index:
            return _answer(status, headers, body, request)
        self.spoiled = True
        status, headers, body = self._spoiled(status, headers, body)
        if self.spoil.kind == "repeat":
            self._repeat = (status, headers, body)
        return _answer(status, headers, body, request)

    def _spoiled(
        self, status: int, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        spoil = self.spoil
        plain = [(k, v) for k, v in headers if k.lower() not in (b"content-length",)]
        if spoil.kind in ("value", "drop"):
            try:
                data = orjson.loads(body)
            except orjson.JSONDecodeError:
                return status, plain, body
            # the standard library writes what orjson refuses (integers beyond 64 bits)
            return status, plain, json.dumps(spoil_json(data, spoil)).encode()
        if spoil.kind == "body":
            return status, plain, spoil.body
        if spoil.kind == "truncate":
            return status, plain, body[: spoil.path_pick % (len(body) or 1)]
        if spoil.kind == "status":
            extra = [(b"location", b"https://login.example.test/")] if spoil.status == 302 else []
            html = b"<html><body><h1>Bad Gateway</h1></body></html>"
            page = html if spoil.status >= 500 else body
            if spoil.status in (204, 304):
                page = b""
            return spoil.status, [*plain, *extra], page
        if spoil.kind == "retry_after":
            return 429, [*plain, (b"retry-after", spoil.header.encode())], b"Too Many Requests"
        if spoil.kind == "encoding":
            return status, [*plain, (b"content-encoding", spoil.header.encode())], body
        return status, headers, body


def _answer(
    status: int, headers: list[tuple[bytes, bytes]], body: bytes, request: httpx.Request
) -> httpx.Response:
    # A stream, not ``content=``: the client reads (and decodes) it, as from a socket.
    return httpx.Response(status, headers=headers, stream=httpx.ByteStream(body), request=request)


def run_hostile(
    make_client: Callable[[httpx.AsyncBaseTransport, VirtualClock], Any],
    sandbox_transport: Callable[[], httpx.AsyncBaseTransport],
    operation: Callable[[Any], Awaitable[Any]],
    spoil: Spoil,
) -> tuple[Any, HostileTransport]:
    """Run ``operation`` against a spoiled sandbox; returns its result or its crmkit error."""
    transport = HostileTransport(sandbox_transport(), spoil)

    async def scenario() -> Any:
        clock = VirtualClock()
        client = make_client(transport, clock)
        async with client:
            try:
                return await operation(client)
            except crmkit.CRMError as error:
                return error

    return asyncio.run(scenario()), transport
