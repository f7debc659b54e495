"""vtiger under every fault at once: a query and a sync feed, each record exactly once."""

from __future__ import annotations

import pytest

from crmkit.sandbox import sandbox_transport
from crmkit.vtiger import Vtiger
from crmkit.vtiger.sandbox import DEFAULT_ACCESS_KEY, DEFAULT_USER, VtigerSandbox

from ..conftest import VirtualClock
from .conftest import FAULTS, RETRY, SEED, sized
from .html_gateway import HtmlGateway

pytestmark = pytest.mark.anyio


async def test_query_and_sync_under_faults_yield_each_record_exactly_once() -> None:
    total = sized(5_000)
    changed = sized(1_000)
    sandbox = VtigerSandbox(leads=total, faults=FAULTS)
    start = sandbox.clock.datetime()
    sandbox.clock.advance(5)
    for n in range(changed):
        sandbox.add("Leads", {"lastname": f"Changed {n}"})
        sandbox.clock.advance(1)
    gateway = HtmlGateway(sandbox, share=0.03, seed=SEED)
    async with Vtiger(
        "http://crm.example.test",
        DEFAULT_USER,
        DEFAULT_ACCESS_KEY,
        transport=sandbox_transport(gateway),
        allow_insecure_http=True,
        retry=RETRY,
        clock=VirtualClock(),
    ) as crm:
        rows = [str(row.id) async for row in crm.query("SELECT * FROM Leads")]
        sync = [str(change.id) async for change in crm.sync("Leads", modified_since=start)]
        retries = crm.session.stats.retries
    assert len(rows) == len(set(rows)) == total + changed
    assert len(sync) == len(set(sync)) == changed
    assert retries > 0 and sum(sandbox.injected_faults.values()) + gateway.sent > 0
