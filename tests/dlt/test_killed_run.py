"""A sync killed (SIGKILL) at a random page and run again: every record once, none missing.

The child syncs with one load per page, so each committed load carries the
paginator's position; the rerun resumes after the last committed page rather
than starting over.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import duckdb

from crmkit.amocrm.sandbox import AmoCRMSandbox

CHILD = Path(__file__).with_name("_sync_child.py")
LEADS = 300  # 6 pages of 50


def _run(url: str, token: str, workdir: Path, kill_at: int | None) -> list[str]:
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
        if kill_at is not None and len(lines) == kill_at:
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait(timeout=120)
    proc.stdout.close()
    if kill_at is None:
        assert proc.returncode == 0, lines
    else:
        assert proc.returncode == -signal.SIGKILL
    return lines


def test_killed_at_a_random_page_then_rerun(tmp_path: Path) -> None:
    sandbox = AmoCRMSandbox(leads=LEADS, rate_limit=None)
    sandbox.clock.advance(10)
    token = sandbox.credentials.access_token
    kill_at = random.Random(os.urandom(8)).randint(2, 5)  # of 6 pages
    served = sandbox.serve()
    try:
        first = _run(served.url, token, tmp_path, kill_at)
        second = _run(served.url, token, tmp_path, None)
    finally:
        served.stop()
    assert len(first) == kill_at
    assert second[-1] == "done"
    reread = sum(int(line.split()[1]) for line in second if line.startswith("page"))
    # Resumed after the last committed load (the page in progress may come again):
    assert reread <= LEADS - 50 * (kill_at - 2), (kill_at, second)
    with duckdb.connect(str(tmp_path / "killed.duckdb"), read_only=True) as db:
        ids = [row[0] for row in db.execute("SELECT id FROM acme.leads").fetchall()]
    assert len(ids) == len(set(ids)), f"duplicates after a kill at page {kill_at}"
    assert set(ids) == set(sandbox.entities["leads"]), f"missing after a kill at page {kill_at}"
