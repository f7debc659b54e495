"""The ``dlt`` sink: a job syncs its account's entity into a dlt destination (extra ``dlt``).

An account with ``destination = "postgres"`` (or ``sink = "dlt"``) in
accounts.toml is synced through :mod:`crmkit.dlt` instead of exported to JSON
Lines: its entity's records merged by id into ``dataset`` (by default
``<platform>_<account>``, as ``crmkit sync`` names it), deletions applied.

The checkpoint is the dlt pipeline's state, which dlt commits in the
destination itself with every load (its ``_dlt_pipeline_state`` table), one
load every ``pages_per_load`` pages (10 by default). Each attempt works in a
new, private ``pipelines_dir`` (under the option ``pipelines_dir``, else the
system's temporary directory) that it deletes when it ends: nothing a worker
keeps locally outlives the attempt, so every attempt, on whichever worker,
restores the state from the destination (dlt's ``restore_from_destination``,
on by default) and resumes after the last committed load. A worker killed
mid-load leaves its load uncommitted; whoever runs the job next reads those
pages again, and the merge by primary key keeps each record once. (A working
directory kept between attempts could hold a stale local state newer than the
destination's, or pending packages that a later run would load over a newer
position: hence none is kept.)

Each account+entity is its own pipeline (``crmkit_<account>_<entity>``) with
its own schema (``<platform>_<entity>``), so the jobs of an account's entities
share a dataset without sharing state or schema. A slice ends after the
first load committed past ``slice_seconds``; a failed load (the destination
unreachable, a migration race) is retried with backoff like a transport error.
A slice cut off at its hard limit waits for the load in progress to end (two
merges of one table at once could both insert a row); a load longer than the
margin between that limit and arq's ``job_timeout`` (half a slice, at least
5 s) is cut by arq, which then drops the job: keep ``pages_per_load`` small
enough that a load takes well under that.

Destinations: ``destination`` names any dlt destination; ``credentials``
(or ``credentials_env``, read on the worker) are handed to it, else dlt reads
its own configuration (``DESTINATION__POSTGRES__CREDENTIALS``). ``duckdb``
takes ``database = "path.duckdb"``: a DuckDB file admits one writing process,
so it suits one worker; Postgres (or any server) suits many.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from typing import Any

from .._files import in_thread
from ..cli._sources import ExportSpec, SpecError, _client_options
from ..cli._sync import _cause, _slug, _source_maker
from ..errors import CRMError
from ._worker import AccountRun, SinkUnavailable, shared_client_options

__all__ = ["DEFAULT_PAGES_PER_LOAD", "dlt_sink"]

#: Pages per table in each committed load (the checkpoint's grain) unless the account says.
DEFAULT_PAGES_PER_LOAD = 10
_AMOCRM_NOTES = ("lead_notes", "contact_notes", "company_notes")


class _Stopped(Exception):
    """The attempt was cancelled: its reading stops at the next page."""


def dlt_resources(platform: str, entity: str) -> list[str]:
    """The dlt tables (resources, vtiger modules) that hold ``entity`` of ``platform``."""
    from ..dlt import AMOCRM_RESOURCES, RETAILCRM_RESOURCES

    if platform == "amocrm":
        if entity == "notes":
            return list(_AMOCRM_NOTES)
        if entity in AMOCRM_RESOURCES:
            return [entity]
    elif platform == "retailcrm":
        if entity.replace("-", "_") in RETAILCRM_RESOURCES:
            return [entity.replace("-", "_")]
    else:
        return [entity]  # vtiger's modules; Corezoid's source reads its refs or nodes
    raise SpecError(f"{platform}: the dlt sink has no table for {entity!r}")


def _destination(spec: ExportSpec) -> Any:
    import dlt
    from dlt.common.destination import Destination

    name = str(spec.option("destination", "duckdb"))
    credentials = spec.option("credentials")
    if name == "duckdb":
        database = spec.option("database") or credentials
        if not database:
            raise SpecError('the duckdb destination needs database = "path.duckdb"')
        return dlt.destinations.duckdb(str(database))
    if spec.option("database") is not None:
        raise SpecError("database is for the duckdb destination")
    return Destination.from_reference(name, credentials=credentials) if credentials else name


def _reader_redis(redis: Any) -> Any:
    """A new client to the worker's Redis, for the dlt source's reading loop (its own thread).

    The worker's client (arq's pool) belongs to the worker's event loop; the
    source reads on another, so its throttle and stores need connections of
    their own, made lazily on that loop and closed there.
    """
    import redis.asyncio as aioredis

    pool = redis.connection_pool
    fresh = aioredis.ConnectionPool(
        connection_class=pool.connection_class, **pool.connection_kwargs
    )
    return aioredis.Redis.from_pool(fresh)


async def dlt_sink(run: AccountRun) -> None:
    """Sync ``run``'s entity into the account's dlt destination, a load per slice step.

    Raises the crmkit error under dlt's wrappers (so blocks and transport
    errors are told apart as for exports), :class:`SinkUnavailable` for a
    failed load, and the worker's slice end after a load committed in time.
    """
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    account, entity = run.account, run.entity
    spec = ExportSpec(
        account.platform,
        entity,
        {**account.options, "resources": dlt_resources(account.platform, entity)},
    )
    options = _client_options(spec)
    dataset = str(spec.option("dataset") or _slug(f"{account.platform}_{account.name}"))
    pipeline_name = _slug(f"crmkit_{account.name}_{entity}")
    schema_name = _slug(f"{account.platform}_{entity}")
    pages_per_load = int(spec.option("pages_per_load", DEFAULT_PAGES_PER_LOAD))
    if pages_per_load < 1:
        raise SpecError(f"{account.name}: pages_per_load must be at least 1")
    destination = _destination(spec)
    parent = spec.option("pipelines_dir")
    redis = _reader_redis(run.redis)
    shared = shared_client_options(account, spec, redis)
    make_source = _source_maker(spec, {**options, **shared})
    stats = run.stats
    stop = threading.Event()

    def on_page(page: Any) -> None:
        if stop.is_set():
            raise _Stopped
        stats.records += page.records
        stats.pages += 1
        stats.session = page.session.stats

    async def close_shared() -> None:  # on the reading loop, when it stops
        for value in shared.values():
            if hasattr(value, "aclose"):
                await value.aclose()
        await redis.aclose()

    def blocking() -> None:
        import dlt

        from ..dlt import sync
        from ..dlt._base import _PREFETCH, has_more

        if parent:
            os.makedirs(str(parent), exist_ok=True)
        workdir = tempfile.mkdtemp(prefix="crmkit-dlt-", dir=str(parent) if parent else None)
        try:
            pipeline = dlt.pipeline(
                pipeline_name=pipeline_name,
                pipelines_dir=workdir,
                destination=destination,
                dataset_name=dataset,
            )
            made = make_source(on_page, pages_per_load)
            source = made.clone(with_name=schema_name)
            prefetch = _PREFETCH[made]
            _PREFETCH[source] = prefetch  # sync closes the reading loop of the clone's resources
            prefetch.closers.append(close_shared)

            def on_load(info: Any) -> None:
                if stop.is_set():
                    raise _Stopped
                if has_more(pipeline, source):
                    run.on_page(stats)  # ends the slice (committed) when its time is up

            # Loads of pages_per_load pages: many accounts share a worker's CPU,
            # and a load costs the same fixed work however few pages it holds.
            sync(pipeline, source, on_load=on_load, eager=False)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    try:
        # A slice cut short (or a shutdown): the thread stops at its next page or after
        # the load in progress, and the attempt ends only then, so that the next attempt
        # never loads beside it (two merges of one table at once could both insert a row).
        await in_thread(blocking, on_cancel=stop.set)
    except Exception as exc:
        from dlt.pipeline.exceptions import PipelineStepFailed

        if not isinstance(exc, PipelineStepFailed):
            raise  # the slice's end, or a mistake of ours
        cause = _cause(exc)
        if isinstance(cause, (CRMError, SpecError)):
            raise cause from None
        raise SinkUnavailable(f"dlt {pipeline_name}: {_innermost(exc)}") from None


def _innermost(exc: BaseException) -> str:
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return f"{type(exc).__name__}: {str(exc)[:300]}"
