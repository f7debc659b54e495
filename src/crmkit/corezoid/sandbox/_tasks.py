"""Task ops in the sandbox: create, modify, show, delete, and a task's history.

Written from ``corezoid/documentation`` ``en/api/v2/tasks.md`` and the ``task``
and ``task_history`` entries of ``corezoid/corezoid-ai-plugin``
``docs/corezoid-swagger.json``. A created task enters the start node and comes
to rest in the final node (status ``processed``); each step is in its history.
"""

from __future__ import annotations

import itertools
import secrets
import time
from typing import Any

from ._state import Process

__all__ = ["TaskOps"]

Answer = dict[str, Any]


class TaskOps:
    """The task handlers of :class:`CorezoidSandbox` (a part of it)."""

    _history_ids = itertools.count(8_212_422_000)
    #: The user every task is made by: the API key's.
    user_id = 5555

    def _now_ms(self) -> int:
        clock = getattr(self, "clock", None)
        return int((clock.now() if clock is not None else time.time()) * 1000)

    def _step(self, process: Process, task: Answer, node_id: str, status: str) -> None:
        task["node_prev_id"] = task.get("node_id")
        task["node_id"] = node_id
        task["history"].append(
            {
                "history_id": next(self._history_ids),
                "conv_id": process.conv_id,
                "node_id": node_id,
                "node_prev_id": task["node_prev_id"],
                "user_id": task["user_id"],
                "user_name": "API key",
                "create_time_ms": self._now_ms(),
                "status": status,
                "data": dict(task["data"]),
            }
        )

    def _task_create(self, process: Process, op: Answer, base: Answer) -> Answer:
        ref = op.get("ref")
        if ref is not None:
            ref = str(ref)
            if not 1 <= len(ref) <= 255:
                return {**base, "proc": "error", "description": "ref must be 1 to 255 characters"}
            if ref in process.by_ref:
                return {**base, "ref": ref, "proc": "error", "description": "not unical ref"}
        data = op.get("data")
        if data is not None and not isinstance(data, dict):
            return {**base, "proc": "error", "description": "data must be an object"}
        now = self._now_ms() // 1000
        task: Answer = {
            "obj_id": secrets.token_hex(12),
            "ref": ref,
            "data": dict(data or {}),
            "node_id": None,
            "status": "processed",
            "user_id": self.user_id,
            "create_time": now,
            "change_time": now,
            "history": [],
        }
        self._step(process, task, process.start_node, "created")
        self._step(process, task, process.final_node, "processed")
        process.tasks[task["obj_id"]] = task
        if ref is not None:
            process.by_ref[ref] = task["obj_id"]
        return {**base, "obj_id": task["obj_id"], "ref": ref or "", "proc": "ok"}

    def _find_task(self, process: Process, op: Answer) -> Answer | None:
        if op.get("obj_id") is not None:
            return process.tasks.get(str(op["obj_id"]))
        if op.get("ref") is not None:
            obj_id = process.by_ref.get(str(op["ref"]))
            return process.tasks.get(obj_id) if obj_id else None
        return None

    def _task_modify(self, process: Process, op: Answer, base: Answer) -> Answer:
        task = self._find_task(process, op)
        if task is None:
            return {**base, "proc": "obj_id_not_found"}
        if not isinstance(op.get("data"), dict):
            return {**base, "proc": "error", "description": "data must be an object"}
        task["data"].update(op["data"])
        task["change_time"] = self._now_ms() // 1000
        self._step(process, task, task["node_id"], "modified")
        return {**base, "obj_id": task["obj_id"], "ref": task["ref"] or "", "proc": "ok"}

    def _task_show(self, process: Process, op: Answer, base: Answer) -> Answer:
        task = self._find_task(process, op)
        if task is None:
            return {**base, "proc": "obj_id_not_found"}
        return {**base, **task_view(task), "proc": "ok"}

    def _task_delete(self, process: Process, op: Answer, base: Answer) -> Answer:
        if op.get("obj_id") is None or op.get("node_id") is None:
            return {**base, "proc": "error", "description": "delete needs obj_id and node_id"}
        task = process.tasks.get(str(op["obj_id"]))
        if task is None or task["node_id"] != op["node_id"]:
            return {**base, "proc": "obj_id_not_found"}
        del process.tasks[task["obj_id"]]
        if task["ref"] is not None:
            process.by_ref.pop(task["ref"], None)
        return {**base, "obj_id": task["obj_id"], "proc": "ok"}

    def _task_history(self, process: Process, op: Answer, base: Answer) -> Answer:
        task = process.tasks.get(str(op.get("obj_id")))
        if task is None:
            return {**base, "proc": "obj_id_not_found"}
        window = page_window(op, required=False)
        if isinstance(window, str):
            return {**base, "proc": "error", "description": window}
        start, stop = window
        entries = task["history"][start:stop]
        return {
            **base,
            "obj_id": task["obj_id"],
            "ref": task["ref"] or "",
            "proc": "ok",
            "list": entries,
        }


def task_view(task: Answer) -> Answer:
    """A task as ``show`` and node listings describe it (no history)."""
    return {
        "obj": "task",
        **{k: v for k, v in task.items() if k != "history"},
        "ref": task["ref"] or "",
    }


def page_window(op: Answer, *, required: bool) -> tuple[int, int | None] | str:
    """``(start, stop)`` from an op's ``limit``/``offset``, or the error text."""
    limit, offset = op.get("limit"), op.get("offset", 0)
    if limit is None:
        return "Key 'limit' is required" if required else (_int(offset) or 0, None)
    parsed_limit, parsed_offset = _int(limit), _int(offset)
    if parsed_limit is None or parsed_limit < 1:
        return "Value is not valid: limit"
    if parsed_offset is None or parsed_offset < 0:
        return "Value is not valid: offset"
    return parsed_offset, parsed_offset + parsed_limit


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
