"""Hostile callers: arguments that would make an invalid request are refused by name.

Through the public API of every platform: naive datetimes, page sizes below 1,
negative limits, plain-http URLs, a subdomain that would move the token to
another host, ids that are not ids, Corezoid refs over 255 characters and a
batcher with no room. Each must raise ``ValueError`` naming the argument, and
send nothing (the transport counts). Batches larger than an API takes are split,
never sent whole (the sandbox would refuse them).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest

import crmkit
from crmkit.amocrm import AmoCRM
from crmkit.amocrm.sandbox import AmoCRMSandbox
from crmkit.corezoid import Corezoid, Op
from crmkit.corezoid.sandbox import DEFAULT_CONV, DEFAULT_LOGIN, DEFAULT_SECRET, CorezoidSandbox
from crmkit.retailcrm import RetailCRM
from crmkit.retailcrm.sandbox import DEFAULT_API_KEY, RetailCRMSandbox
from crmkit.vtiger import Vtiger

pytestmark = pytest.mark.anyio

NAIVE = datetime(2024, 1, 1)
FROM = {"createdAtFrom": NAIVE}
DATE_FROM = {"dateFrom": NAIVE}
sent: list[httpx.Request] = []


def _count(request: httpx.Request) -> httpx.Response:
    sent.append(request)
    return httpx.Response(500)


def clients() -> dict[str, Any]:
    transport = httpx.MockTransport(_count)
    return {
        "amo": AmoCRM("acme", access_token="t-1", transport=transport),
        "retail": RetailCRM("https://shop.retailcrm.ru", "key-1", transport=transport),
        "vtiger": Vtiger("https://crm.example.com", "admin", "key-1", transport=transport),
        "corezoid": Corezoid("1", "secret-1", transport=transport),
    }


CALLS: list[tuple[str, str, Callable[[Any], Awaitable[Any]], str]] = [
    ("amo", "naive since", lambda c: c.leads.list(modified_since=NAIVE).first(), "modified_since"),
    ("amo", "page_size 0", lambda c: c.leads.list(page_size=0).first(), "page_size"),
    ("amo", "page_size -5", lambda c: c.contacts.list(page_size=-5).first(), "page_size"),
    ("amo", "limit -1", lambda c: c.leads.list(limit=-1).first(), "limit"),
    ("amo", "id 0", lambda c: c.leads.get(0), "id"),
    ("amo", "id as a path", lambda c: c.leads.get("../contacts/1"), "id"),
    ("amo", "id True", lambda c: c.leads.get(True), "id"),
    ("retail", "page_size 0", lambda c: c.orders.list(page_size=0).first(), "page_size"),
    ("retail", "naive filter", lambda c: c.orders.list(filter=FROM).first(), "createdAtFrom"),
    ("retail", "naive date", lambda c: c.customers.list(filter=DATE_FROM).first(), "dateFrom"),
    ("vtiger", "naive sync", lambda c: c.sync("Leads", modified_since=NAIVE).first(), "modified"),
    ("vtiger", "limit -1", lambda c: c.query("SELECT * FROM Leads", limit=-1).first(), "limit"),
    ("vtiger", "not an id", lambda c: c.retrieve("1; DROP"), "vtiger id"),
    ("corezoid", "ref of 256", lambda c: c.ops([Op.create_task(1, {}, ref="r" * 256)]), "ref"),
    ("corezoid", "batch max_ops 0", lambda c: _enter(c.batch(max_ops=0)), "max_ops"),
    ("corezoid", "batch max_delay -1", lambda c: _enter(c.batch(max_delay=-1)), "max_delay"),
]  # fmt: skip


async def _enter(factory: Any) -> Any:
    async with factory:
        return None


@pytest.mark.parametrize(
    ("platform", "call", "expected"),
    [(p, call, expected) for p, _, call, expected in CALLS],
    ids=[f"{p}: {name}" for p, name, _, _ in CALLS],
)
async def test_a_bad_argument_is_a_value_error_naming_it_and_nothing_is_sent(
    platform: str, call: Callable[[Any], Awaitable[Any]], expected: str
) -> None:
    sent.clear()
    client = clients()[platform]
    async with client:
        with pytest.raises(ValueError, match=expected):
            await call(client)
    assert sent == []


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: AmoCRM("evil.test/x?", access_token="t"), "subdomain"),
        (lambda: AmoCRM("acme.amocrm.ru#", access_token="t"), "subdomain"),
        (lambda: AmoCRM(base_url="http://acme.amocrm.ru", access_token="t"), "https"),
        (lambda: AmoCRM("acme", access_token="t\nX-Injected: 1"), "Authorization"),
        (lambda: RetailCRM("http://shop.retailcrm.ru", "key"), "https"),
        (lambda: RetailCRM("https://shop.retailcrm.ru", ""), "api_key"),
        (lambda: Vtiger("http://crm.example.com", "u", "k"), "https"),
        (lambda: Corezoid("1", "s", base_url="http://api.corezoid.com"), "https"),
        (lambda: Corezoid("1", "s", sync_url="http://sync-api.corezoid.com"), "https"),
        (lambda: Corezoid("1", "s", max_ops=0), "max_ops"),
        (lambda: crmkit.Session("https://x.example.com", rate_limit=0), "rate"),
        (lambda: crmkit.Session("https://x.example.com", max_concurrency=0), "max_concurrency"),
        (lambda: crmkit.Session("https://x.example.com", max_retries=-1), "max_retries"),
    ],
)
def test_a_client_that_would_send_to_the_wrong_place_is_refused(make: Any, expected: str) -> None:
    with pytest.raises(ValueError, match=expected):
        make()


async def test_aware_datetimes_are_accepted_where_naive_ones_are_refused() -> None:
    sandbox = RetailCRMSandbox(orders=30, rate_limit=None)
    since = datetime(2000, 1, 1, tzinfo=timezone.utc)
    async with RetailCRM(
        "http://demo.retailcrm.test",
        DEFAULT_API_KEY,
        transport=sandbox.transport(),
        allow_insecure_http=True,
        rate_limit=None,
    ) as crm:
        orders = await crm.orders.list(filter={"createdAtFrom": since}).to_list()
    assert len(orders) == 30


async def test_batches_larger_than_the_api_takes_are_split_not_refused() -> None:
    amo_sandbox = AmoCRMSandbox(rate_limit=None)
    async with AmoCRM(
        base_url="http://acme.amocrm.test",
        access_token=amo_sandbox.credentials.access_token,
        transport=amo_sandbox.transport(),
        allow_insecure_http=True,
        rate_limit=None,
    ) as amo:
        written = await amo.leads.add([{"name": f"n{n}"} for n in range(600)])
    assert written.ok and len(set(written.ids)) == 600
    assert amo_sandbox.requests_by_path["/api/v4/leads"] == 3  # 250 + 250 + 100

    cz_sandbox = CorezoidSandbox(max_ops_per_request=10)
    async with Corezoid(
        DEFAULT_LOGIN,
        DEFAULT_SECRET,
        base_url="http://corezoid.sandbox",
        transport=cz_sandbox.transport(),
        allow_insecure_http=True,
        max_ops=10,
    ) as cz:
        results = await cz.ops([Op.create_task(DEFAULT_CONV, {"n": n}) for n in range(35)])
    assert len(results) == 35 and all(r.ok for r in results)
    assert cz_sandbox.request_count == 4
