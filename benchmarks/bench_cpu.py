"""CPU per record: the vendors' clients vs crmkit's typed list and the CLI's export.

For each platform one sandbox is served by another process on loopback (its
CPU does not count) with no rate limit, and this process lists every record
with each client in turn, round after round (``--repeat`` rounds), so that a
busy machine weighs on every client alike:

- the vendor's client (synchronous, plain dicts), run as it ships: amoCRM
  ``amocrm-api`` (Krukov), RetailCRM ``retailcrm``, vtiger ``vtigerpy``;
- crmkit's list with typed models (the default API), over httpx's own
  transport and over aiohttp's (``crmkit.aiohttp_transport()``);
- the CLI's export to a JSON Lines file (``crmkit export ... --out``), in
  process, over each transport;
- with ``--raw``, crmkit's list of the records as the platform sent them
  (``crmkit._models.Wire``; vtiger's query rows as dicts: what the export writes).

The row marked "(default)" uses the transport a Session picks when given none
(aiohttp's when the ``aiohttp-transport`` extra is installed). CPU is
``time.process_time``; printed are the median over the rounds with the lowest
and highest, and "x vendor": the median of each round's ratio to the vendor's
run in the same round (with its spread). The typed lists do not read the
models' fields (a lazy model converts them when one is first read).

    python benchmarks/bench_cpu.py [--records N] [--repeat R] [--only amocrm,retailcrm,vtiger]

Run it with ``PYTHONPATH`` pointing at another checkout's ``src`` to compare
against that code (rounds it does not have print "n/a").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
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
try:  # older checkouts page vtiger's queries as records only
    from crmkit.vtiger._query import QueryStrategy as VtigerQuery

    VTIGER_RAW = hasattr(VtigerQuery.__attrs_attrs__, "raw")
except ImportError:
    VTIGER_RAW = False
try:  # older checkouts have no transport choice: httpx's is their default
    from crmkit._aiohttp import choose_transport
except ImportError:
    choose_transport = None  # type: ignore[assignment]

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


def default_transport() -> str:
    """The transport a Session uses when given none, in the crmkit being measured."""
    if choose_transport is None:
        return "httpx"
    return "httpx" if choose_transport(None) is None else "aiohttp"


def crmkit_list(
    platform: str, url: str, raw: bool, transport: str = "httpx", limit: int | None = None
) -> Callable[[], int] | None:
    if raw and (_as_wire is None or (platform == "vtiger" and not VTIGER_RAW)):
        return None
    if transport == "aiohttp" and not has_aiohttp_transport():
        return None

    async def run() -> int:
        seen = 0
        options: dict[str, Any] = {"rate_limit": None, "allow_insecure_http": True}
        if transport == "aiohttp":
            options["transport"] = crmkit.aiohttp_transport()
        elif choose_transport is not None:
            options["transport"] = transport
        if platform == "amocrm":
            client: Any = crmkit.AmoCRM(base_url=url, access_token=TOKEN, **options)
        elif platform == "retailcrm":
            client = crmkit.RetailCRM(url, RETAIL_KEY, **options)
        else:
            client = crmkit.Vtiger(url, VT_USER, VT_KEY, **options)
        async with client:
            if platform == "amocrm":
                paginator = client.leads.list(limit=limit)
            elif platform == "retailcrm":
                paginator = client.customers.list(page_size=100, limit=limit)
            else:
                paginator = client.query("SELECT * FROM Leads", limit=limit)
            if raw:
                paginator = _as_wire(paginator)
            async for _ in paginator:
                seen += 1
        return seen

    return lambda: asyncio.run(run())


def cli_export(platform: str, url: str, out: Path, transport: str) -> Callable[[], int] | None:
    if transport == "aiohttp" and not has_aiohttp_transport():
        return None
    account = {
        "amocrm": ["amocrm", "leads", "--token", TOKEN],
        "retailcrm": ["retailcrm", "customers", "--api-key", RETAIL_KEY, "--page-size", "100"],
        "vtiger": ["vtiger", "Leads", "--username", VT_USER, "--access-key", VT_KEY],
    }[platform]

    def run() -> int:
        out.unlink(missing_ok=True)
        argv = ["export", *account, "--url", url, "--out", str(out), "--rate-limit", "0"]
        argv += ["--transport", transport, "--quiet"]
        with contextlib.redirect_stderr(io.StringIO()):
            code = crmkit.cli.main(argv)
        if code != 0:
            raise RuntimeError(f"crmkit export {platform} exited {code}")
        with out.open("rb") as f:
            return sum(1 for _ in f)

    return run


def cpu_of(run: Callable[[], Any]) -> tuple[float, Any]:
    start = time.process_time()
    result = run()
    return time.process_time() - start, result


def spread(values: list[float], fmt: str) -> str:
    return f"{min(values):{fmt}}-{max(values):{fmt}}"


def main(records: int, repeat: int, only: list[str], raw: bool) -> None:
    vendors: dict[str, tuple[str, Callable[[str], Any]]] = {
        "amocrm": ("amocrm-api", lambda url: amocrm_vendor(url)[0]),
        "retailcrm": ("retailcrm (vendor)", lambda url: retailcrm_vendor(url)[0]),
        "vtiger": ("vtigerpy", vtiger_vendor),
    }
    default = default_transport()
    mark = {
        transport: " (default)" if transport == default else ""
        for transport in ("httpx", "aiohttp")
    }
    rows = [("platform", "client", "records", "CPU s", "lowest-highest", "µs/record", "x vendor")]
    load = [os.getloadavg()[0]]
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.jsonl"
        for platform in only:
            n = records // 2 if platform == "vtiger" else records
            code = "import time\n" + SANDBOXES[platform].format(n=n) + SERVE
            with served_in_subprocess(code, ready_timeout=180) as url:
                name, vendor = vendors[platform]
                clients: list[tuple[str, Callable[[], Any] | None]] = [
                    (name, lambda: vendor(url)),  # noqa: B023
                    (f"crmkit typed, httpx{mark['httpx']}", crmkit_list(platform, url, False)),
                    (
                        f"crmkit typed, aiohttp{mark['aiohttp']}",
                        crmkit_list(platform, url, False, "aiohttp"),
                    ),
                    (
                        f"export -> JSONL, httpx{mark['httpx']}",
                        cli_export(platform, url, out, "httpx"),
                    ),
                    (
                        f"export -> JSONL, aiohttp{mark['aiohttp']}",
                        cli_export(platform, url, out, "aiohttp"),
                    ),
                ]
                if raw:
                    clients.append(
                        (f"crmkit raw (Wire), {default}", crmkit_list(platform, url, True, default))
                    )
                # Warm: the server's caches (every page once), imports, generated model code.
                for transport in ("httpx", "aiohttp"):
                    warm = crmkit_list(
                        platform, url, False, transport, None if transport == default else 1
                    )
                    if warm is not None:
                        warm()
                cpus: dict[str, list[float]] = {label: [] for label, run in clients if run}
                ratios: dict[str, list[float]] = {label: [] for label in cpus}
                seen: dict[str, int] = {}
                for _ in range(repeat):  # round by round: the machine's load hits each alike
                    base = None
                    for label, run in clients:
                        if run is None:
                            continue
                        cpu, seen[label] = cpu_of(run)
                        base = base or cpu
                        cpus[label].append(cpu)
                        ratios[label].append(cpu / base)
                for label, run in clients:
                    if run is None:
                        rows.append((platform, label, "n/a", "n/a", "", "", ""))
                        continue
                    median = statistics.median(cpus[label])
                    x = statistics.median(ratios[label])
                    rows.append((
                        platform, label, str(seen[label]), f"{median:.3f}",
                        spread(cpus[label], ".3f"), f"{median / seen[label] * 1e6:.1f}",
                        f"{x:.2f} ({spread(ratios[label], '.2f')})" if label != name else "1",
                    ))  # fmt: skip
            load.append(os.getloadavg()[0])
    print(
        f"\nCPU per record, no rate limit, loopback sandboxes; {repeat} rounds, "
        f"{time.monotonic() - started:.0f} s, load average {min(load):.1f}-{max(load):.1f}\n"
    )
    print(table(rows))
    print(
        "\n(vendors' clients give plain dicts; vtiger: the query listing, half the records;"
        "\n x vendor: the median of the rounds' ratios, lowest-highest)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", default="amocrm,retailcrm,vtiger")
    parser.add_argument("--raw", action="store_true", help="also crmkit's raw (Wire) list")
    args = parser.parse_args()
    main(args.records, args.repeat, args.only.split(","), args.raw)
