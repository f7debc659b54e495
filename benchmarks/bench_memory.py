"""Memory: paging 1,000,000 entities through one Session grows peak RSS by how much?

A demo sandbox with a million items is served by another process (its memory
is not counted) with no rate limit; this process pages all of them, 100 a
page, keeping none. Printed: items, requests, peak RSS before and after, and
the growth beside the figure to beat (design.md: less than 50 MiB).

    python benchmarks/bench_memory.py [--items N]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import crmkit
from _common import SERVE_SANDBOX, peak_rss_mib, served_in_subprocess, table
from crmkit.sandbox.demo import list_items


async def page_all(url: str) -> tuple[int, int, float, float]:
    async with crmkit.Session(url, allow_insecure_http=True) as session:
        await session.request("GET", "/items", params={"page": 1, "limit": 1})  # warm up
        before = peak_rss_mib()
        started = time.monotonic()
        seen = 0
        async for _ in list_items(session, page_size=100):
            seen += 1
        return seen, session.stats.requests, before, time.monotonic() - started


def main(items: int) -> None:
    code = SERVE_SANDBOX.format(items=items, rate_limit=None)
    with served_in_subprocess(code, ready_timeout=300) as url:
        seen, requests, before, elapsed = asyncio.run(page_all(url))
    after = peak_rss_mib()
    rows = [
        ("", "items", "requests", "peak RSS before", "peak RSS after", "growth MiB"),
        ("target", str(items), "-", "-", "-", "< 50"),
        ("crmkit", str(seen), str(requests), f"{before:.0f}", f"{after:.0f}",
         f"{after - before:.1f}"),
    ]  # fmt: skip
    print(f"\nMemory: paging {items:,} items, 100 a page, in {elapsed:.1f} s\n")
    print(table(rows))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    main(parser.parse_args().items)
