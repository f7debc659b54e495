"""One holder at a time across processes: a Redis key with a lease (extra ``redis``).

:func:`redis_lease` sets ``name`` with ``NX`` and a time to live, polls while
another process holds it, renews the lease while its holder lives (a third of
the lease at a time, so a slow holder keeps it) and deletes it only if it is
still the holder's. A holder that dies frees it within one lease. Used by the
OAuth token store (:mod:`crmkit.redis_stores`) and the vtiger session store.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

__all__ = ["redis_lease"]

# Extend or delete the lease only while it is still this holder's.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


@contextlib.asynccontextmanager
async def redis_lease(redis: Any, name: str, *, lease: float, poll: float) -> AsyncIterator[None]:
    """Hold ``name`` (a ``redis.asyncio.Redis`` client's key) for the ``async with`` block."""
    token = uuid.uuid4().hex
    lease_ms = max(1, int(lease * 1000))
    # Another process holds it: nothing to wait on but Redis itself, so poll.
    while not await redis.set(name, token, nx=True, px=lease_ms):  # noqa: ASYNC110
        await asyncio.sleep(poll)
    renew = redis.register_script(_RENEW)

    async def keep() -> None:
        while True:
            await asyncio.sleep(lease / 3)
            await renew(keys=[name], args=[token, lease_ms])

    keeper = asyncio.ensure_future(keep())
    try:
        yield
    finally:
        keeper.cancel()
        await asyncio.gather(keeper, return_exceptions=True)
        await redis.register_script(_RELEASE)(keys=[name], args=[token])
