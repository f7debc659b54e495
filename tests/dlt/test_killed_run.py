"""A sync killed (SIGKILL) at a random point and run again: every record once, none missing.

The child syncs with one load per page, so each committed load carries the
paginator's position; it is killed a random moment after a random load (in
the middle of reading or loading the next), and the rerun resumes after the
last committed page rather than starting over.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from crmkit.amocrm.sandbox import AmoCRMSandbox

CHILD = Path(__file__).with_name("_sync_child.py")
LEADS = 500  # 10 pages of 50


def _run(url: str, token: str, workdir: Path, kill_after: int | None, delay: float) -> list[str]:
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), url, token, str(workdir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line.strip())
        if kill_after is not None and lines.count("load") == kill_after:
            time.sleep(delay)
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait(timeout=120)
    proc.stdout.close()
    if kill_after is None:
        assert proc.returncode == 0, lines
    else:
        assert proc.returncode == -signal.SIGKILL, lines
    return lines


def test_killed_at_a_random_page_then_rerun(tmp_path: Path) -> None:
    sandbox = AmoCRMSandbox(leads=LEADS, rate_limit=None)
    sandbox.clock.advance(10)
    token = sandbox.credentials.access_token
    rng = random.Random(os.urandom(8))
    # Of 10 loads: at least five more to go when the kill comes, so the child cannot
    # have finished first (a load takes well over 60 ms even with the database held open).
    kill_after, delay = rng.randint(1, 5), rng.uniform(0.0, 0.3)
    served = sandbox.serve()
    try:
        first = _run(served.url, token, tmp_path, kill_after, delay)
        second = _run(served.url, token, tmp_path, None, 0.0)
    finally:
        served.stop()
    where = f"killed {delay:.2f}s after load {kill_after}"
    assert first.count("load") == kill_after and second[-1] == "done"
    reread = sum(int(line.split()[1]) for line in second if line.startswith("page"))
    # Resumed after the last committed load (at least kill_after pages in), not from scratch:
    assert reread <= LEADS - 50 * kill_after, (where, second)
    with duckdb.connect(str(tmp_path / "killed.duckdb"), read_only=True) as db:
        ids = [row[0] for row in db.execute("SELECT id FROM acme.leads").fetchall()]
    assert len(ids) == len(set(ids)), f"duplicates, {where}"
    assert set(ids) == set(sandbox.entities["leads"]), f"missing, {where}"
