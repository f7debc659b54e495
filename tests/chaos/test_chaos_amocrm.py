"""amoCRM under every fault at once: an export where each lead arrives exactly once."""

from __future__ import annotations

import pytest

from crmkit.amocrm import AmoCRM
from crmkit.amocrm.sandbox import AmoCRMSandbox
from crmkit.sandbox import sandbox_transport

from ..conftest import VirtualClock
from .conftest import FAULTS, RETRY, SEED, sized
from .html_gateway import HtmlGateway

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("version", [2, 4])
async def test_an_export_under_faults_yields_every_lead_exactly_once(version: int) -> None:
    total = sized(20_000)
    sandbox = AmoCRMSandbox(leads=total, rate_limit=None, faults=FAULTS)
    sandbox.clock.advance(10)  # the seeded leads are older than the run
    gateway = HtmlGateway(sandbox, share=0.03, seed=SEED)
    c = sandbox.credentials
    auth: dict[str, object] = (
        {"api_version": 2, "login": c.login, "api_key": c.api_key}
        if version == 2
        else {"access_token": c.access_token}
    )
    async with AmoCRM(
        base_url="http://acme.amocrm.test",
        transport=sandbox_transport(gateway),
        allow_insecure_http=True,
        rate_limit=None,
        retry=RETRY,
        clock=VirtualClock(),
        **auth,
    ) as amo:
        ids = [lead.id async for lead in amo.leads.list(page_size=250)]
        retries = amo.session.stats.retries
    assert sorted(ids) == list(range(1, total + 1))  # all, and none twice
    injected = sandbox.injected_faults
    assert sum(injected.values()) + gateway.sent > 0 and retries > 0
    assert not sandbox.blocked
