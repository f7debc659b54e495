"""Corezoid under every fault at once: batched creates land exactly once, one outcome each."""

from __future__ import annotations

import asyncio

import pytest

import crmkit
from crmkit.corezoid import Corezoid
from crmkit.corezoid.sandbox import DEFAULT_CONV, DEFAULT_LOGIN, DEFAULT_SECRET, CorezoidSandbox
from crmkit.sandbox import sandbox_transport

from ..conftest import VirtualClock
from .conftest import FAULTS, RETRY, SEED, sized
from .html_gateway import HtmlGateway

pytestmark = pytest.mark.anyio


async def _run_batched_creates() -> tuple[CorezoidSandbox, list[object]]:
    total = sized(10_000)
    sandbox = CorezoidSandbox(faults=FAULTS)
    gateway = HtmlGateway(sandbox, share=0.03, seed=SEED)
    async with (
        Corezoid(
            DEFAULT_LOGIN,
            DEFAULT_SECRET,
            base_url="http://corezoid.sandbox",
            transport=sandbox_transport(gateway),
            allow_insecure_http=True,
            retry=RETRY,
            clock=VirtualClock(),
        ) as cz,
        cz.batch(max_ops=100) as batch,
    ):
        outcomes = await asyncio.gather(
            *(batch.create_task(DEFAULT_CONV, {"n": n}) for n in range(total)),
            return_exceptions=True,
        )
    return sandbox, outcomes


async def test_batched_creates_under_faults_land_at_most_once_with_one_typed_outcome_each() -> None:
    sandbox, outcomes = await _run_batched_creates()
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    assert all(isinstance(f, crmkit.CRMError) for f in failures)  # typed, if any
    created = [o for o in outcomes if not isinstance(o, BaseException)]
    tasks = sandbox.tasks()
    by_n = {}
    for task in tasks.values():
        by_n.setdefault(task["data"]["n"], []).append(task)
    assert all(len(copies) == 1 for copies in by_n.values())  # never created twice
    for n, outcome in enumerate(outcomes):  # each caller: its own task, or an error
        if not isinstance(outcome, BaseException):
            assert tasks[outcome.obj_id]["data"] == {"n": n}
    assert len(created) + len(failures) == len(outcomes) == sized(10_000)
    assert sum(sandbox.injected_faults.values()) > 0


async def test_batched_creates_under_faults_all_succeed() -> None:
    sandbox, outcomes = await _run_batched_creates()
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    assert not failures, f"{len(failures)} callers told 'failed': {failures[:3]}"
    assert len(sandbox.tasks()) == len(outcomes)
