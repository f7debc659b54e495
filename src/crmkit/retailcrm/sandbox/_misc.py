"""The sandbox's account-level answers: ``/api/api-versions``, ``/api/credentials``,
``/api/system-info`` (outside ``/api/v5``) and ``/api/v5/settings``.

Shapes from ``retailcrm/api-client-php`` ``Model/Response/Api/*`` and
``Model/Response/Settings/SettingsResponse.php``.
"""

from __future__ import annotations

from typing import Any

from ._state import SCOPES, Account

__all__ = ["UNVERSIONED", "settings", "unversioned"]

UNVERSIONED = ("api-versions", "credentials", "system-info")
SYSTEM_VERSION = "8.0.0-sandbox"


def unversioned(account: Account, key: str, method: str) -> dict[str, Any]:
    """The answer fields of one of the :data:`UNVERSIONED` methods."""
    if method == "api-versions":
        return {"versions": ["3.0", "4.0", "5.0"]}
    if method == "system-info":
        return {
            "systemVersion": SYSTEM_VERSION,
            "publicUrl": account.url,
            "technicalUrl": account.url,
        }
    scopes = account.keys[key]
    granted = (
        sorted(scopes)
        if scopes is not None
        else sorted({s for pair in SCOPES.values() for s in pair})
    )
    return {
        "credentials": sorted(f"/api/v5/{area}" for area in SCOPES),
        "scopes": granted,
        "siteAccess": "access_full",
        "sitesAvailable": list(account.sites),
    }


def settings(account: Account) -> dict[str, Any]:
    """``/api/v5/settings``: the account's currency, language and time zone."""
    stamp = account.stamp()
    return {
        "settings": {
            "default_currency": {"value": "RUB", "updated_at": stamp},
            "system_language": {"value": "RU", "updated_at": stamp},
            "timezone": {"value": account.timezone, "updated_at": stamp},
            "work_times": [],
            "non_working_days": [],
        }
    }
