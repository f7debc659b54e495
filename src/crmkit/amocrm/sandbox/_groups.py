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
from ._data import SINGULAR
from ._reply import Call, Reply, not_found, problem, refused_parameter, validation_failed
from ._v4 import page_of, select

if TYPE_CHECKING:
    from ._app import AmoCRMSandbox

__all__ = ["handle", "link", "resolve_tags"]

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
EVENT_FILTERS = {
    "id",
    "created_at",
    "created_by",
    "entity",
    "entity_id",
    "type",
    "value_before",
    "value_after",
}
EVENTS_MAX = 100
COMPLEX_MAX = 50


def _forbidden() -> Reply:
    return problem(403, "Forbidden", detail="Insufficient rights to call this method")


def handle(sb: AmoCRMSandbox, call: Call) -> Reply | None:
    parts, method = call.parts, call.method
    head = parts[0] if parts else ""
    if parts == ["account"] and method == "GET":
        return _account(sb, call)
    if head == "users":
        if not sb.is_admin(call.user_id):
            return _forbidden()
        if len(parts) == 1 and method == "GET":
            return page_of(call, "/api/v4/users", "users", sb.users)
        if len(parts) == 2 and parts[1].isdigit() and method == "GET":
            found = [u for u in sb.users if u["id"] == int(parts[1])]
            return Reply(200, found[0]) if found else Reply(204)
        return not_found()
    if head == "events" and len(parts) == 1 and method == "GET":
        return _events(sb, call)
    if head == "webhooks" and len(parts) == 1:
        return _webhooks(sb, call)
    if head == "leads" and parts[1:2] == ["pipelines"]:
        return _pipelines(sb, call, parts[2:])
    if parts == ["leads", "complex"]:
        return _complex(sb, call)
    if head in _WITH_PARENTS and len(parts) >= 2:
        rest = parts[1:]
        if rest[0] == "custom_fields" and head in sb.custom_fields:
            return _custom_fields(sb, call, head, rest[1:])
        if rest == ["tags"] and head in sb.tags:
            return _tags(sb, call, head)
        if rest in (["link"], ["unlink"]) and method == "POST":
            return _link_many(sb, call, head, unlink=rest[0] == "unlink")
        if len(rest) == 2 and rest[0].isdigit() and rest[1] in ("links", "link", "unlink"):
            return _links_of(sb, call, head, int(rest[0]), rest[1])
    if head == "catalogs":
        return _catalogs(sb, call, parts[1:])
    if head == "leads" and parts[1:2] == ["unsorted"]:
        return _unsorted(sb, call, parts[2:])
    return None


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
    if call.method == "POST":
        if not sb.is_admin(call.user_id):
            return _forbidden()
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


# -- links -----------------------------------------------------------------------


def link(
    sb: AmoCRMSandbox, entity: str, id: int, to: str, to_id: int, metadata: dict[str, Any]
) -> None:
    """Link two entities both ways, with the ``{to}_linked`` event on the first."""
    sb.links[(entity, id, to, to_id)] = dict(metadata)
    sb.links[(to, to_id, entity, id)] = dict(metadata)
    value = [{"link": {"entity": {"id": to_id, "type": SINGULAR.get(to, to)}}}]
    sb.record(f"{SINGULAR.get(to, to)}_linked", entity, id, after=value)


def _unlink(sb: AmoCRMSandbox, entity: str, id: int, to: str, to_id: int) -> None:
    if sb.links.pop((entity, id, to, to_id), None) is not None:
        sb.links.pop((to, to_id, entity, id), None)
        value = [{"link": {"entity": {"id": to_id, "type": SINGULAR.get(to, to)}}}]
        sb.record(f"{SINGULAR.get(to, to)}_unlinked", entity, id, before=value)


def _link_rows(
    sb: AmoCRMSandbox, call: Call, entity: str, id: int, rows: Any, unlink: bool
) -> list[dict[str, Any]] | Reply:
    if id not in sb.entities[entity]:
        return refused_parameter("entity_id", f"There is no such {entity[:-1]}")
    if not isinstance(rows, list) or not rows:
        return problem(400, "Bad Request", detail="A JSON array of links is required")
    done = []
    for row in rows:
        to = row.get("to_entity_type") if isinstance(row, dict) else None
        to_id = int(row.get("to_entity_id") or 0) if isinstance(row, dict) else 0
        if to not in sb.entities or to_id not in sb.entities[to]:
            return refused_parameter("to_entity_id", "There is no such entity to link")
        if unlink:
            _unlink(sb, entity, id, to, to_id)
        else:
            link(sb, entity, id, to, to_id, row.get("metadata") or {})
        done.append(
            {
                "entity_id": id,
                "entity_type": entity,
                "to_entity_id": to_id,
                "to_entity_type": to,
                "metadata": row.get("metadata"),
            }
        )
    return done


def _links_of(sb: AmoCRMSandbox, call: Call, entity: str, id: int, verb: str) -> Reply:
    if verb == "links" and call.method == "GET":
        if id not in sb.entities[entity]:
            return Reply(204)
        rows = [
            {
                "entity_id": id,
                "entity_type": entity,
                "to_entity_id": t_id,
                "to_entity_type": t,
                "metadata": meta or None,
            }
            for (f, f_id, t, t_id), meta in sb.links.items()
            if f == entity and f_id == id
        ]
        if not rows:
            return Reply(204)
        return Reply(
            200,
            {
                "_total_items": len(rows),
                "_links": {"self": call.href(f"/api/v4/{entity}/{id}/links")},
                "_embedded": {"links": rows},
            },
        )
    if verb in ("link", "unlink") and call.method == "POST":
        done = _link_rows(sb, call, entity, id, call.json(), verb == "unlink")
        if isinstance(done, Reply):
            return done
        return Reply(
            200 if verb == "link" else 204,
            {"_embedded": {"links": done}} if verb == "link" else None,
        )
    return problem(405, "Method Not Allowed")


def _link_many(sb: AmoCRMSandbox, call: Call, entity: str, *, unlink: bool) -> Reply:
    data = call.json()
    if not isinstance(data, list) or not data:
        return problem(400, "Bad Request", detail="A JSON array of links is required")
    done: list[dict[str, Any]] = []
    for row in data:
        id = int(row.get("entity_id") or 0) if isinstance(row, dict) else 0
        part = _link_rows(sb, call, entity, id, [row], unlink)
        if isinstance(part, Reply):
            return part
        done += part
    return Reply(204) if unlink else Reply(200, {"_embedded": {"links": done}})


# -- events, webhooks, complex -----------------------------------------------------


def _events(sb: AmoCRMSandbox, call: Call) -> Reply:
    try:
        query = parse_brackets(call.pairs)
    except BadParameters as exc:
        return refused_parameter("filter", str(exc))
    filters = dict(query.get("filter") or {})
    rows = list(reversed(sb.events))  # newest first, as amoCRM lists them
    if "entity" in filters:
        wanted = filters.pop("entity")
        kinds = {
            SINGULAR.get(str(w), str(w))
            for w in (wanted if isinstance(wanted, list) else str(wanted).split(","))
        }
        rows = [e for e in rows if e["entity_type"] in kinds]
    if "type" in filters:
        wanted = filters.pop("type")
        kinds = set(wanted if isinstance(wanted, list) else str(wanted).split(","))
        rows = [e for e in rows if e["type"] in kinds]
    for key in ("value_before", "value_after"):
        if key in filters:
            return refused_parameter(f"filter[{key}]", "only with filter[type] of one kind")
    picked = select(rows, "events", filters, EVENT_FILTERS)
    if isinstance(picked, Reply):
        return picked
    if int(call.params.get("limit", EVENTS_MAX) or EVENTS_MAX) > EVENTS_MAX:
        return refused_parameter("limit", f"events are listed {EVENTS_MAX} at most a page")
    rendered = [
        {
            **e,
            "_links": {"self": call.href(f"/api/v4/events/{e['id']}")},
            "_embedded": {"entity": {"id": e["entity_id"]}},
        }
        for e in picked
    ]
    return page_of(call, "/api/v4/events", "events", rendered)


def _webhooks(sb: AmoCRMSandbox, call: Call) -> Reply:
    if not sb.is_admin(call.user_id):
        return _forbidden()
    if call.method == "GET":
        rows = list(sb.webhooks.values())
        filters = parse_brackets(call.pairs).get("filter") or {}
        if isinstance(filters, dict) and filters.get("destination"):
            rows = [w for w in rows if w["destination"] == filters["destination"]]
        if not rows:
            return Reply(204)
        return Reply(200, {"_total_items": len(rows), "_embedded": {"webhooks": rows}})
    data = call.json()
    destination = data.get("destination") if isinstance(data, dict) else None
    if not isinstance(destination, str) or not destination.startswith("https://"):
        return validation_failed(
            [
                {
                    "request_id": "0",
                    "errors": [
                        {"code": "InvalidUrl", "path": "destination", "detail": "an https URL"}
                    ],
                }
            ]
        )
    if call.method == "POST":
        settings = data.get("settings")
        if not isinstance(settings, list) or not settings:
            return validation_failed(
                [
                    {
                        "request_id": "0",
                        "errors": [
                            {
                                "code": "NotBlank",
                                "path": "settings",
                                "detail": "settings are required",
                            }
                        ],
                    }
                ]
            )
        hook = {
            "id": sb._new_id(),
            "destination": destination,
            "created_at": sb.clock.now_int(),
            "updated_at": sb.clock.now_int(),
            "account_id": 1,
            "created_by": call.user_id,
            "sort": 1,
            "disabled": False,
            "settings": settings,
        }
        sb.webhooks[destination] = hook
        return Reply(200, hook)
    if call.method == "DELETE":
        sb.webhooks.pop(destination, None)
        return Reply(204)
    return problem(405, "Method Not Allowed")


def _complex(sb: AmoCRMSandbox, call: Call) -> Reply:
    """``POST /api/v4/leads/complex``: a lead with a new contact and company, 50 at most."""
    from ._v4 import check, write

    if call.method != "POST":
        return problem(405, "Method Not Allowed")
    data = call.json()
    if not isinstance(data, list) or not data or len(data) > COMPLEX_MAX:
        return problem(
            400, "Bad Request", detail=f"A JSON array of 1 to {COMPLEX_MAX} leads is required"
        )
    failures = []
    for index, lead in enumerate(data):
        text = check(sb, "leads", lead, update=False)
        if text:
            rid = str(lead.get("request_id", index)) if isinstance(lead, dict) else str(index)
            failures.append(
                {
                    "request_id": rid,
                    "errors": [{"code": "InvalidValue", "path": "", "detail": text}],
                }
            )
    if failures:
        return validation_failed(failures)
    out = []
    for index, lead in enumerate(data):
        embedded = lead.get("_embedded") or {}
        made: dict[str, int | None] = {"contact_id": None, "company_id": None}
        for key, kind in (("contacts", "contact_id"), ("companies", "company_id")):
            for item in (embedded.get(key) or [])[:1]:
                fields = {k: v for k, v in item.items() if k not in ("id",)}
                target = (
                    write(sb, key, fields, None, call.user_id or 1)
                    if not item.get("id")
                    else sb.entities[key].get(int(item["id"]))
                )
                made[kind] = target["id"] if target else None
        fields = {k: v for k, v in lead.items() if k not in ("request_id",)}
        fields["_embedded"] = {k: v for k, v in embedded.items() if k == "tags"}
        stored = write(sb, "leads", fields, None, call.user_id or 1)
        for key, kind in (("contacts", "contact_id"), ("companies", "company_id")):
            if made[kind]:
                link(sb, "leads", stored["id"], key, int(made[kind] or 0), {})
        out.append(
            {
                "id": stored["id"],
                **made,
                "request_id": [str(lead.get("request_id", index))],
                "merged": False,
            }
        )
    return Reply(200, out)


# -- catalogs, unsorted --------------------------------------------------------------


def _catalogs(sb: AmoCRMSandbox, call: Call, rest: list[str]) -> Reply:
    if not rest:
        if call.method == "GET":
            return page_of(call, "/api/v4/catalogs", "catalogs", list(sb.catalogs.values()))
        if call.method == "POST":
            data = call.json()
            if not isinstance(data, list) or not all(
                isinstance(c, dict) and c.get("name") for c in data
            ):
                return problem(400, "Bad Request", detail="A JSON array of {name}")
            made = []
            for n, item in enumerate(data):
                catalog = {
                    "id": sb._new_id(),
                    "name": item["name"],
                    "type": item.get("type", "regular"),
                    "sort": item.get("sort", 0),
                    "can_add_elements": True,
                    "can_link_multiple": True,
                    "account_id": 1,
                }
                sb.catalogs[catalog["id"]] = catalog
                made.append({**catalog, "request_id": str(item.get("request_id", n))})
            return Reply(200, {"_embedded": {"catalogs": made}})
        return problem(405, "Method Not Allowed")
    if not rest[0].isdigit() or int(rest[0]) not in sb.catalogs:
        return not_found()
    catalog_id = int(rest[0])
    if len(rest) == 1 and call.method == "GET":
        return Reply(200, sb.catalogs[catalog_id])
    if len(rest) >= 2 and rest[1] == "elements":
        elements = [e for e in sb.catalog_elements.values() if e["catalog_id"] == catalog_id]
        if len(rest) == 3 and rest[2].isdigit() and call.method == "GET":
            found = [e for e in elements if e["id"] == int(rest[2])]
            return Reply(200, found[0]) if found else Reply(204)
        if len(rest) == 2 and call.method == "GET":
            text = call.params.get("query", "").lower()
            rows = [e for e in elements if text in e["name"].lower()]
            return page_of(call, f"/api/v4/catalogs/{catalog_id}/elements", "elements", rows)
        if len(rest) == 2 and call.method in ("POST", "PATCH"):
            data = call.json()
            if not isinstance(data, list) or not all(isinstance(e, dict) for e in data):
                return problem(400, "Bad Request", detail="A JSON array of elements")
            out = []
            for n, item in enumerate(data):
                if call.method == "PATCH":
                    element = sb.catalog_elements.get(int(item.get("id") or 0))
                    if element is None or element["catalog_id"] != catalog_id:
                        return validation_failed(
                            [
                                {
                                    "request_id": str(n),
                                    "errors": [
                                        {
                                            "code": "NotFound",
                                            "path": "id",
                                            "detail": "no such element",
                                        }
                                    ],
                                }
                            ]
                        )
                    element.update({k: v for k, v in item.items() if k not in ("id", "request_id")})
                else:
                    element = {
                        "id": sb._new_id(),
                        "catalog_id": catalog_id,
                        "name": "",
                        "custom_fields_values": None,
                        "is_deleted": False,
                        **{k: v for k, v in item.items() if k != "request_id"},
                    }
                    sb.catalog_elements[element["id"]] = element
                out.append({**element, "request_id": str(item.get("request_id", n))})
            return Reply(200, {"_embedded": {"elements": out}})
    return not_found()


def _unsorted(sb: AmoCRMSandbox, call: Call, rest: list[str]) -> Reply:
    """``/api/v4/leads/unsorted``: list, ``forms`` add, ``{uid}/accept|decline|link``."""
    if not rest and call.method == "GET":
        rows = sorted(sb.unsorted.values(), key=lambda u: u["created_at"])
        category = call.params.get("filter[category][]") or call.params.get("filter[category]")
        if category:
            rows = [u for u in rows if u["category"] == category]
        return page_of(call, "/api/v4/leads/unsorted", "unsorted", rows)
    if rest in (["forms"], ["sip"]) and call.method == "POST":
        data = call.json()
        if not isinstance(data, list) or not all(isinstance(u, dict) for u in data):
            return problem(400, "Bad Request", detail="A JSON array of unsorted entries")
        made = []
        for n, item in enumerate(data):
            embedded = item.get("_embedded") or {}
            leads = embedded.get("leads") or [{"name": item.get("source_name", "Unsorted")}]
            lead = write(sb, "leads", {**leads[0], "status_id": 10}, None, call.user_id or 1)
            uid = f"sandbox-unsorted-{sb._new_id()}"
            entry = {
                "uid": uid,
                "source_uid": item.get("source_uid"),
                "source_name": item.get("source_name"),
                "category": rest[0],
                "pipeline_id": item.get("pipeline_id", 1),
                "created_at": sb.clock.now_int(),
                "metadata": item.get("metadata") or {},
                "account_id": 1,
                "_embedded": {"leads": [{"id": lead["id"]}], "contacts": [], "companies": []},
            }
            sb.unsorted[uid] = entry
            made.append(
                {
                    "uid": uid,
                    "request_id": str(item.get("request_id", n)),
                    "_embedded": entry["_embedded"],
                }
            )
        return Reply(200, {"_embedded": {"unsorted": made}})
    if len(rest) == 1 and call.method == "GET":
        one = sb.unsorted.get(rest[0])
        return Reply(200, one) if one else Reply(204)
    if len(rest) == 2 and rest[1] in ("accept", "decline", "link") and call.method == "POST":
        pending = sb.unsorted.get(rest[0])
        if pending is None:
            return not_found()
        entry = pending
        lead_id = entry["_embedded"]["leads"][0]["id"]
        data = call.json() if call.body else {}
        data = data if isinstance(data, dict) else {}
        if rest[1] == "accept":
            status = int(data.get("status_id") or 11)
            sb.change("leads", sb.entities["leads"][lead_id], {"status_id": status})
        elif rest[1] == "decline":
            sb.delete("leads", [lead_id])
        else:
            target = int(data.get("entity_id") or 0)
            if target not in sb.entities["leads"]:
                return refused_parameter("entity_id", "There is no such lead")
        sb.unsorted.pop(rest[0])
        return Reply(200, {"uid": rest[0], "_embedded": entry["_embedded"]})
    return not_found()


def write(sb: AmoCRMSandbox, name: str, fields: dict[str, Any], id: Any, user_id: int) -> Any:
    from ._v4 import write as v4_write

    return v4_write(sb, name, fields, id, user_id)
