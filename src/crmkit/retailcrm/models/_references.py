"""RetailCRM reference books (``/api/v5/reference/*``): one model serves every book."""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["ReferenceItem"]


def _extra() -> Any:
    return attrs.field(factory=dict, repr=False, kw_only=True)


@attrs.frozen
class ReferenceItem:
    """One entry of a reference book: a site, a status, a payment type, a courier, ...

    Every book's entries share ``code`` (``id`` for couriers), ``name``,
    ``active`` and ``ordering``; the rest of each book's fields (a status's
    ``group``, a site's ``url``, a store's ``address``) are in ``extra`` under
    their API names.
    """

    code: str | None = None
    id: int | None = None
    name: str | None = None
    active: bool | None = None
    ordering: int | None = None
    description: str | None = None
    extra: dict[str, Any] = _extra()
