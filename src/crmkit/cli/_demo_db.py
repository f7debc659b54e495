"""``crmkit demo``: all four sandboxes into a DuckDB file, changed, deleted, and synced again.

1. Serve the four sandboxes on 127.0.0.1 with seeded data (amoCRM and
   RetailCRM at their real rate limits), and push the Corezoid tasks in
   through a batcher.
2. ``crmkit sync`` all four at once into one DuckDB file, a dataset each.
3. Change records in all four and delete some in each (in RetailCRM a user's
   deletion in the CRM: its history says so).
4. Sync again from the saved positions: only the changes are read. Then
   print the row counts and sample queries showing the changes applied and
   the deleted records gone, and check both against the sandboxes.

``crmkit demo --jsonl`` runs the JSON Lines export demo instead.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import attrs
from rich import box
from rich.table import Table

from .. import Corezoid
from ..corezoid import Op
from ._commands import run_shown, summary_json
from ._demo import _push_corezoid_tasks, _Say, seeded_sandboxes
from ._export import JobStats
from ._serve import SandboxSetup
from ._sources import ExportSpec
from ._sync import Target, make_sync_job, run_syncs

__all__ = ["delete_in_retailcrm", "demo_db_command"]

#: Records changed, and records deleted, between the two runs.
CHANGED = {"amocrm": 25, "retailcrm": 40, "vtiger": 15, "corezoid": 10}
DELETED = {"amocrm": 5, "retailcrm": 5, "vtiger": 5, "corezoid": 5}
#: The table each platform's checks look at.
TABLES = {
    "amocrm": "amocrm.leads",
    "retailcrm": "retailcrm.orders",
    "vtiger": "vtiger.leads",
    "corezoid": "corezoid.tasks",
}


@attrs.define
class Changes:
    """What the demo changed and deleted, by primary key, per platform."""

    changed: dict[str, list[Any]] = attrs.Factory(dict)
    deleted: dict[str, list[Any]] = attrs.Factory(dict)


def demo_db_command(args: argparse.Namespace) -> int:
    out_dir = args.out_dir or Path(tempfile.mkdtemp(prefix="crmkit-demo-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    database = args.database or out_dir / "crmkit-demo.duckdb"
    say = _Say(args)
    counts, setups = seeded_sandboxes(args, say)
    served = {name: setup.sandbox.serve() for name, setup in setups.items()}
    target = Target("duckdb", database, out_dir / "pipelines", pages_per_load=50)
    try:
        urls = {name: s.url for name, s in served.items()}
        refs = out_dir / "corezoid-refs.txt"
        asyncio.run(_push_corezoid_tasks(setups["corezoid"], urls["corezoid"], counts, refs))
        say(f"Pushed {counts['corezoid']:,} Corezoid tasks through a batcher.")
        jobs = [
            make_sync_job(
                ExportSpec(
                    name,
                    "",
                    {
                        **setups[name].options,
                        "url": urls[name],
                        "dataset": name,
                        **({"refs": str(refs)} if name == "corezoid" else {}),
                    },
                ),
                target,
            )
            for name in counts
        ]
        say(f"Run 1: every record from all four at once, at their rate limits, into {database}.")
        first = _run(jobs, args)
        rows_before = _row_counts(database)
        changes = asyncio.run(_change_and_delete(setups, urls))
        time.sleep(1.0)  # the servers still count the last second of run 1
        say(
            "Changed "
            + ", ".join(f"{CHANGED[n]} {n}" for n in CHANGED)
            + "; deleted "
            + ", ".join(f"{DELETED[n]} {n}" for n in DELETED if DELETED[n])
            + " records. Run 2 reads only the changes."
        )
        second = _run(jobs, args)
    finally:
        for s in served.values():
            s.stop()
    rows_after = _row_counts(database)
    ok = _check(database, setups, changes, counts, second, say)
    if not (args.quiet or args.json):
        say.console.print(_counts_table(rows_before, rows_after))
        _show_queries(database, changes, say)
    if args.json:
        print(summary_json([*first, *second], database=str(database), rows=rows_after, ok=ok))
    say(f"The database is {database}: open it with duckdb, or any DuckDB client.")
    return 0 if ok else 1


def _run(jobs: list[Any], args: argparse.Namespace) -> list[JobStats]:
    results = run_shown(jobs, args, title="crmkit demo", run=run_syncs)
    for _, exc in results:
        if exc is not None:
            raise exc
    return [stats for stats, _ in results]


def delete_in_retailcrm(sandbox: Any, kind: str, record_id: int) -> None:
    """A record deleted by a user in RetailCRM: gone, and a ``deleted`` change in its history.

    The API deletes no orders or customers (users do, in the CRM); the history
    then carries the change with ``deleted: true``.
    """
    account = sandbox.account()
    store = account.stores[kind]
    record = store.records.pop(record_id)
    key = {"orders": "order", "customers": "customer"}[kind]
    store.history.append(
        {
            "id": account.next_history_id,
            "createdAt": account.stamp(),
            "source": "user",
            "field": "id",
            "oldValue": record_id,
            "newValue": None,
            "deleted": True,
            key: {"id": record_id, "externalId": record.get("externalId")},
        }
    )
    account.next_history_id += 1


async def _change_and_delete(setups: dict[str, SandboxSetup], urls: dict[str, str]) -> Changes:
    rng = random.Random(11)
    changes = Changes()
    amo: Any = setups["amocrm"].sandbox
    amo.clock.advance(5)
    ids = rng.sample(sorted(amo.entities["leads"]), CHANGED["amocrm"] + DELETED["amocrm"])
    amo.touch("leads", ids[: CHANGED["amocrm"]], name="Changed by the demo")
    amo.delete("leads", ids[CHANGED["amocrm"] :])  # each leaves a lead_deleted event
    changes.changed["amocrm"] = sorted(ids[: CHANGED["amocrm"]])
    changes.deleted["amocrm"] = sorted(ids[CHANGED["amocrm"] :])

    retail: Any = setups["retailcrm"].sandbox
    account = retail.account()
    records = account.stores["orders"].records
    picked = rng.sample(sorted(records), CHANGED["retailcrm"] + DELETED["retailcrm"])
    for order_id in picked[: CHANGED["retailcrm"]]:
        account.edit("orders", records[order_id], {"status": "complete"})
    for order_id in picked[CHANGED["retailcrm"] :]:
        delete_in_retailcrm(retail, "orders", order_id)
    changes.changed["retailcrm"] = sorted(picked[: CHANGED["retailcrm"]])
    changes.deleted["retailcrm"] = sorted(picked[CHANGED["retailcrm"] :])

    vtiger: Any = setups["vtiger"].sandbox
    vtiger.clock.advance(5)
    leads = sorted(rid for rid, r in vtiger.records.items() if r["_module"] == "Leads")
    picked = rng.sample(leads, CHANGED["vtiger"] + DELETED["vtiger"])
    for record_id in picked[: CHANGED["vtiger"]]:
        vtiger.touch(record_id, lastname="Changed")
    for record_id in picked[CHANGED["vtiger"] :]:
        vtiger.remove(record_id)
    changes.changed["vtiger"] = sorted(picked[: CHANGED["vtiger"]])
    changes.deleted["vtiger"] = sorted(picked[CHANGED["vtiger"] :])
    vtiger.clock.advance(5)
    amo.clock.advance(5)

    options = setups["corezoid"].options
    conv = options["conv_id"]
    refs = [f"demo-task-{n}" for n in rng.sample(range(len(_tasks(setups))), 15)]
    async with Corezoid(
        options["api_login"], options["secret"], base_url=urls["corezoid"],
        allow_insecure_http=True,
    ) as cz:  # fmt: skip
        shown = await cz.ops([Op.show_task(conv, ref=ref) for ref in refs[10:]])
        await cz.ops(
            [Op.modify_task(conv, {"status": "changed by the demo"}, ref=r) for r in refs[:10]]
            + [Op.delete_task(conv, str(s.obj_id), s.raw["node_id"]) for s in shown]
        )
    changes.changed["corezoid"], changes.deleted["corezoid"] = sorted(refs[:10]), sorted(refs[10:])
    return changes


def _tasks(setups: dict[str, SandboxSetup]) -> dict[str, Any]:
    cz: Any = setups["corezoid"].sandbox
    tasks: dict[str, Any] = cz.processes[int(setups["corezoid"].options["conv_id"])].tasks
    return tasks


def _query(database: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    import duckdb

    with duckdb.connect(str(database), read_only=True) as db:
        return [tuple(row) for row in db.execute(sql, list(params)).fetchall()]


def _row_counts(database: Path) -> dict[str, int]:
    tables = _query(
        database,
        "SELECT table_schema || '.' || table_name FROM information_schema.tables "
        "WHERE table_schema IN ('amocrm', 'retailcrm', 'vtiger', 'corezoid') "
        "AND table_name NOT LIKE '\\_dlt%' ESCAPE '\\' ORDER BY 1",
    )
    return {name: int(_query(database, f"SELECT count(*) FROM {name}")[0][0]) for (name,) in tables}


def _in_sandbox(setups: dict[str, SandboxSetup]) -> dict[str, int]:
    amo: Any = setups["amocrm"].sandbox
    retail: Any = setups["retailcrm"].sandbox
    vtiger: Any = setups["vtiger"].sandbox
    return {
        "amocrm": len(amo.entities["leads"]),
        "retailcrm": len(retail.account().stores["orders"].records),
        "vtiger": sum(1 for r in vtiger.records.values() if r["_module"] == "Leads"),
        "corezoid": len(_tasks(setups)),
    }


def _check(
    database: Path,
    setups: dict[str, SandboxSetup],
    changes: Changes,
    counts: dict[str, int],
    second: list[JobStats],
    say: _Say,
) -> bool:
    """Rows as in the sandbox, the changes applied, the deletions gone, run 2 only the changes."""
    ok = True
    expected = _in_sandbox(setups)
    key = {"amocrm": "id", "retailcrm": "id", "vtiger": "id", "corezoid": "ref"}
    changed_value = {
        "amocrm": "name = 'Changed by the demo'",
        "retailcrm": "status = 'complete'",
        "vtiger": "lastname = 'Changed'",
        "corezoid": "data__status = 'changed by the demo'",
    }
    for platform, table in TABLES.items():
        rows = int(_query(database, f"SELECT count(*) FROM {table}")[0][0])
        changed = changes.changed[platform]
        applied = _count_in(database, table, key[platform], changed, changed_value[platform])
        left = _count_in(database, table, key[platform], changes.deleted[platform], "true")
        good = rows == expected[platform] and applied == len(changed) and left == 0
        ok &= good
        say(
            f"  {table}: {rows:,} rows ({expected[platform]:,} in the sandbox), "
            f"{applied}/{len(changed)} changes applied, "
            f"{len(changes.deleted[platform]) - left}/{len(changes.deleted[platform])} "
            f"deletions applied: {'yes' if good else 'NO'}"
        )
    for stats in second:
        platform = stats.name.split()[0]
        if platform == "corezoid":  # no change feed: every ref is shown again
            continue
        read = stats.records
        # vtiger's sync feed resumes at its last window's lastModifiedTime, inclusive
        good = read <= CHANGED[platform] + DELETED[platform] + (5 if platform == "vtiger" else 0)
        ok &= good
        say(f"  run 2 {platform}: {read} records or changes read: {'yes' if good else 'NO'}")
    return ok


def _count_in(database: Path, table: str, key: str, values: list[Any], condition: str) -> int:
    if not values:
        return 0
    marks = ", ".join("?" for _ in values)
    sql = f"SELECT count(*) FROM {table} WHERE {key} IN ({marks}) AND {condition}"
    return int(_query(database, sql, *values)[0][0])


def _counts_table(before: dict[str, int], after: dict[str, int]) -> Table:
    table = Table(title="rows per table", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("table")
    table.add_column("after run 1", justify="right")
    table.add_column("after run 2", justify="right")
    for name in sorted(after):
        table.add_row(name, f"{before.get(name, 0):,}", f"{after[name]:,}")
    return table


def _show_queries(database: Path, changes: Changes, say: _Say) -> None:
    changed = changes.changed["retailcrm"][:3]
    deleted = changes.deleted["retailcrm"]
    queries: list[str] = [
        f"SELECT id, status FROM retailcrm.orders WHERE id IN ({', '.join(map(str, changed))})",
        "SELECT count(*) AS still_there FROM retailcrm.orders "
        f"WHERE id IN ({', '.join(map(str, deleted))})",
        "SELECT l.lastname, count(*) AS leads FROM vtiger.leads l "
        "GROUP BY l.lastname ORDER BY leads DESC LIMIT 3",
        "SELECT o.status, count(DISTINCT o.id) AS orders, sum(i.quantity) AS items "
        "FROM retailcrm.orders o JOIN retailcrm.orders__items i ON i._dlt_root_id = o._dlt_id "
        "GROUP BY o.status ORDER BY orders DESC",
    ]
    for sql in queries:
        say(f"\n[bold]{sql}[/bold]")
        for row in _query(database, sql):
            say("  " + " | ".join(str(value) for value in row))
