"""RetailCRM as a dlt source: the entity lists once, then their change history applied.

The first run notes where each history stands (its last change id: two small
requests) and reads the whole listing. Every later run reads only the history
after that id (``filter[sinceId]``, never ``page``) and applies it: the
records it names are read again by id (one request per history page) and
merged, and a change with ``deleted: true`` deletes its record. Both phases
save their position after every page.

Custom fields: RetailCRM sends ``customFields`` as a map of code to value, so
they become columns ``custom_fields__<code>`` (lists of values a child table).
An order's ``items`` are the child table ``orders__items``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from dlt.extract import DltResource, DltSource

from ..retailcrm import HistoryEntry, RetailCRM
from ._base import (
    Budget,
    OnPage,
    Rows,
    SharedClient,
    make_source,
    merge_resource,
    saved_state,
    to_row,
)

__all__ = ["RETAILCRM_RESOURCES", "retailcrm_source"]

#: Resource name -> (client attribute, API path, the history entry's key for the record).
RETAILCRM_RESOURCES: dict[str, tuple[str, str, str]] = {
    "orders": ("orders", "orders", "order"),
    "customers": ("customers", "customers", "customer"),
    "customers_corporate": ("customers_corporate", "customers-corporate", "customerCorporate"),
}
#: History entries read per request while finding where the history stands.
_PROBE_PAGE = 20


def retailcrm_source(
    url: str,
    api_key: str,
    *,
    resources: Sequence[str] = tuple(RETAILCRM_RESOURCES),
    page_size: int | None = None,
    pages_per_load: int | None = None,
    on_page: OnPage | None = None,
    **client_options: Any,
) -> DltSource:
    """A dlt source of one RetailCRM account: arguments as :class:`~crmkit.RetailCRM`'s.

    ``resources`` picks from :data:`RETAILCRM_RESOURCES`; ``pages_per_load``
    and ``on_page``: see :func:`crmkit.dlt.sync`.
    """
    unknown = [name for name in resources if name not in RETAILCRM_RESOURCES]
    if unknown:
        raise ValueError(
            f"retailcrm_source: unknown resources {unknown}: "
            f"choose from {', '.join(RETAILCRM_RESOURCES)}"
        )
    if not api_key:
        raise ValueError("retailcrm_source needs an api_key")
    budget = Budget(pages_per_load, on_page)
    shared = SharedClient(lambda: RetailCRM(url, api_key, **client_options), budget)
    chosen = [_resource(name, shared, budget, page_size) for name in resources]
    return make_source("retailcrm", chosen, budget)


def _resource(
    name: str, shared: SharedClient[RetailCRM], budget: Budget, page_size: int | None
) -> DltResource:
    attribute, path, history_key = RETAILCRM_RESOURCES[name]

    async def read(state: dict[str, Any]) -> AsyncIterator[list[dict[str, Any]]]:
        rows = Rows()
        async with shared.use() as crm:
            resource = getattr(crm, attribute)
            listing = saved_state(state, "list")
            if listing is None or not listing.done:
                if listing is None:
                    state["history_since"] = await _last_change(crm, path)
                paginator = resource.list(resume_from=listing, page_size=page_size)
                async for page in budget.pages(crm, name, paginator, state, "list"):
                    yield [rows.upsert(to_row(item)) for item in page.items]
                return  # the history is read from the next run on
            saved = saved_state(state, "history")
            if saved is not None and saved.cursor is not None:
                history = resource.history(resume_from=saved, page_size=page_size)
            else:  # no change read yet: from where the history stood before the listing
                history = resource.history(state.get("history_since"), page_size=page_size)
            async for page in budget.pages(crm, name, history, state, "history"):
                changed, deleted = _changes(page.items, history_key)
                applied: list[dict[str, Any]] = []
                if changed:
                    found = resource.list(filter={"ids": sorted(changed)}, page_size=100)
                    applied += [rows.upsert(to_row(item)) async for item in found]
                applied += [rows.delete("id", record_id) for record_id in sorted(deleted)]
                yield applied  # one page of history, whole: its position comes with it

    return merge_resource(read, name, "id", budget)


def _changes(entries: Sequence[HistoryEntry], key: str) -> tuple[set[int], set[int]]:
    """The ids a page of history changed, and those it deleted (a deletion is final)."""
    changed: set[int] = set()
    deleted: set[int] = set()
    for entry in entries:
        record = getattr(entry, key, None) if key in ("order", "customer") else None
        if record is None:
            record = entry.extra.get(key)
        if not isinstance(record, Mapping) or record.get("id") is None:
            continue
        record_id = int(record["id"])
        (deleted if entry.deleted else changed).add(record_id)
    return changed - deleted, deleted


async def _last_change(crm: RetailCRM, path: str) -> int | None:
    """The id of the newest change in the history (None when there is none)."""
    params: dict[str, Any] = {"limit": _PROBE_PAGE}
    first = await crm.request("GET", f"{path}/history", params=params)
    pages = int((first.get("pagination") or {}).get("totalPageCount") or 1)
    last = first
    if pages > 1:
        last = await crm.request("GET", f"{path}/history", params={**params, "page": pages})
    entries = last.get("history") or []
    return int(entries[-1]["id"]) if entries else None
