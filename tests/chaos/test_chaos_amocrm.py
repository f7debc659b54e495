"""amoCRM under every fault at once: each lead exported once, added once, updated."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from crmkit.amocrm import AmoCRM
from crmkit.amocrm.sandbox import AmoCRMSandbox
from crmkit.sandbox import sandbox_transport

from ..amocrm._clients import auth_for
from ..conftest import VirtualClock
from .conftest import FAULTS, RETRY, SCALE, SEED, sized
from .html_gateway import HtmlGateway

pytestmark = pytest.mark.anyio

#: Items per add/update call: 40 concurrent callers at full size.
CALL = 50


def chaos_client(gateway: HtmlGateway, sandbox: AmoCRMSandbox, version: int) -> AmoCRM:
    return AmoCRM(
        base_url="http://acme.amocrm.test",
        transport=sandbox_transport(gateway),
        allow_insecure_http=True,
        rate_limit=None,
        retry=RETRY,
        clock=VirtualClock(),
        **auth_for(sandbox, version),
    )


@pytest.mark.parametrize("version", [2, 4])
async def test_an_export_under_faults_yields_every_lead_exactly_once(version: int) -> None:
    total = sized(20_000)
    sandbox = AmoCRMSandbox(leads=total, rate_limit=None, faults=FAULTS)
    sandbox.clock.advance(10)  # the seeded leads are older than the run
    gateway = HtmlGateway(sandbox, share=0.03, seed=SEED)
    async with chaos_client(gateway, sandbox, version) as amo:
        ids = [lead.id async for lead in amo.leads.list(page_size=250)]
        retries = amo.session.stats.retries
    assert sorted(ids) == list(range(1, total + 1))  # all, and none twice
    injected = sandbox.injected_faults
    assert sum(injected.values()) + gateway.sent > 0 and retries > 0
    assert not sandbox.blocked


@pytest.mark.parametrize("version", [2, 4])
async def test_adds_and_updates_under_faults_land_every_lead_exactly_once(version: int) -> None:
    """2,000 leads added by 40 callers (``key="name"``), then updated: each once, last values."""
    total = sized(2_000)
    sandbox = AmoCRMSandbox(leads=5, rate_limit=None, faults=FAULTS)
    sandbox.clock.advance(10)
    gateway = HtmlGateway(sandbox, share=0.03, seed=SEED)
    calls = [range(start, min(start + CALL, total)) for start in range(0, total, CALL)]
    async with chaos_client(gateway, sandbox, version) as amo:
        added = await asyncio.gather(
            *(
                amo.leads.add([{"name": f"chaos-{n}", "price": n} for n in c], key="name")
                for c in calls
            )
        )
        ids = [i for result in added for i in result.ids]
        updated = await asyncio.gather(
            *(amo.leads.update([{"id": ids[n], "price": 2 * n + 1} for n in c]) for c in calls)
        )
    for result in (*added, *updated):  # every item one outcome: its id
        assert result.ok, list(result.errors.items())[:3]
    assert [i for result in updated for i in result.ids] == ids
    leads = [v for v in sandbox.entities["leads"].values() if str(v["name"]).startswith("chaos-")]
    assert Counter(lead["name"] for lead in leads) == {f"chaos-{n}": 1 for n in range(total)}
    by_id = {lead["id"]: lead for lead in leads}
    for n in range(total):  # each item's id names its own lead, with the value written last
        assert by_id[ids[n]]["name"] == f"chaos-{n}" and by_id[ids[n]]["price"] == 2 * n + 1
    queries = [r.query for r in sandbox.recent_requests if r.method == "GET"]
    looked_up = sum("limit=1&" in f"{q}&" or "limit_rows=1&" in f"{q}&" for q in queries)
    print(f"v{version}: faults {sandbox.injected_faults}, {looked_up} look-ups")
    assert looked_up > 0 or SCALE < 1
    assert sum(sandbox.injected_faults.values()) > 0 and not sandbox.blocked
