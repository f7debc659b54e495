"""``crmkit demo``: the bulk-sync job against all four sandboxes, with no account anywhere.

1. Serve the four sandboxes on 127.0.0.1 with seeded data (amoCRM and
   RetailCRM with their real rate limits and 429s), and push the Corezoid
   tasks in through a batcher.
2. Export from all four concurrently, through the same code as ``crmkit
   export``, with state files.
3. Change some records in amoCRM, RetailCRM and vtiger, and export again from
   the same state files: only the changed records come back, which the demo
   checks and says. (Corezoid has no change feed; it is not run again.)
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .. import Corezoid
from ..sandbox import FaultPlan
from ._commands import run_shown, summary_json
from ._export import JobStats
from ._progress import human_console
from ._serve import SandboxSetup, make_sandbox
from ._sources import ExportSpec, make_job

__all__ = ["demo_command", "seeded_sandboxes"]

#: Records changed between the two runs, per platform.
CHANGES = {"amocrm": 25, "retailcrm": 40, "vtiger": 15}
_EXPORTS = {
    "amocrm": "leads",
    "retailcrm": "orders-history",
    "vtiger": "Leads",
    "corezoid": "tasks",
}


def demo_command(args: argparse.Namespace) -> int:
    out_dir = args.out_dir or Path(tempfile.mkdtemp(prefix="crmkit-demo-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    say = _Say(args)
    counts, setups = seeded_sandboxes(args, say)
    served = {name: setup.sandbox.serve() for name, setup in setups.items()}
    try:
        urls = {name: s.url for name, s in served.items()}
        refs = out_dir / "corezoid-refs.txt"
        asyncio.run(_push_corezoid_tasks(setups["corezoid"], urls["corezoid"], counts, refs))
        say(f"Pushed {counts['corezoid']:,} Corezoid tasks through a batcher.")

        def specs(round_name: str, names: list[str]) -> list[ExportSpec]:
            return [
                ExportSpec(
                    name,
                    _EXPORTS[name],
                    {
                        **setups[name].options,
                        "url": urls[name],
                        **({"changes": True} if name == "vtiger" else {}),
                        **({"refs": str(refs)} if name == "corezoid" else {}),
                    },
                    out=out_dir / f"{name}-{_EXPORTS[name].lower()}.{round_name}.jsonl",
                    state=out_dir / f"{name}.state.json",
                )
                for name in names
            ]

        say("Run 1: every record, from all four at once, at their rate limits.")
        first = _run(specs("all", list(counts)), args)
        _change_records(setups)
        # A new run starts with an empty throttle, but the server still counts the
        # last second of the run before: wait it out, as a scheduled job would.
        time.sleep(1.0)
        changed = sorted(CHANGES)
        say(
            "Changed "
            + ", ".join(f"{CHANGES[name]} {name} records" for name in changed)
            + "; run 2 starts from the state files."
        )
        second = _run(specs("changes", changed), args)
    finally:
        for s in served.values():
            s.stop()
    ok = _check(first, second, counts, say)
    if args.json:
        checks = {name: CHANGES[name] for name in changed}
        print(summary_json([*first, *second], out_dir=str(out_dir), expected_changes=checks, ok=ok))
    say(f"Output and state files are in {out_dir}")
    return 0 if ok else 1


def seeded_sandboxes(
    args: argparse.Namespace, say: _Say
) -> tuple[dict[str, int], dict[str, SandboxSetup]]:
    """The four sandboxes seeded with the demo's counts, their records older than any run."""
    faults = FaultPlan(server_error=0.05, drop_after=0.03, seed=7) if args.faults else None
    counts = {
        "amocrm": args.amocrm_leads,
        "retailcrm": args.retailcrm_orders,
        "vtiger": args.vtiger_leads,
        "corezoid": args.corezoid_tasks,
    }
    say(f"Seeding the sandboxes: {', '.join(f'{k} {v:,}' for k, v in counts.items())} ...")
    setups = {
        # Corezoid's ops are POSTs that are not all safe to repeat: no faults there.
        name: make_sandbox(name, records=count, faults=None if name == "corezoid" else faults)
        for name, count in counts.items()
    }
    for setup in setups.values():
        setup.sandbox.clock.advance(10)  # the seeded records are older than the first run
    return counts, setups


class _Say:
    def __init__(self, args: argparse.Namespace) -> None:
        self.quiet = args.quiet or args.json
        self.console = human_console()

    def __call__(self, text: str) -> None:
        if not self.quiet:
            self.console.print(text, highlight=False)


def _run(specs: list[ExportSpec], args: argparse.Namespace) -> list[JobStats]:
    results = run_shown([make_job(spec) for spec in specs], args, title="crmkit demo")
    for _, exc in results:
        if exc is not None:
            raise exc
    return [stats for stats, _ in results]


async def _push_corezoid_tasks(
    setup: SandboxSetup, url: str, counts: dict[str, int], refs_file: Path
) -> None:
    options = setup.options
    refs = [f"demo-task-{n}" for n in range(counts["corezoid"])]
    async with (
        Corezoid(
            options["api_login"], options["secret"], base_url=url, allow_insecure_http=True
        ) as cz,
        cz.batch() as batch,
    ):
        await asyncio.gather(
            *(
                batch.create_task(options["conv_id"], {"n": n, "source": "demo"}, ref=ref)
                for n, ref in enumerate(refs)
            )
        )
    await asyncio.to_thread(refs_file.write_text, "\n".join(refs) + "\n")


def _change_records(setups: dict[str, SandboxSetup]) -> None:
    rng = random.Random(11)
    amo: Any = setups["amocrm"].sandbox
    amo.clock.advance(5)
    ids = rng.sample(sorted(amo.entities["leads"]), CHANGES["amocrm"])
    amo.touch("leads", ids, name="Changed by the demo")
    retail: Any = setups["retailcrm"].sandbox
    account = retail.account()
    records = account.stores["orders"].records
    for order_id in rng.sample(sorted(records), CHANGES["retailcrm"]):
        account.edit("orders", records[order_id], {"status": "complete"})
    vtiger: Any = setups["vtiger"].sandbox
    vtiger.clock.advance(5)
    leads = [rid for rid, r in vtiger.records.items() if r["_module"] == "Leads"]
    for record_id in rng.sample(sorted(leads), CHANGES["vtiger"]):
        vtiger.touch(record_id, lastname="Changed")


def _check(
    first: list[JobStats], second: list[JobStats], counts: dict[str, int], say: _Say
) -> bool:
    ok = True
    for stats in first:
        platform = stats.name.split()[0]
        expected = counts[platform]
        good = stats.records == expected and _unique_lines(Path(stats.out))
        ok &= good
        say(f"  run 1 {platform}: {stats.records:,} records, each once: {_mark(good)}")
    for stats in second:
        platform = stats.name.split()[0]
        good = stats.records == CHANGES[platform]
        ok &= good
        say(
            f"  run 2 {platform}: {stats.records} records back for {CHANGES[platform]} "
            f"changed: {_mark(good)}"
        )
    return ok


def _unique_lines(path: Path) -> bool:
    lines = path.read_bytes().splitlines()
    return len(lines) == len(set(lines))


def _mark(good: bool) -> str:
    return "yes" if good else "NO"


if __name__ == "__main__":  # pragma: no cover
    from . import main

    sys.exit(main(["demo", *sys.argv[1:]]))
