"""Throttles: what a Session awaits before it sends a request.

A throttle is anything with ``async acquire()``; if it also has ``release()``,
the Session calls it once per acquire, when that request's answer (or failure)
is in, and if it has ``record(seconds)``, it is told each request's response
time. The default, :class:`RateLimiter`, is designed from the server's side.

The server counts a request at some instant between its sending and its
answer, and refuses one when the window (1 s) before that instant already
holds ``rate`` counted requests. Two rules keep every such window within the
rate; a RateLimiter runs one of them at a time:

- **strict** (``mode="strict"``, proven safe whatever the network does): at
  most ``rate`` requests hold a slot, each from its acquire until one window
  after its answer. Whenever the server counted a request, its slot covered
  the window that follows, so no window holds more than ``rate``. The price:
  a slot is busy for the response time plus a window, so a Session cannot do
  better than ``rate / (1 + response time)``.
- **paced** (the default): requests leave ``(1 + spread) / rate`` seconds
  apart, where ``spread`` is how much the delay between sending a request and
  the server counting it varies. Write ``c = s + d`` for the instant the server
  counts a request sent at ``s`` after a delay ``d``: two requests ``rate``
  apart in the queue leave at least ``1 + spread`` seconds apart, and their
  delays differ by at most ``spread``, so they are counted at least one window
  apart and no window holds ``rate + 1`` of them, however long the responses
  take. The delay to the counting instant cannot be seen from the client; the
  response time it is part of can: ``spread`` is the range of the recent
  response times (all answers of the last two seconds, at least ten, the
  range widened by ``(n + 1) / (n - 1)`` for the share ``n`` draws miss; a new
  connection's handshake is a delay before counting too, and is not left
  out), which bounds the
  spread of the delay when the server's own time varies too (it only adds to
  the range). Until a few answers are measured, and when the spread is as
  long as the responses themselves (the strict rule is then as fast), the
  paced mode keeps the strict rule.

Any rate-limit answer means the estimate was wrong (a jittery network, another
client on the account): :meth:`RateLimiter.slow_down`, which the Session calls
on every 429, switches the limiter to the strict rule for the rest of its life
and halves the rate its slots allow and its spacing (a burst of ``rate``
requests at full spacing would overrun a stricter window however long the
slots are held); each answer without one wins a tenth of the way back, never
back to pacing, and never past a floor: the slowdown a rate-limit answer found
too fast, and a quarter more (a memory that fades over some hundreds of
answers). A server stricter than configured is met within a few answers
instead of being hit again and again,
which is how amoCRM accounts get blocked.

Both rules also space requests at least ``1/rate`` apart: no start-up burst.
``pause(seconds)`` holds every waiter, and so every task of the Session that
owns the limiter, until it is over: a 429 slows the account, not just the
request that got it.

A caller cancelled while it waits (for its turn, a slot or a pause) takes
nothing: all waiting happens before the limiter changes any state, and the
turn, the slot and the next send time are taken together, with no await
between them.

This module does not retry or send anything.
"""

from __future__ import annotations

import asyncio
import bisect
import math
from collections import deque
from typing import Literal, Protocol, runtime_checkable

from ._clock import Clock, SystemClock

__all__ = ["PausableThrottle", "RateLimiter", "Throttle"]

#: After a rate-limit answer, recovery stops this much slower than the slowdown it came at.
FLOOR_MARGIN = 1.25
#: The share of the floor's excess over 1 each answer without a rate-limit answer forgets.
FLOOR_FADE = 0.002
#: Response times measured within the horizon before the paced mode trusts its spread.
MIN_SAMPLES = 10
#: Seconds of answers the spread is computed over (at least :data:`MIN_SAMPLES`,
#: at most :data:`SAMPLES` of them).
HORIZON = 2.0
SAMPLES = 200


@runtime_checkable
class Throttle(Protocol):
    """Anything a Session can wait on before each request."""

    async def acquire(self) -> None: ...


@runtime_checkable
class PausableThrottle(Throttle, Protocol):
    """A throttle that can also hold all its waiters for a while (after a 429)."""

    def pause(self, seconds: float) -> None: ...

    def release(self) -> None: ...


Mode = Literal["paced", "strict"]


class Pacing:
    """Which rule runs now, from the mode, the measured response times and any 429.

    Shared by :class:`RateLimiter` and :class:`crmkit.redis_throttle.RedisThrottle`.
    """

    def __init__(self, mode: Mode) -> None:
        if mode not in ("paced", "strict"):
            raise ValueError(f"mode must be 'paced' or 'strict', not {mode!r}")
        self.mode = mode
        self.tightened = False
        self.spread: float | None = None
        self._median = 0.0
        self._samples: deque[tuple[float, float]] = deque(maxlen=SAMPLES)

    def record(self, seconds: float, now: float) -> None:
        samples = self._samples
        samples.append((now, seconds))
        while len(samples) > MIN_SAMPLES and now - samples[0][0] > HORIZON:
            samples.popleft()
        if len(samples) < MIN_SAMPLES:
            self.spread = None
            return
        ordered = sorted(r for _, r in samples)
        # The range of n draws falls short of the range they come from by a share
        # of about 2/(n+1) (exactly so for uniform jitter): widen it by as much.
        n = len(ordered)
        self.spread = (ordered[-1] - ordered[0]) * (n + 1) / (n - 1)
        self._median = ordered[len(ordered) // 2]

    @property
    def pacing(self) -> bool:
        return (
            self.mode == "paced"
            and not self.tightened
            and self.spread is not None
            and self.spread < self._median
        )

    @property
    def widening(self) -> float:
        """What the window and the spacing are multiplied by now (``1 + spread`` when pacing)."""
        return 1.0 + self.spread if self.pacing and self.spread is not None else 1.0


class RateLimiter:
    """At most ``rate`` requests in any one-second window the server sees, never a burst.

    ``mode`` is ``"paced"`` (the default: the whole rate, paced by send time
    with a margin learned from the response times) or ``"strict"`` (each
    request's slot held until a window after its answer: slower, safe whatever
    the network does); the module docstring gives the reasoning.
    ``rate=None`` limits nothing but still honours :meth:`pause`. ``margin`` is
    the share of the rate the spacing gives up (0.01 spaces at 99 % of ``rate``).
    Rates below one per second hold their one slot for ``1/rate`` seconds.
    Call :meth:`release` once per :meth:`acquire` (the Session does), or use
    ``async with limiter:``.
    """

    def __init__(
        self,
        rate: float | None,
        *,
        margin: float = 0.01,
        mode: Mode = "paced",
        clock: Clock | None = None,
    ) -> None:
        if rate is not None and rate <= 0:
            raise ValueError(f"rate must be a positive number of requests per second, not {rate!r}")
        if not 0 <= margin < 0.5:
            raise ValueError(f"margin must be in [0, 0.5), not {margin!r}")
        self._pace = Pacing(mode)
        self.rate = rate
        self.margin = margin
        self.mode = mode
        self._clock = clock or SystemClock()
        self._paused_until = 0.0
        self._capacity = max(1, math.floor(rate)) if rate is not None else 0
        self._base_hold = max(1.0, self._capacity / rate) if rate is not None else 0.0
        self._hold = self._base_hold
        self._interval = 1.0 / (rate * (1.0 - margin)) if rate is not None else 0.0
        self._next_at = 0.0
        self._in_flight = 0
        self._tails: list[float] = []  # when each answered request's slot ends, in order
        self._turn = asyncio.Lock()
        self._wake: asyncio.Future[None] | None = None
        #: How many times the configured hold a slot is held now (1 = full rate).
        self.slowdown = 1.0
        #: The least slowdown recovery goes back to (set by rate-limit answers, fading).
        self.floor = 1.0

    # -- the two rules ---------------------------------------------------------

    @property
    def pacing(self) -> bool:
        """Whether requests are paced by send time now (else each holds a slot)."""
        return self._pace.pacing

    @property
    def tightened(self) -> bool:
        """Whether a rate-limit answer came: the strict rule from then on."""
        return self._pace.tightened

    @property
    def spacing(self) -> float:
        """Seconds between two sends now (0 without a rate); longer while slowed down."""
        return self._interval * self._pace.widening * self.slowdown

    @property
    def in_use(self) -> int:
        """Slots held now: requests in flight plus answered ones still within their window."""
        return self._busy(self._clock.monotonic())

    def record(self, seconds: float) -> None:
        """One request's response time (the Session reports each), for the paced mode."""
        self._pace.record(seconds, self._clock.monotonic())

    # -- acquire and release ----------------------------------------------------

    async def acquire(self) -> None:
        if self.rate is None:
            await self._wait_out_pause()
            return
        async with self._turn:  # callers pick their send instants one at a time, in order
            while True:
                now = self._clock.monotonic()
                wait = max(self._paused_until, self._next_at) - now
                if wait > 0:
                    await self._clock.sleep(wait)
                elif not self.pacing and self._busy(now) >= self._capacity:
                    await self._slot_freed(now)
                else:
                    break
            # Taken together, after the last await: a cancelled waiter took nothing.
            self._in_flight += 1
            self._next_at = now + self.spacing

    def release(self) -> None:
        """The answer to an acquired request is in: its slot frees one window from now."""
        if self.rate is None or self._in_flight == 0:
            return
        self._in_flight -= 1
        now = self._clock.monotonic()
        bisect.insort(self._tails, now + self._hold)
        self._busy(now)
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)

    def _busy(self, now: float) -> int:
        tails = self._tails
        ended = bisect.bisect_right(tails, now)
        if ended:
            del tails[:ended]
        return self._in_flight + len(tails)

    async def _slot_freed(self, now: float) -> None:
        if self._tails:  # the earliest answered slot ends then; an answer frees nothing sooner
            await self._clock.sleep(self._tails[0] - now)
            return
        self._wake = asyncio.get_running_loop().create_future()
        try:
            await self._wake
        finally:
            self._wake = None

    def slow_down(self) -> None:
        """A rate-limit answer came: the strict rule from now on, at half the rate (to 1/64)."""
        self._pace.tightened = True
        self.floor = min(max(self.floor, self.slowdown * FLOOR_MARGIN), 64.0)
        self.slowdown = min(self.slowdown * 2.0, 64.0)
        self._hold = self._base_hold * self.slowdown

    def recovered(self) -> None:
        """An answer came without a rate-limit error: win back a tenth of the way (to the floor)."""
        if self.floor > 1.0:
            self.floor = max(1.0, self.floor - (self.floor - 1.0) * FLOOR_FADE - 0.001)
        if self.slowdown > 1.0:
            self.slowdown = max(self.floor, self.slowdown - (self.slowdown - 1.0) * 0.1 - 0.01)
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
        return f"RateLimiter(rate={self.rate!r}, mode={self.mode!r}, margin={self.margin!r})"


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
