"""RetailCRM loyalty: participation accounts and bonus operations (``/api/v5/loyalty``)."""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["BonusOperation", "Loyalty", "LoyaltyAccount"]


def _extra() -> Any:
    return attrs.field(factory=dict, repr=False, kw_only=True)


@attrs.frozen
class LoyaltyAccount:
    """A customer in a loyalty programme (``Model/Entity/Loyalty/LoyaltyAccount.php``)."""

    id: int | None = None
    active: bool | None = None
    amount: float | None = None
    card_number: str | None = None
    phone_number: str | None = None
    status: str | None = None
    created_at: str | None = None
    customer: dict[str, Any] | None = None
    loyalty: dict[str, Any] | None = None
    level: dict[str, Any] | None = None
    extra: dict[str, Any] = _extra()


@attrs.frozen
class BonusOperation:
    """A credit or charge of bonuses (``Model/Entity/Loyalty/BonusOperation.php``)."""

    type: str | None = None
    amount: float | None = None
    created_at: str | None = None
    order: dict[str, Any] | None = None
    bonus: dict[str, Any] | None = None
    event: dict[str, Any] | None = None
    loyalty: dict[str, Any] | None = None
    loyalty_account: dict[str, Any] | None = None
    extra: dict[str, Any] = _extra()


@attrs.frozen
class Loyalty:
    """A loyalty programme (``Model/Entity/Loyalty/Loyalty.php``), with its levels."""

    id: int | None = None
    name: str | None = None
    active: bool | None = None
    blocked: bool | None = None
    currency: str | None = None
    levels: list[dict[str, Any]] | None = None
    created_at: str | None = None
    extra: dict[str, Any] = _extra()
