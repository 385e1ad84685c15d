"""Fixtures shared by every test folder; no Home Assistant imports here.

The core's tests (tests/core) also run in a second virtual environment without Home
Assistant (and with the newest pymodbus): ``custom_components.v2x`` imports no Home
Assistant, so they import the package as it is (see docs/core.md).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
import contextlib

import pytest

from simulator.quasar import QuasarConfig
from simulator.world import ScenarioConfig, Simulation


@pytest.fixture
def allow_loopback(request: pytest.FixtureRequest) -> None:
    """Let a test open loopback sockets where pytest-socket is installed."""
    with contextlib.suppress(pytest.FixtureLookupError):
        request.getfixturevalue("socket_enabled")


async def start_simulation(*quasars: QuasarConfig, speed: float = 1.0) -> Simulation:
    """Start a simulation on free loopback ports (control API included)."""
    config = ScenarioConfig(speed=speed, control_port=0, quasars=list(quasars))
    sim = Simulation(config)
    await sim.start()
    return sim


@pytest.fixture
def quasar_config() -> QuasarConfig:
    """The simulated Quasar of a test (override the fixture to change it)."""
    return QuasarConfig(port=0)


@pytest.fixture
def sim_speed() -> float:
    """Simulated seconds per real second (override the fixture to change it)."""
    return 1.0


@pytest.fixture
async def sim(
    allow_loopback: None, quasar_config: QuasarConfig, sim_speed: float
) -> AsyncIterator[Simulation]:
    """One Quasar 1 with a 40 kWh Leaf at 60 %, on a free port."""
    simulation = await start_simulation(quasar_config, speed=sim_speed)
    yield simulation
    await simulation.stop()
