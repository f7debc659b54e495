"""The result of a batch write, the same on every platform.

A write that sends many items (amoCRM ``add``/``update``, RetailCRM ``upload``,
vtiger and Corezoid batches) reports what happened to each item, in input order,
instead of raising on the first failure and losing what was already created.
This module holds that value type and the one rule every platform's writes
share about unknown outcomes (:func:`outcome_unknown`); how each platform fills
a result lives in the platform's client.
"""

from __future__ import annotations

from typing import Any

import attrs

from .errors import ProtocolError, RateLimitError, ServerError, TransportError

__all__ = ["WriteResult", "outcome_unknown"]


def outcome_unknown(error: BaseException) -> bool:
    """Whether a write that ended in ``error`` may have been done all the same.

    A 5xx (a gateway's 502/504 often comes after the platform committed), a
    connection lost on the way or an answer that cannot be read: the platform
    may have acted. A rate-limit answer (RetailCRM's 503 included) and every
    other refusal mean it did not.
    """
    if isinstance(error, RateLimitError):
        return False
    return isinstance(error, (ServerError, TransportError, ProtocolError))


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
