"""The amoCRM sandbox's records: what an account holds when it starts, and v2's shapes.

Seeded users (an admin and a manager), a pipeline with its statuses, custom
fields (and a group) per entity, tags, and the fake leads, contacts,
companies, tasks and notes. Written from amoCRM's v4 and v2 documentation and
the official PHP SDK's models (``amocrm/amocrm-api-php`` ``src/AmoCRM/Models``),
never from crmkit's client.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import orjson

from ...sandbox import FakeData

__all__ = [
    "CUSTOM_FIELDS",
    "ENTITIES",
    "NOTE_PARENTS",
    "PIPELINES",
    "SIMPLE_COLLECTIONS",
    "USERS",
    "from_v2",
    "make_jwt",
    "render_v2",
    "seed_entity",
    "validate_v4",
]

#: The record kinds the sandbox keeps, by their path segment.
ENTITIES = ("leads", "contacts", "companies", "customers", "tasks", "notes")
#: v4 entity path -> the singular amoCRM uses in events, links and webhooks.
SINGULAR = {
    "leads": "lead",
    "contacts": "contact",
    "companies": "company",
    "customers": "customer",
    "tasks": "task",
    "catalog_elements": "catalog_element",
}
PHONE_FIELD = 501
#: The parents notes hang under: v4's path segment -> v2's ``type`` parameter.
NOTE_PARENTS = {
    "leads": "lead",
    "contacts": "contact",
    "companies": "company",
    "customers": "customer",
    "tasks": "task",
}
#: v2's element_type numbers (amoCRM API v2 docs: tasks, notes).
ELEMENT_TYPES = {"contacts": 1, "leads": 2, "companies": 3, "tasks": 4, "customers": 12}
#: v2's note_type numbers for the kinds v4 names (v2 docs, "Типы примечаний").
NOTE_TYPES = {
    "common": 4,
    "call_in": 10,
    "call_out": 11,
    "service_message": 25,
    "sms_in": 102,
    "sms_out": 103,
}

USERS: list[dict[str, Any]] = [
    {
        "id": 1,
        "name": "Admin",
        "email": "admin@example.test",
        "lang": "ru",
        "rights": {
            "leads": {"view": "A", "edit": "A", "add": "A", "delete": "A", "export": "A"},
            "mail_access": True,
            "catalog_access": True,
            "status_rights": [],
            "is_admin": True,
            "is_free": False,
            "is_active": True,
            "group_id": None,
            "role_id": None,
        },
    },
    {
        "id": 2,
        "name": "Manager",
        "email": "manager@example.test",
        "lang": "ru",
        "rights": {
            "leads": {"view": "M", "edit": "M", "add": "A", "delete": "D", "export": "D"},
            "mail_access": False,
            "catalog_access": False,
            "status_rights": [],
            "is_admin": False,
            "is_free": False,
            "is_active": True,
            "group_id": None,
            "role_id": None,
        },
    },
]

#: One pipeline and its statuses (142 won and 143 lost are fixed ids in every account).
PIPELINES: list[dict[str, Any]] = [
    {
        "id": 1,
        "name": "Воронка",
        "sort": 1,
        "is_main": True,
        "is_unsorted_on": True,
        "is_archive": False,
        "account_id": 1,
        "statuses": [
            {"id": 10, "name": "Неразобранное", "sort": 10, "is_editable": False, "type": 1},
            {"id": 11, "name": "Первичный контакт", "sort": 20, "is_editable": True, "type": 0},
            {"id": 12, "name": "Переговоры", "sort": 30, "is_editable": True, "type": 0},
            {
                "id": 142,
                "name": "Успешно реализовано",
                "sort": 10000,
                "is_editable": False,
                "type": 0,
            },
            {
                "id": 143,
                "name": "Закрыто и не реализовано",
                "sort": 11000,
                "is_editable": False,
                "type": 0,
            },
        ],
    }
]

#: Custom fields per entity: the seeded entities carry values of these.
CUSTOM_FIELDS: dict[str, list[dict[str, Any]]] = {
    "leads": [
        {
            "id": PHONE_FIELD,
            "name": "Phone",
            "code": "PHONE",
            "type": "text",
            "sort": 1,
            "group_id": None,
            "is_api_only": False,
            "enums": None,
        },
        {
            "id": 502,
            "name": "Source",
            "code": None,
            "type": "select",
            "sort": 2,
            "group_id": "leads_1",
            "is_api_only": False,
            "enums": [{"id": 1, "value": "Site", "sort": 1}, {"id": 2, "value": "Call", "sort": 2}],
        },
    ],
    "contacts": [
        {
            "id": 601,
            "name": "Телефон",
            "code": "PHONE",
            "type": "multitext",
            "sort": 1,
            "group_id": None,
            "is_api_only": False,
            "enums": [
                {"id": 11, "value": "WORK", "sort": 1},
                {"id": 12, "value": "MOB", "sort": 2},
            ],
        },
        {
            "id": 602,
            "name": "Email",
            "code": "EMAIL",
            "type": "multitext",
            "sort": 2,
            "group_id": None,
            "is_api_only": False,
            "enums": [{"id": 21, "value": "WORK", "sort": 1}],
        },
    ],
    "companies": [
        {
            "id": 701,
            "name": "Web",
            "code": "WEB",
            "type": "url",
            "sort": 1,
            "group_id": None,
            "is_api_only": False,
            "enums": None,
        },
    ],
    "customers": [],
}
CUSTOM_FIELD_GROUPS: dict[str, list[dict[str, Any]]] = {
    "leads": [{"id": "leads_1", "name": "Marketing", "sort": 1, "is_predefined": False}],
    "contacts": [],
    "companies": [],
    "customers": [],
}


#: Small collections of one shape (list, get, add, update): path -> (``_embedded`` key, rows).
#: From the v4 docs and the PHP SDK's ``Leads/LossReasons``, ``Customers/Statuses``, ``Roles``.
SIMPLE_COLLECTIONS: dict[str, tuple[str, list[dict[str, Any]]]] = {
    "leads/loss_reasons": (
        "loss_reasons",
        [
            {"id": 1, "name": "Дорого", "sort": 1, "created_at": 1_700_000_000},
            {"id": 2, "name": "Долгие сроки", "sort": 2, "created_at": 1_700_000_000},
        ],
    ),
    "customers/statuses": (
        "statuses",
        [
            {
                "id": 1,
                "name": "Ожидается покупка",
                "sort": 1,
                "is_default": True,
                "color": "#fffeb2",
                "type": 0,
                "conditions": [],
            },
            {
                "id": 2,
                "name": "Недавно купили",
                "sort": 2,
                "is_default": False,
                "color": "#ccff66",
                "type": 0,
                "conditions": [],
            },
            {
                "id": 3,
                "name": "Закрыто",
                "sort": 3,
                "is_default": False,
                "color": "#c1c1c1",
                "type": 2,
                "conditions": [],
            },
        ],
    ),
    "roles": (
        "roles",
        [{"id": 1, "name": "Менеджер", "rights": {"leads": {"view": "M", "edit": "M"}}}],
    ),
}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_jwt(claims: dict[str, Any]) -> str:
    """A JWT-shaped token (header.payload.signature, base64url) as amoCRM issues.

    amoCRM's access tokens (long-lived and OAuth) are RS256 JWTs carrying
    ``exp``, ``iat``, ``sub`` (the user), ``account_id`` and ``api_domain``;
    clients decode ``exp`` without checking the signature. The signature here
    is a digest, not RSA: nobody outside amoCRM can check the real one either.
    """
    header = _b64(orjson.dumps({"typ": "JWT", "alg": "RS256"}))
    payload = _b64(orjson.dumps(claims))
    signature = _b64(hashlib.sha256(f"{header}.{payload}".encode()).digest())
    return f"{header}.{payload}.{signature}"


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
                    "field_name": "Phone",
                    "field_code": "PHONE",
                    "field_type": "text",
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
            "responsible_user_id": 1,
            "created_at": created,
            "custom_fields_values": [
                {
                    "field_id": 601,
                    "field_name": "Телефон",
                    "field_code": "PHONE",
                    "field_type": "multitext",
                    "values": [{"value": fake.phone(), "enum_id": 11, "enum_code": "WORK"}],
                }
            ],
        }
    if name == "companies":
        return {"name": fake.company(), "responsible_user_id": 1, "created_at": created}
    if name == "customers":
        return {"name": fake.company(), "next_price": fake.amount(), "created_at": created}
    if name == "notes":
        return {
            "entity_type": "leads",
            "entity_id": 1,
            "note_type": "common",
            "params": {"text": f"Spoke with {fake.first_name()}"},
            "responsible_user_id": 1,
            "created_by": 1,
            "created_at": created,
        }
    return {
        "text": "Call back",
        "entity_type": "leads",
        "entity_id": 1,
        "task_type_id": 1,
        "is_completed": False,
        "complete_till": created + 86_400,
        "responsible_user_id": 1,
        "created_at": created,
    }


def render_v2(name: str, entity: dict[str, Any]) -> dict[str, Any]:
    """v2's shape of an entity: ``sale``, ``custom_fields``; tasks and notes by ``element_*``."""
    if name in ("tasks", "notes"):
        return _render_v2_attached(name, entity)
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


def _render_v2_attached(name: str, entity: dict[str, Any]) -> dict[str, Any]:
    out = {
        k: v
        for k, v in entity.items()
        if k not in ("entity_id", "entity_type", "complete_till", "task_type_id", "params")
    }
    out["element_id"] = entity.get("entity_id")
    out["element_type"] = ELEMENT_TYPES.get(str(entity.get("entity_type")), 2)
    if name == "tasks":
        out["complete_till_at"] = entity.get("complete_till")
        out["task_type"] = entity.get("task_type_id")
    else:
        out["note_type"] = NOTE_TYPES.get(str(entity.get("note_type")), 4)
        out["text"] = (entity.get("params") or {}).get("text", "")
    return out


def from_v2(name: str, entity: dict[str, Any]) -> dict[str, Any]:
    """A v2 write's entity in the sandbox's own (v4) field names."""
    if name in ("tasks", "notes"):
        return _from_v2_attached(name, entity)
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


def _from_v2_attached(name: str, entity: dict[str, Any]) -> dict[str, Any]:
    kinds = {number: kind for kind, number in ELEMENT_TYPES.items()}
    notes = {number: kind for kind, number in NOTE_TYPES.items()}
    renames = {"element_id": "entity_id", "complete_till_at": "complete_till"}
    renames["task_type"] = "task_type_id"
    out = {
        renames.get(k, k): v
        for k, v in entity.items()
        if k not in ("request_id", "element_type", "note_type", "text")
    }
    if "element_type" in entity:
        out["entity_type"] = kinds.get(int(entity["element_type"]), "leads")
    if name == "tasks" and "text" in entity:
        out["text"] = entity["text"]
    if name == "notes":
        if "note_type" in entity:
            out["note_type"] = notes.get(int(entity["note_type"]), "common")
        if "text" in entity:
            out["params"] = {"text": entity["text"]}
    return out


def validate_v4(entity: Any, *, update: bool, v2: bool = False, name: str = "leads") -> str | None:
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
    if v2 and not update and name in ("tasks", "notes"):
        # v2 names a task's or note's parent element_id/element_type (v2 docs)
        for field in ("element_id", "element_type"):
            if not str(entity.get(field, "")).isdigit():
                return f"{field} is required"
        if name == "notes" and not str(entity.get("note_type", "")).isdigit():
            return "note_type (a number) is required"
        if name == "tasks" and not str(entity.get("complete_till_at", "")).isdigit():
            return "complete_till_at is required"
    return None
