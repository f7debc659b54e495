"""crmkit vs the ``amocrm-api`` client (v4), exporting leads from one loopback sandbox.

Two rounds on a sandbox served by another process:

1. no rate limit: wall time, this process's CPU, requests, for 20,000 leads;
2. amoCRM's strict 7 requests/s window: what each client gets.

``amocrm-api`` hard-codes ``https://{subdomain}.amocrm.ru``; the benchmark
overrides its one URL method to reach the sandbox and gives it the sandbox's
long-lived token. It is synchronous (requests), has no throttle and raises on
the first 429.

    python benchmarks/bench_amocrm_vendor.py [--leads N]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

from amocrm.v2.exceptions import AmoApiException
from amocrm.v2.interaction import BaseInteraction

sys.path.insert(0, str(Path(__file__).parent))
import crmkit
from _common import served_in_subprocess, table
from crmkit.amocrm.sandbox import SandboxCredentials

SERVER = """
import time
from crmkit.amocrm.sandbox import AmoCRMSandbox
sandbox = AmoCRMSandbox(leads={leads}, rate_limit={rate_limit}, block_after=None)
sandbox.clock.advance(10)
served = sandbox.serve()
print(served.url, flush=True)
while True:
    time.sleep(3600)
"""
TOKEN = SandboxCredentials().access_token


class _Token:
    subdomain = "sandbox"

    def get_access_token(self) -> str:
        return TOKEN


class Vendor(BaseInteraction):  # type: ignore[misc]
    def __init__(self, url: str) -> None:
        super().__init__(token_manager=_Token())
        self._base = url

    def _get_url(self, path: str) -> str:
        return f"{self._base}/api/v4/{path}"


def vendor(url: str) -> tuple[int, int, str]:
    client, seen, pages = Vendor(url), 0, 0
    try:
        for embedded in client._all("leads"):
            pages += 1
            seen += len(embedded["leads"])
    except AmoApiException as exc:
        return seen, pages + 1, f"stopped: {str(exc)[:40]}"
    return seen, pages, "complete"


async def ours(url: str, rate: float | None) -> tuple[int, int, str]:
    async with crmkit.AmoCRM(
        base_url=url, access_token=TOKEN, rate_limit=rate, allow_insecure_http=True
    ) as amo:
        seen = sum([1 async for _ in amo.leads.list()])
        stats = amo.session.stats
        return seen, stats.requests, f"complete, {stats.rate_limited} 429s"


def measure(run: Any) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main(leads: int) -> None:
    rows = [("round", "client", "leads", "requests", "wall s", "CPU s", "outcome")]
    for label, limit in (("no limit", None), ("7/s window", 7)):
        code = SERVER.format(leads=leads, rate_limit=limit)
        with served_in_subprocess(code, ready_timeout=120) as url:
            if limit is None:
                vendor(url)  # warm the server alike for both
            v, v_wall, v_cpu = measure(lambda: vendor(url))
            time.sleep(1.1)  # the vendor's last second out of the window
            rate = 7.0 if limit else None
            c, c_wall, c_cpu = measure(lambda: asyncio.run(ours(url, rate)))  # noqa: B023
        rows.append((label, "amocrm-api", str(v[0]), str(v[1]), f"{v_wall:.2f}", f"{v_cpu:.2f}",
                     v[2]))  # fmt: skip
        rows.append((label, "crmkit.AmoCRM", str(c[0]), str(c[1]), f"{c_wall:.2f}",
                     f"{c_cpu:.2f}", c[2]))  # fmt: skip
    print(f"\namoCRM v4: exporting {leads} leads, amocrm-api vs crmkit, loopback sandbox\n")
    print(table(rows))
    print("\n(crmkit's CPU includes typed models; amocrm-api's _all gives plain dicts)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=20_000)
    main(parser.parse_args().leads)
