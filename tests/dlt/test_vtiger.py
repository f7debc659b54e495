"""vtiger into DuckDB and PostgreSQL: every module by its sync feed, then updates and deletions."""

from __future__ import annotations

import asyncio
from typing import Any

from crmkit import Vtiger
from crmkit.dlt import vtiger_source
from crmkit.vtiger.sandbox import DEFAULT_ACCESS_KEY, DEFAULT_USER, VtigerSandbox

from .conftest import Loaded


def _client(sandbox: VtigerSandbox) -> dict[str, Any]:
    return {
        "url": "http://crm.vtiger.test",
        "username": DEFAULT_USER,
        "access_key": DEFAULT_ACCESS_KEY,
        "transport": sandbox.transport(),
        "allow_insecure_http": True,
    }


def _in(sandbox: VtigerSandbox, module: str) -> int:
    return sum(1 for record in sandbox.records.values() if record["_module"] == module)


def test_sync_feed_updates_and_deletions(loaded_anywhere: Loaded) -> None:
    loaded = loaded_anywhere
    sandbox = VtigerSandbox(leads=230, contacts=20, accounts=4)
    sandbox.clock.advance(10)

    def source() -> Any:
        return vtiger_source(on_page=loaded.on_page, **_client(sandbox))

    loaded.sync(source())
    for module in ("Leads", "Contacts", "Accounts"):
        assert loaded.count(module.lower()) == _in(sandbox, module), module
    assert loaded.read("leads") == 230

    # Run 2: two leads revised, one created with a custom field, two deleted.
    sandbox.clock.advance(5)

    async def change() -> str:
        async with Vtiger(**_client(sandbox)) as crm:
            await crm.revise("10x4", {"lastname": "Revised"})
            await crm.revise("10x5", {"lastname": "Revised"})
            await crm.delete("10x6")
            await crm.delete("10x7")
            created = await crm.create("Leads", {"lastname": "Newman", "cf_851": "gold"})
            return str(created["id"])

    new_id = asyncio.run(change())
    sandbox.clock.advance(5)
    loaded.sync(source())
    assert loaded.read("leads") == 5  # 3 updated records, 2 deleted ids
    assert loaded.read("contacts") == 0
    assert loaded.count("leads") == _in(sandbox, "Leads") == 229
    assert loaded.column("SELECT id FROM leads WHERE id IN ('10x6', '10x7')") == []
    revised = loaded.column("SELECT id FROM leads WHERE lastname = 'Revised' ORDER BY id")
    assert revised == ["10x4", "10x5"]
    assert loaded.rows(f"SELECT lastname, cf_851 FROM leads WHERE id = '{new_id}'") == [
        ("Newman", "gold")
    ]

    # Run 3: a contact deleted, nothing else. The feed resumes at the last window's
    # lastModifiedTime, which it includes: run 2's last instant may come again (and merges).
    sandbox.clock.advance(5)
    sandbox.remove("12x3")
    sandbox.clock.advance(5)
    loaded.sync(source())
    assert loaded.read("leads") <= 5
    assert loaded.read("contacts") == 1
    assert loaded.count("contacts") == _in(sandbox, "Contacts") == 19
    assert loaded.count("leads") == 229
