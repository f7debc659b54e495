"""Corezoid as a dlt source: the tasks of one process, shown by their refs or listed by node.

Corezoid has no listing of a process's tasks by change, so every run reads
them again:

- ``refs``: each ref shown (100 refs a request, the ops batch) into ``tasks``,
  merged by ``ref``; a ref Corezoid no longer knows deletes its row;
- ``nodes``: each node's task listing (``list`` of a node, paged) into
  ``node_tasks``, merged by ``obj_id``; a task that left the node keeps its
  last row (the listing names no departures).

The position (the next batch of refs, the node listing's paginator state) is
kept between loads, so a run stopped part-way resumes there.

Custom fields: a task's ``data`` becomes columns ``data__<key>`` (lists a
child table ``tasks__data__<key>``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from dlt.extract import DltSource

from ..corezoid import Corezoid, Op, OpResult
from ._base import (
    Budget,
    OnPage,
    Rows,
    SharedClient,
    make_source,
    merge_resource,
    saved_state,
    to_row,
)

__all__ = ["corezoid_source"]

#: Corezoid's answer to a show of a task it does not have.
NOT_FOUND = "obj_id_not_found"
#: Refs shown per request.
REFS_PER_REQUEST = 100


def corezoid_source(
    api_login: str | int,
    secret: str,
    *,
    conv_id: int | str,
    refs: Sequence[str] = (),
    nodes: Sequence[str] = (),
    pages_per_load: int | None = None,
    on_page: OnPage | None = None,
    **client_options: Any,
) -> DltSource:
    """A dlt source of one process's tasks; the account's arguments are :class:`~crmkit.Corezoid`'s.

    ``refs`` are the tasks' refs (those your tasks were created with), ``nodes``
    node ids whose task listings to read (one of the two at least);
    ``pages_per_load`` (batches of 100 refs) and ``on_page``: see
    :func:`crmkit.dlt.sync`.
    """
    if not secret:
        raise ValueError("corezoid_source needs the API secret")
    if not refs and not nodes:
        raise ValueError("corezoid_source needs refs or nodes")
    wanted = [str(ref) for ref in refs]
    budget = Budget(pages_per_load, on_page)
    shared = SharedClient(lambda: Corezoid(api_login, secret, **client_options), budget)

    async def read(state: dict[str, Any]) -> AsyncIterator[list[dict[str, Any]]]:
        start = int(state.get("next", 0))
        rows = Rows()
        async with shared.use() as cz:
            for at in range(start, len(wanted), REFS_PER_REQUEST):
                chunk = wanted[at : at + REFS_PER_REQUEST]
                results = await cz.ops([Op.show_task(conv_id, ref=ref) for ref in chunk])
                done = at + len(chunk)
                state["next"] = 0 if done >= len(wanted) else done  # the next run starts over
                budget.report(cz, "tasks", len(chunk), len(wanted))
                yield [
                    _row(rows, conv_id, ref, result)
                    for ref, result in zip(chunk, results, strict=True)
                ]

    async def listed(state: dict[str, Any]) -> AsyncIterator[list[dict[str, Any]]]:
        rows = Rows()
        async with shared.use() as cz:
            for node in nodes:
                key = f"node:{node}"
                saved = saved_state(state, key)
                resume = saved if saved is not None and not saved.done else None
                paginator = cz.list_tasks(conv_id, str(node), resume_from=resume)
                async for page in budget.pages(cz, "node_tasks", paginator, state, key):
                    yield [
                        rows.upsert({**to_row(task), "conv_id": str(conv_id)})
                        for task in page.items
                    ]
            for node in nodes:  # all read: the next run lists every node again
                state.pop(f"node:{node}", None)

    resources = []
    if refs:
        resources.append(merge_resource(read, "tasks", "ref", budget))
    if nodes:
        resources.append(merge_resource(listed, "node_tasks", "obj_id", budget))
    return make_source("corezoid", resources, budget)


def _row(rows: Rows, conv_id: int | str, ref: str, result: OpResult) -> dict[str, Any]:
    if result.proc == NOT_FOUND:
        return rows.delete("ref", ref)
    result.unwrap()  # any other failure is an error, not a deletion
    return rows.upsert(
        {
            "ref": ref,
            "conv_id": str(conv_id),
            "obj_id": result.obj_id,
            "node_id": result.raw.get("node_id"),
            "data": result.data,
        }
    )
