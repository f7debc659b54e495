"""RetailCRM telephony (``/api/v5/telephony``): who answers a phone number, calls, events."""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["CallManager"]


@attrs.frozen
class CallManager:
    """``telephony/manager``: the manager to put a caller through to, and the caller if known.

    ``Model/Response/Telephony/ManagerResponse.php``: ``manager``, ``customer``, ``links``.
    """

    manager: dict[str, Any] | None = None
    customer: dict[str, Any] | None = None
    links: dict[str, Any] | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, kw_only=True)
