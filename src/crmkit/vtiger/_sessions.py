"""Sharing one vtiger session among every worker that logs in as one user.

vtiger keeps one challenge token per user: a new ``getchallenge`` deletes the
previous token (``include/Webservices/AuthToken.php``), so two workers of one
user that log in at the same time break each other's login
(``INVALID_USER_CREDENTIALS``). A session, once made, serves any number of
callers. So workers that share a user should share its session: pass the same
store as ``session_store=`` to every client (a :class:`MemorySessionStore` for
clients in one process, a :class:`RedisSessionStore` across processes). The
client then uses the stored session, and only one worker at a time logs in,
holding the store's lock, the others waiting and then using what it stored.

A store keeps short text values by key with a time to live, and a lock per key.
This module is not a cache of records and holds no credentials: only session
names (secrets, kept out of logs and reprs).
"""

from __future__ import annotations

import asyncio
import time
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from .._redis_lease import redis_lease

__all__ = ["MemorySessionStore", "RedisSessionStore", "SessionStore"]


class SessionStore(Protocol):
    """Where workers of one user find the session; see :mod:`crmkit.vtiger`."""

    async def load(self, key: str) -> str | None:
        """The value saved under ``key``, or None (none, or its time has passed)."""
        ...

    async def save(self, key: str, value: str, ttl: float) -> None:
        """Keep ``value`` under ``key`` for ``ttl`` seconds."""
        ...

    def lock(self, key: str) -> AbstractAsyncContextManager[None]:
        """Held by the one worker that logs in for ``key``; the others wait for it."""
        ...


class MemorySessionStore:
    """A store for the clients of one process (the default: each client its own)."""

    def __init__(self) -> None:
        self._values: dict[str, tuple[str, float]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def load(self, key: str) -> str | None:
        value, expires = self._values.get(key, ("", 0.0))
        return value if value and time.monotonic() < expires else None

    async def save(self, key: str, value: str, ttl: float) -> None:
        self._values[key] = (value, time.monotonic() + ttl)

    def lock(self, key: str) -> AbstractAsyncContextManager[None]:
        return self._locks.setdefault(key, asyncio.Lock())

    def __repr__(self) -> str:
        return f"MemorySessionStore(keys={len(self._values)})"


class RedisSessionStore:
    """A store in Redis, for workers in many processes (extra ``redis``).

    ``redis`` is a URL or a ``redis.asyncio.Redis`` client. The lock is a key
    set with ``NX`` and a time to live (``lock_timeout``, renewed while its holder
    lives: :func:`crmkit._redis_lease.redis_lease`, shared with the OAuth token
    store), released only by its holder, so a worker that dies while logging in
    holds no one up for longer.
    Call :meth:`aclose` (or use ``async with``) to close a client made from a URL.
    """

    def __init__(
        self,
        redis: Any,
        *,
        prefix: str = "crmkit:vtiger:session",
        lock_timeout: float = 30.0,
        poll: float = 0.05,
    ) -> None:
        if isinstance(redis, str):
            import redis.asyncio as aioredis

            self._redis = aioredis.Redis.from_url(redis)
            self._owns_client = True
        else:
            self._redis = redis
            self._owns_client = False
        self.prefix = prefix
        self.lock_timeout = lock_timeout
        self.poll = poll

    async def load(self, key: str) -> str | None:
        value = await self._redis.get(f"{self.prefix}:{key}")
        if value is None:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)

    async def save(self, key: str, value: str, ttl: float) -> None:
        await self._redis.set(f"{self.prefix}:{key}", value, px=max(1, int(ttl * 1000)))

    def lock(self, key: str) -> AbstractAsyncContextManager[None]:
        return redis_lease(
            self._redis, f"{self.prefix}:{key}:lock", lease=self.lock_timeout, poll=self.poll
        )

    async def aclose(self) -> None:
        """Close the Redis client if this store made it."""
        if self._owns_client:
            await self._redis.aclose()

    async def __aenter__(self) -> RedisSessionStore:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"RedisSessionStore(prefix={self.prefix!r})"
