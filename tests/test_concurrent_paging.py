"""Concurrent paging: several page requests in flight, pages, items and state in order."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

import crmkit
from crmkit.sandbox import FaultPlan
from crmkit.sandbox.demo import DemoSandbox, DemoStrategy

pytestmark = pytest.mark.anyio


class PagedAhead(DemoStrategy):
    """The demo's page numbers, which a client can name without the previous answer."""

    def __init__(self, with_total: bool = True) -> None:
        self.with_total = with_total

    def cursor_after(self, cursor: Any, page_size: int) -> Any:
        return int(cursor or 1) + 1

    def parse(self, response: httpx.Response, cursor: Any, page_size: int) -> Any:
        page = super().parse(response, cursor, page_size)
        return page if self.with_total else crmkit.Page(page.items, page.next_cursor)


class Recorder:
    """Sends through a Session; counts requests in flight; fails pages on request."""

    def __init__(self, session: crmkit.Session, fail: set[int] | None = None) -> None:
        self.session = session
        self.fail = fail or set()
        self.in_flight = 0
        self.most = 0
        self.sent: list[int] = []

    async def fetch(self, request: crmkit.PageRequest) -> httpx.Response:
        page = int(request.params["page"])
        self.sent.append(page)
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        try:
            response = await self.session.request("GET", request.url, params=request.params)
            if page in self.fail:
                raise crmkit.ServerError("injected", status=502)
            return response
        finally:
            self.in_flight -= 1


def jittery(items: int) -> DemoSandbox:
    # Answers take 5..40 ms at random: pages complete out of order.
    return DemoSandbox(items, faults=FaultPlan(server_time=(0.005, 0.04), seed=5))


def session_for(sandbox: DemoSandbox) -> crmkit.Session:
    return crmkit.Session(
        "http://demo.test", transport=sandbox.transport(), allow_insecure_http=True
    )


async def test_items_and_pages_come_in_order_with_requests_in_flight():
    sandbox = jittery(1234)
    async with session_for(sandbox) as session:
        rec = Recorder(session)
        paginator = crmkit.AsyncPaginator(rec.fetch, PagedAhead(), page_size=100, concurrency=4)
        states: list[Any] = []
        ids: list[int] = []
        async for page in paginator.pages():
            ids.extend(item["id"] for item in page.items)
            states.append(paginator.state.cursor)
    assert ids == list(range(1, 1235))
    assert states == [*range(2, 14), None] and paginator.state.done
    assert rec.most == 4  # the pipeline was full
    assert sorted(rec.sent) == list(range(1, 14))  # the total bounds the pages asked for


async def test_a_short_page_cancels_the_pages_asked_for_beyond_it():
    sandbox = jittery(250)
    async with session_for(sandbox) as session:
        rec = Recorder(session)
        paginator = crmkit.AsyncPaginator(
            rec.fetch, PagedAhead(with_total=False), page_size=100, concurrency=4
        )
        ids = [item["id"] async for item in paginator]
    assert ids == list(range(1, 251))
    assert paginator.state.done
    assert rec.in_flight == 0  # the pages asked for beyond the end were stopped


async def test_limit_bounds_the_pages_asked_for():
    sandbox = jittery(1000)
    async with session_for(sandbox) as session:
        rec = Recorder(session)
        paginator = crmkit.AsyncPaginator(
            rec.fetch, PagedAhead(), page_size=100, limit=250, concurrency=8
        )
        ids = [item["id"] async for item in paginator]
    assert ids == list(range(1, 251))
    assert sorted(rec.sent) == [1, 2, 3]


async def test_state_saved_mid_run_resumes_exactly_after_the_last_page_handed_over():
    sandbox = jittery(1000)
    seen: list[int] = []
    async with session_for(sandbox) as session:
        paginator = crmkit.AsyncPaginator(
            Recorder(session).fetch, PagedAhead(), page_size=100, concurrency=5
        )
        saved = ""
        async for page in paginator.pages():
            seen.extend(item["id"] for item in page.items)
            saved = json.dumps(paginator.state.to_dict())
            if len(seen) == 400:
                break  # the job dies with pages 5.. already on their way
        resumed = crmkit.AsyncPaginator(
            Recorder(session).fetch,
            PagedAhead(),
            page_size=100,
            concurrency=5,
            resume_from=json.loads(saved),
        )
        seen.extend([item["id"] async for item in resumed])
    assert seen == list(range(1, 1001))


async def test_a_page_failing_mid_flight_raises_in_order_and_state_stays_before_it():
    sandbox = jittery(1000)
    async with session_for(sandbox) as session:
        rec = Recorder(session, fail={4})
        paginator = crmkit.AsyncPaginator(rec.fetch, PagedAhead(), page_size=100, concurrency=4)
        pages: list[int] = []
        with pytest.raises(crmkit.ServerError):
            async for page in paginator.pages():
                pages.append(page.items[0]["id"])
        assert pages == [1, 101, 201]  # pages 1..3 handed over, then page 4's error
        assert paginator.state.cursor == 4 and not paginator.state.done
        assert rec.in_flight == 0  # nothing left running
        rest = crmkit.AsyncPaginator(
            Recorder(session).fetch, PagedAhead(), page_size=100, resume_from=paginator.state
        )
        ids = [item["id"] async for item in rest]
    assert ids == list(range(301, 1001))


async def test_a_cancelled_run_leaves_no_request_running_and_no_slot_held(clock):
    gate = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        if page > 1:
            await gate.wait()  # pages after the first hang
        items = [{"id": (page - 1) * 10 + i} for i in range(1, 11)]
        return httpx.Response(200, json={"items": items, "next": page + 1, "total": 1000})

    async with crmkit.Session(
        "https://a.example.test",
        transport=httpx.MockTransport(handler),
        rate_limit=50,
        clock=clock,
    ) as session:
        rec = Recorder(session)
        paginator = crmkit.AsyncPaginator(rec.fetch, PagedAhead(), page_size=10, concurrency=6)
        got: list[int] = []

        async def run() -> None:
            async for item in paginator:
                got.append(item["id"])

        task = asyncio.ensure_future(run())
        for _ in range(50):
            await asyncio.sleep(0)
        assert rec.in_flight == 6 and got == list(range(1, 11))
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        for _ in range(10):
            await asyncio.sleep(0)
        assert rec.in_flight == 0
        assert paginator.state.cursor == 2
        # the six sent pages may be counted yet: they keep their slots until their
        # 30 s timeout would have ended and a window, then nothing is held
        assert isinstance(session.throttle, crmkit.RateLimiter)
        clock.now += 10
        assert session.throttle.in_use == 6
        clock.now += 22
        assert session.throttle.in_use == 0


def test_in_flight_target_follows_the_rate_and_the_response_time():
    class Client:
        def __init__(self, rate: float | None) -> None:
            self.session = crmkit.Session("https://a.example.test", rate_limit=rate)

        async def fetch(self, request: crmkit.PageRequest) -> httpx.Response:
            raise AssertionError("not sent")

    paced = crmkit.AsyncPaginator(Client(7).fetch, PagedAhead())
    assert paced.in_flight_target() == 1  # nothing measured yet: one at a time
    paced._times.extend([0.5, 0.52, 0.48])
    assert paced.in_flight_target() == 5  # 7/s x 0.5 s in flight, plus the page being read
    assert (
        crmkit.AsyncPaginator(Client(7).fetch, PagedAhead(), concurrency=2).in_flight_target() == 2
    )
    with pytest.raises(ValueError, match="concurrency"):
        crmkit.AsyncPaginator(Client(7).fetch, PagedAhead(), concurrency=0)


class PeekingAhead(PagedAhead):
    """Also reads the next cursor before the page's models (as amoCRM's and RetailCRM's do)."""

    def peek_next(self, response: httpx.Response, cursor: Any, page_size: int) -> Any:
        return response.json()["next"]


async def test_a_strategy_that_also_peeks_still_keeps_the_pipeline_full():
    sandbox = jittery(1000)
    async with session_for(sandbox) as session:
        rec = Recorder(session)
        paginator = crmkit.AsyncPaginator(rec.fetch, PeekingAhead(), page_size=100, concurrency=4)
        ids = [item["id"] async for item in paginator]
    assert ids == list(range(1, 1001))
    assert rec.most == 4
    assert sorted(rec.sent) == list(range(1, 11))


async def test_pages_are_asked_for_ahead_while_a_slow_first_answer_is_awaited():
    """Before any answer, the wait so far bounds the response time: the pipeline grows with it."""
    sandbox = DemoSandbox(2000, faults=FaultPlan(server_time=0.5))
    async with crmkit.Session(
        "http://demo.test", transport=sandbox.transport(), allow_insecure_http=True, rate_limit=20
    ) as session:
        sent_by_first_answer: list[int] = []

        class FirstAnswer(Recorder):
            async def fetch(self, request: crmkit.PageRequest) -> httpx.Response:
                response = await super().fetch(request)
                if int(request.params["page"]) == 1:
                    sent_by_first_answer.append(len(self.sent))
                return response

        rec = FirstAnswer(session)
        paginator = crmkit.AsyncPaginator(rec.fetch, PagedAhead(), page_size=100)
        ids = [item["id"] async for item in paginator]
    assert ids == list(range(1, 2001))
    # 0.5 s at 20/s: about ten pages were asked for when the first came back (one, before)
    assert sent_by_first_answer[0] >= 6
    assert sorted(rec.sent) == list(range(1, 21))


async def test_first_asks_for_one_page_and_none_ahead():
    """A page asked for ahead and dropped keeps its slot as an unanswered request would."""
    sandbox = jittery(1000)
    async with session_for(sandbox) as session:
        rec = Recorder(session)
        paginator = crmkit.AsyncPaginator(rec.fetch, PagedAhead(), page_size=100, concurrency=4)
        first = await paginator.first()
        assert first is not None and first["id"] == 1
        assert rec.sent == [1] and rec.most == 1  # before: pages 1 to 4 at once
        assert paginator.prefetch  # iterating it still asks ahead
        assert len([item async for item in paginator]) == 1000
        assert rec.most == 4
