"""RetailCRM creates and uploads land exactly once when an answer is lost or garbled.

The service refuses a second order with a taken ``externalId`` ("Order with
externalId=X already exists.", as the vendor's PrestaShop module reads it in
``lib/api/middleware/RetailcrmExportOrdersMiddleware.php``); crmkit looks items
up by ``externalId`` after an unknown outcome and sends again only what is missing.
"""

from __future__ import annotations

from collections import Counter

import httpx
import pytest

import crmkit
from crmkit.retailcrm.sandbox import RetailCRMSandbox
from crmkit.sandbox import FaultPlan

from ..conftest import VirtualClock
from .conftest import client_for, scripted

pytestmark = pytest.mark.anyio

HTML = {"content-type": "text/html"}


def made(sandbox: RetailCRMSandbox, prefix: str) -> Counter[str]:
    """How many orders the sandbox holds for each externalId starting with ``prefix``."""
    records = sandbox.account().stores["orders"].records.values()
    return Counter(
        str(r["externalId"]) for r in records if str(r.get("externalId")).startswith(prefix)
    )


def faulty(plan: str) -> RetailCRMSandbox:
    return RetailCRMSandbox(orders=5, rate_limit=None, faults=FaultPlan.parse(plan))


async def test_a_create_answered_by_a_gateway_504_after_it_committed_is_found_not_repeated():
    sandbox = faulty("server_error_after=1")
    sandbox.set_faults(FaultPlan(server_error_after=1.0, paths=("/api/v5/orders/create",)))
    async with client_for(sandbox, clock=VirtualClock()) as client:
        saved = await client.orders.create({"externalId": "g-1", "firstName": "Ann"})
    assert made(sandbox, "g-") == {"g-1": 1}
    assert saved.entity is not None and saved.entity.first_name == "Ann"
    assert sandbox.injected_faults == {"server_error_after": 1}


async def test_a_create_whose_answer_is_cut_short_is_found_not_refused_on_a_repeat():
    """Before: the truncated answer raised ProtocolError though the order was made."""
    sandbox = RetailCRMSandbox(orders=5, rate_limit=None)
    sandbox.set_faults(FaultPlan(truncate=1.0, paths=("/api/v5/orders/create",)))
    async with client_for(sandbox, clock=VirtualClock()) as client:
        saved = await client.orders.create({"externalId": "t-1"})
    assert made(sandbox, "t-") == {"t-1": 1} and saved.id is not None


async def test_an_upload_whose_answers_all_come_after_the_commit_as_504s_lands_once():
    """Before: the first 504 raised ServerError, and the ids of the chunk were lost."""
    sandbox = RetailCRMSandbox(orders=5, rate_limit=None)
    sandbox.set_faults(FaultPlan(server_error_after=1.0, paths=("/api/v5/orders/upload",)))
    items = [{"externalId": f"u-{n}", "firstName": f"N{n}"} for n in range(120)]
    async with client_for(sandbox, clock=VirtualClock()) as client:
        result = await client.orders.upload(items)
        got = {o.external_id: o.id async for o in client.orders.list(filter={"ids": result.ids})}
    assert result.ok and None not in result.ids
    assert made(sandbox, "u-") == {f"u-{n}": 1 for n in range(120)}
    assert [got[f"u-{n}"] for n in range(120)] == result.ids
    assert sandbox.requests_by_path["/api/v5/orders/upload"] == 3  # one per chunk: none resent


async def test_an_upload_dropped_before_processing_is_sent_again():
    sandbox = RetailCRMSandbox(orders=5, rate_limit=None)
    sandbox.set_faults(FaultPlan(drop_before=0.5, seed=3, paths=("/api/v5/orders/upload",)))
    items = [{"externalId": f"d-{n}"} for n in range(150)]
    async with client_for(sandbox, clock=VirtualClock()) as client:
        client.session.retry = crmkit.RetryPolicy(max_retries=10)
        result = await client.orders.upload(items)
    assert result.ok and made(sandbox, "d-") == {f"d-{n}": 1 for n in range(150)}
    assert sandbox.injected_faults["drop_before"] > 0


async def test_already_exists_after_an_unknown_outcome_is_the_calls_own_order():
    """The look-up missed the order (not yet visible); the repeat says it exists: it is ours."""
    seen: list[httpx.Request] = []
    taken = "Order with externalId=a already exists."
    answers = [
        httpx.Response(504, headers=HTML, content=b"<html>504 Gateway Time-out</html>"),
        httpx.Response(200, json={"success": True, "orders": [], "pagination": {}}),
        httpx.Response(
            460,
            json={
                "success": False,
                "errorMsg": "Orders are loaded with errors",
                "errors": {"0": taken},
                "uploadedOrders": [{"id": 8, "externalId": "b"}],
                "failedOrders": [{"externalId": "a"}],
            },
        ),
        httpx.Response(200, json={"success": True, "order": {"id": 7, "externalId": "a"}}),
    ]
    async with scripted(answers, seen, clock=VirtualClock()) as client:
        result = await client.orders.upload([{"externalId": "a"}, {"externalId": "b"}])
    assert result.ids == [7, 8] and result.ok
    assert [r.method for r in seen] == ["POST", "GET", "POST", "GET"]
    assert "filter%5BexternalIds%5D%5B%5D=a" in str(seen[1].url)


async def test_already_exists_without_an_unknown_outcome_stays_an_error(sandbox):
    async with client_for(sandbox) as client:
        await client.orders.create({"externalId": "taken"})
        with pytest.raises(crmkit.ValidationError) as refused:
            await client.orders.create({"externalId": "taken"})
        result = await client.orders.upload([{"externalId": "taken"}])
    assert "Order with externalId=taken already exists." in str(refused.value.details)
    assert result.ids == [None] and "already exists" in str(result.errors[0])


async def test_an_item_without_external_id_is_never_sent_twice():
    seen: list[httpx.Request] = []
    answers = [
        httpx.Response(502, headers=HTML, content=b"<html>502 Bad Gateway</html>"),
        httpx.Response(200, json={"success": True, "order": {"id": 3, "externalId": "x"}}),
    ]
    async with scripted(answers, seen, clock=VirtualClock()) as client:
        result = await client.orders.upload([{"externalId": "x"}, {"firstName": "anonymous"}])
    assert result.ids == [3, None] and "outcome unknown" in str(result.errors[1])
    assert [r.method for r in seen] == ["POST", "GET"]


async def test_a_later_chunk_refused_keeps_the_ids_of_the_chunks_before_it():
    """Before: the 403 of the second chunk was raised and the first chunk's ids were lost."""
    seen: list[httpx.Request] = []
    first = [{"id": n, "externalId": f"k-{n}"} for n in range(50)]
    answers = [
        httpx.Response(201, json={"success": True, "uploadedOrders": first}),
        httpx.Response(403, json={"success": False, "errorMsg": "Access denied."}),
    ]
    async with scripted(answers, seen, clock=VirtualClock()) as client:
        result = await client.orders.upload([{"externalId": f"k-{n}"} for n in range(120)])
    assert result.ids[:50] == list(range(50)) and result.ids[50:] == [None] * 70
    assert "Access denied" in str(result.errors[50])
    assert "not sent" in str(result.errors[100]) and len(seen) == 2


async def test_a_refusal_cut_short_on_a_get_is_fetched_again():
    """Found by the chaos writes: a look-up's 404 cut short was a ProtocolError, not re-read."""
    seen: list[httpx.Request] = []
    answers = [
        httpx.Response(404, headers={"content-type": "application/json"}, content=b'{"succ'),
        httpx.Response(404, json={"success": False, "errorMsg": "Not found"}),
    ]
    async with scripted(answers, seen, clock=VirtualClock()) as client:
        with pytest.raises(crmkit.NotFoundError):
            await client.orders.get("gone")
    assert len(seen) == 2
