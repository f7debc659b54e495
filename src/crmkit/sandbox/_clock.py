"""The sandbox's own clock: real time plus an offset a test can move forward."""

from __future__ import annotations

import time
from datetime import datetime, timezone

__all__ = ["SandboxClock"]


class SandboxClock:
    """Wall-clock time as the emulated platform sees it; :meth:`advance` skips ahead.

    Session expiry, token lifetimes and ``updated_at`` stamps read this clock,
    so a test can expire a session without waiting. Rate-limit windows use real
    monotonic time, since the client under test sends in real time.
    """

    def __init__(self, start: float | None = None) -> None:
        self._offset = 0.0 if start is None else start - time.time()

    def now(self) -> float:
        """Unix seconds (float)."""
        return time.time() + self._offset

    def now_int(self) -> int:
        return int(self.now())

    def datetime(self) -> datetime:
        return datetime.fromtimestamp(self.now(), timezone.utc)

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        if seconds < 0:
            raise ValueError("a sandbox clock only moves forward")
        self._offset += seconds
