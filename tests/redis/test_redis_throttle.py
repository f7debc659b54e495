"""RedisThrottle against a real redis-server the tests start on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from crmkit.redis_throttle import RedisThrottle
from crmkit.sandbox.demo import DemoSandbox

pytestmark = pytest.mark.anyio


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not on PATH: apt-get install -y redis-server (.ci/run does)")
    port = _free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    break
        except OSError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail("redis-server did not start")
        time.sleep(0.05)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


WORKER = """
import asyncio, json, sys, time
import crmkit
from crmkit.redis_throttle import RedisThrottle

async def main(url, redis_url, requests):
    async with RedisThrottle(redis_url, key="shared-account", rate=10) as throttle:
        async with crmkit.Session(url, throttle=throttle, allow_insecure_http=True,
                                  max_retries=0) as session:
            started = time.monotonic()
            await asyncio.gather(*(session.request("GET", "/items", params={"page": 1})
                                   for _ in range(requests)))
            print(json.dumps({"elapsed": time.monotonic() - started,
                              "limited": session.stats.rate_limited,
                              "pacing": throttle.pacing}))

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
"""


def _run_workers(
    sandbox: DemoSandbox, redis_url: str, *, processes: int, requests: int
) -> list[dict[str, object]]:
    """Run WORKER in ``processes`` processes against the served sandbox; their reports."""
    with sandbox.serve() as served:
        workers = [
            subprocess.Popen(
                [sys.executable, "-c", WORKER, served.url, redis_url, str(requests)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(processes)
        ]
        results = []
        for worker in workers:
            out, err = worker.communicate(timeout=60)
            assert worker.returncode == 0, err
            results.append(json.loads(out))
    return results


def test_three_processes_share_one_limit_without_a_429(redis_url):
    sandbox = DemoSandbox(50, rate_limit=10)
    results = _run_workers(sandbox, redis_url, processes=3, requests=15)
    # 45 requests at 10/s shared: about 4.4 s; three separate 10/s limits would take 1.4 s
    # and draw 429s from the server's strict window.
    assert sandbox.limited == 0 and all(r["limited"] == 0 for r in results)
    assert max(r["elapsed"] for r in results) > 3.0
    assert sandbox.request_count == 45


def test_paced_processes_share_one_limit_behind_a_fixed_network_delay(redis_url):
    """The default (paced) mode, counted by the sandbox's own window: no 429."""
    from crmkit.sandbox import FaultPlan

    plan = FaultPlan(network_delay=0.03, server_time=(0.1, 0.11), seed=2)
    sandbox = DemoSandbox(50, rate_limit=10, faults=plan)
    results = _run_workers(sandbox, redis_url, processes=2, requests=30)
    assert all(r["pacing"] for r in results)  # the paced rule was in force by the end
    assert sandbox.limited == 0 and all(r["limited"] == 0 for r in results)
    assert sandbox.request_count == 60


async def test_a_pause_holds_every_process(redis_url):
    one = RedisThrottle(redis_url, key="paused-account", rate=50)
    other = RedisThrottle(redis_url, key="paused-account", rate=50)
    try:
        await one.acquire()
        one.release()
        one.pause(0.5)
        await asyncio.sleep(0.05)  # the pause reaches Redis
        started = time.monotonic()
        await other.acquire()
        other.release()
        assert time.monotonic() - started >= 0.4
    finally:
        await one.aclose()
        await other.aclose()


async def test_a_slot_is_held_until_a_window_after_its_answer(redis_url):
    throttle = RedisThrottle(redis_url, key="held-account", rate=2)
    try:
        await throttle.acquire()
        await throttle.acquire()  # both slots in flight
        third = asyncio.ensure_future(throttle.acquire())
        await asyncio.sleep(1.3)  # longer than a window: still no slot, none answered
        assert not third.done()
        throttle.release()
        released = time.monotonic()
        await asyncio.wait_for(third, 3)
        assert time.monotonic() - released >= 0.9
    finally:
        await throttle.aclose()


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="rate"):
        RedisThrottle("redis://127.0.0.1:1/0", key="k", rate=0)
    with pytest.raises(ValueError, match="key"):
        RedisThrottle("redis://127.0.0.1:1/0", key="", rate=1)


async def test_a_waiting_throttle_asks_redis_only_when_a_slot_may_be_free(redis_url):
    """The script says how long to wait: no polling (every 50 ms before: ~6 scripts a request)."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(redis_url)
    throttle = RedisThrottle(client, key="counted-account", rate=5, mode="strict")
    try:
        await client.config_resetstat()

        async def one() -> None:
            await throttle.acquire()
            await asyncio.sleep(0.02)  # the answer
            throttle.release()

        started = time.monotonic()
        await asyncio.gather(*(one() for _ in range(15)))
        assert time.monotonic() - started > 2.0  # 15 at 5/s, each slot a window past its answer
        await throttle.aclose()
        stats = await client.info("commandstats")
        scripts = sum(
            int(stats.get(k, {}).get("calls", 0)) for k in ("cmdstat_evalsha", "cmdstat_eval")
        )
        # a grant and a release each, and about one "not yet" a request
        assert scripts <= 15 * 3.5, scripts
    finally:
        await client.aclose()


async def _slot_ends_ms(client, key: str) -> list[float]:
    """Each slot's score (its window starts there) less Redis's clock now, in ms."""
    seconds, micros = await client.time()
    now = seconds * 1000 + micros // 1000
    slots = await client.zrange(f"crmkit:throttle:{key}:slots", 0, -1, withscores=True)
    return [score - now for _, score in slots]


async def test_a_slot_ends_from_the_answer_s_headers_and_a_cancelled_one_as_it_left(redis_url):
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(redis_url)
    try:
        throttle = RedisThrottle(client, key="told-account", rate=5, mode="strict")
        await throttle.acquire()
        throttle.answered()  # the headers are in; the body takes 0.3 s more
        await asyncio.sleep(0.3)
        throttle.release()
        await throttle.aclose()  # the release reaches Redis
        [ends] = await _slot_ends_ms(client, "told-account")
        assert -400 < ends <= -290  # from the headers' instant, not the release's

        throttle = RedisThrottle(client, key="cancelled-account", rate=5, mode="strict")
        await throttle.acquire()
        throttle.abandon(sent=False)  # never left: no slot
        await throttle.aclose()
        assert await _slot_ends_ms(client, "cancelled-account") == []
        await throttle.acquire()
        throttle.abandon(sent=True, timeout=5.0)  # may be counted until its timeout
        await throttle.acquire()
        throttle.abandon(sent=True)  # no timeout: held as granted, in_flight_limit
        await throttle.aclose()
        shorter, granted = sorted(await _slot_ends_ms(client, "cancelled-account"))
        assert 4500 <= shorter <= 5000  # the grant + 5 s, read a moment after the grant
        assert 59_500 <= granted <= 60_000
    finally:
        await client.aclose()
