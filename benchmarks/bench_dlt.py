"""crmkit's dlt source into DuckDB beside the JSON Lines export of the same amoCRM leads.

The amoCRM sandbox runs in another process (its CPU is not counted). Two cases:

1. No rate limit: records per second and this process's CPU per record
   (user + system, dlt's normalize and load included) for ``crmkit.dlt.sync``
   into a DuckDB file, beside ``crmkit export``'s engine writing JSON Lines.
2. The sandbox's strict 7 requests/s window: the share of the allowed rate
   each one uses (requests / (seconds x 7 + 1), as ``crmkit export`` reports
   it), over the reading phase (first request to last page) and over the
   whole run (until the last load is in DuckDB): ``sync``'s default (each
   load takes what was read while the one before it loaded), the same with
   at most 10 pages a load, and ``eager=False`` (a load every 10 pages, as
   ``crmkit.jobs`` syncs); from 30,000 leads on the export and the default
   only. The export and the default alternate ``--repeats`` times (3): their
   medians and ranges are printed, each beside the export's median. Each run
   starts with a fresh window (a pause before it) and its 429s are counted.
   Beside each: the end (seconds from the last page to the data in DuckDB)
   and the steps of the sync's last load.

Issue 17's goal, "the share of the allowed rate used when limited (>= 0.95 of
what the export reaches)", is the reading share's "vs export": the requests
the account's budget allowed, over the time the sync was spending it. The
whole run's share (until the data is in DuckDB) is printed beside it.

    python benchmarks/bench_dlt.py [--leads N] [--limited-leads N ...] [--repeats N]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import dlt

from _common import served_in_subprocess, table
from crmkit.amocrm.sandbox import SandboxCredentials
from crmkit.cli._export import JobStats, run_export
from crmkit.cli._sources import ExportSpec, make_job
from crmkit.dlt import PageRead, amocrm_source, sync

SERVER = """
import time
from crmkit.amocrm.sandbox import AmoCRMSandbox
sandbox = AmoCRMSandbox(leads={leads}, rate_limit={rate_limit})
sandbox.clock.advance(10)
served = sandbox.serve()
print(served.url, flush=True)
while True:
    time.sleep(3600)
"""
RATE = 7.0
#: From this many leads on (20 s a run and more) only the export and the default sync run.
LONG = 30_000
STEPS = ("extract", "normalize", "load")
TOKEN = SandboxCredentials().access_token


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class Run:
    """One measured run: records, requests, wall time, reading time, CPU."""

    def __init__(self) -> None:
        self.records = 0
        self.requests = 0
        self.wall = 0.0
        self.reading = 0.0
        self.cpu = 0.0
        self.limited = 0
        #: The last load's steps (dlt's trace): extract, normalize, load, seconds each.
        self.last_load: dict[str, float] = {}


def run_sync(
    url: str,
    workdir: Path,
    rate_limit: float | None,
    pages_per_load: int | None,
    eager: bool = True,
) -> Run:
    run = Run()
    pipeline = dlt.pipeline(
        pipeline_name=f"bench_{time.monotonic_ns()}",
        pipelines_dir=str(workdir / "pipelines"),
        destination=dlt.destinations.duckdb(str(workdir / "bench.duckdb")),
        dataset_name=f"leads_{time.monotonic_ns()}",
    )
    started = time.perf_counter()

    sessions: list[Any] = []  # a new client (and Session) for each load

    def seen(page: PageRead) -> None:
        run.records += page.records
        if not any(known is page.session.stats for known in sessions):
            sessions.append(page.session.stats)
        run.requests = sum(known.requests for known in sessions)
        run.limited = sum(known.rate_limited for known in sessions)
        run.reading = time.perf_counter() - started

    source = amocrm_source(
        base_url=url,
        access_token=TOKEN,
        allow_insecure_http=True,
        rate_limit=rate_limit,
        resources=("leads",),
        pages_per_load=pages_per_load,
        on_page=seen,
    )

    def loaded(info: Any) -> None:
        steps = pipeline.last_trace.steps
        run.last_load = {
            step.step: (step.finished_at - step.started_at).total_seconds()
            for step in steps
            if step.step in ("extract", "normalize", "load") and step.finished_at
        }

    cpu = cpu_seconds()
    sync(pipeline, source, eager=eager, on_load=loaded)
    run.wall = time.perf_counter() - started
    run.cpu = cpu_seconds() - cpu
    with pipeline.sql_client() as client:
        rows = client.execute_sql("SELECT count(*) FROM leads")[0][0]
    assert rows == run.records, (rows, run.records)
    return run


def run_jsonl(url: str, workdir: Path, rate_limit: float | None) -> Run:
    run = Run()
    options: dict[str, Any] = {"url": url, "token": TOKEN, "rate_limit": rate_limit or 0}
    out = workdir / f"leads-{time.monotonic_ns()}.jsonl"
    job = make_job(ExportSpec("amocrm", "leads", options, out=out))
    stats = JobStats(job.name)
    cpu = cpu_seconds()
    started = time.perf_counter()
    asyncio.run(run_export(job, stats))
    run.wall = run.reading = time.perf_counter() - started
    run.cpu = cpu_seconds() - cpu
    run.records, run.requests, run.limited = stats.records, stats.requests, stats.rate_limited
    return run


def fresh_window() -> None:
    """Let the strict window forget the last run's requests (else its first ones draw a 429)."""
    time.sleep(1.5)


def main(leads: int, limited_leads: list[int], repeats: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        server = SERVER.format(leads=leads, rate_limit=None)
        with served_in_subprocess(server, ready_timeout=120) as url:
            run_jsonl(url, workdir, None)  # warm-up: imports, first connections
            jsonl = run_jsonl(url, workdir, None)
            dlt_run = run_sync(url, workdir, None, None)
        rows = [("no rate limit", "records", "seconds", "records/s", "CPU s", "CPU µs/record")]
        for name, run in (("JSON Lines export", jsonl), ("dlt sync -> DuckDB", dlt_run)):
            rows.append(
                (
                    name,
                    f"{run.records:,}",
                    f"{run.wall:.2f}",
                    f"{run.records / run.wall:,.0f}",
                    f"{run.cpu:.2f}",
                    f"{run.cpu / run.records * 1e6:.0f}",
                )
            )
        print(f"\namoCRM leads from a loopback sandbox (another process), {leads:,} leads\n")
        print(table(rows))

    for count in limited_leads:
        with tempfile.TemporaryDirectory() as tmp:
            limited(Path(tmp), count, repeats)


def limited(workdir: Path, leads: int, repeats: int) -> None:
    server = SERVER.format(leads=leads, rate_limit=7)
    export: tuple[str, Callable[[str], Run]] = (
        "JSON Lines export",
        lambda url: run_jsonl(url, workdir, RATE),
    )
    default: tuple[str, Callable[[str], Run]] = (
        "dlt sync (default)",
        lambda url: run_sync(url, workdir, RATE, None),
    )
    once: tuple[tuple[str, Callable[[str], Run]], ...] = (
        ("dlt sync, <= 10 pages a load", lambda url: run_sync(url, workdir, RATE, 10)),
        ("dlt sync eager=False, 10 pages", lambda url: run_sync(url, workdir, RATE, 10, False)),
    )
    # The export and the default sync alternate ``repeats`` times (their medians are
    # compared); from 30,000 leads on (20 s a run and more) nothing else runs.
    cases = [case for _ in range(repeats) for case in (export, default)]
    if leads < LONG:
        cases += once
    runs: dict[str, list[Run]] = {}
    with served_in_subprocess(server, ready_timeout=120) as url:
        for name, case in cases:
            fresh_window()
            runs.setdefault(name, []).append(case(url))
    base = runs[export[0]]
    base_reading = statistics.median(shares(base, reading=True))
    rows = [
        (
            "limited to 7 req/s",
            "runs",
            "429s",
            "reading s",
            "share, reading",
            "vs export",
            "share, whole",
            "vs export",
            "end s",
            "last load s",
            "CPU µs/record",
        )
    ]
    for name, measured in runs.items():
        reading, whole = shares(measured, reading=True), shares(measured, reading=False)
        last = measured[-1].last_load
        rows.append(
            (
                name,
                str(len(measured)),
                str(sum(run.limited for run in measured)),
                f"{statistics.median(run.reading for run in measured):.2f}",
                spread(reading),
                spread([x / base_reading for x in reading]),
                spread(whole),
                spread([x / base_reading for x in whole]),
                f"{statistics.median(run.wall - run.reading for run in measured):.2f}",
                "/".join(f"{last[k]:.2f}" for k in STEPS) if last else "-",
                f"{statistics.median(run.cpu / run.records for run in measured) * 1e6:.0f}",
            )
        )
    print(f"\n{leads:,} leads behind the sandbox's strict 7 requests/s window\n")
    print(table(rows))
    print(
        "\n(share: requests / (seconds x 7 + 1); reading: from the start to the last page"
        "\n read; whole: until the data is in DuckDB. 'vs export': over the export's median"
        "\n share (its reading is its whole run). Medians, with the range when several runs;"
        "\n end: whole - reading; last load: dlt's extract/normalize/load of the last run's"
        "\n last load, seconds.)"
    )


def shares(runs: list[Run], reading: bool) -> list[float]:
    """Each run's share of the allowed rate, over its reading or its whole run."""
    return [run.requests / ((run.reading if reading else run.wall) * RATE + 1) for run in runs]


def spread(values: list[float]) -> str:
    """The median, and the range when there are several."""
    median = f"{statistics.median(values):.3f}"
    if len(values) < 2:
        return median
    return f"{median} ({min(values):.3f}-{max(values):.3f})"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=20_000)
    parser.add_argument("--limited-leads", type=int, nargs="+", default=[10_000, 30_000])
    parser.add_argument("--repeats", type=int, default=3, help="export/default runs per size")
    args = parser.parse_args()
    main(args.leads, args.limited_leads, args.repeats)
