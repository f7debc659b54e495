"""The sandbox's reference books (``/api/v5/reference/*``) and their seed entries.

From ``retailcrm/api-client-php`` ``ResourceGroup/References.php`` and
``Model/Response/References/*Response.php``: most books answer a map of
entries by code and are written with ``{code}/edit``; couriers and currencies
answer a list and are made with ``create`` and changed with ``{id}/edit``;
countries (``countriesIso``, a list of ISO codes), status groups and MG channels
are read-only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

__all__ = ["BOOKS", "reference_route", "seed_books"]

Handler = Callable[[dict[str, Any], dict[str, Any]], tuple[int, dict[str, Any]]]


class Book(NamedTuple):
    key: str  # the answer's key
    one: str | None  # the edit's form field; None: read-only
    by_id: bool = False


BOOKS: dict[str, Book] = {
    "cost-groups": Book("costGroups", "costGroup"),
    "cost-items": Book("costItems", "costItem"),
    "countries": Book("countriesIso", None),
    "couriers": Book("couriers", "courier", by_id=True),
    "currencies": Book("currencies", "currency", by_id=True),
    "delivery-services": Book("deliveryServices", "deliveryService"),
    "delivery-types": Book("deliveryTypes", "deliveryType"),
    "legal-entities": Book("legalEntities", "legalEntity"),
    "mg-channels": Book("mgChannels", None),
    "order-methods": Book("orderMethods", "orderMethod"),
    "order-types": Book("orderTypes", "orderType"),
    "payment-statuses": Book("paymentStatuses", "paymentStatus"),
    "payment-types": Book("paymentTypes", "paymentType"),
    "price-types": Book("priceTypes", "priceType"),
    "product-statuses": Book("productStatuses", "productStatus"),
    "sites": Book("sites", "site"),
    "status-groups": Book("statusGroups", None),
    "statuses": Book("statuses", "status"),
    "stores": Book("stores", "store"),
    "units": Book("units", "unit"),
}


def _entries(*codes: str, **fields: Any) -> dict[str, dict[str, Any]]:
    return {
        code: {"code": code, "name": code.replace("-", " ").title(), "active": True,
               "ordering": n * 10, **fields}
        for n, code in enumerate(codes, start=1)
    }  # fmt: skip


def seed_books() -> dict[str, Any]:
    """A fresh account's books: enough of each for orders, payments and stock to refer to."""
    statuses = _entries("new", "assembling", "delivering", "complete", "cancel-other", group="new")
    statuses["complete"]["group"] = "complete"
    statuses["cancel-other"]["group"] = "cancel"
    return {
        "cost-groups": _entries("marketing", color="#ff0000"),
        "cost-items": _entries("ads", "delivery", group="marketing", type="var"),
        "countries": ["RU", "BY", "KZ"],
        "currencies": [{"id": 1, "code": "RUB", "isBase": True, "isAutoConvert": False}],
        "mg-channels": [
            {"id": 1, "externalId": 1, "type": "telegram", "name": "Shop bot", "active": True}
        ],
        "couriers": [{"id": 1, "firstName": "Ivan", "active": True}],
        "delivery-services": _entries("cdek"),
        "delivery-types": _entries("courier", "self-delivery"),
        "legal-entities": _entries("main-entity", contragentType="legal-entity"),
        "order-methods": _entries("shopping-cart", "phone"),
        "order-types": _entries("eshop-individual", "eshop-legal"),
        "payment-statuses": _entries("not-paid", "paid"),
        "payment-types": _entries("cash", "bank-card"),
        "price-types": _entries("base", default=True),
        "product-statuses": _entries("new", "in-reserve"),
        "sites": {
            "main-shop": {"code": "main-shop", "name": "Main shop", "url": "https://shop.test"}
        },
        "status-groups": {
            group: {
                "code": group,
                "name": group.title(),
                "active": True,
                "statuses": [c for c, s in statuses.items() if s["group"] == group],
            }
            for group in ("new", "complete", "cancel")
        },
        "statuses": statuses,
        "stores": _entries("main-store", type="store-type-warehouse"),
        "units": _entries("pc", sym="pc."),
    }


def reference_route(
    books: dict[str, Any],
    method: str,
    rest: list[str],
    json_field: Callable[[dict[str, Any], str], Any],
    bad_entity: Callable[[dict[str, str]], Exception],
) -> Handler | None:
    """The handler for ``reference/{book}[/...]``, or None: "Method not found"."""
    if not rest or rest[0] not in BOOKS:
        return None
    name, book = rest[0], BOOKS[rest[0]]
    entries = books[name]

    def listing(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return 200, {book.key: entries}

    def edit(uid: str) -> Handler:
        def handler(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            assert book.one is not None
            entry = json_field(form, book.one)
            if book.by_id:
                found = next((c for c in entries if str(c["id"]) == uid), None)
                if found is None:
                    return 404, {"errorMsg": "Not found"}
                found.update({k: v for k, v in entry.items() if k != "id"})
                return 200, {}
            if str(entry.get("code", uid)) != uid:
                raise bad_entity({"code": "must match the code in the address"})
            created = uid not in entries
            if created and not entry.get("name"):
                raise bad_entity({"name": "This value should not be blank."})
            entries[uid] = {**entries.get(uid, {}), **entry, "code": uid}
            return (201 if created else 200), {}

        return handler

    def create(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        assert book.one is not None
        entry = json_field(form, book.one)
        new_id = max((c["id"] for c in entries), default=0) + 1
        entries.append({**entry, "id": new_id})
        return 201, {"id": new_id}

    if method == "GET" and len(rest) == 1:
        return listing
    if book.one is None or method != "POST":
        return None
    if book.by_id and rest[1:] == ["create"]:
        return create
    if len(rest) == 3 and rest[2] == "edit":
        return edit(rest[1])
    return None
