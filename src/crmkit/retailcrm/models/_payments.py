"""RetailCRM order payments (``/api/v5/orders/payments``)."""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["Payment"]


def _extra() -> Any:
    return attrs.field(factory=dict, repr=False, kw_only=True)


@attrs.frozen
class Payment:
    """A payment of an order (``Model/Entity/Orders/Payment.php``)."""

    id: int | None = None
    external_id: str | None = None
    type: str | None = None
    status: str | None = None
    amount: float | None = None
    paid_at: str | None = None
    comment: str | None = None
    order: dict[str, Any] | None = None
    extra: dict[str, Any] = _extra()
