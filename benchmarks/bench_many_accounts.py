"""Many accounts at once: 200 Sessions in one process, each within its own rate limit.

A server in another process hosts 200 demo accounts (``/a{n}/items``), each with
its own strict sliding window. This process pages every account concurrently,
one Session per account at that account's limit. Printed beside the ideal: the
time the rate limits allow (each account's requests, the first at once, then
``1/rate`` apart), the time taken, and the 429s.

Figure to beat (design.md): within 10 % of the time the rate limits allow.
The figure is the median of ``--runs`` runs against the same server (a pause
between them lets every account's window empty), with the lowest and highest.

    python benchmarks/bench_many_accounts.py [--accounts N] [--rate R] [--requests K] [--runs R]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import crmkit
from _common import peak_rss_mib, served_in_subprocess, table
from crmkit.sandbox.demo import list_items

SERVER = """
import time
from crmkit.sandbox import serve
from crmkit.sandbox.demo import DemoSandbox

accounts = [DemoSandbox({items}, rate_limit={rate}) for _ in range({accounts})]

async def app(scope, receive, send):
    head, _, rest = scope["path"].lstrip("/").partition("/")
    path = "/" + rest
    inner = {{**scope, "path": path, "raw_path": path.encode()}}
    await accounts[int(head[1:])](inner, receive, send)

served = serve(app)
print(served.url, flush=True)
while True:
    time.sleep(3600)
"""
PAGE = 10  # small pages: the figure is about rate limits, not JSON


async def run(url: str, accounts: int, rate: float) -> tuple[float, int, int, int]:
    async def one(n: int) -> tuple[int, int, int]:
        async with crmkit.Session(
            f"{url}/a{n}", rate_limit=rate, allow_insecure_http=True
        ) as session:
            items = sum([1 async for _ in list_items(session, page_size=PAGE)])
            return items, session.stats.requests, session.stats.rate_limited

    started, cpu = time.monotonic(), time.process_time()
    results = await asyncio.gather(*(one(n) for n in range(accounts)))
    elapsed = time.monotonic() - started
    print(f"client CPU {time.process_time() - cpu:.2f} s over {elapsed:.2f} s")
    return (
        elapsed,
        sum(r[0] for r in results),
        sum(r[1] for r in results),
        sum(r[2] for r in results),
    )


def main(accounts: int, rate: float, requests: int, runs: int) -> None:
    code = SERVER.format(items=PAGE * requests, rate=int(rate), accounts=accounts)
    results = []
    with served_in_subprocess(code, ready_timeout=120) as url:
        for n in range(runs):
            if n:
                time.sleep(1.1)  # every account's last requests leave its window
            results.append(asyncio.run(run(url, accounts, rate)))
    ideal = (requests - 1) / rate
    times = sorted(r[0] for r in results)
    elapsed = statistics.median(times)
    items, sent = results[0][1], results[0][2]
    limited = max(r[3] for r in results)
    spread = f"{elapsed / ideal:.2f}x ({times[0] / ideal:.2f}-{times[-1] / ideal:.2f}x)"
    rows = [
        ("", "accounts", "items", "requests", "429s (max)", "time s", "vs ideal", "peak RSS MiB"),
        ("rate limits allow", str(accounts), "-", str(accounts * requests), "0", f"{ideal:.2f}",
         "1.00x", "-"),
        ("crmkit", str(accounts), str(items), str(sent), str(limited), f"{elapsed:.2f}",
         spread, f"{peak_rss_mib():.0f}"),
    ]  # fmt: skip
    print(
        f"\nMany accounts: {accounts} Sessions in one process, {requests} requests each "
        f"at {rate:g}/s per account\n"
    )
    print(table(rows))
    print(
        f"\n(median of {runs} runs, lowest-highest; target: within 1.10x of the time the"
        " rate limits allow, no 429)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--rate", type=float, default=2.0)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    main(args.accounts, args.rate, args.requests, args.runs)
