"""Fixtures shared by every test folder; no Home Assistant imports here.

The device-layer tests also run in a second virtual environment without Home
Assistant (and with the newest pymodbus). There, importing
``custom_components.v2x`` would execute the integration's ``__init__`` and fail, so
the package is registered by path only: that proves ``devices/`` needs nothing from
Home Assistant.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
import contextlib
import importlib.util
from pathlib import Path
import sys
import types

import pytest

ROOT = Path(__file__).resolve().parent.parent

if importlib.util.find_spec("homeassistant") is None:  # pragma: no cover - second venv only
    for name, path in (
        ("custom_components", ROOT / "custom_components"),
        ("custom_components.v2x", ROOT / "custom_components" / "v2x"),
    ):
        module = types.ModuleType(name)
        module.__path__ = [str(path)]
        sys.modules.setdefault(name, module)

from simulator.quasar import QuasarConfig  # noqa: E402
from simulator.world import ScenarioConfig, Simulation  # noqa: E402


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
