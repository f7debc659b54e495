"""AsyncPaginator: the one paging engine, driven by a small per-platform strategy.

A :class:`PageStrategy` knows one platform's list protocol: which request asks
for a page at a given cursor, how to read a page and the cursor of the next
one out of an answer, and how the server tells its clock. The paginator does
the rest for every platform alike: iteration by item or by page, the page-size
cap, ``limit``, ``modified_since``, the watermark for the next incremental run,
and a saveable position (``state``) to resume a run that died.

A cursor is any JSON value (a page number, an offset, a history id, a next
URL, a dict of these): it goes into :class:`PaginatorState` as is, so a job can
write the state to disk after each page and resume from it later.

Memory stays flat: one page is handed over at a time, and at most the pages
in flight (see :meth:`AsyncPaginator.in_flight_target`) wait as answers;
nothing is accumulated. The page types live in :mod:`crmkit._pages`.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

import attrs
import httpx

from ._clock import utcnow
from ._json import forget_json
from ._log import redact_url
from ._pages import (
    WATERMARK_OVERLAP,
    Cursor,
    Page,
    PageRequest,
    PageStrategy,
    PaginatorState,
    server_date,
)
from ._session import SendProbe, probed_task
from .errors import CRMError, ProtocolError

__all__ = [
    "AsyncPaginator",
    "Cursor",
    "Page",
    "PageRequest",
    "PageStrategy",
    "PaginatorState",
    "server_date",
]

T = TypeVar("T")

#: Event-loop turns given to a prefetched request before the current page is
#: parsed: enough for the Session to pass the throttle and write it out, so the
#: server works on it while the models are built.
_SEND_STEPS = 8

#: The most page requests one paginator keeps on their way.
MAX_CONCURRENCY = 16
#: Seconds the first answer may take before pages after it are asked for unseen.
RAMP_AFTER = 0.25
#: Seconds the end of a listing waits for pages asked for ahead that had left.
FINISH_WAIT = 5.0
#: Page requests on their way, in page order: the cursor asked for, its answer to
#: come, and whether the request has left (see :func:`_stop`).
_Ahead = deque[tuple[Cursor, asyncio.Future[httpx.Response], SendProbe]]


def _check_progress(
    response: httpx.Response,
    cursor: Cursor,
    next_cursor: Cursor,
    items: Sequence[Any],
    previous: Sequence[Any] | None,
) -> None:
    """Refuse a listing that would never end: a cursor that did not move, a page sent twice.

    A server whose ``next`` link points at the page just read, whose
    ``currentPage`` or ``sinceId`` does not advance, or that answers every page
    with the same items would otherwise be followed for ever.
    """
    stuck = next_cursor is not None and next_cursor == cursor
    repeated = bool(items) and previous is not None and next_cursor is not None
    if stuck or (repeated and list(items) == list(previous or ())):
        request = response.request
        raise ProtocolError(
            "the listing does not advance (the next page is the one just read); "
            "stopping instead of asking for it for ever",
            method=request.method,
            url=redact_url(request.url),
        )


async def _stop(
    ahead: _Ahead,
    *,
    finish_left: bool = False,
    keep: _Ahead | None = None,
) -> None:
    """Cancel page requests nobody will read, and wait until they have ended.

    Their throttle slots go back as they end: a run that stops leaves nothing
    running behind it. With ``finish_left`` (the listing ended by itself), a
    request that may have left is let end instead (for :data:`FINISH_WAIT`
    seconds at most): cancelled, the server could still count it, so its slot
    would be held until its timeout; answered, it ends a window after its answer.
    Those go to ``keep``, when given, to be waited for later (after the last
    page is handed over) by another call.
    """
    running, left = [], []
    while ahead:
        entry = ahead.popleft()
        _, future, probe = entry
        if future.done():
            if not future.cancelled():
                future.exception()  # a failure nobody will see: no "never retrieved" warning
        elif finish_left and probe.left:
            if keep is not None:
                keep.append(entry)
            else:
                left.append(future)
        else:
            future.cancel()
            running.append(future)
    if left:
        done, late = await asyncio.wait(left, timeout=FINISH_WAIT)
        for future in late:
            future.cancel()
        running.extend(late)
        for future in done:
            if not future.cancelled():
                future.exception()
    if running:
        await asyncio.wait(running)


def _long_abandon(fetch: Fetch) -> bool:
    """Whether a request of ``fetch``'s Session, cancelled once it left, holds its slot long.

    True under the strict rule or before pacing learned the response times (a
    throttle that does not say is taken to): then letting a page asked for
    ahead end costs less than cancelling it.
    """
    throttle = _throttle_of(fetch)
    if throttle is None or getattr(throttle, "rate", 0) is None:
        return False
    return bool(getattr(throttle, "abandon_bound", math.inf) > FINISH_WAIT)


def _throttle_of(fetch: Fetch) -> Any:
    """The throttle of the fetch's Session, when ``fetch`` is a client's method (else None)."""
    session = getattr(getattr(fetch, "__self__", None), "session", None)
    return getattr(session, "throttle", None)


def _rate_of(fetch: Fetch) -> float | None:
    """The request rate the fetch's Session allows, when ``fetch`` is a client's method."""
    rate = getattr(_throttle_of(fetch), "rate", None)
    return float(rate) if isinstance(rate, (int, float)) else None


def _require_aware(value: datetime | None, name: str) -> datetime | None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError(
            f"{name} must be an aware datetime (with tzinfo, e.g. datetime.now(timezone.utc)); "
            f"got naive {value!r}"
        )
    return value


Fetch = Callable[[PageRequest], Awaitable[httpx.Response]]


class AsyncPaginator(Generic[T]):
    """Items across pages: ``async for item in paginator`` or ``async for page in .pages()``.

    Made by the platform clients' ``list``-like methods. ``page_size`` is
    clamped to the platform's maximum, ``limit`` stops after that many items,
    ``modified_since`` (an aware datetime) asks only for what changed since,
    ``resume_from`` continues a saved :attr:`state`. After a run,
    :attr:`watermark` is the instant to pass as ``modified_since`` next time.
    With ``prefetch`` (the default) the next page is requested while the
    current one is read into models and handed over (as soon as its cursor is
    known, where the strategy can peek at it), so the client's work overlaps
    the server's; a caller that stops early may leave that one request
    answered unread. Where the strategy can name later pages without the
    earlier answers (``cursor_after``: offsets, page numbers), several page
    requests are kept on their way: ``concurrency`` of them, or by default
    the throttle's rate times the median response time plus one (at most
    16), enough to keep the rate limit busy and no more (one without a rate
    limit). When the first answer takes longer than :data:`RAMP_AFTER`, the
    pages asked for grow with the wait (the rate times the wait so far, plus
    one), so a slow server's first page does not leave the rate idle (not for
    ``modified_since`` runs, whose changes are most often one page). A listing
    without a ``total`` may see up to that many requests sent past its end
    (the server answers them, the run ignores them). Pages, items and
    :attr:`state` still follow the listing's order; ``limit`` and a ``total``
    the server gives bound the pages asked for.
    """

    def __init__(
        self,
        fetch: Fetch,
        strategy: PageStrategy[T],
        *,
        page_size: int | None = None,
        limit: int | None = None,
        modified_since: datetime | None = None,
        resume_from: PaginatorState | Mapping[str, Any] | None = None,
        watermark_of: Callable[[httpx.Response], datetime | None] = server_date,
        prefetch: bool = True,
        concurrency: int | None = None,
    ) -> None:
        if page_size is not None and page_size < 1:
            raise ValueError(f"page_size must be at least 1, not {page_size!r}")
        if limit is not None and limit < 0:
            raise ValueError(f"limit must not be negative, not {limit!r}")
        self._fetch = fetch
        self.strategy = strategy
        self.page_size = min(page_size or strategy.default_page_size, strategy.max_page_size)
        self.limit = limit
        if resume_from is not None and not isinstance(resume_from, PaginatorState):
            resume_from = PaginatorState.from_dict(resume_from)
        self._resume = resume_from
        if resume_from is not None and modified_since is None:
            modified_since = resume_from.modified_since
        self.modified_since = _require_aware(modified_since, "modified_since")
        self._watermark_of = watermark_of
        self.prefetch = prefetch
        if concurrency is not None and concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, not {concurrency!r}")
        self.concurrency = concurrency
        self._times: deque[float] = deque(maxlen=20)  # recent response times
        self._waited = 0.0  # how long the first answer has been awaited, until it comes
        self._state = resume_from or PaginatorState(modified_since=self.modified_since)
        self._item_at: tuple[PaginatorState, Cursor, int] | None = None
        self._streaming = bool(getattr(strategy, "streaming", False))
        self.pages_fetched = 0

    @property
    def state(self) -> PaginatorState:
        """Where this run stands: save it, and pass it as ``resume_from`` to continue."""
        if self._item_at is not None:  # built when asked for, not for every item
            after, cursor, back = self._item_at
            self._state = attrs.evolve(after, cursor=cursor, done=False, items=after.items - back)
            self._item_at = None
        return self._state

    @property
    def watermark(self) -> datetime | None:
        """The ``modified_since`` for the next incremental run (the server's clock at the start)."""
        return self.state.watermark

    def __aiter__(self) -> AsyncIterator[T]:
        return self._items()

    async def _items(self, prefetch: bool | None = None) -> AsyncGenerator[T, None]:
        # The position moves with each item handed over: past the whole page at
        # its last item, or item by item where the strategy gives item cursors.
        async for page, after in self._run(prefetch):
            if not page.items:
                self._state = after
                continue
            cursors = page.item_cursors
            last = len(page.items) - 1
            for index, item in enumerate(page.items):
                if index == last:
                    self._state, self._item_at = after, None
                elif cursors is not None:
                    self._item_at = (after, cursors[index], last - index)
                yield item

    async def pages(self) -> AsyncIterator[Page[T]]:
        """Yield whole pages; :attr:`state` already points past a page when it is yielded."""
        async for page, after in self._run():
            self._state = after
            yield page

    async def _run(
        self, prefetch: bool | None = None
    ) -> AsyncIterator[tuple[Page[T], PaginatorState]]:
        """The pages and the position after each; ``prefetch`` None: :attr:`prefetch`'s."""
        if prefetch is None:
            prefetch = self.prefetch
        start = self.state
        if start.done:
            return
        cursor = start.cursor
        seen = start.items if self._resume is not None else 0
        counted_from = seen
        watermark = start.watermark or (utcnow() - WATERMARK_OVERLAP)
        # Requests on their way, in page order (see _Ahead).
        ahead: _Ahead = deque()
        guess = self._guess if prefetch else None
        peek = getattr(self.strategy, "peek_next", None)
        total: int | None = None
        previous_items: Sequence[T] | None = None
        ended = False  # by itself (its end, or the limit): not stopped by the caller or an error
        # Pages asked for past a short last page that left: waited for once it is handed over.
        finishing: _Ahead = deque()
        try:
            while self.limit is None or seen - counted_from < self.limit:
                # The page size stays fixed for the whole run: page-number protocols
                # (most of them) address pages by size, so `limit` truncates instead.
                size = self.page_size
                if (
                    not ahead
                    and guess is not None
                    and not self._times
                    and prefetch
                    and self.modified_since is None  # changes since: most likely one page
                ):
                    self._send(ahead, cursor, size)
                    await self._ramp_up(ahead, size, seen - counted_from, total, seen)
                if ahead:
                    response = await ahead.popleft()[1]
                else:
                    response = await self._fetch(
                        self.strategy.request(cursor, size, self.modified_since)
                    )
                self._measure(response)
                self.pages_fetched += 1
                if self.pages_fetched == 1 and start.watermark is None:
                    observed = self._watermark_of(response)
                    if observed is not None:
                        watermark = observed - WATERMARK_OVERLAP
                if response.status_code in (204, 304):
                    end = cursor if self._streaming else None
                    self._state = attrs.evolve(
                        self.state, cursor=end, done=end is None, watermark=watermark
                    )
                    ended = True
                    return
                early: Cursor = None
                if guess is not None and ahead:
                    # Keep the pipeline full while this page is read (as if it were full).
                    self._send_ahead(
                        ahead, cursor, size, seen - counted_from + size, total, seen + size
                    )
                elif peek is not None and prefetch and self.limit is None and not ahead:
                    try:
                        early = peek(response, cursor, size)
                    except Exception:
                        early = None  # parse reports what is wrong with the page
                    if early is not None:
                        self._send(ahead, early, size)
                if ahead:
                    for _ in range(_SEND_STEPS):
                        await asyncio.sleep(0)  # let them reach the socket before parsing
                page = self._parse(response, cursor, size)
                _check_progress(response, cursor, page.next_cursor, page.items, previous_items)
                previous_items = page.items
                if page.total is not None:
                    total = page.total
                if ahead and page.next_cursor != ahead[0][0]:
                    # A short page, the end, or a strategy that changed its mind: the
                    # pages asked for ahead are not the next ones.
                    await _stop(ahead, finish_left=_long_abandon(self._fetch), keep=finishing)
                items = page.items
                item_cursors = page.item_cursors
                if self.limit is not None and seen - counted_from + len(items) > self.limit:
                    keep = self.limit - (seen - counted_from)
                    items = items[:keep]
                    item_cursors = item_cursors[:keep] if item_cursors is not None else None
                seen += len(items)
                next_cursor = page.next_cursor
                if item_cursors and len(item_cursors) < len(page.items):
                    next_cursor = item_cursors[-1]  # stopped mid-page: resume right after
                resume_at = next_cursor
                if next_cursor is None and self._streaming:
                    # A feed (history) never ends: the next run starts after the last item.
                    resume_at = item_cursors[-1] if item_cursors else cursor
                after = PaginatorState(
                    cursor=resume_at,
                    done=resume_at is None,
                    watermark=watermark,
                    modified_since=self.modified_since,
                    items=seen,
                )
                more = next_cursor is not None and (
                    self.limit is None or seen - counted_from < self.limit
                )
                if more and prefetch:
                    if not ahead:
                        self._send(ahead, next_cursor, size)
                    if guess is not None:
                        self._send_ahead(ahead, next_cursor, size, seen - counted_from, total, seen)
                yield attrs.evolve(page, items=items, item_cursors=item_cursors, state=after), after
                if next_cursor is None:
                    ended = True
                    return
                cursor = next_cursor
            ended = True  # the limit
        finally:
            ahead.extend(finishing)
            await _stop(ahead, finish_left=ended and _long_abandon(self._fetch))

    @property
    def _guess(self) -> Callable[[Cursor, int], Cursor] | None:
        """The strategy's ``cursor_after`` when pages may be asked for ahead, else None.

        (Only when prefetching: :meth:`_run` asks for it then.)
        """
        if self._streaming or self.concurrency == 1:
            return None
        guess: Callable[[Cursor, int], Cursor] | None = getattr(self.strategy, "cursor_after", None)
        return guess

    def _send(self, ahead: _Ahead, at: Cursor, size: int) -> None:
        request = self.strategy.request(at, size, self.modified_since)
        ahead.append((at, *probed_task(self._fetch(request))))

    def _send_ahead(
        self,
        ahead: _Ahead,
        base: Cursor,
        size: int,
        taken: int,
        total: int | None,
        position: int,
    ) -> None:
        """Ask for the pages after ``ahead``'s last (or ``base``), up to the in-flight target.

        ``taken`` is the items this run will have handed over once the pages
        before ``ahead`` are, ``position`` the same counted from the listing's
        start: no page is asked for past ``limit``, nor past a ``total`` the
        server gave.
        """
        assert self._guess is not None
        budget = self.in_flight_target() - len(ahead)
        if self.limit is not None:
            budget = min(budget, -(-(self.limit - taken) // size) - len(ahead))
        if total is not None:
            budget = min(budget, -(-(total - position) // size) - len(ahead))
        last = ahead[-1][0] if ahead else base
        while budget > 0:
            last = self._guess(last, size)
            if last is None:
                return
            self._send(ahead, last, size)
            budget -= 1

    async def _ramp_up(
        self,
        ahead: _Ahead,
        size: int,
        taken: int,
        total: int | None,
        position: int,
    ) -> None:
        """Until the first answer, ask for more pages ahead the longer it takes."""
        rate = _rate_of(self._fetch)
        if rate is None and self.concurrency is None:
            return
        loop = asyncio.get_running_loop()
        started = loop.time()
        first = ahead[0][1]
        if self.concurrency is None:  # a list that answers this soon asks for no page ahead
            await asyncio.wait([first], timeout=RAMP_AFTER)
        try:
            while not first.done():
                self._waited = loop.time() - started
                self._send_ahead(ahead, ahead[0][0], size, taken, total, position)
                await asyncio.wait([first], timeout=1.0 / rate if rate else None)
        finally:
            self._waited = 0.0

    def in_flight_target(self) -> int:
        """How many page requests to keep on their way (``concurrency``, or chosen).

        Enough to keep the throttle busy, no more: the rate the Session's throttle
        allows times the median response time, plus one for the page being read.
        Without a known rate, one (the next page is still asked for ahead).
        """
        if self.concurrency is not None:
            return self.concurrency
        rate = _rate_of(self._fetch)
        if rate is None or not (self._times or self._waited):
            return 1  # no rate to fill (or none known), or nothing known yet: one page ahead
        # Before any answer, the time waited so far is the least the answer takes.
        median = sorted(self._times)[len(self._times) // 2] if self._times else self._waited
        return max(1, min(MAX_CONCURRENCY, math.ceil(rate * median) + 1))

    def _measure(self, response: httpx.Response) -> None:
        try:
            self._times.append(response.elapsed.total_seconds())
        except RuntimeError:  # an answer not read to its end has no elapsed time
            pass

    def _parse(self, response: httpx.Response, cursor: Cursor, size: int) -> Page[T]:
        try:
            return self.strategy.parse(response, cursor, size)
        except CRMError:
            raise
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
            # A page the strategy cannot read is the server's fault, not a crash.
            request = response.request
            raise ProtocolError(
                f"unexpected page shape: {type(exc).__name__}: {exc}",
                method=request.method,
                url=redact_url(request.url),
            ) from exc
        finally:
            forget_json(response)  # read: free the page with its items, not with the response

    async def to_list(self) -> list[T]:
        """Every item in one list (mind the memory on large listings)."""
        return [item async for item in self]

    async def first(self) -> T | None:
        """The first item, or None when there is none; fetches one page, and none ahead.

        A page asked for ahead and then dropped would keep its throttle slot as
        an unanswered request (the server may count it), for nothing.
        """
        items = self._items(prefetch=False)
        try:
            async for item in items:
                return item
            return None
        finally:
            await items.aclose()

    def __repr__(self) -> str:
        return (
            f"<AsyncPaginator {type(self.strategy).__name__} page_size={self.page_size} "
            f"limit={self.limit}>"
        )
