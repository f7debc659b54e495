"""Corezoid under hostile networks and answers (issue 19's Corezoid part): the show that
resolves a duplicate ref is itself retried; a truncated answer to a create package is
resolved by ref; malformed op answers, listings and direct-URL answers are typed errors.

The answer shapes are those of ``corezoid/documentation`` ``en/api/v2/spec.md`` and
``en/api/v2/tasks.md`` (``request_proc``, ``ops[n].id/proc/description``), broken on purpose.
"""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest

import crmkit
from crmkit.corezoid import Corezoid, Op, direct
from crmkit.corezoid.sandbox import DEFAULT_CONV, CorezoidSandbox
from crmkit.sandbox import FaultPlan

from ._helpers import DropNth, VirtualClock, client_for

pytestmark = pytest.mark.anyio


async def test_the_show_resolving_a_duplicate_is_retried_when_its_answer_is_lost():
    sandbox = CorezoidSandbox()
    # 0: the create (made, answer lost), 1: its resend (duplicate ref),
    # 2: the show by ref (answer lost), 3: the show again.
    transport = DropNth(sandbox.transport(), {0, 2})
    async with client_for(sandbox, transport=transport, clock=VirtualClock()) as cz:
        (created,) = await cz.ops([Op.create_task(DEFAULT_CONV, {"n": 1}, ref="r-1")])
    assert created.ok and created.ref == "r-1"
    assert created.obj_id == next(iter(sandbox.tasks()))
    assert len(sandbox.tasks()) == 1 and transport.sent == 4


async def test_truncated_answers_to_create_packages_are_resolved_by_ref():
    sandbox = CorezoidSandbox(faults=FaultPlan(truncate=0.2, drop_after=0.05, seed=2))
    async with client_for(sandbox, clock=VirtualClock()) as cz:
        cz.session.retry = crmkit.RetryPolicy(max_retries=8, backoff_base=0.0)
        async with cz.batch(max_ops=50) as batch:
            results = await asyncio.gather(
                *(batch.create_task(DEFAULT_CONV, {"n": n}) for n in range(2000))
            )
    assert sandbox.injected_faults["truncate"] > 0
    assert len(sandbox.tasks()) == 2000
    assert len({r.obj_id for r in results}) == 2000
    for n, result in enumerate(results):
        assert sandbox.tasks()[result.obj_id]["data"] == {"n": n}


HOSTILE = [
    b"<html>502 Bad Gateway</html>",
    b"",
    b'{"request_proc": "ok", "ops": [',
    b"[]",
    b'{"request_proc": "ok"}',
    b'{"request_proc": "ok", "ops": "none"}',
    b'{"request_proc": "ok", "ops": [1]}',
    b'{"request_proc": "ok", "ops": [{"proc": "ok"}, {"proc": "ok"}]}',
    b'{"request_proc": "ok", "ops": [{"id": "9", "proc": "ok"}]}',
    b'{"request_proc": 5, "ops": []}',
    b'{"request_proc": null}',
    b"\xff\xfe\x00garbage",
]


@pytest.mark.parametrize("body", HOSTILE)
@pytest.mark.parametrize("op", [Op.show_task(5, ref="r"), Op.modify_task(5, {}, ref="r")])
async def test_malformed_answers_to_ops_are_typed_errors(body, op):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"Content-Type": "application/json"})

    cz = Corezoid("1", "s", transport=httpx.MockTransport(handler), clock=VirtualClock())
    async with cz:
        with pytest.raises(crmkit.CRMError):
            await cz.ops([op])


@pytest.mark.parametrize(
    "raw",
    [
        {"id": "1", "proc": None, "description": {"text": "odd"}, "obj_id": ["x"], "ref": 5},
        {"id": 1, "proc": "error", "description": 42},
        {"id": "1"},
    ],
)
async def test_odd_op_fields_are_read_as_text_never_crash(raw):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"request_proc": "ok", "ops": [raw]})

    async with Corezoid("1", "s", transport=httpx.MockTransport(handler)) as cz:
        (result,) = await cz.ops([Op.modify_task(5, {}, ref="r")])
    assert not result.ok
    assert isinstance(result.description, (str, type(None)))
    with pytest.raises(crmkit.corezoid.OpError):
        result.unwrap()


@pytest.mark.parametrize(
    "answer",
    [
        {"request_proc": "ok", "ops": [{"id": "1", "proc": "ok"}]},  # no list
        {"request_proc": "ok", "ops": [{"id": "1", "proc": "ok", "list": [7]}]},
        {"request_proc": "ok", "ops": [{"id": "1", "proc": "ok", "list": [{"obj_id": {}}]}]},
        {"request_proc": "ok", "ops": [{"id": "1", "proc": "error", "description": "no"}]},
    ],
)
async def test_malformed_listings_are_typed_errors(answer):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=answer)

    async with Corezoid("1", "s", transport=httpx.MockTransport(handler)) as cz:
        with pytest.raises(crmkit.CRMError) as info:
            await cz.list_tasks(5, "n" * 24).to_list()
        with pytest.raises(crmkit.CRMError):
            await cz.list_folder(0).to_list()
    assert not re.search(r"[0-9a-f]{40}", str(info.value))  # no request signature shown


@pytest.mark.parametrize("body", HOSTILE)
async def test_malformed_direct_url_answers_are_typed_errors(body):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"Content-Type": "application/json"})

    url = "https://www.corezoid.com/api/2/json/public/1/" + "ab" * 20
    async with direct(url, transport=httpx.MockTransport(handler)) as hook:
        with pytest.raises(crmkit.CRMError):
            await hook.create_task({"n": 1})
