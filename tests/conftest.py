"""Shared fixtures: a virtual clock, sandbox helpers; ``tests/_leakcheck.py`` runs anyio's
tests on asyncio in debug mode and fails a test that leaks."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

pytest_plugins = ["tests._leakcheck"]


class VirtualClock:
    """A crmkit Clock whose sleeps advance virtual time instead of waiting."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


def pytest_configure(config: Any) -> None:
    config.addinivalue_line("markers", "network: uses real sockets on 127.0.0.1")
