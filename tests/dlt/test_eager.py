"""``sync`` loads what was read while the load before it ran, and starts reading before dlt."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import dlt
import pytest

from crmkit.amocrm.sandbox import AmoCRMSandbox
from crmkit.dlt import PageRead, amocrm_source, sync
from crmkit.dlt._prefetch import Prefetch

from .conftest import Loaded

LEADS, PAGE = 140, 50  # 3 pages, the last one short


def _source(sandbox: AmoCRMSandbox, **options: Any) -> Any:
    """The sandbox's leads as a source, in pages of ``PAGE``."""
    return amocrm_source(
        base_url="http://acme.amocrm.test",
        access_token=sandbox.credentials.access_token,
        transport=sandbox.transport(),
        allow_insecure_http=True,
        resources=("leads",),
        page_size=PAGE,
        **options,
    )


def test_each_load_takes_the_pages_read_while_the_one_before_it_loaded(loaded: Loaded) -> None:
    """The reader is held at each page until the load before it is committed.

    Each load then finds one page waiting and takes only that one: a load per
    page, each committed with its position, every lead once. A sync that waited
    for more pages (a load per ``pages_per_load``, or one load per run) would
    never commit a load here, and the reader's wait would time out.
    """
    sandbox = AmoCRMSandbox(leads=LEADS, rate_limit=None)
    sandbox.clock.advance(10)
    committed = threading.Condition()
    loads: list[int] = []  # pages read when each load was committed
    pages: list[int] = []
    stalled: list[int] = []

    def on_page(page: PageRead) -> None:
        with committed:
            if pages and not committed.wait_for(lambda: len(loads) >= len(pages), timeout=10):
                stalled.append(len(pages))
            pages.append(page.records)

    def on_load(info: Any) -> None:
        with committed:
            loads.append(len(pages))
            committed.notify_all()

    source = _source(sandbox, pages_per_load=100, on_page=on_page)
    sync(loaded.pipeline, source, on_load=on_load)
    assert not stalled, f"a load waited for more pages after page {stalled}"
    assert pages == [PAGE, PAGE, LEADS - 2 * PAGE]
    # A load per page; a fourth with the position alone only if the reader's end came
    # later than the load's wait for the next page (a busy machine).
    assert loads[:3] == [1, 2, 3] and loads[3:] in ([], [3]), loads
    ids = loaded.column("SELECT id FROM leads")
    assert sorted(ids) == sorted(sandbox.entities["leads"])


def test_a_reader_started_early_starts_again_from_the_position_dlt_has() -> None:
    """``Prefetch.start`` reads from the state it was given; if dlt's resource then holds
    another (restored from the destination), the reader starts over from that one."""
    starts: list[Any] = []

    async def read(state: dict[str, Any]) -> AsyncIterator[list[dict[str, Any]]]:
        starts.append(state.get("at"))
        for n in range(int(state.get("at", 0)), 3):
            state["at"] = n + 1
            yield [{"id": n}]
            await asyncio.sleep(0)

    prefetch = Prefetch(4)
    prefetch.readers["leads"] = read
    try:
        prefetch.start({"leads": {"at": 0}})
        same = prefetch.feed("leads", read, {"at": 0})
        assert same is not None and same.next() == ([{"id": 0}], {"at": 1})
        prefetch.done("leads")

        prefetch.start({"leads": {"at": 0}})
        feed = prefetch.feed("leads", read, {"at": 2})
        assert feed is not None
        assert feed.next() == ([{"id": 2}], {"at": 3})
        assert feed.next() is None
    finally:
        prefetch.close()
    assert starts[0] == 0 and starts[-1] == 2


@pytest.mark.parametrize(("eager", "read_first"), [(True, True), (False, False)])
def test_when_the_first_request_waits_for_the_destination(
    loaded: Loaded, eager: bool, read_first: bool
) -> None:
    """``eager`` (the default): the readers start before dlt restores the positions.

    The restore (opening the database, reading its state table) is held until
    the first page has been read (at most a few seconds); an eager sync that
    restored first would read nothing meanwhile. ``eager=False`` (crmkit.jobs'
    workers, whose working directories may be behind the destination)
    restores first: no page may come while the restore is held.
    """
    sandbox = AmoCRMSandbox(leads=LEADS, rate_limit=None)
    sandbox.clock.advance(10)
    first_page = threading.Event()
    read_before_restore: list[bool] = []
    restore = loaded.pipeline.sync_destination

    def held_restore(*args: Any, **kwargs: Any) -> None:
        read_before_restore.append(first_page.wait(timeout=5 if read_first else 0.5))
        restore(*args, **kwargs)

    loaded.pipeline.sync_destination = held_restore  # type: ignore[method-assign]
    source = _source(sandbox, on_page=lambda page: first_page.set())
    sync(loaded.pipeline, source, eager=eager)
    assert read_before_restore == [read_first]
    assert sorted(loaded.column("SELECT id FROM leads")) == sorted(sandbox.entities["leads"])


def test_a_working_directory_without_state_resumes_from_the_destination(
    tmp_path: Path,
) -> None:
    """The readers start from the local state; when the destination's differs, from that.

    A first sync loads every lead. A second, from a fresh working directory
    (another machine), starts reading from scratch, then dlt restores the
    position from the destination and the reader starts over from it: only
    the changed leads are loaded, every lead is in the table once.
    """
    sandbox = AmoCRMSandbox(leads=LEADS, rate_limit=None)
    sandbox.clock.advance(10)

    database = dlt.destinations.duckdb(str(tmp_path / "crm.duckdb"))
    first = dlt.pipeline("crm", pipelines_dir=str(tmp_path / "here"), destination=database)
    sync(first, _source(sandbox), on_load=lambda info: None)
    sandbox.clock.advance(5)
    sandbox.touch("leads", [1, 2], name="Changed elsewhere")
    sandbox.clock.advance(5)

    other = dlt.pipeline("crm", pipelines_dir=str(tmp_path / "there"), destination=database)
    loaded_rows: list[int] = []

    def on_load(info: Any) -> None:
        counts = other.last_trace.last_normalize_info.row_counts
        loaded_rows.append(counts.get("leads", 0))

    sync(other, _source(sandbox), on_load=on_load)
    assert sum(loaded_rows) == 2, loaded_rows
    again = Loaded(other)
    ids = again.column("SELECT id FROM leads")
    assert sorted(ids) == sorted(sandbox.entities["leads"])
    names = dict(again.rows("SELECT id, name FROM leads WHERE id IN (1, 2, 3)"))
    assert names[1] == names[2] == "Changed elsewhere" != names[3]


@pytest.mark.parametrize("frozen_before", [False, True])
def test_while_the_readers_run_the_older_objects_are_frozen_then_given_back(
    loaded: Loaded, frozen_before: bool
) -> None:
    """The collector's full passes skip what existed when reading began (gc.freeze),
    the switch interval is finer, and both are undone after the sync. A process that
    froze objects of its own keeps them frozen, and crmkit freezes nothing more."""
    import gc
    import sys

    from crmkit.dlt._prefetch import SWITCH_INTERVAL

    sandbox = AmoCRMSandbox(leads=LEADS, rate_limit=None)
    sandbox.clock.advance(10)
    interval = sys.getswitchinterval()
    if frozen_before:
        gc.freeze()
    before = gc.get_freeze_count()
    newer = [{"n": n} for n in range(20_000)]  # what a freeze now would take too
    seen: list[tuple[int, float]] = []

    def on_page(page: PageRead) -> None:
        seen.append((gc.get_freeze_count(), sys.getswitchinterval()))

    try:
        sync(loaded.pipeline, _source(sandbox, on_page=on_page))
        after = gc.get_freeze_count()
    finally:
        if frozen_before:
            gc.unfreeze()
    assert len(seen) == 3
    assert all(switch == min(interval, SWITCH_INTERVAL) for _, switch in seen)
    if frozen_before:
        assert all(count < before + len(newer) for count, _ in seen)
        assert after < before + len(newer)
    else:
        assert before == 0 and all(count > len(newer) for count, _ in seen) and after == 0
    assert sys.getswitchinterval() == interval
    assert sorted(loaded.column("SELECT id FROM leads")) == sorted(sandbox.entities["leads"])
