"""Rate-limited throughput: 50 tasks through one Session at rate_limit=10 vs a strict 10/s window.

Figure to beat (design.md): at least 97 % of the allowed rate, sustained, with
zero 429 answers from a server that enforces a strict sliding window.

    python benchmarks/bench_rate.py [--seconds S] [--rate R]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import crmkit
from _common import SERVE_SANDBOX, served_in_subprocess, table


async def run(url: str, rate: float, seconds: float, tasks: int) -> tuple[int, int, float]:
    done = 0
    async with crmkit.Session(url, allow_insecure_http=True, rate_limit=rate) as session:
        stop_at = time.monotonic() + seconds
        first: float | None = None
        last = 0.0

        async def worker() -> None:
            nonlocal done, first, last
            while time.monotonic() < stop_at:
                await session.request("GET", "/items", params={"page": 1, "limit": 10})
                now = time.monotonic()
                first = now if first is None else first
                last = now
                done += 1

        await asyncio.gather(*(worker() for _ in range(tasks)))
        elapsed = last - (first or last)
        return done, session.stats.rate_limited, elapsed


async def main(seconds: float, rate: float, tasks: int) -> None:
    code = SERVE_SANDBOX.format(items=100, rate_limit=int(rate))
    with served_in_subprocess(code) as url:
        done, limited, elapsed = await run(url, rate, seconds, tasks)
    achieved = (done - 1) / elapsed if elapsed else 0.0
    rows = [
        ("measure", "crmkit", "target"),
        ("requests answered", str(done), ""),
        ("achieved rate /s", f"{achieved:.2f}", f">= {0.97 * rate:.2f}"),
        ("fraction of allowed rate", f"{achieved / rate:.3f}", ">= 0.970"),
        ("429 answers", str(limited), "0"),
    ]
    print(f"\nRate limit: {tasks} tasks, one Session at {rate:g}/s, server window {rate:g}/s\n")
    print(table(rows))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--tasks", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.rate, args.tasks))
