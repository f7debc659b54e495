"""The export job: pages from a source, JSON Lines out, a state file after every page.

What it promises: with a state file, a run that stops (Ctrl-C, a crash, a
failure) and is started again with the same state and output files ends with
every record exactly once. After every page the records are written and
synced, then the state (the source's position and the output's length) is
replaced atomically; a restart cuts the output back to that length, dropping
whatever a crash left after it, and continues from that position. A run that
finished leaves a state from which the next run asks only for what changed.
When records go to stdout, nothing can be cut back: a resumed run may repeat
the records of the page it was on.

What it is not: it knows no platform; :mod:`crmkit.cli._sources` opens the
clients and gives pages. It draws nothing; it reports to a callback.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AbstractAsyncContextManager
from functools import partial
from pathlib import Path
from typing import IO, Any, Protocol

import attrs
import orjson

from .. import SessionStats
from .._files import in_thread, write_json_atomic
from .._models import to_wire

__all__ = [
    "Checkpoints",
    "ExportJob",
    "JobStats",
    "Source",
    "StateError",
    "lines",
    "run_export",
    "to_record",
]

STATE_VERSION = 1


class StateError(Exception):
    """A state or output file that cannot be used as it is."""


class Source(Protocol):
    """What a platform adapter gives the engine for one export."""

    #: The allowed request rate (for "share of the rate used"), or None.
    rate_limit: float | None
    #: True when this run starts from a finished run's state and reads only changes.
    incremental: bool

    def pages(self) -> AsyncIterator[tuple[list[Any], int | None]]:
        """Yield ``(items, total_or_None)`` page by page."""
        ...

    def position(self) -> dict[str, Any]:
        """Where the source stands now (JSON-ready): after the last page handed over."""
        ...

    def session_stats(self) -> SessionStats:
        """The client's :class:`crmkit.SessionStats`."""
        ...


class Checkpoints(Protocol):
    """Where an export's state lives instead of a state file (Redis, for workers)."""

    async def load(self) -> dict[str, Any] | None:
        """The state saved last, or None."""
        ...

    async def save(self, state: dict[str, Any]) -> None:
        """Replace the state (after each page's output is written and synced)."""
        ...


#: Opens a source from the saved state (``position``, and whether that run finished).
SourceOpener = Callable[[dict[str, Any] | None, bool], AbstractAsyncContextManager[Source]]


@attrs.frozen
class ExportJob:
    """One export: its display name, identity (for the state file) and files."""

    name: str
    #: Names the account and entity; a state file written for another key is refused.
    key: str
    open_source: SourceOpener = attrs.field(repr=False)
    #: The account's host (and port, on loopback), for displays.
    account: str = ""
    out: Path | None = None
    state: Path | None = None
    #: Keeps the state instead of ``state`` (a file): e.g. crmkit.redis_stores.RedisCheckpointStore.
    checkpoints: Checkpoints | None = None


@attrs.define
class JobStats:
    """What a running or finished export has done, for progress lines and summaries."""

    name: str
    account: str = ""
    records: int = 0
    pages: int = 0
    total: int | None = None
    #: The client's counters (requests, 429s, retries, throttle waits), read live.
    session: SessionStats = attrs.Factory(SessionStats)
    rate_limit: float | None = None
    incremental: bool = False
    started: float = attrs.Factory(time.monotonic)
    finished: float | None = None
    status: str = "starting"
    error: str | None = None
    out: str = "-"

    @property
    def requests(self) -> int:
        return self.session.requests

    @property
    def rate_limited(self) -> int:
        return self.session.rate_limited

    @property
    def retries(self) -> int:
        return self.session.retries

    @property
    def throttle_wait(self) -> float:
        return self.session.throttle_wait

    @property
    def elapsed(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    @property
    def rate_share(self) -> float | None:
        """Requests sent over requests the limit allowed in the elapsed time.

        A limiter lets the first request go at once, then ``rate`` a second:
        ``elapsed * rate + 1`` in all.
        """
        if not self.rate_limit:
            return None
        return self.requests / (self.elapsed * self.rate_limit + 1)

    def to_dict(self) -> dict[str, Any]:
        share = self.rate_share
        return {
            "name": self.name,
            "account": self.account,
            "status": self.status,
            "incremental": self.incremental,
            "records": self.records,
            "pages": self.pages,
            "requests": self.requests,
            "rate_limited": self.rate_limited,
            "retries": self.retries,
            "throttle_wait_s": round(self.throttle_wait, 3),
            "elapsed_s": round(self.elapsed, 3),
            "rate_limit": self.rate_limit,
            "rate_share": round(share, 4) if share is not None else None,
            "out": self.out,
            "error": self.error,
        }


def to_record(item: Any) -> Any:
    """An item as JSON-ready data: models by their wire names, mappings as dicts."""
    if type(item) is dict:
        return item  # a record as the platform sent it
    if hasattr(item, "to_record"):
        return item.to_record()
    if attrs.has(type(item)):
        return to_wire(item)
    if hasattr(item, "keys"):
        return dict(item)
    return item


_LINE = orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE


def lines(items: Iterable[Any]) -> bytes:
    """A page of items as JSON Lines (see :func:`to_record`); a dict is written as it is."""
    dumps = orjson.dumps
    return b"".join([
        dumps(item if type(item) is dict else to_record(item), default=str, option=_LINE)
        for item in items
    ])  # fmt: skip


# -- files ---------------------------------------------------------------------


def read_state(path: Path | None, key: str) -> dict[str, Any] | None:
    """The saved state, or None when there is none yet."""
    if path is None or not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise StateError(f"state file {path} cannot be read: {exc}") from None
    if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
        raise StateError(f"state file {path} is not a crmkit export state")
    if data.get("key") != key:
        raise StateError(
            f"state file {path} belongs to another export ({data.get('key')!r}); "
            "use one state file per account and entity"
        )
    return data


def open_output(path: Path | None, offset: int) -> IO[bytes]:
    """The output, cut back to ``offset`` bytes (0: a new file)."""
    if path is None:
        return sys.stdout.buffer
    if offset == 0:
        return path.open("wb")
    try:
        out = path.open("r+b")
    except FileNotFoundError:
        raise StateError(
            f"{path} is gone but the state says {offset} bytes were written to it; "
            "delete the state file to start over"
        ) from None
    size = out.seek(0, os.SEEK_END)
    if size < offset:
        out.close()
        raise StateError(
            f"{path} is shorter ({size} bytes) than the state says ({offset}); "
            "delete the state file to start over"
        )
    out.truncate(offset)
    out.seek(offset)
    return out


# -- the run -------------------------------------------------------------------


async def run_export(
    job: ExportJob, stats: JobStats, on_page: Callable[[JobStats], None] | None = None
) -> None:
    """Run ``job`` to the end, updating ``stats``; errors propagate (state kept)."""
    saved = await _load_state(job)
    finished_before = bool(saved and saved.get("complete"))
    resuming = saved is not None and not finished_before
    offset = int(saved.get("out_offset", 0)) if saved and resuming else 0
    records = int(saved.get("records", 0)) if saved and resuming else 0
    stats.out = str(job.out) if job.out else "-"
    if job.out is not None:
        job.out.parent.mkdir(parents=True, exist_ok=True)
    position = saved.get("position") if saved else None
    out = open_output(job.out, offset)
    stats.records = records
    stats.status = "running"
    try:
        async with job.open_source(position, finished_before) as source:
            stats.rate_limit = source.rate_limit
            stats.incremental = source.incremental
            stats.session = source.session_stats()
            # Each page is synced before a checkpoint names it; without one, a run
            # cannot resume, so the file is synced once, at the end.
            synced = job.out is not None and (job.state is not None or job.checkpoints is not None)
            async for items, total in source.pages():
                data = lines(items)
                if synced:  # write and fsync off the loop: other accounts' requests go on
                    await in_thread(partial(_write_synced, out, data))
                else:
                    out.write(data)
                    out.flush()
                offset += len(data)
                stats.records += len(items)
                stats.pages += 1
                stats.total = total
                await _save_state(job, source.position(), offset, stats.records, False)
                if on_page is not None:
                    on_page(stats)
            if job.out is not None and not synced:
                await in_thread(partial(_write_synced, out, b""))
            await _save_state(job, source.position(), offset, stats.records, True)
        stats.status = "done"
    except (asyncio.CancelledError, KeyboardInterrupt):
        stats.status = "interrupted"
        raise
    except BaseException as exc:
        stats.status = "failed"
        stats.error = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        stats.finished = time.monotonic()
        if job.out is not None:
            out.close()
        else:
            out.flush()


async def _load_state(job: ExportJob) -> dict[str, Any] | None:
    if job.checkpoints is None:
        return read_state(job.state, job.key)
    data = await job.checkpoints.load()
    if data is not None and (data.get("version") != STATE_VERSION or data.get("key") != job.key):
        raise StateError(f"the checkpoint of {job.name} belongs to another export")
    return data


async def _save_state(
    job: ExportJob, position: dict[str, Any], offset: int, records: int, complete: bool
) -> None:
    if job.checkpoints is not None:
        await job.checkpoints.save(_state(job, position, offset, records, complete))
    elif job.state is not None:
        state = _state(job, position, offset, records, complete)
        await in_thread(partial(write_json_atomic, job.state, state))


def _write_synced(out: IO[bytes], data: bytes) -> None:
    out.write(data)
    out.flush()
    os.fsync(out.fileno())


def _state(
    job: ExportJob, position: dict[str, Any], offset: int, records: int, complete: bool
) -> dict[str, Any]:
    return {
        "version": STATE_VERSION,
        "key": job.key,
        "position": position,
        "out_offset": offset,
        "records": records,
        "complete": complete,
        "saved_at": time.time(),
    }
