"""Two workers serving one vtiger user share one session through the worker's Redis.

vtiger deletes a user's token on every ``getchallenge`` (``include/Webservices/
AuthToken.php`` in ``vtiger-crm/vtigercrm``), so workers that each log in
invalidate each other; and every job slice opens a new client. With the
jobs' ``RedisSessionStore`` the user logs in once, whichever worker runs
which slice of which module.
"""

from __future__ import annotations

import json

import pytest
import redis.asyncio as aioredis

from crmkit.jobs import StatusBoard, enqueue_accounts, load_accounts
from crmkit.vtiger.sandbox import DEFAULT_ACCESS_KEY, DEFAULT_USER, VtigerSandbox

from ._accounts import toml_table
from ._workers import jsonl_ids, running_workers, wait_all_done, worker_logs

pytestmark = pytest.mark.anyio

COUNTS = {"Leads": 450, "Contacts": 350}


async def test_two_workers_serving_one_vtiger_user_log_in_once(redis_url, tmp_path):
    config, out = tmp_path / "accounts.toml", tmp_path / "out"
    redis = aioredis.Redis.from_url(redis_url)
    await redis.flushdb()
    await redis.aclose()
    sandbox = VtigerSandbox(leads=COUNTS["Leads"], contacts=COUNTS["Contacts"], seed=3)
    with sandbox.serve() as served:
        # Two accounts of one user (one per module), 100 records a page at 2 requests/s:
        # several one-second slices each, on either worker.
        config.write_text(
            "".join(
                toml_table(
                    name=f"vt-{module.lower()}",
                    platform="vtiger",
                    url=served.url,
                    username=DEFAULT_USER,
                    access_key=DEFAULT_ACCESS_KEY,
                    entities=[module],
                    page_size=100,
                    rate_limit=2,
                )
                for module in COUNTS
            )
        )
        with running_workers(2, config, out, redis_url, max_jobs=1) as workers:
            from arq import create_pool
            from arq.connections import RedisSettings

            pool = await create_pool(RedisSettings.from_dsn(redis_url))
            queued = await enqueue_accounts(pool, load_accounts(config))
            assert [ok for *_, ok in queued] == [True, True]
            await wait_all_done(StatusBoard(pool), 2, timeout=40)
            await pool.aclose()
        assert all(w.returncode is not None for w in workers)
    for module, count in COUNTS.items():
        ids = jsonl_ids(out, f"vt-{module.lower()}", module)
        assert len(ids) == count and len(set(ids)) == count, module
    logs = worker_logs(out, 2)
    starts = [json.loads(line) for line in logs.splitlines() if '"job.start"' in line]
    assert len({s["worker"] for s in starts}) == 2, "one worker ran every slice"
    assert len(starts) >= 4  # several slices, each with a new client
    # One login for every slice on both workers (each would otherwise log in afresh).
    assert sandbox.operations.get("login") == 1, sandbox.operations
    assert DEFAULT_ACCESS_KEY not in logs
