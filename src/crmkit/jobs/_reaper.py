"""Worker heartbeats, and taking back the jobs of a worker that died.

arq frees a job whose worker died only when the job's in-progress key expires
(the job timeout + 10 s after it started). Each crmkit worker also keeps a
heartbeat key alive (``crmkit:workers:{worker}``, ``heartbeat`` seconds of
life, renewed three times in that span) and looks, as often, at the jobs in
progress: a job whose status names a worker without a heartbeat, and which
started more than ``heartbeat`` seconds ago, has its in-progress key deleted,
so that any worker takes it up from its checkpoint at once. One Lua script
decides, so two reapers cannot both act on a job that a live worker has just
taken. A worker cut off from Redis cannot send (every request waits for a
grant from Redis) nor save a checkpoint, and a later attempt's checkpoint
fences it off for good.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from ._status import log_event

__all__ = ["heartbeat_and_reap", "reap_once"]

_PREFIX = "arq:in-progress:crmkit:"

# KEYS: in-progress key, status hash, heartbeat key prefix; ARGV: min age ms, lease ms.
_RECLAIM = """
local left = redis.call('PTTL', KEYS[1])
if left < 0 then return 0 end
if tonumber(ARGV[2]) - left < tonumber(ARGV[1]) then return 0 end
local worker = redis.call('HGET', KEYS[2], 'worker')
if not worker then return 0 end
worker = cjson.decode(worker)
if redis.call('EXISTS', KEYS[3] .. worker) == 1 then return 0 end
redis.call('DEL', KEYS[1])
return 1
"""


def heartbeat_key(worker: str) -> str:
    return f"crmkit:workers:{worker}"


async def reap_once(redis: Any, *, heartbeat: float, lease: float) -> list[str]:
    """Free the in-progress jobs of dead workers; the job ids freed."""
    script = redis.register_script(_RECLAIM)
    freed = []
    async for key in redis.scan_iter(match=_PREFIX + "*"):
        name = key.decode() if isinstance(key, bytes) else str(key)
        job = name.removeprefix("arq:in-progress:")
        _, account, entity = job.split(":", 2)
        status = f"crmkit:jobs:{account}:{entity}"
        args = [int(heartbeat * 1000), int(lease * 1000)]
        if await script(keys=[name, status, heartbeat_key("")], args=args):
            log_event("job.reclaimed", job_id=job, account=account, entity=entity)
            freed.append(job)
    return freed


async def heartbeat_and_reap(redis: Any, worker: str, *, heartbeat: float, lease: float) -> None:
    """Run until cancelled: keep this worker's heartbeat, free dead workers' jobs."""
    key = heartbeat_key(worker)
    try:
        while True:
            await redis.set(key, "1", px=int(heartbeat * 1000))
            with contextlib.suppress(Exception):  # a reaper that fails must not stop a worker
                await reap_once(redis, heartbeat=heartbeat, lease=lease)
            await asyncio.sleep(heartbeat / 3)
    finally:
        with contextlib.suppress(Exception):
            await redis.delete(key)
