"""The sandbox's users, tasks, order payments, customer notes, packs, loyalty and combine.

Paths, form fields and answer keys from ``retailcrm/api-client-php``
(``ResourceGroup/Users.php``, ``Tasks.php``, ``Orders.php`` ``payments*``,
``Customers.php`` ``notes*``/``combine``, ``Packs.php``; loyalty in ``_loyalty.py``) and the
vendor's Python client ``retailcrm/versions/v5.py``. Each handler returns
``(status, answer fields)``; a path not here is "Method not found".
"""

from __future__ import annotations

from typing import Any

from ._common import (
    BadEntity,
    BadParameters,
    Handler,
    Missing,
    as_int,
    entity_ref,
    history_feed,
    json_field,
    paged,
    record_change,
)
from ._loyalty import loyalty
from ._state import Account

__all__ = ["group_route"]

USER_STATUSES = ("free", "busy", "dinner", "break")


def _one(account: Account, kind: str, uid: str) -> dict[str, Any] | None:
    try:
        return account.records.get(kind, {}).get(int(uid))
    except ValueError:
        return None


def _not_found() -> tuple[int, dict[str, Any]]:
    return 404, {"errorMsg": "Not found"}


def users(account: Account, method: str, rest: list[str]) -> Handler | None:
    table = account.records["users"]
    if method == "GET" and not rest:
        return lambda q, f: paged("users", list(table.values()), q, account, "users")
    if method == "GET" and len(rest) == 1:
        return lambda q, f: (
            (200, {"user": u}) if (u := _one(account, "users", rest[0])) else _not_found()
        )
    if method == "POST" and len(rest) == 2 and rest[1] == "status":

        def status(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            if "status" not in form:
                raise Missing("status")
            if form["status"] not in USER_STATUSES:
                raise BadEntity({"status": "The value you selected is not a valid choice."})
            user = _one(account, "users", rest[0])
            if user is None:
                return _not_found()
            user["status"] = form["status"]
            return 200, {}

        return status
    return None


def tasks(account: Account, method: str, rest: list[str]) -> Handler | None:
    table = account.records.setdefault("tasks", {})

    def check(task: dict[str, Any]) -> dict[str, Any]:
        if not task.get("text"):
            raise BadEntity({"text": "This value should not be blank."})
        performer = task.get("performerId", task.get("performer"))
        if performer is None or as_int(performer, "performerId") not in account.records["users"]:
            raise BadEntity({"performerId": "The user does not exist."})
        return {
            **task,
            "performer": as_int(performer, "performerId"),
            "complete": bool(task.get("complete")),
        }

    def create(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        task = account.add("tasks", check(json_field(form, "task")))
        record_change(account, "tasks/history", "task", task, "id", None, task["id"], created=True)
        return 201, {"id": task["id"]}

    def edit(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        task = _one(account, "tasks", rest[0])
        if task is None:
            return _not_found()
        changed = check({**task, **json_field(form, "task"), "id": task["id"]})
        for field, value in changed.items():
            if task.get(field) != value:
                record_change(account, "tasks/history", "task", task, field, task.get(field), value)
        task.update(changed)
        return 200, {}

    if method == "GET" and not rest:
        return lambda q, f: paged("tasks", list(table.values()), q, account, "tasks")
    if method == "POST" and rest == ["create"]:
        return create
    if method == "GET" and rest == ["history"]:
        return history_feed(account, "tasks/history", "tasks/history")
    if method == "GET" and len(rest) == 2 and rest[1] == "comments":
        return task_comments(account, rest[0])
    if method == "GET" and len(rest) == 1:
        return lambda q, f: (
            (200, {"task": t}) if (t := _one(account, "tasks", rest[0])) else _not_found()
        )
    if method == "POST" and len(rest) == 2 and rest[1] == "edit":
        return edit
    return None


def task_comments(account: Account, uid: str) -> Handler:
    """``tasks/{id}/comments``: the comments users wrote on the task (made in the CRM's
    interface, which the API has no method for: a test adds them to
    ``account.records["tasks/comments"]`` with a ``task`` id)."""

    def handler(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if _one(account, "tasks", uid) is None:
            return _not_found()
        every = account.records.get("tasks/comments", {}).values()
        rows = [c for c in every if str(c.get("task")) == uid]
        return paged("tasks/comments", rows, query, account, "comments")

    return handler


def payments(account: Account, method: str, rest: list[str]) -> Handler | None:
    table = account.records.setdefault("orders/payments", {})

    def attach(payment: dict[str, Any]) -> None:
        order = account.stores["orders"].records[payment["order"]["id"]]
        order.setdefault("payments", {})[str(payment["id"])] = payment

    def create(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        payment = json_field(form, "payment")
        order = entity_ref(account, "orders", payment.get("order"), "order")
        if payment.get("type") not in account.books["payment-types"]:
            raise BadEntity({"type": "Payment type does not exist."})
        made = account.add("orders/payments", {**payment, "order": {"id": order["id"]}})
        attach(made)
        return 201, {"id": made["id"]}

    def find(uid: str, by: str) -> dict[str, Any] | None:
        if by == "externalId":
            return next((p for p in table.values() if str(p.get("externalId")) == uid), None)
        return _one(account, "orders/payments", uid)

    def edit(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        by = form.get("by", "externalId")  # the service's default, as for orders
        if by not in ("id", "externalId"):
            raise BadParameters("by must be id or externalId")
        payment = find(rest[0], by)
        if payment is None:
            return _not_found()
        changes = json_field(form, "payment")
        if "type" in changes and changes["type"] not in account.books["payment-types"]:
            raise BadEntity({"type": "Payment type does not exist."})
        payment.update({k: v for k, v in changes.items() if k not in ("id", "order")})
        attach(payment)
        return 200, {"id": payment["id"]}

    def delete(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        payment = _one(account, "orders/payments", rest[0])
        if payment is None:
            return _not_found()
        del table[payment["id"]]
        order = account.stores["orders"].records[payment["order"]["id"]]
        order.get("payments", {}).pop(str(payment["id"]), None)
        return 200, {}

    if method != "POST":
        return None
    if rest == ["create"]:
        return create
    if len(rest) == 2 and rest[1] == "edit":
        return edit
    if len(rest) == 2 and rest[1] == "delete":
        return delete
    return None


def notes(account: Account, area: str, method: str, rest: list[str]) -> Handler | None:
    """``{area}/notes``: notes on customers or on corporate customers (one shape)."""
    kind = f"{area}/notes"
    table = account.records.setdefault(kind, {})

    def create(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        note = json_field(form, "note")
        customer = entity_ref(account, area, note.get("customer"), "customer")
        if not note.get("text"):
            raise BadEntity({"text": "This value should not be blank."})
        ref = {"id": customer["id"], "externalId": customer.get("externalId")}
        return 201, {"id": account.add(kind, {**note, "customer": ref})["id"]}

    def delete(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if _one(account, kind, rest[0]) is None:
            return _not_found()
        del table[int(rest[0])]
        return 200, {}

    if method == "GET" and not rest:
        return lambda q, f: paged(kind, list(table.values()), q, account, "notes")
    if method == "POST" and rest == ["create"]:
        return create
    if method == "POST" and len(rest) == 2 and rest[1] == "delete":
        return delete
    return None


def combine(account: Account, area: str) -> Handler:
    """``{area}/combine``: ``customers`` merged into ``resultCustomer`` (both areas alike)."""

    def handler(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        merged = json_field(form, "customers", list)
        result = entity_ref(account, area, json_field(form, "resultCustomer"), "resultCustomer")
        store = account.stores[area]
        for ref in merged:
            customer = entity_ref(account, area, ref, "customers")
            if customer["id"] == result["id"]:
                raise BadEntity({"customers": "The result customer cannot be combined."})
            del store.records[customer["id"]]
            store.by_external.pop(str(customer.get("externalId")), None)
            for order in account.stores["orders"].records.values():
                if (order.get("customer") or {}).get("id") == customer["id"]:
                    order["customer"] = {"id": result["id"]}
        return 200, {}

    return handler


def order_combine(account: Account) -> Handler:
    """``orders/combine``: ``order`` merged into ``resultOrder`` by ``technique``, then deleted."""

    def handler(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        technique = form.get("technique", "ours")
        if technique not in ("ours", "summ", "theirs"):
            raise BadEntity({"technique": "The value you selected is not a valid choice."})
        order = entity_ref(account, "orders", json_field(form, "order"), "order")
        result = entity_ref(account, "orders", json_field(form, "resultOrder"), "resultOrder")
        if order["id"] == result["id"]:
            raise BadEntity({"order": "An order cannot be combined with itself."})
        if technique == "summ":
            result["items"] = [*(result.get("items") or []), *(order.get("items") or [])]
        elif technique == "theirs":
            result["items"] = list(order.get("items") or [])
        store = account.stores["orders"]
        del store.records[order["id"]]
        store.by_external.pop(str(order.get("externalId")), None)
        return 200, {}

    return handler


def packs(account: Account, method: str, rest: list[str]) -> Handler | None:
    table = account.records.setdefault("orders/packs", {})

    def change(pack: dict[str, Any], field: str, old: Any, new: Any, **flags: bool) -> None:
        record_change(account, "orders/packs/history", "pack", pack, field, old, new, **flags)

    def item_of(pack: dict[str, Any]) -> dict[str, Any]:
        item_id = pack.get("itemId")
        for order in account.stores["orders"].records.values():
            for item in order.get("items") or []:
                if item.get("id") == item_id:
                    return {"id": item_id, "order": {"id": order["id"]}}
        raise BadEntity({"itemId": "Order item not found."})

    def create(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        pack = json_field(form, "pack")
        if pack.get("store") not in account.books["stores"]:
            raise BadEntity({"store": "Store not found."})
        if float(pack.get("quantity") or 0) <= 0:
            raise BadEntity({"quantity": "This value should be greater than 0."})
        made = account.add("orders/packs", {**pack, "item": item_of(pack)})
        change(made, "id", None, made["id"], created=True)
        return 201, {"id": made["id"]}

    def edit(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        pack = _one(account, "orders/packs", rest[0])
        if pack is None:
            return _not_found()
        for field, value in json_field(form, "pack").items():
            if field not in ("id", "item", "itemId") and pack.get(field) != value:
                change(pack, field, pack.get(field), value)
                pack[field] = value
        return 200, {"id": pack["id"]}

    def delete(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        pack = _one(account, "orders/packs", rest[0])
        if pack is None:
            return _not_found()
        change(pack, "id", pack["id"], None, deleted=True)
        del table[pack["id"]]
        return 200, {}

    if method == "GET" and not rest:
        return lambda q, f: paged("orders/packs", list(table.values()), q, account, "packs")
    if method == "GET" and rest == ["history"]:
        return history_feed(account, "orders/packs/history", "orders/packs/history")
    if method == "POST" and rest == ["create"]:
        return create
    if method == "GET" and len(rest) == 1:
        return lambda q, f: (
            (200, {"pack": p}) if (p := _one(account, "orders/packs", rest[0])) else _not_found()
        )
    if method == "POST" and len(rest) == 2 and rest[1] == "edit":
        return edit
    if method == "POST" and len(rest) == 2 and rest[1] == "delete":
        return delete
    return None


def group_route(account: Account, method: str, parts: list[str]) -> Handler | None:
    """The handler for ``parts`` if it belongs to one of these groups, else None."""
    area, rest = parts[0], parts[1:]
    if area == "users":
        return users(account, method, rest)
    if area == "tasks":
        return tasks(account, method, rest)
    if area == "loyalty":
        return loyalty(account, method, rest)
    sub, tail = (rest[0], rest[1:]) if rest else ("", [])
    if area == "orders" and sub == "payments":
        return payments(account, method, tail)
    if area == "orders" and sub == "combine":
        return order_combine(account) if not tail and method == "POST" else None
    if area == "orders" and sub == "packs":
        return packs(account, method, tail)
    if area in ("customers", "customers-corporate") and sub == "notes":
        return notes(account, area, method, tail)
    if area in ("customers", "customers-corporate") and sub == "combine":
        return combine(account, area) if not tail and method == "POST" else None
    if area == "user-groups" and not rest and method == "GET":
        groups = list(account.records["user-groups"].values())
        return lambda q, f: paged("user-groups", groups, q, account, "groups")
    return None
