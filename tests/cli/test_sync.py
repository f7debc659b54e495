"""``crmkit sync``: accounts into DuckDB (the default destination), then only their changes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb

from crmkit.amocrm.sandbox import AmoCRMSandbox
from crmkit.retailcrm.sandbox import DEFAULT_API_KEY, RetailCRMSandbox
from crmkit.vtiger.sandbox import DEFAULT_ACCESS_KEY, DEFAULT_USER, VtigerSandbox

TOKEN = AmoCRMSandbox().credentials.access_token


def crmkit(*args: str, cwd: Path, env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, "-m", "crmkit", *args],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=cwd,
        # dlt keeps its pipelines' working state here (by default, under ~/.dlt)
        env={**os.environ, "DLT_DATA_DIR": str(cwd / "dlt-data"), **(env or {})},
    )


def table(database: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as db:
        return db.execute(sql).fetchall()


def test_sync_into_the_default_duckdb_then_only_changes(tmp_path):
    sandbox = AmoCRMSandbox(leads=260, contacts=15, rate_limit=None)
    sandbox.clock.advance(10)
    with sandbox.serve() as served:
        args = ("sync", "amocrm", "--url", served.url, "--dataset", "acme", "--json",
                "--pages-per-load", "1")  # fmt: skip
        first = crmkit(*args, cwd=tmp_path, env={"CRMKIT_AMOCRM_TOKEN": TOKEN})
        assert first.returncode == 0, first.stderr
        sandbox.clock.advance(5)
        sandbox.touch("leads", [10, 20], name="Changed")
        sandbox.clock.advance(5)
        second = crmkit(*args, cwd=tmp_path, env={"CRMKIT_AMOCRM_TOKEN": TOKEN})
    assert second.returncode == 0, second.stderr
    database = tmp_path / "crmkit.duckdb"
    assert table(database, "SELECT count(*) FROM acme.leads") == [(260,)]
    assert table(database, "SELECT count(*) FROM acme.contacts") == [(15,)]
    names = table(database, "SELECT name FROM acme.leads WHERE id IN (10, 20)")
    assert names == [("Changed",), ("Changed",)]
    runs = [json.loads(run.stdout)["exports"][0] for run in (first, second)]
    assert runs[0]["records"] == 275 and not runs[0]["incremental"]
    assert runs[1]["records"] == 2 and runs[1]["incremental"]
    assert runs[0]["status"] == runs[1]["status"] == "done"
    # every load's requests: leads 2 pages, then contacts, companies, tasks, notes 1 each
    assert runs[0]["requests"] == 6 and runs[0]["rate_limited"] == 0
    for run in (first, second):
        assert TOKEN not in run.stdout + run.stderr
    # nor in what dlt keeps (pipeline state, load packages, traces) or the database
    kept = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert database in kept and len(kept) > 5
    assert not [path for path in kept if TOKEN.encode() in path.read_bytes()]


def test_many_accounts_from_a_config_each_its_own_dataset(tmp_path):
    shop = RetailCRMSandbox(orders=130, customers=10, rate_limit=10)
    crm = VtigerSandbox(leads=40, contacts=5)
    with shop.serve() as a, crm.serve() as b:
        config = tmp_path / "accounts.toml"
        config.write_text(
            f"""
[[sync]]
platform = "retailcrm"
url = "{a.url}"
api_key_env = "SHOP_KEY"
dataset = "shop"
resources = ["orders"]

[[sync]]
platform = "vtiger"
url = "{b.url}"
username = "{DEFAULT_USER}"
access_key = "{DEFAULT_ACCESS_KEY}"
dataset = "office"
"""
        )
        done = crmkit(
            "sync", "--config", str(config), cwd=tmp_path, env={"SHOP_KEY": DEFAULT_API_KEY}
        )
    assert done.returncode == 0, done.stderr
    database = tmp_path / "crmkit.duckdb"
    assert table(database, "SELECT count(*) FROM shop.orders") == [(130,)]
    assert table(database, "SELECT count(*) FROM office.leads") == [(40,)]
    assert table(database, "SELECT count(*) FROM office.contacts") == [(5,)]
    assert "shop" in done.stderr and "office" in done.stderr  # the summary table
    assert shop.rate_limited == 0


def test_sync_usage_errors_name_the_problem(tmp_path):
    missing = crmkit("sync", "amocrm", "--url", "https://acme.amocrm.ru", cwd=tmp_path)
    assert missing.returncode == 2
    assert "token" in missing.stderr and "CRMKIT_AMOCRM_TOKEN" in missing.stderr
    unknown = crmkit(
        "sync", "amocrm", "--subdomain", "acme", "--token", "t", "--resources", "deals",
        cwd=tmp_path,
    )  # fmt: skip
    assert unknown.returncode == 2 and "deals" in unknown.stderr
    assert not (tmp_path / "crmkit.duckdb").exists()
