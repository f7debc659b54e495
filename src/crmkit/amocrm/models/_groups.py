"""amoCRM models of the groups around the entities: the account, users, pipelines and
statuses, custom fields and their groups, tags, links, events, webhooks, catalogs,
unsorted entries and ``leads/complex`` results.

Field names follow amoCRM's v4 answers (the official PHP SDK's
``src/AmoCRM/Models``); what a model does not name stays in ``extra``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from ._entities import _extra

__all__ = [
    "Account",
    "Catalog",
    "CatalogElement",
    "ComplexResult",
    "CustomField",
    "CustomFieldGroup",
    "CustomerStatus",
    "Event",
    "Link",
    "LossReason",
    "Pipeline",
    "Role",
    "Status",
    "Tag",
    "UnsortedEntry",
    "User",
    "Webhook",
]


@attrs.frozen
class Account:
    """The account itself (``/api/v4/account``; ``with=`` parts land in ``extra``)."""

    __wire_snake_case__ = True
    id: int | None = None
    name: str | None = None
    subdomain: str | None = None
    currency: str | None = None
    timezone: str | None = None
    country: str | None = None
    current_user_id: int | None = None
    extra: dict[str, Any] = _extra()


@attrs.frozen
class User:
    """A user of the account (``/api/v4/users``; needs an admin's token). Rights in ``rights``."""

    __wire_snake_case__ = True
    id: int | None = None
    name: str | None = None
    email: str | None = None
    lang: str | None = None
    rights: dict[str, Any] | None = None
    extra: dict[str, Any] = _extra()

    @property
    def is_admin(self) -> bool:
        return bool((self.rights or {}).get("is_admin"))


@attrs.frozen
class Status:
    """A stage of a pipeline (``/api/v4/leads/pipelines/{id}/statuses``)."""

    __wire_snake_case__ = True
    id: int | None = None
    name: str | None = None
    sort: int | None = None
    pipeline_id: int | None = None
    is_editable: bool | None = None
    color: str | None = None
    type: int | None = None
    extra: dict[str, Any] = _extra()


@attrs.frozen
class Pipeline:
    """A sales pipeline (``/api/v4/leads/pipelines``) with its statuses."""

    __wire_snake_case__ = True
    id: int | None = None
    name: str | None = None
    sort: int | None = None
    is_main: bool | None = None
    is_unsorted_on: bool | None = None
    is_archive: bool | None = None
    statuses: list[Status] = attrs.field(factory=list)
    extra: dict[str, Any] = _extra()


@attrs.frozen
class CustomField:
    """A custom field of one entity type (``/api/v4/{entity}/custom_fields``)."""

    __wire_snake_case__ = True
    id: int | None = None
    name: str | None = None
    code: str | None = None
    type: str | None = None
    sort: int | None = None
    entity_type: str | None = None
    group_id: str | None = None
    is_api_only: bool | None = None
    enums: list[dict[str, Any]] | None = None
    extra: dict[str, Any] = _extra()


@attrs.frozen
class CustomFieldGroup:
    """A group (tab) of custom fields (``/api/v4/{entity}/custom_fields/groups``)."""

    __wire_snake_case__ = True
    id: str | None = None
    name: str | None = None
    sort: int | None = None
    entity_type: str | None = None
    is_predefined: bool | None = None
    extra: dict[str, Any] = _extra()


@attrs.frozen
class Tag:
    """A tag of one entity type (``/api/v4/{entity}/tags``)."""

    __wire_snake_case__ = True
    id: int | None = None
    name: str | None = None
    color: str | None = None
    extra: dict[str, Any] = _extra()


@attrs.frozen
class Link:
    """A link between two entities (``/api/v4/{entity}/{id}/links``)."""

    __wire_snake_case__ = True
    entity_id: int | None = None
    entity_type: str | None = None
    to_entity_id: int | None = None
    to_entity_type: str | None = None
    metadata: dict[str, Any] | None = None
    extra: dict[str, Any] = _extra()


@attrs.frozen
class Event:
    """One change in the account (``/api/v4/events``): ``lead_added``, ``lead_deleted`` ..."""

    __wire_snake_case__ = True
    id: str | None = None
    type: str | None = None
    entity_id: int | None = None
    entity_type: str | None = None
    created_by: int | None = None
    created_at: datetime | None = None
    value_after: list[Any] | None = None
    value_before: list[Any] | None = None
    extra: dict[str, Any] = _extra()


@attrs.frozen
class Webhook:
    """A webhook subscription (``/api/v4/webhooks``)."""

    __wire_snake_case__ = True
    id: int | None = None
    destination: str | None = None
    settings: list[str] = attrs.field(factory=list)
    disabled: bool | None = None
    created_at: datetime | None = None
    extra: dict[str, Any] = _extra()


@attrs.frozen
class Catalog:
    """A list (catalog) of the account (``/api/v4/catalogs``)."""

    __wire_snake_case__ = True
    id: int | None = None
    name: str | None = None
    type: str | None = None
    sort: int | None = None
    extra: dict[str, Any] = _extra()


@attrs.frozen
class CatalogElement:
    """An element of a catalog (``/api/v4/catalogs/{id}/elements``)."""

    __wire_snake_case__ = True
    id: int | None = None
    catalog_id: int | None = None
    name: str | None = None
    custom_fields_values: list[dict[str, Any]] | None = None
    extra: dict[str, Any] = _extra()


@attrs.frozen
class UnsortedEntry:
    """An incoming request waiting in "unsorted" (``/api/v4/leads/unsorted``)."""

    __wire_snake_case__ = True
    uid: str | None = None
    source_uid: str | None = None
    source_name: str | None = None
    category: str | None = None
    pipeline_id: int | None = None
    created_at: datetime | None = None
    extra: dict[str, Any] = _extra()


@attrs.frozen
class ComplexResult:
    """What ``leads/complex`` made for one lead: its id and its new contact's and company's."""

    __wire_snake_case__ = True
    id: int | None = None
    contact_id: int | None = None
    company_id: int | None = None
    request_id: list[str] = attrs.field(factory=list)
    merged: bool | None = None
    extra: dict[str, Any] = _extra()


@attrs.frozen
class LossReason:
    """Why a lead was lost (``/api/v4/leads/loss_reasons``)."""

    __wire_snake_case__ = True
    id: int | None = None
    name: str | None = None
    sort: int | None = None
    extra: dict[str, Any] = _extra()


@attrs.frozen
class CustomerStatus:
    """A segment of the customers' pipeline (``/api/v4/customers/statuses``)."""

    __wire_snake_case__ = True
    id: int | None = None
    name: str | None = None
    sort: int | None = None
    is_default: bool | None = None
    color: str | None = None
    type: int | None = None
    extra: dict[str, Any] = _extra()


@attrs.frozen
class Role:
    """A role of the account's users, with its rights (``/api/v4/roles``; an admin's token)."""

    __wire_snake_case__ = True
    id: int | None = None
    name: str | None = None
    rights: dict[str, Any] | None = None
    extra: dict[str, Any] = _extra()
