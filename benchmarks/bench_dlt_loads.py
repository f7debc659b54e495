"""What one small load costs: ``crmkit.dlt.sync``'s loads beside bare ``pipeline.run`` calls.

The fixed cost of a dlt load (configuration, schema, state, files, SQL) is
what the last load of every sync adds after the last page, and what every
load takes from the main thread while the readers run. Both sides load the
same amoCRM leads (a sandbox in another process, no rate limit) into a
DuckDB file, one page of ``--page-size`` leads a load (``pages_per_load=1``):
``sync(..., eager=False)``, and ``pipeline.run(source)`` repeated while a
resource says it has more (what the source does without :func:`sync`).
Printed per side, over the loads after the first (medians): the wall time
between two loads committed, this thread's CPU in it (dlt runs each load on
the caller's thread; sync's readers run on their own), and dlt's own trace of
the load's steps. The first round of each side is a warm-up and not counted.

    python benchmarks/bench_dlt_loads.py [--loads N] [--page-size P] [--rounds R]
"""

from __future__ import annotations

import argparse
import os
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
from bench_dlt import SERVER, STEPS
from crmkit.amocrm.sandbox import SandboxCredentials
from crmkit.dlt import amocrm_source, sync
from crmkit.dlt._base import has_more


class Loads:
    """Each committed load's wall clock and thread CPU, and dlt's step times."""

    def __init__(self, pipeline: dlt.Pipeline) -> None:
        self.pipeline = pipeline
        self.marks: list[tuple[float, float]] = [(time.perf_counter(), time.thread_time())]
        self.steps: dict[str, list[float]] = {step: [] for step in STEPS}

    def committed(self, info: Any) -> None:
        self.marks.append((time.perf_counter(), time.thread_time()))
        for step in self.pipeline.last_trace.steps:
            if step.step in self.steps and step.finished_at:
                seconds = (step.finished_at - step.started_at).total_seconds()
                self.steps[step.step].append(seconds)

    def walls(self) -> list[float]:
        return [b[0] - a[0] for a, b in zip(self.marks[1:], self.marks[2:], strict=False)]

    def cpus(self) -> list[float]:
        return [b[1] - a[1] for a, b in zip(self.marks[1:], self.marks[2:], strict=False)]


def with_sync(pipeline: dlt.Pipeline, source: Any, loads: Loads) -> None:
    sync(pipeline, source, eager=False, on_load=loads.committed)


def bare_runs(pipeline: dlt.Pipeline, source: Any, loads: Loads) -> None:
    while True:
        loads.committed(pipeline.run(source))
        if not has_more(pipeline, source):
            return


def measure(
    url: str, workdir: Path, page_size: int, how: Callable[[dlt.Pipeline, Any, Loads], None]
) -> Loads:
    name = f"loads_{time.monotonic_ns()}"
    pipeline = dlt.pipeline(
        pipeline_name=name,
        pipelines_dir=str(workdir / "pipelines"),
        destination=dlt.destinations.duckdb(str(workdir / f"{name}.duckdb")),
        dataset_name="leads",
    )
    source = amocrm_source(
        base_url=url,
        access_token=SandboxCredentials().access_token,
        allow_insecure_http=True,
        rate_limit=None,
        resources=("leads",),
        page_size=page_size,
        pages_per_load=1,
    )
    loads = Loads(pipeline)
    how(pipeline, source, loads)
    return loads


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.0f}" if values else "-"


def main(count: int, page_size: int, rounds: int) -> None:
    sides: dict[str, Callable[[dlt.Pipeline, Any, Loads], None]] = {
        "pipeline.run per load": bare_runs,
        "crmkit.dlt.sync": with_sync,
    }
    measured: dict[str, list[Loads]] = {name: [] for name in sides}
    with tempfile.TemporaryDirectory() as tmp:
        server = SERVER.format(leads=count * page_size, rate_limit=None)
        with served_in_subprocess(server, ready_timeout=60) as url:
            for round_ in range(rounds + 1):
                for name, how in sides.items():  # interleaved: both see the same machine
                    loads = measure(url, Path(tmp), page_size, how)
                    if round_:
                        measured[name].append(loads)
    rows = [("one page a load", "loads", "wall ms", "CPU ms", *(f"{s} ms" for s in STEPS))]
    for name, runs in measured.items():
        walls = [w for run in runs for w in run.walls()]
        cpus = [c for run in runs for c in run.cpus()]
        steps = {s: [t for run in runs for t in run.steps[s][1:]] for s in STEPS}
        rows.append((name, str(len(walls)), ms(walls), ms(cpus), *(ms(steps[s]) for s in STEPS)))
    load = os.getloadavg()[0]
    print(
        f"\n{count} loads of {page_size} amoCRM leads into DuckDB, {rounds} round(s) a side,"
        f" load average {load:.1f}\n"
    )
    print(table(rows))
    print(
        "\n(medians over the loads after each run's first; wall: between two loads"
        "\n committed; CPU: this thread's; the steps: dlt's trace of each load.)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=15)
    parser.add_argument("--page-size", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    main(args.loads, args.page_size, args.rounds)
