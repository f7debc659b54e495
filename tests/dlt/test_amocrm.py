"""amoCRM into DuckDB: a full load, then two incremental runs, checked against the sandbox."""

from __future__ import annotations

import asyncio
from typing import Any

from crmkit import AmoCRM
from crmkit.amocrm.sandbox import AmoCRMSandbox
from crmkit.dlt import amocrm_source

from .conftest import Loaded

RESOURCES = ("leads", "contacts", "companies", "tasks", "lead_notes")


def _options(sandbox: AmoCRMSandbox) -> dict[str, Any]:
    return {
        "base_url": "http://acme.amocrm.test",
        "access_token": sandbox.credentials.access_token,
        "transport": sandbox.transport(),
        "allow_insecure_http": True,
    }


def _values(sandbox: AmoCRMSandbox) -> int:
    return sum(
        len(field.get("values") or [])
        for lead in sandbox.entities["leads"].values()
        for field in lead.get("custom_fields_values") or []
    )


def test_full_load_then_only_changes(loaded: Loaded) -> None:
    sandbox = AmoCRMSandbox(leads=120, contacts=30, companies=6, tasks=12, notes=9, rate_limit=None)
    sandbox.clock.advance(10)  # the seeded records are older than the first run

    def source() -> Any:
        return amocrm_source(
            resources=RESOURCES, page_size=50, on_page=loaded.on_page, **_options(sandbox)
        )

    loaded.sync(source())
    for name in ("leads", "contacts", "companies", "tasks"):
        assert loaded.count(name) == len(sandbox.entities[name]), name
    assert loaded.count("lead_notes") == len(sandbox.entities["notes"])
    assert _values(sandbox) > 0
    assert loaded.count("leads__custom_fields") == _values(sandbox)
    assert loaded.read("leads") == 120

    # Run 2: three leads renamed, one added; only those four are read.
    sandbox.clock.advance(5)
    sandbox.touch("leads", [1, 2, 3], name="Renamed in run 2")

    async def add() -> int | None:
        async with AmoCRM(**_options(sandbox)) as amo:
            result = await amo.leads.add([{"name": "New in run 2", "price": 777}])
        return result.ids[0]

    new_id = asyncio.run(add())
    sandbox.delete("leads", [8, 9])  # each leaves a lead_deleted event
    # A task (task_deleted) and a lead's note (common_note_deleted on the lead) deleted:
    # the event types of amoCRM's events list (amocrm.ru/developers/content/crm_platform/
    # events-and-notes, "Типы событий")
    task_id, note_id = min(sandbox.entities["tasks"]), min(sandbox.entities["notes"])
    sandbox.delete("tasks", [task_id])
    sandbox.delete("notes", [note_id])
    sandbox.clock.advance(5)  # the run starts a while after the changes
    loaded.sync(source())
    assert loaded.read("leads") == 2 + 4  # 2 deletion events, then 3 changed and 1 new
    assert loaded.read("contacts") == 0
    assert loaded.read("tasks") == loaded.read("lead_notes") == 1  # the deletion alone
    assert loaded.column(f"SELECT id FROM tasks WHERE id = {task_id}") == []
    assert loaded.column(f"SELECT id FROM lead_notes WHERE id = {note_id}") == []
    assert loaded.count("tasks") == len(sandbox.entities["tasks"])
    assert loaded.count("lead_notes") == len(sandbox.entities["notes"])
    assert loaded.count("leads") == 121 - 2 == len(sandbox.entities["leads"])
    assert loaded.column("SELECT id FROM leads WHERE id IN (8, 9)") == []
    names = dict(loaded.rows("SELECT id, name FROM leads WHERE id IN (1, 2, 3, 4)"))
    assert names[1] == names[2] == names[3] == "Renamed in run 2"
    assert names[4] == sandbox.entities["leads"][4]["name"]
    assert loaded.rows(f"SELECT price FROM leads WHERE id = {new_id}") == [(777,)]

    # Run 3: a custom field's value changes: the child rows follow, none left behind.
    sandbox.clock.advance(5)
    lead = sandbox.entities["leads"][5]
    field = lead["custom_fields_values"][0]
    sandbox.touch(
        "leads", [5], custom_fields_values=[{**field, "values": [{"value": "+70000000005"}]}]
    )
    sandbox.clock.advance(5)
    loaded.sync(source())
    assert loaded.read("leads") == 1  # no deletions since run 2, one change
    child = loaded.column(
        "SELECT c.value FROM leads__custom_fields c JOIN leads l ON c._dlt_parent_id = l._dlt_id"
        " WHERE l.id = 5"
    )
    assert child == ["+70000000005"]
    assert loaded.count("leads__custom_fields") == _values(sandbox)
    assert loaded.count("leads") == len(sandbox.entities["leads"])
