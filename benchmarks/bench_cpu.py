"""CPU per record: the vendors' clients vs crmkit with typed models, raw, and the CLI's export.

For each platform a sandbox is served by another process on loopback (its CPU
does not count) with no rate limit, and this process lists every record in
four ways, each run several times (median and spread of the process's CPU
time, ``time.process_time``):

- the vendor's client (synchronous, plain dicts): amoCRM ``amocrm-api``
  (Krukov), RetailCRM ``retailcrm``, vtiger ``vtigerpy``;
- crmkit's list with typed models (the default API);
- crmkit's list with the records as the platform sent them (``crmkit._models.Wire``,
  what the export uses; "n/a" where the strategy needs its models);
- the CLI's export to a JSON Lines file (``crmkit export ... --out``), in process;
- the typed list and the export again over ``crmkit.aiohttp_transport()``
  (``--transport aiohttp``; "n/a" where it or ``httpx-aiohttp`` is missing).

    python benchmarks/bench_cpu.py [--records N] [--repeat R] [--only amocrm,retailcrm,vtiger]

Run it with ``PYTHONPATH`` pointing at another checkout's ``src`` to compare
against that code (rounds it does not have print "n/a").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from vtigerpy.core import Vtiger as VtigerPy

import crmkit
import crmkit.cli
from _common import served_in_subprocess, table
from bench_amocrm_vendor import TOKEN
from bench_amocrm_vendor import vendor as amocrm_vendor
from bench_retailcrm import KEY as RETAIL_KEY
from bench_retailcrm import vendor as retailcrm_vendor
from bench_vtiger import KEY as VT_KEY
from bench_vtiger import USER as VT_USER

try:  # not in older checkouts
    from crmkit.cli._sources import _as_wire
except ImportError:
    _as_wire = None  # type: ignore[assignment]

SANDBOXES = {
    "amocrm": "from crmkit.amocrm.sandbox import AmoCRMSandbox\n"
    "sandbox = AmoCRMSandbox(leads={n}, rate_limit=None, block_after=None)\n"
    "sandbox.clock.advance(10)\n",
    "retailcrm": "from crmkit.retailcrm.sandbox import RetailCRMSandbox\n"
    "sandbox = RetailCRMSandbox(customers={n}, rate_limit=None)\n",
    "vtiger": "from crmkit.vtiger.sandbox import VtigerSandbox\n"
    "sandbox = VtigerSandbox(leads={n})\n",
}
SERVE = (
    "served = sandbox.serve()\nprint(served.url, flush=True)\nwhile True:\n    time.sleep(3600)\n"
)


def vtiger_vendor(url: str) -> int:
    """vtigerpy: the query listing only (what ``crmkit export vtiger Leads`` reads)."""
    crm, seen, offset = VtigerPy(url, VT_USER, VT_KEY), 0, 0
    while True:
        query = f"SELECT * FROM Leads ORDER BY id LIMIT {offset}, 100;"
        rows = crm.get("query", query=query).json()["result"]
        seen += len(rows)
        offset += len(rows)
        if len(rows) < 100:
            return seen


def has_aiohttp_transport() -> bool:
    try:
        crmkit.aiohttp_transport()
    except (AttributeError, ImportError):
        return False
    return True


def crmkit_list(
    platform: str, url: str, raw: bool, aiohttp: bool = False
) -> Callable[[], int] | None:
    if raw and (_as_wire is None or platform == "vtiger"):
        return None  # vtiger's records are mappings of the wire fields already
    if aiohttp and not has_aiohttp_transport():
        return None

    async def run() -> int:
        seen = 0
        options: dict[str, Any] = {"rate_limit": None, "allow_insecure_http": True}
        if aiohttp:
            options["transport"] = crmkit.aiohttp_transport()
        if platform == "amocrm":
            client: Any = crmkit.AmoCRM(base_url=url, access_token=TOKEN, **options)
        elif platform == "retailcrm":
            client = crmkit.RetailCRM(url, RETAIL_KEY, **options)
        else:
            client = crmkit.Vtiger(url, VT_USER, VT_KEY, **options)
        async with client:
            if platform == "amocrm":
                paginator = client.leads.list()
            elif platform == "retailcrm":
                paginator = client.customers.list(page_size=100)
            else:
                paginator = client.query("SELECT * FROM Leads")
            if raw:
                paginator = _as_wire(paginator)
            async for _ in paginator:
                seen += 1
        return seen

    return lambda: asyncio.run(run())


def cli_export(
    platform: str, url: str, out: Path, aiohttp: bool = False
) -> Callable[[], int] | None:
    if aiohttp and not has_aiohttp_transport():
        return None
    account = {
        "amocrm": ["amocrm", "leads", "--token", TOKEN],
        "retailcrm": ["retailcrm", "customers", "--api-key", RETAIL_KEY, "--page-size", "100"],
        "vtiger": ["vtiger", "Leads", "--username", VT_USER, "--access-key", VT_KEY],
    }[platform]

    def run() -> int:
        out.unlink(missing_ok=True)
        argv = ["export", *account, "--url", url, "--out", str(out), "--rate-limit", "0"]
        argv += ["--transport", "aiohttp"] if aiohttp else []
        with contextlib.redirect_stderr(io.StringIO()):
            code = crmkit.cli.main([*argv, "--quiet"])
        if code != 0:
            raise RuntimeError(f"crmkit export {platform} exited {code}")
        with out.open("rb") as f:
            return sum(1 for _ in f)

    return run


def cpu_runs(run: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    cpus, result = [], None
    for _ in range(repeat):
        start = time.process_time()
        result = run()
        cpus.append(time.process_time() - start)
    return cpus, result


def main(records: int, repeat: int, only: list[str]) -> None:
    vendors: dict[str, tuple[str, Callable[[str], Any]]] = {
        "amocrm": ("amocrm-api", lambda url: amocrm_vendor(url)[0]),
        "retailcrm": ("retailcrm (vendor)", lambda url: retailcrm_vendor(url)[0]),
        "vtiger": ("vtigerpy", vtiger_vendor),
    }
    rows = [("platform", "client", "records", "CPU s (median)", "spread", "µs/record", "x vendor")]
    with tempfile.TemporaryDirectory() as tmp:
        for platform in only:
            n = records // 2 if platform == "vtiger" else records
            code = "import time\n" + SANDBOXES[platform].format(n=n) + SERVE
            with served_in_subprocess(code, ready_timeout=180) as url:
                name, vendor = vendors[platform]
                vendor(url)  # warm the server's caches alike for every round
                out = Path(tmp) / "out.jsonl"
                rounds: list[tuple[str, Callable[[], Any] | None]] = [
                    (name, lambda: vendor(url)),  # noqa: B023
                    ("crmkit, typed models", crmkit_list(platform, url, raw=False)),
                    ("crmkit, raw (Wire)", crmkit_list(platform, url, raw=True)),
                    ("crmkit export -> JSONL", cli_export(platform, url, Path(tmp) / "out.jsonl")),
                    ("typed, aiohttp transport", crmkit_list(platform, url, False, aiohttp=True)),
                    ("export, aiohttp transport", cli_export(platform, url, out, aiohttp=True)),
                ]
                base = None
                for label, run in rounds:
                    if run is None:
                        rows.append((platform, label, "n/a", "n/a", "", "", ""))
                        continue
                    run()  # warm: imports, generated builders, connections
                    cpus, seen = cpu_runs(run, repeat)
                    median = statistics.median(cpus)
                    base = base or median
                    rows.append((
                        platform, label, str(seen), f"{median:.3f}",
                        f"{min(cpus):.3f}-{max(cpus):.3f}", f"{median / seen * 1e6:.1f}",
                        f"{median / base:.2f}",
                    ))  # fmt: skip
    print(f"\nCPU per record, no rate limit, loopback sandboxes, median of {repeat} runs\n")
    print(table(rows))
    print("\n(vendors' clients give plain dicts; vtiger: the query listing, half the records)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", default="amocrm,retailcrm,vtiger")
    args = parser.parse_args()
    main(args.records, args.repeat, args.only.split(","))
