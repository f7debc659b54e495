"""Scale-out: 200 amoCRM accounts x 20 pages at 2 requests/s, across 1 and 2 workers.

A server in another process hosts the accounts (``/a{n}/api/v4/leads``, each an
amoCRM sandbox with its own strict 2/s window); a redis-server is started on a
free port; ``crmkit worker`` processes run the 200 export jobs queued by
``crmkit.jobs.enqueue_accounts``. Printed per worker count: the time from
enqueue to the last job done, beside the minimum the limits allow (every
account's 20 requests, the first at once, then 1/2 s apart: 9.5 s, all
accounts in parallel), the 429s the server counted, each worker's CPU, and
the Lua scripts the workers ran in Redis per request.

    python benchmarks/bench_jobs.py [--accounts N] [--pages P] [--rate R] [--workers 1,2]

The default stops at two workers: on the two cores ``nox -s bench`` is measured
on, a third and fourth worker only share the same CPUs (the last 4-worker run:
1.51x against 1.40x for two) and cost a minute of the bench's 15; pass
``--workers 1,2,4`` on a larger machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import served_in_subprocess, table
from crmkit.amocrm.sandbox import SandboxCredentials

#: The sandbox's long-lived admin token (a JWT, the same in every sandbox process).
TOKEN = SandboxCredentials().access_token

SERVER = """
import time
from crmkit.amocrm.sandbox import AmoCRMSandbox
from crmkit.sandbox import serve

accounts = [AmoCRMSandbox(leads={leads}, rate_limit={rate}, block_after=None, seed=n)
            for n in range({accounts})]

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    head, _, rest = scope["path"].lstrip("/").partition("/")
    if head == "limited":  # the 429s of every account, for the report
        body = str(sum(a.limited for a in accounts)).encode()
        await send({{"type": "http.response.start", "status": 200, "headers": []}})
        await send({{"type": "http.response.body", "body": body}})
        return
    path = "/" + rest
    inner = {{**scope, "path": path, "raw_path": path.encode()}}
    await accounts[int(head[1:])](inner, receive, send)

served = serve(app)
print(served.url, flush=True)
while True:
    time.sleep(3600)
"""
PAGE = 10


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_redis() -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is not on PATH (apt-get install redis-server)")
    port = _free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            break
        except OSError:
            time.sleep(0.05)
    return proc, f"redis://127.0.0.1:{port}/0"


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _run(redis_url: str, config: Path, accounts: int) -> tuple[float, int]:
    from arq import create_pool
    from arq.connections import RedisSettings

    from crmkit.jobs import StatusBoard, enqueue_accounts, load_accounts

    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    board = StatusBoard(pool)
    while not await pool.exists("arq:queue:health-check"):  # noqa: ASYNC110 (other processes)
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)
    started = time.monotonic()
    await enqueue_accounts(pool, load_accounts(config))
    # arq drops a job from its queue when it ends: one cheap call a poll (the figure
    # of Redis calls per request below is the workers', not this loop's).
    while await pool.zcard("arq:queue"):  # noqa: ASYNC110 (other processes)
        await asyncio.sleep(0.05)
    elapsed = time.monotonic() - started
    # Lua scripts run (throttle grants and releases, checkpoint saves): the round trips
    # that cost the workers CPU; INFO's total would also count the commands inside them.
    stats = await pool.info("commandstats")
    commands = sum(
        int(stats.get(k, {}).get("calls", 0)) for k in ("cmdstat_evalsha", "cmdstat_eval")
    )
    rows = await board.rows()
    if sum(1 for r in rows if r.state == "done") != accounts:
        raise SystemExit(f"jobs not done: {[r for r in rows if r.state != 'done'][:3]}")
    await pool.aclose()
    return elapsed, commands


def main(accounts: int, pages: int, rate: float, worker_counts: list[int]) -> None:
    ideal = (pages - 1) / rate
    rows: list[tuple[str, ...]] = [
        (
            "workers",
            "accounts",
            "requests",
            "429s",
            "time s",
            "vs minimum",
            "CPU s per worker",
            "Redis scripts/request",
        ),
        ("minimum", str(accounts), str(accounts * pages), "0", f"{ideal:.2f}", "1.00x", "-", "-"),
    ]
    code = SERVER.format(leads=PAGE * pages, rate=int(rate), accounts=accounts)
    with served_in_subprocess(code, ready_timeout=300) as url:
        for workers in worker_counts:
            redis, redis_url = _start_redis()
            with tempfile.TemporaryDirectory() as tmp:
                config = Path(tmp) / "accounts.toml"
                config.write_text(
                    "".join(
                        f'[[account]]\nname = "a{n}"\nplatform = "amocrm"\n'
                        f'url = "{url}/a{n}"\ntoken = "{TOKEN}"\n'
                        f'entities = ["leads"]\nrate_limit = {rate}\npage_size = {PAGE}\n\n'
                        for n in range(accounts)
                    )
                )
                before = int(_get(f"{url}/limited"))
                procs = [
                    subprocess.Popen(
                        [sys.executable, "-m", "crmkit", "worker", "--config", str(config),
                         "--out", str(Path(tmp) / "out"), "--redis", redis_url,
                         "--max-jobs", str(accounts), "--slice", "600"],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                    for _ in range(workers)
                ]  # fmt: skip
                try:
                    elapsed, commands = asyncio.run(_run(redis_url, config, accounts))
                    cpu = [_cpu_seconds(p.pid) for p in procs]
                finally:
                    for p in procs:
                        p.terminate()
                    for p in procs:
                        p.wait(timeout=30)
                    redis.terminate()
                    redis.wait()
                limited = int(_get(f"{url}/limited")) - before
            rows.append(
                (
                    str(workers),
                    str(accounts),
                    str(accounts * pages),
                    str(limited),
                    f"{elapsed:.2f}",
                    f"{elapsed / ideal:.2f}x",
                    " ".join(f"{c:.1f}" for c in cpu),
                    f"{commands / (accounts * pages):.1f}",
                )
            )
            print(f"{workers} worker(s): {elapsed:.2f} s", flush=True)
    print(
        f"\n{accounts} amoCRM accounts x {pages} pages of {PAGE} at {rate:g}/s each "
        f"(strict windows), crmkit worker processes on {os.cpu_count()} cores:"
    )
    print(table(rows))


def _get(url: str) -> str:
    import httpx

    return httpx.get(url).text


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--rate", type=float, default=2.0)
    parser.add_argument("--workers", default="1,2")
    args = parser.parse_args()
    main(args.accounts, args.pages, args.rate, [int(w) for w in args.workers.split(",")])
