"""``crmkit sync``: accounts into a database through crmkit's dlt sources.

One dlt pipeline per account: its dataset (``amocrm_acme`` ...) in the chosen
destination, its positions in dlt's state. The default destination is the
DuckDB file ``crmkit.duckdb`` in the working directory; any other dlt
destination is named as dlt names it (``postgres``, ``bigquery`` ...) and
takes its credentials the way dlt reads them (``DESTINATION__POSTGRES__CREDENTIALS``
in the environment, or ``.dlt/secrets.toml``). The accounts' options are
``crmkit export``'s, from flags, the environment or a TOML file.

Not here: how a platform is read (:mod:`crmkit.dlt`), how progress is drawn
(:mod:`crmkit.cli._progress`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import attrs

from .. import SessionStats
from .._tls import LOOPBACK_HOSTS
from ._commands import _FLAG_OPTIONS, exit_status, read_config, run_shown, summary_json
from ._export import JobStats
from ._progress import Display
from ._sources import ExportSpec, SpecError, _client_options, _where

__all__ = ["SyncJob", "add_sync_parser", "make_sync_job", "run_syncs", "sync_command"]

#: The DuckDB file a sync writes when no destination is named.
DEFAULT_DATABASE = "crmkit.duckdb"
PLATFORMS = ("amocrm", "retailcrm", "vtiger", "corezoid")

#: ``export``'s account and paging options, and the sync's own.
_FLAGS = (*(name for name in _FLAG_OPTIONS if name != "changes"), "resources", "dataset")


def add_sync_parser(commands: Any) -> None:
    """``crmkit sync``'s flags (the account flags are ``export``'s)."""
    sync = commands.add_parser(
        "sync",
        help="load accounts into a database (DuckDB by default, any dlt destination)",
        description=(
            "Load every record of an account into tables (DuckDB file crmkit.duckdb by "
            "default), merged by id; run it again and only what changed is read, deleted "
            "records are deleted. Each account gets its own dataset. Credentials as for "
            "export (flags or CRMKIT_* variables); a destination's own credentials as dlt "
            "reads them (e.g. DESTINATION__POSTGRES__CREDENTIALS)."
        ),
    )
    sync.add_argument("platform", nargs="?", choices=PLATFORMS)
    sync.add_argument("--config", type=Path, help="a TOML file of [[sync]] (or [[export]]) tables")
    sync.add_argument(
        "--destination", default="duckdb", help="a dlt destination name (default: duckdb)"
    )
    sync.add_argument(
        "--database",
        type=Path,
        help=f"duckdb: the database file (default: {DEFAULT_DATABASE} here)",
    )
    sync.add_argument("--dataset", help="the dataset (schema) name (default: platform_account)")
    sync.add_argument("--pipelines-dir", type=Path, help="where dlt keeps its working state")
    sync.add_argument(
        "--pages-per-load",
        type=int,
        default=50,
        help=(
            "at most N pages per table in a load (each load, with its position, takes "
            "the pages read while the one before it ran; default 50)"
        ),
    )
    where = sync.add_argument_group("the account (as for export)")
    where.add_argument("--url")
    where.add_argument("--subdomain")
    where.add_argument("--api-version", type=int, choices=(2, 4))
    where.add_argument("--token")
    where.add_argument("--login")
    where.add_argument("--api-key")
    where.add_argument("--site")
    where.add_argument("--username")
    where.add_argument("--access-key")
    where.add_argument("--api-login")
    where.add_argument("--secret")
    where.add_argument("--conv-id")
    where.add_argument("--refs", type=Path)
    where.add_argument("--node", help="corezoid: a node id: its task listing")
    where.add_argument("--company-id")
    where.add_argument(
        "--resources",
        help="comma-separated tables: amocrm leads,contacts,...; vtiger modules Leads,Contacts,...",
    )
    how = sync.add_argument_group("how")
    how.add_argument("--rate-limit", type=float)
    how.add_argument("--page-size", type=int)
    how.add_argument("--transport", choices=("httpx", "aiohttp"))
    how.add_argument("--allow-insecure-http", action="store_true")
    group = sync.add_mutually_exclusive_group()
    group.add_argument("--quiet", action="store_true", help="print nothing but errors")
    group.add_argument("--json", action="store_true", help="print a JSON summary, no progress")
    sync.add_argument("--debug", action="store_true", help="show tracebacks")


@attrs.frozen
class SyncJob:
    """One account's sync: its names, and how to run it (blocking, in a thread)."""

    name: str
    account: str
    dataset: str
    run: Callable[[JobStats, Callable[[JobStats], None]], None] = attrs.field(repr=False)


@attrs.frozen
class Target:
    """Where syncs load: a dlt destination, and dlt's working directory."""

    destination: str = "duckdb"
    database: Path | None = None
    pipelines_dir: Path | None = None
    pages_per_load: int | None = 50


def make_sync_job(spec: ExportSpec, target: Target) -> SyncJob:
    """The job for one account; :class:`SpecError` for a missing or bad option."""
    if spec.platform not in PLATFORMS:
        raise SpecError(f"unknown platform {spec.platform!r}: one of {', '.join(PLATFORMS)}")
    where = _where(spec)
    options = _client_options(spec)  # checked now: a mistake stops the run before it starts
    account = _account(spec, where)
    dataset = str(spec.option("dataset") or _slug(f"{spec.platform}_{account}"))
    make_source = _source_maker(spec, options)

    def run(stats: JobStats, on_page: Callable[[JobStats], None]) -> None:
        # dlt's anonymous usage telemetry stays off unless the user turns it on.
        os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
        import dlt

        from ..dlt import PageRead, sync

        sessions: list[SessionStats] = []  # a client (and Session) per sync, or more

        def total() -> SessionStats:
            return SessionStats(
                requests=sum(known.requests for known in sessions),
                rate_limited=sum(known.rate_limited for known in sessions),
                retries=sum(known.retries for known in sessions),
                throttle_wait=sum(known.throttle_wait for known in sessions),
            )

        def seen(page: PageRead) -> None:
            if not any(known is page.session.stats for known in sessions):
                sessions.append(page.session.stats)
            stats.session = total()
            rate = getattr(page.session.throttle, "rate", None)
            stats.rate_limit = float(rate) if rate else None
            stats.records += page.records
            stats.pages += 1
            on_page(stats)

        pipelines_dir = str(target.pipelines_dir) if target.pipelines_dir else None
        pipeline = dlt.pipeline(
            pipeline_name=f"crmkit_{dataset}",
            pipelines_dir=cast(str, pipelines_dir),  # None: dlt's own default
            destination=_destination(target),
            dataset_name=dataset,
        )
        stats.incremental = bool(pipeline.state.get("sources"))
        try:
            sync(pipeline, make_source(seen, target.pages_per_load))
        finally:
            stats.session = total()  # with the requests after the last page (an empty answer)

    return SyncJob(f"{spec.platform} -> {dataset}", account, dataset, run)


def _account(spec: ExportSpec, where: str) -> str:
    parts = urlsplit(where)
    host = parts.hostname or where
    if spec.platform == "amocrm" and spec.option("subdomain") and not spec.option("url"):
        return str(spec.option("subdomain"))
    if host in LOOPBACK_HOSTS and parts.port:
        return f"{host}:{parts.port}"
    return host.split(".")[0] if spec.platform in ("amocrm", "retailcrm") else host


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _destination(target: Target) -> Any:
    import dlt

    if target.destination == "duckdb":
        database = target.database or Path.cwd() / DEFAULT_DATABASE
        return dlt.destinations.duckdb(str(database))
    if target.database is not None:
        raise SpecError("--database is for the duckdb destination")
    return target.destination


def _listed(value: Any) -> list[str] | None:
    if value in (None, ""):
        return None
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    return [str(item).strip() for item in items if str(item).strip()]


def _source_maker(spec: ExportSpec, options: Mapping[str, Any]) -> Callable[..., Any]:
    """``make(on_page, pages_per_load)``: the account's dlt source."""
    resources = _listed(spec.option("resources"))
    page_size = spec.option("page_size")
    paged: dict[str, Any] = {"page_size": int(page_size)} if page_size else {}
    refs: list[str] = []
    nodes = _listed(spec.option("node")) or []
    if spec.platform == "corezoid" and (spec.option("refs") or not nodes):
        path = Path(spec.need("refs", "the node (--node) or the file of task refs"))
        try:
            refs = [line.strip() for line in path.read_text().splitlines() if line.strip()]
        except OSError as exc:
            raise SpecError(f"corezoid: cannot read the refs file {path}: {exc}") from None

    def make(on_page: Any, pages_per_load: int | None) -> Any:
        from .. import dlt as sources

        common: dict[str, Any] = {"on_page": on_page, "pages_per_load": pages_per_load}
        chosen: dict[str, Any] = {"resources": resources} if resources else {}
        if spec.platform == "amocrm":
            return sources.amocrm_source(**options, **chosen, **paged, **common)
        if spec.platform == "retailcrm":
            return sources.retailcrm_source(**options, **chosen, **paged, **common)
        if spec.platform == "vtiger":
            modules: dict[str, Any] = {"modules": resources} if resources else {}
            return sources.vtiger_source(**options, **modules, **common)
        conv_id = spec.need("conv_id", "the process id")
        return sources.corezoid_source(**options, conv_id=conv_id, refs=refs, nodes=nodes, **common)

    return make


def _check_resources(spec: ExportSpec) -> None:
    from .. import dlt as sources

    known: Sequence[str] = {
        "amocrm": tuple(sources.AMOCRM_RESOURCES),
        "retailcrm": tuple(sources.RETAILCRM_RESOURCES),
    }.get(spec.platform, ())
    for name in _listed(spec.option("resources")) or []:
        if known and name not in known:
            raise SpecError(f"{spec.platform} has no table {name!r}: one of {', '.join(known)}")


def specs_from_config(path: Path) -> list[ExportSpec]:
    """``[[sync]]`` tables (platform and the account's options), else ``[[export]]``'s accounts."""
    data = read_config(path)
    tables = data.get("sync") or data.get("export")
    if not isinstance(tables, list) or not tables:
        raise SpecError(f"{path} has no [[sync]] or [[export]] tables")
    specs: list[ExportSpec] = []
    seen: set[tuple[str, str]] = set()
    for n, table in enumerate(tables, start=1):
        if not isinstance(table, dict) or not table.get("platform"):
            raise SpecError(f"{path}: table #{n} needs a platform")
        options = {
            k: v for k, v in table.items() if k not in ("platform", "entity", "out", "state")
        }
        if isinstance(options.get("refs"), str):
            options["refs"] = str(path.parent / options["refs"])
        spec = ExportSpec(str(table["platform"]), "", options)
        key = (spec.platform, _where(spec) if spec.platform in PLATFORMS else "")
        if key not in seen:  # an [[export]] file names an account once per entity
            seen.add(key)
            specs.append(spec)
    return specs


def _specs(args: argparse.Namespace, parser: argparse.ArgumentParser) -> list[ExportSpec]:
    if args.config is not None:
        if args.platform:
            parser.error("give PLATFORM or --config, not both")
        return specs_from_config(args.config)
    if not args.platform:
        parser.error("sync needs PLATFORM (or --config FILE)")
    options = {name: getattr(args, name) for name in _FLAGS}
    options = {k: v for k, v in options.items() if v is not None and v is not False}
    return [ExportSpec(args.platform, "", options)]


def sync_command(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.pages_per_load is not None and args.pages_per_load < 1:
        parser.error("--pages-per-load must be at least 1")
    target = Target(args.destination, args.database, args.pipelines_dir, args.pages_per_load)
    specs = _specs(args, parser)
    for spec in specs:
        _check_resources(spec)
    jobs = [make_sync_job(spec, target) for spec in specs]
    datasets = [job.dataset for job in jobs]
    if len(set(datasets)) < len(datasets):
        raise SpecError("two accounts would share a dataset: give each its own dataset")
    results = run_shown(jobs, args, title="crmkit sync", run=run_syncs)
    stats = [s for s, _ in results]
    if args.json:
        print(summary_json(stats, destination=args.destination))
    return exit_status(stats, [exc for _, exc in results if exc is not None])


async def run_syncs(
    jobs: Sequence[SyncJob], display: Display
) -> list[tuple[JobStats, BaseException | None]]:
    """Run the syncs concurrently, each in a thread of its own; one failing stops no other."""
    lock = threading.Lock()

    def update(stats: JobStats) -> None:
        with lock:
            display.update(stats)

    async def one(job: SyncJob) -> tuple[JobStats, BaseException | None]:
        stats = JobStats(job.name, account=job.account, out=job.dataset)
        display.start(stats)
        stats.status = "running"
        try:
            await asyncio.to_thread(job.run, stats, update)
            stats.status = "done"
        except Exception as exc:
            cause = _cause(exc)
            stats.status = "failed"
            stats.error = f"{type(cause).__name__}: {cause}"
            return stats, cause
        finally:
            stats.finished = time.monotonic()
            display.finish(stats)
        return stats, None

    return list(await asyncio.gather(*(one(job) for job in jobs)))


def _cause(exc: BaseException) -> BaseException:
    """The crmkit error under dlt's wrappers (PipelineStepFailed, ResourceExtractionError)."""
    from ..errors import CRMError

    current: BaseException | None = exc
    while current is not None:
        if isinstance(current, (CRMError, SpecError)):
            return current
        current = current.__cause__ or current.__context__
    return exc
