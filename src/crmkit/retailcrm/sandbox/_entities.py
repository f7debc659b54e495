"""The sandbox's customers, corporate customers, orders and integration modules.

Each handler returns ``(status, answer fields)``.
"""

from __future__ import annotations

import secrets
from typing import Any

from ._common import (
    BadEntity,
    BadParameters,
    Handler,
    as_int,
    filters_of,
    json_field,
    limit_and_page,
    paged,
    pagination,
)
from ._filters import matcher
from ._state import KEYS, Account

__all__ = ["entity_route", "module_route"]

UPLOAD_LIMIT = 50
#: The status of a partial upload.
PARTIAL = 460
#: Subscription channels (``Model/Entity/Customers/Subscription.php`` examples: waba).
CHANNELS = ("email", "sms", "waba")
#: How the service names each kind in "... with externalId=X already exists." (the
#: vendor's PrestaShop module, ``retailcrm/prestashop-module``
#: ``retailcrm/lib/api/middleware/RetailcrmExportOrdersMiddleware.php``, reads
#: ``Order with externalId=(\d+) already exists.`` from an upload's ``errors``).
NAMED = {"orders": "Order", "customers": "Customer", "customers-corporate": "CustomerCorporate"}
#: Names under each area that are methods of their own, not entity ids
#: (``ResourceGroup/Orders.php``, ``Customers.php``, ``Packs.php``, ``Payments``).
RESERVED: dict[str, set[str]] = {
    "orders": {"combine", "links", "loyalty", "packs", "payments", "statuses"},
    "customers": {"combine", "notes"},
    "customers-corporate": {"combine", "notes"},
}


def entity_route(account: Account, method: str, area: str, rest: list[str]) -> Handler | None:
    one, plural, uploaded = KEYS[area]
    failed_key = uploaded.replace("uploaded", "failed")
    store = account.stores[area]

    def listing(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return paged(area, list(store.records.values()), query, account, plural)

    def history(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        filters = filters_of(query)
        if "sinceId" in filters and "page" in query:
            return 400, {"errorMsg": "The 'page' parameter can not be used with 'sinceId'"}
        limit, page = limit_and_page(query)
        check = matcher(f"{area}/history", filters, skip=("sinceId",))
        entries = [e for e in store.history if check(e, account)]
        if "sinceId" in filters:
            since = as_int(filters["sinceId"], "filter[sinceId]")
            entries = [e for e in entries if e["id"] > since]
        chunk = entries[(page - 1) * limit : page * limit]
        answer = {
            "generatedAt": account.stamp(),
            "history": chunk,
            "pagination": pagination(limit, page, len(entries)),
        }
        return 200, answer

    def answer(record: dict[str, Any]) -> dict[str, Any]:
        # OrdersCreateResponse.php: orders answer {id, order}; customers {id}.
        return {"id": record["id"], one: record} if area == "orders" else {"id": record["id"]}

    def create(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        entity = json_field(form, one)
        problem = _problem(entity)
        if problem:
            raise BadEntity(problem)
        record = account.create(area, _with_site(entity, form))
        return 201, answer(record)

    def upload(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        entities = json_field(form, plural, list)
        if len(entities) > UPLOAD_LIMIT:
            raise BadEntity({plural: f"at most {UPLOAD_LIMIT} per request"})
        if not all(isinstance(e, dict) for e in entities):
            raise BadEntity({plural: "each item must be an object"})
        done: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        errors: dict[str, Any] = {}
        for n, entity in enumerate(entities):
            problem = _problem(entity)
            if problem:
                failed.append({"externalId": entity.get("externalId")})
                # by position, each a message (the vendor's module reads strings)
                errors[str(n)] = next(iter(problem.values()))
                continue
            done.append(account.create(area, _with_site(entity, form)))
        rows = [{"id": r["id"], "externalId": r.get("externalId")} for r in done]
        if not failed:
            return 201, {uploaded: rows}
        # HTTP 460: some made, some refused; both lists in the answer.
        return PARTIAL, {
            "errorMsg": f"{plural.title()} are loaded with errors",
            "errors": errors,
            uploaded: rows,
            failed_key: failed,
        }

    def _problem(entity: dict[str, Any]) -> dict[str, str]:
        ext = entity.get("externalId")
        if ext not in (None, "") and str(ext) in store.by_external:
            return {"externalId": f"{NAMED[area]} with externalId={ext} already exists."}
        site = entity.get("site")
        if site is not None and site not in account.sites:
            return {"site": f"Site {site!r} does not exist."}
        return {}

    def _with_site(entity: dict[str, Any], form: dict[str, Any]) -> dict[str, Any]:
        site = form.get("site")
        if site is not None and site not in account.sites:
            raise BadParameters(f"site {site!r} does not exist")
        return {**entity, "site": site} if site is not None and "site" not in entity else entity

    def by(query: dict[str, Any]) -> str:
        value = query.get("by", "externalId")
        if value not in ("id", "externalId"):
            raise BadParameters("by must be id or externalId")
        return str(value)

    def get_one(uid: str) -> Handler:
        def handler(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            record = store.find(uid, by(query))
            if record is None:
                return 404, {"errorMsg": "Not found"}
            return 200, {one: record}

        return handler

    def edit_one(uid: str) -> Handler:
        def handler(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            entity = json_field(form, one)
            record = store.find(uid, by({**query, **form}))
            if record is None:
                return 404, {"errorMsg": "Not found"}
            account.edit(area, record, entity)
            return 200, answer(record)

        return handler

    def subscribe(uid: str) -> Handler:
        """``customers/{uid}/subscriptions`` (``CustomersSubscriptionsRequest.php``)."""

        def handler(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            wanted = json_field(form, "subscriptions", list)
            record = store.find(uid, by({**query, **form}))
            if record is None:
                return 404, {"errorMsg": "Not found"}
            current = {
                (s["subscription"]["channel"], s["subscription"]["code"]): s
                for s in record.get("customerSubscriptions") or []
            }
            for item in wanted:
                if not isinstance(item, dict) or item.get("channel") not in CHANNELS:
                    raise BadEntity({"channel": "The value you selected is not a valid choice."})
                if not item.get("subscription"):
                    raise BadEntity({"subscription": "This value should not be blank."})
                current[(item["channel"], item["subscription"])] = {
                    "subscription": {"channel": item["channel"], "code": item["subscription"]},
                    "subscribed": bool(item.get("active")),
                    "changedAt": account.stamp(),
                }
            record["customerSubscriptions"] = list(current.values())
            return 200, {}

        return handler

    def fix_external_ids(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        rows = json_field(form, plural, list)
        for row in rows:
            if not isinstance(row, dict) or "id" not in row or "externalId" not in row:
                raise BadEntity({plural: "each item needs id and externalId"})
            record = store.find(str(row["id"]), "id")
            if record is None:
                raise BadEntity({plural: f"{one} with id {row['id']} does not exist"})
            account.edit(area, record, {"externalId": str(row["externalId"])})
        return 200, {}

    def statuses(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        ids = {as_int(v, "ids[]") for v in query.get("ids") or []}
        externals = {str(v) for v in query.get("externalIds") or []}
        rows = [
            {
                "id": r["id"],
                "externalId": r.get("externalId"),
                "status": r.get("status"),
                "group": account.statuses.get(str(r.get("status")), {}).get("group"),
            }
            for r in store.records.values()
            if r["id"] in ids or str(r.get("externalId")) in externals
        ]
        return 200, {"orders": rows}

    fixed: dict[tuple[str, str], Handler] = {
        ("GET", "history"): history,
        ("POST", "create"): create,
        ("POST", "upload"): upload,
        ("POST", "fix-external-ids"): fix_external_ids,
    }
    if area == "orders":
        fixed[("GET", "statuses")] = statuses
    if method == "GET" and not rest:
        return listing
    if len(rest) == 1 and (method, rest[0]) in fixed:
        return fixed[(method, rest[0])]
    if rest and rest[0] in RESERVED.get(area, set()) | {name for _, name in fixed}:
        return None  # a method of its own (orders/statuses, orders/packs): never an entity id
    if method == "GET" and len(rest) == 1:
        return get_one(rest[0])
    if method == "POST" and len(rest) == 2 and rest[1] == "edit":
        return edit_one(rest[0])
    if method == "POST" and len(rest) == 2 and rest[1] == "subscriptions" and area == "customers":
        return subscribe(rest[0])
    return None


def module_route(account: Account, method: str, code: str, rest: list[str]) -> Handler | None:
    def get(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        module = account.modules.get(code)
        if module is None:
            return 404, {"errorMsg": "Not found"}
        return 200, {"integrationModule": module}

    def edit(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        module = json_field(form, "integrationModule")
        if module.get("code", code) != code:
            raise BadEntity({"code": "must match the code in the address"})
        stored = {**account.modules.get(code, {}), **module, "code": code}
        account.modules[code] = stored
        return 200, {"info": {}}

    def update_scopes(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        requires = json_field(form, "requires")
        scopes = requires.get("scopes")
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            raise BadEntity({"requires": "scopes must be a list of strings"})
        if code not in account.modules:
            return 404, {"errorMsg": "Not found"}
        key = account.add_key(secrets.token_hex(16), frozenset(scopes))
        return 200, {"apiKey": key}

    if method == "GET" and not rest:
        return get
    if method == "POST" and rest == ["edit"]:
        return edit
    if method == "POST" and rest == ["update-scopes"]:
        return update_scopes
    return None
