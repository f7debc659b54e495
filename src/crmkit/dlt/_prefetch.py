"""Reading ahead of dlt: a source's readers on an event loop of their own.

dlt extracts, then normalises and loads; while it does the last two, nothing
would be read. :class:`Prefetch` runs each resource's reader on a loop in a
thread of its own and hands its pages over through a small queue, so the
requests go on while dlt loads. The position after each page travels with
the page, so dlt commits exactly what it loaded. :func:`~crmkit.dlt.sync`
starts the readers before dlt's first step (:meth:`Prefetch.start`), so the
first requests do not wait for dlt to set up.

Not here: what a page is or where a position is kept (``_base``).
"""

from __future__ import annotations

import asyncio
import copy
import gc
import queue
import sys
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from typing import Any

__all__ = ["NOTHING", "Prefetch", "Read"]

#: What a resource's reader is: it reads from ``state`` (its saved position, which
#: it moves) and yields the rows of one page at a time.
Read = Callable[[dict[str, Any]], AsyncIterator[list[dict[str, Any]]]]


class _Feed:
    """One resource's pages, read ahead: ``(rows, position)`` pairs, then the end."""

    def __init__(self, ahead: int, start: dict[str, Any]) -> None:
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=ahead)
        self.pending: list[Any] = []
        self.task: asyncio.Task[None] | None = None
        #: The position the reader started from.
        self.start = start
        #: Started by :meth:`Prefetch.start`, not yet taken by dlt's resource.
        self.unclaimed = False

    def next(self) -> tuple[list[dict[str, Any]], dict[str, Any]] | None:
        """The next page and the position after it; None at the end; the reader's error raised."""
        page: tuple[list[dict[str, Any]], dict[str, Any]] | None = self.poll(None)
        return page

    def poll(self, timeout: float | None) -> Any:
        """:meth:`next`, or :data:`NOTHING` when no page comes within ``timeout`` seconds."""
        if self.pending:
            item = self.pending.pop()
        else:
            try:
                item = self.queue.get(timeout=timeout)
            except queue.Empty:
                return NOTHING
        if item is _END:
            return None
        if isinstance(item, BaseException):
            raise item
        return item

    def unget(self, page: tuple[list[dict[str, Any]], dict[str, Any]]) -> None:
        self.pending.append(page)


_END = object()

#: The interpreter's thread switch interval while a reader loop runs (seconds).
#: dlt's extraction and normalisation hold the GIL in long runs of Python; at
#: the default 5 ms every wake-up of the reader (a paced request, a socket
#: read) waits up to that long, which delays the first request by tenths of a
#: second and every page after it. At 0.5 ms the reader keeps its pace.
SWITCH_INTERVAL = 0.0005


class _Switching:
    """What the process does while any reader loop in it runs, undone after the last.

    - The finer switch interval (:data:`SWITCH_INTERVAL`).
    - The objects alive when the first loop starts (the imported modules, dlt's
      own) moved out of the cyclic collector's way (:func:`gc.freeze`): its
      full collections, which stop every thread, walked all of them, 70-110 ms
      each, a dozen times in a 30,000-record sync, and each held up the reader
      (``benchmarks/bench_dlt.py``); they walk only the newer objects now
      (15-45 ms). Reference counting still frees those objects; a cycle among
      them is collected after :func:`gc.unfreeze`, when the last loop stops.
      Left alone when the process has frozen objects of its own already.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders = 0
        self._saved = 0.0
        self._froze = False

    def hold(self) -> None:
        with self._lock:
            if self._holders == 0:
                self._saved = sys.getswitchinterval()
                sys.setswitchinterval(min(self._saved, SWITCH_INTERVAL))
                self._froze = gc.get_freeze_count() == 0
                if self._froze:
                    gc.freeze()
            self._holders += 1

    def release(self) -> None:
        with self._lock:
            self._holders -= 1
            if self._holders == 0:
                sys.setswitchinterval(self._saved)
                if self._froze:
                    gc.unfreeze()
                    self._froze = False


_SWITCHING = _Switching()
#: What :meth:`_Feed.poll` returns when no page came in time.
NOTHING: Any = object()


class Prefetch:
    """A source's readers, on an event loop of their own, ahead of dlt.

    While dlt normalises and loads one load, the readers go on reading the
    next one (up to ``ahead`` pages each), so a rate-limited account's budget
    is spent on requests rather than waiting. One loop per source: its
    resources share one client (one Session, one throttle) for a whole
    :func:`sync`. Pages read ahead and not loaded when a run dies are simply
    read again by the next run (their position was not committed).
    """

    def __init__(self, ahead: int) -> None:
        self.ahead = max(1, ahead)
        #: The source's selected resources (set by :func:`make_source`).
        self.selected: Callable[[], set[str] | None] = lambda: None
        #: Closed when the loop stops: the shared clients.
        self.closers: list[Callable[[], Coroutine[Any, Any, None]]] = []
        #: Each resource's reader, by resource name (for :meth:`start`).
        self.readers: dict[str, Read] = {}
        #: Set by :func:`~crmkit.dlt.sync`: a load takes the pages read so far and ends.
        self.eager = False
        self._lock = threading.Lock()
        self._feeds: dict[str, _Feed] = {}
        self._finished: set[str] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def feed(self, name: str, read: Read, state: Mapping[str, Any]) -> _Feed | None:
        """The resource's feed, its reader started from ``state`` unless already running.

        None when the resource has read to its end while others still load
        (the later loads of one :func:`sync`): it has nothing more to read.
        """
        with self._lock:
            if name in self._finished:
                return None
            feed = self._feeds.get(name)
            if feed is not None and feed.unclaimed:
                feed.unclaimed = False
                if feed.start != dict(state):  # dlt restored another position: start there
                    self._cancel([feed])
                    feed = None
            if feed is None:
                feed = self._feeds[name] = self._started(read, state)
            return feed

    def start(self, states: Mapping[str, Mapping[str, Any]]) -> None:
        """Start the readers of the resources named in ``states``, each from its state.

        dlt's resource then takes the running feed if its state is the same
        (else it starts another from the state it has).
        """
        with self._lock:
            for name, state in states.items():
                if name in self._feeds or name in self._finished or name not in self.readers:
                    continue
                feed = self._feeds[name] = self._started(self.readers[name], state)
                feed.unclaimed = True

    def _started(self, read: Read, state: Mapping[str, Any]) -> _Feed:
        start = copy.deepcopy(dict(state))
        feed = _Feed(self.ahead, copy.deepcopy(start))
        feed.task = asyncio.run_coroutine_threadsafe(
            _spawn(_pump(read, start, feed.queue)), self._running_loop()
        ).result()
        return feed

    def _cancel(self, feeds: list[_Feed]) -> None:
        tasks = [feed.task for feed in feeds if feed.task is not None]
        if self._loop is not None and tasks:
            asyncio.run_coroutine_threadsafe(_cancel(tasks), self._loop).result(timeout=30)

    def done(self, name: str) -> None:
        """The resource read its feed to the end; the last one stops the loop."""
        with self._lock:
            feed = self._feeds.pop(name, None)
            if feed is not None and feed.task is not None and not feed.task.done():
                self._cancel([feed])  # told done before its end: no task left pending
            self._finished.add(name)
            selected = self.selected()
            if not self._feeds and (selected is None or selected <= self._finished):
                self._stop()

    def close(self) -> None:
        """Stop every reader (closing the client) and the loop."""
        with self._lock:
            self._cancel(list(self._feeds.values()))
            self._feeds.clear()
            self.eager = False
            self._stop()

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            loop = asyncio.new_event_loop()
            thread = threading.Thread(
                target=loop.run_forever, name="crmkit-dlt-reader", daemon=True
            )
            _SWITCHING.hold()
            thread.start()
            self._loop, self._thread = loop, thread
        return self._loop

    def _stop(self) -> None:
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        self._finished.clear()
        if loop is None or thread is None:
            return
        try:
            for close in self.closers:
                asyncio.run_coroutine_threadsafe(close(), loop).result(timeout=30)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=30)
            loop.close()
            _SWITCHING.release()


async def _spawn(coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
    return asyncio.ensure_future(coroutine)


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def _pump(read: Read, state: dict[str, Any], pages: queue.Queue[Any]) -> None:
    """Run one reader, handing each page and the position after it to the dlt side."""
    try:
        async for rows in read(state):
            await _put(pages, (rows, copy.deepcopy(state)))
        await _put(pages, _END)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # the dlt side raises it, where dlt reports it
        await _put(pages, exc)


async def _put(pages: queue.Queue[Any], item: Any) -> None:
    while True:
        try:
            pages.put_nowait(item)
            return
        except queue.Full:
            await asyncio.sleep(0.005)
