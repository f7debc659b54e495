"""The amoCRM sandbox's records: seeding, v2 rendering, write validation."""

from __future__ import annotations

from typing import Any

from ..sandbox import FakeData

__all__ = ["ENTITIES", "NOTE_PARENTS", "from_v2", "render_v2", "seed_entity", "validate_v4"]

#: The record kinds the sandbox keeps, by their path segment.
ENTITIES = ("leads", "contacts", "companies", "customers", "tasks", "notes")
PHONE_FIELD = 501
#: The parents notes hang under: v4's path segment -> v2's ``type`` parameter.
NOTE_PARENTS = {
    "leads": "lead",
    "contacts": "contact",
    "companies": "company",
    "customers": "customer",
    "tasks": "task",
}


def seed_entity(name: str, fake: FakeData, now: int) -> dict[str, Any]:
    created = fake.instant(now - 86_400 * 30, now - 86_400)
    if name == "leads":
        return {
            "name": f"Deal with {fake.company()}",
            "price": fake.amount(),
            "status_id": 142,
            "pipeline_id": 1,
            "responsible_user_id": 1,
            "created_at": created,
            "custom_fields_values": [
                {
                    "field_id": PHONE_FIELD,
                    "field_code": "PHONE",
                    "values": [{"value": fake.phone()}],
                }
            ],
        }
    if name == "contacts":
        first, last = fake.first_name(), fake.last_name()
        return {
            "name": f"{first} {last}",
            "first_name": first,
            "last_name": last,
            "created_at": created,
        }
    if name == "companies":
        return {"name": fake.company(), "created_at": created}
    if name == "notes":
        return {
            "entity_type": "leads",
            "entity_id": 1,
            "note_type": "common",
            "params": {"text": f"Spoke with {fake.first_name()}"},
            "created_at": created,
        }
    return {
        "text": "Call back",
        "entity_type": "leads",
        "entity_id": 1,
        "task_type_id": 1,
        "created_at": created,
    }


def render_v2(entity: dict[str, Any]) -> dict[str, Any]:
    """v2's shape of an entity: ``sale`` for the price, ``custom_fields`` with ``id``."""
    out = {
        k: v for k, v in entity.items() if k not in ("price", "custom_fields_values", "pipeline_id")
    }
    if "price" in entity:
        out["sale"] = entity["price"]
    if "pipeline_id" in entity:
        out["pipeline"] = {"id": entity["pipeline_id"]}
    out["custom_fields"] = [
        {"id": f.get("field_id"), "code": f.get("field_code"), "values": f.get("values", [])}
        for f in entity.get("custom_fields_values") or []
    ]
    return out


def from_v2(entity: dict[str, Any]) -> dict[str, Any]:
    """A v2 write's entity in the sandbox's own (v4) field names."""
    out = {k: v for k, v in entity.items() if k not in ("request_id", "sale", "custom_fields")}
    if "sale" in entity:
        out["price"] = entity["sale"]
    if "custom_fields" in entity:
        out["custom_fields_values"] = [
            {"field_id": f.get("id"), "values": f.get("values", [])}
            for f in entity["custom_fields"] or []
            if isinstance(f, dict)
        ]
    return out


def validate_v4(entity: Any, *, update: bool, v2: bool = False) -> str | None:
    """What is wrong with one entity of a write, or None."""
    if not isinstance(entity, dict):
        return "each entity must be an object"
    if "name" in entity and not isinstance(entity["name"], str):
        return "name must be a string"
    price = entity.get("sale" if v2 else "price")
    if price is not None and (isinstance(price, bool) or not isinstance(price, int)):
        return "price must be an integer"
    if update and not str(entity.get("id", "")).isdigit():
        return "id is required to update"
    if update and v2 and "updated_at" not in entity:
        return "updated_at is required to update"
    return None
