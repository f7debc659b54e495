"""Corezoid: signatures, ops matched by id, per-op and package failures, batching, Sync API."""

from __future__ import annotations

import asyncio
import hashlib
import time

import httpx
import orjson
import pytest

import crmkit
from crmkit.corezoid import Corezoid, Op, OpError, RequestError, SyncTimeoutError, sign
from crmkit.corezoid.sandbox import DEFAULT_CONV, DEFAULT_LOGIN, DEFAULT_SECRET, CorezoidSandbox
from crmkit.sandbox import FaultPlan

from ._helpers import client_for

pytestmark = pytest.mark.anyio


# -- signatures ------------------------------------------------------------------


def test_signature_vector_computed_by_hand():
    body = '{"ops":[{"type":"create","obj":"task","conv_id":1,"data":{"name":"Ёлка"}}]}'.encode()
    expected = hashlib.sha1(b"1700000000" + b"s3cr3t" + body + b"s3cr3t").hexdigest()
    assert sign(1700000000, "s3cr3t", body) == expected
    assert expected == sign(1700000000, "s3cr3t", body).lower()
    assert sign(1700000001, "s3cr3t", body) != expected
    with pytest.raises(TypeError):
        sign(1700000000.5, "s3cr3t", body)  # type: ignore[arg-type]


async def test_request_is_signed_over_the_exact_bytes_with_the_right_content_type():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        sent = orjson.loads(request.content)
        ops = [{"id": op["id"], "proc": "ok", "obj": "task", "obj_id": "x"} for op in sent["ops"]]
        return httpx.Response(200, json={"request_proc": "ok", "ops": ops})

    async with Corezoid("42", "secret-xyz", transport=httpx.MockTransport(handler)) as cz:
        await cz.ops([Op.create_task(7, {"a": "ü"}, ref="r1")])
    request = seen[0]
    assert request.headers["content-type"] == "application/json; charset=utf8"
    parts = request.url.path.split("/")
    assert parts[:5] == ["", "api", "2", "json", "42"]
    timestamp, signature = int(parts[5]), parts[6]
    assert abs(timestamp - time.time()) < 5
    expected = hashlib.sha1(
        str(timestamp).encode() + b"secret-xyz" + request.content + b"secret-xyz"
    ).hexdigest()
    assert signature == expected


async def test_each_retry_is_signed_again_with_a_fresh_timestamp():
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        if len(paths) == 1:
            return httpx.Response(429, headers={"Retry-After": "0"})
        sent = orjson.loads(request.content)
        ops = [{"id": op["id"], "proc": "ok"} for op in sent["ops"]]
        return httpx.Response(200, json={"request_proc": "ok", "ops": ops})

    ticks = iter(range(1_700_000_000, 1_700_000_100))
    async with Corezoid("42", "s", transport=httpx.MockTransport(handler)) as cz:
        cz._signer._now = lambda: next(ticks)  # a clock that moves on between attempts
        await cz.ops([Op.show_task(1, ref="r")])
    assert len(paths) == 2
    assert paths[0].split("/")[5] != paths[1].split("/")[5]
    assert paths[0].split("/")[6] != paths[1].split("/")[6]


async def test_tampered_body_is_refused_by_the_sandbox():
    sandbox = CorezoidSandbox()
    body = b'{"ops":[]}'
    timestamp = int(time.time())
    signature = sign(timestamp, DEFAULT_SECRET, body)
    async with httpx.AsyncClient(transport=sandbox.transport()) as client:
        url = f"http://cz/api/2/json/{DEFAULT_LOGIN}/{timestamp}/{signature}"
        good = await client.post(url, content=body)
        bad = await client.post(url, content=b'{"ops":[{}]}')
    assert good.status_code == 200 and good.json()["request_proc"] == "ok"
    assert bad.status_code == 401 and "signature" in bad.json()["description"].lower()


async def test_stale_timestamp_is_refused_as_an_authentication_error():
    sandbox = CorezoidSandbox()
    async with client_for(sandbox) as cz:
        cz._signer._now = lambda: time.time() - 3600
        with pytest.raises(crmkit.AuthenticationError, match="too far"):
            await cz.ops([Op.create_task(DEFAULT_CONV, {"n": 1})])
    assert sandbox.tasks() == {}


async def test_wrong_secret_is_refused_and_never_shown():
    sandbox = CorezoidSandbox()
    cz = Corezoid(
        DEFAULT_LOGIN,
        "not-the-secret-123",
        base_url="http://corezoid.sandbox",
        transport=sandbox.transport(),
        allow_insecure_http=True,
    )
    async with cz:
        with pytest.raises(crmkit.AuthenticationError) as info:
            await cz.ops([Op.show_task(DEFAULT_CONV, ref="x")])
    shown = str(info.value) + repr(info.value) + repr(cz)
    assert "not-the-secret-123" not in shown
    assert sign(0, "not-the-secret-123", b"")[:10] not in shown


# -- ops ---------------------------------------------------------------------------


async def test_out_of_order_answers_are_matched_by_id():
    sandbox = CorezoidSandbox(seed=3)  # answers come back shuffled
    ops = [Op.create_task(DEFAULT_CONV, {"n": n}, ref=f"ref-{n}") for n in range(30)]
    async with client_for(sandbox) as cz:
        results = await cz.ops(ops)
    assert [r.ref for r in results] == [f"ref-{n}" for n in range(30)]
    for n, result in enumerate(results):
        assert sandbox.tasks()[result.obj_id]["data"] == {"n": n}


async def test_a_failing_op_fails_no_other():
    sandbox = CorezoidSandbox()
    async with client_for(sandbox) as cz:
        first, missing, second = await cz.ops(
            [
                Op.create_task(DEFAULT_CONV, {"n": 1}),
                Op.show_task(DEFAULT_CONV, ref="no-such-task"),
                Op.create_task(DEFAULT_CONV, {"n": 2}),
            ]
        )
        shown = (await cz.ops([Op.show_task(DEFAULT_CONV, obj_id=first.obj_id)]))[0]
    assert first.ok and second.ok and not missing.ok
    assert missing.proc == "obj_id_not_found"
    with pytest.raises(OpError) as info:
        missing.unwrap()
    assert info.value.code == "obj_id_not_found"
    assert isinstance(info.value, crmkit.APIError)
    assert shown.data == {"n": 1}
    assert first.ref is not None  # creates always carry a ref


async def test_modify_and_delete_tasks():
    sandbox = CorezoidSandbox()
    async with client_for(sandbox) as cz:
        created = (await cz.ops([Op.create_task(DEFAULT_CONV, {"a": 1}, ref="t1")]))[0].unwrap()
        (await cz.ops([Op.modify_task(DEFAULT_CONV, {"b": 2}, ref="t1")]))[0].unwrap()
        shown = (await cz.ops([Op.show_task(DEFAULT_CONV, ref="t1")]))[0].unwrap()
        assert shown.data == {"a": 1, "b": 2}
        node = shown.raw["node_id"]
        (await cz.ops([Op.delete_task(DEFAULT_CONV, created.obj_id, node)]))[0].unwrap()
    assert sandbox.tasks() == {}


async def test_generic_op_for_other_objects():
    op = Op("list", "conv", obj_id=DEFAULT_CONV, filter=None)
    assert (op.type, op.obj, dict(op.fields)) == ("list", "conv", {"obj_id": DEFAULT_CONV})
    assert op == Op("list", "conv", obj_id=DEFAULT_CONV)
    sandbox = CorezoidSandbox()
    async with client_for(sandbox) as cz:
        listed, unknown = await cz.ops([op, Op("create", "dashboard", title="x")])
    assert listed.ok and [n["title"] for n in listed.raw["list"]] == ["Start", "Final"]
    assert not unknown.ok and "unsupported" in (unknown.description or "")


async def test_package_failure_raises_request_error():
    sandbox = CorezoidSandbox(max_ops_per_request=2)
    async with client_for(sandbox, max_ops=3) as cz:
        with pytest.raises(RequestError) as info:
            await cz.ops([Op.show_task(DEFAULT_CONV, ref=str(n)) for n in range(3)])
    assert info.value.code == "error"
    assert "Too many ops" in str(info.value)


async def test_large_ops_calls_are_split_by_max_ops():
    sandbox = CorezoidSandbox(max_ops_per_request=10)
    async with client_for(sandbox, max_ops=10) as cz:
        results = await cz.ops([Op.create_task(DEFAULT_CONV, {"n": n}) for n in range(25)])
    assert all(r.ok for r in results) and len(results) == 25
    assert sandbox.request_count == 3


async def test_too_many_requests_op_errors_pause_and_retry_those_ops():
    sandbox = CorezoidSandbox(op_rate_limit=100)
    async with client_for(sandbox, max_ops=200) as cz:
        results = await cz.ops([Op.create_task(DEFAULT_CONV, {"n": n}) for n in range(150)])
    assert all(r.ok for r in results)
    assert len(sandbox.tasks()) == 150
    assert cz.session.stats.rate_limited >= 1
    assert sandbox.request_count == 2


# -- the batcher -------------------------------------------------------------------


@pytest.mark.asyncio_debug_off  # 10,000 tasks: ~1 s, 14-20 s in debug mode
async def test_10000_concurrent_creates_in_at_most_100_requests():
    sandbox = CorezoidSandbox()
    async with client_for(sandbox) as cz, cz.batch(max_ops=100) as batch:
        results = await asyncio.gather(
            *(batch.create_task(DEFAULT_CONV, {"n": n}) for n in range(10_000))
        )
    assert sandbox.request_count <= 100
    assert len(sandbox.tasks()) == 10_000
    assert len({r.obj_id for r in results}) == 10_000
    for n, result in enumerate(results):  # each caller holds its own task
        assert sandbox.tasks()[result.obj_id]["data"] == {"n": n}


@pytest.mark.asyncio_debug_off  # 10,000 tasks: ~1 s, 14-20 s in debug mode
async def test_10000_creates_exactly_once_when_5_percent_of_connections_drop():
    sandbox = CorezoidSandbox(faults=FaultPlan(drop_after=0.05, seed=5))
    async with client_for(sandbox) as cz:
        cz.session.retry = crmkit.RetryPolicy(max_retries=6, backoff_base=0.0)
        async with cz.batch(max_ops=100) as batch:
            results = await asyncio.gather(
                *(batch.create_task(DEFAULT_CONV, {"n": n}) for n in range(10_000))
            )
    drops = sandbox.injected_faults["drop_after"]
    assert drops > 0
    assert len(sandbox.tasks()) == 10_000  # never created twice
    assert len({r.obj_id for r in results}) == 10_000
    for n, result in enumerate(results):
        assert sandbox.tasks()[result.obj_id]["data"] == {"n": n}
    # 100 packages, each dropped package resent once more and resolved by one show
    assert sandbox.request_count <= 100 + 2 * drops + 5


async def test_one_callers_failure_is_its_own():
    sandbox = CorezoidSandbox()
    async with client_for(sandbox) as cz, cz.batch() as batch:
        good = batch.create_task(DEFAULT_CONV, {"ok": True})
        bad = batch.create_task(999, {"no such process": True})
        outcomes = await asyncio.gather(good, bad, return_exceptions=True)
    assert outcomes[0].ok
    assert isinstance(outcomes[1], OpError) and "conv_id" in str(outcomes[1])


async def test_a_cancelled_caller_is_never_sent():
    sandbox = CorezoidSandbox()
    async with client_for(sandbox) as cz, cz.batch(max_delay=30) as batch:
        waiting = asyncio.create_task(batch.create_task(DEFAULT_CONV, {"n": 1}))
        await asyncio.sleep(0.01)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
    assert sandbox.request_count == 0 and sandbox.tasks() == {}


async def test_leaving_the_batch_flushes_what_is_pending():
    sandbox = CorezoidSandbox()
    async with client_for(sandbox) as cz:
        async with cz.batch(max_delay=30, max_ops=1000) as batch:
            pending = [
                asyncio.create_task(batch.create_task(DEFAULT_CONV, {"n": n})) for n in range(5)
            ]
            await asyncio.sleep(0.01)
            assert sandbox.request_count == 0  # still waiting for max_delay
        assert all(task.done() for task in pending)
    assert sandbox.request_count == 1 and len(sandbox.tasks()) == 5


# -- Sync API and direct URL ----------------------------------------------------------


async def test_sync_call_returns_the_process_answer():
    sandbox = CorezoidSandbox(sync_handler=lambda conv, data: {"total": data["a"] + data["b"]})
    async with client_for(sandbox) as cz:
        assert await cz.sync_call(DEFAULT_CONV, {"a": 2, "b": 3}, timeout=5) == {"total": 5}


async def test_sync_call_timeout_is_typed():
    sandbox = CorezoidSandbox(sync_delay=60)
    async with client_for(sandbox) as cz:
        with pytest.raises(SyncTimeoutError):
            await cz.sync_call(DEFAULT_CONV, {"a": 1}, timeout=0.2)


async def test_direct_url_needs_no_signature():
    sandbox = CorezoidSandbox()
    digest = sandbox.processes[DEFAULT_CONV].direct_hash
    async with client_for(sandbox) as cz:
        result = await cz.direct(DEFAULT_CONV, digest, {"lead": 7})
        with pytest.raises(crmkit.PermissionDeniedError):
            await cz.direct(DEFAULT_CONV, "0" * 40, {"lead": 8})
    assert result.ok
    assert sandbox.tasks()[result.obj_id]["data"] == {"lead": 7}
