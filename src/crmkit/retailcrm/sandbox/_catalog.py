"""The sandbox's custom fields and dictionaries; routing to its store (``_store.py``).

From ``retailcrm/api-client-php`` ``ResourceGroup/CustomFields.php`` and
``ResourceGroup/Store.php`` (``Model/Response/Store/InventoriesUploadResponse.php``:
``processedOffersCount`` and ``notFoundOffers``). Each handler returns
``(status, answer fields)``; a path not here is "Method not found".
"""

from __future__ import annotations

from typing import Any

from ._common import BadEntity, Handler, json_field, paged
from ._state import Account
from ._store import store

__all__ = ["catalog_route"]

FIELD_ENTITIES = ("order", "customer", "customer_corporate", "company")
FIELD_TYPES = ("string", "text", "integer", "numeric", "boolean", "date", "email", "dictionary")


def custom_fields(account: Account, method: str, rest: list[str]) -> Handler | None:
    fields, dictionaries = account.custom_fields, account.dictionaries

    def check_field(entity: str, field: dict[str, Any]) -> dict[str, Any]:
        if not field.get("code") or not field.get("name"):
            raise BadEntity({"code": "This value should not be blank."})
        if field.get("type") not in FIELD_TYPES:
            raise BadEntity({"type": "The value you selected is not a valid choice."})
        if field["type"] == "dictionary" and field.get("dictionary") not in dictionaries:
            raise BadEntity({"dictionary": "Dictionary not found."})
        return {**field, "entity": entity}

    def create_field(entity: str) -> Handler:
        def handler(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            field = check_field(entity, json_field(form, "customField"))
            if (entity, field["code"]) in fields:
                raise BadEntity({"code": "A field with this code already exists."})
            fields[(entity, field["code"])] = field
            return 201, {"code": field["code"]}

        return handler

    def edit_field(entity: str, code: str) -> Handler:
        def handler(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            if (entity, code) not in fields:
                return 404, {"errorMsg": "Not found"}
            changes = json_field(form, "customField")
            merged = {**fields[(entity, code)], **changes, "code": code}
            fields[(entity, code)] = check_field(entity, merged)
            return 200, {"code": code}

        return handler

    def dictionary_write(code: str | None) -> Handler:
        def handler(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            data = json_field(form, "customDictionary")
            name = code or data.get("code")
            if not name or not (data.get("name") or code in dictionaries):
                raise BadEntity({"code": "This value should not be blank."})
            if code is None and name in dictionaries:
                raise BadEntity({"code": "A dictionary with this code already exists."})
            if code is not None and code not in dictionaries:
                return 404, {"errorMsg": "Not found"}
            dictionaries[name] = {**dictionaries.get(name, {}), **data, "code": name}
            return (200 if code else 201), {"code": name}

        return handler

    def one(found: dict[str, Any] | None, key: str) -> Handler:
        return lambda q, f: (200, {key: found}) if found else (404, {"errorMsg": "Not found"})

    if rest[:1] == ["dictionaries"]:
        tail = rest[1:]
        if method == "GET" and not tail:
            rows = list(dictionaries.values())
            return lambda q, f: paged(
                "custom-fields/dictionaries", rows, q, account, "customDictionaries"
            )
        if method == "POST" and tail == ["create"]:
            return dictionary_write(None)
        if method == "GET" and len(tail) == 1:
            return one(dictionaries.get(tail[0]), "customDictionary")
        if method == "POST" and len(tail) == 2 and tail[1] == "edit":
            return dictionary_write(tail[0])
        return None
    if method == "GET" and not rest:
        return lambda q, f: paged(
            "custom-fields", list(fields.values()), q, account, "customFields"
        )
    if not rest or rest[0] not in FIELD_ENTITIES:
        return None
    entity, tail = rest[0], rest[1:]
    if method == "POST" and tail == ["create"]:
        return create_field(entity)
    if method == "GET" and len(tail) == 1:
        return one(fields.get((entity, tail[0])), "customField")
    if method == "POST" and len(tail) == 2 and tail[1] == "edit":
        return edit_field(entity, tail[0])
    return None


def catalog_route(account: Account, method: str, parts: list[str]) -> Handler | None:
    if parts[0] == "custom-fields":
        return custom_fields(account, method, parts[1:])
    if parts[0] == "store":
        return store(account, method, parts[1:])
    return None
