"""The five fixes of issue 13, each checked against the vendor's own rules.

Sources: ``retailcrm/api-client-php`` ``Handler/Response/AccountNotFoundHandler.php``
(HTML = no account only for a 405 ``text/html`` to a non-GET),
``Model/Response/Orders/OrdersUploadResponse.php`` (460: ``uploadedOrders`` and
``failedOrders``), ``Model/Response/Orders/OrdersCreateResponse.php`` (``{id, order}``),
``Model/Response/Settings/SettingsResponse.php`` (the account's ``timezone``);
``retailcrm/api-client-go`` ``client.go`` (``executeWithRetry``: 503 and 429
repeated for every method) and ``rate.go`` (``/telephony`` at 40/s, the rest 10/s).
Gateway answers that no sandbox sends are played by ``httpx.MockTransport``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import unquote_plus
from zoneinfo import ZoneInfo

import httpx
import pytest

import crmkit
from crmkit.retailcrm import Order, RetailCRM, ServiceUnavailableError, parse_datetime
from crmkit.retailcrm.sandbox import DEFAULT_API_KEY, RetailCRMSandbox

from .conftest import client_for, scripted

pytestmark = pytest.mark.anyio

HTML = {"content-type": "text/html; charset=utf-8"}


# -- 1. HTML answers ------------------------------------------------------------


async def test_405_html_to_a_post_is_a_missing_account(sandbox):
    async with RetailCRM(
        "http://x.test/no-such-shop", "k", transport=sandbox.transport(),
        allow_insecure_http=True, rate_limit=None,
    ) as client:  # fmt: skip
        with pytest.raises(crmkit.NotFoundError, match="Account does not exist") as info:
            await client.orders.create({"externalId": "o"})
    assert info.value.status == 405
    assert sandbox.recent_requests[-1].method == "POST"


async def test_html_gateway_502_is_a_server_error_and_a_get_is_retried():
    seen: list[httpx.Request] = []
    answers = [
        httpx.Response(502, headers=HTML, content=b"<html><h1>502 Bad Gateway</h1></html>"),
        httpx.Response(200, json={"success": True, "order": {"id": 7}}),
    ]
    async with scripted(answers, seen) as client:
        order = await client.orders.get(7, by="id")
    assert order.id == 7 and len(seen) == 2


async def test_html_504_to_a_create_without_external_id_is_not_repeated():
    seen: list[httpx.Request] = []
    answers = [httpx.Response(504, headers=HTML, content=b"<html>Gateway Timeout</html>")]
    async with scripted(answers, seen) as client:
        with pytest.raises(crmkit.ServerError) as info:
            await client.orders.create({"firstName": "Anna"})
    assert not isinstance(info.value, crmkit.NotFoundError)
    assert info.value.status == 504 and len(seen) == 1


async def test_create_with_external_id_after_502_reads_before_repeating():
    """The first attempt made the order: the client finds it, and sends no second create."""
    seen: list[httpx.Request] = []
    answers = [
        httpx.Response(502, headers=HTML, content=b"<html>Bad Gateway</html>"),
        httpx.Response(200, json={"success": True, "order": {"id": 41, "externalId": "e/1"}}),
    ]
    async with scripted(answers, seen) as client:
        saved = await client.orders.create({"externalId": "e/1"})
    assert saved.id == 41 and saved.entity is not None
    assert [(r.method, r.url.raw_path.decode()) for r in seen] == [
        ("POST", "/api/v5/orders/create"),
        ("GET", "/api/v5/orders/e%2F1?by=externalId"),
    ]


async def test_create_with_external_id_after_502_repeats_when_nothing_was_made():
    seen: list[httpx.Request] = []
    answers = [
        httpx.Response(502, headers=HTML, content=b"<html>Bad Gateway</html>"),
        httpx.Response(404, json={"success": False, "errorMsg": "Not found"}),
        httpx.Response(201, json={"success": True, "id": 9, "order": {"id": 9}}),
    ]
    async with scripted(answers, seen) as client:
        saved = await client.orders.create({"externalId": "e-2"})
    assert saved.id == 9 and [r.method for r in seen] == ["POST", "GET", "POST"]


async def test_edit_is_repeated_after_a_504():
    seen: list[httpx.Request] = []
    answers = [
        httpx.Response(504, headers=HTML, content=b"<html>Gateway Timeout</html>"),
        httpx.Response(200, json={"success": True, "id": 3}),
    ]
    async with scripted(answers, seen) as client:
        saved = await client.customers.edit({"externalId": "c-3", "lastName": "K"})
    assert saved.id == 3 and [r.method for r in seen] == ["POST", "POST"]


# -- 4. rate limits -----------------------------------------------------------------


@pytest.mark.parametrize(
    "limited",
    [
        httpx.Response(503, json={"success": False, "errorMsg": "Rate limit exceeded"}),
        httpx.Response(503, headers=HTML, content=b"<html>Service Unavailable</html>"),
        httpx.Response(429, content=b""),
    ],
)
async def test_503_and_429_are_the_rate_limit_repeated_even_for_a_post(limited):
    seen: list[httpx.Request] = []
    answers = [limited, httpx.Response(201, json={"success": True, "id": 5})]
    async with scripted(answers, seen) as client:
        saved = await client.customers.create({"firstName": "No externalId"})
        assert client.session.stats.rate_limited == 1
    assert saved.id == 5 and [r.method for r in seen] == ["POST", "POST"]


async def test_503_past_the_retries_is_both_a_rate_limit_and_a_server_error():
    seen: list[httpx.Request] = []
    answers = [httpx.Response(503, content=b"busy") for _ in range(4)]
    async with scripted(answers, seen) as client:
        with pytest.raises(ServiceUnavailableError) as info:
            await client.orders.create({})
    assert isinstance(info.value, crmkit.RateLimitError)
    assert isinstance(info.value, crmkit.ServerError)
    assert len(seen) == 4


async def test_telephony_has_its_own_session_and_40_per_second():
    """60 telephony calls at the client's defaults meet no 503 from a sandbox holding
    the vendor's windows (10/s, and 40/s for /telephony); the 10/s Session sends none."""
    sandbox = RetailCRMSandbox(customers=3, rate_limit=10)
    async with client_for(sandbox, rate_limit=10) as client:
        for _ in range(60):
            await client.telephony.manager("+7 900 000-00-00")
        await client.request("GET", "telephony/manager", params={"phone": "123"})
        assert client.telephony_session.stats.requests == 61
        assert client.session.stats.requests == 0
        assert client.telephony_session.throttle.rate == 40
    assert sandbox.rate_limited == 0


# -- 2. uploads -------------------------------------------------------------------


async def test_partial_upload_460_keeps_every_item(sandbox):
    async with client_for(sandbox) as client:
        await client.orders.create({"externalId": "taken"})
        result = await client.orders.upload(
            [{"externalId": "u-1"}, {"externalId": "taken"}, {"externalId": "u-3"}]
        )
        made = [await client.orders.get(e) for e in ("u-1", "u-3")]
    assert result.ids == [made[0].id, None, made[1].id]
    assert list(result.errors) == [1] and not result.ok
    assert "already exists" in str(result.errors[1])
    assert isinstance(result, crmkit.WriteResult)


async def test_partial_upload_across_chunks_indexes_errors_by_input(sandbox):
    async with client_for(sandbox) as client:
        await client.customers.create({"externalId": "dup-70"})
        items = [{"externalId": f"dup-{n}"} for n in range(75)]
        result = await client.customers.upload(items)
    assert len(result.ids) == 75 and list(result.errors) == [70]
    assert result.ids[70] is None and all(i is not None for i in result.ids[:70])


# -- 3. multi-store keys ---------------------------------------------------------


async def test_site_default_and_per_call_override():
    sandbox = RetailCRMSandbox(rate_limit=None)
    account = sandbox.account()
    account.sites["shop-b"] = {"code": "shop-b", "name": "B"}
    async with client_for(sandbox, site="shop-b") as client:
        made = await client.orders.create({"externalId": "in-b"})
        other = await client.orders.create({"externalId": "in-main"}, site="main-shop")
        in_b = await client.orders.list().to_list()
        in_main = await client.orders.list(site="main-shop", limit=500).to_list()
    assert [o.id for o in in_b] == [made.id]
    assert other.id in [o.id for o in in_main] and made.id not in [o.id for o in in_main]
    create = [r for r in sandbox.recent_requests if r.path.endswith("/create")]
    assert len(create) == 2
    assert [unquote_plus(c.query) for c in create] == ["", ""]  # site is a form field
    lists = [unquote_plus(r.query) for r in sandbox.recent_requests if r.path == "/api/v5/orders"]
    assert lists == [
        "limit=100&page=1&filter[sites][]=shop-b",
        "limit=100&page=1&filter[sites][]=main-shop",
    ]
    stored = {r["externalId"]: r["site"] for r in account.stores["orders"].records.values()}
    assert stored == {"in-b": "shop-b", "in-main": "main-shop"}


# -- 4. datetimes ------------------------------------------------------------------


async def test_filter_datetimes_in_the_account_zone_read_once_from_settings(sandbox):
    moment = datetime(2026, 1, 1, 0, 0, tzinfo=timezone.utc)
    async with client_for(sandbox) as client:
        await client.orders.list(filter={"createdAtFrom": moment}, limit=1).to_list()
        await client.customers.list(filter={"dateFrom": moment}, limit=1).to_list()
        assert await client.timezone() == ZoneInfo("Europe/Moscow")
    assert sandbox.requests_by_path["/api/v5/settings"] == 1
    sent = [unquote_plus(r.query) for r in sandbox.recent_requests if "filter" in r.query]
    assert "filter[createdAtFrom]=2026-01-01 03:00:00" in sent[0]
    assert "filter[dateFrom]=2026-01-01 03:00:00" in sent[1]


async def test_timezone_given_to_the_client_skips_settings(sandbox):
    async with client_for(sandbox, timezone="Asia/Vladivostok") as client:
        since = datetime(2026, 3, 1, 12, tzinfo=timezone(timedelta(hours=3)))
        await client.orders.history(start_date=since, limit=1).to_list()
    assert sandbox.requests_by_path["/api/v5/settings"] == 0
    assert "filter[startDate]=2026-03-01 19:00:00" in unquote_plus(
        sandbox.recent_requests[-1].query
    )


async def test_naive_datetimes_are_refused(sandbox):
    async with client_for(sandbox) as client:
        with pytest.raises(ValueError, match="naive datetime"):
            await client.orders.list(filter={"createdAtFrom": datetime(2026, 1, 1)}).to_list()


async def test_datetimes_are_read_back_in_the_account_zone(sandbox):
    async with client_for(sandbox) as client:
        saved = await client.orders.create({"externalId": "when"})
        tz = await client.timezone()
    assert saved.entity is not None and saved.entity.created_at
    made = parse_datetime(saved.entity.created_at, tz)
    assert made.tzinfo == ZoneInfo("Europe/Moscow")
    assert abs(made - datetime.now(timezone.utc)) < timedelta(minutes=5)


# -- 5. create and edit answers ---------------------------------------------------------


async def test_order_create_and_edit_return_the_order(sandbox):
    async with client_for(sandbox) as client:
        created = await client.orders.create(Order(external_id="ret-1", first_name="Ann"))
        edited = await client.orders.edit({"externalId": "ret-1", "lastName": "Lee"})
        customer = await client.customers.create({"externalId": "ret-c"})
    assert isinstance(created.entity, Order) and created.entity.first_name == "Ann"
    assert created.entity.id == created.id and created.entity.number
    assert edited.id == created.id and edited.entity is not None
    assert edited.entity.last_name == "Lee"
    assert customer.id and customer.entity is None  # customers/create answers {id} alone


# -- path segments ---------------------------------------------------------------------


async def test_caller_values_stay_one_path_segment(sandbox):
    async with client_for(sandbox) as client:
        with pytest.raises(crmkit.NotFoundError):
            await client.orders.get("../customers/c-1")
        made = await client.orders.create({"externalId": "a/b?c#d"})
        again = await client.orders.get("a/b?c#d")
        await client.orders.edit({"externalId": "a/b?c#d", "firstName": "Slash"})
        dots = await client.orders.create({"externalId": ".."})
        assert (await client.orders.get("..")).id == dots.id
    assert again.id == made.id
    assert sandbox.requests_by_path["/api/v5/orders/../customers/c-1"] == 1
    assert all("/customers/" not in r.path for r in sandbox.recent_requests if r.method == "GET"
               and "c-1" in r.path and not r.path.startswith("/api/v5/orders/"))  # fmt: skip


def test_default_key_is_the_sandbox_key():
    assert RetailCRMSandbox().account().api_key == DEFAULT_API_KEY
