"""The dlt sink in one arq worker (burst mode, in this process): a DuckDB file, entity names.

Two enqueues: the first loads every record, the second reads only what
changed (amoCRM's ``modified_since`` from the state dlt kept in the DuckDB
file, restored into a new working directory by the second attempt).
"""

from __future__ import annotations

import duckdb
import pytest

from crmkit.amocrm.sandbox import AmoCRMSandbox
from crmkit.cli._sources import SpecError
from crmkit.jobs import dlt_resources, load_accounts

from ._accounts import toml_table
from .test_job_outcomes import _run_burst

pytestmark = pytest.mark.anyio


def test_entities_name_their_tables_and_a_history_has_none():
    assert dlt_resources("amocrm", "notes") == ["lead_notes", "contact_notes", "company_notes"]
    assert dlt_resources("retailcrm", "customers-corporate") == ["customers_corporate"]
    assert dlt_resources("vtiger", "Leads") == ["Leads"]
    with pytest.raises(SpecError, match="orders-history"):
        dlt_resources("retailcrm", "orders-history")


def test_a_destination_picks_the_dlt_sink_and_jsonl_stays_the_default(tmp_path):
    config = tmp_path / "accounts.toml"
    config.write_text(
        toml_table(name="a", platform="amocrm", subdomain="a", token="t", entities=["leads"])
        + toml_table(
            name="b", platform="amocrm", subdomain="b", token="t", entities=["leads"],
            destination="postgres",
        )
    )  # fmt: skip
    accounts = load_accounts(config)
    assert (accounts["a"].sink, accounts["b"].sink) == ("jsonl", "dlt")


async def test_a_job_syncs_into_duckdb_then_only_what_changed(redis_url, tmp_path):
    sandbox = AmoCRMSandbox(leads=45, rate_limit=None)
    sandbox.clock.advance(10)
    config, database = tmp_path / "accounts.toml", tmp_path / "crm.duckdb"
    with sandbox.serve() as served:
        config.write_text(
            toml_table(
                name="acme",
                platform="amocrm",
                url=served.url,
                token=sandbox.credentials.access_token,
                entities=["leads"],
                page_size=10,
                destination="duckdb",
                database=str(database),
                pages_per_load=2,
                pipelines_dir=str(tmp_path / "work"),
            )
        )
        board = await _run_burst(redis_url, config, tmp_path / "out")
        first = await board.read("acme", "leads")
        await board.redis.aclose()
        listed = sandbox.requests_by_path.get("/api/v4/leads", 0)
        sandbox.clock.advance(10)
        changed = sorted(sandbox.entities["leads"])[:3]
        sandbox.touch("leads", changed, name="renamed")
        board = await _run_burst(redis_url, config, tmp_path / "out")
        second = await board.read("acme", "leads")
        await board.redis.aclose()
    assert first["state"] == "done" and second["state"] == "done", (first, second)
    assert listed == 5  # 45 leads, 10 a page: 5 pages, loaded two at a time
    assert int(second["records"]) == 3  # only the changed ones
    with duckdb.connect(str(database), read_only=True) as db:
        rows = db.execute("SELECT id, name FROM amocrm_acme.leads").fetchall()
        states = db.execute(
            "SELECT count(*) FROM amocrm_acme._dlt_pipeline_state "
            "WHERE pipeline_name = 'crmkit_acme_leads'"
        ).fetchone()
    assert len(rows) == 45 and len({row[0] for row in rows}) == 45
    assert [row[1] for row in rows if row[0] in changed] == ["renamed"] * 3
    assert states is not None and states[0] >= 4  # 3 loads, then one more
    assert list((tmp_path / "work").iterdir()) == []  # no working directory outlives a job
