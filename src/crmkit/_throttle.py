"""Throttles: what a Session awaits before it sends a request.

A throttle is anything with ``async acquire()``; if it also has ``release()``,
the Session calls it once per acquire, when that request's answer (or failure)
is in, and if it has ``record(seconds)``, it is told each request's response
time. If it has ``answered()``, the Session calls it when the answer's headers
come in (before the body is read and decoded: the server counted the request
before it answered, and this instant carries less of the client's own delays);
if it has ``abandon(sent=, timeout=)``, a request cancelled on its way calls it
instead of ``release()`` (see :meth:`RateLimiter.abandon`). The default,
:class:`RateLimiter`, is designed from the server's side.

The server counts a request at some instant between its sending and its
answer, and refuses one when the window (1 s) before that instant already
holds ``rate`` counted requests. Write ``c = s + d`` for the instant the server
counts a request sent at ``s`` after a delay ``d`` (the network, a handshake),
and ``r = d + p`` for its response time, ``p`` the time from counting to the
answer (the instant its headers come in, when the Session can tell:
:meth:`RateLimiter.answered`; reading and decoding the body, and the event
loop's turns until the release, are the client's own time, after the count).
Where the transport tells when the request is written (:meth:`RateLimiter.written`),
``r`` and ``d`` count from that instant, which is never before the acquire:
opening a connection (TCP, TLS) or waiting for a pooled one is not delay on
the way to the count, and a first answer slowed by a handshake would
otherwise widen the measured spread, and lower the floor, for the next
:data:`SAMPLES` answers (the dlt sync's first answers, 0.2-0.6 s, kept the
strict rule running for whole runs). A request counted at ``c' >= w' + d_lo``
is counted at ``c' >= s' + d_lo`` too.
Each request holds a *slot* from its acquire until a window after
``s + e``, an upper bound of ``c - d_lo`` (``d_lo`` the least delay any
request can have); a new request goes when fewer than ``rate`` slots are held.
A request sent at ``s'`` is counted at ``c' >= s' + d_lo``, so every request
the server counted less than a window before it still holds its slot at
``s'``: no window holds more than ``rate``. The two rules differ in ``e``:

- **strict** (``mode="strict"``, proven safe whatever the network does):
  ``e = r``, the slot held until a window after the answer (``d_lo = 0``, and
  the server counted the request before it answered). The price: a slot is
  busy for the response time plus a window, so a Session cannot do better
  than ``rate / (1 + response time)``.
- **paced** (the default): ``e = r - floor``, where ``floor`` is a lower bound
  of the response times (so ``d_lo + p`` with ``p`` as short as it gets):
  ``r - floor`` is how much later than the fastest possible this request was
  counted, i.e. ``d - d_lo`` when the server's own time does not vary (its
  variation only adds to ``r``, which errs on the safe side for all but the
  rare answer faster than the floor's). A slot thus ends about a window after
  the *send*, later by as much as this request was slow on the network. The
  floor is the least of the last :data:`SAMPLES` response times lowered by
  :data:`FLOOR_WIDENING` times their range over ``n - 1`` (the least of ``n``
  draws overshoots the true least by about range/(n-1)), and by at least
  :data:`FLOOR_SHARE` of the range; 0 (the strict rule) until
  :data:`MIN_SAMPLES` answers are in. A request still in flight
  holds its slot until its answer, or (once :data:`TRUST_SAMPLES` answers are
  in) until a window after ``s`` (its write, where writes are told: one not
  yet written has no such bound) plus the widened range of the response
  times, whichever comes first.

What the paced rule can reach: with the delay spread evenly over ``J``
seconds (+-J/2), the slot of a request counted ``x`` above the least delay is
held ``x`` longer than a window, ``J/2`` on average; ``rate`` requests then
take about ``1 + J/2`` seconds, plus the floor's uncertainty. A model of these
rules (``benchmarks/simulate_throttle.py``: 80 requests at 7/s, all ready from
the start, 100 ms +-20 ms of network delay, 200 runs each) uses 0.963 of the
rate at 0 ms of server time, 0.925 at 250 ms and 0.905 at 500 ms, counted as
the benchmark counts it (requests over the time from the first send to the
last answer, which the last answer's response time lengthens), and no run
puts more than ``rate`` requests in a window; with +-100 ms: 0.882, 0.826,
0.800. A floor widened 3 times the range over ``n - 1`` instead of 6 gains
0.001 to 0.010 and puts one second over the rate in 4 to 7 runs of 200. On a
loaded machine the timing noise is neither even nor bounded, hence the fifth
of the range. Knowing the least delay exactly, the ceiling at +-20 ms is about
``1 / (1 + 0.02)``, 0.98 of the rate before the last answer's wait; the model
given the least delay from the first send on (``--oracle``: no strict start,
no widening, the ceiling of any rule that never risks the window) reaches
0.975 at 0 ms of server time, 0.969 after a strict start of three answers
(``--oracle-after 3``); the rule here, which must learn the floor, 0.963. The
benchmark's own timing noise (the sandbox's time for a 250-lead page varies
by some milliseconds, the client's by about one) costs about 0.006 more: 0.97
at +-20 ms and 0 ms of server time is out of reach without risking the window.
Two ways to learn faster were tried in the model and put runs over the
window: a floor widened 3 instead of 6 times (above), and ending answered
slots by the floor known at each send rather than at their answer
(``--lazy``: +0.005 at 0 ms, +0.022 at 250 and 500 ms, 1 to 3 runs of 200
over; only for the three slots of the strict start, still 1 to 7 of 400).
Spacing requests by send time
alone (``(1 + spread) / rate`` apart, the rule this one replaced) tops out at
``1 / (1 + J)``, 0.96, before the same losses.

Any rate-limit answer means the estimate was wrong (a jittery network, another
client on the account): :meth:`RateLimiter.slow_down`, which the Session calls
on every 429, switches the limiter to the strict rule for the rest of its life
and halves the rate its slots allow and its spacing (a burst of ``rate``
requests at full spacing would overrun a stricter window however long the
slots are held); each answer without one wins a tenth of the way back, never
back to pacing, and never past a floor: the slowdown a rate-limit answer found
too fast, and a quarter more (a memory that fades over some hundreds of
answers), nor past the rate the server showed it takes (0.9 of the requests
sent in the window before its refusal, less the refused one). A server stricter
than configured is met within a few answers instead of being hit again and
again, which is how amoCRM accounts get blocked.

Both rules also space requests at least ``1/rate`` apart: no start-up burst.
``pause(seconds)`` holds every waiter, and so every task of the Session that
owns the limiter, until it is over: a 429 slows the account, not just the
request that got it.

A caller cancelled while it waits (for its turn, a slot or a pause) takes
nothing: all waiting happens before the limiter changes any state, and the
turn, the slot and the next send time are taken together, with no await
between them. A request cancelled after its bytes may have left is another
matter: the server may still count it, later than any answer the client will
see. It keeps its slot as a request whose answer never came would (until a
window after its send plus the widened range of the response times, while
pacing with enough answers; else until its timeout would have ended the wait,
plus a window), and only a request cancelled before it left frees its slot at
once.

This module does not retry or send anything.
"""

from __future__ import annotations

import asyncio
import bisect
import math
from collections import deque
from typing import Literal, Protocol, TypeVar, runtime_checkable

from ._clock import Clock, SystemClock

__all__ = ["PausableThrottle", "RateLimiter", "Throttle"]

#: After a rate-limit answer, recovery stops this much slower than the slowdown it came at.
FLOOR_MARGIN = 1.25
#: The share of the floor's excess over 1 each answer without a rate-limit answer forgets.
FLOOR_FADE = 0.002
#: After a rate-limit answer, the share of the requests sent over the last window
#: the rate drops to (at most: halving may slow it more).
LEARNED_SHARE = 0.9
#: ...learned only from at least this share of the rate sent in that window: the
#: server's window holds other clients' requests too (another process on the
#: account, an earlier run), and two sends before a refusal say nothing of the rate.
LEARNED_MIN = 0.25
#: Answers before the paced mode trusts a floor under the response times.
MIN_SAMPLES = 3
#: Answers before a request still in flight may free its slot unanswered.
TRUST_SAMPLES = 10
#: Response times the floor and the range are taken over (the latest ones).
SAMPLES = 200
#: Seconds after its send a request cancelled on its way may still be counted, when
#: its own timeout does not say (no timeout: the wait for its answer had no end).
ABANDONED_LIMIT = 60.0
#: How many times range/(n-1) the floor lies below the least response time seen...
FLOOR_WIDENING = 6.0
#: ...and at least this share of the range, however many answers are in (a loaded
#: machine's timing noise is not the even spread the 1/(n-1) rule assumes).
FLOOR_SHARE = 0.2


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


K = TypeVar("K")
V = TypeVar("V")


def take_oldest(held: dict[K, deque[V]], key: K) -> V | None:
    """The oldest entry ``key`` holds, taken out (its key dropped when it held only that).

    A throttle keeps each task's requests in flight this way: answers come back
    out of order across tasks, and each ends its own request's slot.
    """
    entries = held.get(key)
    if not entries:
        return None
    entry = entries.popleft()
    if not entries:
        del held[key]
    return entry


class Pacing:
    """Which rule runs now, and its bounds, from the mode, the response times and any 429.

    Shared by :class:`RateLimiter` and :class:`crmkit.redis_throttle.RedisThrottle`.
    """

    def __init__(self, mode: Mode) -> None:
        if mode not in ("paced", "strict"):
            raise ValueError(f"mode must be 'paced' or 'strict', not {mode!r}")
        self.mode = mode
        self.tightened = False
        self._samples: deque[float] = deque(maxlen=SAMPLES)
        self._floor = 0.0
        self._ceiling = math.inf

    def record(self, seconds: float) -> None:
        """One request's response time (acquire to answer)."""
        samples = self._samples
        samples.append(seconds)
        n = len(samples)
        if n < MIN_SAMPLES:
            return
        low, high = min(samples), max(samples)
        widening = (high - low) * max(FLOOR_WIDENING / (n - 1), FLOOR_SHARE)
        self._floor = max(0.0, low - widening)
        self._ceiling = high + widening if n >= TRUST_SAMPLES else math.inf

    @property
    def pacing(self) -> bool:
        """Whether the paced rule runs (a floor above 0 is known, no 429 came)."""
        return self.mode == "paced" and not self.tightened and self._floor > 0

    @property
    def floor(self) -> float:
        """Seconds a slot ends before a window after the answer (0 under the strict rule)."""
        return self._floor if self.pacing else 0.0

    @property
    def in_flight_hold(self) -> float:
        """Seconds after its send a request still in flight frees its slot (inf: at its answer)."""
        return self._ceiling - self._floor if self.pacing else math.inf


class RateLimiter:
    """At most ``rate`` requests in any one-second window the server sees, never a burst.

    ``mode`` is ``"paced"`` (the default: the whole rate, each slot ending a
    window after the request was counted, as bounded from the measured response
    times) or ``"strict"`` (each slot held until a window after its answer:
    slower, safe whatever the network does); the module docstring gives the
    reasoning. ``rate=None`` limits nothing but still honours :meth:`pause`.
    ``margin`` is the share of the rate the spacing gives up (0.01 spaces at
    99 % of ``rate``). Rates below one per second hold their one slot for
    ``1/rate`` seconds. Call :meth:`release` once per :meth:`acquire`, from the
    same task (the Session does), or use ``async with limiter:``.
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
        # Each request in flight, by the task that sent it (answers come back out
        # of order: each ends its own slot): [acquired, answer's headers came,
        # began to be written], inf until known.
        self._sent: dict[asyncio.Task[object] | None, deque[list[float]]] = {}
        # Whether the transport tells when requests are written (then a request
        # not yet written has no in-flight bound: it may sit in a TLS handshake).
        self._writes_told = False
        # Requests cancelled on their way: (written or acquired, the latest
        # instant their slot ends).
        self._abandoned: list[tuple[float, float]] = []
        self._in_flight = 0
        self._tails: list[float] = []  # when each answered request's slot ends, in order
        self._turn = asyncio.Lock()
        self._wake: asyncio.Future[None] | None = None
        #: How many times the configured hold a slot is held now (1 = full rate).
        self.slowdown = 1.0
        #: The least slowdown recovery goes back to (set by rate-limit answers, fading).
        self.slowdown_floor = 1.0
        # When requests were sent, over the last window: at a refusal, the server
        # had at most these (less the refused one) counted.
        self._recent: deque[float] = deque()

    # -- the two rules ---------------------------------------------------------

    @property
    def pacing(self) -> bool:
        """Whether the paced rule runs now (else each slot is held past its answer)."""
        return self._pace.pacing

    @property
    def tightened(self) -> bool:
        """Whether a rate-limit answer came: the strict rule from then on."""
        return self._pace.tightened

    @property
    def spacing(self) -> float:
        """Seconds between two sends now (0 without a rate); longer while slowed down."""
        return self._interval * self.slowdown

    @property
    def floor(self) -> float:
        """Seconds each answered slot ends before a window after its answer (the paced rule)."""
        return self._pace.floor

    @property
    def in_use(self) -> int:
        """Slots held now: requests in flight plus answered ones still within their window."""
        return self._busy(self._clock.monotonic())[0]

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
                    continue
                busy, frees_at = self._busy(now)
                if busy < self._capacity:
                    break
                await self._slot_freed(frees_at - now)
            # Taken together, after the last await: a cancelled waiter took nothing.
            self._in_flight += 1
            self._sent.setdefault(asyncio.current_task(), deque()).append([now, math.inf, math.inf])
            self._sent_within(now)
            self._recent.append(now)
            self._next_at = now + self.spacing

    def written(self) -> None:
        """The calling task's request begins to leave: its headers are being written.

        Its response time then counts from here, not from its acquire: opening
        a connection (TCP, TLS) or waiting for a pooled one comes before the
        request can travel to be counted, and a first answer slowed by a
        handshake would otherwise widen the measured spread (and so lower the
        floor) for the next :data:`SAMPLES` answers. A request in flight holds
        its slot by the in-flight rule from this instant; once any write was
        told, one not written yet holds it until written or answered.
        """
        self._writes_told = True
        for entry in self._sent.get(asyncio.current_task(), ()):
            if math.isinf(entry[2]):
                entry[2] = self._clock.monotonic()
                self._wake_waiter()  # its in-flight bound is known now
                return

    def _start(self, entry: list[float]) -> float:
        """When ``entry``'s response time counts from (inf: not written yet, writes told)."""
        if not math.isinf(entry[2]):
            return entry[2]
        return math.inf if self._writes_told else entry[0]

    def answered(self) -> None:
        """The calling task's request is answered: its headers are in (the body may follow).

        :meth:`release` then ends the slot from this instant instead of its own:
        the server counted the request before it answered, and the body's
        reading, its decoding and the event loop's turns until the release are
        the client's own delays.
        """
        for entry in self._sent.get(asyncio.current_task(), ()):
            if math.isinf(entry[1]):
                entry[1] = self._clock.monotonic()
                return

    def release(self) -> None:
        """The answer to an acquired request is in: its slot ends a window after it was counted."""
        if self.rate is None or self._in_flight == 0:
            return
        self._in_flight -= 1
        self._answer(self._clock.monotonic(), self._sent_by(asyncio.current_task()))

    @property
    def abandon_bound(self) -> float:
        """Seconds after its write a request abandoned now could hold its slot at most.

        Finite while pacing has learned the spread of response times (a window
        and that spread); inf under the strict rule and before that (then only
        the request's timeout ends its hold: see :meth:`abandon`).
        """
        return self._pace.in_flight_hold + self._hold

    def abandon(self, *, sent: bool = True, timeout: float | None = None) -> None:
        """The calling task's request will get no answer (it was cancelled): end its slot safely.

        ``sent=False`` (its bytes never left): the slot is free at once, and no
        response time is learned. Sent, the server may still count it, at any
        instant until the answer that will never be read: it holds its slot as
        a request in flight whose answer never came, until ``timeout`` seconds
        after its send (when waiting for that answer would have ended, as a
        timed-out request's does; :data:`ABANDONED_LIMIT` when None) plus a
        window, or sooner by the in-flight rule while pacing. One whose answer's
        headers were in is released as answered.
        """
        if self.rate is None or self._in_flight == 0:
            return
        self._in_flight -= 1
        entry = self._sent_by(asyncio.current_task())
        if entry is not None and sent and not math.isinf(entry[1]):
            self._answer(entry[1], entry)
            return
        if entry is not None and sent:
            limit = ABANDONED_LIMIT if timeout is None else timeout
            self._abandoned.append((self._start(entry), entry[0] + limit + self._hold))
        self._wake_waiter()

    def _answer(self, at: float, entry: list[float] | None) -> None:
        """End ``entry``'s slot a window after ``at`` (or its answer's headers) less the floor."""
        if entry is not None:
            at = min(at, entry[1])
            written = entry[2]
            self._pace.record(at - (entry[0] if math.isinf(written) else written))
        bisect.insort(self._tails, at - self._pace.floor + self._hold)
        self._wake_waiter()

    def _wake_waiter(self) -> None:
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)

    def _sent_by(self, task: asyncio.Task[object] | None) -> list[float] | None:
        """``task``'s oldest request in flight, taken out (any task's, from another one)."""
        if task not in self._sent:
            task = next(iter(self._sent), None)
        return take_oldest(self._sent, task)

    def _busy(self, now: float) -> tuple[int, float]:
        """Slots held at ``now``, and when the next one ends (inf: at an answer)."""
        tails = self._tails
        ended = bisect.bisect_right(tails, now)
        if ended:
            del tails[:ended]
        busy, frees_at = len(tails), tails[0] if tails else math.inf
        hold = self._pace.in_flight_hold
        if self._abandoned:  # as if in flight, until their timeout's end at the latest
            self._abandoned = [(start, until) for start, until in self._abandoned if until > now]
            for start, until in self._abandoned:
                ends = min(until, start + hold + self._hold)
                if ends > now:
                    busy += 1
                    frees_at = min(frees_at, ends)
        if math.isinf(hold):
            return busy + self._in_flight, frees_at
        for sends in self._sent.values():
            for entry in sends:
                ends = self._start(entry) + hold + self._hold
                if ends > now:
                    busy += 1
                    frees_at = min(frees_at, ends)
        return busy, frees_at

    async def _slot_freed(self, wait: float) -> None:
        """Wait for the slot that ends first (``wait`` seconds), or for an answer if none ends.

        An answer cannot free a slot sooner than the first to end: its own slot
        ends a window after its answer less the floor, later than the slots of
        requests answered before it.
        """
        if not math.isinf(wait):
            await self._clock.sleep(wait)
            return
        self._wake = asyncio.get_running_loop().create_future()
        try:
            await self._wake
        finally:
            self._wake = None

    def slow_down(self) -> None:
        """A rate-limit answer came: the strict rule from now on, at half the rate (to 1/64).

        Slower still when the requests sent over the last window say the server
        takes fewer: it refused with at most those (less the refused one)
        counted, so the rate drops to :data:`LEARNED_SHARE` of that count, and
        recovery stops there (a client told 12/s on a 5/s account goes to 4.5/s
        at its first refusal, not to 6/s and back up to a second refusal). Sends,
        not answers, are counted: answers still on their way would make the count
        too low and the client needlessly slow. Only when this client sent at
        least :data:`LEARNED_MIN` of its rate in that window: a refusal after a
        few sends (the window full of another client's requests) only halves.
        """
        self._pace.tightened = True
        floor = self.slowdown * FLOOR_MARGIN
        others = self._sent_within(self._clock.monotonic()) - 1  # less the refused one
        if self.rate is not None and others >= max(2.0, self.rate * LEARNED_MIN):
            floor = max(floor, self.rate / (others * LEARNED_SHARE))
        self.slowdown_floor = min(max(self.slowdown_floor, floor), 64.0)
        self.slowdown = min(max(self.slowdown * 2.0, floor), 64.0)
        self._hold = self._base_hold * self.slowdown

    def _sent_within(self, now: float) -> int:
        """Requests sent in the window before ``now``."""
        recent = self._recent
        while recent and recent[0] <= now - self._base_hold:
            recent.popleft()
        return len(recent)

    def recovered(self) -> None:
        """An answer came without a rate-limit error: win back a tenth of the way (to the floor)."""
        if self.slowdown_floor > 1.0:
            floor = self.slowdown_floor
            self.slowdown_floor = max(1.0, floor - (floor - 1.0) * FLOOR_FADE - 0.001)
        if self.slowdown > 1.0:
            won_back = self.slowdown - (self.slowdown - 1.0) * 0.1 - 0.01
            self.slowdown = max(self.slowdown_floor, won_back)
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
