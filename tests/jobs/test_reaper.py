"""Taking back the jobs of dead workers: only a dead worker's, only after a heartbeat's time."""

from __future__ import annotations

import json

import pytest
import redis.asyncio as aioredis

from crmkit.jobs._reaper import heartbeat_key, reap_once

pytestmark = pytest.mark.anyio


async def test_only_jobs_of_workers_without_a_heartbeat_are_freed(redis_url):
    redis = aioredis.Redis.from_url(redis_url)
    await redis.flushdb()
    lease_ms = 60_000
    jobs = {  # job -> (worker named in its status, its age in ms)
        "dead-old": ("host:1", 5_000),
        "alive-old": ("host:2", 5_000),
        "dead-young": ("host:1", 500),
    }
    await redis.set(heartbeat_key("host:2"), "1", px=10_000)
    for account, (worker, age) in jobs.items():
        await redis.set(f"arq:in-progress:crmkit:{account}:leads", "1", px=lease_ms - age)
        await redis.hset(f"crmkit:jobs:{account}:leads", "worker", json.dumps(worker))
    freed = await reap_once(redis, heartbeat=2.0, lease=lease_ms / 1000)
    assert freed == ["crmkit:dead-old:leads"]
    assert not await redis.exists("arq:in-progress:crmkit:dead-old:leads")
    assert await redis.exists("arq:in-progress:crmkit:alive-old:leads")
    assert await redis.exists("arq:in-progress:crmkit:dead-young:leads")
    assert await reap_once(redis, heartbeat=2.0, lease=lease_ms / 1000) == []
    await redis.aclose()
