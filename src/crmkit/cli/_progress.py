"""What the ``crmkit`` command shows while exports run, and the summary after.

On a terminal: one live ``rich`` progress line per running export (records,
pages, records/s, rate-limit waits, retries, ETA where the total is known).
Elsewhere: a plain log line per export every few seconds and when it ends.
``quiet`` shows nothing. Every human-facing line goes to stderr, so stdout
can carry records or the JSON summary.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from rich import box
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from .._tls import LOOPBACK_HOSTS
from ._export import JobStats

__all__ = ["Display", "human_console", "make_display", "summary_table"]

_PLAIN_EVERY = 2.0


class Display:
    """Shows nothing (``--quiet``, ``--json``); the base of the others."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def __enter__(self) -> Display:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self, stats: JobStats) -> None:
        """An export begins."""

    def update(self, stats: JobStats) -> None:
        """An export wrote a page."""

    def finish(self, stats: JobStats) -> None:
        """An export ended (done, failed or interrupted)."""

    def close(self) -> None:
        """Stop drawing."""

    def message(self, text: str) -> None:
        """A line for the user (not shown when quiet)."""


class PlainDisplay(Display):
    """Log lines, for output that is not a terminal."""

    def __init__(self, console: Console) -> None:
        super().__init__(console)
        self._last: dict[int, float] = {}

    def start(self, stats: JobStats) -> None:
        self._last[id(stats)] = time.monotonic()
        self.console.print(f"{_label(stats)}: started", highlight=False)

    def update(self, stats: JobStats) -> None:
        now = time.monotonic()
        if now - self._last.get(id(stats), 0.0) >= _PLAIN_EVERY:
            self._last[id(stats)] = now
            self.console.print(f"{_label(stats)}: {_progress_text(stats)}", highlight=False)

    def finish(self, stats: JobStats) -> None:
        ending = stats.status if not stats.error else f"{stats.status}: {stats.error}"
        line = f"{_label(stats)}: {ending}, {_progress_text(stats)}"
        self.console.print(line, highlight=False)

    def message(self, text: str) -> None:
        self.console.print(text, highlight=False)


class LiveDisplay(Display):
    """One live progress line per export, drawn by ``rich``."""

    def __init__(self, console: Console) -> None:
        super().__init__(console)
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(bar_width=12),
            TextColumn(
                "{task.completed:,.0f} rec {task.fields[pages]} pg {task.fields[speed]}/s "
                "wait {task.fields[waits]} retry {task.fields[retries]}"
            ),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            refresh_per_second=8,
        )
        self._tasks: dict[int, TaskID] = {}
        self._progress.start()

    def start(self, stats: JobStats) -> None:
        self._tasks[id(stats)] = self._progress.add_task(
            _label(stats), total=None, **_fields(stats)
        )

    def update(self, stats: JobStats) -> None:
        task = self._tasks.get(id(stats))
        if task is not None:
            self._progress.update(
                task, completed=stats.records, total=stats.total, **_fields(stats)
            )

    def finish(self, stats: JobStats) -> None:
        task = self._tasks.get(id(stats))
        if task is None:
            return
        mark = {"done": "[green]done[/]", "interrupted": "[yellow]stopped[/]"}.get(
            stats.status, "[red]failed[/]"
        )
        self._progress.update(
            task,
            description=f"{_label(stats)} {mark}",
            completed=stats.records,
            total=stats.records if stats.status == "done" else stats.total,
            **_fields(stats),
        )

    def close(self) -> None:
        self._progress.stop()

    def message(self, text: str) -> None:
        self._progress.console.print(text, highlight=False)


def make_display(*, quiet: bool, console: Console | None = None) -> Display:
    """The display for this terminal: live, plain, or none (``quiet``)."""
    console = console or human_console()
    if quiet:
        return Display(console)
    if console.is_terminal:
        return LiveDisplay(console)
    return PlainDisplay(console)


def human_console() -> Console:
    """stderr; off a terminal, long lines are not wrapped and tables get room."""
    probe = Console(stderr=True)
    if probe.is_terminal:
        return probe
    return Console(stderr=True, soft_wrap=True, width=140)


def summary_table(all_stats: Sequence[JobStats], title: str) -> Table:
    """Records, requests, 429s, retries, elapsed and share of the allowed rate, per export."""
    names = [stats.name for stats in all_stats]
    show_account = len(set(names)) < len(names)  # the same export on several accounts
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("export")
    if show_account:
        table.add_column("account")
    table.add_column("status")
    for heading in ("records", "requests", "429s", "retries", "time", "rate used"):
        table.add_column(heading, justify="right")
    for stats in all_stats:
        share = stats.rate_share
        cells = [stats.name, *([stats.account] if show_account else [])]
        table.add_row(
            *cells,
            "changes" if stats.incremental and stats.status == "done" else stats.status,
            f"{stats.records:,}",
            f"{stats.requests:,}",
            str(stats.rate_limited),
            str(stats.retries),
            f"{stats.elapsed:.1f}s",
            f"{share:.0%} of {stats.rate_limit:g}/s" if share is not None else "no limit",
        )
    return table


def _label(stats: JobStats) -> str:
    host, _, port = stats.account.rpartition(":")
    loopback = (host or port) in LOOPBACK_HOSTS
    return f"{stats.name} ({stats.account})" if stats.account and not loopback else stats.name


def _fields(stats: JobStats) -> dict[str, Any]:
    speed = stats.records / stats.elapsed if stats.elapsed > 0 else 0.0
    return {
        "pages": stats.pages,
        "speed": f"{speed:,.0f}",
        "waits": f"{stats.throttle_wait:.1f}s",
        "retries": stats.retries,
    }


def _progress_text(stats: JobStats) -> str:
    fields = _fields(stats)
    total = f"/{stats.total:,}" if stats.total else ""
    return (
        f"{stats.records:,}{total} records, {stats.pages} pages, {fields['speed']} rec/s, "
        f"waited {fields['waits']}, {stats.retries} retries, {stats.rate_limited} 429s"
    )
