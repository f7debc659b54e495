"""RetailCRM costs (``/api/v5/costs``): expenses, on an order or on the shop."""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["Cost"]


@attrs.frozen
class Cost:
    """An expense (``Model/Entity/Costs/Cost.php``): ``summ`` under a ``costItem``."""

    id: int | None = None
    date_from: str | None = None
    date_to: str | None = None
    summ: float | None = None
    cost_item: str | None = None
    comment: str | None = None
    created_at: str | None = None
    created_by: str | None = None
    order: dict[str, Any] | None = None
    user_id: int | None = None
    sites: list[str] | None = None
    source: dict[str, Any] | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, kw_only=True)
