"""RetailCRM tasks (``/api/v5/tasks``)."""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["Task"]


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
