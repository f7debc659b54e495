"""Tokens and checkpoints in Redis, for many processes serving one account (extra ``redis``).

- :class:`RedisTokenStore`: an account's tokens (amoCRM's OAuth pair by
  default; any attrs class of tokens) where every worker reads them, with a
  refresh that is single-flight across processes. ``refreshing()`` is a Redis
  lock with a lease (renewed while its holder lives, so a killed holder frees it
  within one lease): the holder re-reads the pair, refreshes, saves the new pair
  and only then releases; the others wait, then read what it saved. Pass it to
  a client as ``token_store=``; :class:`crmkit.amocrm.OAuth` uses the lease.
- :class:`RedisCheckpointStore`: the export engine's state (the paginator's
  position and the output's length) kept in Redis, so that a job retried on
  another machine resumes from the last page completed.

A refresher killed after amoCRM rotated the pair but before it saved the new
one: amoCRM documents its refresh tokens as single use with no grace period,
so the new pair died with the process and the old refresh token is refused.
The next refresher learns it from one refused call (amoCRM's 401), records the
refusal, and every process then fails fast with ``AuthenticationError`` (no
second call, no retry loop against the token endpoint) until the integration
is authorized again and the new pair is saved with :meth:`RedisTokenStore.save`.
What crmkit guarantees is that concurrency never loses a pair, and a refresher
killed before the call, or after the save, costs nothing.

Keys: ``crmkit:tokens:{key}`` (the pair, JSON), ``…:lease``, ``…:refused``;
``crmkit:checkpoint:{key}``. Tokens are kept in clear in Redis, as in a
JSON file store: protect Redis as a secret store (ACLs, TLS, no public port).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Generic, TypeVar

import attrs

from ._redis_lease import redis_lease
from .amocrm._auth import OAuthCredentials
from .errors import AuthenticationError

__all__ = ["RedisCheckpointStore", "RedisTokenStore", "StaleCheckpointError"]

T = TypeVar("T")

# Save a checkpoint unless a later attempt (a higher epoch) has saved one since.
_SAVE_CHECKPOINT = """
local saved = redis.call('GET', KEYS[1])
if saved then
  local epoch = cjson.decode(saved)['epoch']
  if epoch and tonumber(epoch) > tonumber(ARGV[2]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1])
return 1
"""


def _client(redis: Any) -> tuple[Any, bool]:
    if isinstance(redis, str):
        import redis.asyncio as aioredis

        return aioredis.Redis.from_url(redis), True
    return redis, False


def _fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class RedisTokenStore(Generic[T]):
    """An account's tokens in Redis, shared by every process; refreshes one at a time.

    ``redis`` is a URL or a ``redis.asyncio.Redis`` client; ``key`` names the
    account (``"amocrm:acme"``). ``model`` is the attrs class of the tokens
    (amoCRM's :class:`~crmkit.amocrm.OAuthCredentials` by default).
    ``lease`` is how long a refresher holds the lock without renewing it:
    a killed refresher delays the others by at most that.
    """

    def __init__(
        self,
        redis: Any,
        *,
        key: str,
        model: type[T] = OAuthCredentials,  # type: ignore[assignment]
        lease: float = 30.0,
        poll: float = 0.05,
    ) -> None:
        if not key:
            raise ValueError("key must name the account whose tokens these are")
        if not attrs.has(model):
            raise TypeError(f"model must be an attrs class of tokens, not {model!r}")
        if lease <= 0 or poll <= 0:
            raise ValueError("lease and poll must be positive numbers of seconds")
        self._redis, self._owns_client = _client(redis)
        self.key = key
        self.model = model
        self.lease = lease
        self.poll = poll
        self._key = f"crmkit:tokens:{key}"
        self._lease_key = self._key + ":lease"
        self._refused_key = self._key + ":refused"

    def __repr__(self) -> str:
        return f"RedisTokenStore(key={self.key!r})"

    async def load(self) -> T | None:
        """The tokens saved last, or None."""
        raw = await self._redis.get(self._key)
        if raw is None:
            return None
        make: Any = self.model  # an attrs class (checked in __init__)
        loaded: T = make(**json.loads(raw))
        return loaded

    async def save(self, credentials: T) -> None:
        """Replace the tokens (a refresh's new pair, or a new authorization)."""
        await self._redis.set(self._key, json.dumps(attrs.asdict(credentials)))  # type: ignore[arg-type]

    async def refused(self) -> bool:
        """Whether the saved refresh token was refused (authorize the integration again)."""
        saved, marker = await self._redis.mget(self._key, self._refused_key)
        return saved is not None and marker is not None and marker.decode() == _marker(saved)

    @asynccontextmanager
    async def refreshing(self) -> AsyncIterator[None]:
        """Hold the account's refresh lease: one holder across every process.

        Inside, re-read the tokens (another holder may have refreshed), refresh
        if still due and :meth:`save` before leaving. An
        :class:`~crmkit.errors.AuthenticationError` raised inside marks the saved
        refresh token as refused, so that later holders fail without a call.
        """
        async with redis_lease(self._redis, self._lease_key, lease=self.lease, poll=self.poll):
            if await self.refused():
                raise AuthenticationError(
                    f"the refresh token saved for {self.key!r} was refused (a refresh that "
                    "did not finish may have rotated it): authorize the integration again"
                )
            saved = await self._redis.get(self._key)
            try:
                yield
            except AuthenticationError:
                if saved is not None:
                    await self._redis.set(self._refused_key, _marker(saved))
                raise

    async def aclose(self) -> None:
        """Close the Redis client if this store made it from a URL."""
        if self._owns_client:
            await self._redis.aclose()


def _marker(saved: bytes) -> str:
    """The refused marker of a saved pair: its refresh token's fingerprint, never the token."""
    data = json.loads(saved)
    return _fingerprint(str(data.get("refresh_token", saved)))


class StaleCheckpointError(RuntimeError):
    """A later attempt at the same job has saved a checkpoint: this one must stop writing."""


class RedisCheckpointStore:
    """One export's state in Redis (the engine's ``checkpoints=``), fenced by attempt.

    ``key`` names the export (account and entity). ``epoch`` is this attempt's
    number (arq's ``job_try``): a save is refused with
    :class:`StaleCheckpointError` once a later attempt has saved, so a worker
    that was presumed dead and comes back cannot move the checkpoint backwards.
    ``extra`` is merged into every saved state (the jobs keep their run number).
    """

    def __init__(
        self, redis: Any, *, key: str, epoch: int = 0, extra: dict[str, Any] | None = None
    ) -> None:
        if not key:
            raise ValueError("key must name the export (account and entity)")
        self._redis, self._owns_client = _client(redis)
        self.key = key
        self.epoch = epoch
        self.extra = dict(extra or {})
        self._key = f"crmkit:checkpoint:{key}"
        self._save = self._redis.register_script(_SAVE_CHECKPOINT)

    def __repr__(self) -> str:
        return f"RedisCheckpointStore(key={self.key!r}, epoch={self.epoch})"

    async def load(self) -> dict[str, Any] | None:
        """The state saved last, or None."""
        raw = await self._redis.get(self._key)
        if raw is None:
            return None
        data: dict[str, Any] = json.loads(raw)
        return data

    async def save(self, state: dict[str, Any]) -> None:
        """Replace the state; :class:`StaleCheckpointError` if a later attempt saved."""
        body = json.dumps({**state, **self.extra, "epoch": self.epoch})
        if not await self._save(keys=[self._key], args=[body, self.epoch]):
            raise StaleCheckpointError(
                f"a later attempt at {self.key!r} has saved its checkpoint: this one stops"
            )

    async def clear(self) -> None:
        """Forget the state (the next run starts over)."""
        await self._redis.delete(self._key)

    async def aclose(self) -> None:
        """Close the Redis client if this store made it from a URL."""
        if self._owns_client:
            await self._redis.aclose()
