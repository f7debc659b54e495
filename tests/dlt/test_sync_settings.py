"""What ``sync`` sets on dlt for DuckDB: intermediate files written plain, unless configured."""

from __future__ import annotations

from pathlib import Path

import dlt

from crmkit.amocrm.sandbox import AmoCRMSandbox
from crmkit.dlt import amocrm_source, sync

from .conftest import make_pipeline


def _gzipped(pipeline: dlt.Pipeline) -> dict[str, bool]:
    """Each table of the loaded job files, and whether any of its files is gzip (magic bytes)."""
    found: dict[str, bool] = {}
    for path in Path(pipeline.working_dir, "load", "loaded").rglob("completed_jobs/*"):
        table = path.name.split(".")[0]
        found[table] = found.get(table, False) or path.read_bytes()[:2] == b"\x1f\x8b"
    return found


def _sync(pipeline: dlt.Pipeline) -> None:
    sandbox = AmoCRMSandbox(leads=30, rate_limit=None)
    sandbox.clock.advance(10)
    source = amocrm_source(
        base_url="http://acme.amocrm.test",
        access_token=sandbox.credentials.access_token,
        transport=sandbox.transport(),
        allow_insecure_http=True,
        resources=("leads",),
    )
    sync(pipeline, source)


def test_into_duckdb_the_files_are_written_plain(tmp_path: Path) -> None:
    pipeline = make_pipeline(tmp_path, "plain_files")
    _sync(pipeline)
    files = _gzipped(pipeline)
    assert {"leads", "leads__custom_fields", "_dlt_pipeline_state"} <= set(files), files
    assert not any(files.values()), files


def test_a_configured_compression_stays(tmp_path: Path) -> None:
    """The user's own ``data_writer.disable_compression`` for the pipeline is kept."""
    pipeline = make_pipeline(tmp_path, "gzip_files")
    key = "gzip_files.data_writer.disable_compression"
    with dlt.config.values({key: False}):
        _sync(pipeline)
    files = _gzipped(pipeline)
    assert files["leads__custom_fields"] and files["_dlt_pipeline_state"], files
