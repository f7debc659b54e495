"""Corezoid into DuckDB: a process's tasks by ref, their changes merged, deleted tasks gone."""

from __future__ import annotations

import asyncio
from typing import Any

from crmkit import Corezoid
from crmkit.corezoid import Op
from crmkit.corezoid.sandbox import DEFAULT_CONV, DEFAULT_LOGIN, DEFAULT_SECRET, CorezoidSandbox
from crmkit.dlt import corezoid_source

from .conftest import Loaded

REFS = [f"order-{n}" for n in range(230)]


def _client(sandbox: CorezoidSandbox) -> dict[str, Any]:
    return {
        "api_login": DEFAULT_LOGIN,
        "secret": DEFAULT_SECRET,
        "base_url": "http://api.corezoid.test",
        "transport": sandbox.transport(),
        "allow_insecure_http": True,
    }


async def _ops(sandbox: CorezoidSandbox, ops: list[Op]) -> list[Any]:
    async with Corezoid(**_client(sandbox)) as cz:
        return await cz.ops(ops)


def test_tasks_by_ref(loaded: Loaded) -> None:
    sandbox = CorezoidSandbox()
    asyncio.run(
        _ops(
            sandbox,
            [
                Op.create_task(DEFAULT_CONV, {"n": n, "tags": ["a", "b"]}, ref=ref)
                for n, ref in enumerate(REFS[:200])
            ],
        )
    )

    def source() -> Any:
        return corezoid_source(
            conv_id=DEFAULT_CONV, refs=REFS, on_page=loaded.on_page, **_client(sandbox)
        )

    loaded.sync(source())
    process = sandbox.processes[DEFAULT_CONV]
    assert loaded.count("tasks") == len(process.tasks) == 200  # 30 refs not created: no rows
    assert loaded.count("tasks__data__tags") == 400
    assert loaded.rows("SELECT data__n FROM tasks WHERE ref = 'order-7'") == [(7,)]

    # Run 2: one task modified, one deleted, one more created.
    shown = asyncio.run(_ops(sandbox, [Op.show_task(DEFAULT_CONV, ref="order-9")]))[0]
    asyncio.run(
        _ops(
            sandbox,
            [
                Op.modify_task(DEFAULT_CONV, {"n": 1007, "tags": ["c"]}, ref="order-7"),
                Op.delete_task(DEFAULT_CONV, shown.obj_id, shown.raw["node_id"]),
                Op.create_task(DEFAULT_CONV, {"n": 210}, ref="order-210"),
            ],
        )
    )
    loaded.sync(source())
    assert loaded.count("tasks") == len(process.tasks) == 200
    assert loaded.column("SELECT ref FROM tasks WHERE ref = 'order-9'") == []
    assert loaded.rows("SELECT data__n FROM tasks WHERE ref = 'order-7'") == [(1007,)]
    tags = loaded.column(
        "SELECT t.value FROM tasks__data__tags t JOIN tasks k ON t._dlt_root_id = k._dlt_id"
        " WHERE k.ref = 'order-7'"
    )
    assert tags == ["c"]
    assert loaded.count("tasks__data__tags") == 199 * 2 - 2 + 1
    assert loaded.column("SELECT data__n FROM tasks WHERE ref = 'order-210'") == [210]

    # Run 3: another task deleted, a ref that had no task now has one; the rest unchanged.
    shown = asyncio.run(_ops(sandbox, [Op.show_task(DEFAULT_CONV, ref="order-11")]))[0]
    asyncio.run(
        _ops(
            sandbox,
            [
                Op.delete_task(DEFAULT_CONV, shown.obj_id, shown.raw["node_id"]),
                Op.create_task(DEFAULT_CONV, {"n": 225}, ref="order-225"),
            ],
        )
    )
    loaded.sync(source())
    assert loaded.count("tasks") == len(process.tasks) == 200
    assert loaded.column("SELECT ref FROM tasks WHERE ref IN ('order-9', 'order-11')") == []
    assert loaded.column("SELECT data__n FROM tasks WHERE ref = 'order-225'") == [225]
    assert loaded.rows("SELECT data__n FROM tasks WHERE ref = 'order-7'") == [(1007,)]
    assert loaded.count("tasks__data__tags") == 199 * 2 - 2 + 1 - 2


def test_tasks_by_node_listing(loaded: Loaded) -> None:
    sandbox = CorezoidSandbox()
    process = sandbox.processes[DEFAULT_CONV]
    asyncio.run(
        _ops(
            sandbox,
            [Op.create_task(DEFAULT_CONV, {"n": n}, ref=f"node-{n}") for n in range(120)],
        )
    )

    node = next(iter(process.tasks.values()))["node_id"]  # where the new tasks wait

    def source() -> Any:
        return corezoid_source(
            conv_id=DEFAULT_CONV,
            nodes=[node],
            on_page=loaded.on_page,
            pages_per_load=1,
            **_client(sandbox),
        )

    loaded.sync(source())
    in_node = [t for t in process.tasks.values() if t["node_id"] == node]
    assert loaded.count("node_tasks") == len(in_node) == 120
    assert loaded.read("node_tasks") == 120
    asyncio.run(_ops(sandbox, [Op.modify_task(DEFAULT_CONV, {"n": 999}, ref="node-3")]))
    loaded.sync(source())
    assert loaded.count("node_tasks") == 120  # merged by obj_id: no task twice
    assert loaded.rows("SELECT data__n FROM node_tasks WHERE ref = 'node-3'") == [(999,)]
