"""amoCRM as a dlt source: each entity list, merged by id, incremental by the server's clock.

A first run reads every record; later runs send ``modified_since`` (the last
finished run's watermark), so only what changed comes back. A run stopped
mid-listing resumes at its next page.

Custom fields: ``custom_fields_values`` becomes the child table
``<entity>__custom_fields`` with one row per value (``field_id``,
``field_code``, ``field_name``, ``value``, ``enum_id``, ``enum_code``, those
the account sends).

Deletions: amoCRM reports them in its events feed (``/api/v4/events``; the
types are those of its events list, amocrm.ru/developers/content/crm_platform/
events-and-notes). Each later run of a resource first reads the deletion
events since the last run (kept as ``events_from`` in the resource state, the
server's clock) and deletes those rows, then reads the listing; a record
deleted and restored in between comes back with the listing. Leads, contacts,
companies, customers: ``{entity}_deleted``; tasks: ``task_deleted``; notes:
``common_note_deleted`` on the record the note was under, naming the note
(``{"note": {"id": ...}}`` in ``value_before`` or ``value_after``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from dlt.extract import DltResource, DltSource

from ..amocrm import AmoCRM
from ._base import Budget, OnPage, Rows, SharedClient, make_source, merge_resource, saved_state
from ._base import to_row as _to_row

__all__ = ["AMOCRM_RESOURCES", "amocrm_source"]

#: Resource name -> (client attribute, notes' parent type or None).
AMOCRM_RESOURCES: dict[str, tuple[str, str | None]] = {
    "leads": ("leads", None),
    "contacts": ("contacts", None),
    "companies": ("companies", None),
    "customers": ("customers", None),
    "tasks": ("tasks", None),
    "lead_notes": ("notes", "leads"),
    "contact_notes": ("notes", "contacts"),
    "company_notes": ("notes", "companies"),
}
_DEFAULT = ("leads", "contacts", "companies", "tasks", "lead_notes")
#: The event that says a record of the resource was deleted, and the entity it is on.
DELETION_EVENTS: dict[str, tuple[str, str]] = {
    "leads": ("lead_deleted", "lead"),
    "contacts": ("contact_deleted", "contact"),
    "companies": ("company_deleted", "company"),
    "customers": ("customer_deleted", "customer"),
    "tasks": ("task_deleted", "task"),
    "lead_notes": ("common_note_deleted", "lead"),
    "contact_notes": ("common_note_deleted", "contact"),
    "company_notes": ("common_note_deleted", "company"),
}


def amocrm_source(
    subdomain: str | None = None,
    *,
    resources: Sequence[str] = _DEFAULT,
    page_size: int | None = None,
    pages_per_load: int | None = None,
    on_page: OnPage | None = None,
    **client_options: Any,
) -> DltSource:
    """A dlt source of one amoCRM account; the account's arguments are :class:`~crmkit.AmoCRM`'s.

    ``resources`` picks from :data:`AMOCRM_RESOURCES` (customers only where the
    account has them enabled). ``pages_per_load`` and ``on_page``: see
    :func:`crmkit.dlt.sync`.
    """
    unknown = [name for name in resources if name not in AMOCRM_RESOURCES]
    if unknown:
        raise ValueError(
            f"amocrm_source: unknown resources {unknown}: choose from {', '.join(AMOCRM_RESOURCES)}"
        )
    budget = Budget(pages_per_load, on_page)
    shared = SharedClient(lambda: AmoCRM(subdomain, **client_options), budget)
    resources_ = [_resource(name, shared, budget, page_size) for name in resources]
    return make_source("amocrm", resources_, budget)


def _resource(
    name: str, shared: SharedClient[AmoCRM], budget: Budget, page_size: int | None
) -> DltResource:
    attribute, parent = AMOCRM_RESOURCES[name]

    async def read(state: dict[str, Any]) -> AsyncIterator[list[dict[str, Any]]]:
        saved = saved_state(state, "paginator")
        resume = saved if saved is not None and not saved.done else None
        since = saved.watermark if saved is not None and saved.done else None
        rows = Rows()
        async with shared.use() as amo:
            event = DELETION_EVENTS.get(name)
            if event is not None and state.get("events_from") and resume is None:
                yield await _deletions(amo, budget, name, event, state, rows)
            resource = amo.notes.of(parent) if parent else getattr(amo, attribute)
            paginator = resource.list(modified_since=since, resume_from=resume, page_size=page_size)
            async for page in budget.pages(amo, name, paginator, state, "paginator"):
                if event is not None and paginator.watermark is not None:
                    # deletions from the first listing's start on are the next run's
                    state.setdefault("events_from", paginator.watermark.isoformat())
                yield [rows.upsert(to_row(item)) for item in page.items]

    return merge_resource(read, name, "id", budget)


async def _deletions(
    amo: AmoCRM,
    budget: Budget,
    name: str,
    event: tuple[str, str],
    state: dict[str, Any],
    rows: Rows,
) -> list[dict[str, Any]]:
    """The rows deleting what the ``event``s since ``state["events_from"]`` name; moves it on."""
    since = datetime.fromisoformat(str(state["events_from"]))
    kind, entity = event
    events = amo.events.list(
        filter={"type": [kind], "entity": [entity], "created_at": {"from": int(since.timestamp())}}
    )
    gone = sorted({found async for item in events for found in _deleted_ids(item)})
    if events.watermark is not None:
        state["events_from"] = events.watermark.isoformat()
    budget.report(amo, name, len(gone), None)
    return [rows.delete("id", entity_id) for entity_id in gone]


def _deleted_ids(event: Any) -> list[int]:
    """The ids a deletion event names: a note's from its value, else the entity's own."""
    if event.type != "common_note_deleted":
        return [event.entity_id] if event.entity_id is not None else []
    values = [*(event.value_before or []), *(event.value_after or [])]
    notes = [value.get("note") for value in values if isinstance(value, dict)]
    return [int(note["id"]) for note in notes if isinstance(note, dict) and note.get("id")]


def to_row(item: Any) -> dict[str, Any]:
    """An amoCRM record with its custom fields as one row per value."""
    row = _to_row(item)
    fields = row.pop("custom_fields_values", None) or []
    row["custom_fields"] = [
        {
            key: found
            for key, found in (
                ("field_id", field.get("field_id")),
                ("field_code", field.get("field_code")),
                ("field_name", field.get("field_name")),
                ("value", value.get("value")),
                ("enum_id", value.get("enum_id")),
                ("enum_code", value.get("enum_code")),
            )
            if found is not None
        }
        for field in fields
        for value in field.get("values") or []
    ]
    return row
