"""A full amoCRM v2 export of 100,000 leads at the account's rate limit, on loopback.

The sandbox runs in another process with its strict 7 requests/s sliding
window (429 beyond it, the account blocked after repeated violations); crmkit
pages it through the legacy v2 dialect at its default 7/s, 500 leads a page.
Printed: leads, requests, 429s, elapsed time, the share of the allowed request
rate achieved (requests / (elapsed x 7)), and this process's peak RSS, beside
the ideal of 7 requests every second and no 429 at all.

    python benchmarks/bench_amocrm.py [--leads N]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import crmkit
from _common import peak_rss_mib, served_in_subprocess, table

SERVER = """
import time
from crmkit.amocrm.sandbox import AmoCRMSandbox
sandbox = AmoCRMSandbox(leads={leads}, rate_limit=7)
served = sandbox.serve()
print(served.url, flush=True)
while True:
    time.sleep(3600)
"""
RATE = 7.0


async def export(url: str) -> tuple[int, crmkit.SessionStats, float]:
    from crmkit.amocrm.sandbox import SandboxCredentials

    c = SandboxCredentials()
    async with crmkit.AmoCRM(
        base_url=url, api_version=2, login=c.login, api_key=c.api_key, allow_insecure_http=True
    ) as amo:
        started, seen = time.perf_counter(), 0
        async for _ in amo.leads.list():
            seen += 1
        return seen, amo.session.stats, time.perf_counter() - started


def main(leads: int) -> None:
    before = peak_rss_mib()
    with served_in_subprocess(SERVER.format(leads=leads), ready_timeout=120) as url:
        seen, stats, elapsed = asyncio.run(export(url))
    share = stats.requests / (elapsed * RATE)
    rows = [
        ("", "leads", "requests", "429s", "elapsed s", "share of 7/s", "peak RSS MiB"),
        ("ideal", str(leads), "-", "0", "-", "1.000", "-"),
        (
            "crmkit v2",
            str(seen),
            str(stats.requests),
            str(stats.rate_limited),
            f"{elapsed:.1f}",
            f"{share:.3f}",
            f"{peak_rss_mib():.0f} (at start {before:.0f})",
        ),
    ]
    print(f"\namoCRM v2: export of {leads} leads from a loopback sandbox limited to 7 req/s\n")
    print(table(rows))
    print("\n(the requests include the cookie login; the share counts every request sent)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    main(parser.parse_args().leads)
