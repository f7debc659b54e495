"""The shared sandbox machinery: sliding window, blocks, faults, serving on loopback."""

from __future__ import annotations

import anyio
import httpx
import pytest

import crmkit
from crmkit.sandbox import (
    FakeData,
    FaultInjector,
    FaultPlan,
    SandboxClock,
    SlidingWindowLimiter,
    Verdict,
    sandbox_transport,
)
from crmkit.sandbox.demo import DemoSandbox, list_items

pytestmark = pytest.mark.anyio


class Ticks:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_sliding_window_counts_the_last_second_exactly():
    ticks = Ticks()
    limiter = SlidingWindowLimiter(3, monotonic=ticks)
    assert [limiter.hit() for _ in range(3)] == [Verdict.ALLOWED] * 3
    ticks.t = 0.99
    assert limiter.hit() is Verdict.LIMITED
    ticks.t = 1.0  # the first three left the window
    assert limiter.hit() is Verdict.ALLOWED
    assert limiter.violations() == 1


def test_block_after_repeated_violations_is_for_good():
    ticks = Ticks()
    limiter = SlidingWindowLimiter(1, block_after=3, monotonic=ticks)
    limiter.hit()
    assert [limiter.hit() for _ in range(3)] == [Verdict.LIMITED] * 3
    ticks.t = 100.0
    assert limiter.hit() is Verdict.BLOCKED
    assert limiter.is_blocked()
    assert limiter.hit("other-account") is Verdict.ALLOWED


def test_fault_plan_parses_cli_text_and_refuses_unknowns():
    plan = FaultPlan.parse("server_error=0.1, drop-after=0.05,latency=0.01:0.02,seed=9")
    assert plan.server_error == 0.1 and plan.drop_after == 0.05
    assert plan.latency == (0.01, 0.02) and plan.seed == 9
    with pytest.raises(ValueError, match="unknown fault"):
        FaultPlan.parse("explode=1")
    with pytest.raises(ValueError, match="probability"):
        FaultPlan(server_error=1.5)


def test_fake_data_is_deterministic_per_seed():
    a, b = FakeData(5), FakeData(5)
    assert [a.full_name() for _ in range(5)] == [b.full_name() for _ in range(5)]
    assert a.email().endswith("@example.test")


def test_sandbox_clock_advances_and_never_goes_back():
    clock = SandboxClock(start=1_000_000.0)
    before = clock.now()
    clock.advance(3600)
    assert clock.now() - before >= 3600
    with pytest.raises(ValueError):
        clock.advance(-1)


def session_for(sandbox, **kwargs) -> crmkit.Session:
    return crmkit.Session(
        "http://demo.test", transport=sandbox.transport(), allow_insecure_http=True, **kwargs
    )


async def test_rate_limited_sandbox_answers_429_to_a_burst_and_blocks():
    sandbox = DemoSandbox(100, rate_limit=2, block_after=2)
    async with session_for(sandbox, max_retries=0) as session:
        await list_items(session, page_size=10, limit=20).to_list()  # 2 requests: allowed
        for _ in range(2):  # two violations: the second one blocks the account
            with pytest.raises(crmkit.RateLimitError):
                await list_items(session, page_size=10).to_list()
        await anyio.sleep(1.05)  # a fresh window does not lift a block
        with pytest.raises(crmkit.PermissionDeniedError):
            await list_items(session, page_size=10).to_list()
    assert sandbox.limiter is not None and sandbox.limiter.is_blocked()


async def test_a_session_at_the_rate_limit_never_gets_429():
    sandbox = DemoSandbox(2000, rate_limit=20)
    async with session_for(sandbox, rate_limit=20) as session:
        items = await list_items(session, page_size=100).to_list()
    assert len(items) == 2000
    assert sandbox.limited == 0


async def test_dropped_connections_are_transport_errors_and_retried_for_get():
    sandbox = DemoSandbox(300, faults=FaultPlan(drop_before=0.3, drop_after=0.3, seed=3))
    async with session_for(sandbox, max_retries=10, retry=None) as session:
        session.retry = crmkit.RetryPolicy(max_retries=10, backoff_base=0.0)
        items = await list_items(session, page_size=50).to_list()
    assert [i["id"] for i in items] == list(range(1, 301))
    assert sandbox.injected_faults["drop_before"] + sandbox.injected_faults["drop_after"] > 0
    assert session.stats.retries > 0


async def test_truncated_body_is_a_protocol_error():
    sandbox = DemoSandbox(300, faults=FaultPlan(truncate=1.0))
    async with session_for(sandbox) as session:
        with pytest.raises(crmkit.ProtocolError):
            await list_items(session).to_list()


async def test_injected_429_and_5xx_are_retried():
    sandbox = DemoSandbox(200, faults=FaultPlan(server_error=0.3, rate_limited=0.3, seed=1))
    async with session_for(sandbox) as session:
        session.retry = crmkit.RetryPolicy(max_retries=20, backoff_base=0.0)
        # Retry-After: 1 from injected 429s would really wait: the virtual clock skips it
        from tests.conftest import VirtualClock

        session.clock = VirtualClock()
        session.throttle = crmkit.RateLimiter(None, clock=session.clock)
        items = await list_items(session, page_size=20).to_list()
    assert len(items) == 200
    assert session.stats.rate_limited > 0


async def test_served_on_loopback_over_real_sockets_with_drops():
    sandbox = DemoSandbox(500, faults=FaultPlan(drop_after=0.5, seed=11))
    async with sandbox.serve() as served:
        assert served.url.startswith("http://127.0.0.1:")
        async with crmkit.Session(served.url, allow_insecure_http=True) as session:
            session.retry = crmkit.RetryPolicy(max_retries=10, backoff_base=0.0)
            items = await list_items(session, page_size=50).to_list()
    assert [i["id"] for i in items] == list(range(1, 501))
    assert sandbox.injected_faults["drop_after"] >= 3
    assert session.stats.retries == sandbox.injected_faults["drop_after"]


def test_serving_beyond_loopback_is_refused():
    with pytest.raises(ValueError, match="loopback"):
        DemoSandbox(1).serve(host="0.0.0.0")


async def test_network_delay_comes_before_the_server_counts_and_server_time_after():
    import time

    import httpx

    from crmkit.sandbox import FaultInjector

    handled: list[float] = []

    async def app(scope, receive, send):
        handled.append(time.monotonic())  # where a sandbox counts the request
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    plan = FaultPlan(network_delay=(0.05, 0.06), server_time=0.1)
    transport = httpx.ASGITransport(app=FaultInjector(app, plan))
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as client:
        sent = time.monotonic()
        await client.get("/x")
        answered = time.monotonic()
    assert handled[0] - sent >= 0.05  # the network held it before the server saw it
    assert answered - handled[0] >= 0.1  # the server took its time after counting it


def test_delays_parse_as_values_or_ranges_and_refuse_negatives():
    plan = FaultPlan.parse("network_delay=0.08:0.12,server_time=0.5")
    assert plan.network_delay == (0.08, 0.12) and plan.server_time == 0.5 and plan.active
    with pytest.raises(ValueError, match="network_delay"):
        FaultPlan(network_delay=(0.2, 0.1))
    with pytest.raises(ValueError, match="server_time"):
        FaultPlan(server_time=-1.0)


async def test_a_gateway_error_after_processing_comes_after_the_write_committed():
    """``server_error_after``: the app acts on the request, the client sees an HTML 502/504."""
    writes: list[bytes] = []

    async def app(scope, receive, send):
        writes.append((await receive()).get("body", b""))
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b'{"id": 1}'})

    plan = FaultPlan.parse("server_error_after=1,seed=4")
    injector = FaultInjector(app, plan)
    async with crmkit.Session(
        "http://demo.test",
        transport=sandbox_transport(injector),
        allow_insecure_http=True,
        max_retries=3,
    ) as session:
        with pytest.raises(crmkit.ServerError) as caught:
            await session.request("POST", "items", json={"n": 1})  # a POST: never repeated
    async with httpx.AsyncClient(transport=sandbox_transport(injector)) as raw:
        response = await raw.post("http://demo.test/items", json={"n": 2})
    assert caught.value.status in (502, 504)
    assert response.status_code in (502, 504) and b"nginx" in response.content
    assert response.headers["content-type"] == "text/html"
    assert writes == [b'{"n":1}', b'{"n":2}']  # each write reached the app once and committed
    assert injector.injected == {"server_error_after": 2}
