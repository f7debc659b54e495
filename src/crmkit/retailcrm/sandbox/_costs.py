"""The sandbox's costs (``/api/v5/costs``).

From ``retailcrm/api-client-php`` ``ResourceGroup/Costs.php`` and
``Model/Response/Costs/*``: a list under ``costs``; create answers ``{id}``;
``costs/delete`` takes ``ids`` and answers ``count`` and ``notRemovedIds``;
``costs/upload`` answers ``uploadedCosts`` (the new ids, in order).
"""

from __future__ import annotations

from typing import Any

from ._common import BadEntity, Handler, as_int, entity_ref, json_field, paged
from ._state import Account

__all__ = ["costs"]


def _checked(account: Account, cost: dict[str, Any], form: dict[str, Any]) -> dict[str, Any]:
    if not cost.get("costItem"):
        raise BadEntity({"costItem": "This value should not be blank."})
    try:
        float(cost.get("summ"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise BadEntity({"summ": "This value should be a number."}) from None
    if not cost.get("dateFrom") or not cost.get("dateTo"):
        raise BadEntity({"dateFrom": "This value should not be blank."})
    if cost.get("order") is not None:
        order = entity_ref(account, "orders", cost["order"], "order")
        cost = {**cost, "order": {"id": order["id"], "number": order.get("number")}}
    site = form.get("site")
    if site is not None:
        cost = {**cost, "sites": [site]}
    return cost


def costs(account: Account, method: str, rest: list[str]) -> Handler | None:
    table = account.records.setdefault("costs", {})

    def create(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        made = account.add("costs", _checked(account, json_field(form, "cost"), form))
        return 201, {"id": made["id"]}

    def upload(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        items = json_field(form, "costs", list)
        checked = [_checked(account, c, form) for c in items if isinstance(c, dict)]
        if len(checked) != len(items):
            raise BadEntity({"costs": "each item must be an object"})
        return 201, {"uploadedCosts": [account.add("costs", c)["id"] for c in checked]}

    def delete_many(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        ids = [as_int(i, "ids[]") for i in json_field(form, "ids", list)]
        missing = [i for i in ids if i not in table]
        for i in ids:
            table.pop(i, None)
        return 200, {"count": len(ids) - len(missing), "notRemovedIds": missing}

    def one(uid: str) -> dict[str, Any] | None:
        try:
            return table.get(int(uid))
        except ValueError:
            return None

    def get(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        found = one(rest[0])
        return (200, {"cost": found}) if found else (404, {"errorMsg": "Not found"})

    def edit(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        found = one(rest[0])
        if found is None:
            return 404, {"errorMsg": "Not found"}
        changes = {k: v for k, v in json_field(form, "cost").items() if k != "id"}
        found.update(_checked(account, {**found, **changes}, form))
        return 200, {"id": found["id"]}

    def delete(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if one(rest[0]) is None:
            return 404, {"errorMsg": "Not found"}
        del table[int(rest[0])]
        return 200, {}

    if method == "GET" and not rest:
        return lambda q, f: paged("costs", list(table.values()), q, account, "costs")
    fixed = {
        ("POST", "create"): create,
        ("POST", "upload"): upload,
        ("POST", "delete"): delete_many,
    }
    if len(rest) == 1 and (method, rest[0]) in fixed:
        return fixed[(method, rest[0])]
    if method == "GET" and len(rest) == 1:
        return get
    if method == "POST" and len(rest) == 2:
        return {"edit": edit, "delete": delete}.get(rest[1])
    return None
