"""crmkit vs the published ``vtigerpy`` client, reading every lead of one loopback vtiger sandbox.

Both read every lead of a vtiger sandbox served on 127.0.0.1 in another process
(100 rows a page, vtiger's clamp): vtigerpy by hand with ``LIMIT offset, 100``
and ``ORDER BY id`` (it has no paging of its own), crmkit with ``crm.query``
(paging by id). Then both follow ``sync`` for the same changes. Wall time,
this process's CPU time and requests, side by side.

    python benchmarks/bench_vtiger.py [--leads N]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

from vtigerpy.core import Vtiger as VtigerPy

sys.path.insert(0, str(Path(__file__).parent))
import crmkit
from _common import served_in_subprocess, table

SERVER = """
import time
from crmkit.vtiger.sandbox import VtigerSandbox
sandbox = VtigerSandbox(leads={leads})
served = sandbox.serve()
print(served.url, flush=True)
while True:
    time.sleep(3600)
"""
USER, KEY = "admin@example.test", "sandboxAccessKey123"


def vendor(url: str) -> tuple[int, int]:
    crm = VtigerPy(url, USER, KEY)
    seen, offset, requests = 0, 0, 2  # challenge and login
    while True:
        query = f"SELECT * FROM Leads ORDER BY id LIMIT {offset}, 100;"
        rows = crm.get("query", query=query).json()["result"]
        requests += 1
        seen += len(rows)
        offset += len(rows)
        if len(rows) < 100:
            break
    since = 0
    while True:  # the change feed, window by window
        window = crm.get("sync", modifiedTime=since, elementType="Leads", syncType="application")
        result = window.json()["result"]
        requests += 1
        seen += len(result["updated"]) + len(result["deleted"])
        since = result["lastModifiedTime"]
        if not result["more"]:
            return seen, requests


async def ours(url: str) -> tuple[int, int]:
    async with crmkit.Vtiger(url, USER, KEY, rate_limit=None, allow_insecure_http=True) as crm:
        seen = 0
        async for _ in crm.query("SELECT * FROM Leads"):
            seen += 1
        async for _ in crm.sync("Leads"):
            seen += 1
        return seen, crm.session.stats.requests


def measure(run):  # type: ignore[no-untyped-def]
    wall, cpu = time.perf_counter(), time.process_time()
    seen, requests = run()
    return seen, requests, time.perf_counter() - wall, time.process_time() - cpu


def main(leads: int) -> None:
    with served_in_subprocess(SERVER.format(leads=leads), ready_timeout=120) as url:
        vendor(url)  # warm the server alike for both
        v = measure(lambda: vendor(url))
        c = measure(lambda: asyncio.run(ours(url)))
    rows = [
        ("client", "records", "requests", "wall s", "client CPU s"),
        ("vtigerpy (published, sync)", str(v[0]), str(v[1]), f"{v[2]:.2f}", f"{v[3]:.2f}"),
        ("crmkit.Vtiger", str(c[0]), str(c[1]), f"{c[2]:.2f}", f"{c[3]:.2f}"),
    ]
    print(f"\nvtiger: {leads} leads by query, then by sync, from one loopback sandbox\n")
    print(table(rows))
    print(f"\ncrmkit wall time {c[2] / v[2]:.2f}x vtigerpy's; CPU {c[3] / v[3]:.2f}x")
    print("(crmkit's requests include its logout; its CPU includes typed ids and records;")
    print(" vtigerpy returns raw responses and has no paging or sync loop of its own)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leads", type=int, default=5_000)
    main(parser.parse_args().leads)
