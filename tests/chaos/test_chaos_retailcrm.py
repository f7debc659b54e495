"""RetailCRM under every fault at once: a history feed and a list, each change exactly once."""

from __future__ import annotations

import pytest

from crmkit.retailcrm import RetailCRM
from crmkit.retailcrm.sandbox import DEFAULT_API_KEY, RetailCRMSandbox
from crmkit.sandbox import sandbox_transport

from ..conftest import VirtualClock
from .conftest import FAULTS, RETRY, SEED, sized
from .html_gateway import HtmlGateway

pytestmark = pytest.mark.anyio


async def test_history_and_list_under_faults_yield_each_change_exactly_once() -> None:
    total = sized(10_000)
    sandbox = RetailCRMSandbox(orders=total, rate_limit=None, faults=FAULTS)
    gateway = HtmlGateway(sandbox, share=0.03, seed=SEED)
    async with RetailCRM(
        "http://demo.retailcrm.test",
        DEFAULT_API_KEY,
        transport=sandbox_transport(gateway),
        allow_insecure_http=True,
        rate_limit=None,
        retry=RETRY,
        clock=VirtualClock(),
    ) as crm:
        history = [change.id async for change in crm.orders.history()]
        orders = [order.id async for order in crm.orders.list(page_size=100)]
        retries = crm.session.stats.retries
    assert history == list(range(1, total + 1))  # in order, none lost, none twice
    assert sorted(orders) == sorted(set(orders)) and len(orders) == total
    assert retries > 0 and sum(sandbox.injected_faults.values()) + gateway.sent > 0
