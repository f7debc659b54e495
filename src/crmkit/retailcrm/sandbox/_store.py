"""The sandbox's store: inventories, offers, products (batch create/edit) and product groups.

From ``retailcrm/api-client-php`` ``ResourceGroup/Store.php`` and
``Model/Response/Store/*``: inventories answer ``offers`` (per store with
``filter[details]=1``) and are uploaded 250 a request (``processedOffersCount``,
``notFoundOffers``); batches of products answer ``processedProductsCount`` with
``addedProducts`` or ``notFoundProducts``; product groups list under
``productGroup``, are made with ``create`` and changed by ``externalId`` (or
``by=id``). Each handler returns ``(status, answer fields)``.
"""

from __future__ import annotations

from typing import Any

from ._common import BadEntity, BadParameters, Handler, filters_of, json_field, paged
from ._state import Account

__all__ = ["store"]

INVENTORY_LIMIT = 250
BATCH_LIMIT = 100


def product_group_write(account: Account, rest: list[str]) -> Handler | None:
    """``product-groups/create`` and ``product-groups/{externalId}/edit``."""
    groups = account.records["store/product-groups"]

    def checked(group: dict[str, Any]) -> dict[str, Any]:
        if not group.get("name"):
            raise BadEntity({"name": "This value should not be blank."})
        parent = group.get("parentId")
        if parent is not None and int(parent) not in groups:
            raise BadEntity({"parentId": "Parent group not found."})
        return group

    def create(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        group = checked(json_field(form, "productGroup"))
        made = account.add("store/product-groups", {"active": True, "site": "main-shop", **group})
        return 201, {"id": made["id"]}

    def edit(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        by = form.get("by", "externalId")
        if by not in ("id", "externalId"):
            raise BadParameters("by must be id or externalId")
        uid = rest[0]
        found = next(
            (g for g in groups.values() if str(g.get("id" if by == "id" else "externalId")) == uid),
            None,
        )
        if found is None:
            return 404, {"errorMsg": "Not found"}
        changes = {k: v for k, v in json_field(form, "productGroup").items() if k != "id"}
        found.update(checked({**found, **changes}))
        return 200, {"id": found["id"]}

    if rest == ["create"]:
        return create
    if len(rest) == 2 and rest[1] == "edit":
        return edit
    return None


def store(account: Account, method: str, rest: list[str]) -> Handler | None:
    """``store/...``: inventories, offers, products, product groups; else "Method not found"."""
    offers = account.records["store/offers"]
    products = account.records["store/products"]

    def batch_create(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        items = json_field(form, "products", list)
        if len(items) > BATCH_LIMIT:
            raise BadEntity({"products": f"at most {BATCH_LIMIT} per request"})
        added = []
        for item in items:
            if not isinstance(item, dict) or not item.get("name"):
                raise BadEntity({"products": "each product needs a name"})
            if item.get("catalogId") is None:
                raise BadEntity({"catalogId": "This value should not be blank."})
            made = account.add("store/products", {"active": True, "offers": [], **item})
            made.setdefault("site", "main-shop")
            added.append(made["id"])
        return 200, {"processedProductsCount": len(added), "addedProducts": added}

    def batch_edit(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        items = json_field(form, "products", list)
        if len(items) > BATCH_LIMIT:
            raise BadEntity({"products": f"at most {BATCH_LIMIT} per request"})
        missing, done = [], 0
        for item in items:
            if not isinstance(item, dict):
                raise BadEntity({"products": "each item must be an object"})
            found = next(
                (p for p in products.values()
                 if ("id" in item and p["id"] == item["id"])
                 or ("externalId" in item and p.get("externalId") == item["externalId"])),
                None,
            )  # fmt: skip
            if found is None:
                missing.append({k: item[k] for k in ("id", "externalId") if k in item})
                continue
            found.update({k: v for k, v in item.items() if k not in ("id", "offers")})
            done += 1
        return 200, {"processedProductsCount": done, "notFoundProducts": missing}

    def inventories(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        details = str(filters_of(query).get("details", "0")) == "1"
        status, answer = paged("store/inventories", list(offers.values()), query, account, "offers")
        rows = []
        for offer in answer["offers"]:
            row = {k: offer[k] for k in ("id", "externalId", "xmlId") if k in offer}
            row["quantity"] = sum(float(s.get("quantity", 0)) for s in offer["stores"])
            if details:
                row["stores"] = offer["stores"]
            rows.append(row)
        return status, {**answer, "offers": rows}

    def upload(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        items = json_field(form, "offers", list)
        if len(items) > INVENTORY_LIMIT:
            raise BadEntity({"offers": f"at most {INVENTORY_LIMIT} per request"})
        processed, missing = 0, []
        for item in items:
            if not isinstance(item, dict):
                raise BadEntity({"offers": "each item must be an object"})
            names = [(k, str(item[k])) for k in ("id", "externalId", "xmlId") if k in item]
            offer = next(
                (o for o in offers.values() if any(str(o.get(k)) == v for k, v in names)), None
            )
            if offer is None:
                missing.append({k: item[k] for k in ("id", "externalId", "xmlId") if k in item})
                continue
            for stock in item.get("stores") or []:
                code = stock.get("code")
                if code not in account.books["stores"]:
                    raise BadEntity({"stores": f"Store {code!r} not found."})
                kept = [s for s in offer["stores"] if s["store"] != code]
                quantity = float(stock.get("available", 0))
                row = {"store": code, "quantity": quantity}
                if "purchasePrice" in stock:
                    row["purchasePrice"] = stock["purchasePrice"]
                offer["stores"] = [*kept, row]
            offer["quantity"] = sum(s["quantity"] for s in offer["stores"])
            processed += 1
        return 200, {"processedOffersCount": processed, "notFoundOffers": missing}

    lists = {
        "offers": ("store/offers", "offers"),
        "products": ("store/products", "products"),
        "product-groups": ("store/product-groups", "productGroup"),
    }
    if method == "GET" and rest == ["inventories"]:
        return inventories
    if method == "POST" and rest == ["inventories", "upload"]:
        return upload
    if method == "POST" and rest[:1] == ["product-groups"]:
        return product_group_write(account, rest[1:])
    if method == "POST" and rest[:2] == ["products", "batch"] and len(rest) == 3:
        return {"create": batch_create, "edit": batch_edit}.get(rest[2])
    if method == "GET" and len(rest) == 1 and rest[0] in lists:
        kind, key = lists[rest[0]]
        rows = list(account.records[kind].values())
        return lambda q, f: paged(kind, rows, q, account, key)
    return None
