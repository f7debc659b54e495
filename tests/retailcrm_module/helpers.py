"""Shared values for the module tests."""

from __future__ import annotations

from typing import Any

from crmkit.retailcrm.models import IntegrationModule

SECRET = "partner-secret-7f3a"


def make_module(**overrides: Any) -> IntegrationModule:
    fields: dict[str, Any] = {
        "name": "Acme Delivery",
        "base_url": "https://module.example",
        "account_url": "https://module.example/account",
        "actions": {"activity": "/activity"},
    }
    fields.update(overrides)
    return IntegrationModule(**fields)
