"""The sandbox's API v4 entities: leads, contacts, companies, customers, tasks and notes.

From amoCRM's v4 documentation and the official PHP SDK (``EntitiesServices``
``Leads``, ``Contacts``, ``Companies``, ``Customers/Customers``, ``Tasks``,
``EntityNotes``; ``Filters/*Filter.php`` for what each list takes):

- ``GET /api/v4/{entity}``: ``page``, ``limit`` (250 at most), ``query``,
  ``with``, ``filter[...]`` and ``order[field]=asc|desc``; a filter or order
  the list does not take is refused with a 400 ``validation-errors``, never
  ignored; ``_links`` are absolute, ``next`` only when there is more;
- ``GET /api/v4/{entity}/{id}``, ``PATCH /api/v4/{entity}/{id}`` (one object),
  ``POST`` (add) and ``PATCH`` (update) of an array of at most 250;
- notes: ``/api/v4/{entity}/notes``, ``/api/v4/{entity}/{id}/notes``,
  ``/api/v4/{entity}/notes/{id}`` (no notes under tasks); a note write never
  touches its parent.
"""

from __future__ import annotations

from collections.abc import Callable
from email.utils import parsedate_to_datetime
from operator import itemgetter
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from ..._params import BadParameters, parse_brackets
from ._reply import Call, Reply, not_found, problem, refused_parameter, validation_failed

if TYPE_CHECKING:
    from ._app import AmoCRMSandbox

__all__ = ["handle", "page_of", "since"]

LIST_MAX = 250
_NOTE_PARENTS = ("leads", "contacts", "companies", "customers")
_COMMON = {"id", "created_by", "updated_by", "responsible_user_id", "created_at", "updated_at"}
#: The filters each v4 list takes (the PHP SDK's ``Filters/*Filter.php`` and the docs).
FILTERS: dict[str, set[str]] = {
    "leads": _COMMON | {"name", "price", "statuses", "pipeline_id", "closed_at"},
    "contacts": _COMMON | {"name"},
    "companies": _COMMON | {"name"},
    "customers": _COMMON | {"name", "next_date", "next_price"},
    "tasks": {
        "id",
        "created_by",
        "responsible_user_id",
        "is_completed",
        "task_type",
        "entity_type",
        "entity_id",
        "updated_at",
    },
    "notes": {"id", "note_type", "updated_at"},
}
ORDERS: dict[str, set[str]] = {
    "leads": {"created_at", "updated_at", "id"},
    "contacts": {"updated_at", "id"},
    "companies": {"updated_at", "id"},
    "customers": {"updated_at", "id"},
    "tasks": {"created_at", "complete_till", "id"},
    "notes": {"updated_at", "id"},
}
WITH: dict[str, set[str]] = {
    "leads": {
        "contacts",
        "loss_reason",
        "catalog_elements",
        "is_price_modified_by_robot",
        "source_id",
        "only_deleted",
    },
    "contacts": {"leads", "customers", "catalog_elements", "only_deleted"},
    "companies": {"leads", "contacts", "customers", "catalog_elements"},
    "customers": {"contacts", "companies", "catalog_elements", "segments"},
}
_FIELD = {"task_type": "task_type_id"}


def since(call: Call, _: Any) -> float | None:
    """The ``If-Modified-Since`` bound (amoCRM's ``D, d M Y H:i:s`` UTC), or None."""
    header = call.headers.get("if-modified-since")
    if not header:
        return None
    try:
        return parsedate_to_datetime(header.replace(" UTC", " GMT")).timestamp()
    except (TypeError, ValueError):
        return None


def handle(sb: AmoCRMSandbox, call: Call) -> Reply:
    parts, method = call.parts, call.method
    if not parts or parts[0] not in FILTERS or parts[0] == "notes":
        return not_found()
    name = parts[0]
    if len(parts) == 1:
        return _collection(sb, call, name, None, None)
    if len(parts) == 2 and parts[1].isdigit():
        return _one(sb, call, name, int(parts[1]), None)
    if name in _NOTE_PARENTS:
        if len(parts) == 2 and parts[1] == "notes":
            return _collection(sb, call, "notes", name, None)
        if len(parts) == 3 and parts[1].isdigit() and parts[2] == "notes":
            if int(parts[1]) not in sb.entities[name]:
                return not_found() if method == "GET" else _bad_parent(name)
            return _collection(sb, call, "notes", name, int(parts[1]))
        if len(parts) == 3 and parts[1] == "notes" and parts[2].isdigit():
            return _one(sb, call, "notes", int(parts[2]), name)
        if len(parts) == 4 and parts[1].isdigit() and parts[2] == "notes" and parts[3].isdigit():
            return _one(sb, call, "notes", int(parts[3]), name, int(parts[1]))
    return not_found()


def _bad_parent(name: str) -> Reply:
    return refused_parameter("entity_id", f"There is no such {name[:-1]}")


def render(
    sb: AmoCRMSandbox, call: Call, name: str, rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Entities as v4 answers them: absolute ``_links``, ``_embedded`` (tags, links)."""
    wanted = set(call.params.get("with", "").split(","))
    others = [
        other
        for other in ("contacts", "companies", "leads", "customers")
        if other in wanted or (other == "companies" and name in ("leads", "contacts"))
    ]
    ids = {row["id"] for row in rows}
    linked: dict[tuple[int, str], list[dict[str, Any]]] = {}
    if name in WITH:
        for (f, f_id, t, to_id), meta in sb.links.items():
            if f == name and f_id in ids and t in others:
                link = {"id": to_id, "_links": call.href(f"/api/v4/{t}/{to_id}")}
                if t == "contacts":
                    link["is_main"] = meta.get("is_main", False)
                linked.setdefault((f_id, t), []).append(link)
    out = []
    for row in rows:
        path = f"/api/v4/{row.get('entity_type')}/notes" if name == "notes" else f"/api/v4/{name}"
        one = {k: v for k, v in row.items() if k != "_embedded"}
        one["_links"] = {"self": call.href(f"{path}/{row['id']}")}
        if name in WITH:
            embedded: dict[str, Any] = {"tags": list((row.get("_embedded") or {}).get("tags", []))}
            for other in others:
                embedded[other] = linked.get((row["id"], other), [])
            one["_embedded"] = embedded
        out.append(one)
    return out


def page_of(call: Call, path: str, key: str, rows: list[Any], limit: int | None = None) -> Reply:
    """One page of ``rows`` with ``_page`` and absolute ``_links``; 204 past the end."""
    params = call.params
    try:
        limit = limit or int(params.get("limit", 50) or 50)
        page = int(params.get("page", 1) or 1)
    except ValueError:
        return refused_parameter("page", "page and limit are numbers")
    if limit > LIST_MAX or limit < 1 or page < 1:
        return refused_parameter("limit", f"limit is 1 to {LIST_MAX}")
    chunk = rows[(page - 1) * limit : page * limit]
    if not chunk:
        return Reply(204)
    others = [(k, v) for k, v in call.pairs if k not in ("page", "limit")]

    def link(n: int) -> dict[str, str]:
        return call.href(f"{path}?{urlencode([*others, ('page', n), ('limit', limit)])}")

    links = {"self": link(page)}
    if page * limit < len(rows):
        links["next"] = link(page + 1)
    if page > 1:
        links["prev"] = link(page - 1)
    return Reply(200, {"_page": page, "_links": links, "_embedded": {key: chunk}})


def select(
    rows: list[dict[str, Any]], name: str, filters: dict[str, Any], allowed: set[str]
) -> list[dict[str, Any]] | Reply:
    """Apply ``filter[...]``: ranges (``from``/``to``), lists, scalars; refuse unknown keys."""
    for key, wanted in filters.items():
        if key not in allowed:
            return refused_parameter(f"filter[{key}]", f"The list of {name} has no filter {key}")
        field = _FIELD.get(key, key)
        if key == "statuses":
            pairs = wanted.values() if isinstance(wanted, dict) else wanted
            keep = {
                (str(p.get("pipeline_id")), str(p.get("status_id")))
                for p in pairs
                if isinstance(p, dict)
            }
            rows = [r for r in rows if (str(r.get("pipeline_id")), str(r.get("status_id"))) in keep]
        elif isinstance(wanted, dict) and ({"from", "to"} & set(wanted)):
            low, high = wanted.get("from"), wanted.get("to")
            rows = [
                r
                for r in rows
                if (low in (None, "") or int(r.get(field) or 0) >= int(low))
                and (high in (None, "") or int(r.get(field) or 0) <= int(high))
            ]
        elif isinstance(wanted, (list, dict)):
            values = {str(v) for v in (wanted.values() if isinstance(wanted, dict) else wanted)}
            rows = [r for r in rows if str(r.get(field)) in values]
        elif field in ("updated_at", "created_at", "closed_at"):
            rows = [r for r in rows if int(r.get(field) or 0) >= int(wanted)]
        elif field == "is_completed":
            rows = [r for r in rows if bool(r.get(field)) == (wanted in ("1", "true"))]
        else:
            rows = [r for r in rows if str(r.get(field)) == str(wanted)]
    return rows


def _by(field: str) -> Callable[[dict[str, Any]], Any]:
    # rows are kept in id order and the sort is stable: ties stay in id order
    if field in ("id", "created_at", "updated_at"):
        return itemgetter(field)
    return lambda row: row.get(field) or 0


def _list(
    sb: AmoCRMSandbox, call: Call, name: str, parent: str | None, parent_id: int | None
) -> Reply:
    try:
        query = parse_brackets(call.pairs)
    except BadParameters as exc:
        return refused_parameter("query", str(exc))
    with_parts = set(filter(None, call.params.get("with", "").split(",")))
    source = sb.deleted[name] if "only_deleted" in with_parts else sb.entities[name]
    rows = list(source.values())
    if parent is not None:
        rows = [r for r in rows if r.get("entity_type") == parent]
    if parent_id is not None:
        rows = [r for r in rows if r.get("entity_id") == parent_id]
    bound = since(call, None)
    if bound is not None:
        rows = [r for r in rows if r["updated_at"] > bound]
    filters = query.get("filter") or {}
    if not isinstance(filters, dict):
        return refused_parameter("filter", "filter must be an object")
    picked = select(rows, name, filters, FILTERS[name])
    if isinstance(picked, Reply):
        return picked
    rows = picked
    if query.get("query"):
        text = str(query["query"]).lower()
        rows = [
            r
            for r in rows
            if text in str(r.get("name", "")).lower()
            or text in str(r.get("custom_fields_values", "")).lower()
        ]
    order = query.get("order") or {}
    if not isinstance(order, dict):
        return refused_parameter("order", "order must be order[field]=asc|desc")
    for field, direction in reversed(list(order.items())):
        if field not in ORDERS[name] or direction not in ("asc", "desc"):
            return refused_parameter(f"order[{field}]", f"{name} cannot be ordered so")
        rows.sort(key=_by(field), reverse=direction == "desc")
    here = "/api/v4/" + "/".join(call.parts)
    reply = page_of(call, here, name, rows)
    if reply.status == 200:
        body = dict(reply.body)
        body["_embedded"] = {name: render(sb, call, name, body["_embedded"][name])}
        return Reply(200, body)
    return reply


def _collection(
    sb: AmoCRMSandbox, call: Call, name: str, parent: str | None, parent_id: int | None
) -> Reply:
    if call.method == "GET":
        return _list(sb, call, name, parent, parent_id)
    if call.method not in ("POST", "PATCH"):
        return problem(405, "Method Not Allowed")
    data = call.json()
    if not isinstance(data, list) or not data or len(data) > LIST_MAX:
        return problem(
            400, "Bad Request", detail=f"A JSON array of 1 to {LIST_MAX} entities is required"
        )
    update = call.method == "PATCH"
    failures = []
    for index, entity in enumerate(data):
        text = check(sb, name, entity, update=update, parent=parent, parent_id=parent_id)
        if text:
            rid = str(entity.get("request_id", index)) if isinstance(entity, dict) else str(index)
            errors = [{"code": "InvalidValue", "path": "", "detail": text}]
            failures.append({"request_id": rid, "errors": errors})
    if failures:
        return validation_failed(failures)
    out = []
    for index, entity in enumerate(data):
        fields = {k: v for k, v in entity.items() if k not in ("request_id", "id")}
        if parent is not None:
            fields["entity_type"] = parent
        if parent_id is not None:
            fields["entity_id"] = parent_id
        stored = write(sb, name, fields, entity.get("id") if update else None, call.user_id or 1)
        out.append(
            {
                "id": stored["id"],
                "request_id": str(entity.get("request_id", index)),
                "updated_at": stored["updated_at"],
                "_links": {"self": call.href(f"/api/v4/{name}/{stored['id']}")},
            }
        )
    here = call.href("/api/v4/" + "/".join(call.parts))
    return Reply(200, {"_links": {"self": here}, "_embedded": {name: out}})


def check(
    sb: AmoCRMSandbox,
    name: str,
    entity: Any,
    *,
    update: bool,
    parent: str | None = None,
    parent_id: int | None = None,
) -> str | None:
    """What is wrong with one entity of a v4 write, or None."""
    from ._data import validate_v4

    text = validate_v4(entity, update=update)
    if text:
        return text
    if update and int(entity["id"]) not in sb.entities[name]:
        return "Entity not found"
    if name == "leads":
        pipelines = {p["id"]: p for p in sb.pipelines}
        pipeline = pipelines.get(entity.get("pipeline_id", 1))
        if pipeline is None:
            return "pipeline_id: no such pipeline"
        if "status_id" in entity and entity["status_id"] not in {
            s["id"] for s in pipeline["statuses"]
        }:
            return "status_id: no such status in the pipeline"
    if name == "notes" and not update:
        if parent_id is None and int(entity.get("entity_id") or 0) not in sb.entities.get(
            parent or "leads", {}
        ):
            return "entity_id: no such entity"
        if not entity.get("note_type"):
            return "note_type is required"
    if (name == "tasks" and not update) and (
        not entity.get("text") or not str(entity.get("complete_till", "")).isdigit()
    ):
        return "text and complete_till are required"
    return None


def write(
    sb: AmoCRMSandbox, name: str, fields: dict[str, Any], id: Any, user_id: int
) -> dict[str, Any]:
    """Store an add (``id`` None) or apply an update; tags and links from ``_embedded``."""
    from ._groups import resolve_tags
    from ._links import link

    embedded = fields.pop("_embedded", None) or {}
    tags: list[dict[str, Any]] | None = None
    if name in sb.tags and "tags" in embedded:
        tags = resolve_tags(sb, name, embedded["tags"])
        fields["_embedded"] = {"tags": tags}
    if id is None:
        if name == "leads":
            fields.setdefault("pipeline_id", 1)
            fields.setdefault("status_id", 11)
        fields.setdefault("responsible_user_id", user_id)
        stored = sb._store(name, fields, user_id=user_id)
    else:
        stored = sb.entities[name][int(id)]
        sb.change(name, stored, fields, user_id)
    if tags:
        value = [{"tag": {"name": tag["name"]}} for tag in tags]
        sb.record("entity_tag_added", name, stored["id"], after=value, user_id=user_id)
    for other in ("contacts", "companies"):
        for target in embedded.get(other) or []:
            if isinstance(target, dict) and int(target.get("id") or 0) in sb.entities[other]:
                link(sb, name, stored["id"], other, int(target["id"]), {})
    return stored


def _one(
    sb: AmoCRMSandbox,
    call: Call,
    name: str,
    id: int,
    parent: str | None,
    parent_id: int | None = None,
) -> Reply:
    row = sb.entities[name].get(id)
    if row is not None and (
        (parent is not None and row.get("entity_type") != parent)
        or (parent_id is not None and row.get("entity_id") != parent_id)
    ):
        row = None
    if call.method == "GET":
        return Reply(200, render(sb, call, name, [row])[0]) if row else Reply(204)
    if call.method != "PATCH":
        return problem(405, "Method Not Allowed")
    data = call.json()
    if not isinstance(data, dict):
        return problem(400, "Bad Request", detail="A JSON object is required")
    entity = {**data, "id": id}
    text = "Entity not found" if row is None else check(sb, name, entity, update=True)
    if text:
        errors = [{"code": "InvalidValue", "path": "", "detail": text}]
        return validation_failed([{"request_id": "0", "errors": errors}])
    fields = {k: v for k, v in data.items() if k not in ("id", "request_id")}
    stored = write(sb, name, fields, id, call.user_id or 1)
    return Reply(
        200,
        {
            "id": stored["id"],
            "updated_at": stored["updated_at"],
            "_links": {"self": call.href(f"/api/v4/{name}/{id}")},
        },
    )
