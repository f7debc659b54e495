"""AsyncPaginator over the demo sandbox: clamp, limit, resume, watermark, 204, errors."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone

import httpx
import pytest

import crmkit
from crmkit.sandbox.demo import DemoSandbox, DemoStrategy, list_items

pytestmark = pytest.mark.anyio


def session_for(sandbox: DemoSandbox, **kwargs) -> crmkit.Session:
    return crmkit.Session(
        "http://demo.test", transport=sandbox.transport(), allow_insecure_http=True, **kwargs
    )


async def test_items_across_pages_in_order():
    sandbox = DemoSandbox(1234)
    async with session_for(sandbox) as session:
        ids = [item["id"] async for item in list_items(session, page_size=100)]
    assert ids == list(range(1, 1235))
    assert sandbox.request_count == 13  # 12 full pages, the 13th has no next


async def test_page_size_is_clamped_never_sent_above_the_cap():
    sandbox = DemoSandbox(250)
    async with session_for(sandbox) as session:
        paginator = list_items(session, page_size=5000)
        assert paginator.page_size == 100
        pages = [page async for page in paginator.pages()]
    assert [len(p.items) for p in pages] == [100, 100, 50]
    assert all("limit=100" in r.query for r in sandbox.recent_requests)


async def test_limit_stops_after_n_items():
    sandbox = DemoSandbox(1000)
    async with session_for(sandbox) as session:
        items = await list_items(session, page_size=100, limit=250).to_list()
    assert [i["id"] for i in items] == list(range(1, 251))
    assert sandbox.request_count == 3


async def test_resume_from_saved_state_continues_after_the_last_page():
    sandbox = DemoSandbox(1000)
    seen: list[int] = []
    async with session_for(sandbox) as session:
        paginator = list_items(session, page_size=100, prefetch=False)
        saved = None
        async for page in paginator.pages():
            seen.extend(item["id"] for item in page.items)
            saved = json.dumps(paginator.state.to_dict())  # what a job writes after each page
            if len(seen) == 400:
                break  # the job dies here
        assert sandbox.request_count == 4
        resumed = list_items(session, page_size=100, resume_from=json.loads(saved))
        seen.extend([item["id"] async for item in resumed])
    assert seen == list(range(1, 1001))
    assert sandbox.request_count == 10


async def test_item_iteration_state_moves_only_after_a_page_is_fully_handed_over():
    sandbox = DemoSandbox(300)
    async with session_for(sandbox) as session:
        paginator = list_items(session, page_size=100)
        states = []
        async for item in paginator:
            states.append((item["id"], paginator.state.cursor))
            if item["id"] == 150:
                break
    cursor_at = dict(states)
    assert cursor_at[99] is None  # page 1 not yet complete: resume would refetch it
    assert cursor_at[100] == 2
    assert cursor_at[150] == 2


async def test_watermark_is_server_clock_at_start_and_catches_changes_during_run():
    sandbox = DemoSandbox(500)
    async with session_for(sandbox) as session:
        first = list_items(session, page_size=100)
        async for item in first:
            if item["id"] == 250:
                sandbox.touch([10, 400])  # changed while the first run was paging
        assert first.watermark is not None
        assert abs((first.watermark - sandbox.clock.datetime()).total_seconds()) < 5
        second = list_items(session, modified_since=first.watermark)
        changed = [item["id"] async for item in second]
    assert changed == [10, 400]


async def test_nothing_changed_ends_with_204():
    sandbox = DemoSandbox(50)
    async with session_for(sandbox) as session:
        since = datetime.now(timezone.utc)
        paginator = list_items(session, modified_since=since)
        assert await paginator.to_list() == []
        assert paginator.state.done
    assert sandbox.request_count == 1


def test_naive_modified_since_is_refused():
    with pytest.raises(ValueError, match="aware"):
        crmkit.AsyncPaginator(lambda r: None, DemoStrategy(), modified_since=datetime(2024, 1, 1))  # type: ignore[arg-type,return-value]


def test_state_round_trips_and_rejects_garbage():
    state = crmkit.PaginatorState(
        cursor={"page": 3}, watermark=datetime(2024, 5, 1, tzinfo=timezone.utc)
    )
    assert crmkit.PaginatorState.from_dict(json.loads(json.dumps(state.to_dict()))) == state
    with pytest.raises(ValueError):
        crmkit.PaginatorState.from_dict({"watermark": "not a date"})


async def test_malformed_answer_is_a_protocol_error():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html><body>Maintenance</body></html>")

    async with crmkit.Session(
        "https://x.example.test", transport=httpx.MockTransport(handler)
    ) as s:
        with pytest.raises(crmkit.ProtocolError, match="HTML"):
            await list_items(s).to_list()


async def test_answer_missing_fields_is_a_protocol_error_not_keyerror():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"unexpected": []})

    async with crmkit.Session(
        "https://x.example.test", transport=httpx.MockTransport(handler)
    ) as s:
        with pytest.raises(crmkit.ProtocolError):
            await list_items(s).to_list()


async def test_memory_stays_flat_one_page_at_a_time():
    import gc
    import weakref

    sandbox = DemoSandbox(2000)
    refs: list[weakref.ref] = []
    async with session_for(sandbox) as session:
        async for page in list_items(session, page_size=100).pages():
            refs.append(weakref.ref(page))
            del page
            gc.collect()
            alive = [r for r in refs if r() is not None]
            assert len(alive) <= 1
    assert len(refs) == 20


async def test_prefetch_asks_for_the_next_page_while_the_caller_works():
    sandbox = DemoSandbox(300)
    async with session_for(sandbox) as session:
        seen_when_handed: list[int] = []
        async for _page in list_items(session, page_size=100).pages():
            await asyncio.sleep(0.01)  # the caller's own work on this page
            seen_when_handed.append(sandbox.request_count)
    # page 2 was already requested while page 1 was being handled, and so on
    assert seen_when_handed == [2, 3, 3]
    assert sandbox.request_count == 3


async def test_prefetch_never_asks_past_the_limit():
    sandbox = DemoSandbox(1000)
    async with session_for(sandbox) as session:
        items = await list_items(session, page_size=100, limit=200).to_list()
    assert len(items) == 200
    assert sandbox.request_count == 2


class _PeekingStrategy(DemoStrategy):
    """DemoStrategy that can read the next cursor before building the page."""

    def __init__(self, log: list[str]) -> None:
        self.log = log

    def peek_next(self, response: httpx.Response, cursor, page_size):
        return response.json()["next"]

    def parse(self, response: httpx.Response, cursor, page_size):
        self.log.append(f"parse {cursor or 1}")
        return super().parse(response, cursor, page_size)


async def test_the_next_page_is_on_its_way_before_this_one_is_parsed():
    sandbox = DemoSandbox(300)
    log: list[str] = []
    async with session_for(sandbox) as session:

        async def fetch(request: crmkit.PageRequest) -> httpx.Response:
            log.append(f"send {request.params['page']}")
            return await session.request("GET", request.url, params=request.params)

        paginator = crmkit.AsyncPaginator(fetch, _PeekingStrategy(log), page_size=100)
        ids = [item["id"] async for item in paginator]
    assert ids == list(range(1, 301))
    assert log == ["send 1", "send 2", "parse 1", "send 3", "parse 2", "parse 3"]
