"""The RetailCRM sandbox's accounts and records, kept apart from its HTTP layer."""

from __future__ import annotations

import secrets
from typing import Any
from zoneinfo import ZoneInfo

import attrs

from ...sandbox import FakeData, SandboxClock
from ._references import seed_books

__all__ = ["DATETIME", "Account", "EntityStore"]

DATETIME = "%Y-%m-%d %H:%M:%S"

#: Which API-key scope each area of the API needs, for reading and for writing.
SCOPES = {
    "customers": ("customer_read", "customer_write"),
    "customers-corporate": ("customer_read", "customer_write"),
    "orders": ("order_read", "order_write"),
    "integration-modules": ("integration_read", "integration_write"),
    "reference": ("reference_read", "reference_write"),
    "settings": ("reference_read", "reference_write"),
    "users": ("user_read", "user_write"),
    "user-groups": ("user_read", "user_write"),
    "tasks": ("task_read", "task_write"),
    "custom-fields": ("custom_fields_read", "custom_fields_write"),
    "store": ("store_read", "store_write"),
    "loyalty": ("loyalty_read", "loyalty_write"),
    "costs": ("cost_read", "cost_write"),
    "telephony": ("telephony_read", "telephony_write"),
}

# The one-entity key, list key and upload-answer key of each entity area.
KEYS = {
    "customers": ("customer", "customers", "uploadedCustomers"),
    "customers-corporate": ("customerCorporate", "customersCorporate", "uploadedCustomers"),
    "orders": ("order", "orders", "uploadedOrders"),
}
HISTORY_KEY = {
    "customers": "customer",
    "customers-corporate": "customerCorporate",
    "orders": "order",
}


@attrs.define
class EntityStore:
    """Records of one kind, by id and by externalId, and the history of their changes."""

    kind: str
    records: dict[int, dict[str, Any]] = attrs.Factory(dict)
    by_external: dict[str, int] = attrs.Factory(dict)
    history: list[dict[str, Any]] = attrs.Factory(list)
    next_id: int = 1

    def find(self, uid: str, by: str) -> dict[str, Any] | None:
        if by == "id":
            try:
                return self.records.get(int(uid))
            except ValueError:
                return None
        record_id = self.by_external.get(uid)
        return self.records.get(record_id) if record_id is not None else None


def seed_records() -> dict[str, dict[int, dict[str, Any]]]:
    """A fresh account's users and catalogue: two managers, two products with offers."""
    users = {
        1: {"id": 1, "firstName": "Anna", "lastName": "Admin", "email": "anna@shop.test",
            "active": True, "isAdmin": True, "isManager": False, "status": "free", "online": True,
            "code": "101"},
        2: {"id": 2, "firstName": "Max", "lastName": "Manager", "email": "max@shop.test",
            "active": True, "isAdmin": False, "isManager": True, "status": "free", "online": False,
            "code": "102"},
    }  # fmt: skip
    groups = {1: {"id": 1, "externalId": "g-1", "name": "Things", "site": "main-shop",
                  "active": True, "parentId": None}}  # fmt: skip
    products: dict[int, dict[str, Any]] = {}
    offers: dict[int, dict[str, Any]] = {}
    for n in (1, 2):
        offer: dict[str, Any] = {"id": n * 10, "externalId": f"of-{n}", "xmlId": f"x-{n}",
                                 "name": f"Thing {n}", "quantity": 0, "active": True,
                                 "stores": [], "site": "main-shop"}  # fmt: skip
        offers[n * 10] = offer
        products[n] = {"id": n, "externalId": f"p-{n}", "name": f"Thing {n}", "active": True,
                       "article": f"A{n}", "groups": [{"id": 1}], "offers": [offer],
                       "site": "main-shop"}  # fmt: skip
    user_groups = {
        1: {"id": 1, "code": "managers", "name": "Managers", "isManager": True},
        2: {"id": 2, "code": "admins", "name": "Administrators", "isManager": False},
    }
    return {
        "users": users,
        "user-groups": user_groups,
        "store/product-groups": groups,
        "store/products": products,
        "store/offers": offers,
        "loyalty/loyalties": {
            1: {
                "id": 1,
                "name": "Bonus club",
                "active": True,
                "blocked": False,
                "currency": "RUB",
                "levels": [{"id": 1, "name": "Basic", "type": "bonus_percent", "privilegeSize": 5}],
            },
        },
    }


@attrs.define
class Account:
    """One RetailCRM account: its keys (with scopes), stores, references and modules."""

    name: str
    clock: SandboxClock
    keys: dict[str, frozenset[str] | None] = attrs.Factory(dict)
    stores: dict[str, EntityStore] = attrs.Factory(
        lambda: {kind: EntityStore(kind) for kind in KEYS}
    )
    modules: dict[str, dict[str, Any]] = attrs.Factory(dict)
    #: Other records by kind ("users", "tasks", "orders/payments", ...), by id.
    records: dict[str, dict[int, dict[str, Any]]] = attrs.Factory(seed_records)
    #: Custom fields by (entity, code); custom dictionaries by code.
    custom_fields: dict[tuple[str, str], dict[str, Any]] = attrs.Factory(dict)
    dictionaries: dict[str, dict[str, Any]] = attrs.Factory(dict)
    #: Reference books by path (``sites``, ``payment-types``, ...), as the API answers them.
    books: dict[str, Any] = attrs.Factory(seed_books)
    next_history_id: int = 1
    #: The account's time zone (``/api/v5/settings``); its datetimes are written in it.
    timezone: str = "Europe/Moscow"

    @property
    def sites(self) -> dict[str, dict[str, Any]]:
        sites: dict[str, dict[str, Any]] = self.books["sites"]
        return sites

    @property
    def statuses(self) -> dict[str, dict[str, Any]]:
        statuses: dict[str, dict[str, Any]] = self.books["statuses"]
        return statuses

    @property
    def url(self) -> str:
        """The account's address as the sandbox names it (any host reaches it in-process)."""
        return "https://retailcrm.sandbox" + (f"/{self.name}" if self.name else "")

    @property
    def api_key(self) -> str:
        """The account's first API key (the one it was made with)."""
        return next(iter(self.keys))

    def stamp(self) -> str:
        """Now, as the API writes it: ``Y-m-d H:i:s`` in the account's time zone."""
        return self.clock.datetime().astimezone(ZoneInfo(self.timezone)).strftime(DATETIME)

    def add_key(self, key: str | None = None, scopes: frozenset[str] | None = None) -> str:
        key = key or secrets.token_hex(16)
        self.keys[key] = scopes
        return key

    def add(self, kind: str, record: dict[str, Any]) -> dict[str, Any]:
        """Store one of the other records (a task, a payment, ...) with the next id."""
        table = self.records.setdefault(kind, {})
        record = {**record, "id": max(table, default=0) + 1}
        record.setdefault("createdAt", self.stamp())
        table[record["id"]] = record
        return record

    def create(self, kind: str, entity: dict[str, Any], source: str = "api") -> dict[str, Any]:
        store = self.stores[kind]
        record = dict(entity)
        record["id"] = store.next_id
        store.next_id += 1
        record.setdefault("createdAt", self.stamp())
        record.setdefault("site", next(iter(self.sites)))
        if kind == "orders":
            record.setdefault("number", f"{record['id']}A")
            record.setdefault("status", "new")
            record.setdefault("statusUpdatedAt", record["createdAt"])
            for n, item in enumerate(record.get("items") or [], start=1):
                item.setdefault("id", record["id"] * 1000 + n)
        store.records[record["id"]] = record
        if record.get("externalId") not in (None, ""):
            store.by_external[str(record["externalId"])] = record["id"]
        self._record_change(kind, record, "id", None, record["id"], source, created=True)
        return record

    def edit(self, kind: str, record: dict[str, Any], changes: dict[str, Any]) -> None:
        store = self.stores[kind]
        for field, value in changes.items():
            if field in ("id",):
                continue
            old = record.get(field)
            if old == value:
                continue
            record[field] = value
            if kind == "orders" and field == "status":
                record["statusUpdatedAt"] = self.stamp()
            if field == "externalId" and value not in (None, ""):
                store.by_external[str(value)] = record["id"]
            self._record_change(kind, record, field, old, value, "api")

    def _record_change(
        self,
        kind: str,
        record: dict[str, Any],
        field: str,
        old: Any,
        new: Any,
        source: str,
        *,
        created: bool = False,
    ) -> None:
        entry: dict[str, Any] = {
            "id": self.next_history_id,
            "createdAt": self.stamp(),
            "source": source,
            "field": field,
            "oldValue": old,
            "newValue": new,
            HISTORY_KEY[kind]: {"id": record["id"], "externalId": record.get("externalId")},
        }
        if created:
            entry["created"] = True
        self.next_history_id += 1
        self.stores[kind].history.append(entry)

    def seed(self, kind: str, count: int, fake: FakeData) -> None:
        for n in range(count):
            if kind == "customers":
                first, last = fake.first_name(), fake.last_name()
                entity: dict[str, Any] = {
                    "externalId": f"c-{self.stores[kind].next_id}",
                    "firstName": first,
                    "lastName": last,
                    "email": fake.email(f"{first} {last}"),
                    "phones": [{"number": fake.phone()}],
                    "address": {"city": fake.city(), "regionId": "" if n % 3 else 77},
                }
            elif kind == "orders":
                entity = {
                    "externalId": f"o-{self.stores[kind].next_id}",
                    "firstName": fake.first_name(),
                    "email": fake.email(),
                    "orderType": "eshop-individual",
                    "totalSumm": fake.amount(),
                    "items": [
                        {"offer": {"name": f"Item {k}"}, "quantity": k, "initialPrice": 100 * k}
                        for k in range(1, 1 + n % 3 + 1)
                    ],
                }
            else:
                entity = {
                    "externalId": f"cc-{self.stores[kind].next_id}",
                    "nickName": fake.company(),
                    "companies": [{"name": fake.company()}],
                }
            self.create(kind, entity, source="rule")
