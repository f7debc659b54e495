"""What the paced rule can reach, simulated: the figures in ``crmkit/_throttle.py``'s docstring.

A model of the rule, not crmkit's code: requests leave ``1/rate`` apart at
least, each holds a slot until a window after ``s + e`` (``e`` = its response
time less the floor when answered; the widened range when still in flight,
once ten answers are in; until its answer before that), the floor being the
least response time lowered by ``widening`` x range / (n - 1), and by at
least a fifth of the range. The server counts each request after a uniform
network delay and answers after a fixed server time. Printed: the median
share of the rate (requests over the time from the first send to the last
answer, as bench_throughput.py counts it) and how many runs had a second
with more than ``rate`` counted requests.

``--oracle`` gives the rule the least delay from the first send on (no strict
start, no widening): the ceiling of any rule that never risks the window.
``--oracle-after 3`` the same after the strict start of three answers.
``--lazy`` ends answered slots by the floor known at each send instead of the
one known at their answer (a variant that was tried: it goes over the window).

    python benchmarks/simulate_throttle.py [--runs N] [--widening W] [--oracle] [--lazy]
"""

from __future__ import annotations

import argparse
import math
import random
import statistics

RATE, REQUESTS, NETWORK = 7, 80, 0.1


def one_run(
    jitter: float,
    server: float,
    widening: float,
    seed: int,
    oracle_after: int | None = None,
    lazy: bool = False,
) -> tuple[float, bool]:
    rng = random.Random(seed)
    delays = [rng.uniform(NETWORK - jitter, NETWORK + jitter) for _ in range(REQUESTS)]
    spacing = 1 / (RATE * 0.99)
    sent: list[float] = []
    answered: list[float] = []
    tails: list[float] = []
    seen: list[tuple[float, float]] = []  # (answered at, response time)

    def bounds(at: float) -> tuple[float, float]:
        times = [r for a, r in seen if a <= at]
        if oracle_after is not None and len(times) >= oracle_after:
            return NETWORK - jitter + server, 2 * jitter  # the least delay, known
        if len(times) < 3:
            return 0.0, math.inf
        low, high = min(times), max(times)
        widen = (high - low) * max(widening / (len(times) - 1), 0.2)
        floor = max(0.0, low - widen)
        return floor, (high + widen - floor) if len(times) >= 10 else math.inf

    for i in range(REQUESTS):
        t = sent[-1] + spacing if sent else 0.0
        while True:
            floor, hold = bounds(t)
            ends = [
                (answered[j] + 1 - floor if lazy else tails[j])
                if answered[j] <= t else sent[j] + 1 + hold
                for j in range(i)
            ]  # fmt: skip
            live = sorted(e for e in ends if e > t)
            if len(live) < RATE:
                break
            pending = [answered[j] for j in range(i) if answered[j] > t]
            t = max(min([live[len(live) - RATE], *pending]), t + 1e-9)
        sent.append(t)
        answered.append(t + delays[i] + server)
        seen.append((answered[-1], delays[i] + server))
        tails.append(answered[-1] + 1 - bounds(answered[-1])[0])
    counted = sorted(s + d for s, d in zip(sent, delays, strict=True))
    over = any(counted[k] - counted[k - RATE] <= 1.0 for k in range(RATE, REQUESTS))
    return REQUESTS / ((max(answered) - sent[0]) * RATE), over


def main(runs: int, widening: float, oracle_after: int | None, lazy: bool) -> None:
    rule = f"floor widening {widening:g}" if oracle_after is None else "least delay known"
    if oracle_after:
        rule += f" after {oracle_after} answers"
    print(f"{REQUESTS} requests at {RATE}/s, {runs} runs each, {rule}{', lazy' * lazy}")
    print("jitter   server   share (median)   runs over the window")
    for jitter in (0.02, 0.1):
        for server in (0.0, 0.25, 0.5):
            results = [
                one_run(jitter, server, widening, seed, oracle_after, lazy) for seed in range(runs)
            ]
            share = statistics.median(r[0] for r in results)
            over = sum(r[1] for r in results)
            print(f"+-{jitter * 1000:3.0f} ms  {server * 1000:3.0f} ms   {share:.3f}"
                  f"            {over}")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--widening", type=float, default=6.0)
    parser.add_argument("--oracle", action="store_const", const=0, dest="oracle_after")
    parser.add_argument("--oracle-after", type=int, dest="oracle_after")
    parser.add_argument("--lazy", action="store_true")
    args = parser.parse_args()
    main(args.runs, args.widening, args.oracle_after, args.lazy)
