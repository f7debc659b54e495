"""What the four dlt sources share: the merge hints, one client per source run, page budgets.

Every crmkit resource merges by its primary key (``write_disposition="merge"``)
and carries two columns of its own: ``_crmkit_deleted`` (dlt's ``hard_delete``
hint: a row with it true deletes the record in the destination) and
``_crmkit_order`` (``dedup_sort="desc"``: when one load holds a record twice,
say updated and then deleted, the later row wins).

A resource keeps its position in dlt's resource state, which dlt commits with
the data it loads. :func:`sync` runs the pipeline again and again, each load
taking the pages read while the one before it was being loaded (at most
``pages_per_load`` of them), each resource saying ``more`` in its state
until it has read to its end; a run that dies loses at most the pages of the
load in progress and the next run resumes after the last one committed. The
reading itself runs ahead of dlt on a loop of its own (:class:`Prefetch`),
so loads do not stop the requests, and the last load holds only what was
read during the one before it. ``pipeline.run(source)`` without :func:`sync`
is one load (or ``pages_per_load`` pages per resource).

Not here: anything a platform decides (which listing, which feed).
"""

from __future__ import annotations

import copy
import threading
import weakref
from collections.abc import (
    AsyncIterator,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from contextlib import asynccontextmanager, contextmanager
from typing import Any, Generic, TypeVar

import attrs
import dlt
from dlt.common.destination import DestinationCapabilitiesContext
from dlt.common.pipeline import LoadInfo
from dlt.extract import DltResource, DltSource

from .._client_base import ClientBase
from .._models import to_wire
from .._pagination import AsyncPaginator, Page, PaginatorState
from .._session import Session
from ._prefetch import NOTHING, Prefetch, Read

__all__ = [
    "DELETED",
    "ORDER",
    "OnPage",
    "PageRead",
    "Prefetch",
    "Read",
    "SharedClient",
    "deleted_row",
    "make_source",
    "merge_resource",
    "sync",
    "to_row",
]

#: The hard-delete column: true on a row that deletes its record.
DELETED = "_crmkit_deleted"
#: The dedup-sort column: the later of two rows for one record in a load wins.
ORDER = "_crmkit_order"
#: Pages a resource reads ahead of dlt when there is no ``pages_per_load``.
READ_AHEAD = 16
#: In :func:`sync`, a load ends when no page came for this long (seconds): a page
#: that is on its way joins the load, one waiting on a rate limit goes to the next.
GAP = 0.05
#: How deep lists become child tables; deeper ones are kept as JSON.
MAX_TABLE_NESTING = 2

C = TypeVar("C", bound=ClientBase)


@attrs.frozen
class PageRead:
    """What :data:`OnPage` is told after every page a resource reads.

    ``records`` is what the page held (for a change feed: the changes), ``total``
    the listing's size when the platform says, ``session`` the account's
    :class:`~crmkit.Session` (its ``stats`` and ``throttle``).
    """

    resource: str
    records: int
    total: int | None
    session: Session


#: Called after every page, from dlt's extraction thread.
OnPage = Callable[[PageRead], None]


class SharedClient(Generic[C]):
    """One client for all of a source's resources through a whole :func:`sync`.

    Made on the source's reading loop by the first reader that needs it, and
    closed when that loop stops (every resource read to its end, or the sync
    over), so every resource of an account shares one Session: one rate limit.
    """

    def __init__(self, open_client: Callable[[], C], budget: Budget) -> None:
        self._open = open_client
        self._client: C | None = None
        budget.prefetch.closers.append(self.aclose)

    @asynccontextmanager
    async def use(self) -> AsyncIterator[C]:
        if self._client is None:
            self._client = self._open()
        yield self._client

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()


class Rows:
    """Numbers a resource's rows in the order they are read (the ``_crmkit_order`` column)."""

    def __init__(self) -> None:
        self._next = 0

    def upsert(self, record: Mapping[str, Any]) -> dict[str, Any]:
        self._next += 1
        return {**record, DELETED: False, ORDER: self._next}

    def delete(self, key: str, value: Any) -> dict[str, Any]:
        self._next += 1
        return deleted_row(key, value, self._next)


def deleted_row(key: str, value: Any, order: int = 0) -> dict[str, Any]:
    """The row that deletes the record whose primary key ``key`` is ``value``."""
    return {key: value, DELETED: True, ORDER: order}


def to_row(item: Any) -> dict[str, Any]:
    """A crmkit model or mapping as a plain dict, by the API's own field names.

    A listed model is lazy (:mod:`crmkit._models`): its dict comes straight from
    the answer it keeps, none of its fields built.
    """
    if attrs.has(item.__class__):
        return to_wire(item)
    if hasattr(item, "to_dict"):  # a vtiger record
        return dict(item.to_dict())
    return dict(item)


class Budget:
    """Pages per load and progress reports, for every resource of one source."""

    def __init__(self, pages_per_load: int | None, on_page: OnPage | None) -> None:
        if pages_per_load is not None and pages_per_load < 1:
            raise ValueError(f"pages_per_load must be at least 1, not {pages_per_load!r}")
        self.pages_per_load = pages_per_load
        self.on_page = on_page
        self.prefetch = Prefetch(pages_per_load or READ_AHEAD)

    def report(self, client: ClientBase, resource: str, records: int, total: int | None) -> None:
        if self.on_page is not None:
            self.on_page(PageRead(resource, records, total, client.session))

    async def pages(
        self,
        client: ClientBase,
        name: str,
        paginator: AsyncPaginator[Any],
        state: dict[str, Any],
        key: str,
    ) -> AsyncIterator[Page[Any]]:
        """The paginator's pages, its position saved in ``state[key]`` before each is handed on."""
        async for page in paginator.pages():
            state[key] = paginator.state.to_dict()
            self.report(client, name, len(page.items), page.total)
            yield page

    def spent(self, pages: int) -> bool:
        return self.pages_per_load is not None and pages >= self.pages_per_load


def saved_state(state: Mapping[str, Any], key: str) -> PaginatorState | None:
    saved = state.get(key)
    return PaginatorState.from_dict(saved) if saved else None


def merge_resource(
    read: Read,
    name: str,
    primary_key: str | Sequence[str],
    budget: Budget,
) -> DltResource:
    """A merge-by-key resource with the hard-delete and dedup-sort columns.

    ``read`` runs on the source's own event loop, ahead of dlt (see
    :class:`Prefetch`); each page's rows reach dlt with the position after
    them, which dlt commits with the load. With ``pages_per_load``, the
    resource stops after that many pages and says ``more`` in its state;
    under :func:`sync`, also when no page is waiting (within :data:`GAP`).
    """
    budget.prefetch.readers[name] = read

    def records() -> Iterator[list[dict[str, Any]]]:
        state = dlt.current.resource_state()
        prefetch = budget.prefetch
        feed = prefetch.feed(name, read, state)
        state["more"] = False
        if feed is None:
            return
        pages = 0
        page = feed.next()
        while True:
            if page is None:
                prefetch.done(name)
                return
            rows, position = page
            state.clear()
            state.update(position)
            state["more"] = False
            pages += 1
            if rows:
                yield rows
            if not (prefetch.eager or budget.spent(pages)):
                page = feed.next()
                continue
            page = feed.poll(GAP if prefetch.eager else None)
            if page is not None and (page is NOTHING or budget.spent(pages)):
                if page is not NOTHING:
                    feed.unget(page)
                state["more"] = True
                return

    resource: DltResource = dlt.resource(
        records,
        name=name,
        primary_key=primary_key,
        write_disposition="merge",
        columns={
            DELETED: {"data_type": "bool", "hard_delete": True},
            ORDER: {"data_type": "bigint", "dedup_sort": "desc"},
        },
    )
    return resource


def make_source(name: str, resources: Iterable[DltResource], budget: Budget) -> DltSource:
    """A dlt source named ``name`` (its schema) of these resources."""
    chosen = list(resources)

    @dlt.source(name=name, max_table_nesting=MAX_TABLE_NESTING)
    def source() -> list[DltResource]:
        return chosen

    made: DltSource = source()
    _PREFETCH[made] = budget.prefetch
    weak = weakref.ref(made)

    def selected() -> set[str] | None:
        found = weak()
        return set(found.selected_resources) if found is not None else None

    budget.prefetch.selected = selected
    return made


_PREFETCH: weakref.WeakKeyDictionary[DltSource, Prefetch] = weakref.WeakKeyDictionary()


def has_more(pipeline: dlt.Pipeline, source: DltSource) -> bool:
    """Whether a resource of ``source`` stopped at its page budget in the last run."""
    resources = pipeline.state.get("sources", {}).get(source.name, {}).get("resources", {})
    return any(bool(state.get("more")) for state in resources.values())


def sync(
    pipeline: dlt.Pipeline,
    source: DltSource,
    *,
    on_load: Callable[[LoadInfo], None] | None = None,
    eager: bool = True,
    **run_options: Any,
) -> list[LoadInfo]:
    """Run ``source`` into ``pipeline`` until every resource has read to its end.

    The readers start at once (from the positions dlt keeps) and read on while
    dlt loads. One ``pipeline.run`` per load, each committed with its
    resources' positions. ``eager`` (the default): each load takes the pages
    read while the one before it was loading (at most the source's
    ``pages_per_load``), so data reaches the destination soon after it is read
    and the last load is small; the readers start from this working
    directory's positions before dlt restores them from the destination (a
    reader whose position was stale starts again, its first requests lost).
    ``eager=False``: each load waits for ``pages_per_load`` pages of each
    resource (one load without it): fewer loads, less CPU when reading is slow
    (many accounts in one worker); the positions are restored from the
    destination before the first request (workers whose working directories
    may be behind).

    Returns each load's :class:`~dlt.common.pipeline.LoadInfo` (``on_load`` is
    told each one as it is committed). Other keywords go to ``pipeline.run``
    (into DuckDB, ``loader_file_format`` defaults to ``jsonl``, and dlt's
    intermediate files are written uncompressed: :func:`_write_plain`). The
    pipeline's extract poll is 1 ms (:func:`_end_extract_soon`), and its
    destination's capabilities are worked out once a sync
    (:func:`_capabilities_kept`): each load's fixed cost, which the last load
    adds after the last page.
    """
    destination = getattr(pipeline.destination, "destination_name", None)
    if destination == "duckdb":
        # DuckDB reads JSON Lines files several times faster than dlt's INSERT statements.
        run_options.setdefault("loader_file_format", "jsonl")
        _write_plain(pipeline)
    _end_extract_soon(pipeline)
    loads: list[LoadInfo] = []
    prefetch = _PREFETCH.get(source)
    try:
        if prefetch is not None:
            prefetch.eager = eager
            if eager:  # before anything opens the destination (see _start_reading)
                prefetch.start(_positions(pipeline, source))
        with (
            _kept_open(pipeline, destination, run_options),
            _capabilities_kept(pipeline, run_options),
        ):
            if prefetch is not None:
                _start_reading(pipeline, source, prefetch, run_options)
            while not loads or has_more(pipeline, source):
                loads.append(pipeline.run(source, **run_options))
                if on_load is not None:
                    on_load(loads[-1])
    finally:
        if prefetch is not None:
            prefetch.close()
    return loads


def _write_plain(pipeline: dlt.Pipeline) -> None:
    """dlt's files for this pipeline written plain, not gzipped (unless configured otherwise).

    Into a local DuckDB the files are read from this disk: compressing them is
    only CPU, about a tenth of dlt's share of a record (extract and normalize
    each write every row). Set as dlt's own setting, scoped to the pipeline's
    name (``<pipeline_name>.data_writer.disable_compression``); a value the user
    configured for that key stays.
    """
    _set_default(pipeline, "data_writer.disable_compression", True)


def _end_extract_soon(pipeline: dlt.Pipeline) -> None:
    """dlt's extract of each load ends a millisecond after its last row, not ten.

    When every resource is read, dlt's pipe iterator sleeps one
    ``extract.futures_poll_interval`` (0.01 s) before it sees that nothing is
    left, twice a load (the resources, then the state): 20 ms of each load's
    wall time, the last load's included. crmkit's resources hand dlt plain
    pages (no futures to wait for), so a shorter poll spins no more than that.
    Scoped to the pipeline's name like :func:`_write_plain`.
    """
    _set_default(pipeline, "extract.futures_poll_interval", 0.001)


def _set_default(pipeline: dlt.Pipeline, key: str, value: Any) -> None:
    """dlt's setting ``key`` for this pipeline (``<pipeline_name>.<key>``), unless configured."""
    scoped = f"{pipeline.pipeline_name}.{key}"
    with _CONFIG_LOCK:
        if scoped not in dlt.config:
            dlt.config[scoped] = value


_CONFIG_LOCK = threading.Lock()


@contextmanager
def _kept_open(
    pipeline: dlt.Pipeline, destination: str | None, run_options: Mapping[str, Any]
) -> Iterator[None]:
    """Into DuckDB: the database held open for the whole sync.

    dlt opens the database file for each load and closes it after, and the
    close checkpoints the file: about 0.1 s of CPU a load, more as the file
    grows. While one connection stays open, each load's own connection joins
    the open database instead. A load's commit stays durable (DuckDB's
    write-ahead log, replayed when the file is next opened).
    """
    if destination != "duckdb" or {"destination", "dataset_name"} & set(run_options):
        yield
        return
    with pipeline.sql_client():
        yield


@contextmanager
def _capabilities_kept(pipeline: dlt.Pipeline, run_options: Mapping[str, Any]) -> Iterator[None]:
    """The destination's capabilities worked out once for the sync, not a few times a load.

    dlt asks the destination factory for its capabilities about seven times a
    ``pipeline.run`` (each step, each client), and each time resolves the
    destination's whole configuration from the config providers: over a third
    of a small load's CPU. For the sync, on its own thread, the pipeline's
    destination answers from what it answered first for the same naming
    convention (a copy, as dlt changes what it is given); other threads and
    calls with a resolved configuration go to dlt as before, and the
    destination is as it was after the sync.
    """
    destination = pipeline.destination
    if destination is None or {"destination", "credentials", "staging"} & set(run_options):
        yield
        return
    ask = destination.capabilities
    thread = threading.get_ident()
    known: dict[Any, DestinationCapabilitiesContext] = {}

    def capabilities(config: Any = None, naming: Any = None) -> DestinationCapabilitiesContext:
        if config is not None or threading.get_ident() != thread:
            return ask(config, naming)
        key = (
            None if naming is None else (type(naming), naming.is_case_sensitive, naming.max_length)
        )
        if key not in known:
            known[key] = ask(None, naming)
        return copy.deepcopy(known[key])

    with _CONFIG_LOCK:
        # Another sync of the same destination object keeps its own (for its own thread).
        mine = "capabilities" not in vars(destination)
        if mine:
            destination.capabilities = capabilities  # type: ignore[method-assign]
    try:
        yield
    finally:
        if mine:
            with _CONFIG_LOCK:
                del destination.capabilities


def _start_reading(
    pipeline: dlt.Pipeline, source: DltSource, prefetch: Prefetch, run_options: Mapping[str, Any]
) -> None:
    """Restore the positions from the destination as ``pipeline.run`` would, then start the readers.

    Readers :func:`sync` started earlier (``eager``) read on from this working
    directory's positions meanwhile: restoring opens the database and reads
    its state table, a tenth of a second the first request then does not wait
    for. A resource whose restored position differs (another machine loaded
    since, the dataset dropped) starts again from it (:meth:`Prefetch.feed`),
    and what its first reader read is dropped unloaded. Readers not started
    yet start here, from the restored positions.
    """
    # A destination coming with the run (or none yet) leaves the restoring to the run.
    known = pipeline.destination is not None and not {"destination", "dataset_name"} & set(
        run_options
    )
    if known and pipeline.config.restore_from_destination and not pipeline.dev_mode:
        pipeline.sync_destination()
    prefetch.start(_positions(pipeline, source))


def _positions(pipeline: dlt.Pipeline, source: DltSource) -> dict[str, dict[str, Any]]:
    """Each selected resource's state as the pipeline holds it now."""
    saved = pipeline.state.get("sources", {}).get(source.name, {}).get("resources", {})
    return {name: dict(saved.get(name, {})) for name in source.selected_resources}
