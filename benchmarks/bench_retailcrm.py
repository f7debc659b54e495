"""crmkit vs the vendor's own ``retailcrm`` client, listing customers from one loopback sandbox.

Both list every customer of a sandbox served on 127.0.0.1 in another process,
with no rate limit: wall time, this process's CPU time, and requests sent,
side by side. The vendor client is synchronous (requests) and pages at its
own maximum of 100 per page, as crmkit does.

    python benchmarks/bench_retailcrm.py [--customers N] [--seconds S]

Then the vendor's two rate windows at once (``rate.go`` in ``retailcrm/api-client-go``:
10 requests/s per key, 40/s for ``/telephony*``): one crmkit client with its
defaults keeps both busy for S seconds against a sandbox that enforces both
windows; printed are the rates reached beside the limits, and the 503s met.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

import retailcrm

sys.path.insert(0, str(Path(__file__).parent))
import crmkit
from _common import served_in_subprocess, table

SERVER = """
import time
from crmkit.retailcrm.sandbox import RetailCRMSandbox
sandbox = RetailCRMSandbox(customers={customers}, rate_limit={rate_limit})
served = sandbox.serve()
print(served.url, flush=True)
while True:
    time.sleep(3600)
"""
KEY = "sandbox-retailcrm-key"


def vendor(url: str) -> tuple[int, int]:
    client = retailcrm.v5(url, KEY)
    page, seen, requests = 1, 0, 0
    while True:
        body = client.customers(limit=100, page=page).get_response()
        requests += 1
        seen += len(body["customers"])
        if page >= body["pagination"]["totalPageCount"]:
            return seen, requests
        page += 1


async def ours(url: str) -> tuple[int, int]:
    async with crmkit.RetailCRM(url, KEY, rate_limit=None, allow_insecure_http=True) as crm:
        seen = 0
        async for _ in crm.customers.list(page_size=100):
            seen += 1
        return seen, crm.session.stats.requests


def measure(run):  # type: ignore[no-untyped-def]
    wall, cpu = time.perf_counter(), time.process_time()
    seen, requests = run()
    return seen, requests, time.perf_counter() - wall, time.process_time() - cpu


async def both_windows(url: str, seconds: float) -> tuple[int, int, int, float]:
    """Regular gets and telephony lookups from one client, side by side, for ``seconds``."""
    async with crmkit.RetailCRM(url, KEY, allow_insecure_http=True) as crm:
        stop = time.perf_counter() + seconds

        async def regular(n: int) -> None:
            while time.perf_counter() < stop:
                await crm.customers.get(1 + n % 50, by="id")

        async def telephony() -> None:
            while time.perf_counter() < stop:
                await crm.telephony.manager("+7 900 000-00-00")

        started = time.perf_counter()
        await asyncio.gather(*[regular(n) for n in range(4)], *[telephony() for _ in range(12)])
        took = time.perf_counter() - started
        limited = crm.session.stats.rate_limited + crm.telephony_session.stats.rate_limited
        return crm.session.stats.requests, crm.telephony_session.stats.requests, limited, took


def main(customers: int, seconds: float) -> None:
    server = SERVER.format(customers=customers, rate_limit=None)
    with served_in_subprocess(server, ready_timeout=120) as url:
        vendor(url)  # warm the server's caches alike for both
        v = measure(lambda: vendor(url))
        c = measure(lambda: asyncio.run(ours(url)))
    rows = [
        ("client", "customers", "requests", "wall s", "client CPU s"),
        ("retailcrm (vendor, sync)", str(v[0]), str(v[1]), f"{v[2]:.2f}", f"{v[3]:.2f}"),
        ("crmkit.RetailCRM", str(c[0]), str(c[1]), f"{c[2]:.2f}", f"{c[3]:.2f}"),
    ]
    print(f"\nRetailCRM: listing {customers} customers from one loopback sandbox, no rate limit\n")
    print(table(rows))
    print(f"\ncrmkit wall time {c[2] / v[2]:.2f}x the vendor's; CPU {c[3] / v[3]:.2f}x")
    print("(crmkit's CPU includes building typed models for every customer; the vendor")
    print(" client returns plain dicts)")

    with served_in_subprocess(SERVER.format(customers=100, rate_limit=10)) as url:
        regular, telephony, limited, took = asyncio.run(both_windows(url, seconds))
    print(f"\nRetailCRM: both rate windows at once for {took:.1f} s, one client, defaults\n")
    print(table([
        ("window", "limit/s", "reached/s", "share"),
        ("regular", "10", f"{regular / took:.1f}", f"{regular / took / 10:.0%}"),
        ("/telephony", "40", f"{telephony / took:.1f}", f"{telephony / took / 40:.0%}"),
    ]))  # fmt: skip
    print(f"\n503 Rate limit exceeded answers met: {limited}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    arguments = parser.parse_args()
    main(arguments.customers, arguments.seconds)
