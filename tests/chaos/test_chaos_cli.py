"""The CLI's resumable export, killed with SIGKILL at random moments under faults.

A subprocess runs ``crmkit export amocrm leads --state`` against a sandbox on
loopback that fails in every way (5xx, drops, truncated bodies, 429s, latency);
it is killed five times at seeded random moments (no clean-up runs: SIGKILL),
then run to the end. The output must hold every lead exactly once.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from crmkit.amocrm.sandbox import AmoCRMSandbox
from crmkit.sandbox import FaultPlan

from .conftest import SCALE, SEED, sized

pytestmark = pytest.mark.network

#: Five kills at full size (``nox -s chaos``); one in the quick run (each start costs ~1 s).
KILLS = 5 if SCALE >= 1 else 1


def _records(state) -> int:
    try:
        return int(json.loads(state.read_text())["records"])
    except (OSError, ValueError, KeyError):
        return 0


def test_an_export_killed_five_times_resumes_with_every_lead_exactly_once(tmp_path):
    total = sized(20_000)
    faults = FaultPlan(
        server_error=0.05,
        drop_before=0.02,
        drop_after=0.02,
        truncate=0.02,
        rate_limited=0.02 if SCALE >= 1 else 0.0,  # each 429 costs the CLI a real second
        latency=(0.005, 0.03),
        seed=SEED,
    )
    sandbox = AmoCRMSandbox(leads=total, rate_limit=None, faults=faults)
    sandbox.clock.advance(10)
    out, state = tmp_path / "leads.jsonl", tmp_path / "leads.state"
    rng = random.Random(SEED)
    with sandbox.serve() as served:
        args = [
            sys.executable, "-m", "crmkit", "export", "amocrm", "leads", "--url", served.url,
            "--out", str(out), "--state", str(state), "--page-size", "100", "--quiet",
        ]  # fmt: skip
        env = {**os.environ, "CRMKIT_AMOCRM_TOKEN": sandbox.credentials.access_token}
        killed = 0
        for _ in range(KILLS):
            proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            # A random point of the run: once the state has passed a random count of
            # leads, then a random few milliseconds more (mid-page, mid-write ...).
            mark = rng.randrange(total // 2)
            deadline = time.monotonic() + 60
            while proc.poll() is None and time.monotonic() < deadline:
                if _records(state) >= mark:
                    break
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.05))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                killed += 1
            proc.communicate(timeout=30)
        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    ids = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    assert sorted(ids) == list(range(1, total + 1))  # every lead, none twice
    assert json.loads(state.read_text())["complete"]
    assert killed >= 1 and sum(sandbox.injected_faults.values()) > 0
    print(f"{killed} kills, faults {sandbox.injected_faults}, {sandbox.request_count} requests")
