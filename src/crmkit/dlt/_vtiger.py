"""vtiger as a dlt source: each module through its ``sync`` feed, deletions included.

``sync`` from time zero gives every record of a module, window by window; its
position (the last window's ``lastModifiedTime``) stays in the resource state,
so every later run reads only the records updated since, and the ids deleted
since, which delete their rows. A run stopped mid-feed resumes at the start of
its window (those records come again and merge).

Custom fields: vtiger's ``cf_NNN`` fields are plain columns of the module's
table, as ``describe`` names them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from dlt.extract import DltResource, DltSource

from ..vtiger import Vtiger, vtql
from ._base import Budget, OnPage, Rows, SharedClient, make_source, merge_resource, saved_state

__all__ = ["vtiger_source"]

_DEFAULT_MODULES = ("Leads", "Contacts", "Accounts")


def vtiger_source(
    url: str,
    username: str,
    access_key: str,
    *,
    modules: Sequence[str] = _DEFAULT_MODULES,
    pages_per_load: int | None = None,
    on_page: OnPage | None = None,
    **client_options: Any,
) -> DltSource:
    """A dlt source of one vtiger CRM: arguments as :class:`~crmkit.Vtiger`'s.

    One resource (table) per module in ``modules``, named in snake case
    (``Leads`` -> ``leads``). ``pages_per_load`` and ``on_page``: see
    :func:`crmkit.dlt.sync`.
    """
    if not username or not access_key:
        raise ValueError("vtiger_source needs a username and the user's access key")
    names = [vtql.identifier(module) for module in modules]
    budget = Budget(pages_per_load, on_page)
    shared = SharedClient(lambda: Vtiger(url, username, access_key, **client_options), budget)
    return make_source("vtiger", [_resource(module, shared, budget) for module in names], budget)


def _resource(module: str, shared: SharedClient[Vtiger], budget: Budget) -> DltResource:
    name = module.lower()

    async def read(state: dict[str, Any]) -> AsyncIterator[list[dict[str, Any]]]:
        saved = saved_state(state, "paginator")
        # A feed that never saw a change saved no cursor: it starts from zero again.
        resume = saved if saved is not None and saved.cursor is not None else None
        rows = Rows()
        async with shared.use() as crm:
            paginator = crm.sync(module, resume_from=resume)
            async for page in budget.pages(crm, name, paginator, state, "paginator"):
                yield [
                    rows.upsert(change.record.to_dict())
                    if change.record is not None
                    else rows.delete("id", str(change.id))
                    for change in page.items
                ]

    return merge_resource(read, name, "id", budget)
