"""The test run's leak checks (issue 19): what leaks fails the test that leaked it.

Loaded by ``tests/conftest.py`` for the whole suite, together with the
``filterwarnings`` in ``pyproject.toml`` (``ResourceWarning``, never-awaited
coroutines and unraisable exceptions are errors). This plugin adds:

- asyncio debug mode for every event loop this process makes (anyio's, ``asyncio.run``'s,
  threads'): unclosed transports and loops are reported with where they were made,
  a loop touched from another thread raises. Not in the subprocesses tests start
  (no ``PYTHONASYNCIODEBUG``): nothing would read their reports, and their stderr,
  which tests check, would carry debug mode's slow-step warnings;
- a check that fails a test during which asyncio logged an ERROR ("Task was
  destroyed but it is pending!", "Task exception was never retrieved", an
  exception in a callback or a protocol), and fails the run for one logged outside
  any test;
- a check that fails an anyio test which leaves a task of its own running when it
  and its fixtures are done (asyncio would cancel it silently when the loop closes);
- a garbage collection (of the young generations) after every test, so that an object
  leaked in a reference cycle warns during the test that leaked it, not a later one;
- a summary of asyncio's "Executing <Task> took N seconds" warnings: not errors (a
  loaded machine can make any step slow), but a long one can point at a blocking
  call inside the event loop. The threshold is generous (``SLOW_CALLBACK``).

``tests/test_leakcheck.py`` runs a module of leaking tests under these checks and
asserts that each one fails.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

#: Seconds a callback or task step may run before debug mode logs it (asyncio's own
#: default, 0.1 s, would log ordinary steps on a loaded 2-core machine).
SLOW_CALLBACK = 1.0


class _DebugPolicy(asyncio.DefaultEventLoopPolicy):
    """Every new loop (``asyncio.run``, anyio, threads) in debug mode, slow steps >= 1 s."""

    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        loop = super().new_event_loop()
        loop.set_debug(True)
        loop.slow_callback_duration = SLOW_CALLBACK
        return loop


class _AsyncioLog(logging.Handler):
    """Keeps asyncio's ERROR records (for the current test) and its slow-step warnings."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.errors: list[logging.LogRecord] = []
        self.slow: list[tuple[str, str]] = []
        self.test = "(outside any test)"

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            self.errors.append(record)
        elif record.getMessage().startswith("Executing "):
            self.slow.append((self.test, record.getMessage()))

    def take_errors(self) -> list[str]:
        errors, self.errors = self.errors, []
        return [self.format(record) for record in errors]


_log = _AsyncioLog()
_log.setFormatter(logging.Formatter("%(name)s %(levelname)s: %(message)s"))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "asyncio_debug_off: a benchmark-sized test (10,000 tasks) whose loop runs without "
        "debug mode, which records a stack per task and callback; the leak checks still apply",
    )
    asyncio.set_event_loop_policy(_DebugPolicy())
    logging.getLogger("asyncio").addHandler(_log)


def pytest_unconfigure(config: pytest.Config) -> None:
    logging.getLogger("asyncio").removeHandler(_log)


@pytest.fixture
def anyio_backend(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    """anyio's tests run on asyncio, in debug mode (but for ``asyncio_debug_off`` ones)."""
    return ("asyncio", {"debug": request.node.get_closest_marker("asyncio_debug_off") is None})


@pytest.fixture(autouse=True)
def _leak_checks(request: pytest.FixtureRequest) -> Iterator[None]:
    _log.test = request.node.nodeid
    outside = _log.take_errors()
    if outside:  # logged between tests: the run fails (pytest_sessionfinish), say it here too
        _outside.extend(outside)
    if "anyio_backend" in request.fixturenames:
        # Set up first, so torn down last: after the test's own async fixtures.
        request.getfixturevalue("_no_pending_tasks")
    yield
    # Objects leaked in a reference cycle warn now, in this test's teardown. The young
    # generations only: a full collection costs ~60 ms with dlt and duckdb loaded (a
    # minute over the suite). What survived into the oldest one, or is still held (a
    # failed test's traceback holds its frames), warns at a later full collection, at
    # the latest at the end of the run, which then fails.
    gc.collect(1)
    errors = _log.take_errors()
    _log.test = "(outside any test)"
    if errors:
        pytest.fail("asyncio logged errors during this test:\n" + "\n".join(errors), pytrace=False)


@pytest.fixture
async def _no_pending_tasks() -> AsyncIterator[None]:
    yield
    for _ in range(10):  # let tasks that were just cancelled or woken finish
        await asyncio.sleep(0)
    left = [task for task in asyncio.all_tasks() if not _anyio_own(task)]
    if left:
        for task in left:
            task.cancel()
        await asyncio.gather(*left, return_exceptions=True)
        pytest.fail(
            "tasks still running when the test and its fixtures were done:\n"
            + "\n".join(repr(task) for task in left),
            pytrace=False,
        )


def _anyio_own(task: asyncio.Task[Any]) -> bool:
    """anyio's test runner task, and the task that waits for it to run this teardown."""
    name = getattr(task.get_coro(), "__qualname__", "")
    return task is asyncio.current_task() or name == "TestRunner._call_in_runner_task"


_outside: list[str] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    gc.collect()
    _outside.extend(_log.take_errors())
    if _outside:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _outside:
        terminalreporter.section("asyncio errors logged outside any test")
        for line in _outside:
            terminalreporter.line(line)
    if _log.slow:
        terminalreporter.section(f"asyncio steps slower than {SLOW_CALLBACK} s (not errors)")
        for test, message in _log.slow:
            terminalreporter.line(f"{test}: {message}")
