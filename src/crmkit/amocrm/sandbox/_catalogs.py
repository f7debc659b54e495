"""The sandbox's catalogs with their elements, and unsorted (amoCRM v4 docs; the official
PHP SDK's ``Catalogs``, ``CatalogElements`` and ``Unsorted``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._reply import (
    Call,
    Reply,
    not_found,
    patch_items,
    problem,
    refused_parameter,
    validation_failed,
)
from ._v4 import page_of, write

if TYPE_CHECKING:
    from ._app import AmoCRMSandbox

__all__ = ["catalogs", "unsorted"]


# -- catalogs, unsorted --------------------------------------------------------------


def catalogs(sb: AmoCRMSandbox, call: Call, rest: list[str]) -> Reply:
    if not rest:
        if call.method == "GET":
            return page_of(call, "/api/v4/catalogs", "catalogs", list(sb.catalogs.values()))
        if call.method == "PATCH":
            return patch_items(list(sb.catalogs.values()), call.json(), "catalogs")
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


def unsorted(sb: AmoCRMSandbox, call: Call, rest: list[str]) -> Reply:
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
