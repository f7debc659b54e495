"""Cancellation never keeps throttle capacity; a closed Session ends its requests clearly.

Each case was a defect (issue 19): a cancel while ``RateLimiter.acquire`` waited
kept a slot for good, the login flow released one slot twice, a stopped
paginator's prefetched page could keep its slot, and ``Session.aclose()`` with
requests in flight gave httpx's raw RuntimeError. Time here is virtual (the
``clock`` fixture), and the checks read the throttle's own state.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator

import httpx
import pytest

import crmkit
from crmkit._pagination import Page, PageRequest
from tests.test_aiohttp_transport import tcp_server

pytestmark = pytest.mark.anyio


class GatedClock:
    """A virtual clock whose sleeps wait until the test opens the gate."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeping = 0
        self.gate = asyncio.Event()

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeping += 1
        try:
            await self.gate.wait()
        finally:
            self.sleeping -= 1
        self.now += max(0.0, seconds)


async def _turns(n: int = 20) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


def _hanging_then_ok():
    """A transport whose answers hang while ``hang`` is set (cancelled requests sit there)."""
    hang = asyncio.Event()
    hang.set()
    sent: list[float] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        sent.append(0)
        if hang.is_set():
            await asyncio.Event().wait()
        return httpx.Response(200, json={})

    return httpx.MockTransport(handler), hang, sent


async def _ten_requests(session: crmkit.Session, clock) -> float:
    start = clock.now
    await asyncio.gather(*(session.request("GET", "x") for _ in range(10)))
    return clock.now - start


async def test_cancelled_requests_leave_no_slot_behind(clock):
    transport, hang, _ = _hanging_then_ok()
    fresh_transport, fresh_hang, _ = _hanging_then_ok()
    fresh_hang.clear()
    async with crmkit.Session(
        "https://a.example.test", transport=fresh_transport, rate_limit=5, clock=clock
    ) as fresh:
        baseline = await _ten_requests(fresh, clock)

    async with crmkit.Session(
        "https://a.example.test", transport=transport, rate_limit=5, clock=clock
    ) as session:
        limiter = session.throttle
        assert isinstance(limiter, crmkit.RateLimiter)
        for _ in range(3):  # three rounds of fifteen cancelled requests
            tasks = [asyncio.ensure_future(session.request("GET", "x")) for _ in range(15)]
            await _turns()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        # the requests that left keep their slots until their 30 s timeout's end and a
        # window (the server may count them yet); then nothing is left behind
        clock.now += 32
        assert limiter.in_use == 0
        hang.clear()
        # not slowed (before the fix: 4.5 s against 1.9 s); the paced mode may widen
        # the spacing by the measured spread of these in-process answers (microseconds)
        assert await _ten_requests(session, clock) <= baseline * 1.01


async def test_a_cancel_during_a_429_pause_keeps_no_slot():
    clock = GatedClock()
    limiter = crmkit.RateLimiter(1, clock=clock)
    async with limiter:  # the only slot, answered
        pass
    limiter.pause(30)
    waiter = asyncio.ensure_future(limiter.acquire())
    await _turns()
    assert clock.sleeping == 1  # waiting out the pause
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    clock.now += 60
    assert limiter.in_use == 0
    clock.gate.set()
    await asyncio.wait_for(limiter.acquire(), 1)  # the next request is not stuck
    assert limiter.in_use == 1


async def test_a_cancel_while_waiting_for_a_slot_takes_nothing():
    clock = GatedClock()
    limiter = crmkit.RateLimiter(2, clock=clock)
    clock.gate.set()
    await limiter.acquire()
    await limiter.acquire()  # both slots in flight
    clock.gate.clear()
    waiters = [asyncio.ensure_future(limiter.acquire()) for _ in range(5)]
    await _turns()
    for task in waiters:
        task.cancel()
    await asyncio.gather(*waiters, return_exceptions=True)
    assert limiter.in_use == 2
    limiter.release()
    limiter.release()
    clock.now += 5
    assert limiter.in_use == 0


async def test_a_login_cancelled_between_its_steps_releases_each_slot_once():
    """The flow releases the login step's slot, then waits for the next: cancelled there,
    the Session's own release must not free a second slot."""
    from crmkit._login import SingleFlightLogin

    acquired = 0
    released = 0
    block = asyncio.Event()

    class Counting:
        async def acquire(self) -> None:
            nonlocal acquired
            if acquired == 1:  # the caller's request, after the login step
                await block.wait()
            acquired += 1

        def release(self) -> None:
            nonlocal released
            released += 1

        def pause(self, seconds: float) -> None:
            pass

    class LoginFirst(SingleFlightLogin):
        def __init__(self) -> None:
            super().__init__()
            self.token: str | None = None

        async def current(self):
            return self.token

        def login_step(self, answer):
            return httpx.Request("POST", "https://a.example.test/login") if answer is None else None

        async def logged_in(self, answer):
            self.token = "t"

        def authorize(self, request, credential):
            request.headers["x-token"] = credential
            return request

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={})

    async with crmkit.Session(
        "https://a.example.test",
        transport=httpx.MockTransport(handler),
        throttle=Counting(),
        auth=LoginFirst(),
    ) as session:
        task = asyncio.ensure_future(session.request("GET", "x"))
        await _turns()
        assert (acquired, released) == (1, 1)  # login step answered, its slot handed back
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert (acquired, released) == (1, 1)


class _Numbers:
    """Pages of three numbers at page numbers 1..5."""

    max_page_size = 3
    default_page_size = 3

    def request(self, cursor, page_size, modified_since):
        return PageRequest("items", params={"page": cursor or 1})

    def parse(self, response, cursor, page_size):
        page = int(cursor or 1)
        return Page(
            items=[page * 10 + i for i in range(3)], next_cursor=page + 1 if page < 5 else None
        )


async def test_a_stopped_paginator_keeps_its_sent_prefetched_page_slot_until_its_timeout(clock):
    gate = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.params["page"] != "1":
            await gate.wait()  # the prefetched page is still on its way
        return httpx.Response(200, json={})

    async with crmkit.Session(
        "https://a.example.test",
        transport=httpx.MockTransport(handler),
        rate_limit=5,
        clock=clock,
    ) as session:
        limiter = session.throttle
        assert isinstance(limiter, crmkit.RateLimiter)

        async def fetch(page: PageRequest) -> httpx.Response:
            return await session.request(page.method, page.url, params=page.params)

        paginator = crmkit.AsyncPaginator(fetch, _Numbers())
        items = paginator.__aiter__()
        assert await items.__anext__() == 10
        await _turns()
        assert limiter.in_use == 2  # page 1 answered, page 2 in flight
        await items.aclose()  # the caller stops
        await _turns()
        # page 2 left: the server may count it yet, so its slot is kept as an
        # unanswered request's would be (before the fix: freed at the cancel)
        clock.now += 10
        assert limiter.in_use == 1
        clock.now += 22  # its 30 s timeout's end, and a window: nothing is left behind
        assert limiter.in_use == 0


async def test_closing_a_session_ends_its_requests_with_a_crmkit_error():
    clock = GatedClock()
    transport, _, sent = _hanging_then_ok()
    session = crmkit.Session(
        "https://a.example.test", transport=transport, rate_limit=2, clock=clock
    )
    clock.gate.set()
    tasks = [asyncio.ensure_future(session.request("GET", "x")) for _ in range(3)]
    await _turns()
    assert len(sent) == 2  # two in flight, the third waits for a slot
    await session.aclose()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, crmkit.SessionClosedError) for r in results), results
    assert "closed" in str(results[0])
    with pytest.raises(crmkit.SessionClosedError):
        await session.request("GET", "x")


class _TracedHang(httpx.AsyncBaseTransport):
    """Reports its steps through the request's ``trace`` extension, as httpcore does,
    and hangs after ``hang_at`` (where a cancel finds the request)."""

    STEPS = (
        "connection.connect_tcp.started",
        "connection.connect_tcp.complete",
        "http11.send_request_headers.started",
        "http11.send_request_headers.complete",
        "http11.receive_response_headers.started",
    )

    def __init__(self, hang_at: str) -> None:
        self.hang_at = hang_at

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        trace = request.extensions["trace"]
        for step in self.STEPS:
            await trace(step, {})
            if step == self.hang_at:
                await asyncio.Event().wait()
        raise AssertionError("not reached")


@pytest.mark.parametrize(
    ("hang_at", "held_after_10s"),
    [
        ("connection.connect_tcp.complete", 0),  # never left: nothing to count
        ("http11.send_request_headers.started", 1),  # may be counted yet
        ("http11.receive_response_headers.started", 1),
    ],
)
async def test_a_cancelled_request_keeps_its_slot_only_if_it_left(clock, hang_at, held_after_10s):
    async with crmkit.Session(
        "https://a.example.test", transport=_TracedHang(hang_at), rate_limit=5, clock=clock
    ) as session:
        limiter = session.throttle
        assert isinstance(limiter, crmkit.RateLimiter)
        task = asyncio.ensure_future(session.request("GET", "x"))
        await _turns()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        clock.now += 10
        assert limiter.in_use == held_after_10s
        clock.now += 22  # the Session's 30 s timeout has passed, and a window
        assert limiter.in_use == 0


def _transport(name: str, max_connections: int) -> httpx.AsyncBaseTransport:
    if name == "aiohttp":
        return crmkit.aiohttp_transport(max_connections=max_connections)
    limits = httpx.Limits(max_connections=max_connections)
    return httpx.AsyncHTTPTransport(limits=limits)


@contextlib.asynccontextmanager
async def _silent_server() -> AsyncIterator[tuple[str, asyncio.Event]]:
    """A server on loopback that reads each request and never answers: its URL, and an
    event set once a request's head has arrived."""
    received = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.set()
        await reader.read()  # never answers; ends when the client hangs up

    async with tcp_server(silent) as (url, _):
        yield url, received


def _silent_session(url: str, transport: str, clock, **options) -> crmkit.Session:
    """A Session at 5/s on one connection of ``transport`` (``"httpx"`` or ``"aiohttp"``)."""
    return crmkit.Session(
        url,
        transport=_transport(transport, max_connections=1),
        rate_limit=5,
        clock=clock,
        allow_insecure_http=True,
        **options,
    )


@pytest.mark.parametrize("transport", ["httpx", "aiohttp"])
async def test_over_loopback_a_request_waiting_for_a_connection_frees_its_slot_when_cancelled(
    clock, transport
):
    """Both transports tell the throttle when a request may have left (aiohttp's own
    connection signals stand in for httpcore's trace): one that never had a connection
    frees its slot at the cancel; one the server received keeps it (it may be counted)."""
    async with (
        _silent_server() as (url, received),
        _silent_session(url, transport, clock) as session,
    ):
        limiter = session.throttle
        assert isinstance(limiter, crmkit.RateLimiter)
        first = asyncio.ensure_future(session.request("GET", "x"))
        await asyncio.wait_for(received.wait(), 10)
        second = asyncio.ensure_future(session.request("GET", "y"))  # waits for the pool
        for _ in range(50):
            await asyncio.sleep(0.01)
        assert limiter.in_use == 2
        second.cancel()
        await asyncio.gather(second, return_exceptions=True)
        assert limiter.in_use == 1  # the second never left
        first.cancel()
        await asyncio.gather(first, return_exceptions=True)
        clock.now += 10
        assert limiter.in_use == 1  # the first reached the server: its slot is kept
        clock.now += 22
        assert limiter.in_use == 0


class _ThreePages:
    """Pages 1 and 2 of three numbers, page 3 of two (the end); pages asked for by number,
    so a paginator asks for pages ahead (``cursor_after``) and overshoots the end."""

    max_page_size = 3
    default_page_size = 3

    def request(self, cursor, page_size, modified_since):
        return PageRequest("items", params={"page": cursor or 1})

    def cursor_after(self, cursor, page_size):
        return (cursor or 1) + 1

    def parse(self, response, cursor, page_size):
        page = int(cursor or 1)
        if page > 3:
            return Page(items=[], next_cursor=None)
        count = 3 if page < 3 else 2
        return Page(
            items=[page * 10 + i for i in range(count)], next_cursor=page + 1 if page < 3 else None
        )


class _Client:
    """A client's shape as the paginator knows it: a ``session`` and a fetch method."""

    def __init__(self, session: crmkit.Session) -> None:
        self.session = session

    async def fetch(self, page: PageRequest) -> httpx.Response:
        return await self.session.request(page.method, page.url, params=page.params)


@pytest.mark.parametrize("mode", ["strict", "paced"])
async def test_pages_asked_for_past_the_end_are_let_end_when_a_cancel_would_hold_their_slots(
    clock, mode
):
    """Under the strict rule (or before pacing has learned), a page request that left and
    is cancelled holds its slot until its timeout: at the listing's own end the paginator
    lets such requests end instead, and their slots end a window after their answers."""
    asked: list[int] = []
    answered: list[int] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        asked.append(page)
        await asyncio.sleep(0.3 if page > 3 else 0.01)  # past the end: still on its way
        answered.append(page)
        return httpx.Response(200, json={})

    limiter = crmkit.RateLimiter(50, mode=mode, clock=clock)
    async with crmkit.Session(
        "https://a.example.test",
        transport=httpx.MockTransport(handler),
        throttle=limiter,
        clock=clock,
    ) as session:
        client = _Client(session)
        paginator = crmkit.AsyncPaginator(client.fetch, _ThreePages(), concurrency=3)
        items, past_end_when_last_page_came = [], None
        async for item in paginator:
            items.append(item)
            if item == 30:
                past_end_when_last_page_came = [p for p in answered if p > 3]
        assert items == [10, 11, 12, 20, 21, 22, 30, 31]
        assert max(asked) > 3  # pages past the end were asked for
        # the last page is handed over at once; the pages past the end are waited for after
        assert past_end_when_last_page_came == []
        assert sorted(p for p in answered if p > 3) == sorted(p for p in asked if p > 3)
        assert limiter.abandon_bound == math.inf  # strict, or paced with too few answers
        clock.now += 2  # every answered slot's window is over
        assert limiter.in_use == 0  # before: the pages past the end held theirs 31 s
    assert session.stats.requests == len(asked)


@pytest.mark.parametrize("transport", ["httpx", "aiohttp"])
async def test_over_loopback_a_login_cancelled_once_it_left_keeps_the_slot(clock, transport):
    """A login an auth flow sends first is a request of its own: it reports its write
    as the caller's request would, so a cancel during it keeps the slot."""
    async with _silent_server() as (url, received):
        from crmkit._login import SingleFlightLogin

        class LoginFirst(SingleFlightLogin):
            async def current(self):
                return None

            def login_step(self, answer):
                return httpx.Request("POST", f"{url}/login") if answer is None else None

            async def logged_in(self, answer):
                pass

            def authorize(self, request, credential):
                return request

        async with _silent_session(url, transport, clock, auth=LoginFirst()) as session:
            limiter = session.throttle
            assert isinstance(limiter, crmkit.RateLimiter)
            task = asyncio.ensure_future(session.request("GET", "x"))
            await asyncio.wait_for(received.wait(), 10)  # the login reached the server
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            clock.now += 10
            assert limiter.in_use == 1  # it may be counted yet (before: freed at the cancel)
            clock.now += 22
            assert limiter.in_use == 0
