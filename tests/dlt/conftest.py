"""A dlt pipeline into a DuckDB file of the test's own, and a way to read its tables."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")  # no usage reports from tests

import dlt
import pytest

import crmkit.dlt
from tests._postgres import postgres_url  # noqa: F401  (the fixture)


class Loaded:
    """A pipeline and the rows it loaded, read back with SQL."""

    def __init__(self, pipeline: dlt.Pipeline) -> None:
        self.pipeline = pipeline
        self.pages: list[tuple[str, int]] = []

    def on_page(self, page: crmkit.dlt.PageRead) -> None:
        self.pages.append((page.resource, page.records))

    def read(self, resource: str) -> int:
        """Records the last sync read from ``resource``."""
        return sum(n for name, n in self.pages if name == resource)

    def sync(self, source: Any) -> None:
        self.pages.clear()
        crmkit.dlt.sync(self.pipeline, source)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        with self.pipeline.sql_client() as client:
            return [tuple(row) for row in client.execute_sql(sql)]

    def count(self, table: str) -> int:
        return int(self.rows(f"SELECT count(*) FROM {table}")[0][0])

    def column(self, sql: str) -> list[Any]:
        return [row[0] for row in self.rows(sql)]


def make_pipeline(tmp_path: Path, name: str, destination: Any = None) -> dlt.Pipeline:
    return dlt.pipeline(
        pipeline_name=name,
        pipelines_dir=str(tmp_path / "pipelines"),
        destination=destination or dlt.destinations.duckdb(str(tmp_path / f"{name}.duckdb")),
        dataset_name=f"{name}_data",
    )


@pytest.fixture
def loaded(tmp_path: Path) -> Iterator[Loaded]:
    yield Loaded(make_pipeline(tmp_path, "crm"))


@pytest.fixture(params=["duckdb", "postgres"])
def loaded_anywhere(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Loaded]:
    """``loaded``, into DuckDB and into a real PostgreSQL."""
    destination = None
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
        destination = dlt.destinations.postgres(credentials=url)
    yield Loaded(make_pipeline(tmp_path, f"crm_{request.param}", destination))
