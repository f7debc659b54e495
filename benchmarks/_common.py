"""Helpers shared by the benchmark scripts: a server in another process, RSS, tables."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def served_in_subprocess(code: str, ready_timeout: float = 20.0) -> Iterator[str]:
    """Run ``code`` (which must print its base URL on one line, then serve) in a child process.

    The server's CPU then does not count against the client process being measured.
    """
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + ready_timeout
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if not line.startswith("http") or time.monotonic() > deadline:
            raise RuntimeError(f"server did not start: {line!r}")
        yield line
    finally:
        proc.terminate()
        proc.wait(timeout=10)


SERVE_SANDBOX = """
import sys, time
from crmkit.sandbox.demo import DemoSandbox
sandbox = DemoSandbox({items}, rate_limit={rate_limit})
served = sandbox.serve()
print(served.url, flush=True)
while True:
    time.sleep(3600)
"""


def peak_rss_mib() -> float:
    """This process's peak resident set size so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        lines.append("  ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(row)))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
