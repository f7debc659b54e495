"""What the API says about itself and the key: ``/api/credentials``, ``/api/system-info``."""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["Credentials", "SystemInfo"]


@attrs.frozen
class Credentials:
    """``/api/credentials`` (``Model/Response/Api/Credentials.php``): what this key may do."""

    credentials: list[str] | None = None
    scopes: list[str] | None = None
    site_access: str | None = None
    sites_available: list[str] | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, kw_only=True)


@attrs.frozen
class SystemInfo:
    """``/api/system-info`` (``Model/Response/Api/SystemInfoResponse.php``)."""

    system_version: str | None = None
    public_url: str | None = None
    technical_url: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, kw_only=True)
