from __future__ import annotations

from typing import Any

import httpx
import pytest

import crmkit
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


def scripted(answers: list[httpx.Response], seen: list[httpx.Request], **kwargs: Any) -> RetailCRM:
    """A client whose server answers ``answers`` in turn (a gateway, played)."""

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0)

    client = RetailCRM(
        "http://demo.retailcrm.test",
        "k",
        transport=httpx.MockTransport(handler),
        allow_insecure_http=True,
        rate_limit=None,
        **kwargs,
    )
    client.session.retry = crmkit.RetryPolicy(max_retries=3, backoff_base=0.001)
    return client
