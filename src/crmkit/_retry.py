"""The retry policy: which failures are tried again, and after how long.

One immutable value (urllib3's ``Retry`` is the model) read by the one retry
loop in the Session. Rules:

- a rate-limit answer (429, or a platform's own) is retried for any method,
  since the server did not act on it: after ``Retry-After`` when the server
  gave one (seconds or an HTTP date), else after exponential backoff with
  jitter; a ``Retry-After`` above ``retry_after_cap`` is not waited out, the
  caller gets ``RateLimitError`` with ``retry_after`` at once;
- 502/503/504, timeouts and dropped connections are retried only when the
  request is safe to repeat (GET, HEAD, PUT, DELETE, OPTIONS, or
  ``idempotent=True``);
- a connection that was never made (refused, connect timeout, no pool slot)
  is retried for any method: nothing reached the server;
- every other answer (401, 402, 403, 404, other 4xx) is never retried here.
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import attrs

__all__ = ["RetryPolicy", "parse_retry_after"]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRY_STATUSES = frozenset({502, 503, 504})


@attrs.frozen
class RetryPolicy:
    """How a Session retries; see the module docstring for what is retried."""

    #: Retries after the first attempt (so ``max_retries + 1`` attempts at most).
    max_retries: int = attrs.field(default=3, validator=attrs.validators.ge(0))
    #: First backoff in seconds; doubles each retry up to ``backoff_max``.
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    #: Share of each backoff drawn at random (0.25: between 75 % and 100 % of it).
    jitter: float = 0.25
    #: A longer ``Retry-After`` is not waited out: ``RateLimitError`` is raised.
    retry_after_cap: float = 120.0
    #: The least a rate-limit answer without ``Retry-After`` pauses the Session: one
    #: window of the platforms' sliding-window limits. A shorter pause probes a
    #: window still full (another client shares it), and every probe is a
    #: violation counted towards amoCRM's block.
    rate_limit_pause: float = 1.0
    retry_statuses: frozenset[int] = RETRY_STATUSES
    idempotent_methods: frozenset[str] = IDEMPOTENT_METHODS

    def backoff(self, retry: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (0 for the first)."""
        delay = float(min(self.backoff_max, self.backoff_base * (2.0**retry)))
        draw: float = (rng or random).random()
        return delay * (1.0 - self.jitter * draw)

    def is_idempotent(self, method: str, idempotent: bool | None) -> bool:
        if idempotent is not None:
            return idempotent
        return method.upper() in self.idempotent_methods


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Read ``Retry-After``: delta seconds or an HTTP date; None when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:  # "nan" is no wait at all; "inf" and "1e400" are above any cap
        return None if math.isnan(seconds) else max(0.0, seconds)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return max(0.0, (when - now).total_seconds())
