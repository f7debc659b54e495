"""RetailCRM client against the in-process sandbox: lists, history, writes, errors."""

from __future__ import annotations

import json

import pytest

import crmkit
from crmkit.retailcrm import Customer, HistoryEntry, IntegrationModule, Order
from crmkit.retailcrm.sandbox import RetailCRMSandbox

from .conftest import client_for

pytestmark = pytest.mark.anyio


async def test_5000_customers_with_page_size_100_in_50_requests():
    sandbox = RetailCRMSandbox(customers=5000, rate_limit=None)
    async with client_for(sandbox) as client:
        paginator = client.customers.list(page_size=100)
        customers = [c async for c in paginator]
    assert len(customers) == 5000
    assert len({c.id for c in customers}) == 5000
    assert all(isinstance(c, Customer) for c in customers)
    assert sandbox.request_count == 50
    assert all("limit=100" in r.query and "page=" in r.query for r in sandbox.recent_requests)


async def test_page_size_is_rounded_up_and_limit_stops(sandbox):
    async with client_for(sandbox) as client:
        items = await client.orders.list(page_size=30, limit=70).to_list()
    assert len(items) == 70
    assert all("limit=50" in r.query for r in sandbox.recent_requests)
    assert sandbox.request_count == 2


async def test_filter_in_brackets(sandbox):
    async with client_for(sandbox) as client:
        found = await client.customers.list(filter={"ids": [3, 5, 8]}).to_list()
    assert [c.id for c in found] == [3, 5, 8]
    assert "filter%5Bids%5D%5B%5D=3" in sandbox.recent_requests[-1].query


async def test_order_model_keeps_items_and_unknown_fields(sandbox):
    async with client_for(sandbox) as client:
        order = await client.orders.get(2, by="id")
    assert isinstance(order, Order)
    assert order.items and order.items[0].offer == {"name": "Item 1"}
    assert "number" not in order.extra and order.number == "2A"
    assert "orderType" not in order.extra and order.order_type == "eshop-individual"


async def test_history_of_10000_changes_resumes_exactly_after_4200():
    sandbox = RetailCRMSandbox(orders=10_000, rate_limit=None)
    seen: list[int] = []
    async with client_for(sandbox) as client:
        first = client.orders.history()
        async for change in first:
            seen.append(change.id)
            saved = json.dumps(first.state.to_dict())
            if len(seen) == 4200:
                break  # the job dies after handling change 4,200
        assert json.loads(saved)["cursor"] == 4200
        resumed = client.orders.history(resume_from=json.loads(saved))
        seen.extend([change.id async for change in resumed])
        assert resumed.state.cursor == 10_000  # the next run continues the feed from here
    assert seen == list(range(1, 10_001))
    assert all("page=" not in r.query for r in sandbox.recent_requests)
    assert all(isinstance(x, int) for x in seen)


async def test_history_mid_window_interruption_has_no_gap_or_repeat():
    sandbox = RetailCRMSandbox(customers=1000, rate_limit=None)
    seen: list[int] = []
    async with client_for(sandbox) as client:
        history = client.customers.history()
        async for change in history:
            seen.append(change.id)
            if len(seen) == 437:
                break
        state = history.state
        seen.extend([c.id async for c in client.customers.history(resume_from=state)])
    assert seen == list(range(1, 1001))


async def test_history_picks_up_new_changes_from_since_id(sandbox):
    async with client_for(sandbox) as client:
        first = client.customers.history()
        last = [c.id async for c in first][-1]
        await client.customers.edit({"externalId": "c-7", "email": "new@example.test"})
        changes = await client.customers.history(since_id=last).to_list()
    assert len(changes) == 1
    change = changes[0]
    assert isinstance(change, HistoryEntry)
    assert change.field == "email" and change.new_value == "new@example.test"
    assert change.customer is not None and change.customer["externalId"] == "c-7"


async def test_create_edit_get_round_trip(sandbox):
    async with client_for(sandbox) as client:
        new_id = (
            await client.customers.create(Customer(external_id="ext-1", first_name="Olga"))
        ).id
        await client.customers.edit({"externalId": "ext-1", "lastName": "Petrova"})
        by_ext = await client.customers.get("ext-1")
        by_id = await client.customers.get(new_id, by="id")
    assert by_ext == by_id
    assert (by_ext.first_name, by_ext.last_name) == ("Olga", "Petrova")


async def test_upload_is_chunked_at_50_and_returns_ids_in_order(sandbox):
    async with client_for(sandbox) as client:
        result = await client.orders.upload([{"externalId": f"up-{n}"} for n in range(120)])
        ids = result.ids
        again = [await client.orders.get(f"up-{n}") for n in (0, 60, 119)]
    assert len(ids) == 120 and ids == sorted(ids)
    assert [o.id for o in again] == [ids[0], ids[60], ids[119]]
    assert sandbox.requests_by_path["/api/v5/orders/upload"] == 3


async def test_integration_modules_and_scopes(sandbox):
    module = IntegrationModule(
        code="my-module", name="My module", active=True, base_url="https://m.test"
    )
    async with client_for(sandbox) as client:
        await client.integration_modules.edit("my-module", module)
        stored = await client.integration_modules.get("my-module")
        new_key = await client.integration_modules.update_scopes("my-module", ["order_read"])
    assert stored.name == "My module" and stored.base_url == "https://m.test"
    assert sandbox.modules()["my-module"]["baseUrl"] == "https://m.test"
    async with client_for(sandbox, key=new_key) as scoped:
        assert len(await scoped.orders.list(limit=5).to_list()) == 5
        with pytest.raises(crmkit.PermissionDeniedError, match="Access denied"):
            await scoped.customers.list(limit=5).to_list()


async def test_reference_books(sandbox):
    async with client_for(sandbox) as client:
        assert "main-shop" in [s.code for s in await client.reference.sites.list()]
        assert "new" in [s.code for s in await client.reference.statuses.list()]
        assert "eshop-individual" in [t.code for t in await client.reference.order_types.list()]


async def test_bad_key_is_an_authentication_error_without_the_key(sandbox):
    async with client_for(sandbox, key="wrong-key-123456") as client:
        with pytest.raises(crmkit.AuthenticationError) as info:
            await client.customers.list().to_list()
    assert 'Wrong "apiKey" value.' in str(info.value)
    assert "wrong-key-123456" not in str(info.value) + repr(info.value)


async def test_malformed_filter_is_a_validation_error(sandbox):
    async with client_for(sandbox) as client:
        with pytest.raises(crmkit.ValidationError) as info:
            await client.customers.list(filter={"ids": ["not-a-number"]}).to_list()
    assert info.value.status == 400
    assert info.value.details


async def test_unknown_account_html_page_is_not_found_naming_the_address(sandbox):
    async with crmkit.retailcrm.RetailCRM(
        "http://nobody.retailcrm.test/missing-shop",
        "k",
        transport=sandbox.transport(),
        allow_insecure_http=True,
    ) as client:
        with pytest.raises(crmkit.NotFoundError, match="check the account address"):
            await client.customers.list().to_list()


async def test_missing_record_is_not_found(sandbox):
    async with client_for(sandbox) as client:
        with pytest.raises(crmkit.NotFoundError):
            await client.customers.get("no-such-customer")


async def test_entity_format_errors_are_validation_errors(sandbox):
    async with client_for(sandbox) as client:
        await client.customers.create({"externalId": "dup"})
        with pytest.raises(crmkit.ValidationError) as info:
            await client.customers.create({"externalId": "dup"})
    assert "externalId" in info.value.details


async def test_rate_limit_exceeded_503_pauses_and_retries():
    sandbox = RetailCRMSandbox(customers=300, rate_limit=2)
    async with client_for(sandbox, rate_limit=None) as client:
        client.session.retry = crmkit.RetryPolicy(max_retries=10, backoff_base=0.05)
        items = await client.customers.list(page_size=20).to_list()
    assert len(items) == 300
    assert sandbox.rate_limited > 0
    assert client.session.stats.rate_limited == sandbox.rate_limited


async def test_default_rate_limit_never_trips_the_sandbox_limit():
    sandbox = RetailCRMSandbox(customers=1200, rate_limit=10)
    async with client_for(sandbox, rate_limit=10) as client:
        assert len(await client.customers.list(page_size=100).to_list()) == 1200
    assert sandbox.rate_limited == 0


async def test_several_accounts_by_path(sandbox):
    other = sandbox.add_account("shop2", api_key="key-two")
    other.create("customers", {"externalId": "only-here"})
    async with crmkit.retailcrm.RetailCRM(
        "http://demo.retailcrm.test/shop2/",
        "key-two",
        transport=sandbox.transport(),
        allow_insecure_http=True,
    ) as client:
        assert [c.external_id async for c in client.customers.list()] == ["only-here"]


def test_repr_hides_the_key(sandbox):
    client = client_for(sandbox, key="super-secret-key")
    assert "super-secret-key" not in repr(client) + repr(client.session)
