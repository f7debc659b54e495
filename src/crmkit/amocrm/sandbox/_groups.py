"""The sandbox's other v4 groups: account, users, pipelines and statuses, custom fields,
tags, links, events, webhooks, leads/complex, catalogs and unsorted.

From amoCRM's v4 documentation and the official PHP SDK's ``EntitiesServices``
(``Account``, ``Users``, ``Leads/Pipelines``, ``Leads/Statuses``, ``CustomFields``,
``CustomFieldGroups``, ``EntityTags``, ``Links``, ``Events``, ``Webhooks``,
``Catalogs``, ``CatalogElements``, ``Unsorted``). :func:`handle` answers the
paths of these groups and returns None for any other, which the entities'
router then takes (and answers 404 when it has no such path either).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..._params import BadParameters, parse_brackets
from ._catalogs import catalogs, unsorted
from ._links import complex_leads, events, link_many, links_of, webhooks
from ._reply import (
    Call,
    Reply,
    forbidden,
    not_found,
    patch_items,
    problem,
    refused_parameter,
    validation_failed,
)
from ._v4 import page_of, select

if TYPE_CHECKING:
    from ._app import AmoCRMSandbox

__all__ = ["handle", "resolve_tags"]

_WITH_PARENTS = ("leads", "contacts", "companies", "customers")
#: ``/api/v4/account?with=``: the parts the docs list.
ACCOUNT_WITH = {
    "amojo_id",
    "amojo_rights",
    "users_groups",
    "task_types",
    "version",
    "entity_names",
    "datetime_settings",
    "drive_url",
    "is_api_filter_enabled",
}


def handle(sb: AmoCRMSandbox, call: Call) -> Reply | None:
    parts, method = call.parts, call.method
    head = parts[0] if parts else ""
    if parts == ["account"] and method == "GET":
        return _account(sb, call)
    if head == "users":
        if not sb.is_admin(call.user_id):
            return forbidden()
        if len(parts) == 1 and method == "GET":
            return page_of(call, "/api/v4/users", "users", sb.users)
        if len(parts) == 2 and parts[1].isdigit() and method == "GET":
            found = [u for u in sb.users if u["id"] == int(parts[1])]
            return Reply(200, found[0]) if found else Reply(204)
        return not_found()
    if head == "events" and len(parts) == 1 and method == "GET":
        return events(sb, call)
    if head == "webhooks" and len(parts) == 1:
        return webhooks(sb, call)
    if head == "leads" and parts[1:2] == ["pipelines"]:
        return _pipelines(sb, call, parts[2:])
    if parts == ["leads", "complex"]:
        return complex_leads(sb, call)
    for path, (key, rows) in sb.collections.items():
        size = path.count("/") + 1
        if "/".join(parts[:size]) == path and len(parts) <= size + 1:
            if path == "roles" and not sb.is_admin(call.user_id):
                return forbidden()
            return _collection(sb, call, path, key, rows, parts[size:])
    if head in _WITH_PARENTS and len(parts) >= 2:
        rest = parts[1:]
        if rest[0] == "custom_fields" and head in sb.custom_fields:
            return _custom_fields(sb, call, head, rest[1:])
        if rest == ["tags"] and head in sb.tags:
            return _tags(sb, call, head)
        if rest in (["link"], ["unlink"]) and method == "POST":
            return link_many(sb, call, head, unlink=rest[0] == "unlink")
        if len(rest) == 2 and rest[0].isdigit() and rest[1] in ("links", "link", "unlink"):
            return links_of(sb, call, head, int(rest[0]), rest[1])
    if head == "catalogs":
        return catalogs(sb, call, parts[1:])
    if head == "leads" and parts[1:2] == ["unsorted"]:
        return unsorted(sb, call, parts[2:])
    return None


def _collection(
    sb: AmoCRMSandbox,
    call: Call,
    path: str,
    key: str,
    rows: list[dict[str, Any]],
    rest: list[str],
) -> Reply:
    """Loss reasons, customer statuses, roles: list, get, add (``name``), update."""
    if rest:
        if not rest[0].isdigit() or call.method != "GET":
            return not_found() if not rest[0].isdigit() else problem(405, "Method Not Allowed")
        found = [row for row in rows if row["id"] == int(rest[0])]
        return Reply(200, found[0]) if found else Reply(204)
    if call.method == "GET":
        return page_of(call, f"/api/v4/{path}", key, rows)
    if call.method == "PATCH":
        return patch_items(rows, call.json(), key)
    if call.method != "POST":
        return problem(405, "Method Not Allowed")
    data = call.json()
    if not isinstance(data, list) or not all(isinstance(d, dict) and d.get("name") for d in data):
        return validation_failed(
            [
                {
                    "request_id": "0",
                    "errors": [{"code": "NotBlank", "path": "name", "detail": "name is required"}],
                }
            ]
        )
    made = []
    for n, item in enumerate(data):
        row = {"sort": len(rows) + 1, **{k: v for k, v in item.items() if k != "request_id"}}
        row["id"] = sb._new_id()
        rows.append(row)
        made.append({**row, "request_id": str(item.get("request_id", n))})
    return Reply(200, {"_embedded": {key: made}})


# -- account, pipelines --------------------------------------------------------


def _account(sb: AmoCRMSandbox, call: Call) -> Reply:
    wanted = set(filter(None, call.params.get("with", "").split(",")))
    unknown = wanted - ACCOUNT_WITH
    if unknown:
        return refused_parameter("with", f"unknown with: {', '.join(sorted(unknown))}")
    body: dict[str, Any] = {**sb.account, "_links": {"self": call.href("/api/v4/account")}}
    embedded: dict[str, Any] = {}
    if "amojo_id" in wanted:
        body["amojo_id"] = "sandbox-amojo-id"
    if "version" in wanted:
        body["version"] = 1
    if "users_groups" in wanted:
        embedded["users_groups"] = [{"id": 0, "name": "Отдел продаж", "uuid": None}]
    if "task_types" in wanted:
        embedded["task_types"] = [
            {"id": 1, "name": "Связаться", "code": "FOLLOW_UP"},
            {"id": 2, "name": "Встреча", "code": "MEETING"},
        ]
    if "datetime_settings" in wanted:
        embedded["datetime_settings"] = {"timezone": sb.account["timezone"], "date_format": "d.m.Y"}
    if embedded:
        body["_embedded"] = embedded
    return Reply(200, body)


def _render_pipeline(call: Call, pipeline: dict[str, Any]) -> dict[str, Any]:
    here = f"/api/v4/leads/pipelines/{pipeline['id']}"
    statuses = [
        {
            **s,
            "pipeline_id": pipeline["id"],
            "account_id": 1,
            "_links": {"self": call.href(f"{here}/statuses/{s['id']}")},
        }
        for s in pipeline["statuses"]
    ]
    out = {k: v for k, v in pipeline.items() if k != "statuses"}
    return {**out, "_links": {"self": call.href(here)}, "_embedded": {"statuses": statuses}}


def _pipelines(sb: AmoCRMSandbox, call: Call, rest: list[str]) -> Reply:
    pipelines = {p["id"]: p for p in sb.pipelines}
    if not rest:
        if call.method == "GET":
            rendered = [_render_pipeline(call, p) for p in sb.pipelines]
            links = {"self": call.href("/api/v4/leads/pipelines")}
            return Reply(
                200,
                {
                    "_total_items": len(rendered),
                    "_links": links,
                    "_embedded": {"pipelines": rendered},
                },
            )
        if call.method == "POST":
            data = call.json()
            if not isinstance(data, list) or not all(isinstance(p, dict) for p in data):
                return problem(400, "Bad Request", detail="A JSON array of pipelines")
            made = []
            for item in data:
                statuses = (item.get("_embedded") or {}).get("statuses") or []
                pipeline = {
                    "id": sb._new_id(),
                    "name": item.get("name", ""),
                    "sort": item.get("sort", 1),
                    "is_main": False,
                    "is_unsorted_on": bool(item.get("is_unsorted_on")),
                    "is_archive": False,
                    "account_id": 1,
                    "statuses": [
                        {"id": sb._new_id(), "sort": 10, "is_editable": True, "type": 0, **s}
                        for s in statuses
                    ],
                }
                sb.pipelines.append(pipeline)
                made.append(_render_pipeline(call, pipeline))
            return Reply(200, {"_embedded": {"pipelines": made}})
        return problem(405, "Method Not Allowed")
    if not rest[0].isdigit():
        return not_found()
    found_pipeline = pipelines.get(int(rest[0]))
    if found_pipeline is None:
        return Reply(204) if call.method == "GET" else not_found()
    pipeline = found_pipeline
    if len(rest) == 1 and call.method == "GET":
        return Reply(200, _render_pipeline(call, pipeline))
    if len(rest) >= 2 and rest[1] == "statuses":
        rendered = _render_pipeline(call, pipeline)["_embedded"]["statuses"]
        if len(rest) == 2 and call.method == "GET":
            return Reply(200, {"_total_items": len(rendered), "_embedded": {"statuses": rendered}})
        if len(rest) == 3 and rest[2].isdigit() and call.method == "GET":
            found = [s for s in rendered if s["id"] == int(rest[2])]
            return Reply(200, found[0]) if found else Reply(204)
    return not_found()


# -- custom fields, tags ---------------------------------------------------------


def _custom_fields(sb: AmoCRMSandbox, call: Call, entity: str, rest: list[str]) -> Reply:
    if rest == ["groups"] and call.method == "GET":
        groups = sb.custom_field_groups[entity]
        return page_of(
            call,
            f"/api/v4/{entity}/custom_fields/groups",
            "custom_field_groups",
            [{**g, "entity_type": entity} for g in groups],
        )
    if rest and rest[0].isdigit() and len(rest) == 1 and call.method == "GET":
        found = [f for f in sb.custom_fields[entity] if f["id"] == int(rest[0])]
        return Reply(200, {**found[0], "entity_type": entity}) if found else Reply(204)
    if rest:
        return not_found()
    if call.method == "GET":
        fields = [{**f, "entity_type": entity} for f in sb.custom_fields[entity]]
        return page_of(call, f"/api/v4/{entity}/custom_fields", "custom_fields", fields)
    if call.method == "PATCH":
        if not sb.is_admin(call.user_id):
            return forbidden()
        return patch_items(sb.custom_fields[entity], call.json(), "custom_fields")
    if call.method == "POST":
        if not sb.is_admin(call.user_id):
            return forbidden()
        data = call.json()
        if not isinstance(data, list) or not all(
            isinstance(f, dict) and f.get("name") and f.get("type") for f in data
        ):
            return validation_failed(
                [
                    {
                        "request_id": "0",
                        "errors": [
                            {
                                "code": "NotBlank",
                                "path": "name",
                                "detail": "name and type are required",
                            }
                        ],
                    }
                ]
            )
        made: list[dict[str, Any]] = []
        for item in data:
            field = {
                "id": sb._new_id(),
                "code": None,
                "sort": 500,
                "group_id": None,
                "is_api_only": False,
                "enums": None,
                **item,
            }
            field.pop("request_id", None)
            sb.custom_fields[entity].append(field)
            made.append(
                {
                    **field,
                    "entity_type": entity,
                    "request_id": str(item.get("request_id", len(made))),
                }
            )
        return Reply(200, {"_embedded": {"custom_fields": made}})
    return problem(405, "Method Not Allowed")


def resolve_tags(sb: AmoCRMSandbox, entity: str, tags: Any) -> list[dict[str, Any]]:
    """Tags named in a write (``{"id"}`` or ``{"name"}``): known ones found, new ones made."""
    out = []
    for tag in tags if isinstance(tags, list) else []:
        if not isinstance(tag, dict):
            continue
        known = [
            t for t in sb.tags[entity] if t["id"] == tag.get("id") or t["name"] == tag.get("name")
        ]
        if known:
            out.append(known[0])
        elif tag.get("name"):
            out.append(sb._new_tag(entity, str(tag["name"])))
    return [{"id": t["id"], "name": t["name"], "color": t["color"]} for t in out]


def _tags(sb: AmoCRMSandbox, call: Call, entity: str) -> Reply:
    if call.method == "GET":
        try:
            query = parse_brackets(call.pairs)
        except BadParameters as exc:
            return refused_parameter("filter", str(exc))
        rows = select(sb.tags[entity], "tags", query.get("filter") or {}, {"id", "name"})
        if isinstance(rows, Reply):
            return rows
        if query.get("query"):
            rows = [t for t in rows if str(query["query"]).lower() in t["name"].lower()]
        return page_of(call, f"/api/v4/{entity}/tags", "tags", rows)
    if call.method == "POST":
        data = call.json()
        if not isinstance(data, list) or not all(
            isinstance(t, dict) and t.get("name") for t in data
        ):
            return problem(400, "Bad Request", detail="A JSON array of {name} is required")
        made = [
            {**sb._new_tag(entity, str(t["name"])), "request_id": str(t.get("request_id", n))}
            for n, t in enumerate(data)
        ]
        return Reply(200, {"_embedded": {"tags": made}})
    return problem(405, "Method Not Allowed")
