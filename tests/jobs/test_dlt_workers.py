"""Three `crmkit worker` processes syncing sandbox accounts into a real PostgreSQL through dlt.

Every account has ``destination = "postgres"`` (the dlt sink), two pages per
committed load; each sandbox keeps a strict window that the workers share
through Redis. One worker is SIGKILLed while it syncs the long account, after
some of its loads are committed: another worker finishes that job from the
pipeline state dlt committed in Postgres (``_dlt_pipeline_state``), never from
the first page again, and every record is in its table exactly once.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import psycopg2
import pytest
import redis.asyncio as aioredis

from crmkit.amocrm.sandbox import AmoCRMSandbox
from crmkit.jobs import StatusBoard, enqueue_accounts, load_accounts

from ._accounts import served_accounts
from ._workers import running_workers, wait_all_done, worker_logs, worker_pid

pytestmark = pytest.mark.anyio

_DSN_VARIABLE = "CRMKIT_TEST_JOBS_PG"


def _query(pg_url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg2.connect(pg_url) as db, db.cursor() as cursor:
        cursor.execute(sql)
        return list(cursor.fetchall())


def _count(pg_url: str, table: str) -> int:
    try:
        return int(_query(pg_url, f"SELECT count(*) FROM {table}")[0][0])
    except psycopg2.Error:  # not created yet
        return 0


async def test_three_workers_sync_into_postgres_exactly_once_through_a_sigkill(
    redis_url: str, postgres_url: str, tmp_path: Path
) -> None:
    config, out = tmp_path / "accounts.toml", tmp_path / "out"
    redis = aioredis.Redis.from_url(redis_url)
    await redis.flushdb()
    await redis.aclose()
    common = {"destination": "postgres", "credentials_env": _DSN_VARIABLE, "pages_per_load": 2}
    big = {"leads": 150, "rate_limit": 4}  # 15 pages at 4/s, a load every 2 pages
    with served_accounts(config, 2, 2, common, **{"amo-big": big}) as accounts:
        env = {_DSN_VARIABLE: postgres_url, "RUNTIME__DLTHUB_TELEMETRY": "false"}
        with running_workers(3, config, out, redis_url, env) as workers:
            from arq import create_pool
            from arq.connections import RedisSettings

            pool = await create_pool(RedisSettings.from_dsn(redis_url))
            queued = await enqueue_accounts(pool, load_accounts(config))
            assert len(queued) == 9 and all(ok for *_, ok in queued)
            board = StatusBoard(pool)
            victim = None
            deadline = time.monotonic() + 40
            while victim is None and time.monotonic() < deadline:
                row = await board.read("amo-big", "leads")
                if row.get("state") == "running" and row.get("worker"):
                    committed = await asyncio.to_thread(
                        _count, postgres_url, "amocrm_amo_big.leads"
                    )
                    again = await board.read("amo-big", "leads")  # still there after the query
                    if committed >= 40 and again == row:
                        victim = worker_pid(row)
                await asyncio.sleep(0.05)
            assert victim in [w.pid for w in workers], "amo-big never ran past two loads"
            os.kill(victim, signal.SIGKILL)
            seen_before_kill = len(accounts["amo-big"][0].recent_requests)
            killed_at = await asyncio.to_thread(_count, postgres_url, "amocrm_amo_big.leads")
            await wait_all_done(board, 9, timeout=90)
            final = await board.read("amo-big", "leads")
            await pool.aclose()
    logs = worker_logs(out, 3)
    assert worker_pid(final) != victim, logs[-3000:]
    assert 40 <= killed_at < 150
    limited = 0
    for name, (sandbox, counts) in accounts.items():
        platform = "amocrm" if isinstance(sandbox, AmoCRMSandbox) else "retailcrm"
        dataset = f"{platform}_{name.replace('-', '_')}"
        for entity, count in counts.items():
            ids = [row[0] for row in _query(postgres_url, f"SELECT id FROM {dataset}.{entity}")]
            assert len(ids) == count and len(set(ids)) == count, (name, entity, len(ids))
        limited += sandbox.limited if isinstance(sandbox, AmoCRMSandbox) else sandbox.rate_limited
    assert limited == 0
    big_sandbox = accounts["amo-big"][0]
    big_ids = _query(postgres_url, "SELECT id FROM amocrm_amo_big.leads")
    assert {row[0] for row in big_ids} == set(big_sandbox.entities["leads"])
    # The checkpoint is the pipeline's own state, committed in Postgres with each load ...
    states = _query(
        postgres_url,
        "SELECT count(*) FROM amocrm_amo_big._dlt_pipeline_state "
        "WHERE pipeline_name = 'crmkit_amo_big_leads'",
    )
    assert states[0][0] >= 7  # 15 pages, 2 a load

    # ... and the attempt after the kill resumed from it: not from the first page, and no
    # earlier than the last load committed (at most one load's rows were in without its
    # state: dlt commits a load's state last, with ``_dlt_loads``).
    def listing_pages(requests: list[Any]) -> list[int]:
        return [
            int(parse_qs(r.query).get("page", ["1"])[0])
            for r in requests
            if r.path.endswith("/leads")
        ]

    every = list(big_sandbox.recent_requests)
    after_kill = listing_pages(every[seen_before_kill:])
    assert after_kill and min(after_kill) >= killed_at // 10 - 1, (killed_at, after_kill)
    assert set(listing_pages(every)) == set(range(1, 16))
    starts = [json.loads(line) for line in logs.splitlines() if '"job.start"' in line]
    big_workers = {s["worker"] for s in starts if s["account"] == "amo-big"}
    assert len(big_workers) >= 2
    assert "sandbox-amocrm-long-lived-token" not in logs
    assert postgres_url.split(":")[2].split("@")[0] not in logs  # the password
