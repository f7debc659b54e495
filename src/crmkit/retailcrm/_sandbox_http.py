"""The RetailCRM sandbox's endpoint handlers: each returns ``(status, answer fields)``."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import orjson

from ._sandbox_state import KEYS, Account

__all__ = ["BadEntity", "BadParameters", "Missing", "route"]

Handler = Callable[[dict[str, Any], dict[str, Any]], tuple[int, dict[str, Any]]]

_PAGE_LIMITS = (20, 50, 100)
UPLOAD_LIMIT = 50


class BadParameters(Exception):
    """A GET parameter or form field that cannot be read: 400 "Errors in the input parameters"."""


class BadEntity(Exception):
    """An entity that cannot be read: 400 "Errors in the entity format"."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


class Missing(Exception):
    """A required parameter is absent: 400 "Parameter 'x' is missing"."""


def json_field(form: dict[str, Any], name: str, kind: type = dict) -> Any:
    if name not in form:
        raise Missing(name)
    try:
        value = orjson.loads(form[name])
    except (orjson.JSONDecodeError, TypeError):
        raise BadEntity({name: "is not valid JSON"}) from None
    if not isinstance(value, kind):
        raise BadEntity({name: f"must be a JSON {'object' if kind is dict else 'array'}"})
    return value


def _int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise BadParameters(f"{name} must be an integer") from None


def _limit_and_page(query: dict[str, Any]) -> tuple[int, int]:
    limit = _int(query.get("limit", 20), "limit")
    if limit not in _PAGE_LIMITS:
        raise BadParameters(f"limit must be one of {', '.join(map(str, _PAGE_LIMITS))}")
    page = _int(query.get("page", 1), "page")
    if page < 1:
        raise BadParameters("page must be 1 or more")
    return limit, page


def _filters(query: dict[str, Any]) -> dict[str, Any]:
    value = query.get("filter")
    # The vendor's own client sends a bare ``filter=None`` when it has no filter;
    # the service ignores a filter that is not a map.
    return value if isinstance(value, dict) else {}


def _pagination(limit: int, page: int, total: int) -> dict[str, int]:
    pages = max(1, -(-total // limit))
    return {"limit": limit, "totalCount": total, "currentPage": page, "totalPageCount": pages}


def _matches(record: dict[str, Any], filters: dict[str, Any]) -> bool:
    ids = filters.get("ids")
    if ids is not None:
        if not isinstance(ids, list):
            raise BadParameters("filter[ids] must be a list")
        if record["id"] not in {_int(v, "filter[ids][]") for v in ids}:
            return False
    external = filters.get("externalIds")
    if external is not None:
        if not isinstance(external, list):
            raise BadParameters("filter[externalIds] must be a list")
        if str(record.get("externalId")) not in set(external):
            return False
    email = filters.get("email")
    if email is not None and email.lower() not in str(record.get("email", "")).lower():
        return False
    name = filters.get("name")
    if name is not None:
        full = f"{record.get('firstName', '')} {record.get('lastName', '')}".lower()
        if str(name).lower() not in full:
            return False
    sites = filters.get("sites")
    return sites is None or record.get("site") in set(sites)


def entity_route(account: Account, method: str, area: str, rest: list[str]) -> Handler | None:
    one, plural, uploaded = KEYS[area]
    store = account.stores[area]

    def listing(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        limit, page = _limit_and_page(query)
        filters = _filters(query)
        rows = [r for r in store.records.values() if _matches(r, filters)]
        chunk = rows[(page - 1) * limit : page * limit]
        return 200, {"pagination": _pagination(limit, page, len(rows)), plural: chunk}

    def history(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        filters = _filters(query)
        if "sinceId" in filters and "page" in query:
            return 400, {"errorMsg": "The 'page' parameter can not be used with 'sinceId'"}
        limit, page = _limit_and_page(query)
        entries = store.history
        if "sinceId" in filters:
            since = _int(filters["sinceId"], "filter[sinceId]")
            entries = [e for e in entries if e["id"] > since]
        chunk = entries[(page - 1) * limit : page * limit]
        answer = {
            "generatedAt": account.stamp(),
            "history": chunk,
            "pagination": _pagination(limit, page, len(entries)),
        }
        return 200, answer

    def create(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        entity = json_field(form, one)
        _check_unique(entity)
        record = account.create(area, entity)
        return 201, {"id": record["id"]}

    def upload(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        entities = json_field(form, plural, list)
        if len(entities) > UPLOAD_LIMIT:
            raise BadEntity({plural: f"at most {UPLOAD_LIMIT} per request"})
        if not all(isinstance(e, dict) for e in entities):
            raise BadEntity({plural: "each item must be an object"})
        for entity in entities:
            _check_unique(entity)
        done = [account.create(area, e) for e in entities]
        return 201, {uploaded: [{"id": r["id"], "externalId": r.get("externalId")} for r in done]}

    def _check_unique(entity: dict[str, Any]) -> None:
        ext = entity.get("externalId")
        if ext not in (None, "") and str(ext) in store.by_external:
            raise BadEntity({"externalId": f"{one} with externalId {ext} already exists."})

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
            return 200, {"id": record["id"]}

        return handler

    if method == "GET" and not rest:
        return listing
    if method == "GET" and rest == ["history"]:
        return history
    if method == "POST" and rest == ["create"]:
        return create
    if method == "POST" and rest == ["upload"]:
        return upload
    if method == "GET" and len(rest) == 1:
        return get_one(rest[0])
    if method == "POST" and len(rest) == 2 and rest[1] == "edit":
        return edit_one(rest[0])
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


def route(account: Account, method: str, route_path: str) -> Handler | None:
    parts = route_path.split("/")
    area = parts[0]
    if area in KEYS:
        return entity_route(account, method, area, parts[1:])
    if area == "integration-modules" and len(parts) >= 2:
        return module_route(account, method, parts[1], parts[2:])
    if area == "reference" and len(parts) == 2 and method == "GET":
        books = {
            "sites": ("sites", account.sites),
            "statuses": ("statuses", account.statuses),
            "order-types": ("orderTypes", account.order_types),
        }
        if parts[1] not in books:
            return None
        key, book = books[parts[1]]
        return lambda query, form: (200, {key: book})
    return None
