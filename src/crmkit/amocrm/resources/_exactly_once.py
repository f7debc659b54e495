"""Adds that land exactly once: finding what an add with an unknown outcome created.

amoCRM gives an add nothing to repeat it by: ``request_id`` is echoed in the
answer and never stored (the v4 docs' add methods; the official PHP SDK,
``amocrm/amocrm-api-php``, only matches answers to models by it), and there is
no external id on leads, contacts, companies, customers or tasks. So an add
whose answer is lost (a gateway's 504 after amoCRM created the leads, a dropped
connection, an answer cut short) cannot be sent again blindly.

What amoCRM does keep is every field the caller wrote, and when each entity
was created. ``add(items, key=...)`` names a field whose value is unique to
each item (``"name"``, any top-level field, or a custom field's id, an int).
After an unknown outcome crmkit lists the entities changed since the chunk was
sent (``If-Modified-Since`` and v4's ``filter[updated_at][from]``: a new entity's
``updated_at`` is its ``created_at``), keeps those created since then, matches
them to the chunk's items by the key, takes their ids, and sends only the
items it did not find. The time bound is read from amoCRM's own clock (the
``Date`` of a fresh answer, less the time elapsed since the chunk was sent,
less 2 s for whole-second stamps), so the client's clock does not matter.

What remains: a gateway that gives up while amoCRM is still writing may see
amoCRM finish after the look-up; crmkit waits the retry backoff before it
looks, and the key is the caller's promise that no other entity created
during the write carries the same value. The look-up is believed: a list
answer that leaves a created entity out (or a 429 sent after the write was
done, which by its meaning did nothing) makes crmkit send that item again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

__all__ = ["SLACK", "key_value", "keys_of", "since"]

#: Seconds taken off the time bound: amoCRM's stamps and HTTP dates are whole seconds.
SLACK = 2.0


def key_value(item: Mapping[str, Any], key: str | int) -> str | None:
    """The value of ``key`` in a wire item: a top-level field, or a custom field's first value."""
    if isinstance(key, int):
        for field in item.get("custom_fields_values") or []:
            if isinstance(field, Mapping) and field.get("field_id") == key:
                values = field.get("values") or []
                first = values[0] if values and isinstance(values[0], Mapping) else {}
                value = first.get("value")
                return None if value in (None, "") else str(value)
        return None
    value = item.get(key)
    return None if value in (None, "") else str(value)


def keys_of(items: Sequence[Mapping[str, Any]], key: str | int) -> list[str]:
    """Every item's key, checked: present, and unique in the call (else ValueError)."""
    if isinstance(key, bool) or not isinstance(key, (str, int)) or key in ("", "id"):
        raise ValueError(f"key must name a field (a custom field by its int id), not {key!r}")
    seen: dict[str, int] = {}
    for n, item in enumerate(items):
        value = key_value(item, key)
        if value is None:
            raise ValueError(f"add(key={key!r}): item {n} has no value for the key")
        if value in seen:
            raise ValueError(
                f"add(key={key!r}): items {seen[value]} and {n} share the key {value!r}; "
                "a key must tell every item apart"
            )
        seen[value] = n
    return list(seen)


def since(server_now: datetime, elapsed: float) -> datetime:
    """The earliest amoCRM time a chunk sent ``elapsed`` seconds before ``server_now`` made."""
    return server_now - timedelta(seconds=elapsed + SLACK)
