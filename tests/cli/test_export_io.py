"""The export's file I/O stays off the event loop, and a cancelled write is never abandoned."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time

import pytest

from crmkit._files import in_thread
from crmkit.amocrm.sandbox import AmoCRMSandbox
from crmkit.cli._export import JobStats, run_export
from crmkit.cli._sources import make_job
from tests._specs import leads_spec

pytestmark = pytest.mark.anyio


async def test_a_resumable_export_fsyncs_outside_the_event_loop(tmp_path, monkeypatch):
    """Many accounts share one loop in ``export --config``: an fsync on it stalls them all."""
    on_loop: list[bool] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        try:
            asyncio.get_running_loop()
            on_loop.append(True)
        except RuntimeError:
            on_loop.append(False)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    sandbox = AmoCRMSandbox(leads=35, rate_limit=None)
    out, state = tmp_path / "leads.jsonl", tmp_path / "state.json"
    with sandbox.serve() as served:
        spec = leads_spec(served.url, sandbox, out, state=state)
        stats = JobStats("leads")
        await run_export(make_job(spec), stats)
    assert stats.status == "done" and stats.pages == 4
    assert len(out.read_bytes().splitlines()) == 35
    assert json.loads(state.read_text())["complete"] is True
    # Each page: the output's fsync and the state file's; then the final state.
    assert len(on_loop) >= 2 * 4 + 1
    assert not any(on_loop)


async def test_cancelling_a_write_in_a_thread_waits_for_the_write_to_end():
    started, finished = threading.Event(), threading.Event()

    def slow_write() -> None:
        started.set()
        time.sleep(0.2)
        finished.set()

    asked: list[bool] = []
    task = asyncio.ensure_future(in_thread(slow_write, on_cancel=lambda: asked.append(True)))
    await asyncio.to_thread(started.wait, 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert asked == [True]
    assert finished.is_set()  # the caller's cleanup (closing the file) comes after the write


async def test_in_thread_returns_the_value_and_raises_the_error():
    assert await in_thread(lambda: sum([1, 2, 3])) == 6
    with pytest.raises(ZeroDivisionError):
        await in_thread(lambda: divmod(1, 0))
