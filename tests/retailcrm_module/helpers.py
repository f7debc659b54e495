"""Shared values for the module tests."""

from __future__ import annotations

from typing import Any

import attrs

SECRET = "partner-secret-7f3a"


@attrs.frozen
class _StandIn:  # TEMPORARY until crmkit.retailcrm.models lands
    code: str = ""
    name: str = ""
    account_url: str | None = None
    base_url: str | None = None
    client_id: str | None = None
    active: bool = False
    actions: dict[str, str] = attrs.field(factory=dict)


def make_module(**overrides: Any) -> Any:
    fields: dict[str, Any] = {
        "name": "Acme Delivery",
        "base_url": "https://module.example",
        "account_url": "https://module.example/account",
        "actions": {"activity": "/activity"},
    }
    fields.update(overrides)
    return _StandIn(**fields)
