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

Memory stays flat: one page is held at a time, nothing is accumulated.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Generic, Protocol, TypeVar

import attrs
import httpx

from ._clock import utcnow
from ._log import redact_url
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

#: A position in a listing: any JSON value.
Cursor = Any

#: Added to the server's clock reading when computing a watermark, because that
#: reading has one-second precision and the platforms compare timestamps strictly.
WATERMARK_OVERLAP = timedelta(seconds=1)


#: Event-loop turns given to a prefetched request before the current page is
#: parsed: enough for the Session to pass the throttle and write it out, so the
#: server works on it while the models are built.
_SEND_STEPS = 8


@attrs.frozen
class PageRequest:
    """The request for one page, as data: the paginator hands it to its ``fetch``."""

    url: str
    method: str = "GET"
    params: Any = None
    headers: Mapping[str, str] | None = None
    data: Mapping[str, Any] | None = None
    json: Any = None


@attrs.frozen
class Page(Generic[T]):
    """One page of items and where the listing goes next.

    ``next_cursor`` is None on the last page. ``item_cursors``, when the
    strategy can give them, holds for each item the cursor that resumes right
    after it (RetailCRM history ids), so a run can stop and resume mid-page.
    ``total`` is the number of items in the whole listing, when the server says.
    ``state`` is the paginator's position after this page (set by the paginator).
    """

    items: Sequence[T]
    next_cursor: Cursor = None
    total: int | None = None
    item_cursors: Sequence[Cursor] | None = None
    state: PaginatorState | None = None


@attrs.frozen
class PaginatorState:
    """A saved position: resume a listing with ``resume_from=state`` (or its dict).

    ``cursor`` is where the next page starts (None with ``done``), ``watermark``
    the run's server-clock start, ``modified_since`` the run's own lower bound.
    """

    cursor: Cursor = None
    done: bool = False
    watermark: datetime | None = None
    modified_since: datetime | None = None
    items: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (datetimes as ISO 8601 text)."""
        return {
            "cursor": self.cursor,
            "done": self.done,
            "watermark": self.watermark.isoformat() if self.watermark else None,
            "modified_since": self.modified_since.isoformat() if self.modified_since else None,
            "items": self.items,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PaginatorState:
        """Read back what :meth:`to_dict` wrote; a malformed dict raises ValueError."""
        try:
            return cls(
                cursor=data.get("cursor"),
                done=bool(data.get("done", False)),
                watermark=_parse_iso(data.get("watermark")),
                modified_since=_parse_iso(data.get("modified_since")),
                items=int(data.get("items", 0)),
            )
        except (TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"not a crmkit paginator state: {exc}") from None


def _parse_iso(value: Any) -> datetime | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        raise ValueError(f"naive datetime {value!r} in state")
    return parsed


class PageStrategy(Protocol[T]):
    """One platform's list protocol, without I/O."""

    @property
    def max_page_size(self) -> int:
        """The most items the platform gives in one page; larger requests are clamped."""
        ...

    @property
    def default_page_size(self) -> int:
        """Page size used when the caller gives none."""
        ...

    # A strategy may also set ``streaming = True`` (a feed such as a change
    # history): a run that reaches the end then saves the last item's cursor
    # rather than "done", so the next run continues the feed from there.
    #
    # And it may define ``peek_next(response, cursor, page_size) -> Cursor``:
    # the next page's cursor read cheaply, before the page's models are built,
    # so that the next request is on its way while they are (``parse`` must
    # then give the same ``next_cursor``).

    def request(
        self, cursor: Cursor, page_size: int, modified_since: datetime | None
    ) -> PageRequest:
        """The request for the page at ``cursor`` (None: the first page)."""
        ...

    def parse(self, response: httpx.Response, cursor: Cursor, page_size: int) -> Page[T]:
        """Read one answer into a page; the paginator ends a run itself on 204/304."""
        ...


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


def server_date(response: httpx.Response) -> datetime | None:
    """The server's clock from the ``Date`` header, as an aware UTC datetime, or None."""
    value = response.headers.get("date")
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


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
    answered unread.
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
        self._state = resume_from or PaginatorState(modified_since=self.modified_since)
        self._streaming = bool(getattr(strategy, "streaming", False))
        self.pages_fetched = 0

    @property
    def state(self) -> PaginatorState:
        """Where this run stands: save it, and pass it as ``resume_from`` to continue."""
        return self._state

    @property
    def watermark(self) -> datetime | None:
        """The ``modified_since`` for the next incremental run (the server's clock at the start)."""
        return self._state.watermark

    def __aiter__(self) -> AsyncIterator[T]:
        return self._items()

    async def _items(self) -> AsyncIterator[T]:
        # The position moves with each item handed over: past the whole page at
        # its last item, or item by item where the strategy gives item cursors.
        async for page, after in self._run():
            if not page.items:
                self._state = after
                continue
            cursors = page.item_cursors
            last = len(page.items) - 1
            for index, item in enumerate(page.items):
                if index == last:
                    self._state = after
                elif cursors is not None:
                    self._state = attrs.evolve(
                        after, cursor=cursors[index], done=False, items=after.items - last + index
                    )
                yield item

    async def pages(self) -> AsyncIterator[Page[T]]:
        """Yield whole pages; :attr:`state` already points past a page when it is yielded."""
        async for page, after in self._run():
            self._state = after
            yield page

    async def _run(self) -> AsyncIterator[tuple[Page[T], PaginatorState]]:
        start = self._state
        if start.done:
            return
        cursor = start.cursor
        seen = start.items if self._resume is not None else 0
        counted_from = seen
        watermark = start.watermark or (utcnow() - WATERMARK_OVERLAP)
        pending: asyncio.Future[httpx.Response] | None = None
        previous_items: Sequence[T] | None = None
        try:
            while self.limit is None or seen - counted_from < self.limit:
                # The page size stays fixed for the whole run: page-number protocols
                # (most of them) address pages by size, so `limit` truncates instead.
                size = self.page_size
                if pending is None:
                    response = await self._fetch(
                        self.strategy.request(cursor, size, self.modified_since)
                    )
                else:
                    response, pending = await pending, None
                self.pages_fetched += 1
                if self.pages_fetched == 1 and start.watermark is None:
                    observed = self._watermark_of(response)
                    if observed is not None:
                        watermark = observed - WATERMARK_OVERLAP
                if response.status_code in (204, 304):
                    end = cursor if self._streaming else None
                    self._state = attrs.evolve(
                        self._state, cursor=end, done=end is None, watermark=watermark
                    )
                    return
                early: Cursor = None
                peek = getattr(self.strategy, "peek_next", None)
                if peek is not None and self.prefetch and self.limit is None:
                    try:
                        early = peek(response, cursor, size)
                    except Exception:
                        early = None  # parse reports what is wrong with the page
                    if early is not None:
                        request = self.strategy.request(early, size, self.modified_since)
                        pending = asyncio.ensure_future(self._fetch(request))
                        for _ in range(_SEND_STEPS):
                            await asyncio.sleep(0)  # let it reach the socket before parsing
                page = self._parse(response, cursor, size)
                if pending is not None and page.next_cursor != early:
                    pending.cancel()  # the strategy changed its mind: ask for the right page
                    pending = None
                items = page.items
                item_cursors = page.item_cursors
                if self.limit is not None and seen - counted_from + len(items) > self.limit:
                    keep = self.limit - (seen - counted_from)
                    items = items[:keep]
                    item_cursors = item_cursors[:keep] if item_cursors is not None else None
                seen += len(items)
                next_cursor = page.next_cursor
                _check_progress(response, cursor, next_cursor, page.items, previous_items)
                previous_items = page.items
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
                if more and self.prefetch and pending is None:
                    request = self.strategy.request(next_cursor, size, self.modified_since)
                    pending = asyncio.ensure_future(self._fetch(request))
                yield attrs.evolve(page, items=items, item_cursors=item_cursors, state=after), after
                if next_cursor is None:
                    return
                cursor = next_cursor
        finally:
            if pending is not None:
                if pending.done() and not pending.cancelled():
                    pending.exception()  # a prefetched page nobody will read: no warning
                pending.cancel()

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

    async def to_list(self) -> list[T]:
        """Every item in one list (mind the memory on large listings)."""
        return [item async for item in self]

    async def first(self) -> T | None:
        """The first item, or None when there is none; fetches one page."""
        async for item in self:
            return item
        return None

    def __repr__(self) -> str:
        return (
            f"<AsyncPaginator {type(self.strategy).__name__} page_size={self.page_size} "
            f"limit={self.limit}>"
        )
