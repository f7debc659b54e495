"""Many accounts at once: 200 Sessions in one process, each within its own rate limit.

A server in another process hosts 200 demo accounts (``/a{n}/items``), each with
its own strict sliding window. This process pages every account concurrently,
one Session per account at that account's limit. Printed beside the ideal: the
time the rate limits allow (each account's requests, the first at once, then
``1/rate`` apart), the time taken, and the 429s.

Figure to beat (design.md): within 10 % of the time the rate limits allow.
The figure is the median of ``--runs`` runs against the same server (a pause
between them lets every account's window empty), with the lowest and highest.

``--timeline`` also prints where the time goes beyond the minimum: the server
stamps when it counted each request (``time.monotonic`` is one clock for both
processes on Linux), the throttle records each grant, the instant the answer's
headers came and the release; printed are the first sends' spread, the
response time split at the count, how late sends went past every rule that
held them (the event loop's lag), and the slowest account against the median.

    python benchmarks/bench_many_accounts.py [--accounts N] [--rate R] [--requests K] [--runs R]
        [--timeline]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import httpx

import crmkit
from _common import peak_rss_mib, served_in_subprocess, table
from crmkit.sandbox.demo import list_items

SERVER = """
import time
from crmkit.sandbox import serve
from crmkit.sandbox.demo import DemoSandbox

accounts = [DemoSandbox({items}, rate_limit={rate}) for _ in range({accounts})]

async def app(scope, receive, send):
    head, _, rest = scope["path"].lstrip("/").partition("/")
    path = "/" + rest
    inner = {{**scope, "path": path, "raw_path": path.encode()}}
    if not {timeline}:
        await accounts[int(head[1:])](inner, receive, send)
        return
    counted = repr(time.monotonic()).encode()  # the sandbox counts it now

    async def stamped(message):
        if message["type"] == "http.response.start":
            headers = [*message.get("headers", []), (b"x-counted", counted)]
            message = {{**message, "headers": headers}}
        await send(message)

    await accounts[int(head[1:])](inner, receive, stamped)

served = serve(app)
print(served.url, flush=True)
while True:
    time.sleep(3600)
"""
PAGE = 10  # small pages: the figure is about rate limits, not JSON


class Timed(crmkit.RateLimiter):
    """A RateLimiter that notes each grant, answer (headers) and release (``--timeline``)."""

    def __init__(self, rate: float) -> None:
        super().__init__(rate)
        self.events: dict[str, list[float]] = {"grant": [], "answer": [], "release": []}
        self.counted: list[float] = []
        self.floors: list[float] = []  # the floor each answer's slot was ended by

    async def acquire(self) -> None:
        await super().acquire()
        self.events["grant"].append(time.monotonic())

    def answered(self) -> None:
        super().answered()
        self.events["answer"].append(time.monotonic())

    def release(self) -> None:
        super().release()
        self.events["release"].append(time.monotonic())
        self.floors.append(self.floor)


async def run(
    url: str, accounts: int, rate: float, timeline: bool = False
) -> tuple[float, int, int, int]:
    limiters: list[Timed] = []

    async def one(n: int) -> tuple[int, int, int]:
        throttle = Timed(rate) if timeline else None
        async with crmkit.Session(
            f"{url}/a{n}", rate_limit=rate, throttle=throttle, allow_insecure_http=True
        ) as session:
            if throttle is not None:
                limiters.append(throttle)

                async def note(response: httpx.Response) -> None:
                    throttle.counted.append(float(response.headers["x-counted"]))

                session._client.event_hooks["response"].append(note)  # a benchmark's peek
            items = sum([1 async for _ in list_items(session, page_size=PAGE)])
            return items, session.stats.requests, session.stats.rate_limited

    started, cpu = time.monotonic(), time.process_time()
    results = await asyncio.gather(*(one(n) for n in range(accounts)))
    elapsed = time.monotonic() - started
    print(f"client CPU {time.process_time() - cpu:.2f} s over {elapsed:.2f} s")
    if timeline:
        print_timeline(limiters, started, rate)
    return (
        elapsed,
        sum(r[0] for r in results),
        sum(r[1] for r in results),
        sum(r[2] for r in results),
    )


def print_timeline(limiters: list[Timed], started: float, rate: float) -> None:
    """Where one run's time went, beyond the minimum (``--timeline``)."""

    def ms(values: list[float]) -> str:
        values = sorted(values)
        if not values:
            return "-"
        mean = statistics.fmean(values) * 1000
        p90 = values[int(0.9 * (len(values) - 1))] * 1000
        return f"mean {mean:6.1f}  p90 {p90:6.1f}  max {values[-1] * 1000:6.1f} ms"

    spacing = 1.0 / (rate * 0.99)
    capacity = max(1, int(rate))
    first, to_count, after_count, to_release, late, finish = [], [], [], [], [], []
    strict = sends = 0
    for lim in limiters:
        grant, answer, release = (lim.events[k] for k in ("grant", "answer", "release"))
        if not (len(grant) == len(answer) == len(release) == len(lim.counted)):
            continue  # a retry or an answer without headers: not this bench's runs
        first.append(grant[0] - started)
        finish.append(release[-1] - started)
        strict += sum(1 for floor in lim.floors if floor == 0)
        sends += len(grant)
        for i in range(len(grant)):
            to_count.append(lim.counted[i] - grant[i])
            after_count.append(answer[i] - lim.counted[i])
            to_release.append(release[i] - answer[i])
            # Every rule that held send i: the spacing, the paginator (the answer
            # before it), the slot of the send `capacity` before it (a window
            # after its answer's headers, less the floor then).
            if i:
                held = max(grant[i - 1] + spacing, release[i - 1])
                if i >= capacity:
                    j = i - capacity
                    held = max(held, answer[j] + 1.0 - lim.floors[j])
                late.append(max(0.0, grant[i] - held))
    finish.sort()
    print(f"  first sends after the start:        {ms(first)}")
    print(f"  grant -> counted by the server:     {ms(to_count)}")
    print(f"  counted -> answer's headers seen:   {ms(after_count)}")
    print(f"  headers -> release:                 {ms(to_release)}")
    print(f"  sends later than every rule held:   {ms(late)}")
    print(f"  slots ended by the strict rule (no floor): {strict} of {sends}")
    print(
        f"  last answers: median {statistics.median(finish):.2f} s, slowest {finish[-1]:.2f} s "
        f"(the run's time)"
    )


def main(accounts: int, rate: float, requests: int, runs: int, timeline: bool = False) -> None:
    code = SERVER.format(
        items=PAGE * requests, rate=int(rate), accounts=accounts, timeline=timeline
    )
    results = []
    with served_in_subprocess(code, ready_timeout=120) as url:
        for n in range(runs):
            if n:
                time.sleep(1.1)  # every account's last requests leave its window
            results.append(asyncio.run(run(url, accounts, rate, timeline)))
    ideal = (requests - 1) / rate
    times = sorted(r[0] for r in results)
    elapsed = statistics.median(times)
    items, sent = results[0][1], results[0][2]
    limited = max(r[3] for r in results)
    spread = f"{elapsed / ideal:.2f}x ({times[0] / ideal:.2f}-{times[-1] / ideal:.2f}x)"
    rows = [
        ("", "accounts", "items", "requests", "429s (max)", "time s", "vs ideal", "peak RSS MiB"),
        ("rate limits allow", str(accounts), "-", str(accounts * requests), "0", f"{ideal:.2f}",
         "1.00x", "-"),
        ("crmkit", str(accounts), str(items), str(sent), str(limited), f"{elapsed:.2f}",
         spread, f"{peak_rss_mib():.0f}"),
    ]  # fmt: skip
    print(
        f"\nMany accounts: {accounts} Sessions in one process, {requests} requests each "
        f"at {rate:g}/s per account\n"
    )
    print(table(rows))
    print(
        f"\n(median of {runs} runs, lowest-highest; target: within 1.10x of the time the"
        " rate limits allow, no 429)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--rate", type=float, default=2.0)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeline", action="store_true")
    args = parser.parse_args()
    main(args.accounts, args.rate, args.requests, args.runs, args.timeline)
