"""Export checkpoints in Redis: a run that dies resumes elsewhere with every record exactly once."""

from __future__ import annotations

import json
import uuid
from typing import Any

import attrs
import pytest

from crmkit.amocrm.sandbox import AmoCRMSandbox
from crmkit.cli._export import JobStats, run_export
from crmkit.cli._sources import make_job
from crmkit.redis_stores import RedisCheckpointStore, StaleCheckpointError
from tests._specs import leads_spec

pytestmark = pytest.mark.anyio


class DiesAtSave:
    """A worker killed after a page's output was synced but before its checkpoint was saved."""

    def __init__(self, inner: RedisCheckpointStore, saves: int) -> None:
        self.inner = inner
        self.saves = saves

    async def load(self) -> dict[str, Any] | None:
        return await self.inner.load()

    async def save(self, state: dict[str, Any]) -> None:
        self.saves -= 1
        if self.saves < 0:
            raise SystemExit("killed")
        await self.inner.save(state)


async def test_a_run_killed_between_output_and_checkpoint_resumes_on_another_worker(
    redis_url, tmp_path
):
    sandbox = AmoCRMSandbox(leads=95, rate_limit=None)
    key = uuid.uuid4().hex
    out = tmp_path / "leads.jsonl"
    with sandbox.serve() as served:
        spec = leads_spec(served.url, sandbox, out)
        first = RedisCheckpointStore(redis_url, key=key, epoch=1)
        with pytest.raises(SystemExit):
            await run_export(
                attrs.evolve(make_job(spec), checkpoints=DiesAtSave(first, 3)), JobStats("first")
            )
        saved = await first.load()
        assert saved is not None and saved["records"] == 30 and not saved["complete"]
        assert len(out.read_bytes().splitlines()) == 40  # page 4 written, never checkpointed
        requests_before = sandbox.request_count
        second = RedisCheckpointStore(redis_url, key=key, epoch=2)
        stats = JobStats("second")
        await run_export(attrs.evolve(make_job(spec), checkpoints=second), stats)
    ids = [json.loads(line)["id"] for line in out.read_bytes().splitlines()]
    assert sorted(ids) == sorted(sandbox.entities["leads"]) and len(ids) == 95
    assert stats.pages == 7  # resumed at page 4: 40..95, not from the start
    assert sandbox.request_count - requests_before == 7
    done = await second.load()
    assert done is not None and done["complete"] and done["epoch"] == 2
    # The first attempt, back from the dead, may no longer move the checkpoint.
    with pytest.raises(StaleCheckpointError):
        await first.save({**done, "records": 30})
    assert (await second.load()) == done
    await first.aclose()
    await second.aclose()


async def test_a_run_killed_after_its_last_page_does_not_start_over(redis_url, tmp_path):
    """The last page's checkpoint says the listing is read; the run died before 'complete'."""
    sandbox = AmoCRMSandbox(leads=40, rate_limit=None)
    out = tmp_path / "leads.jsonl"
    store = RedisCheckpointStore(redis_url, key=uuid.uuid4().hex, epoch=1)
    with sandbox.serve() as served:
        spec = leads_spec(served.url, sandbox, out)
        with pytest.raises(SystemExit):  # 4 full pages saved; the 5th save marks it complete
            await run_export(
                attrs.evolve(make_job(spec), checkpoints=DiesAtSave(store, 4)), JobStats("a")
            )
        before = sandbox.request_count
        stats = JobStats("b")
        await run_export(attrs.evolve(make_job(spec), checkpoints=store), stats)
    assert sandbox.request_count == before and stats.pages == 0
    assert len(out.read_bytes().splitlines()) == 40
    saved = await store.load()
    assert saved is not None and saved["complete"]
    await store.aclose()
