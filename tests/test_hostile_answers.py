"""Property tests: whatever a server answers, crmkit returns a model or a typed crmkit error.

Every platform's calls (lists through the paginator, single reads, writes,
logins) run against its sandbox with one answer spoiled by hypothesis
(:mod:`tests.hostile`: any bytes, any JSON shape, wrong types, nulls where ids
belong, huge numbers, HTML, empty bodies, non-UTF-8, truncated bodies, 302s,
204s, HTML 5xx pages, garbage/negative/huge ``Retry-After``, a lying
``Content-Encoding``, and a server that answers the same thing for ever). The
outcome must be a value or a :class:`crmkit.CRMError`: never KeyError,
TypeError, IndexError, AttributeError, RecursionError, a raw httpx error, nor a
run that does not end. Backoff runs on a virtual clock, so retries cost nothing.

``HYPOTHESIS_EXAMPLES`` (environment) scales the examples per test (default 40;
``nox -s chaos`` runs more).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any

import attrs
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import crmkit
from crmkit.amocrm import AmoCRM
from crmkit.amocrm.sandbox import AmoCRMSandbox
from crmkit.corezoid import Corezoid, Op
from crmkit.corezoid.sandbox import DEFAULT_CONV, DEFAULT_LOGIN, DEFAULT_SECRET, CorezoidSandbox
from crmkit.retailcrm import RetailCRM
from crmkit.retailcrm.sandbox import DEFAULT_API_KEY, RetailCRMSandbox
from crmkit.vtiger import Vtiger
from crmkit.vtiger.sandbox import DEFAULT_ACCESS_KEY, DEFAULT_USER, VtigerSandbox

from .amocrm._clients import auth_for
from .hostile import run_hostile, spoils

EXAMPLES = int(os.environ.get("HYPOTHESIS_EXAMPLES", "40"))
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same examples on every run: a failure is reproducible
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
RETRY = crmkit.RetryPolicy(max_retries=2)
SINCE = datetime(2020, 1, 1, tzinfo=timezone.utc)

Operation = Callable[[Any], Awaitable[Any]]


@attrs.frozen
class Platform:
    """One platform under test: a fresh sandbox, a client on a transport, its calls."""

    sandbox: Callable[[], Any]
    client: Callable[[Any, httpx.AsyncBaseTransport, Any], Any]
    ops: dict[str, Operation]
    #: How many answers a call gets at most (login included): the spoiled one is among them.
    answers: int


def _amocrm(version: int) -> Callable[[Any, httpx.AsyncBaseTransport, Any], AmoCRM]:
    def client(sandbox: AmoCRMSandbox, transport: httpx.AsyncBaseTransport, clock: Any) -> AmoCRM:
        return AmoCRM(
            base_url="http://acme.amocrm.test",
            rate_limit=None,
            **auth_for(sandbox, version),
            **_common(transport, clock),
        )

    return client


def _common(transport: httpx.AsyncBaseTransport, clock: Any) -> dict[str, Any]:
    return {"transport": transport, "allow_insecure_http": True, "retry": RETRY, "clock": clock}


AMO_OPS: dict[str, Operation] = {
    "leads.list": lambda amo: amo.leads.list(page_size=20).to_list(),
    "leads.list since": lambda amo: amo.leads.list(page_size=20, modified_since=SINCE).to_list(),
    "leads.get": lambda amo: amo.leads.get(3),
    "leads.add": lambda amo: amo.leads.add([{"name": f"d{n}", "price": n} for n in range(3)]),
    "leads.add key": lambda amo: amo.leads.add([{"name": f"k{n}"} for n in range(3)], key="name"),
    "account": lambda amo: amo.account(),
    "pipelines": lambda amo: amo.pipelines.list().to_list(),
    "notes.list": lambda amo: amo.notes.list(entity_type="leads").to_list(),
}

#: amoCRM serves pipelines (and other groups) in API v4 only.
AMO_V2_OPS = {name: op for name, op in AMO_OPS.items() if name != "pipelines"}

RETAIL_OPS: dict[str, Operation] = {
    "customers.list": lambda crm: crm.customers.list(page_size=20).to_list(),
    "orders.list": lambda crm: crm.orders.list(page_size=20).to_list(),
    "orders.history": lambda crm: crm.orders.history().to_list(),
    "customers.get": lambda crm: crm.customers.get(1, by="id"),
    "orders.create": lambda crm: crm.orders.create({"externalId": "h-1", "number": "H1"}),
    "orders.upload": lambda crm: crm.orders.upload(
        [{"externalId": f"u-{n}", "number": f"U{n}"} for n in range(3)]
    ),
    "sites": lambda crm: crm.reference.sites.list(),
    "statuses": lambda crm: crm.reference.statuses.list(),
    "orders.statuses": lambda crm: crm.orders.statuses(ids=[1, 2]),
    "couriers.create": lambda crm: crm.reference.couriers.create({"firstName": "O"}),
    "tasks.create": lambda crm: crm.tasks.create({"text": "Call", "performerId": 1}),
    "inventories.upload": lambda crm: crm.store.inventories.upload(
        [{"id": 20, "stores": [{"code": "main-store", "available": 4}]}]
    ),
    "timezone": lambda crm: crm.timezone(),
    "api_versions": lambda crm: crm.api_versions(),
}

VTIGER_OPS: dict[str, Operation] = {
    "query": lambda crm: crm.query("SELECT * FROM Leads").to_list(),
    "count": lambda crm: crm.count("Leads"),
    "retrieve": lambda crm: crm.retrieve("10x1"),
    "describe": lambda crm: crm.describe("Leads"),
    "list_types": lambda crm: crm.list_types(),
    "create": lambda crm: crm.create("Leads", {"lastname": "Hostile"}),
    "sync": lambda crm: crm.sync("Leads", modified_since=SINCE).to_list(),
}


async def _batched(cz: Corezoid) -> list[Any]:
    async with cz.batch(max_delay=0.0) as batch:
        results = await asyncio.gather(
            *(batch.create_task(DEFAULT_CONV, {"n": n}, ref=f"b{n}") for n in range(4)),
            return_exceptions=True,
        )
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, crmkit.CRMError):
            raise result
    return results


COREZOID_OPS: dict[str, Operation] = {
    "ops create": lambda cz: cz.ops([Op.create_task(DEFAULT_CONV, {"n": n}) for n in range(3)]),
    "ops show": lambda cz: cz.ops([Op.show_task(DEFAULT_CONV, ref="missing")]),
    "batch": _batched,
}

PLATFORMS: dict[str, Platform] = {
    "amocrm v2": Platform(
        lambda: AmoCRMSandbox(leads=50, notes=5, rate_limit=None), _amocrm(2), AMO_V2_OPS, 6
    ),
    "amocrm v4": Platform(
        lambda: AmoCRMSandbox(leads=50, notes=5, rate_limit=None), _amocrm(4), AMO_OPS, 6
    ),
    "retailcrm": Platform(
        lambda: RetailCRMSandbox(customers=45, orders=45, rate_limit=None),
        lambda sandbox, transport, clock: RetailCRM(
            "http://demo.retailcrm.test",
            DEFAULT_API_KEY,
            rate_limit=None,
            **_common(transport, clock),
        ),
        RETAIL_OPS,
        4,
    ),
    "vtiger": Platform(
        lambda: VtigerSandbox(leads=45),
        lambda sandbox, transport, clock: Vtiger(
            "http://crm.example.test", DEFAULT_USER, DEFAULT_ACCESS_KEY, **_common(transport, clock)
        ),
        VTIGER_OPS,
        5,
    ),
    "corezoid": Platform(
        CorezoidSandbox,
        lambda sandbox, transport, clock: Corezoid(
            DEFAULT_LOGIN,
            DEFAULT_SECRET,
            base_url="http://corezoid.sandbox",
            sync_url="http://corezoid.sandbox",
            **_common(transport, clock),
        ),
        COREZOID_OPS,
        2,
    ),
}


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
@SETTINGS
@given(data=st.data())
def test_any_answer_is_a_model_or_a_typed_error(platform: str, data: st.DataObject) -> None:
    under_test = PLATFORMS[platform]
    spoil = data.draw(spoils(under_test.answers), label="spoil")
    name = data.draw(st.sampled_from(sorted(under_test.ops)), label="call")
    sandbox = under_test.sandbox()
    outcome, transport = run_hostile(
        lambda transport, clock: under_test.client(sandbox, transport, clock),
        sandbox.transport,
        under_test.ops[name],
        spoil,
    )
    # run_hostile let only a value or a crmkit.CRMError through; a loop raised EndlessRun.
    assert outcome is not None or transport.count > 0


# -- the defects these properties found, one deterministic case each ------------------------


async def _session_answering(*answers: tuple[int, dict[str, str], bytes], clock: Any = None) -> Any:
    from .conftest import VirtualClock

    sent: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        status, headers, body = answers[min(len(sent), len(answers)) - 1]
        return httpx.Response(status, headers=headers, stream=httpx.ByteStream(body))

    session = crmkit.Session(
        "https://crm.example.test",
        transport=httpx.MockTransport(handle),
        clock=clock or VirtualClock(),
        retry=RETRY,
    )
    return session, sent


@pytest.mark.anyio
async def test_a_body_that_is_not_what_its_content_encoding_says_is_a_protocol_error():
    lying = (200, {"content-encoding": "gzip"}, b'{"ok": true}')
    session, sent = await _session_answering(lying)
    async with session:
        with pytest.raises(crmkit.ProtocolError, match="cannot be decoded"):
            await session.request("GET", "api/thing")
    assert len(sent) == 1


@pytest.mark.anyio
async def test_a_redirect_is_an_error_not_an_empty_success():
    moved = (302, {"location": "https://login.example.test/?apiKey=k-42424"}, b"")
    session, _ = await _session_answering(moved)
    async with session:
        with pytest.raises(crmkit.APIError, match="redirect") as info:
            await session.request("POST", "api/orders/create")
    assert info.value.status == 302 and "k-42424" not in str(info.value)


@pytest.mark.anyio
async def test_a_retry_after_above_the_cap_stops_every_task_until_it_passes(clock):
    long_pause = (429, {"retry-after": "3600"}, b"")
    fine = (200, {"content-type": "application/json"}, b'{"ok": true}')
    session, sent = await _session_answering(long_pause, fine, clock=clock)
    async with session:
        with pytest.raises(crmkit.RateLimitError) as first:
            await session.request("GET", "api/a")
        assert first.value.retry_after == 3600
        for _ in range(5):  # the other tasks: refused at once, nothing sent
            with pytest.raises(crmkit.RateLimitError, match="nothing is sent"):
                await session.request("GET", "api/b")
        assert len(sent) == 1
        clock.now += 3601
        assert (await session.request("GET", "api/c")).json() == {"ok": True}
    assert len(sent) == 2


@pytest.mark.parametrize(
    ("value", "expected"),
    [("nan", None), ("garbage", None), ("-5", 0.0), ("inf", float("inf")), ("", None)],
)
def test_retry_after_values(value: str, expected: float | None) -> None:
    from crmkit._retry import parse_retry_after

    assert parse_retry_after(value) == expected


@pytest.mark.anyio
async def test_a_next_link_pointing_at_its_own_page_ends_with_a_protocol_error():
    def handle(request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        page = {
            "_page": 1,
            "_links": {"self": {"href": url}, "next": {"href": url}},
            "_embedded": {"leads": [{"id": 1, "name": "same"}]},
        }
        return httpx.Response(200, json=page)

    transport = httpx.MockTransport(handle)
    async with AmoCRM("acme", access_token="t-1", transport=transport, rate_limit=None) as amo:
        with pytest.raises(crmkit.ProtocolError, match="does not advance"):
            await amo.leads.list().to_list()
        assert amo.session.stats.requests <= 3


@pytest.mark.anyio
async def test_a_json_answer_cut_short_is_fetched_again_for_a_get_not_for_a_post():
    cut = (200, {"content-type": "application/json"}, b'{"items": [1, 2')
    whole = (200, {"content-type": "application/json"}, b'{"items": [1, 2, 3]}')
    session, sent = await _session_answering(cut, whole)
    async with session:
        answer = await session.request("GET", "api/items")
        assert answer.json() == {"items": [1, 2, 3]} and len(sent) == 2
        sent.clear()
        posted = await session.request("POST", "api/items")  # never repeated: may have acted
        assert len(sent) == 1
    with pytest.raises(crmkit.ProtocolError):
        from crmkit._json import response_json

        response_json(posted)


@pytest.mark.anyio
async def test_a_gateways_html_502_is_a_server_error_retried_not_a_missing_account():
    pages = [
        httpx.Response(502, headers={"content-type": "text/html"}, content=b"<html>502</html>"),
        httpx.Response(200, json={"success": True, "sites": {}}),
    ]
    transport = httpx.MockTransport(lambda request: pages.pop(0))
    async with RetailCRM("https://shop.retailcrm.ru", "key-1", transport=transport) as crm:
        crm.session.retry = crmkit.RetryPolicy(max_retries=2, backoff_base=0.0)
        assert await crm.reference.sites.list() == []
    assert pages == []


@pytest.mark.anyio
@pytest.mark.parametrize("embedded", ['"x"', "-1", '{"items": 7}', '{"items": ["x"], "errors": 3}'])
async def test_a_malformed_amocrm_v2_write_answer_is_a_protocol_error(embedded: str) -> None:
    """Found by the sweep of spoiled answers after the amoCRM rewrite (v2 ``add``)."""
    sandbox = AmoCRMSandbox(rate_limit=None)
    c = sandbox.credentials
    body = b'{"_embedded": ' + embedded.encode() + b"}"

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("auth.php"):
            return httpx.Response(
                200,
                json={"response": {"auth": True}},
                headers={"set-cookie": "session_id=s-1; path=/"},
            )
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})

    async with AmoCRM(
        base_url="https://acme.amocrm.ru",
        api_version=2,
        login=c.login,
        api_key=c.api_key,
        transport=httpx.MockTransport(handle),
        rate_limit=None,
    ) as amo:
        try:
            await amo.leads.add([{"name": "a"}])
        except crmkit.CRMError:
            pass  # a typed error, or a result: never AttributeError/TypeError


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("call", "answer"),
    [
        (lambda crm: crm.orders.create({"externalId": "x-1"}), {"success": True, "id": ""}),
        (lambda crm: crm.reference.sites.list(), {"success": True, "sites": [7]}),
    ],
)
async def test_malformed_retailcrm_write_and_reference_answers_are_protocol_errors(call, answer):
    """Found by the spoiled-answer sweep after the RetailCRM rewrite."""
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=answer))
    async with RetailCRM("https://shop.retailcrm.ru", "key-1", transport=transport) as crm:
        with pytest.raises(crmkit.ProtocolError):
            await call(crm)


@pytest.mark.anyio
async def test_a_malformed_upload_answer_leaves_its_item_outcome_unknown():
    """An unreadable upload answer (the sweep's find) is an unknown outcome: looked up, kept."""
    answer = {"success": True, "uploadedOrders": [{"externalId": "x-1", "id": None}]}
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=answer))
    async with RetailCRM("https://shop.retailcrm.ru", "key-1", transport=transport) as crm:
        result = await crm.orders.upload([{"externalId": "x-1"}])
    assert result.ids == [None] and "outcome unknown" in str(result.errors[0])


CALLS = {"date": "2026-01-01 10:00:00", "type": "in", "phone": "+7900", "externalId": "c"}


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("call", "answer"),
    [
        (lambda crm: crm.orders.statuses(ids=[1]), {"orders": -1}),
        (lambda crm: crm.orders.statuses(ids=[1]), {"orders": ["x"]}),
        (lambda crm: crm.reference.couriers.create({"firstName": "O"}), {}),
        (lambda crm: crm.reference.couriers.create({"firstName": "O"}), {"id": None}),
        (lambda crm: crm.tasks.create({"text": "t", "performerId": 1}), {"id": ""}),
        (lambda crm: crm.tasks.create({"text": "t", "performerId": 1}), {"id": {"id": None}}),
        (lambda crm: crm.store.inventories.upload([{"id": 1}]), {"processedOffersCount": "x"}),
        (lambda crm: crm.store.inventories.upload([{"id": 1}]), {"notFoundOffers": -1}),
        (lambda crm: crm.telephony.calls_upload([CALLS]), {"processedCallsCount": [None]}),
        (lambda crm: crm.telephony.calls_upload([CALLS]), {"duplicateCalls": -1}),
        (lambda crm: crm.timezone(), {"settings": {"timezone": "x"}}),
        (lambda crm: crm.api_versions(), {"versions": -1}),
    ],
)
async def test_malformed_answers_across_the_retailcrm_surface_are_protocol_errors(call, answer):
    """Found by re-running the spoiled-answer sweep over the rewritten RetailCRM (32,175 runs)."""
    body = {"success": True, **answer}
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=body))
    async with RetailCRM(
        "https://shop.retailcrm.ru", "key-1", transport=transport, rate_limit=None
    ) as crm:
        with pytest.raises(crmkit.ProtocolError):
            await call(crm)


@pytest.mark.anyio
@pytest.mark.parametrize(
    "answer", [{"uploadedOrders": -1}, {"uploadedOrders": [{"id": ""}]}, {"failedOrders": 7}]
)
async def test_a_malformed_upload_answer_is_an_outcome_per_item_not_a_crash(answer):
    """Found by the same sweep: ``uploadedOrders`` not a list, an unreadable id."""
    body = {"success": True, **answer}
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=body))
    async with RetailCRM("https://shop.retailcrm.ru", "key-1", transport=transport) as crm:
        result = await crm.orders.upload([{"number": "no externalId"}])
    assert result.ids == [None] and result.errors[0]
