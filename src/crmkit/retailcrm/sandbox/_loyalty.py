"""The sandbox's loyalty accounts and their bonuses (``/api/v5/loyalty/*``).

From ``retailcrm/api-client-php`` ``ResourceGroup/Loyalty.php`` and
``Model/Response/Loyalty/*``: create answers ``{id, loyaltyAccount}``, an
account must be activated before bonuses move, a credit answers
``loyaltyBonus``, operations list under ``bonusOperations``.
"""

from __future__ import annotations

from typing import Any

from ._common import (
    PAGE_LIMITS,
    BadEntity,
    BadParameters,
    Handler,
    Missing,
    as_int,
    entity_ref,
    filters_of,
    json_field,
    paged,
)
from ._filters import matcher
from ._state import Account

__all__ = ["loyalty"]


def _one(account: Account, uid: str) -> dict[str, Any] | None:
    try:
        return account.records.get("loyalty/account", {}).get(int(uid))
    except ValueError:
        return None


def _programme(account: Account, uid: str) -> dict[str, Any] | None:
    try:
        return account.records["loyalty/loyalties"].get(int(uid))
    except ValueError:
        return None


def _not_found() -> tuple[int, dict[str, Any]]:
    return 404, {"errorMsg": "Not found"}


def all_operations(account: Account) -> Handler:
    """``loyalty/bonus/operations``: every operation, paged by an opaque ``cursor``."""

    def handler(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if "page" in query:
            raise BadParameters("page: this list is paged by cursor")
        limit = as_int(query.get("limit", 20), "limit")
        if limit not in PAGE_LIMITS:
            raise BadParameters(f"limit must be one of {', '.join(map(str, PAGE_LIMITS))}")
        cursor = str(query.get("cursor") or "c0")
        if not cursor.startswith("c") or not cursor[1:].isdigit():
            raise BadParameters("cursor is not valid")
        check = matcher("loyalty/bonus/operations/all", filters_of(query))
        after = int(cursor[1:])
        rows = [
            op for op in account.records.get("loyalty/operations", {}).values()
            if op["id"] > after and check(op, account)
        ]  # fmt: skip
        chunk = rows[:limit]
        more = len(rows) > limit
        return 200, {
            "pagination": {"nextCursor": f"c{chunk[-1]['id']}"} if more else {},
            "bonusOperations": chunk,
        }

    return handler


def loyalty(account: Account, method: str, rest: list[str]) -> Handler | None:
    table = account.records.setdefault("loyalty/account", {})
    uid = rest[1] if len(rest) > 1 else ""  # loyalty/account/{id}/...

    def answer(found: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return 200, {"loyaltyAccount": found}

    def create(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if "site" not in form:
            raise Missing("site")
        data = json_field(form, "loyaltyAccount")
        customer = entity_ref(account, "customers", data.get("customer"), "customer")
        if any(a["customer"]["id"] == customer["id"] for a in table.values()):
            raise BadEntity({"customer": "The customer already takes part in the loyalty program."})
        made = account.add("loyalty/account", {
            **data, "customer": {"id": customer["id"]}, "active": False, "amount": 0,
            "status": "not_confirmed",
            "loyalty": {"id": next(iter(account.records["loyalty/loyalties"]))},
        })  # fmt: skip
        return 201, {"id": made["id"], "loyaltyAccount": made}

    def operate(kind: str) -> Handler:
        def handler(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            found = _one(account, uid)
            if found is None:
                return _not_found()
            if "amount" not in form:
                raise Missing("amount")
            try:
                amount = float(form["amount"])
            except ValueError:
                raise BadEntity({"amount": "This value is not valid."}) from None
            if amount <= 0:
                raise BadEntity({"amount": "This value should be greater than 0."})
            if not found["active"]:
                raise BadEntity({"loyaltyAccount": "The loyalty account is not active."})
            if kind == "charge" and amount > found["amount"]:
                raise BadEntity({"amount": "Not enough bonuses."})
            found["amount"] += amount if kind == "credit_manual" else -amount
            account.add("loyalty/operations", {
                "type": kind, "amount": amount,
                "loyaltyAccount": {"id": found["id"]}, "loyalty": found["loyalty"],
            })  # fmt: skip
            if kind == "charge":
                return 200, {}
            bonus: dict[str, Any] = {
                "amount": amount,
                **{k: form[k] for k in ("activationDate", "expireDate") if k in form},
            }
            return 200, {"loyaltyBonus": bonus}

        return handler

    def activate(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        found = _one(account, uid)
        if found is None:
            return _not_found()
        found.update(active=True, status="activated")
        return answer(found)

    def edit(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        found = _one(account, uid)
        if found is None:
            return _not_found()
        changes = json_field(form, "loyaltyAccount")
        found.update(
            {k: v for k, v in changes.items() if k in ("phoneNumber", "cardNumber", "customFields")}
        )
        return answer(found)

    def operations(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        found = _one(account, uid)
        if found is None:
            return _not_found()
        every = account.records.get("loyalty/operations", {}).values()
        rows = [op for op in every if op["loyaltyAccount"]["id"] == found["id"]]
        return paged("loyalty/bonus/operations", rows, query, account, "bonusOperations")

    programmes = account.records["loyalty/loyalties"]
    if rest == ["loyalties"] and method == "GET":
        return lambda q, f: paged(
            "loyalty/loyalties", list(programmes.values()), q, account, "loyalties"
        )
    if rest[:1] == ["loyalties"] and len(rest) == 2 and method == "GET":
        found = _programme(account, rest[1])
        return lambda q, f: (
            (200, {"loyalty": found, "requiredFields": []}) if found else _not_found()
        )
    if rest == ["bonus", "operations"] and method == "GET":
        return all_operations(account)
    if rest == ["accounts"] and method == "GET":
        return lambda q, f: paged(
            "loyalty/accounts", list(table.values()), q, account, "loyaltyAccounts"
        )
    if not rest or rest[0] != "account" or len(rest) < 2:
        return None
    tail = rest[2:]
    if method == "POST" and rest[1:] == ["create"]:
        return create
    if method == "GET" and not tail:
        return lambda q, f: answer(a) if (a := _one(account, uid)) else _not_found()
    actions: dict[tuple[str, ...], Handler] = {
        ("POST", "edit"): edit,
        ("POST", "activate"): activate,
        ("POST", "bonus", "credit"): operate("credit_manual"),
        ("POST", "bonus", "charge"): operate("charge"),
        ("GET", "bonus", "operations"): operations,
    }
    return actions.get((method, *tail))
