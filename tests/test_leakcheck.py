"""The suite's leak checks really fail a leaking test (issue 19).

A module of tests that each leak one thing (a socket, a file, an event loop, a
running subprocess, a coroutine never awaited, a task destroyed while pending, a
task left running, an asyncio connection never closed, an exception in a thread)
is run by pytest in a subprocess, with the ``filterwarnings`` read from this
repository's ``pyproject.toml`` and the ``tests/_leakcheck.py`` plugin, exactly as
the suite runs. Each leaking test must fail; the clean ones must pass.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]

LEAKING = textwrap.dedent(
    """
    import asyncio
    import socket
    import subprocess
    import sys
    import threading

    import pytest


    def test_clean_socket():
        with socket.socket():
            pass


    def test_leaks_socket():
        socket.socket()


    def test_leaks_file(tmp_path):
        (tmp_path / "f").write_text("x")
        open(tmp_path / "f")


    def test_leaks_event_loop():
        asyncio.new_event_loop()


    def test_leaks_running_subprocess():
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1)"])


    def test_never_awaits_coroutine():
        async def work():
            pass

        work()


    def test_destroys_pending_task():
        loop = asyncio.new_event_loop()
        task = loop.create_task(asyncio.Event().wait())
        loop.run_until_complete(asyncio.sleep(0))
        loop.close()
        del task


    def test_raises_in_thread():
        thread = threading.Thread(target=lambda: 1 / 0)
        thread.start()
        thread.join()


    def test_asyncio_run_is_in_debug_mode():
        async def debug():
            return asyncio.get_running_loop().get_debug()

        assert asyncio.run(debug())


    @pytest.mark.anyio
    async def test_anyio_is_in_debug_mode():
        assert asyncio.get_running_loop().get_debug()


    @pytest.mark.anyio
    async def test_leaves_task_running():
        asyncio.get_running_loop().create_task(asyncio.sleep(30))


    @pytest.mark.anyio
    async def test_leaks_connection():
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        server.close()
        del reader, writer
    """
)

#: Each leaking test, and what its failure must name.
EXPECTED = {
    "test_leaks_socket": "unclosed <socket.socket",
    "test_leaks_file": "unclosed file",
    "test_leaks_event_loop": "unclosed event loop",
    "test_leaks_running_subprocess": "is still running",
    "test_never_awaits_coroutine": "was never awaited",
    "test_destroys_pending_task": "Task was destroyed but it is pending",
    "test_raises_in_thread": "ZeroDivisionError",
    "test_leaves_task_running": "tasks still running when the test and its fixtures were done",
    "test_leaks_connection": "StreamWriter",
}
PASSING = {"test_clean_socket", "test_asyncio_run_is_in_debug_mode", "test_anyio_is_in_debug_mode"}


def _ini(filterwarnings: list[str]) -> str:
    lines = "\n".join(f"    {line}" for line in filterwarnings)
    return f"[pytest]\nfilterwarnings =\n{lines}\n"


def test_each_leak_fails_its_test(tmp_path: Path) -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    (tmp_path / "pytest.ini").write_text(_ini(config["filterwarnings"]))
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["tests._leakcheck"]\n')
    (tmp_path / "test_leaking.py").write_text(LEAKING)
    report = tmp_path / "report.xml"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PYTHONASYNCIODEBUG", None)  # the plugin turns debug mode on by itself
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--junitxml={report}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1, run.stdout + run.stderr

    reports: dict[str, str] = {}
    for case in ET.parse(report).iter("testcase"):
        failed = [child for child in case if child.tag in ("failure", "error")]
        reports[case.get("name", "")] = "".join(
            (child.get("message") or "") + "".join(child.itertext()) for child in failed
        )
    assert set(reports) == set(EXPECTED) | PASSING, run.stdout
    for name in PASSING:
        assert reports[name] == "", (name, reports[name])
    # Each test fails for its own leak, not for a neighbour's collected late.
    for name, reason in EXPECTED.items():
        assert reason in reports[name], (name, reason, reports[name])


@pytest.mark.anyio
async def test_the_suite_runs_asyncio_in_debug_mode() -> None:
    assert asyncio.get_running_loop().get_debug()


@pytest.mark.anyio
@pytest.mark.asyncio_debug_off
async def test_a_benchmark_sized_test_can_run_without_it() -> None:
    assert not asyncio.get_running_loop().get_debug()
