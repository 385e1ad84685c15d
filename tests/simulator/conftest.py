"""Fixtures of the simulator tests."""

from __future__ import annotations

import pytest

from simulator.clock import SimClock
from simulator.world import Grid


@pytest.fixture
def wall() -> list[float]:
    """Real time as the twin sees it: moved by the test, never by itself."""
    return [1000.0]


@pytest.fixture
def clock(wall: list[float]) -> SimClock:
    """Simulated time moves only through clock.advance(); real time through ``wall``."""
    return SimClock(wall=lambda: wall[0])


@pytest.fixture
def grid() -> Grid:
    """The utility supply, present."""
    return Grid()
