"""RetailCRM into DuckDB: the listings, then the history applied (edits, new orders, deletions)."""

from __future__ import annotations

import asyncio
from typing import Any

from crmkit import RetailCRM
from crmkit.cli._demo_db import delete_in_retailcrm  # a user's deletion in the CRM
from crmkit.dlt import retailcrm_source
from crmkit.retailcrm.sandbox import DEFAULT_API_KEY, RetailCRMSandbox

from .conftest import Loaded


def _client(sandbox: RetailCRMSandbox) -> dict[str, Any]:
    return {
        "url": "http://demo.retailcrm.test",
        "api_key": DEFAULT_API_KEY,
        "transport": sandbox.transport(),
        "allow_insecure_http": True,
    }


def test_listing_then_history(loaded: Loaded) -> None:
    sandbox = RetailCRMSandbox(orders=130, customers=25, corporate=4, rate_limit=None)
    account = sandbox.account()
    orders = account.stores["orders"].records

    def source() -> Any:
        return retailcrm_source(
            resources=("orders", "customers", "customers_corporate"),
            on_page=loaded.on_page,
            **_client(sandbox),
        )

    loaded.sync(source())
    assert loaded.count("orders") == len(orders) == 130
    assert loaded.count("customers") == 25
    assert loaded.count("customers_corporate") == 4
    items = sum(len(order.get("items") or []) for order in orders.values())
    assert loaded.count("orders__items") == items
    assert loaded.read("orders") == 130

    # Run 2: five orders change status, one is added, two are deleted in the CRM.
    async def change() -> int:
        async with RetailCRM(**_client(sandbox)) as crm:
            for order_id in (3, 7, 11, 50, 120):
                await crm.orders.edit({"id": order_id, "status": "complete"}, by="id")
            await crm.customers_corporate.edit({"id": 2, "nickName": "Renamed Ltd"}, by="id")
            created = await crm.orders.create({"externalId": "run-2", "firstName": "Ada"})
            return created.id

    new_id = asyncio.run(change())
    delete_in_retailcrm(sandbox, "orders", 9)
    delete_in_retailcrm(sandbox, "orders", 7)  # changed above, then deleted: the deletion wins
    loaded.sync(source())
    assert loaded.read("orders") == 8  # changes read: 5 edits, 1 creation, 2 deletions
    assert loaded.read("customers") == 0
    assert loaded.read("customers_corporate") == 1
    assert loaded.rows("SELECT nick_name FROM customers_corporate WHERE id = 2") == [
        ("Renamed Ltd",)
    ]
    assert loaded.count("orders") == len(orders) == 129
    assert loaded.column("SELECT id FROM orders WHERE id IN (7, 9)") == []
    assert loaded.column(
        "SELECT count(*) FROM orders__items i JOIN orders o ON i._dlt_root_id = o._dlt_id"
    ) == [loaded.count("orders__items")]
    done = loaded.column("SELECT id FROM orders WHERE status = 'complete' ORDER BY id")
    assert done == [3, 11, 50, 120]
    assert loaded.rows(f"SELECT first_name FROM orders WHERE id = {new_id}") == [("Ada",)]

    # Run 3: nothing changed: nothing read, nothing lost; then one more edit.
    loaded.sync(source())
    assert loaded.read("orders") == 0
    asyncio.run(_edit(sandbox, 50, {"status": "cancel-other", "customFields": {"vip": "yes"}}))
    loaded.sync(source())
    assert loaded.read("orders") == 2  # two fields changed: two changes in the history
    assert loaded.rows("SELECT status, custom_fields__vip FROM orders WHERE id = 50") == [
        ("cancel-other", "yes")
    ]
    assert loaded.count("orders") == len(orders)


async def _edit(sandbox: RetailCRMSandbox, order_id: int, changes: dict[str, Any]) -> None:
    async with RetailCRM(**_client(sandbox)) as crm:
        await crm.orders.edit({"id": order_id, **changes}, by="id")
