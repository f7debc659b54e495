"""amoCRM's legacy API v2 field names, to and from v4's, without I/O.

v2 says ``sale`` and ``custom_fields`` where v4 says ``price`` and
``custom_fields_values``; its tasks and notes name their parent
``element_id`` / ``element_type`` (a number), its tasks ``complete_till_at`` and
``task_type``, its notes ``note_type`` (a number) and ``text`` (amoCRM's v2
documentation). One set of models reads both dialects through these.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["V2_ELEMENT_TYPES", "V2_NOTE_TYPES", "v2_to_v4", "v4_to_v2"]

#: v2's ``element_type`` numbers (amoCRM v2 docs, tasks and notes).
V2_ELEMENT_TYPES = {"contacts": 1, "leads": 2, "companies": 3, "tasks": 4, "customers": 12}
#: v2's ``note_type`` numbers for the note kinds v4 names.
V2_NOTE_TYPES = {
    "common": 4,
    "call_in": 10,
    "call_out": 11,
    "service_message": 25,
    "sms_in": 102,
    "sms_out": 103,
}

_V2_ELEMENT_NAMES = {number: name for name, number in V2_ELEMENT_TYPES.items()}
_V2_NOTE_NAMES = {number: name for name, number in V2_NOTE_TYPES.items()}
#: Task fields whose names differ: v4 -> v2 (amoCRM v2 docs, ``/api/v2/tasks``).
_V2_TASK_FIELDS = {"complete_till": "complete_till_at", "task_type_id": "task_type"}


def _v2_number(value: Any) -> Any:
    return int(value) if isinstance(value, str) and value.isdigit() else value


def v4_to_v2(
    item: Mapping[str, Any], entity: str = "leads", parent: str | None = None
) -> dict[str, Any]:
    """An entity to write, from v4's field names to v2's.

    Leads and the like: ``sale``, ``custom_fields``. Tasks and notes name their
    parent ``element_id`` / ``element_type`` (a number); tasks say
    ``complete_till_at`` and ``task_type``; notes ``note_type`` as a number and
    ``text`` (v4 keeps it in ``params``). ``parent`` is the notes' parent type.
    """
    if entity in ("tasks", "notes"):
        return _v4_to_v2_attached(item, entity, parent)
    out = {k: v for k, v in item.items() if k not in ("price", "custom_fields_values")}
    if "price" in item:
        out["sale"] = item["price"]
    if "custom_fields_values" in item:
        out["custom_fields"] = [
            {
                "id": field.get("field_id"),
                **({"code": field["field_code"]} if field.get("field_code") else {}),
                "values": field.get("values") or [],
            }
            for field in item["custom_fields_values"] or []
        ]
    return out


def _v4_to_v2_attached(item: Mapping[str, Any], entity: str, parent: str | None) -> dict[str, Any]:
    renames = {"entity_id": "element_id", **(_V2_TASK_FIELDS if entity == "tasks" else {})}
    out = {renames.get(k, k): v for k, v in item.items() if k not in ("entity_type", "params")}
    kind = item.get("entity_type") or parent
    if kind is not None:
        out["element_type"] = V2_ELEMENT_TYPES.get(str(kind), kind)
    if entity == "notes":
        if "note_type" in item:
            out["note_type"] = V2_NOTE_TYPES.get(str(item["note_type"]), item["note_type"])
        params = item.get("params")
        if isinstance(params, Mapping) and "text" in params:
            out["text"] = params["text"]
    return out


def _v2_to_v4_attached(raw: Mapping[str, Any], entity: str) -> dict[str, Any]:
    renames = {"element_id": "entity_id"}
    if entity == "tasks":
        renames.update({v2: v4 for v4, v2 in _V2_TASK_FIELDS.items()})
    out = {renames.get(k, k): v for k, v in raw.items() if k != "element_type"}
    if "element_type" in raw:
        number = _v2_number(raw["element_type"])
        out["entity_type"] = _V2_ELEMENT_NAMES.get(number, raw["element_type"])
    if entity == "notes":
        if "note_type" in raw:
            number = _v2_number(raw["note_type"])
            out["note_type"] = _V2_NOTE_NAMES.get(number, str(raw["note_type"]))
        if "text" in raw and "params" not in raw:
            out["params"] = {"text": out.pop("text")}
    return out


def v2_to_v4(raw: Mapping[str, Any], entity: str = "leads") -> dict[str, Any]:
    """A v2 entity in v4's field names, so one model reads both dialects."""
    if entity in ("tasks", "notes"):
        return _v2_to_v4_attached(raw, entity)
    out = dict(raw)
    if "sale" in out and "price" not in out:
        out["price"] = out.pop("sale")
    if "custom_fields" in out and "custom_fields_values" not in out:
        out["custom_fields_values"] = [
            {
                "field_id": field.get("id"),
                "field_code": field.get("code"),
                "field_name": field.get("name"),
                "values": field.get("values") or [],
            }
            for field in out.pop("custom_fields") or []
            if isinstance(field, Mapping)
        ]
    if isinstance(out.get("pipeline"), Mapping) and "pipeline_id" not in out:
        out["pipeline_id"] = out["pipeline"].get("id")
    return out
