"""Corezoid models: folder items, process nodes, processes, tasks and task history.

Frozen attrs classes built by crmkit's one cattrs converter; numbers that come
as text are accepted, times in unix seconds become aware UTC datetimes, and
fields a model does not name stay in ``extra``. Shapes follow the answers in
``corezoid/corezoid-ai-plugin`` ``docs/corezoid-swagger.json`` (``folder``,
``conv``, ``node`` and ``task_history`` list/show) and ``corezoid/documentation``
``en/api/node/list.md``, ``en/api/v2/tasks.md``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

__all__ = ["CorezoidObject", "Task", "TaskHistoryEntry"]


def _extra() -> Any:
    return attrs.field(factory=dict, repr=False, kw_only=True)


@attrs.frozen
class CorezoidObject:
    """A folder, a process (conv) or a node, as listings and shows describe it.

    ``obj_type`` is what the answer says: ``"folder"``/``"conv"`` in a folder's
    listing, a number for nodes (1 start, 0 a step, 2 a final node).
    """

    __wire_snake_case__ = True

    obj_id: str
    obj: str | None = None
    obj_type: Any = None
    title: str | None = None
    description: str | None = None
    extra: dict[str, Any] = _extra()


@attrs.frozen
class Task:
    """A task in a node (``list`` of a node) or shown by ``ref``/``obj_id``."""

    __wire_snake_case__ = True

    obj_id: str
    ref: str | None = None
    status: str | None = None
    node_id: str | None = None
    node_prev_id: str | None = None
    user_id: int | None = None
    create_time: datetime | None = None
    change_time: datetime | None = None
    data: dict[str, Any] = attrs.field(factory=dict)
    extra: dict[str, Any] = _extra()


@attrs.frozen
class TaskHistoryEntry:
    """One step of a task's way through processes (``task_history`` list)."""

    __wire_snake_case__ = True

    history_id: int | None = None
    conv_id: int | None = None
    node_id: str | None = None
    node_prev_id: str | None = None
    user_id: int | None = None
    user_name: str | None = None
    create_time_ms: int | None = None
    status: str | None = None
    data: dict[str, Any] | None = None
    extra: dict[str, Any] = _extra()
