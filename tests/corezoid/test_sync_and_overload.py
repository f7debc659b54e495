"""Corezoid: the Sync API past the Session's read timeout, overload (429/503), 400
messages, creates by alias in a workspace, refs and empty packages refused.

Sources: ``corezoid/documentation`` ``en/api/sync-api.md`` (Sync API body, its
answer without op ``id``, "Timeout for create task", 504 without a timeout),
``en/api/v2/tasks.md`` (``ref`` 1-255 characters); ``corezoid/corezoid-ai-plugin``
``docs/corezoid-swagger.json`` (``error400``: the message in ``ops[0].description``;
task create by ``conv_id`` or ``obj_alias`` with ``company_id``, ``project_id``,
``stage_id``) and its Go client ``plugins/corezoid/mcp-server/executor_api.go``
(429 and 503 retried after ``Retry-After``).
"""

from __future__ import annotations

import asyncio
import time

import httpx
import orjson
import pytest

import crmkit
from crmkit.corezoid import (
    Corezoid,
    Op,
    ServiceUnavailableError,
    SyncTimeoutError,
    sign,
)
from crmkit.corezoid._wire import build_body, read_answer
from crmkit.corezoid.sandbox import DEFAULT_CONV, DEFAULT_LOGIN, DEFAULT_SECRET, CorezoidSandbox
from crmkit.sandbox import FaultPlan

from ._helpers import DropAfterProcessing, VirtualClock, client_for

pytestmark = pytest.mark.anyio


def answer_all(request: httpx.Request, **extra: object) -> httpx.Response:
    sent = orjson.loads(request.content)
    ops = [
        {"id": op["id"], "proc": "ok", "obj": "task", "obj_id": f"t{op['id']}", **extra}
        for op in sent["ops"]
    ]
    return httpx.Response(200, json={"request_proc": "ok", "ops": ops})


# -- the Sync API ------------------------------------------------------------------


async def test_sync_call_outlives_the_sessions_read_timeout_over_loopback():
    """The process answers after 0.8 s; the Session's timeout is 0.3 s. The Sync call's
    own read timeout (its timeout + margin) lets it through; a plain request is cut off."""
    sandbox = CorezoidSandbox(
        sync_delay=0.8, sync_handler=lambda conv, data: {"double": data["n"] * 2}
    )
    with sandbox.serve() as served:
        cz = Corezoid(
            DEFAULT_LOGIN,
            DEFAULT_SECRET,
            base_url=served.url,
            sync_url=f"{served.url}/sync-api",
            allow_insecure_http=True,
            timeout=0.3,
            max_retries=0,
        )
        async with cz:
            assert await cz.sync_call(DEFAULT_CONV, {"n": 21}, timeout=3) == {"double": 42}
            sandbox.set_faults(FaultPlan(latency=0.8, paths=("/api/2/",)))
            with pytest.raises(crmkit.TransportError):  # the Session's own timeout still holds
                await cz.ops([Op.show_task(DEFAULT_CONV, ref="x")])
    assert len(sandbox.tasks()) == 1


async def test_a_timeout_answer_is_sync_timeout_error_and_the_task_exists_once():
    sandbox = CorezoidSandbox(sync_delay=30)
    async with client_for(sandbox) as cz:
        with pytest.raises(SyncTimeoutError) as info:
            await cz.sync_call(DEFAULT_CONV, {"a": 1}, timeout=0.2, ref="order-7")
    assert "Timeout for create task" in str(info.value)
    assert isinstance(info.value, crmkit.APIError)
    assert [t["ref"] for t in sandbox.tasks().values()] == ["order-7"]


async def test_a_504_to_a_sync_call_is_sync_timeout_error():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(504, text="Gateway Time-out")

    async with Corezoid("1", "s", transport=httpx.MockTransport(handler)) as cz:
        with pytest.raises(SyncTimeoutError):
            await cz.sync_call(DEFAULT_CONV, {"a": 1}, timeout=5)


async def test_a_resend_after_a_dropped_sync_call_reports_the_task_it_made():
    """The first Sync request is processed but its answer is lost; the resend (same
    ref) answers "duplicate ref", recognised as its own: the task is shown by ref."""
    sandbox = CorezoidSandbox()
    transport = DropAfterProcessing(sandbox.transport(), "/sync-api/")
    async with client_for(sandbox, transport=transport) as cz:
        cz.session.retry = crmkit.RetryPolicy(max_retries=2, backoff_base=0.0)
        data = await cz.sync_call(DEFAULT_CONV, {"lead": 5}, timeout=5, ref="lead-5")
    assert data == {"lead": 5}  # the task's data, shown by its ref
    assert len(sandbox.tasks()) == 1
    paths = [r.path.split("/")[1] for r in sandbox.recent_requests]
    assert paths == ["sync-api", "sync-api", "api"]  # sent, resent, shown


async def test_a_genuine_duplicate_ref_on_a_first_sync_send_is_an_error():
    sandbox = CorezoidSandbox()
    async with client_for(sandbox) as cz:
        await cz.ops([Op.create_task(DEFAULT_CONV, {}, ref="taken")])
        with pytest.raises(crmkit.corezoid.OpError, match="unical"):
            await cz.sync_call(DEFAULT_CONV, {"a": 1}, timeout=5, ref="taken")


def test_an_answer_without_op_id_is_matched_by_position_only_where_asked():
    """sync-api.md documents ``{"ops": [{"proc": "ok", "data": ...}]}``: no ``id``."""
    body, ids = build_body([Op.create_task(1, {})], timeout=10)
    assert orjson.loads(body)["timeout"] == 10
    request = httpx.Request("POST", "https://sync-api.corezoid.com/api/1/json/1")
    answer = httpx.Response(
        200,
        json={"ops": [{"proc": "ok", "data": {"x": 1}}], "request_proc": "ok"},
        request=request,
    )
    (result,) = read_answer(answer, ids, by_position=True)
    assert result.ok and result.data == {"x": 1}
    with pytest.raises(crmkit.ProtocolError):
        read_answer(answer, ids)
    two = httpx.Response(
        200,
        json={"request_proc": "ok", "ops": [{"proc": "ok"}, {"proc": "ok"}]},
        request=request,
    )
    with pytest.raises(crmkit.ProtocolError):
        read_answer(two, ids, by_position=True)


# -- 429 / 503 and 400 ------------------------------------------------------------------


def overloaded_then_ok(times: int, status: int = 503, retry_after: str = "7"):
    calls: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(orjson.loads(request.content))
        if len(calls) <= times:
            return httpx.Response(status, headers={"Retry-After": retry_after}, text="busy")
        return answer_all(request)

    return handler, calls


@pytest.mark.parametrize("status", [429, 503])
async def test_creates_are_resent_after_retry_after(status):
    handler, calls = overloaded_then_ok(2, status)
    clock = VirtualClock()
    async with Corezoid("1", "s", transport=httpx.MockTransport(handler), clock=clock) as cz:
        results = await cz.ops([Op.create_task(5, {"n": 1}, ref="r1")])
    assert results[0].ok and len(calls) == 3
    assert clock.sleeps.count(7.0) == 2  # the Session paused for the server's Retry-After
    assert cz.session.stats.rate_limited == 2


async def test_reads_are_resent_after_a_503():
    handler, calls = overloaded_then_ok(1)
    clock = VirtualClock()
    async with Corezoid("1", "s", transport=httpx.MockTransport(handler), clock=clock) as cz:
        (shown,) = await cz.ops([Op.show_task(5, ref="r1")])
    assert shown.ok and len(calls) == 2 and 7.0 in clock.sleeps


async def test_a_503_to_a_modify_is_not_resent():
    handler, calls = overloaded_then_ok(1)
    async with Corezoid("1", "s", transport=httpx.MockTransport(handler)) as cz:
        with pytest.raises(ServiceUnavailableError) as info:
            await cz.ops([Op.modify_task(5, {"x": 1}, ref="r1")])
    assert len(calls) == 1 and info.value.retry_after == 7.0
    assert isinstance(info.value, crmkit.ServerError)


async def test_a_503_to_a_mixed_package_resends_only_the_safe_ops():
    handler, calls = overloaded_then_ok(1, retry_after="0")
    cz = Corezoid("1", "s", transport=httpx.MockTransport(handler))
    async with cz, cz.batch(max_delay=0.01) as batch:
        create = batch.create_task(5, {"n": 1}, ref="r1")
        modify = batch.submit(Op.modify_task(5, {"x": 1}, ref="r0"))
        created, modified = await asyncio.gather(create, modify, return_exceptions=True)
    assert created.ok and isinstance(modified, ServiceUnavailableError)
    assert [op["type"] for op in calls[1]["ops"]] == ["create"]


async def test_503s_from_the_sandbox_lose_and_duplicate_nothing():
    """502/503/504 (the sandbox's gateway faults) and dropped connections: every create
    lands once; those whose package may have been done are resolved by ref."""
    sandbox = CorezoidSandbox(faults=FaultPlan(server_error=0.2, drop_after=0.1, seed=11))
    async with client_for(sandbox, clock=VirtualClock(), max_ops=10) as cz:
        cz.session.retry = crmkit.RetryPolicy(max_retries=10, backoff_base=0.0)
        results = await cz.ops([Op.create_task(DEFAULT_CONV, {"n": n}) for n in range(200)])
    assert sandbox.injected_faults["server_error"] >= 5
    assert all(r.ok for r in results)
    assert len(sandbox.tasks()) == 200
    for n, result in enumerate(results):
        assert sandbox.tasks()[result.obj_id]["data"] == {"n": n}


async def test_a_400s_message_is_its_first_ops_description():
    def handler(request: httpx.Request) -> httpx.Response:
        body = {
            "request_proc": "error",
            "ops": [{"proc": "error", "description": "Incorrect body"}],
        }
        return httpx.Response(400, json=body)

    async with Corezoid("1", "s", transport=httpx.MockTransport(handler)) as cz:
        with pytest.raises(crmkit.ValidationError) as info:
            await cz.ops([Op.show_task(5, ref="r")])
    assert info.value.message == "Incorrect body" and info.value.status == 400


# -- creates, workspaces, refs ---------------------------------------------------------


def test_create_task_by_alias_in_a_stage():
    op = Op.create_task(
        obj_alias="orders",
        data={"a": 1},
        ref="r",
        company_id="i1",
        project_id=543677,
        stage_id=543678,
    )
    wire = op.to_wire("1")
    assert wire == {
        "id": "1",
        "type": "create",
        "obj": "task",
        "obj_alias": "orders",
        "company_id": "i1",
        "project_id": 543677,
        "stage_id": 543678,
        "data": {"a": 1},
        "ref": "r",
    }
    with pytest.raises(ValueError, match="exactly one of conv_id or obj_alias"):
        Op.create_task(5, {}, obj_alias="orders")
    with pytest.raises(ValueError, match="exactly one of conv_id or obj_alias"):
        Op.create_task(data={})


@pytest.mark.parametrize("ref", ["", "x" * 256])
def test_refs_outside_1_to_255_characters_are_refused(ref):
    with pytest.raises(ValueError, match="ref must be 1 to 255"):
        Op.create_task(5, {}, ref=ref)
    with pytest.raises(ValueError, match="ref must be 1 to 255"):
        Op.show_task(5, ref=ref)
    assert Op.create_task(5, {}, ref="x" * 255).ref == "x" * 255


async def test_empty_op_lists_are_refused_before_sending():
    async with Corezoid("1", "s", transport=httpx.MockTransport(answer_all)) as cz:
        with pytest.raises(ValueError, match="ops must not be empty"):
            await cz.ops([])
    with pytest.raises(ValueError, match="ops must not be empty"):
        build_body([])


async def test_the_clients_workspace_goes_with_every_op_that_names_none():
    sent: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(orjson.loads(request.content))
        return answer_all(request)

    async with Corezoid(
        "1", "s", company_id="i738314881", transport=httpx.MockTransport(handler)
    ) as cz:
        await cz.ops([Op.create_task(5, {}), Op.show_task(5, ref="r", company_id="i999")])
        async with cz.batch() as batch:
            await batch.create_task(obj_alias="orders", data={})
    first, second = sent[0]["ops"]
    assert first["company_id"] == "i738314881" and second["company_id"] == "i999"
    assert sent[1]["ops"][0]["company_id"] == "i738314881"
    with pytest.raises(ValueError, match="company_id"):
        Corezoid("1", "s", company_id="")


async def test_the_sandbox_serves_the_sync_api_on_its_own_host_too():
    """sync-api.md: ``https://sync-api.corezoid.com/api/1/json/...``; the same path on
    the API host is API v1 (an ordinary package answer, with op ids)."""
    sandbox = CorezoidSandbox(sync_handler=lambda conv, data: {"echo": data})
    cz = Corezoid(
        DEFAULT_LOGIN,
        DEFAULT_SECRET,
        base_url="http://api.sandbox",
        sync_url="http://sync-api.sandbox",
        transport=sandbox.transport(),
        allow_insecure_http=True,
    )
    async with cz:
        assert await cz.sync_call(DEFAULT_CONV, {"x": 1}, timeout=5) == {"echo": {"x": 1}}
    sync_request = sandbox.recent_requests[-1]
    assert sync_request.path.startswith(f"/api/1/json/{DEFAULT_LOGIN}/")
    body = orjson.dumps({"ops": [{"id": "a", "type": "show", "obj": "conv",
                                  "obj_id": DEFAULT_CONV}]})  # fmt: skip
    stamp = int(time.time())
    url = f"http://api.sandbox/api/1/json/{DEFAULT_LOGIN}/{stamp}/"
    async with httpx.AsyncClient(transport=sandbox.transport()) as client:
        answer = await client.post(url + sign(stamp, DEFAULT_SECRET, body), content=body)
    assert answer.json()["ops"][0]["id"] == "a" and answer.json()["ops"][0]["proc"] == "ok"
