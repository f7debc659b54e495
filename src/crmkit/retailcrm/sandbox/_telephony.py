"""The sandbox's telephony (``/api/v5/telephony/*``): manager lookup, call events, calls upload.

From ``retailcrm/api-client-php`` ``ResourceGroup/Telephony.php`` and
``Model/Response/Telephony/*``: ``manager`` answers ``manager``, ``customer`` and
``links`` for a ``phone``; ``call/event`` answers ``notExistCodes`` and
``notExistUsers``; ``calls/upload`` answers ``processedCallsCount`` and
``duplicateCalls``. These paths have their own rate window (40/s, ``_app.py``).
"""

from __future__ import annotations

import re
from typing import Any

from ._common import BadEntity, Handler, Missing, json_field
from ._state import Account

__all__ = ["telephony"]

CALL_TYPES = ("in", "out", "hangup")


def _digits(text: Any) -> str:
    return re.sub(r"\D", "", str(text or ""))


def _has_phone(customer: dict[str, Any], digits: str) -> bool:
    """Whether one of the customer's phones ends with the same ten digits."""
    return any(_digits(p.get("number"))[-10:] == digits[-10:] for p in customer.get("phones") or [])


def telephony(account: Account, method: str, rest: list[str]) -> Handler | None:
    users = account.records["users"]

    def manager(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if not query.get("phone"):
            raise Missing("phone")
        phone = _digits(query["phone"])
        customer = next(
            (c for c in account.stores["customers"].records.values() if _has_phone(c, phone)),
            None,
        )
        managers = [u for u in users.values() if u.get("isManager")]
        if customer is not None and customer.get("managerId") in users:
            managers = [users[customer["managerId"]]]
        picked = managers[0] if managers else None
        fields = ("id", "firstName", "lastName", "patronymic", "email", "code")
        answer: dict[str, Any] = {
            "manager": {k: picked[k] for k in fields if k in picked} if picked else None,
            "links": {"newOrderLink": f"{account.url}/orders/add"},
        }
        if customer is not None:
            shown = ("id", "externalId", "firstName", "lastName", "email", "phones")
            answer["customer"] = {k: customer.get(k) for k in shown}
            answer["links"]["customerLink"] = f"{account.url}/customers/{customer['id']}"
        return 200, answer

    def call_event(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        event = json_field(form, "event")
        if not event.get("phone"):
            raise BadEntity({"phone": "This value should not be blank."})
        if event.get("type") not in CALL_TYPES:
            raise BadEntity({"type": "The value you selected is not a valid choice."})
        codes = {str(u.get("code")) for u in users.values()}
        missing_codes = [c for c in event.get("codes") or [] if str(c) not in codes]
        missing_users = [u for u in event.get("userIds") or [] if int(u) not in users]
        account.add("telephony/events", event)
        return 200, {"notExistCodes": missing_codes, "notExistUsers": missing_users}

    def calls_upload(query: dict[str, Any], form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        calls = json_field(form, "calls", list)
        known = {c.get("externalId") for c in account.records.get("telephony/calls", {}).values()}
        duplicates, processed = [], 0
        for call in calls:
            if not isinstance(call, dict) or call.get("type") not in CALL_TYPES[:2]:
                raise BadEntity({"calls": "each call needs a type: in or out"})
            if not call.get("date") or not call.get("phone"):
                raise BadEntity({"calls": "each call needs a date and a phone"})
            if call.get("externalId") is not None and call["externalId"] in known:
                duplicates.append(call["externalId"])
                continue
            known.add(call.get("externalId"))
            account.add("telephony/calls", call)
            processed += 1
        return 200, {"processedCallsCount": processed, "duplicateCalls": duplicates}

    routes: dict[tuple[str, ...], Handler] = {
        ("GET", "manager"): manager,
        ("POST", "call", "event"): call_event,
        ("POST", "calls", "upload"): calls_upload,
    }
    return routes.get((method, *rest))
