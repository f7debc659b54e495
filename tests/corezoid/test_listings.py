"""Corezoid listings through the one paginator, and the sandbox's folders, processes,
nodes, task history, API v1 packages and workspaces.

Sources: ``corezoid/corezoid-ai-plugin`` ``docs/corezoid-swagger.json`` (``folder``
list with ``filter``/``sort``/``order``; ``conv`` list and show; ``node`` list with
``limit`` (required), ``offset``, ``sort``, ``filters`` and ``count``; ``task_history``
list with ``limit``/``offset``; ``task`` create by ``obj_alias`` with ``project_id`` and
``stage_id``), ``corezoid/documentation`` ``en/api/node/list.md``, ``en/api/v1/spec.md``
(API v1 takes an ``ops`` list like v2) and ``en/api/v2/spec.md`` ("Company of object
do not matches companyId of request").
"""

from __future__ import annotations

import time

import httpx
import orjson
import pytest

from crmkit import PaginatorState
from crmkit.corezoid import CorezoidObject, Op, OpError, Task, TaskHistoryEntry, sign
from crmkit.corezoid.sandbox import DEFAULT_CONV, DEFAULT_LOGIN, DEFAULT_SECRET, CorezoidSandbox

from ._helpers import VirtualClock, client_for

pytestmark = pytest.mark.anyio


def seeded(tasks: int = 0) -> CorezoidSandbox:
    sandbox = CorezoidSandbox()
    sales = sandbox.add_folder("Sales")
    sandbox.add_folder("Archive", parent_id=sales.folder_id)
    sandbox.add_process(2001, "Leads", folder_id=sales.folder_id)
    sandbox.add_process(2002, "Orders", folder_id=sales.folder_id)
    return sandbox


async def test_a_folders_contents_in_one_page():
    sandbox = seeded()
    sales = next(f for f in sandbox.folders.values() if f.title == "Sales")
    async with client_for(sandbox) as cz:
        root = await cz.list_folder().to_list()
        inside = await cz.list_folder(sales.folder_id, sort="title", order="desc").to_list()
        only_processes = await cz.list_folder(sales.folder_id, filter="conveyor").to_list()
    assert {(o.obj_type, o.title) for o in root} == {
        ("folder", "Sales"),
        ("conv", f"Process {DEFAULT_CONV}"),
    }
    assert [o.title for o in inside] == ["Orders", "Leads", "Archive"]
    assert all(isinstance(o, CorezoidObject) for o in inside)
    assert [o.obj_id for o in only_processes] == ["2001", "2002"]
    assert inside[0].extra["conv_type"] == "process"  # unknown fields are kept


async def test_a_processes_nodes_and_details():
    sandbox = seeded()
    async with client_for(sandbox) as cz:
        await cz.ops([Op.create_task(2001, {"n": 1})])
        nodes = await cz.list_nodes(2001).to_list()
        process = await cz.show_process(2001)
        with pytest.raises(OpError, match="conv_id not found"):
            await cz.show_process(999)
    assert [(n.title, n.obj_type, n.extra["count"]) for n in nodes] == [
        ("Start", 1, 0),
        ("Final", 2, 1),
    ]
    assert process.title == "Leads" and process.extra["parent_obj_type"] == "folder"


async def test_tasks_in_a_node_page_by_limit_and_offset_and_resume():
    sandbox = CorezoidSandbox()
    async with client_for(sandbox) as cz:
        await cz.ops([Op.create_task(DEFAULT_CONV, {"n": n}, ref=f"r{n}") for n in range(25)])
        final = sandbox.processes[DEFAULT_CONV].final_node
        listing = cz.list_tasks(DEFAULT_CONV, final, page_size=10)
        pages = [page async for page in listing.pages()]
        first_two = cz.list_tasks(DEFAULT_CONV, final, page_size=10, limit=12)
        head = await first_two.to_list()
        rest = await cz.list_tasks(
            DEFAULT_CONV, final, page_size=10, resume_from=PaginatorState(cursor=20)
        ).to_list()
        one = await cz.list_tasks(DEFAULT_CONV, final, ref="r7").to_list()
        newest = await cz.list_tasks(DEFAULT_CONV, final, sort="DESC", limit=1).to_list()
    assert [len(p.items) for p in pages] == [10, 10, 5]
    assert pages[0].total == 25
    every = [t for p in pages for t in p.items]
    assert [t.data["n"] for t in every] == list(range(25))
    assert all(isinstance(t, Task) and t.status == "processed" for t in every)
    assert len(head) == 12
    assert [t.ref for t in rest] == [f"r{n}" for n in range(20, 25)]
    assert [t.data for t in one] == [{"n": 7}]
    assert newest[0].ref == "r24"


async def test_the_node_listing_sends_limit_and_offset():
    seen: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        op = orjson.loads(request.content)["ops"][0]
        seen.append(op)
        count = 2 if op["offset"] < 4 else 1
        items = [{"obj": "task", "obj_id": f"t{op['offset'] + i}"} for i in range(count)]
        answer = {"id": op["id"], "proc": "ok", "obj": "node", "list": items}
        return httpx.Response(200, json={"request_proc": "ok", "ops": [answer]})

    async with client_for(CorezoidSandbox(), transport=httpx.MockTransport(handler)) as cz:
        tasks = await cz.list_tasks(5, "n" * 24, page_size=2).to_list()
    assert [(op["limit"], op["offset"]) for op in seen] == [(2, 0), (2, 2), (2, 4)]
    assert [t.obj_id for t in tasks] == ["t0", "t1", "t2", "t3", "t4"]
    assert seen[0]["type"] == "list" and seen[0]["obj"] == "node"


async def test_a_tasks_history():
    sandbox = CorezoidSandbox()
    async with client_for(sandbox) as cz:
        (created,) = await cz.ops([Op.create_task(DEFAULT_CONV, {"a": 1}, ref="h1")])
        await cz.ops([Op.modify_task(DEFAULT_CONV, {"b": 2}, ref="h1")])
        steps = await cz.task_history(DEFAULT_CONV, created.obj_id).to_list()
        paged = [
            p async for p in cz.task_history(DEFAULT_CONV, created.obj_id, page_size=2).pages()
        ]
        shown = await cz.show_task(DEFAULT_CONV, ref="h1")
    assert [s.status for s in steps] == ["created", "processed", "modified"]
    assert all(isinstance(s, TaskHistoryEntry) for s in steps)
    process = sandbox.processes[DEFAULT_CONV]
    assert [s.node_id for s in steps] == [
        process.start_node,
        process.final_node,
        process.final_node,
    ]
    assert steps[2].data == {"a": 1, "b": 2}
    assert [len(p.items) for p in paged] == [2, 1]
    assert shown.data == {"a": 1, "b": 2} and shown.node_id == process.final_node


async def test_a_node_listing_without_limit_is_refused_by_the_sandbox():
    sandbox = CorezoidSandbox()
    final = sandbox.processes[DEFAULT_CONV].final_node
    async with client_for(sandbox) as cz:
        (answer,) = await cz.ops([Op("list", "node", conv_id=DEFAULT_CONV, obj_id=final)])
    assert not answer.ok and "limit" in (answer.description or "")


async def test_api_v1_takes_many_ops_like_v2():
    """en/api/v1/spec.md: ``/api/1/json/...`` answers every op of the package."""
    sandbox = CorezoidSandbox(shuffle=False)
    body = orjson.dumps(
        {
            "ops": [
                {
                    "type": "create",
                    "obj": "task",
                    "conv_id": DEFAULT_CONV,
                    "ref": f"v1-{n}",
                    "data": {"n": n},
                }
                for n in range(3)
            ]
        }
    )
    stamp = int(time.time())
    url = f"http://cz/api/1/json/{DEFAULT_LOGIN}/{stamp}/{sign(stamp, DEFAULT_SECRET, body)}"
    async with httpx.AsyncClient(transport=sandbox.transport()) as client:
        answer = (await client.post(url, content=body)).json()
    assert [op["proc"] for op in answer["ops"]] == ["ok", "ok", "ok"]
    assert sorted(t["ref"] for t in sandbox.tasks().values()) == ["v1-0", "v1-1", "v1-2"]


async def test_creates_by_alias_and_workspaces_in_the_sandbox():
    sandbox = CorezoidSandbox()
    sandbox.add_process(3001, "Team", company_id="i100", alias="intake", project_id=7, stage_id=8)
    async with client_for(sandbox, company_id="i100") as cz:
        by_alias = await cz.ops([Op.create_task(obj_alias="intake", data={"x": 1})])
        in_stage = await cz.ops(
            [Op.create_task(obj_alias="intake", data={}, project_id=7, stage_id=8)]
        )
        wrong_stage = await cz.ops([Op.create_task(obj_alias="intake", data={}, stage_id=9)])
        elsewhere = await cz.ops([Op.create_task(DEFAULT_CONV, {})])  # a personal process
    assert by_alias[0].ok and in_stage[0].ok
    assert len(sandbox.tasks(3001)) == 2
    assert not wrong_stage[0].ok
    assert "Company of object do not matches" in (elsewhere[0].description or "")
    assert sandbox.tasks(DEFAULT_CONV) == {}


async def test_the_sandbox_answers_503_with_retry_after_and_crmkit_waits_it_out():
    sandbox = CorezoidSandbox(overloaded=0.5, overload_retry_after=0, seed=3)
    async with client_for(sandbox, max_ops=5) as cz:
        results = await cz.ops([Op.create_task(DEFAULT_CONV, {"n": n}) for n in range(40)])
        listed = await cz.list_nodes(DEFAULT_CONV).to_list()
    assert sandbox.http_503 > 0
    assert all(r.ok for r in results) and len(sandbox.tasks()) == 40
    assert len(listed) == 2


def test_crmkit_export_corezoid_tasks_by_node_needs_no_refs_file(tmp_path):
    """``crmkit export corezoid tasks --node ID``: the node's listing, page by page."""
    import json
    import os
    import subprocess
    import sys

    sandbox = CorezoidSandbox()
    process = sandbox.processes[DEFAULT_CONV]
    for n in range(230):
        sandbox.add_task(DEFAULT_CONV, {"n": n}, ref=f"t{n}")
    out = tmp_path / "tasks.jsonl"
    with sandbox.serve() as served:
        args = [
            "export", "corezoid", "tasks", "--url", served.url, "--api-login", DEFAULT_LOGIN,
            "--conv-id", str(DEFAULT_CONV), "--node", process.final_node, "--page-size", "100",
            "--out", str(out), "--json",
        ]  # fmt: skip
        done = subprocess.run(
            [sys.executable, "-m", "crmkit", *args],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "CRMKIT_COREZOID_SECRET": DEFAULT_SECRET},
        )
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["data"]["n"] for r in records] == list(range(230))
    assert json.loads(done.stdout)["exports"][0]["requests"] == 3
    assert DEFAULT_SECRET not in done.stdout + done.stderr


async def test_a_listing_read_waits_out_a_503s_retry_after():
    """Listings are reads: the Session resends them after a 503, after its Retry-After."""
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            return httpx.Response(503, headers={"Retry-After": "7"}, text="busy")
        answer = {"id": "1", "proc": "ok", "obj": "folder", "list": [{"obj_id": 3, "title": "A"}]}
        return httpx.Response(200, json={"request_proc": "ok", "ops": [answer]})

    clock = VirtualClock()
    async with client_for(
        CorezoidSandbox(), transport=httpx.MockTransport(handler), clock=clock
    ) as cz:
        (item,) = await cz.list_folder(0).to_list()
    assert item.title == "A" and calls == 2 and clock.sleeps == [7.0]


async def test_the_sandbox_honours_or_refuses_every_listing_parameter():
    """No parameter the service would honour is silently ignored: ``work_user_id`` filters
    a node's tasks, a process named in another stage is not found, and what the sandbox
    does not emulate (projects in folder listings, access lists) is refused."""
    sandbox = CorezoidSandbox()
    sandbox.add_process(4001, "Staged", project_id=7, stage_id=8)
    final = sandbox.processes[DEFAULT_CONV].final_node
    async with client_for(sandbox) as cz:
        await cz.ops([Op.create_task(DEFAULT_CONV, {"n": 1})])
        mine = await cz.ops([Op("list", "node", conv_id=DEFAULT_CONV, obj_id=final, limit=10,
                                work_user_id=5555)])  # fmt: skip
        others = await cz.ops([Op("list", "node", conv_id=DEFAULT_CONV, obj_id=final, limit=10,
                                  work_user_id=1)])  # fmt: skip
        staged = await cz.ops([Op("show", "conv", obj_id=4001, project_id=7, stage_id=8)])
        wrong_stage = await cz.ops([Op("show", "conv", obj_id=4001, stage_id=9)])
        by_project = await cz.ops([Op("list", "folder", obj_id=0, project_id=7)])
        access = await cz.ops([Op("list", "conv", obj_id=DEFAULT_CONV, list_obj="group")])
    assert len(mine[0].raw["list"]) == 1 and others[0].raw["list"] == []
    assert staged[0].ok and not wrong_stage[0].ok
    assert "project_id is not emulated" in (by_project[0].description or "")
    assert "not emulated" in (access[0].description or "")
