"""RetailCRM packs: order items packed from a store (``/api/v5/orders/packs``)."""

from __future__ import annotations

from typing import Any

import attrs

from ._entities import HistoryEntry

__all__ = ["Pack", "PackChange"]


def _extra() -> Any:
    return attrs.field(factory=dict, repr=False, kw_only=True)


@attrs.frozen
class Pack:
    """A pack (``Model/Entity/Packs/OrderProductPack.php``)."""

    id: int | None = None
    purchase_price: float | None = None
    quantity: float | None = None
    store: str | None = None
    shipment_date: str | None = None
    invoice_number: str | None = None
    delivery_note_number: str | None = None
    item: dict[str, Any] | None = None
    item_id: int | None = None
    extra: dict[str, Any] = _extra()


@attrs.frozen
class PackChange(HistoryEntry):
    """One change from ``/orders/packs/history``: a history entry naming its ``pack``."""

    pack: dict[str, Any] | None = None
