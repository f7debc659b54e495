"""RetailCRM store: inventories, products, product groups (``/api/v5/store``)."""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["InventoryOffer", "InventoryUpload", "Offer", "Product", "ProductGroup"]


def _extra() -> Any:
    return attrs.field(factory=dict, repr=False, kw_only=True)


@attrs.frozen
class InventoryOffer:
    """An offer's stock and prices (``/store/inventories``), per store when ``details`` is asked."""

    id: int | None = None
    external_id: str | None = None
    xml_id: str | None = None
    quantity: float | None = None
    stores: list[dict[str, Any]] | None = None
    extra: dict[str, Any] = _extra()


@attrs.frozen
class Offer:
    """A sellable variant of a product (``/store/offers``): its prices, stock and product."""

    id: int | None = None
    external_id: str | None = None
    xml_id: str | None = None
    name: str | None = None
    article: str | None = None
    price: float | None = None
    quantity: float | None = None
    active: bool | None = None
    product: dict[str, Any] | None = None
    prices: list[dict[str, Any]] | None = None
    extra: dict[str, Any] = _extra()


@attrs.frozen
class InventoryUpload:
    """What ``store/inventories/upload`` did: offers processed, and those it did not find."""

    processed_offers_count: int | None = None
    not_found_offers: list[dict[str, Any]] | None = None
    extra: dict[str, Any] = _extra()


@attrs.frozen
class Product:
    """A product of the catalogue, with its offers (``/store/products``)."""

    id: int | None = None
    external_id: str | None = None
    name: str | None = None
    article: str | None = None
    active: bool | None = None
    min_price: float | None = None
    max_price: float | None = None
    groups: list[dict[str, Any]] | None = None
    offers: list[dict[str, Any]] | None = None
    quantity: float | None = None
    extra: dict[str, Any] = _extra()


@attrs.frozen
class ProductGroup:
    """A group of the catalogue (``/store/product-groups``)."""

    id: int | None = None
    external_id: str | None = None
    name: str | None = None
    parent_id: int | None = None
    site: str | None = None
    active: bool | None = None
    extra: dict[str, Any] = _extra()
