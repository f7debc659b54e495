"""Telephony (``/api/v5/telephony/*``): every call goes through the client's 40/s Session.

From ``ResourceGroup/Telephony.php`` (``retailcrm/api-client-php``) and ``rate.go``
(``retailcrm/api-client-go``: ``/telephony`` is limited to 40 requests/s, the
rest of the API to 10, per key).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..._json import reading
from ..._models import from_wire
from .. import _wire
from ..models import CallManager
from ._base import Resource

__all__ = ["Telephony"]


class Telephony(Resource):
    """``client.telephony``: ``manager``, ``call_event``, ``calls_upload``."""

    async def manager(
        self, phone: str, *, details: bool = True, ignore_status: bool = True
    ) -> CallManager:
        """The manager responsible for ``phone`` (and the customer it belongs to, if any)."""
        body = await self._client.request(
            "GET",
            "telephony/manager",
            params={"phone": phone, "details": details, "ignoreStatus": ignore_status},
        )
        return from_wire(body, CallManager, what="telephony/manager")

    async def call_event(self, event: Mapping[str, Any]) -> dict[str, list[Any]]:
        """Report a call event (``in``, ``out``, ``hangup``); returns the codes and users
        the account does not have (``notExistCodes``, ``notExistUsers``)."""
        body = await self._client.request(
            "POST", "telephony/call/event", form={"event": dict(event)}
        )
        return {
            "notExistCodes": list(body.get("notExistCodes") or []),
            "notExistUsers": list(body.get("notExistUsers") or []),
        }

    async def calls_upload(self, calls: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """Upload finished calls; returns ``processedCallsCount`` and ``duplicateCalls``."""
        body = await self._client.request(
            "POST", "telephony/calls/upload", form={"calls": [dict(c) for c in calls]}
        )
        with reading("the telephony/calls/upload answer"):
            return {
                "processedCallsCount": int(body.get("processedCallsCount") or 0),
                "duplicateCalls": _wire.listed(body, "duplicateCalls", "the calls answer"),
            }
