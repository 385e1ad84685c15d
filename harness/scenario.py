"""Where the demo's simulated devices listen, read from the scenario file itself.

``./scripts/demo`` uses the ports written in ``simulator/scenarios/default.toml``.
The browser tests run the same scenario with every port moved to a free one
(:func:`relocated_scenario`), so they do not collide with a demo that is running.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
import re

from simulator.world import load_scenario

from .hass import free_port

_PORT_LINE = re.compile(r"^(\s*port\s*=\s*)(\d+)(\s*(?:#.*)?)$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class DemoPorts:
    """The simulator's control port and each device's port, by the device's name."""

    control: int
    devices: dict[str, int]

    @classmethod
    def from_scenario(cls, path: Path) -> DemoPorts:
        """Read a scenario file (the one the simulator is started with)."""
        scenario = load_scenario(path)
        devices = {
            device.name: int(device.port)
            for family in scenario.device_configs.values()
            for device in family
        }
        if scenario.control_port is None:
            raise ValueError(f"{path} gives the simulator no control port")
        return cls(control=scenario.control_port, devices=devices)

    def device(self, name: str) -> int:
        """The port of the simulated device called ``name`` in the scenario."""
        try:
            return self.devices[name]
        except KeyError:
            raise KeyError(f"the scenario has no device named {name!r}") from None

    @property
    def simulator(self) -> str:
        """The base address of the simulator's control API."""
        return f"http://127.0.0.1:{self.control}"


def relocated_scenario(source: Path, destination: Path) -> Path:
    """Copy a scenario with every ``port = N`` line moved to a free port; the copy's path."""
    text = source.read_text(encoding="utf-8")
    taken: set[int] = set()

    def fresh(match: re.Match[str]) -> str:
        port = free_port()
        while port in taken:
            port = free_port()
        taken.add(port)
        return f"{match.group(1)}{port}{match.group(3)}"

    destination.write_text(_PORT_LINE.sub(fresh, text), encoding="utf-8")
    return destination
