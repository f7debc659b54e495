"""The arq job that exports one account's entity, and the worker settings that run it.

A job is ``export_entity(account, entity)``; its id is :func:`job_id` of the
pair, so arq never holds two of them at once. Each attempt:

- takes a new epoch (its checkpoint saves are refused once a later attempt
  has saved: a worker presumed dead cannot write over its successor);
- resumes from the checkpoint in Redis (:class:`~crmkit.redis_stores.RedisCheckpointStore`),
  writing ``{out}/{account}/{entity}/run-NNNNNN.jsonl`` which a resume cuts back
  to the checkpoint (the export engine's exactly-once rule), or hands the run
  to another sink (:func:`register_sink`);
- sends through a :class:`~crmkit.redis_throttle.RedisThrottle` keyed by the
  account, so every worker serving the account shares its limit;
- runs for about ``slice_seconds`` (a page at a time), then goes back in the
  queue from its checkpoint: no job holds a worker for long, and the job of
  a worker that dies waits at most about twice a slice (arq frees it
  ``job_timeout + 10`` s after it started);
- on a transport error, 5xx or exhausted 429 retries: back in the queue after
  an exponential backoff with jitter, up to ``max_failures`` in a row;
- on a block (403, amoCRM's block page), a refused authorization or an unpaid
  account: stops, says so in the status, and is not retried.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs

from ..amocrm._client import DEFAULT_RATE_LIMIT as AMOCRM_RATE
from ..cli._export import ExportJob, JobStats, run_export
from ..cli._sources import ExportSpec, SpecError, make_job
from ..errors import (
    AuthenticationError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TransportError,
)
from ..redis_stores import RedisCheckpointStore, RedisTokenStore, StaleCheckpointError
from ..redis_throttle import RedisThrottle
from ..retailcrm._client import DEFAULT_RATE_LIMIT as RETAILCRM_RATE
from ._config import Account, load_accounts
from ._status import StatusBoard, job_id, log_event

__all__ = [
    "AccountRun",
    "AccountStopped",
    "JobsContext",
    "Sink",
    "SinkUnavailable",
    "enqueue_accounts",
    "export_entity",
    "register_sink",
    "shared_client_options",
    "worker_settings",
]

#: Requests per second by platform when the account names none (the clients' own defaults).
DEFAULT_RATES = {"amocrm": AMOCRM_RATE, "retailcrm": RETAILCRM_RATE}
_STOPPED = (PermissionDeniedError, AuthenticationError, PaymentRequiredError)


class AccountStopped(RuntimeError):
    """The account refused the job (blocked, unauthorized, unpaid): not retried."""


class SinkUnavailable(RuntimeError):
    """A sink's store failed (a destination down, a load refused): retried with backoff."""


_RETRIED = (TransportError, ServerError, RateLimitError, SinkUnavailable)


class JobFailed(RuntimeError):
    """A job that failed for good (too many failures in a row, or an error not worth retrying)."""


class _SliceDone(Exception):
    """The slice's time is up: the checkpoint is saved, the job goes back in the queue."""


@attrs.frozen
class AccountRun:
    """One attempt at one account's entity, as a sink receives it."""

    account: Account
    entity: str
    #: The export engine's job: its client (with the shared throttle) and checkpoints.
    job: ExportJob
    stats: JobStats
    #: Call after each page is safely stored (it ends the slice when its time is up).
    on_page: Callable[[JobStats], None]
    #: The worker's Redis client (arq's pool).
    redis: Any


#: Takes a run to its end (or to an exception); records go wherever the sink puts them.
Sink = Callable[[AccountRun], Awaitable[None]]


async def _jsonl(run: AccountRun) -> None:
    await run_export(run.job, run.stats, run.on_page)


async def _dlt(run: AccountRun) -> None:
    from ._dlt import dlt_sink  # dlt is imported only by workers that sync

    await dlt_sink(run)


_SINKS: dict[str, Sink] = {"jsonl": _jsonl, "dlt": _dlt}


def register_sink(name: str, sink: Sink) -> None:
    """Make ``sink = "name"`` in accounts.toml send runs to ``sink`` (e.g. a dlt pipeline)."""
    _SINKS[name] = sink


@attrs.frozen
class JobsContext:
    """What every job of a worker shares (kept in arq's ``ctx["crmkit"]``)."""

    accounts: dict[str, Account]
    out_dir: Path
    slice_seconds: float = 60.0
    max_failures: int = 8
    backoff: float = 2.0
    max_backoff: float = 300.0
    worker: str = attrs.Factory(lambda: f"{socket.gethostname()}:{os.getpid()}")


async def export_entity(
    ctx: dict[str, Any], account: str, entity: str, ticket: int = 0
) -> dict[str, Any]:
    """The arq job: one attempt (one slice) at exporting ``entity`` of ``account``.

    ``ticket`` numbers the enqueue: a run finished under this ticket is not run
    again when arq repeats the job (a worker killed after the run's last
    checkpoint, before arq recorded the job as done).
    """
    from arq import Retry

    jobs: JobsContext = ctx["crmkit"]
    redis = ctx["redis"]
    board = StatusBoard(redis)
    if account not in jobs.accounts:
        raise JobFailed(f"account {account!r} is not in this worker's accounts file")
    acct = jobs.accounts[account]
    if acct.sink not in _SINKS:
        raise JobFailed(f"account {account!r}: no sink named {acct.sink!r} is registered")
    epoch = await board.next_epoch(account, entity)
    attempt = int(ctx.get("job_try", 1))
    fields = {"job_id": ctx.get("job_id"), "account": account, "entity": entity, "epoch": epoch}
    checkpoints = RedisCheckpointStore(redis, key=f"{account}:{entity}", epoch=epoch)
    saved = await checkpoints.load()
    if saved is not None and saved.get("complete") and ticket and saved.get("ticket") == ticket:
        log_event("job.already-done", run=saved.get("run"), **fields)
        await board.update(account, entity, state="done")
        return {"status": "already done", "run": saved.get("run")}
    run_number = 1 if saved is None else int(saved.get("run", 1)) + bool(saved.get("complete"))
    checkpoints.extra.update(run=run_number, ticket=ticket)
    spec = acct.spec(entity)
    client_options = shared_client_options(acct, spec, redis)
    throttle: RedisThrottle | None = client_options.get("throttle")
    try:
        export = make_job(spec, client_options=client_options)
    except SpecError as exc:  # the accounts file lacks something: no retry can help
        await board.update(account, entity, state="failed", error=f"SpecError: {exc}")
        log_event("job.failed", error=f"SpecError: {exc}", **fields)
        raise JobFailed(f"{account} {entity}: {exc}") from None
    job = attrs.evolve(
        export,
        out=jobs.out_dir / account / entity / f"run-{run_number:06d}.jsonl",
        checkpoints=checkpoints,
    )
    stats = JobStats(f"{account} {entity}", account=job.account)
    ends = time.monotonic() + jobs.slice_seconds

    def on_page(stats: JobStats) -> None:
        if time.monotonic() >= ends:
            raise _SliceDone

    await board.update(account, entity, state="running", worker=jobs.worker, attempt=attempt)
    log_event("job.start", worker=jobs.worker, attempt=attempt, run=run_number, **fields)
    started = time.monotonic()
    sink = _SINKS[acct.sink](AccountRun(acct, entity, job, stats, on_page, redis))
    try:
        # A page that outlasts the slice is cut off: the resume cuts its output back.
        await asyncio.wait_for(sink, timeout=_hard_limit(jobs.slice_seconds))
    except (_SliceDone, asyncio.TimeoutError):
        await board.update(account, entity, state="queued", records=stats.records, failures=0)
        log_event("job.slice", records=stats.records, pages=stats.pages, **fields)
        raise Retry(defer=0) from None
    except StaleCheckpointError as exc:
        log_event("job.superseded", error=str(exc), **fields)
        return {"status": "superseded"}
    except _RETRIED as exc:
        failures = int((await board.read(account, entity)).get("failures", 0)) + 1
        error = f"{type(exc).__name__}: {exc}"
        if failures > jobs.max_failures:
            await board.update(account, entity, state="failed", error=error, failures=0)
            log_event("job.failed", error=error, failures=failures, **fields)
            raise JobFailed(
                f"{account} {entity}: {failures} failures in a row; last: {error}"
            ) from None
        delay = min(jobs.max_backoff, jobs.backoff * 2 ** (failures - 1))
        delay *= random.uniform(0.5, 1.0)
        await board.update(account, entity, state="retrying", error=error, failures=failures)
        log_event("job.retry", error=error, failures=failures, delay_s=round(delay, 3), **fields)
        raise Retry(defer=timedelta(seconds=delay)) from None
    except asyncio.CancelledError:
        # arq's own timeout or a shutdown: arq retries it (shutdown) or records the failure.
        await asyncio.shield(board.update(account, entity, state="interrupted"))
        raise
    except _STOPPED as exc:
        error = f"{type(exc).__name__}: {exc}"
        await board.update(account, entity, state="blocked", error=error)
        log_event("job.blocked", error=error, **fields)
        raise AccountStopped(f"{account} {entity}: {error}") from None
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        await board.update(account, entity, state="failed", error=error)
        log_event("job.failed", error=error, **fields)
        raise JobFailed(f"{account} {entity}: {error}") from None
    finally:
        if throttle is not None:
            await throttle.aclose()
    done = await checkpoints.load() or {}
    watermark = (done.get("position") or {}).get("paginator", {}).get("watermark")
    result = {
        "status": "done",
        "run": run_number,
        "records": stats.records,
        "requests": stats.requests,
        "rate_limited": stats.rate_limited,
        "elapsed_s": round(time.monotonic() - started, 3),
    }
    await board.update(
        account,
        entity,
        state="done",
        records=stats.records,
        last_success=time.time(),
        watermark=watermark,
        error=None,
        failures=0,
    )
    log_event("job.done", watermark=watermark, **fields, **result)
    return result


def shared_client_options(account: Account, spec: ExportSpec, redis: Any) -> dict[str, Any]:
    """The client options that make every worker share the account through ``redis``.

    Its rate limit (a :class:`~crmkit.redis_throttle.RedisThrottle` keyed by the
    account, under ``"throttle"``: its owner closes it), its OAuth pair
    (:class:`~crmkit.redis_stores.RedisTokenStore`, refreshed once for everyone)
    and, for vtiger, its login: one session per user for every worker and job
    (:class:`~crmkit.vtiger.RedisSessionStore`; a vtiger login ends the user's
    other sessions, so separate logins would keep invalidating each other).
    """
    options: dict[str, Any] = {}
    rate = spec.option("rate_limit", DEFAULT_RATES.get(account.platform))
    if rate:
        key = f"{account.platform}:{account.name}"
        options["throttle"] = RedisThrottle(redis, key=key, rate=float(rate))
    if account.platform == "amocrm" and spec.option("oauth"):
        # The account's OAuth pair, refreshed once for every worker and job (saved by
        # whoever authorized the integration: RedisTokenStore(key="amocrm:<name>").save).
        options["token_store"] = RedisTokenStore(redis, key=f"amocrm:{account.name}")
    if account.platform == "vtiger":
        from ..vtiger import RedisSessionStore

        options["session_store"] = RedisSessionStore(redis)
    if spec.option("max_retries") is not None:  # the Session's own retries within a job
        options["max_retries"] = int(spec.option("max_retries"))
    return options


def _hard_limit(slice_seconds: float) -> float:
    return slice_seconds * 1.5 + 1


def worker_settings(
    config: Path,
    redis_url: str,
    out_dir: Path,
    *,
    max_jobs: int = 10,
    slice_seconds: float = 60.0,
    max_failures: int = 8,
    backoff: float = 2.0,
    poll_delay: float = 0.5,
    burst: bool = False,
) -> dict[str, Any]:
    """Keyword arguments for ``arq.Worker`` running crmkit's export jobs.

    A slice is cut off at 1.5 times its length (plus a second), and arq's
    ``job_timeout`` is beyond that: a worker killed mid-job frees its job
    ``job_timeout + 10`` s after the job started (about 2 minutes by default).
    """
    from arq import func
    from arq.connections import RedisSettings

    context = JobsContext(
        accounts=load_accounts(config),
        out_dir=out_dir,
        slice_seconds=slice_seconds,
        max_failures=max_failures,
        backoff=backoff,
    )
    return {
        # Retries are counted by the job itself (failures in a row), not by arq's tries:
        # every slice is a try.
        "functions": [
            func(export_entity, name="export_entity", max_tries=1_000_000, keep_result=0)
        ],
        "redis_settings": RedisSettings.from_dsn(redis_url),
        "ctx": {"crmkit": context},
        "max_jobs": max_jobs,
        # The margin covers a dlt load the cut slice waits for (seconds on a busy machine).
        "job_timeout": _hard_limit(slice_seconds) + max(15.0, slice_seconds / 2),
        "poll_delay": poll_delay,
        "burst": burst,
        "health_check_interval": 30,
    }


async def enqueue_accounts(redis: Any, accounts: dict[str, Account]) -> list[tuple[str, str, bool]]:
    """Queue one job per account+entity; ``(account, entity, queued)``, False if already there."""
    board = StatusBoard(redis)
    results = []
    for account in accounts.values():
        for entity in account.entities:
            job = await redis.enqueue_job(
                "export_entity",
                account.name,
                entity,
                await board.next_ticket(account.name, entity),
                _job_id=job_id(account.name, entity),
            )
            if job is not None:
                await board.update(account.name, entity, state="queued")
            log_event("job.enqueue", account=account.name, entity=entity, queued=job is not None)
            results.append((account.name, entity, job is not None))
    return results
