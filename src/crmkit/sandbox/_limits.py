"""A sliding-window rate limiter that blocks for good after repeated violations.

This is the server's side of a rate limit, as strict as the platforms are: a
request is refused when the window before it already holds ``limit`` accepted
requests. After ``block_after`` refusals the key is blocked for good, as
amoCRM blocks an account that keeps exceeding its limit. It answers nothing
over HTTP itself; each platform's sandbox turns a verdict into its own answer.
"""

from __future__ import annotations

import enum
import time
from collections import deque
from collections.abc import Callable

__all__ = ["SlidingWindowLimiter", "Verdict"]


class Verdict(enum.Enum):
    ALLOWED = "allowed"
    LIMITED = "limited"
    BLOCKED = "blocked"


class _Window:
    __slots__ = ("blocked", "hits", "violations")

    def __init__(self) -> None:
        self.hits: deque[float] = deque()
        self.violations = 0
        self.blocked = False


class SlidingWindowLimiter:
    """At most ``limit`` accepted requests per key in any ``window`` seconds."""

    def __init__(
        self,
        limit: int,
        window: float = 1.0,
        *,
        block_after: int | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit!r}")
        self.limit = limit
        self.window = window
        self.block_after = block_after
        self._monotonic = monotonic
        self._windows: dict[str, _Window] = {}

    def hit(self, key: str = "default") -> Verdict:
        """Count one request for ``key`` and say whether it may be served."""
        state = self._windows.setdefault(key, _Window())
        if state.blocked:
            return Verdict.BLOCKED
        now = self._monotonic()
        hits = state.hits
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            state.violations += 1
            if self.block_after is not None and state.violations >= self.block_after:
                state.blocked = True
            return Verdict.LIMITED
        hits.append(now)
        return Verdict.ALLOWED

    def retry_after(self, key: str = "default") -> float:
        """Seconds until ``key`` may send again (0 when it may now)."""
        state = self._windows.get(key)
        if state is None or len(state.hits) < self.limit:
            return 0.0
        return max(0.0, state.hits[0] + self.window - self._monotonic())

    def violations(self, key: str = "default") -> int:
        state = self._windows.get(key)
        return state.violations if state else 0

    def is_blocked(self, key: str = "default") -> bool:
        state = self._windows.get(key)
        return bool(state and state.blocked)

    def block(self, key: str = "default") -> None:
        self._windows.setdefault(key, _Window()).blocked = True

    def reset(self, key: str | None = None) -> None:
        """Forget ``key`` (or every key): its window, its violations and its block."""
        if key is None:
            self._windows.clear()
        else:
            self._windows.pop(key, None)
