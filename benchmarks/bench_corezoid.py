"""Corezoid: 10,000 task creates, batched vs one op per request, at a 20 requests/s limit.

The sandbox runs on loopback in another process and answers 429 above 20
requests/s. Batched: one ``OpsBatcher`` (100 ops per request) fed by 10,000
concurrent callers. Unbatched: one ``ops([op])`` call per create; at 20/s that
would take 500 s, so it is measured on a sample and extrapolated (said below).

Then the same batched creates against a sandbox that answers 503 (Retry-After: 1)
to 10% of requests: the requests, 503s and wall time it costs, and a count of the
tasks made (each exactly once). Last, the tasks are read back from their node
with ``list_tasks`` (limit/offset pages of 1000).

    python benchmarks/bench_corezoid.py [--creates N] [--sample N]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import served_in_subprocess, table
from crmkit.corezoid import Corezoid, Op

SERVER = """
import time
from crmkit.corezoid.sandbox import CorezoidSandbox
sandbox = CorezoidSandbox(rate_limit=20, overloaded=OVERLOADED, seed=7)
served = sandbox.serve()
print(served.url, flush=True)
while True:
    time.sleep(3600)
"""
LOGIN, SECRET, CONV = "100001", "sandbox-corezoid-secret", 1234


def client(url: str) -> Corezoid:
    return Corezoid(LOGIN, SECRET, base_url=url, rate_limit=20, allow_insecure_http=True)


async def batched(url: str, creates: int) -> tuple[int, float, int]:
    async with client(url) as cz:
        started = time.perf_counter()
        async with cz.batch(max_ops=100) as batch:
            await asyncio.gather(*(batch.create_task(CONV, {"n": n}) for n in range(creates)))
        return (
            cz.session.stats.requests,
            time.perf_counter() - started,
            cz.session.stats.rate_limited,
        )


async def one_by_one(url: str, creates: int) -> tuple[int, float, int]:
    async with client(url) as cz:
        started = time.perf_counter()

        async def create(n: int) -> None:
            (await cz.ops([Op.create_task(CONV, {"n": n})]))[0].unwrap()

        await asyncio.gather(*(create(n) for n in range(creates)))
        return (
            cz.session.stats.requests,
            time.perf_counter() - started,
            cz.session.stats.rate_limited,
        )


async def listed(url: str) -> tuple[int, int, float]:
    async with client(url) as cz:
        final = (await cz.list_nodes(CONV).to_list())[-1].obj_id
        before = cz.session.stats.requests
        started = time.perf_counter()
        count = 0
        async for _ in cz.list_tasks(CONV, final, page_size=1000):
            count += 1
        return count, cz.session.stats.requests - before, time.perf_counter() - started


def main(creates: int, sample: int) -> None:
    with served_in_subprocess(SERVER.replace("OVERLOADED", "0.0")) as url:
        b_requests, b_wall, b_429 = asyncio.run(batched(url, creates))
        s_requests, s_wall, s_429 = asyncio.run(one_by_one(url, sample))
    with served_in_subprocess(SERVER.replace("OVERLOADED", "0.1")) as url:
        o_requests, o_wall, o_busy = asyncio.run(batched(url, creates))
        o_tasks, l_requests, l_wall = asyncio.run(listed(url))
    scale = creates / sample
    rows = [
        ("mode", "creates", "requests", "wall s", "429s"),
        ("batched (100 ops/request)", str(creates), str(b_requests), f"{b_wall:.1f}", str(b_429)),
        ("one op per request", str(sample), str(s_requests), f"{s_wall:.1f}", str(s_429)),
        (
            "one op per request, extrapolated",
            str(creates),
            f"{s_requests * scale:.0f}",
            f"{s_wall * scale:.0f}",
            "",
        ),
    ]
    print(f"\nCorezoid: {creates} task creates at a 20 requests/s limit, sandbox on loopback\n")
    print(table(rows))
    print(
        f"\nbatched: {b_requests} requests (target <= 100), {s_wall * scale / b_wall:.0f}x faster"
    )
    print(
        f"with 10% of requests answered 503 (Retry-After: 1): {o_requests} requests, "
        f"{o_busy} 429/503 waits, {o_wall:.1f} s; tasks in the process: {o_tasks} "
        f"(expected {creates})"
    )
    print(f"read back with list_tasks (pages of 1000): {l_requests} requests, {l_wall:.2f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--creates", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=200)
    args = parser.parse_args()
    main(args.creates, args.sample)
