"""RetailCRM customer notes (``/api/v5/customers/notes``)."""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["CustomerNote"]


def _extra() -> Any:
    return attrs.field(factory=dict, repr=False, kw_only=True)


@attrs.frozen
class CustomerNote:
    """A note on a customer (``Model/Entity/Customers/CustomerNote.php``)."""

    id: int | None = None
    text: str | None = None
    created_at: str | None = None
    manager_id: int | None = None
    customer: dict[str, Any] | None = None
    extra: dict[str, Any] = _extra()
