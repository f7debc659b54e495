"""Three `crmkit worker` processes, 20 sandbox accounts on loopback, one worker SIGKILLed mid-job.

Each account's limit is a strict sliding window in its sandbox; the workers
share it through Redis (two entities of one account may run on two workers).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections import Counter
from urllib.parse import parse_qs

import pytest
import redis.asyncio as aioredis

from crmkit.amocrm.sandbox import AmoCRMSandbox
from crmkit.jobs import StatusBoard, enqueue_accounts, job_id, load_accounts
from crmkit.retailcrm.sandbox import DEFAULT_API_KEY

from ._accounts import served_accounts
from ._workers import jsonl_ids, running_workers, wait_all_done, worker_logs, worker_pid

pytestmark = pytest.mark.anyio


async def test_three_workers_export_20_accounts_exactly_once_through_a_sigkill(redis_url, tmp_path):
    config, out = tmp_path / "accounts.toml", tmp_path / "out"
    redis = aioredis.Redis.from_url(redis_url)
    await redis.flushdb()
    await redis.aclose()
    # "amo-big" runs longest (15 pages at 4/s): the victim is killed while it runs it.
    big = {"leads": 150, "rate_limit": 4}
    with (
        served_accounts(config, 9, 10, **{"amo-big": big}) as accounts,
        running_workers(3, config, out, redis_url) as workers,
    ):
        from arq import create_pool
        from arq.connections import RedisSettings

        pool = await create_pool(RedisSettings.from_dsn(redis_url))
        queued = await enqueue_accounts(pool, load_accounts(config))
        assert len(queued) == 39 and all(ok for *_, ok in queued)
        # Enqueueing again while they are queued or running adds nothing.
        assert not any(ok for *_, ok in await enqueue_accounts(pool, load_accounts(config)))
        board = StatusBoard(pool)
        big_job = job_id("amo-big", "leads")
        victim = None
        deadline = time.monotonic() + 30
        while victim is None and time.monotonic() < deadline:
            row = await board.read("amo-big", "leads")
            running = row.get("state") == "running" and await pool.exists(
                "arq:in-progress:" + big_job
            )
            if running and row.get("worker"):
                saved = await pool.get("crmkit:checkpoint:amo-big:leads")
                if saved and json.loads(saved)["records"] >= 30:
                    victim = worker_pid(row)
            await asyncio.sleep(0.05)
        assert victim in [w.pid for w in workers]
        os.kill(victim, signal.SIGKILL)
        assert await pool.exists("arq:in-progress:" + big_job)  # it died holding the job
        killed_at = json.loads(await pool.get("crmkit:checkpoint:amo-big:leads"))["records"]
        await wait_all_done(board, 39, timeout=90)
        final = await board.read("amo-big", "leads")
        await pool.aclose()
    assert worker_pid(final) != victim
    assert 30 <= killed_at < 150
    limited = 0
    for name, (sandbox, counts) in accounts.items():
        for entity, count in counts.items():
            ids = jsonl_ids(out, name, entity)
            assert len(ids) == count and len(set(ids)) == count, (name, entity)
        limited += sandbox.limited if isinstance(sandbox, AmoCRMSandbox) else sandbox.rate_limited
    assert limited == 0
    # 15 pages, resumed from the checkpoint each time, never from page 1: a page is asked
    # for twice at most (the one in flight when its worker died or its slice was cut).
    pages = Counter(
        parse_qs(r.query).get("page", ["1"])[0] for r in accounts["amo-big"][0].recent_requests
    )
    assert len(pages) == 15 and max(pages.values()) <= 2
    assert sum(pages.values()) <= 15 + 3
    logs = worker_logs(out, 3)
    starts = [json.loads(line) for line in logs.splitlines() if '"job.start"' in line]
    assert {(s["account"], s["entity"]) for s in starts} >= {
        ("amo-big", "leads"),
        ("retail-3", "orders"),
    }
    # No credential of any account in the workers' logs (the amoCRM tokens are JWTs).
    secrets = {sandbox.credentials.access_token for sandbox, _ in accounts.values()
               if isinstance(sandbox, AmoCRMSandbox)} | {DEFAULT_API_KEY}  # fmt: skip
    assert len(secrets) > 1 and not any(secret in logs for secret in secrets)
