"""What the four dlt sources share: the merge hints, one client per source run, page budgets.

Every crmkit resource merges by its primary key (``write_disposition="merge"``)
and carries two columns of its own: ``_crmkit_deleted`` (dlt's ``hard_delete``
hint: a row with it true deletes the record in the destination) and
``_crmkit_order`` (``dedup_sort="desc"``: when one load holds a record twice,
say updated and then deleted, the later row wins).

A resource keeps its position in dlt's resource state, which dlt commits with
the data it loads. A run is one load unless ``pages_per_load`` is set: then
each resource stops after that many pages with ``more`` in its state, and
:func:`sync` runs the pipeline again until no resource has more, so a run that
dies loses at most the pages of the load in progress and the next run resumes
after the last one committed.

Not here: anything a platform decides (which listing, which feed).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, Generic, TypeVar

import attrs
import dlt
from dlt.common.pipeline import LoadInfo
from dlt.extract import DltResource, DltSource

from .._client_base import ClientBase
from .._models import to_wire
from .._pagination import AsyncPaginator, Page, PaginatorState
from .._session import Session

__all__ = [
    "DELETED",
    "ORDER",
    "OnPage",
    "PageRead",
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
    """One client for all of a source's resources in one run.

    dlt runs async resources on an event loop of its own: the client is made
    there, by the first resource that needs it, and closed by the last one to
    finish, so every resource of an account shares one Session (one rate limit).
    """

    def __init__(self, open_client: Callable[[], C]) -> None:
        self._open = open_client
        self._client: C | None = None
        self._users = 0

    @asynccontextmanager
    async def use(self) -> AsyncIterator[C]:
        if self._client is None:
            self._client = self._open()
        client = self._client
        self._users += 1
        try:
            yield client
        finally:
            self._users -= 1
            if self._users == 0:
                self._client = None
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
    """A crmkit model or mapping as a plain dict, by the API's own field names."""
    if hasattr(item, "to_dict"):
        return dict(item.to_dict())
    if isinstance(item, Mapping):
        return dict(item)
    return to_wire(item)


class Budget:
    """Pages per load and progress reports, for every resource of one source."""

    def __init__(self, pages_per_load: int | None, on_page: OnPage | None) -> None:
        if pages_per_load is not None and pages_per_load < 1:
            raise ValueError(f"pages_per_load must be at least 1, not {pages_per_load!r}")
        self.pages_per_load = pages_per_load
        self.on_page = on_page

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
        """The paginator's pages, its position saved in ``state[key]`` with each one.

        Stops after the budget's pages with ``state["more"]`` set.
        """
        state["more"] = False
        count = 0
        async for page in paginator.pages():
            state[key] = paginator.state.to_dict()
            count += 1
            self.report(client, name, len(page.items), page.total)
            yield page
            if self.spent(count) and page.next_cursor is not None:
                state["more"] = True
                return

    def spent(self, pages: int) -> bool:
        return self.pages_per_load is not None and pages >= self.pages_per_load


def saved_state(state: Mapping[str, Any], key: str) -> PaginatorState | None:
    saved = state.get(key)
    return PaginatorState.from_dict(saved) if saved else None


def merge_resource(
    generator: Callable[[], AsyncIterator[list[dict[str, Any]]]],
    name: str,
    primary_key: str | Sequence[str],
) -> DltResource:
    """A merge-by-key resource with the hard-delete and dedup-sort columns."""
    resource: DltResource = dlt.resource(
        generator,
        name=name,
        primary_key=primary_key,
        write_disposition="merge",
        columns={
            DELETED: {"data_type": "bool", "hard_delete": True},
            ORDER: {"data_type": "bigint", "dedup_sort": "desc"},
        },
    )
    return resource


def make_source(name: str, resources: Iterable[DltResource]) -> DltSource:
    """A dlt source named ``name`` (its schema) of these resources."""
    chosen = list(resources)

    @dlt.source(name=name, max_table_nesting=MAX_TABLE_NESTING)
    def source() -> list[DltResource]:
        return chosen

    made: DltSource = source()
    return made


def has_more(pipeline: dlt.Pipeline, source: DltSource) -> bool:
    """Whether a resource of ``source`` stopped at its page budget in the last run."""
    resources = pipeline.state.get("sources", {}).get(source.name, {}).get("resources", {})
    return any(bool(state.get("more")) for state in resources.values())


def sync(pipeline: dlt.Pipeline, source: DltSource, **run_options: Any) -> list[LoadInfo]:
    """Run ``source`` into ``pipeline`` until every resource has read to its end.

    One ``pipeline.run`` per load: with the source's ``pages_per_load`` several,
    each committed with its resources' positions; without, one. Returns each
    load's :class:`~dlt.common.pipeline.LoadInfo`. Other keywords go to
    ``pipeline.run`` (into DuckDB, ``loader_file_format`` defaults to ``jsonl``).
    """
    destination = getattr(pipeline.destination, "destination_name", None)
    if destination == "duckdb":
        # DuckDB reads JSON Lines files several times faster than dlt's INSERT statements.
        run_options.setdefault("loader_file_format", "jsonl")
    loads = [pipeline.run(source, **run_options)]
    while has_more(pipeline, source):
        loads.append(pipeline.run(source, **run_options))
    return loads
