from __future__ import annotations

import pytest

from crmkit.retailcrm import RetailCRM
from crmkit.retailcrm.sandbox import DEFAULT_API_KEY, RetailCRMSandbox


def client_for(sandbox: RetailCRMSandbox, key: str = DEFAULT_API_KEY, **kwargs) -> RetailCRM:
    kwargs.setdefault("rate_limit", None)
    return RetailCRM(
        "http://demo.retailcrm.test",
        key,
        transport=sandbox.transport(),
        allow_insecure_http=True,
        **kwargs,
    )


@pytest.fixture
def sandbox() -> RetailCRMSandbox:
    return RetailCRMSandbox(customers=250, orders=120, corporate=30, rate_limit=None)
