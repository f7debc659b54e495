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
- the same two modes (see :mod:`crmkit._throttle`): ``mode="paced"`` (the
  default) grants by send time in a window widened by the spread of the
  response times this process measured, and holds no slot after the answer;
  ``mode="strict"``, and any process's run after its first 429, holds each
  slot until a window after the answer. Both kinds of grant live in one
  sorted set, so processes in different modes still share one limit.

One Lua script per grant decides atomically, on Redis's own clock (the
processes' clocks may disagree). Within a process, one task at a time asks
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

from ._throttle import Mode, Pacing

__all__ = ["RedisThrottle"]

_GRANT = """
local slots, pause, last = KEYS[1], KEYS[2], KEYS[3]
local window, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local spacing, flight = tonumber(ARGV[3]), tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local paused = redis.call('PTTL', pause)
if paused > 0 then return paused end
redis.call('ZREMRANGEBYSCORE', slots, '-inf', now - window)
local wait = 0
if redis.call('ZCARD', slots) >= limit then
  local oldest = redis.call('ZRANGE', slots, 0, 0, 'WITHSCORES')
  wait = tonumber(oldest[2]) + window - now
end
local previous = redis.call('GET', last)
if previous then
  local gap = tonumber(previous) + spacing - now
  if gap > wait then wait = gap end
end
-- Redis turns a Lua number into an integer by truncation: 0.4 ms would read as "granted".
if wait > 0 then return math.ceil(wait) end
redis.call('ZADD', slots, now + flight, ARGV[5])
redis.call('SET', last, now, 'PX', math.ceil(spacing) + 1000)
redis.call('PEXPIRE', slots, flight + window + 1000)
return 0
"""

# The answer is in: the slot now ends one window from this instant.
_RELEASE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], 'XX', now, ARGV[1])
return 1
"""

_PAUSE = """
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
end
return 1
"""

#: Longest wait between two asks when Redis says "not yet" (slots in flight end unannounced).
_MAX_POLL = 0.05


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
        # The slot each task holds: a request's answer must end its own slot, not
        # another's (answers come back out of order; ending a slot still in flight
        # would free it while its request may yet reach the server).
        self._held: dict[asyncio.Task[Any] | None, deque[str]] = {}
        self._local = asyncio.Lock()
        self._pending: set[asyncio.Task[Any]] = set()
        self._paused_until = 0.0  # this process's own view, ahead of Redis's

    async def acquire(self) -> None:
        """Wait until a request may go; it holds its slot until :meth:`release`."""
        async with self._local:
            # A pause only grows, and is re-read after each sleep.
            remaining = self._paused_until - asyncio.get_running_loop().time()
            while remaining > 0:
                await asyncio.sleep(remaining)
                remaining = self._paused_until - asyncio.get_running_loop().time()
            name = next(self._names)
            while True:
                pacing, widening = self._pace.pacing, self._pace.widening
                try:
                    wait_ms = int(
                        await self._grant(
                            keys=self._keys,
                            args=[
                                math.ceil(self._window_ms * widening),
                                self._limit,
                                self._spacing_ms * widening,
                                0 if pacing else self._flight_ms,
                                name,
                            ],
                        )
                    )
                except BaseException:
                    # Cancelled with the grant on its way: if Redis granted it, the
                    # slot ends one window from now instead of after in_flight_limit.
                    self._spawn(self._release(keys=self._keys[:1], args=[name]))
                    raise
                if wait_ms <= 0:
                    if not pacing:  # a paced grant's slot ends a window after it was sent
                        self._held.setdefault(asyncio.current_task(), deque()).append(name)
                    return
                await asyncio.sleep(min(wait_ms / 1000.0, _MAX_POLL))

    def release(self) -> None:
        """An answer is in: the slot the calling task acquired ends one window from now.

        Call it from the task that called :meth:`acquire` (the Session does).
        """
        task = asyncio.current_task()
        names = self._held.get(task)
        if not names:
            return
        name = names.popleft()
        if not names:
            del self._held[task]
        self._spawn(self._release(keys=self._keys[:1], args=[name]))

    def record(self, seconds: float) -> None:
        """One request's response time (the Session reports each), for the paced mode."""
        self._pace.record(seconds, asyncio.get_running_loop().time())

    def slow_down(self) -> None:
        """A rate-limit answer came: this process keeps the strict rule from now on."""
        self._pace.tightened = True

    @property
    def pacing(self) -> bool:
        """Whether this process's grants are paced by send time now."""
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
