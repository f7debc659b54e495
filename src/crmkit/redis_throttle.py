"""A throttle shared through Redis, for many processes that use one account (extra ``redis``).

``RedisThrottle`` keeps the rule of the local :class:`crmkit.RateLimiter`
across every process that names the same ``key``:

- slots: at most ``rate`` requests hold a slot in any window (1 s), each from
  its acquire until one window after its answer (in flight, a slot is kept
  for up to ``in_flight_limit`` seconds, so a crashed process cannot hold one
  for ever);
- spacing: grants leave at least ``1/rate`` seconds apart, so several
  processes starting together do not burst;
- ``pause(seconds)`` after a 429 holds every process, not only the one that
  got it;
- the same two modes (see :mod:`crmkit._throttle`): ``mode="strict"``, and
  any process's run after its first 429, holds each slot until a window after
  its answer; ``mode="paced"`` (the default) ends it a window after the
  instant the server can have counted the request, the answer's instant less
  the floor under the response times this process measured (the answer's
  instant is when its headers came, told by the Session through
  :meth:`RedisThrottle.answered`). Both kinds of slot live in one sorted set,
  so processes in different modes still share one limit;
- a request cancelled on its way keeps its slot as one whose answer never
  came (until ``in_flight_limit``, or its timeout, plus a window); one
  cancelled before it left frees it at once.

One Lua script per grant decides atomically, on Redis's own clock (the
processes' clocks may disagree), and answers how long to wait when it says
"not yet": until the slot that ends first ends, the spacing or the pause is
over. A waiter sleeps exactly that long; when the slot it waits for is still
in flight (its answer will end it sooner), it also wakes when a release is
published on the key's channel, to which it subscribes (one connection per
throttle, opened at its first such wait). Within a process, one task at a time asks
Redis; the others queue locally. Pass it as ``throttle=`` to any client::

    throttle = RedisThrottle("redis://127.0.0.1:6379/0", key="amocrm:acme", rate=7)
    async with crmkit.AmoCRM("acme", access_token=token, throttle=throttle) as amo: ...

What it is not: a queue (no order between processes beyond first come) or a
lock; it needs Redis 5 or later.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import uuid
from collections import deque
from typing import Any

from ._throttle import Mode, Pacing, take_oldest

__all__ = ["RedisThrottle"]

_GRANT = """
local slots, pause, last = KEYS[1], KEYS[2], KEYS[3]
local window, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local spacing, flight = tonumber(ARGV[3]), tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local paused = redis.call('PTTL', pause)
if paused > 0 then return {paused, 0} end
redis.call('ZREMRANGEBYSCORE', slots, '-inf', now - window)
local wait, shrinks = 0, 0
local held = redis.call('ZCARD', slots)
if held >= limit then
  local ending = redis.call('ZRANGE', slots, held - limit, held - limit, 'WITHSCORES')
  local ends = tonumber(ending[2])
  wait = ends + window - now
  -- A slot still in flight (its end ahead of now) ends sooner once answered.
  if ends > now then shrinks = 1 end
end
local previous = redis.call('GET', last)
if previous then
  local gap = tonumber(previous) + spacing - now
  if gap > wait then wait, shrinks = gap, 0 end
end
-- Redis turns a Lua number into an integer by truncation: 0.4 ms would read as "granted".
if wait > 0 then return {math.ceil(wait), shrinks} end
redis.call('ZADD', slots, now + flight, ARGV[5])
redis.call('SET', last, now, 'PX', math.ceil(spacing) + 1000)
-- Never shortens the set's life: another grant's slot may be in flight longer.
if redis.call('PTTL', slots) < flight + window + 1000 then
  redis.call('PEXPIRE', slots, flight + window + 1000)
end
return {0, 0}
"""

# The answer is in: the slot now ends one window after this instant less the
# floor (the paced rule; 0 under the strict one). Waiters are told.
_RELEASE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], 'XX', now - tonumber(ARGV[2]), ARGV[1])
redis.call('PUBLISH', KEYS[1], '1')
return 1
"""

_PAUSE = """
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
end
return 1
"""

#: Longest wait between two asks when Redis says "not yet", should a release's message be lost.
_MAX_WAIT = 1.0


class RedisThrottle:
    """At most ``rate`` requests per second for everyone sharing ``key``, through Redis.

    ``redis`` is a URL or a ``redis.asyncio.Redis`` client (decoded or not).
    Call :meth:`aclose` (or use ``async with``) when done, to finish the
    pending slot updates and close a client made from a URL.
    """

    def __init__(
        self,
        redis: Any,
        *,
        key: str,
        rate: float,
        window: float = 1.0,
        margin: float = 0.01,
        in_flight_limit: float = 60.0,
        mode: Mode = "paced",
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be a positive number of requests per second, not {rate!r}")
        if not key:
            raise ValueError("key must name the account the processes share")
        if isinstance(redis, str):
            import redis.asyncio as aioredis

            self._redis = aioredis.Redis.from_url(redis)
            self._owns_client = True
        else:
            self._redis = redis
            self._owns_client = False
        self._pace = Pacing(mode)
        self.key = key
        self.rate = rate
        self.mode = mode
        self._keys = [f"crmkit:throttle:{key}:{part}" for part in ("slots", "pause", "last")]
        self._window_ms = int(window * 1000)
        self._limit = max(1, math.floor(rate * window))
        self._spacing_ms = 1000.0 / (rate * (1.0 - margin))
        self._flight_ms = int(in_flight_limit * 1000)
        self._grant = self._redis.register_script(_GRANT)
        self._release = self._redis.register_script(_RELEASE)
        self._pause = self._redis.register_script(_PAUSE)
        owner = uuid.uuid4().hex  # this throttle's prefix; a counter makes each slot unique
        self._names = (f"{owner}:{n}" for n in itertools.count())
        # The slot each task holds: its name, when it was granted, when its answer's
        # headers came (inf until then) and how long it is held unanswered. A
        # request's answer must end its own slot, not another's (answers come back
        # out of order; ending a slot still in flight would free it while its
        # request may yet reach the server).
        self._held: dict[asyncio.Task[Any] | None, deque[list[Any]]] = {}
        self._local = asyncio.Lock()
        self._pending: set[asyncio.Task[Any]] = set()
        self._paused_until = 0.0  # this process's own view, ahead of Redis's
        self._wakeups: Any = None  # the pub/sub connection, from the first wait

    async def acquire(self) -> None:
        """Wait until a request may go; it holds its slot until :meth:`release`."""
        loop = asyncio.get_running_loop()
        async with self._local:
            # A pause only grows, and is re-read after each sleep.
            remaining = self._paused_until - loop.time()
            while remaining > 0:
                await asyncio.sleep(remaining)
                remaining = self._paused_until - loop.time()
            name = next(self._names)
            while True:
                if self._wakeups is not None:  # releases already seen by the script below
                    while await self._wakeups.get_message(True, timeout=0) is not None:
                        pass
                hold = self._pace.in_flight_hold
                flight = self._flight_ms if math.isinf(hold) else math.ceil(hold * 1000)
                try:
                    wait_ms, shrinks = (
                        int(value)
                        for value in await self._grant(
                            keys=self._keys,
                            args=[self._window_ms, self._limit, self._spacing_ms, flight, name],
                        )
                    )
                except BaseException:
                    # Cancelled with the grant on its way: if Redis granted it, the
                    # slot ends one window from now instead of after in_flight_limit.
                    self._spawn(self._release(keys=self._keys[:1], args=[name, 0]))
                    raise
                if wait_ms <= 0:
                    held = self._held.setdefault(asyncio.current_task(), deque())
                    held.append([name, loop.time(), math.inf, flight / 1000.0])
                    return
                if shrinks:
                    await self._wait(min(wait_ms / 1000.0, _MAX_WAIT))
                else:  # the spacing, a pause or an answered slot: an answer changes nothing
                    await asyncio.sleep(wait_ms / 1000.0)

    async def _wait(self, seconds: float) -> None:
        """Sleep ``seconds``, or less if a release on this key is published meanwhile."""
        if self._wakeups is None:
            self._wakeups = self._redis.pubsub()
            await self._wakeups.subscribe(self._keys[0])
        deadline = asyncio.get_running_loop().time() + seconds
        while (left := deadline - asyncio.get_running_loop().time()) > 0:
            message = await self._wakeups.get_message(True, timeout=left)
            if message is not None and message.get("type") == "message":
                return

    def answered(self) -> None:
        """The calling task's request is answered (its headers are in): its slot ends from now."""
        for entry in self._held.get(asyncio.current_task(), ()):
            if math.isinf(entry[2]):
                entry[2] = asyncio.get_running_loop().time()
                return

    def release(self) -> None:
        """An answer is in: the slot the calling task acquired ends a window after its count.

        Call it from the task that called :meth:`acquire` (the Session does).
        """
        entry = self._take()
        if entry is not None:
            self._end(entry, asyncio.get_running_loop().time())

    def abandon(self, *, sent: bool = True, timeout: float | None = None) -> None:
        """The calling task's request was cancelled: see :meth:`crmkit.RateLimiter.abandon`.

        Never sent, its slot is removed; sent, it stays as granted (held for
        ``in_flight_limit``, or the paced in-flight bound), or until ``timeout``
        after the grant plus a window when that is sooner; answered, released.
        """
        entry = self._take()
        if entry is None:
            return
        name, granted, answered, flight = entry
        now = asyncio.get_running_loop().time()
        if not sent:
            self._spawn(self._redis.zrem(self._keys[0], name))
        elif not math.isinf(answered):
            self._end(entry, now)
        elif timeout is not None and timeout < flight:
            # Redis's clock at the script is past the grant by at least now - granted.
            later_ms = int((now - granted - timeout) * 1000)
            self._spawn(self._release(keys=self._keys[:1], args=[name, later_ms]))

    def _take(self) -> list[Any] | None:
        return take_oldest(self._held, asyncio.current_task())

    def _end(self, entry: list[Any], now: float) -> None:
        """End ``entry``'s slot a window after its answer (its headers, if told) less the floor."""
        name, granted, answered, _ = entry
        at = min(now, answered)
        self._pace.record(at - granted)
        # Redis's clock at the script is past the answer by at least now - at;
        # truncated to whole milliseconds, a slot ends no sooner.
        deduct_ms = int((self._pace.floor + now - at) * 1000)
        self._spawn(self._release(keys=self._keys[:1], args=[name, deduct_ms]))

    def slow_down(self) -> None:
        """A rate-limit answer came: this process keeps the strict rule from now on."""
        self._pace.tightened = True

    @property
    def pacing(self) -> bool:
        """Whether this process's slots end a window after the count (else after the answer)."""
        return self._pace.pacing

    def pause(self, seconds: float) -> None:
        """Hold every process using this key for ``seconds`` (never shortens a pause)."""
        millis = max(1, int(seconds * 1000))
        loop = asyncio.get_running_loop()
        self._paused_until = max(self._paused_until, loop.time() + seconds)
        self._spawn(self._pause(keys=[self._keys[1]], args=[millis]))

    async def aclose(self) -> None:
        """Finish pending slot updates; close the Redis client if this throttle made it."""
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
        if self._wakeups is not None:
            await self._wakeups.aclose()
        if self._owns_client:
            await self._redis.aclose()

    async def __aenter__(self) -> RedisThrottle:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def _spawn(self, call: Any) -> None:
        task = asyncio.ensure_future(call)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def __repr__(self) -> str:
        return f"RedisThrottle(key={self.key!r}, rate={self.rate!r}, mode={self.mode!r})"
