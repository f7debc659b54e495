"""``crmkit export``: specs from flags or a TOML file, run concurrently, summed up."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from ._export import ExportJob, JobStats, run_export
from ._progress import Display, human_console, make_display, summary_table
from ._sources import ExportSpec, SpecError, make_job

__all__ = [
    "config_tables",
    "exit_status",
    "export_command",
    "read_config",
    "run_jobs",
    "run_shown",
    "specs_from_config",
    "summary_json",
]

_FLAG_OPTIONS = (
    "url",
    "subdomain",
    "api_version",
    "token",
    "login",
    "api_key",
    "site",
    "username",
    "access_key",
    "changes",
    "api_login",
    "secret",
    "conv_id",
    "refs",
    "node",
    "company_id",
    "rate_limit",
    "page_size",
    "allow_insecure_http",
    "transport",
)


def config_tables(path: Path, name: str) -> list[Any]:
    """The ``[[name]]`` tables of a TOML file; :class:`SpecError` when it has none."""
    tables = read_config(path).get(name)
    if not isinstance(tables, list) or not tables:
        raise SpecError(f"{path} has no [[{name}]] tables")
    return tables


def specs_from_config(path: Path) -> list[ExportSpec]:
    """``[[export]]`` tables: platform, entity, out, state, and the flags' options.

    Any option may instead name an environment variable: ``token_env = "ACME_TOKEN"``.
    """
    tables = config_tables(path, "export")
    specs = []
    base = path.parent
    for n, table in enumerate(tables, start=1):
        if not isinstance(table, dict) or not table.get("platform") or not table.get("entity"):
            raise SpecError(f"{path}: export #{n} needs platform and entity")
        options = {
            k: v for k, v in table.items() if k not in ("platform", "entity", "out", "state")
        }
        specs.append(
            ExportSpec(
                platform=str(table["platform"]),
                entity=str(table["entity"]),
                options=options,
                out=base / table["out"] if table.get("out") else None,
                state=base / table["state"] if table.get("state") else None,
            )
        )
    return specs


def read_config(path: Path) -> dict[str, Any]:
    """A TOML config file; :class:`SpecError` when it cannot be read."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise SpecError(f"cannot read the config {path}: {exc}") from None
    return data


def _specs(args: argparse.Namespace, parser: argparse.ArgumentParser) -> list[ExportSpec]:
    if args.config is not None:
        if args.platform or args.entity:
            parser.error("give PLATFORM ENTITY or --config, not both")
        return specs_from_config(args.config)
    if not args.platform or not args.entity:
        parser.error("export needs PLATFORM and ENTITY (or --config FILE)")
    options = {name: getattr(args, name) for name in _FLAG_OPTIONS}
    options = {k: v for k, v in options.items() if v is not None and v is not False}
    return [ExportSpec(args.platform, args.entity, options, out=args.out, state=args.state)]


def export_command(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    jobs = [make_job(spec) for spec in _specs(args, parser)]
    outs = [job.out for job in jobs]
    if sum(1 for out in outs if out is None) > 1:
        raise SpecError("several exports cannot all write to stdout: give each an out file")
    if len({job.state for job in jobs if job.state}) < sum(1 for job in jobs if job.state):
        raise SpecError("two exports share a state file: give each its own")
    results = run_shown(jobs, args, title="crmkit export")
    stats = [s for s, _ in results]
    failures = [exc for _, exc in results if exc is not None]
    if args.json:
        to_stdout = any(out is None for out in outs)
        print(summary_json(stats), file=sys.stderr if to_stdout else sys.stdout)
    return exit_status(stats, failures)


def exit_status(stats: Sequence[JobStats], failures: Sequence[BaseException]) -> int:
    """0, or the first failure's exit code after a line per failed job; one job's failure raises."""
    from . import exit_code_for

    if not failures:
        return 0
    if len(failures) > 1 or len(stats) > 1:
        for s in stats:
            if s.error:
                print(f"crmkit: {s.name}: {s.error}", file=sys.stderr)
        return exit_code_for(failures[0])
    raise failures[0]


Results = list[tuple[JobStats, BaseException | None]]


def run_shown(
    jobs: Sequence[Any],
    args: argparse.Namespace,
    *,
    title: str,
    run: Callable[[Sequence[Any], Display], Coroutine[Any, Any, Results]] | None = None,
) -> Results:
    """Run the jobs (exports, or ``run``'s) with progress, then the summary table (unless quiet)."""
    quiet = args.quiet or args.json
    with make_display(quiet=quiet) as display:
        results = asyncio.run((run or run_jobs)(jobs, display))
    if not quiet:
        human_console().print(summary_table([stats for stats, _ in results], title))
    return results


async def run_jobs(
    jobs: Sequence[ExportJob], display: Display
) -> list[tuple[JobStats, BaseException | None]]:
    """Run the exports concurrently; one failing does not stop the others."""

    async def one(job: ExportJob) -> tuple[JobStats, BaseException | None]:
        stats = JobStats(job.name, account=job.account)
        display.start(stats)
        try:
            await run_export(job, stats, display.update)
        except Exception as exc:
            return stats, exc
        finally:
            display.finish(stats)
        return stats, None

    return list(await asyncio.gather(*(one(job) for job in jobs)))


def summary_json(stats: Sequence[JobStats], **more: Any) -> str:
    return json.dumps({**more, "exports": [s.to_dict() for s in stats]}, indent=2)
