"""The result of a batch write, the same on every platform.

A write that sends many items (amoCRM ``add``/``update``, RetailCRM ``upload``,
vtiger and Corezoid batches) reports what happened to each item, in input order,
instead of raising on the first failure and losing what was already created.
This module holds only that value type; how each platform fills it lives in the
platform's client.
"""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["WriteResult"]


@attrs.frozen
class WriteResult:
    """What a batch write did, item by item, in input order.

    ``ids[n]`` is the id of item ``n`` (None where it failed); ``errors[n]`` is
    what the platform said about a failed item. Nothing is silently dropped.
    """

    ids: list[Any]
    errors: dict[int, Any]

    @property
    def ok(self) -> bool:
        """True when every item was written."""
        return not self.errors
