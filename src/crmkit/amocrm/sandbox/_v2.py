"""The sandbox's legacy API v2: ``/api/v2/{entity}`` lists and ``add``/``update`` writes.

From amoCRM's v2 documentation: ``limit_rows`` (500 at most) and
``limit_offset``; ``id``, ``query``, ``responsible_user_id``, ``status``,
``filter[date_create|date_modify][from|to]`` (unix seconds); notes need
``type`` and take ``element_id``; tasks and notes name their parent
``element_id``/``element_type``. Per-item failures come inside a 200.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._data import NOTE_PARENTS, from_v2, render_v2, validate_v4
from ._reply import Call, Reply
from ._v4 import since

if TYPE_CHECKING:
    from ._app import AmoCRMSandbox

__all__ = ["handle"]

_JSON = "application/json"
#: What v2 lists take (amoCRM v2 docs); anything else is refused, never ignored.
_V2_PARAMS = {
    "limit_rows",
    "limit_offset",
    "id",
    "id[]",
    "query",
    "responsible_user_id",
    "responsible_user_id[]",
    "status",
    "status[]",
    "type",
    "element_id",
    "with",
}
_V2_DATES = ("filter[date_create]", "filter[date_modify]")


def _error(status: int, text: str) -> Reply:
    return Reply(status, {"response": {"error": text}}, _JSON)


def handle(sb: AmoCRMSandbox, call: Call) -> Reply:
    route = "/".join(call.parts)
    params = call.params
    if route == "account":
        return Reply(
            200, {**sb.account, "_embedded": {"pipelines": {str(p["id"]): p for p in sb.pipelines}}}
        )
    if route == "pipelines":
        return Reply(200, {"_embedded": {"items": sb.pipelines}})
    if route not in sb.entities:
        return _error(404, "Not found")
    name, parent = route, None
    if name == "notes":
        parents = {v2: v4 for v4, v2 in NOTE_PARENTS.items()}
        parent = parents.get(params.get("type", ""))
        if parent is None:
            return _error(400, "type is required for notes")
    if call.method == "GET":
        return _list(sb, call, name, parent)
    if call.method != "POST":
        return _error(405, "Method not allowed")
    return _write(sb, call, name, parent)


def _list(sb: AmoCRMSandbox, call: Call, name: str, parent: str | None) -> Reply:
    params = call.params
    limit = min(int(params.get("limit_rows", 500) or 500), 500)
    offset = int(params.get("limit_offset", 0) or 0)
    rows = list(sb.entities[name].values())
    if parent is not None:
        rows = [r for r in rows if r.get("entity_type") == parent]
    ids = {int(v) for k, v in call.pairs if k in ("id", "id[]") and v.isdigit()}
    if ids:
        rows = [r for r in rows if r["id"] in ids]
    unknown = {k for k, _ in call.pairs if k not in _V2_PARAMS and not k.startswith(_V2_DATES)}
    if unknown:
        return _error(400, f"Unknown parameter: {sorted(unknown)[0]}")
    if "element_id" in params:
        rows = [r for r in rows if str(r.get("entity_id")) == params["element_id"]]
    for key, field in (("responsible_user_id", "responsible_user_id"), ("status", "status_id")):
        wanted = {v for k, v in call.pairs if k in (key, f"{key}[]")}
        if wanted:
            rows = [r for r in rows if str(r.get(field)) in wanted]
    bound = since(call, None)
    if bound is not None:
        rows = [r for r in rows if r["updated_at"] > bound]
    for key, field in (("date_create", "created_at"), ("date_modify", "updated_at")):
        low, high = params.get(f"filter[{key}][from]"), params.get(f"filter[{key}][to]")
        if low:
            rows = [r for r in rows if r[field] >= int(low)]
        if high:
            rows = [r for r in rows if r[field] <= int(high)]
    if params.get("query"):
        rows = [r for r in rows if params["query"].lower() in str(r.get("name", "")).lower()]
    rows = rows[offset : offset + limit]
    if not rows:
        return Reply(204)
    links = {"self": {**call.href(f"/api/v2/{'/'.join(call.parts)}"), "method": "get"}}
    return Reply(200, {"_links": links, "_embedded": {"items": [render_v2(name, r) for r in rows]}})


def _write(sb: AmoCRMSandbox, call: Call, name: str, parent: str | None) -> Reply:
    data = call.json()
    if not isinstance(data, dict):
        return _error(400, "Bad request")
    items: list[dict[str, Any]] = []
    errors: dict[str, dict[str, str]] = {}
    for action in ("add", "update"):
        for index, entity in enumerate(data.get(action) or []):
            update = action == "update"
            text = validate_v4(entity, update=update, v2=True, name=name)
            if text is None and update and int(entity["id"]) not in sb.entities[name]:
                text = "Entity not found"
            if text:
                errors.setdefault(action, {})[str(index)] = text
                continue
            fields = from_v2(name, entity)
            if update:
                stored = sb.entities[name][int(entity["id"])]
                sb.change(name, stored, {k: v for k, v in fields.items() if k != "id"})
            else:
                stored = sb._store(name, fields)
            items.append({"id": stored["id"], "request_id": entity.get("request_id", str(index))})
    embedded: dict[str, Any] = {"items": items}
    if errors:
        embedded["errors"] = errors
    return Reply(200, {"_embedded": embedded})
