"""amoCRM webhooks: the form-encoded ``leads[add][0][id]=...`` payloads, as typed events.

Usable from any web framework: pass the raw body (bytes) or an already parsed
mapping of form fields. No I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

import attrs

from .._params import BadParameters, parse_brackets

__all__ = ["WebhookEvent", "parse_webhook"]


@attrs.frozen
class WebhookEvent:
    """One change: ``entity`` (leads, contacts ...), ``action`` (add, update, delete,
    status ...), the entity's fields as sent, and the account's subdomain."""

    entity: str
    action: str
    data: dict[str, Any]
    account: str | None = None

    @property
    def id(self) -> int | None:
        value = str(self.data.get("id") or "")
        return int(value) if value.isdigit() else None


def parse_webhook(body: bytes | str | Mapping[str, Any]) -> list[WebhookEvent]:
    """Every event in one webhook call; ValueError for a body that is not such a form."""
    if isinstance(body, Mapping):
        pairs = [(str(k), str(v)) for k, v in body.items()]
    else:
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        pairs = parse_qsl(text, keep_blank_values=True)
    try:
        tree = parse_brackets(pairs)
    except BadParameters as exc:
        raise ValueError(f"not an amoCRM webhook form: {exc}") from None
    account = tree.get("account")
    subdomain = account.get("subdomain") if isinstance(account, Mapping) else None
    events = []
    for entity, actions in tree.items():
        if entity == "account" or not isinstance(actions, Mapping):
            continue
        for action, items in actions.items():
            rows = items.values() if isinstance(items, Mapping) else items
            if not isinstance(rows, (list, type({}.values()))):
                continue
            for row in rows:
                if isinstance(row, Mapping):
                    events.append(WebhookEvent(entity, action, dict(row), subdomain))
    return events
