"""Throttles: what a Session awaits before it sends a request.

A throttle is anything with ``async acquire()``; if it also has ``release()``,
the Session calls it once per acquire, when that request's answer (or failure)
is in. The default, :class:`RateLimiter`, combines two rules:

- spacing: ``aiolimiter.AsyncLimiter`` as a bucket of capacity one that drains
  at the allowed rate, so requests leave about ``1/rate`` seconds apart, with
  no start-up burst. (aiolimiter's usual set-up, capacity ``rate``, lets a full
  bucket burst at once and then ``rate`` more within the same second: exactly
  what a sliding-window server answers with 429 and, on amoCRM, a block.)
- slots: at most ``rate`` requests hold a slot, each from its acquire until
  one window (1 s) after its answer arrived. The server counts a request at
  some instant between its sending and its answer, so however the network or
  a busy server delays requests, no window the server sees holds more than
  ``rate`` of them. Spacing alone cannot promise that: a request delayed on
  the way lands in the same window as later ones.

``pause(seconds)`` holds every waiter of the throttle, and so every task of
the Session that owns it, until the pause is over: a 429 slows the account,
not just the request that got it. ``slow_down()`` (also called on every 429)
halves the rate the slots allow, and each answer without one wins a tenth of
the way back: a server that is stricter than configured (another process on
the same account, a lower plan) is met within a few answers instead of being
hit again and again, which is how amoCRM accounts get blocked.

This module does not retry or send anything.
"""

from __future__ import annotations

import asyncio
import math
from typing import Protocol, runtime_checkable

from aiolimiter import AsyncLimiter

from ._clock import Clock, SystemClock

__all__ = ["PausableThrottle", "RateLimiter", "Throttle"]


@runtime_checkable
class Throttle(Protocol):
    """Anything a Session can wait on before each request."""

    async def acquire(self) -> None: ...


@runtime_checkable
class PausableThrottle(Throttle, Protocol):
    """A throttle that can also hold all its waiters for a while (after a 429)."""

    def pause(self, seconds: float) -> None: ...

    def release(self) -> None: ...


class RateLimiter:
    """At most ``rate`` requests in any one-second window, never a burst.

    ``rate=None`` limits nothing but still honours :meth:`pause`. ``margin`` is
    the share of the rate the spacing gives up (0.01 spaces at 99 % of ``rate``).
    Rates below one per second hold their one slot for ``1/rate`` seconds.
    Call :meth:`release` once per :meth:`acquire` (the Session does), or use
    ``async with limiter:``.
    """

    def __init__(
        self, rate: float | None, *, margin: float = 0.01, clock: Clock | None = None
    ) -> None:
        if rate is not None and rate <= 0:
            raise ValueError(f"rate must be a positive number of requests per second, not {rate!r}")
        if not 0 <= margin < 0.5:
            raise ValueError(f"margin must be in [0, 0.5), not {margin!r}")
        self.rate = rate
        self.margin = margin
        self._clock = clock or SystemClock()
        self._paused_until = 0.0
        self._limiter: AsyncLimiter | None = None
        self._slots: asyncio.Semaphore | None = None
        self._hold = 0.0
        if rate is not None:
            self._limiter = AsyncLimiter(1, 1.0 / (rate * (1.0 - margin)))
            capacity = max(1, math.floor(rate))
            self._slots = asyncio.Semaphore(capacity)
            self._hold = max(1.0, capacity / rate)
        self._base_hold = self._hold
        #: How many times the configured hold a slot is held now (1 = full rate).
        self.slowdown = 1.0

    async def acquire(self) -> None:
        await self._wait_out_pause()
        if self._slots is not None and self._limiter is not None:
            await self._slots.acquire()
            await self._limiter.acquire()
            # A pause may have begun while this task waited for its turn.
            await self._wait_out_pause()

    def release(self) -> None:
        """The answer to an acquired request is in: its slot frees one window from now."""
        if self._slots is not None:
            asyncio.get_running_loop().call_later(self._hold, self._slots.release)

    def slow_down(self) -> None:
        """A rate-limit answer came: halve the rate the slots allow (down to 1/64)."""
        self.slowdown = min(self.slowdown * 2.0, 64.0)
        self._hold = self._base_hold * self.slowdown

    def recovered(self) -> None:
        """An answer came without a rate-limit error: win back a tenth of the way."""
        if self.slowdown > 1.0:
            self.slowdown = max(1.0, self.slowdown - (self.slowdown - 1.0) * 0.1 - 0.01)
            self._hold = self._base_hold * self.slowdown

    async def __aenter__(self) -> RateLimiter:
        await self.acquire()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.release()

    def pause(self, seconds: float) -> None:
        """Hold every caller of :meth:`acquire` for ``seconds`` from now (never shortens one)."""
        until = self._clock.monotonic() + max(0.0, seconds)
        self._paused_until = max(self._paused_until, until)

    @property
    def paused_for(self) -> float:
        """Seconds left in the current pause (0 when not paused)."""
        return max(0.0, self._paused_until - self._clock.monotonic())

    async def _wait_out_pause(self) -> None:
        while True:
            remaining = self._paused_until - self._clock.monotonic()
            if remaining <= 0:
                return
            await self._clock.sleep(remaining)

    def __repr__(self) -> str:
        return f"RateLimiter(rate={self.rate!r}, margin={self.margin!r})"


class _PauseGate:
    """Adds :meth:`pause` to a caller's throttle that lacks it."""

    def __init__(self, inner: Throttle, clock: Clock) -> None:
        self._inner = inner
        self._gate = RateLimiter(None, clock=clock)

    async def acquire(self) -> None:
        await self._gate.acquire()
        await self._inner.acquire()

    def release(self) -> None:
        release = getattr(self._inner, "release", None)
        if release is not None:
            release()

    def pause(self, seconds: float) -> None:
        self._gate.pause(seconds)


def as_pausable(throttle: Throttle, clock: Clock) -> PausableThrottle:
    """Return ``throttle`` itself when it can pause and release, else a wrapper that can."""
    if isinstance(throttle, PausableThrottle):
        return throttle
    return _PauseGate(throttle, clock)
