"""What ``sync`` sets on dlt: plain files into DuckDB, a short extract poll, capabilities once."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import dlt
import pytest

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


def _sync(pipeline: dlt.Pipeline, on_load: Any = None, **options: Any) -> list[Any]:
    """30 sandbox leads synced into ``pipeline``; ``options`` go to the source."""
    sandbox = AmoCRMSandbox(leads=30, rate_limit=None)
    sandbox.clock.advance(10)
    source = amocrm_source(
        base_url="http://acme.amocrm.test",
        access_token=sandbox.credentials.access_token,
        transport=sandbox.transport(),
        allow_insecure_http=True,
        resources=("leads",),
        **options,
    )
    return sync(pipeline, source, eager=not options, on_load=on_load)


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


def test_the_extract_poll_is_a_millisecond_unless_configured(tmp_path: Path) -> None:
    """dlt's ``extract.futures_poll_interval`` for the pipeline: 1 ms, or the user's own value."""
    short = make_pipeline(tmp_path, "short_poll")
    _sync(short)
    assert dlt.config["short_poll.extract.futures_poll_interval"] == 0.001

    kept = make_pipeline(tmp_path, "kept_poll")
    key = "kept_poll.extract.futures_poll_interval"
    with dlt.config.values({key: 0.02}):
        _sync(kept)
        assert dlt.config[key] == 0.02


def test_the_destination_capabilities_are_worked_out_once_a_sync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Six loads ask dlt's destination factory a handful of times, not ~7 times a load.

    The factory's own ``capabilities`` is counted (the class's method, which the
    sync's cache asks). During the sync, another thread's question goes to dlt
    while the sync's own thread is answered from the cache; after the sync the
    destination answers from dlt again.
    """
    pipeline = make_pipeline(tmp_path, "caps_once")
    destination = pipeline.destination
    assert destination is not None
    asked: list[object] = []
    original = type(destination).capabilities

    def counted(self: Any, config: Any = None, naming: Any = None) -> Any:
        asked.append(config)
        return original(self, config, naming)

    monkeypatch.setattr(type(destination), "capabilities", counted)
    answered: list[tuple[int, int]] = []  # (asked by the sync's thread, by another thread)

    def during(info: Any) -> None:
        before = len(asked)
        destination.capabilities()
        mine = len(asked) - before
        other = threading.Thread(target=destination.capabilities)
        other.start()
        other.join()
        answered.append((mine, len(asked) - before - mine))

    # a load a page (eager=False)
    loads = _sync(pipeline, on_load=during, page_size=5, pages_per_load=1)
    assert len(loads) >= 6
    assert answered == [(0, 1)] * len(loads)
    unresolved = [config for config in asked if config is None]
    assert len(loads) + 1 <= len(unresolved) <= len(loads) + 3, len(unresolved)
    assert "capabilities" not in vars(destination)
    with pipeline.sql_client() as client:
        assert client.execute_sql("SELECT count(*) FROM leads")[0][0] == 30
    asked.clear()
    destination.capabilities()
    assert asked == [None]
