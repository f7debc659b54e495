"""Reference books (``/api/v5/reference/*``): one table, one generic class.

Each row names a book's path, the key its list answers under, the form field
its edit takes, and whether entries are named by ``code`` or by ``id``
(``ResourceGroup/References.php`` in ``retailcrm/api-client-php``).
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any, NamedTuple

from ..._json import reading
from ..._models import from_wire
from .. import _wire
from ..models import ReferenceItem
from ._base import Resource

__all__ = ["REFERENCE_BOOKS", "ReferenceBook", "References"]


class Book(NamedTuple):
    path: str
    key: str  # the list's key in answers
    one: str | None  # the edit's form field; None: the book is read-only
    by_id: bool = False  # entries named by id (couriers), created with /create


#: attribute name -> the book. The README's coverage table is built from it.
REFERENCE_BOOKS: dict[str, Book] = {
    "cost_groups": Book("cost-groups", "costGroups", "costGroup"),
    "cost_items": Book("cost-items", "costItems", "costItem"),
    "countries": Book("countries", "countriesIso", None),
    "couriers": Book("couriers", "couriers", "courier", by_id=True),
    "currencies": Book("currencies", "currencies", "currency", by_id=True),
    "delivery_services": Book("delivery-services", "deliveryServices", "deliveryService"),
    "delivery_types": Book("delivery-types", "deliveryTypes", "deliveryType"),
    "legal_entities": Book("legal-entities", "legalEntities", "legalEntity"),
    "mg_channels": Book("mg-channels", "mgChannels", None),
    "order_methods": Book("order-methods", "orderMethods", "orderMethod"),
    "order_types": Book("order-types", "orderTypes", "orderType"),
    "payment_statuses": Book("payment-statuses", "paymentStatuses", "paymentStatus"),
    "payment_types": Book("payment-types", "paymentTypes", "paymentType"),
    "price_types": Book("price-types", "priceTypes", "priceType"),
    "product_statuses": Book("product-statuses", "productStatuses", "productStatus"),
    "sites": Book("sites", "sites", "site"),
    "status_groups": Book("status-groups", "statusGroups", None),
    "statuses": Book("statuses", "statuses", "status"),
    "stores": Book("stores", "stores", "store"),
    "units": Book("units", "units", "unit"),
}


class ReferenceBook(Resource):
    """One reference book: ``list()`` its entries, ``edit()`` one (``create()`` for couriers)."""

    def __init__(self, client: Any, book: Book) -> None:
        super().__init__(client)
        self.book = book
        self._path = f"reference/{book.path}"

    async def list(self) -> builtins.list[ReferenceItem]:
        """Every entry, in the order the service sends them."""
        body = await self._client.request("GET", self._path)
        raw = body.get(self.book.key) or []
        if isinstance(raw, Mapping):  # most books answer {code: {...}}
            raw = builtins.list(raw.values())
        if self.book.key == "countriesIso":
            raw = [{"code": code} for code in raw]
        with reading(f"the {self.book.key} answer"):
            return [from_wire(item, ReferenceItem, what=self.book.key) for item in raw]

    async def edit(self, entry: ReferenceItem | Mapping[str, Any]) -> None:
        """Create or update the entry named by its ``code`` (``id`` for couriers, currencies)."""
        one = self._writable()
        wired = _wire.entity_dict(entry)
        name = wired.get("id" if self.book.by_id else "code")
        if name in (None, ""):
            raise ValueError(
                f"{self.book.path} entries are named by {'id' if self.book.by_id else 'code'}"
            )
        await self._client.request(
            "POST", f"{self._path}/{_wire.segment(name)}/edit", form={one: wired}, idempotent=True
        )

    async def create(self, entry: ReferenceItem | Mapping[str, Any]) -> int:
        """Add an entry to a book named by id (couriers, currencies); returns its ``id``."""
        one = self._writable()
        if not self.book.by_id:
            raise TypeError(f"{self.book.path} entries are made with edit(), by code")
        body = await self._client.request(
            "POST", f"{self._path}/create", form={one: _wire.entity_dict(entry)}
        )
        with reading(f"the {self._path}/create answer"):
            return int(body["id"])

    def _writable(self) -> str:
        if self.book.one is None:
            raise TypeError(f"the API has no edit for reference/{self.book.path}")
        return self.book.one


class References(Resource):
    """Every reference book, one attribute each (``client.reference.sites.list()``)."""

    cost_groups: ReferenceBook
    cost_items: ReferenceBook
    countries: ReferenceBook
    couriers: ReferenceBook
    currencies: ReferenceBook
    delivery_services: ReferenceBook
    delivery_types: ReferenceBook
    legal_entities: ReferenceBook
    mg_channels: ReferenceBook
    order_methods: ReferenceBook
    order_types: ReferenceBook
    payment_statuses: ReferenceBook
    payment_types: ReferenceBook
    price_types: ReferenceBook
    product_statuses: ReferenceBook
    sites: ReferenceBook
    status_groups: ReferenceBook
    statuses: ReferenceBook
    stores: ReferenceBook
    units: ReferenceBook

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        for name, book in REFERENCE_BOOKS.items():
            setattr(self, name, ReferenceBook(client, book))
