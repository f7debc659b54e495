"""Chaos runs: every fault at once, seeded, then exactly-once checks.

``CHAOS_SCALE`` (environment) sizes the runs: 1.0 is the issue's full size
(``nox -s chaos``), the default 0.1 keeps ``nox -s tests`` fast. ``CHAOS_SEED``
replays a run.
"""

from __future__ import annotations

import os

import crmkit
from crmkit.sandbox import FaultPlan

SCALE = float(os.environ.get("CHAOS_SCALE", "0.1"))
SEED = int(os.environ.get("CHAOS_SEED", "19"))

#: 10 % 5xx, 5 % dropped before and 5 % after processing, 3 % truncated, random 429s,
#: latency spikes up to 5 ms; and 5 % HTML 502/504 gateway pages sent after the request
#: was processed (a write that committed).
FAULTS = FaultPlan(
    server_error=0.10,
    server_error_after=0.05,
    drop_before=0.05,
    drop_after=0.05,
    truncate=0.03,
    rate_limited=0.04,
    latency=(0.0, 0.005),
    seed=SEED,
)

#: Enough retries that a request survives the faults above; backoff on the virtual clock.
RETRY = crmkit.RetryPolicy(max_retries=10)


def sized(full: int) -> int:
    return max(1, int(full * SCALE))
