"""`crmkit worker` processes for the tests: started, awaited, stopped."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from crmkit.jobs import StatusBoard


def start_worker(
    config: Path,
    out: Path,
    redis_url: str,
    log: Path,
    env: Mapping[str, str] | None = None,
    max_jobs: int | None = None,
) -> subprocess.Popen[bytes]:
    """A worker with one-second slices, its log lines in ``log``."""
    command = ["worker", "--config", str(config), "--out", str(out), "--redis", redis_url]
    if max_jobs is not None:
        command += ["--max-jobs", str(max_jobs)]
    with log.open("wb") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "crmkit", *command, "--slice", "1"],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env={**os.environ, **(env or {})},
        )


@contextlib.contextmanager
def running_workers(
    count: int,
    config: Path,
    out: Path,
    redis_url: str,
    env: Mapping[str, str] | None = None,
    max_jobs: int | None = None,
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """``count`` workers (logs ``out.parent/worker-N.log``), stopped with SIGTERM at the end."""
    workers = [
        start_worker(config, out, redis_url, out.parent / f"worker-{n}.log", env, max_jobs)
        for n in range(count)
    ]
    try:
        yield workers
    finally:
        for w in workers:
            if w.poll() is None:
                w.send_signal(signal.SIGTERM)
        for w in workers:
            w.wait(timeout=20)


def jsonl_ids(out: Path, account: str, entity: str) -> list[Any]:
    """The ids of every record the JSON Lines sink wrote for ``account``'s ``entity``."""
    ids = []
    for run in sorted((out / account / entity).glob("run-*.jsonl")):
        ids += [json.loads(line)["id"] for line in run.read_bytes().splitlines()]
    return ids


def worker_logs(out: Path, count: int) -> str:
    return "".join((out.parent / f"worker-{n}.log").read_text() for n in range(count))


def worker_pid(row: Mapping[str, Any]) -> int:
    """The pid of the worker named in a status row (``host:pid``)."""
    return int(str(row["worker"]).rsplit(":", 1)[1])


async def wait_all_done(board: StatusBoard, expected: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    rows: list[Any] = []
    while time.monotonic() < deadline:
        rows = await board.rows()
        if len(rows) == expected and all(row.state == "done" for row in rows):
            return
        await asyncio.sleep(0.2)
    pytest.fail(f"jobs not done: {[(r.account, r.entity, r.state, r.error) for r in rows]}")
