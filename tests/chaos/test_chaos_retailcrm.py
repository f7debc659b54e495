"""RetailCRM under every fault at once: history and lists read once, orders made once."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from crmkit.retailcrm import RetailCRM
from crmkit.retailcrm.models import Saved
from crmkit.retailcrm.sandbox import DEFAULT_API_KEY, RetailCRMSandbox
from crmkit.sandbox import sandbox_transport

from ..conftest import VirtualClock
from .conftest import FAULTS, RETRY, SEED, sized
from .html_gateway import HtmlGateway

pytestmark = pytest.mark.anyio


def chaos_client(gateway: HtmlGateway) -> RetailCRM:
    return RetailCRM(
        "http://demo.retailcrm.test",
        DEFAULT_API_KEY,
        transport=sandbox_transport(gateway),
        allow_insecure_http=True,
        rate_limit=None,
        retry=RETRY,
        clock=VirtualClock(),
    )


async def test_history_and_list_under_faults_yield_each_change_exactly_once() -> None:
    total = sized(10_000)
    sandbox = RetailCRMSandbox(orders=total, rate_limit=None, faults=FAULTS)
    gateway = HtmlGateway(sandbox, share=0.03, seed=SEED)
    async with chaos_client(gateway) as crm:
        history = [change.id async for change in crm.orders.history()]
        orders = [order.id async for order in crm.orders.list(page_size=100)]
        retries = crm.session.stats.retries
    assert history == list(range(1, total + 1))  # in order, none lost, none twice
    assert sorted(orders) == sorted(set(orders)) and len(orders) == total
    assert retries > 0 and sum(sandbox.injected_faults.values()) + gateway.sent > 0


async def test_an_upload_and_creates_under_faults_land_every_order_exactly_once() -> None:
    """Every order once, with its values; every item and every caller one outcome."""
    total, singles = sized(1_000), sized(200)
    sandbox = RetailCRMSandbox(orders=0, rate_limit=None, faults=FAULTS)
    gateway = HtmlGateway(sandbox, share=0.03, seed=SEED)
    uploaded = [{"externalId": f"up-{n}", "firstName": f"Up {n}"} for n in range(total)]
    created = [{"externalId": f"one-{n}", "firstName": f"One {n}"} for n in range(singles)]
    async with chaos_client(gateway) as crm:
        result = await crm.orders.upload(uploaded)
        outcomes = await asyncio.gather(
            *(crm.orders.create(order) for order in created), return_exceptions=True
        )
    orders = list(sandbox.account().stores["orders"].records.values())
    copies = Counter(o["externalId"] for o in orders)
    assert set(copies.values()) == {1}  # none made twice by a repeat
    by_external = {o["externalId"]: o for o in orders}
    assert len(result.ids) == total and result.ok, result.errors
    for n, item in enumerate(uploaded):
        order = by_external[item["externalId"]]
        assert order["id"] == result.ids[n] and order["firstName"] == item["firstName"]
    assert all(isinstance(o, Saved) for o in outcomes), [
        o for o in outcomes if not isinstance(o, Saved)
    ][:3]
    for item, saved in zip(created, outcomes, strict=True):
        order = by_external[item["externalId"]]
        assert isinstance(saved, Saved) and saved.id == order["id"]
        assert order["firstName"] == item["firstName"]
    assert len(orders) == total + singles
    injected = sandbox.injected_faults
    looked_up = sandbox.requests_by_path["/api/v5/orders"] + sum(
        n for path, n in sandbox.requests_by_path.items() if path.startswith("/api/v5/orders/one-")
    )
    print(f"faults {injected}, HTML 502 {gateway.sent}, {looked_up} look-ups")
    assert injected.get("server_error_after", 0) > 0 and injected.get("drop_after", 0) > 0
