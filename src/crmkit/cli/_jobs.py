"""``crmkit worker``, ``crmkit enqueue`` and ``crmkit jobs status`` (extra ``jobs``).

The workers and the scheduler read the same accounts file (see
:mod:`crmkit.jobs._config`) and meet in one Redis (``--redis`` or
``CRMKIT_REDIS_URL``). arq is imported only when one of these commands runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["JOB_COMMANDS", "add_job_commands", "jobs_command", "parse_every"]

JOB_COMMANDS = ("worker", "enqueue", "jobs")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_every(text: str) -> float:
    """``90s``, ``10m``, ``2h``, ``1d`` (or plain seconds) as seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if not match or float(match.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"not a period: {text!r} (say 90s, 10m, 2h or 1d)")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


def _add_redis(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--redis",
        default=os.environ.get("CRMKIT_REDIS_URL", "redis://127.0.0.1:6379/0"),
        help="Redis URL (default: $CRMKIT_REDIS_URL or redis://127.0.0.1:6379/0)",
    )


def add_job_commands(commands: Any) -> None:
    """The three commands' parsers."""
    worker = commands.add_parser(
        "worker",
        help="run an arq worker that exports the accounts' jobs",
        description=(
            "Run jobs queued by `crmkit enqueue` until stopped (SIGTERM or Ctrl-C). Start as "
            "many workers, on as many machines, as you like: they share each account's rate "
            "limit, tokens and checkpoints through Redis."
        ),
    )
    worker.add_argument("--config", type=Path, required=True, help="the accounts file (TOML)")
    worker.add_argument("--out", type=Path, required=True, help="where JSON Lines runs go")
    _add_redis(worker)
    worker.add_argument("--max-jobs", type=int, default=10, help="jobs at once (default 10)")
    worker.add_argument(
        "--slice", type=float, default=60.0, help="seconds a job runs before it is re-queued (60)"
    )
    worker.add_argument("--burst", action="store_true", help="stop once the queue is empty")
    enqueue = commands.add_parser(
        "enqueue",
        help="queue one job per account and entity (skipping those queued or running)",
    )
    enqueue.add_argument("--config", type=Path, required=True, help="the accounts file (TOML)")
    _add_redis(enqueue)
    enqueue.add_argument(
        "--every", type=parse_every, help="keep queueing at this period (10m, 1h ...)"
    )
    jobs = commands.add_parser("jobs", help="what the workers are doing")
    jobs_commands = jobs.add_subparsers(dest="jobs_command", required=True)
    status = jobs_commands.add_parser(
        "status", help="queued, running and failed jobs; each account's last run and watermark"
    )
    status.add_argument("--config", type=Path, help="list never-run accounts of this file too")
    _add_redis(status)
    status.add_argument("--json", action="store_true", help="one JSON document")


def jobs_command(args: argparse.Namespace) -> int:
    """Run ``worker``, ``enqueue`` or ``jobs status``."""
    if args.command == "worker":
        return _worker(args)
    if args.command == "enqueue":
        return asyncio.run(_enqueue(args))
    return asyncio.run(_status(args))


def _worker(args: argparse.Namespace) -> int:
    from arq import Worker

    from ..jobs import worker_settings

    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    settings = worker_settings(
        args.config,
        args.redis,
        args.out,
        max_jobs=args.max_jobs,
        slice_seconds=args.slice,
        burst=args.burst,
    )
    # arq's Worker.run() runs on the current loop and leaves it open: close it here, after
    # its async generators and the threads of asyncio.to_thread (the dlt loads) are done.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        Worker(**settings).run()
    finally:
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            asyncio.set_event_loop(None)
            loop.close()
    return 0


async def _pool(url: str) -> Any:
    from arq import create_pool
    from arq.connections import RedisSettings

    return await create_pool(RedisSettings.from_dsn(url))


async def _enqueue(args: argparse.Namespace) -> int:
    from ..jobs import enqueue_accounts, load_accounts

    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    accounts = load_accounts(args.config)
    redis = await _pool(args.redis)
    try:
        while True:
            results = await enqueue_accounts(redis, accounts)
            queued = sum(1 for *_, ok in results if ok)
            print(
                f"crmkit: queued {queued} job(s); "
                f"{len(results) - queued} already queued or running",
                file=sys.stderr,
            )
            if args.every is None:
                return 0
            await asyncio.sleep(args.every)
    finally:
        await redis.aclose()


async def _status(args: argparse.Namespace) -> int:
    from ..jobs import StatusBoard, load_accounts

    known = None
    if args.config is not None:
        accounts = load_accounts(args.config)
        known = [(a.name, e) for a in accounts.values() for e in a.entities]
    redis = await _pool(args.redis)
    try:
        rows = await StatusBoard(redis).rows(known)
        health = await redis.get("arq:queue:health-check")
    finally:
        await redis.aclose()
    if args.json:
        document = {
            "worker_health": health.decode() if health else None,
            "jobs": [row.to_dict() for row in rows],
        }
        print(json.dumps(document, indent=2))
        return 0
    print(f"last worker heartbeat: {health.decode() if health else 'none (no worker running?)'}")
    header = ("ACCOUNT", "ENTITY", "STATE", "TRY", "RECORDS", "LAST SUCCESS", "WATERMARK", "ERROR")
    lines = [header]
    for row in rows:
        success = (
            time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row.last_success))
            if row.last_success
            else "-"
        )
        lines.append(
            (
                row.account,
                row.entity,
                row.state,
                str(row.attempt or "-"),
                str(row.records if row.records is not None else "-"),
                success,
                row.watermark or "-",
                (row.error or "")[:80],
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for line in lines:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        )
    return 0
