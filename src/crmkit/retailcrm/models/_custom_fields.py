"""RetailCRM custom fields and dictionaries (``/api/v5/custom-fields``)."""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["CustomDictionary", "CustomField"]


def _extra() -> Any:
    return attrs.field(factory=dict, repr=False, kw_only=True)


@attrs.frozen
class CustomField:
    """A custom field of an entity (``Model/Entity/CustomFields/CustomField.php``)."""

    code: str | None = None
    name: str | None = None
    entity: str | None = None
    type: str | None = None
    dictionary: str | None = None
    required: bool | None = None
    in_filter: bool | None = None
    in_list: bool | None = None
    ordering: int | None = None
    extra: dict[str, Any] = _extra()


@attrs.frozen
class CustomDictionary:
    """A dictionary that ``dictionary`` custom fields choose from."""

    code: str | None = None
    name: str | None = None
    elements: list[dict[str, Any]] | None = None
    extra: dict[str, Any] = _extra()
