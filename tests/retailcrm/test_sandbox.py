"""The sandbox answers as the service does: unknown methods, account methods, filters.

Sources: ``retailcrm/api-client-php`` ``ResourceGroup/Api.php`` (``/api/api-versions``,
``/api/credentials``, ``/api/system-info``), ``ResourceGroup/Settings.php``,
``ResourceGroup/Orders.php`` (``orders/statuses`` is a method, not an order),
``Factory/ApiExceptionFactory.php`` (messages); ``retailcrm/api-client-go``
``filters.go`` (the filters of each list and history feed).
"""

from __future__ import annotations

from datetime import datetime, timezone

import httpx
import pytest

import crmkit
from crmkit.retailcrm.sandbox import DEFAULT_API_KEY, RetailCRMSandbox

from .conftest import client_for

pytestmark = pytest.mark.anyio


async def raw(sandbox: RetailCRMSandbox, method: str, path: str, **kwargs) -> httpx.Response:
    async with httpx.AsyncClient(transport=sandbox.transport(), base_url="http://t") as http:
        return await http.request(method, path, headers={"X-API-KEY": DEFAULT_API_KEY}, **kwargs)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v5/no-such-method"),
        ("POST", "/api/v5/orders/statuses"),
        ("GET", "/api/v5/orders/combine"),
        ("GET", "/api/v5/customers/notes/x/y"),
        ("GET", "/api/v4/orders"),
        ("GET", "/api/system-info/more"),
        ("GET", "/api/v5/telephony/settings"),
    ],
)
async def test_unknown_methods_answer_method_not_found(sandbox, method, path):
    answer = await raw(sandbox, method, path)
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {"success": False, "errorMsg": "Method not found"}


async def test_orders_statuses_is_a_method_not_an_order(sandbox):
    answer = await raw(sandbox, "GET", "/api/v5/orders/statuses?ids[]=1&externalIds[]=o-2")
    assert answer.status_code == 200
    rows = answer.json()["orders"]
    assert [(r["id"], r["status"], r["group"]) for r in rows] == [
        (1, "new", "new"),
        (2, "new", "new"),
    ]


async def test_client_reads_order_statuses(sandbox):
    async with client_for(sandbox) as client:
        rows = await client.orders.statuses(ids=[3], external_ids=["o-4"])
        with pytest.raises(ValueError):
            await client.orders.statuses()
    assert [(r["id"], r["status"]) for r in rows] == [(3, "new"), (4, "new")]
    assert "ids%5B%5D=3" in sandbox.recent_requests[-1].query


async def test_missing_account_get_is_the_html_page_and_the_client_names_it(sandbox):
    answer = await raw(sandbox, "GET", "/nobody/api/v5/orders")
    assert answer.status_code == 404 and answer.headers["content-type"].startswith("text/html")
    async with crmkit.retailcrm.RetailCRM(
        "http://x.test/nobody", "k", transport=sandbox.transport(), allow_insecure_http=True
    ) as client:
        with pytest.raises(crmkit.NotFoundError, match="Account does not exist"):
            await client.orders.get(1, by="id")


async def test_account_methods(sandbox):
    async with client_for(sandbox) as client:
        assert await client.api_versions() == ["3.0", "4.0", "5.0"]
        info = await client.system_info()
        credentials = await client.credentials()
        settings = await client.settings()
    assert info.system_version and info.public_url
    assert "order_read" in (credentials.scopes or []) and credentials.site_access == "access_full"
    assert credentials.sites_available == ["main-shop"]
    assert settings["timezone"]["value"] == "Europe/Moscow"
    paths = [r.path for r in sandbox.recent_requests]
    assert paths == [
        "/api/api-versions",
        "/api/system-info",
        "/api/credentials",
        "/api/v5/settings",
    ]


async def test_scoped_key_sees_its_scopes(sandbox):
    key = sandbox.account().add_key(scopes=frozenset({"order_read"}))
    async with client_for(sandbox, key=key) as client:
        assert (await client.credentials()).scopes == ["order_read"]


# -- filters -------------------------------------------------------------------------


@pytest.fixture
def dated() -> RetailCRMSandbox:
    sandbox = RetailCRMSandbox(rate_limit=None)
    account = sandbox.account()
    account.sites["shop-b"] = {"code": "shop-b"}
    for n, (day, status, site) in enumerate(
        [("2026-01-05", "new", "main-shop"), ("2026-02-10", "complete", "shop-b"),
         ("2026-03-15", "cancel-other", "main-shop"), ("2026-04-20", "assembling", "shop-b")],
        start=1,
    ):  # fmt: skip
        account.create("orders", {
            "externalId": f"d-{n}", "number": f"N{n}", "createdAt": f"{day} 10:00:00",
            "statusUpdatedAt": f"{day} 12:00:00", "status": status, "site": site,
            "firstName": ["Ann", "Bob", "Cid", "Dee"][n - 1], "email": f"p{n}@shop.test",
        })  # fmt: skip
    account.statuses["complete"]["group"] = "complete"
    account.statuses["cancel-other"]["group"] = "cancel"
    return sandbox


@pytest.mark.parametrize(
    ("filter", "numbers"),
    [
        ({"extendedStatus": ["complete", "cancel"]}, ["N2", "N3"]),
        ({"extendedStatus": ["new"]}, ["N1", "N4"]),  # "new" the group holds assembling too
        ({"createdAtFrom": "2026-02-10", "createdAtTo": "2026-03-15"}, ["N2", "N3"]),
        ({"createdAtFrom": datetime(2026, 2, 10, 8, tzinfo=timezone.utc)}, ["N3", "N4"]),
        ({"statusUpdatedAtFrom": "2026-03-15 12:00:00"}, ["N3", "N4"]),
        ({"statusUpdatedAtTo": "2026-01-05"}, ["N1"]),
        ({"sites": ["shop-b"]}, ["N2", "N4"]),
        ({"numbers": ["N1", "N4", "N9"]}, ["N1", "N4"]),
        ({"customer": "bo"}, ["N2"]),
        ({"email": "p3@"}, ["N3"]),
        ({"externalIds": ["d-2"], "sites": ["main-shop"]}, []),
    ],
)
async def test_order_filters_are_honoured(dated, filter, numbers):
    async with client_for(dated, timezone="Europe/Moscow") as client:
        found = await client.orders.list(filter=filter).to_list()
    assert [o.number for o in found] == numbers


@pytest.mark.parametrize(
    ("filter", "field", "why"),
    [
        ({"noSuchFilter": "1"}, "filter[noSuchFilter]", "extra fields"),
        ({"countries": ["RU"]}, "filter[countries]", "not emulated"),
        ({"createdAtFrom": "yesterday"}, "filter[createdAtFrom]", "not valid"),
        ({"extendedStatus": "new"}, "filter[extendedStatus]", "array"),
    ],
)
async def test_filters_it_cannot_apply_are_refused_not_ignored(dated, filter, field, why):
    async with client_for(dated) as client:
        with pytest.raises(crmkit.ValidationError) as info:
            await client.orders.list(filter=filter).to_list()
    assert info.value.status == 400 and info.value.message == "Errors in the input parameters"
    assert info.value.details is not None and why in info.value.details[field]


async def test_customer_filters(sandbox):
    async with client_for(sandbox) as client:
        first = await client.customers.get("c-4")
        by_name = await client.customers.list(filter={"name": first.last_name}).to_list()
        with pytest.raises(crmkit.ValidationError, match="input parameters"):
            await client.customers.list(filter={"numbers": ["1"]}).to_list()
    assert first.id in [c.id for c in by_name]
    assert all(first.last_name in (c.last_name or "") + (c.first_name or "") for c in by_name)


async def test_history_dates_and_entity_filters(dated):
    account = dated.account()
    entries = account.stores["orders"].history
    entries[1]["createdAt"] = "2026-02-01 00:00:00"
    entries[2]["createdAt"] = "2026-03-01 00:00:00"
    entries[3]["createdAt"] = "2026-04-01 00:00:00"
    entries[0]["createdAt"] = "2026-01-01 00:00:00"
    async with client_for(dated, timezone="Europe/Moscow") as client:
        window = await client.orders.history(
            start_date=datetime(2026, 2, 1, tzinfo=timezone.utc),
            end_date=datetime(2026, 3, 1, 3, tzinfo=timezone.utc),
        ).to_list()
        one = await client.orders.history(filter={"orderExternalId": "d-3"}).to_list()
    # 2026-02-01 00:00 UTC is 03:00 in Moscow: the change at 00:00 is before it.
    assert [(e.id, e.created_at) for e in window] == [(3, "2026-03-01 00:00:00")]
    assert [e.order["externalId"] for e in one if e.order] == ["d-3"]


async def test_history_page_with_since_id_is_400(sandbox):
    answer = await raw(sandbox, "GET", "/api/v5/orders/history?filter[sinceId]=3&page=1")
    assert answer.status_code == 400 and answer.json()["success"] is False
