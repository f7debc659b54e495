"""The vtiger sandbox's operations on records, each as vtiger's own handler behaves.

Sources (``vtiger-crm/vtigercrm`` and the vtiger 7 fork ``thinkingreed-inc/F-RevoCRM``,
``include/Webservices/``): ``Query.php`` + ``VTQL_Parser.php`` (the row clamp),
``Retrieve.php``, ``Create.php``, ``Update.php``, ``Revise.php``, ``Delete.php``,
``DescribeObject.php``, ``ModuleTypes.php``, ``GetUpdates.php`` (``sync`` and its
``syncType``), ``RelatedTypes.php``, ``QueryRelated.php``, ``RetrieveRelated.php``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import orjson

from ._state import (
    FIELD_TYPES,
    MODULE_FIELDS,
    MODULES,
    RELATIONS,
    SandboxUser,
    VtigerData,
    vtiger_datetime,
)
from ._vtql import QuerySyntaxError, parse, record_number

__all__ = ["Fail", "VtigerOperations"]

SYNC_WINDOW = 100


class Fail(Exception):
    """An answer ``success: false`` with vtiger's code and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _sort_key(field: str) -> Any:
    if field == "id":
        return lambda row: record_number(row["id"])

    def key(row: Mapping[str, Any]) -> tuple[int, float, str]:
        text = str(row.get(field, ""))
        try:
            return (0, float(text), "")
        except ValueError:
            return (1, 0.0, text.lower())

    return key


class _Seen(Mapping[str, Any]):
    """A stored record as a query sees it (datetimes as vtiger writes them), made on demand."""

    __slots__ = ("record",)

    def __init__(self, record: dict[str, Any]) -> None:
        self.record = record

    def __getitem__(self, key: str) -> Any:
        value = self.record[key]
        return vtiger_datetime(value) if key in ("createdtime", "modifiedtime") else value

    def __iter__(self) -> Iterator[str]:
        return (k for k in self.record if not k.startswith("_"))

    def __len__(self) -> int:
        return sum(1 for _ in self)


class VtigerOperations(VtigerData):
    """One method per operation: ``_op_<name>(params, user)``."""

    row_clamp: int

    def _record(self, record_id: str | None) -> dict[str, Any]:
        if not record_id or not re.fullmatch(r"\d+x\d+", record_id):
            raise Fail("INVALID_ID_ATTRIBUTE", "Id specified is incorrect")
        record = self.records.get(record_id)
        if record is None:
            raise Fail("RECORD_NOT_FOUND", "Record you are trying to access is not found")
        return record

    def _element(self, params: dict[str, str]) -> dict[str, Any]:
        try:
            element = orjson.loads(params.get("element") or "")
        except orjson.JSONDecodeError:
            raise Fail("INVALID_PARAMETER", "element must be JSON") from None
        if not isinstance(element, dict):
            raise Fail("INVALID_PARAMETER", "element must be a JSON object")
        return element

    def _module(self, name: str | None) -> str:
        if name not in MODULES:
            raise Fail("ACCESS_DENIED", f"Permission to perform the operation is denied for {name}")
        return name

    # -- reading ---------------------------------------------------------------

    def _op_query(self, params: dict[str, str], user: SandboxUser) -> list[dict[str, Any]]:
        try:
            query = parse(params.get("query") or "")
        except QuerySyntaxError as exc:
            raise Fail("QUERY_SYNTAX_ERROR", f"Syntax Error on line 1: {exc}") from None
        if query.module not in MODULES:
            raise Fail("ACCESS_DENIED", "Permission to perform the operation is denied")
        seen = [_Seen(r) for r in self.records.values() if r["_module"] == query.module]
        if query.condition is not None:
            seen = [r for r in seen if query.condition(r)]
        if query.count:
            return [{"count": str(len(seen))}]
        if query.order_by:
            seen.sort(key=_sort_key(query.order_by), reverse=query.descending)
        limit = min(query.limit if query.limit is not None else self.row_clamp, self.row_clamp)
        rows = [self.public(r.record) for r in seen[query.offset : query.offset + limit]]
        if query.fields:
            keep = {*query.fields, "id"}
            rows = [{k: v for k, v in r.items() if k in keep} for r in rows]
        return rows

    def _op_retrieve(self, params: dict[str, str], user: SandboxUser) -> dict[str, Any]:
        return self.public(self._record(params.get("id")))

    def _fields_of(self, module: str) -> list[str]:
        extra = {k for r in self.records.values() if r["_module"] == module for k in r}
        standard = MODULE_FIELDS[module]
        return [*standard, *sorted(k for k in extra - set(standard) if not k.startswith("_"))]

    def _op_describe(self, params: dict[str, str], user: SandboxUser) -> dict[str, Any]:
        module = self._module(params.get("elementType"))
        mandatory = MODULES[module][1]
        fields = [
            {
                "name": name,
                "label": name.replace("_", " ").title(),
                "mandatory": name == mandatory,
                "type": {"name": FIELD_TYPES.get(name, "string")},
            }
            for name in self._fields_of(module)
        ]
        return {"label": module, "name": module, "createable": True, "fields": fields}

    def _op_listtypes(self, params: dict[str, str], user: SandboxUser) -> dict[str, Any]:
        # ModuleTypes.php: with fieldTypeList, only the modules with a field of those types.
        modules = sorted(MODULES)
        if params.get("fieldTypeList"):
            try:
                wanted = {str(t).lower() for t in orjson.loads(params["fieldTypeList"])}
            except (orjson.JSONDecodeError, TypeError):
                raise Fail("INVALID_PARAMETER", "fieldTypeList must be a JSON list") from None
            modules = [
                m
                for m in modules
                if wanted & {FIELD_TYPES.get(f, "string") for f in self._fields_of(m)}
            ]
        return {"types": modules, "information": {m: {"isEntity": True} for m in modules}}

    # -- writing ---------------------------------------------------------------

    def _op_create(self, params: dict[str, str], user: SandboxUser) -> dict[str, Any]:
        module = params.get("elementType") or ""
        if module not in MODULES:
            raise Fail("ACCESS_DENIED", f"Permission to create {module or 'records'} is denied")
        element = self._element(params)
        mandatory = MODULES[module][1]
        if not element.get(mandatory):
            raise Fail("MANDATORY_FIELDS_MISSING", f"{mandatory} does not have a value")
        element.pop("id", None)
        element.setdefault("assigned_user_id", user.id)
        return self.public(self.add(module, element))

    def _op_update(self, params: dict[str, str], user: SandboxUser) -> dict[str, Any]:
        element = self._element(params)
        record = self._record(element.get("id"))
        mandatory = MODULES[record["_module"]][1]
        if not element.get(mandatory):
            raise Fail("MANDATORY_FIELDS_MISSING", f"{mandatory} does not have a value")
        kept = {k: record[k] for k in ("id", "createdtime", "_module", "assigned_user_id")}
        record.clear()
        record.update({**kept, **element, "id": kept["id"], "createdtime": kept["createdtime"]})
        record["_module"] = kept["_module"]
        self.touch(record["id"])
        return self.public(record)

    def _op_revise(self, params: dict[str, str], user: SandboxUser) -> dict[str, Any]:
        element = self._element(params)
        record = self._record(element.get("id"))
        private = ("id", "createdtime", "modifiedtime", "_module")
        self.touch(record["id"], **{k: v for k, v in element.items() if k not in private})
        return self.public(record)

    def _op_delete(self, params: dict[str, str], user: SandboxUser) -> dict[str, Any]:
        record = self._record(params.get("id"))
        self.remove(record["id"])
        return {"status": "successful"}

    # -- the change feed ---------------------------------------------------------

    def _op_sync(self, params: dict[str, str], user: SandboxUser) -> dict[str, Any]:
        try:
            since = int(params.get("modifiedTime") or "0")
        except ValueError:
            raise Fail("INVALID_PARAMETER", "modifiedTime must be unix seconds") from None
        module = params.get("elementType") or None
        if module is not None:
            self._module(module)
        # GetUpdates.php: 'application' (admins only) is every owner; 'userandgroup'
        # the user and the groups the user is in; anything else the user alone.
        sync_type = params.get("syncType")
        owners: set[str] | None = {user.id}
        if sync_type == "application":
            if not user.admin:
                raise Fail("ACCESS_DENIED", "Only admin users can perform application sync")
            owners = None
        elif sync_type == "userandgroup":
            owners = {user.id, *user.groups}
        module_id = str(MODULES[module][0]) if module else None
        changes: list[tuple[int, str, dict[str, Any] | None]] = [
            (int(r["modifiedtime"]), r["id"], r)
            for r in self.records.values()
            if (not module or r["_module"] == module)
            and (owners is None or r["assigned_user_id"] in owners)
        ]
        changes += [
            (int(when), rid, None)
            for when, rid, owner in self.deleted
            if (module_id is None or rid.split("x")[0] == module_id)
            and (owners is None or owner in owners)
        ]
        changes = sorted((c for c in changes if c[0] > since), key=lambda c: (c[0], c[1]))
        if not changes:
            return {"updated": [], "deleted": [], "lastModifiedTime": since, "more": False}
        # The window is the first 100 changes' times, and every change at its last second.
        last = changes[:SYNC_WINDOW][-1][0]
        window = [c for c in changes if c[0] <= last]
        return {
            "updated": [self.public(r) for _, _, r in window if r is not None],
            "deleted": [rid for _, rid, r in window if r is None],
            "lastModifiedTime": last,
            "more": len(window) < len(changes),
        }

    # -- related records -----------------------------------------------------------

    def _op_relatedtypes(self, params: dict[str, str], user: SandboxUser) -> dict[str, Any]:
        module = self._module(params.get("elementType"))
        relations = RELATIONS.get(module, {})
        return {
            "types": [name for name, _ in relations.values()],
            "information": {
                label: {"name": name, "label": label, "isEntity": "1"}
                for label, (name, _) in relations.items()
            },
        }

    def _op_query_related(self, params: dict[str, str], user: SandboxUser) -> list[dict[str, Any]]:
        query = params.get("query") or ""
        record = self._record(params.get("id"))
        label = params.get("relatedLabel") or ""
        match = re.search(r"FROM\s+([^\s]+)", query, re.IGNORECASE)
        related_type = match.group(1).strip() if match else None
        relation = RELATIONS.get(record["_module"], {}).get(label)
        if relation is None or relation[0] != related_type:
            raise Fail("UNKOWN_ENTITY", "Relation specified is incorrect")
        name, back = relation
        ids = [
            r["id"]
            for r in self.records.values()
            if r["_module"] == name and r.get(back) == record["id"]
        ]
        if not ids:
            return []
        # QueryRelated.php rewrites the query around WHERE (case-sensitive split) and ends it.
        clause = "id IN ('" + "','".join(ids) + "')"
        if "where" not in query.lower():
            query += " WHERE " + clause
        else:
            head, _, tail = query.partition("WHERE")
            query = f"{head} WHERE {clause} AND {tail}"
        return self._op_query({"query": query + ";"}, user)

    def _op_retrieve_related(
        self, params: dict[str, str], user: SandboxUser
    ) -> list[dict[str, Any]]:
        query = f"SELECT * FROM {params.get('relatedType') or ''}"
        return self._op_query_related({**params, "query": query}, user)
