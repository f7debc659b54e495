"""Custom fields and their dictionaries (``/api/v5/custom-fields``).

Paths and keys from ``ResourceGroup/CustomFields.php`` (``retailcrm/api-client-php``):
fields are named by entity (``order``, ``customer``, ``customer_corporate``,
``company``) and code; creates and edits answer the ``code``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..._models import from_wire
from .. import _wire
from ..models import CustomDictionary, CustomField
from ._base import Listing

__all__ = ["CustomDictionaries", "CustomFields"]

ENTITIES = ("order", "customer", "customer_corporate", "company")


def _entity(entity: str) -> str:
    if entity not in ENTITIES:
        raise ValueError(f"entity must be one of {', '.join(ENTITIES)}, not {entity!r}")
    return entity


class CustomDictionaries(Listing[CustomDictionary]):
    """``/api/v5/custom-fields/dictionaries``: list, get, create, edit."""

    async def get(self, code: str) -> CustomDictionary:
        body = await self._client.request(
            "GET", f"custom-fields/dictionaries/{_wire.segment(code)}"
        )
        return from_wire(body.get("customDictionary"), CustomDictionary, what="customDictionary")

    async def create(self, dictionary: CustomDictionary | Mapping[str, Any]) -> str:
        """Create a dictionary; returns its ``code``."""
        body = await self._client.request(
            "POST",
            "custom-fields/dictionaries/create",
            form={"customDictionary": _wire.entity_dict(dictionary)},
        )
        return str(body["code"])

    async def edit(self, code: str, dictionary: CustomDictionary | Mapping[str, Any]) -> None:
        await self._client.request(
            "POST",
            f"custom-fields/dictionaries/{_wire.segment(code)}/edit",
            form={"customDictionary": _wire.entity_dict(dictionary)},
            idempotent=True,
        )


class CustomFields(Listing[CustomField]):
    """``/api/v5/custom-fields``: list, get, create, edit fields; ``.dictionaries``."""

    def __init__(self, client: Any) -> None:
        super().__init__(client, "custom-fields", "customFields", CustomField)
        self.dictionaries = CustomDictionaries(
            client, "custom-fields/dictionaries", "customDictionaries", CustomDictionary
        )

    async def get(self, entity: str, code: str) -> CustomField:
        path = f"custom-fields/{_entity(entity)}/{_wire.segment(code)}"
        body = await self._client.request("GET", path)
        return from_wire(body.get("customField"), CustomField, what="customField")

    async def create(self, entity: str, field: CustomField | Mapping[str, Any]) -> str:
        """Create a field on ``entity``; returns its ``code``."""
        body = await self._client.request(
            "POST",
            f"custom-fields/{_entity(entity)}/create",
            form={"customField": _wire.entity_dict(field)},
        )
        return str(body["code"])

    async def edit(self, entity: str, code: str, field: CustomField | Mapping[str, Any]) -> None:
        await self._client.request(
            "POST",
            f"custom-fields/{_entity(entity)}/{_wire.segment(code)}/edit",
            form={"customField": _wire.entity_dict(field)},
            idempotent=True,
        )
