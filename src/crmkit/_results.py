"""WriteResult: what a batch write did, item by item, on every platform."""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["WriteResult"]


@attrs.frozen
class WriteResult:
    """What ``add``/``update``/``upload`` did, item by item, in input order.

    ``ids[n]`` is the id of item ``n`` (None where it failed); ``errors[n]`` is
    what the platform said about a failed item. Nothing is silently dropped.
    """

    ids: list[int | None]
    errors: dict[int, Any]

    @property
    def ok(self) -> bool:
        return not self.errors
