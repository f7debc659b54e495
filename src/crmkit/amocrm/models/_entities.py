"""amoCRM entity models: leads, contacts, companies, customers, tasks, notes.

One set of frozen attrs classes reads both dialects (v2 answers are first
renamed to v4's field names). Timestamps become aware UTC datetimes; fields the
models do not name stay in ``extra``. Custom fields are read and set by field
id or code with :meth:`CustomFields.custom_field` and :meth:`CustomFields.with_custom_field`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

import attrs

__all__ = [
    "Company",
    "Contact",
    "CustomFieldValue",
    "Customer",
    "Lead",
    "Note",
    "Task",
]

C = TypeVar("C", bound="CustomFields")


def _extra() -> Any:
    return attrs.field(factory=dict, repr=False, kw_only=True)


@attrs.frozen
class CustomFieldValue:
    """One custom field of an entity: its id or code, and its values (``[{"value": ...}]``)."""

    __wire_snake_case__ = True

    field_id: int | None = None
    field_code: str | None = None
    field_name: str | None = None
    values: list[dict[str, Any]] = attrs.field(factory=list)
    extra: dict[str, Any] = _extra()


@attrs.frozen
class CustomFields:
    """The custom-field helpers every entity with ``custom_fields_values`` shares."""

    __wire_snake_case__ = True
    custom_fields_values: list[CustomFieldValue] | None = None

    def _find(self, key: int | str) -> CustomFieldValue | None:
        for field in self.custom_fields_values or []:
            if field.field_id == key or (isinstance(key, str) and field.field_code == key):
                return field
        return None

    def custom_field(self, key: int | str, default: Any = None) -> Any:
        """The (first) value of the custom field with this id or code."""
        field = self._find(key)
        if field is None or not field.values:
            return default
        return field.values[0].get("value", default)

    def custom_field_values(self, key: int | str) -> list[Any]:
        """Every value of a multi-value custom field (phones, e-mails ...)."""
        field = self._find(key)
        return [v.get("value") for v in field.values] if field else []

    def with_custom_field(self: C, key: int | str, *values: Any) -> C:
        """A copy with the custom field ``key`` (an id, or a code) set to ``values``.

        A field the entity already has keeps its id, code and place; the
        original entity is unchanged.
        """
        wire_values = [{"value": v} for v in values]
        found = self._find(key)
        fields = list(self.custom_fields_values or [])
        if found is not None:
            fields[fields.index(found)] = attrs.evolve(found, values=wire_values)
        else:
            fields.append(
                CustomFieldValue(
                    field_id=key if isinstance(key, int) else None,
                    field_code=key if isinstance(key, str) else None,
                    values=wire_values,
                )
            )
        return attrs.evolve(self, custom_fields_values=fields)


@attrs.frozen
class Lead(CustomFields):
    """A deal (``/api/v4/leads``; v2 ``/api/v2/leads``)."""

    __wire_snake_case__ = True
    id: int | None = None
    name: str | None = None
    price: int | None = None
    status_id: int | None = None
    pipeline_id: int | None = None
    responsible_user_id: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    closed_at: datetime | None = None
    extra: dict[str, Any] = _extra()


@attrs.frozen
class Contact(CustomFields):
    """A person (``/api/v4/contacts``)."""

    __wire_snake_case__ = True
    id: int | None = None
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    responsible_user_id: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    extra: dict[str, Any] = _extra()


@attrs.frozen
class Company(CustomFields):
    """A company (``/api/v4/companies``)."""

    __wire_snake_case__ = True
    id: int | None = None
    name: str | None = None
    responsible_user_id: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    extra: dict[str, Any] = _extra()


@attrs.frozen
class Customer(CustomFields):
    """A repeat-purchase customer (``/api/v4/customers``; the account must have them enabled)."""

    __wire_snake_case__ = True
    id: int | None = None
    name: str | None = None
    next_price: int | None = None
    next_date: datetime | None = None
    responsible_user_id: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    extra: dict[str, Any] = _extra()


@attrs.frozen
class Task:
    """A task attached to an entity (``/api/v4/tasks``); ``complete_till`` is its deadline."""

    __wire_snake_case__ = True
    id: int | None = None
    text: str | None = None
    entity_id: int | None = None
    entity_type: str | None = None
    task_type_id: int | None = None
    is_completed: bool | None = None
    complete_till: datetime | None = None
    responsible_user_id: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    extra: dict[str, Any] = _extra()


@attrs.frozen
class Note:
    """A note on an entity's timeline (``/api/v4/{parent}/notes``); ``params`` by ``note_type``."""

    __wire_snake_case__ = True
    id: int | None = None
    entity_id: int | None = None
    note_type: str | None = None
    params: dict[str, Any] | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    extra: dict[str, Any] = _extra()
