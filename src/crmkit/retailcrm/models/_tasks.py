"""RetailCRM tasks (``/api/v5/tasks``)."""

from __future__ import annotations

from typing import Any

import attrs

from ._entities import HistoryEntry

__all__ = ["Task", "TaskChange", "TaskComment"]


def _extra() -> Any:
    return attrs.field(factory=dict, repr=False, kw_only=True)


@attrs.frozen
class Task:
    """A task for a user (``Model/Entity/Tasks/Task.php``)."""

    id: int | None = None
    text: str | None = None
    commentary: str | None = None
    datetime: str | None = None
    complete: bool | None = None
    performer: int | None = None
    created_at: str | None = None
    customer: dict[str, Any] | None = None
    order: dict[str, Any] | None = None
    extra: dict[str, Any] = _extra()


@attrs.frozen
class TaskChange(HistoryEntry):
    """One change from ``/tasks/history`` (``Model/Entity/Tasks/TaskHistory.php``)."""

    task: dict[str, Any] | None = None
    comment: dict[str, Any] | None = None


@attrs.frozen
class TaskComment:
    """A comment on a task (``Model/Entity/Tasks/TaskComment.php``)."""

    id: int | None = None
    text: str | None = None
    creator: int | None = None
    created_at: str | None = None
    updated_at: str | None = None
    extra: dict[str, Any] = _extra()
