"""The sandbox's links, events, webhooks and ``leads/complex`` (amoCRM v4 docs; the
official PHP SDK's ``Links``, ``Events``, ``Webhooks`` and ``Leads::addComplex``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..._params import BadParameters, parse_brackets
from ._data import SINGULAR
from ._reply import Call, Reply, forbidden, problem, refused_parameter, validation_failed
from ._v4 import check, page_of, select, write

if TYPE_CHECKING:
    from ._app import AmoCRMSandbox

__all__ = ["complex_leads", "events", "link", "link_many", "links_of", "webhooks"]

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


def links_of(sb: AmoCRMSandbox, call: Call, entity: str, id: int, verb: str) -> Reply:
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


def link_many(sb: AmoCRMSandbox, call: Call, entity: str, *, unlink: bool) -> Reply:
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


def events(sb: AmoCRMSandbox, call: Call) -> Reply:
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


def webhooks(sb: AmoCRMSandbox, call: Call) -> Reply:
    if not sb.is_admin(call.user_id):
        return forbidden()
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


def complex_leads(sb: AmoCRMSandbox, call: Call) -> Reply:
    """``POST /api/v4/leads/complex``: a lead with a new contact and company, 50 at most."""
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
