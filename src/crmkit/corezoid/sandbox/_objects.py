"""Folder, process and node listings in the sandbox.

Written from the ``folder``, ``conv`` and ``node`` list/show entries of
``corezoid/corezoid-ai-plugin`` ``docs/corezoid-swagger.json`` and
``corezoid/documentation`` ``en/api/node/list.md``:

- ``list folder``: the folders and processes in a folder, with ``filter``,
  ``sort`` and ``order``; access lists (``list_obj: group``), projects and
  stages, and a superadmin's ``owner_id`` are not emulated: an op error says so;
- ``list conv``: a process's nodes; ``show conv``: its details;
- ``list node``: the tasks in a node, ``limit`` (required) and ``offset``,
  ``sort`` ``ASC``/``DESC``, ``filters`` by ``ref``, ``work_user_id``, with the
  node's ``count``.
"""

from __future__ import annotations

from typing import Any

from ._state import Folder, Process
from ._tasks import page_window, task_view

__all__ = ["ObjectOps"]

Answer = dict[str, Any]

#: ``filter`` values of a folder listing and what each keeps (the key owns everything here).
_FOLDER_FILTERS = {
    "folder": {"folder"},
    "conv": {"folder", "conv"},
    "conveyor": {"conv"},
    "my": {"folder", "conv"},
    "recent": {"folder", "conv"},
    "dashboard": set(),
    "instance": set(),
    "shared": set(),
    "favorites": set(),
    "deleted": set(),
}
_SORT_KEYS = {"name": "title", "title": "title", "owner": "owner_name", "date": "change_time"}


class ObjectOps:
    """The folder/conv/node handlers of :class:`CorezoidSandbox` (a part of it)."""

    folders: dict[int, Folder]
    processes: dict[int, Process]

    def _folder_list(self, op: Answer, base: Answer, company: str | None) -> Answer:
        try:
            folder_id = int(op.get("obj_id", ""))
        except (TypeError, ValueError):
            return {**base, "proc": "error", "description": "Key 'obj_id' is required"}
        folder = self.folders.get(folder_id)
        if folder is None:
            return {**base, "proc": "obj_id_not_found"}
        if folder.company_id != company:
            return {**base, **_wrong_company()}
        not_emulated = ("list_obj", "owner_id", "project_id", "stage_id", "project_short_name",
                        "stage_short_name")  # fmt: skip
        named = [key for key in not_emulated if op.get(key) is not None]
        if named:
            return {**base, "proc": "error", "description": f"{named[0]} is not emulated"}
        kinds = _FOLDER_FILTERS.get(op.get("filter") or "conv")
        if kinds is None:
            return {**base, "proc": "error", "description": "Value is not valid: filter"}
        sort = op.get("sort")
        if sort is not None and sort not in _SORT_KEYS:
            return {**base, "proc": "error", "description": "Value is not valid: sort"}
        if op.get("order", "asc") not in ("asc", "desc"):
            return {**base, "proc": "error", "description": "Value is not valid: order"}
        items = [
            _folder_item(child)
            for child in self.folders.values()
            if child.parent_id == folder_id and child.folder_id != 0 and "folder" in kinds
        ] + [
            _conv_item(process)
            for process in self.processes.values()
            if process.folder_id == folder_id and "conv" in kinds
        ]
        if sort is not None:
            items.sort(key=lambda item: item[_SORT_KEYS[sort]] or "")
        if op.get("order") == "desc":
            items.reverse()
        parent = self.folders.get(folder.parent_id)
        return {
            **base,
            "obj": "folder",
            "obj_id": folder_id,
            "proc": "ok",
            "parent_folder_id": folder.parent_id,
            "parent_folder_title": parent.title if parent else "",
            "list": items,
        }

    def _conv_list(self, process: Process, op: Answer, base: Answer) -> Answer:
        if op.get("list_obj", "all") != "all":
            return {**base, "proc": "error", "description": "list_obj is not emulated"}
        nodes = [
            {
                "obj": "node",
                "obj_id": node.obj_id,
                "title": node.title,
                "description": "",
                "logics": [],
                "semaphors": [],
                "count": sum(1 for t in process.tasks.values() if t["node_id"] == node.obj_id),
                "obj_type": node.obj_type,
            }
            for node in process.nodes
        ]
        return {**base, **_conv_item(process), "obj": "conv", "proc": "ok", "list": nodes}

    def _conv_show(self, process: Process, op: Answer, base: Answer) -> Answer:
        item = _conv_item(process)
        item.pop("obj_type")
        return {
            **base,
            **item,
            "obj": "conv",
            "proc": "ok",
            "parent_obj_id": process.folder_id,
            "parent_obj_type": "folder",
        }

    def _node_list(self, process: Process, op: Answer, base: Answer) -> Answer:
        node_id = str(op.get("obj_id", ""))
        if process.node(node_id) is None:
            return {**base, "proc": "obj_id_not_found"}
        window = page_window(op, required=True)
        if isinstance(window, str):
            return {**base, "proc": "error", "description": window}
        sort = op.get("sort", "ASC")
        if sort not in ("ASC", "DESC"):
            return {**base, "proc": "error", "description": "Value is not valid: sort"}
        tasks = [t for t in process.tasks.values() if t["node_id"] == node_id]
        count = len(tasks)
        if op.get("work_user_id") is not None:
            tasks = [t for t in tasks if str(t["user_id"]) == str(op["work_user_id"])]
        for rule in op.get("filters") or []:
            if not isinstance(rule, dict) or rule.get("name") != "ref" or rule.get("fun") != "eq":
                return {**base, "proc": "error", "description": "Value is not valid: filters"}
            tasks = [t for t in tasks if t["ref"] == str(rule.get("value"))]
        if sort == "DESC":
            tasks.reverse()
        start, stop = window
        return {
            **base,
            "obj": "node",
            "obj_id": node_id,
            "count": count,
            "proc": "ok",
            "list": [task_view(t) for t in tasks[start:stop]],
        }


def _wrong_company() -> Answer:
    return {"proc": "error", "description": "Company of object do not matches companyId of request"}


def _folder_item(folder: Folder) -> Answer:
    return {
        "obj_type": "folder",
        "obj_id": folder.folder_id,
        "title": folder.title,
        "description": "",
        "company_id": folder.company_id,
        "owner_name": "API key",
        "create_time": folder.create_time,
        "change_time": folder.create_time,
        "parent_id": folder.parent_id,
    }


def _conv_item(process: Process) -> Answer:
    return {
        "obj_type": "conv",
        "obj_id": process.conv_id,
        "title": process.title,
        "description": "",
        "conv_type": "process",
        "status": "active",
        "company_id": process.company_id,
        "project_id": process.project_id,
        "stage_id": process.stage_id,
        "owner_name": "API key",
        "create_time": process.create_time,
        "change_time": process.create_time,
    }
