"""Which handler answers a path: every API group the sandbox emulates, and nothing else."""

from __future__ import annotations

from ._catalog import catalog_route
from ._common import BadEntity, Handler, json_field
from ._costs import costs
from ._entities import entity_route, module_route
from ._groups import group_route
from ._misc import settings
from ._references import reference_route
from ._state import KEYS, Account
from ._telephony import telephony

__all__ = ["route"]


def route(account: Account, method: str, parts: list[str]) -> Handler | None:
    """The handler for ``/api/v5/{parts}``, or None: the service's "Method not found"."""
    area = parts[0]
    found = group_route(account, method, parts) or catalog_route(account, method, parts)
    if found is not None:
        return found
    if area == "telephony":
        return telephony(account, method, parts[1:])
    if area == "costs":
        return costs(account, method, parts[1:])
    if area in KEYS:
        return entity_route(account, method, area, parts[1:])
    if area == "integration-modules" and len(parts) >= 2:
        return module_route(account, method, parts[1], parts[2:])
    if parts == ["settings"] and method == "GET":
        return lambda query, form: (200, settings(account))
    if area == "reference":
        return reference_route(account.books, method, parts[1:], json_field, BadEntity)
    return None
