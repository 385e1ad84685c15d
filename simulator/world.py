"""The simulated world: a clock, the grid, the sites and every simulated device.

The world knows no device family: it builds and runs whatever the twin registry
(:mod:`simulator.registry`, filled by :mod:`simulator.twins`) holds.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
import logging
from pathlib import Path
import tomllib
from typing import Any

from .clock import SimClock
from .registry import TwinKind, kind_by_group, twin_kinds
from .site import SiteConfig, SiteTwin, parse_site
from .twin import ChargerTwin, SimDevice, Twin, TwinConfig
from .twins import ScenarioTwinConfigs, SimulationTwins

__all__ = [
    "HOUSEKEEPING_INTERVAL_S",
    "Grid",
    "ScenarioConfig",
    "SimDevice",
    "Simulation",
    "load_scenario",
    "parse_scenario",
]

_LOGGER = logging.getLogger(__name__)
HOUSEKEEPING_INTERVAL_S = 0.05
SUPPLYING_W = 100.0
"""A charger discharging at least this much supplies its site (the events count it so)."""


@dataclass(slots=True)
class Grid:
    """The utility supply of the simulated site."""

    available: bool = True
    house_load_w: float = 800.0
    outages: int = 0


@dataclass(slots=True, init=False)
class ScenarioConfig(ScenarioTwinConfigs):
    """A parsed scenario: the world's settings and every device family's configs.

    Each family's configs are also a keyword (``ScenarioConfig(quasars=[...])``) and an
    attribute (``config.quasars``), named by the family's registered ``group``.
    """

    speed: float
    control_port: int | None
    grid: Grid
    site: SiteConfig
    sites: dict[str, SiteConfig]
    """Further named sites on the same grid (``[sites.<name>]``)."""
    device_configs: dict[str, list[Any]]
    """Each family's configs by its scenario table (``"quasar"``), in registry order."""

    def __init__(
        self,
        speed: float = 1.0,
        control_port: int | None = 8099,
        grid: Grid | None = None,
        *,
        site: SiteConfig | None = None,
        sites: dict[str, SiteConfig] | None = None,
        device_configs: dict[str, list[Any]] | None = None,
        **groups: list[Any],
    ) -> None:
        """The world's settings and the device configs.

        The configs come by scenario table (``device_configs={"quasar": [...]}``) or by
        family (``quasars=[...]``).
        """
        self.speed = speed
        self.control_port = control_port
        self.grid = Grid() if grid is None else grid
        self.site = SiteConfig() if site is None else site
        self.sites = {} if sites is None else sites
        self.device_configs = {kind.table: [] for kind in twin_kinds()}
        self.device_configs.update(device_configs or {})
        for group, configs in groups.items():
            kind = kind_by_group(group)
            if kind is None:
                raise TypeError(f"ScenarioConfig got an unexpected keyword argument {group!r}")
            self.device_configs[kind.table] = configs

    def configs_of[ConfigT: TwinConfig](self, kind: TwinKind[ConfigT, Any]) -> list[ConfigT]:
        """The scenario's configs of one family."""
        return kind.configs(self.device_configs)


def parse_scenario(raw: dict[str, Any]) -> ScenarioConfig:
    """Validate a scenario mapping (as read from TOML)."""
    control = raw.get("control", {})
    grid = raw.get("grid", {})
    kinds = twin_kinds()
    by_table = {
        kind.table: [kind.config(item) for item in raw.get(kind.table, [])] for kind in kinds
    }
    names = [config.name for configs in by_table.values() for config in configs]
    if len(names) != len(set(names)):
        raise ValueError("device names must be unique")
    chargers = {config.name for kind in kinds if kind.charger for config in by_table[kind.table]}
    site = parse_site(raw.get("site", {}), chargers)
    sites = {str(name): parse_site(table, chargers) for name, table in raw.get("sites", {}).items()}
    return ScenarioConfig(
        speed=float(raw.get("speed", 1.0)),
        control_port=control.get("port", 8099),
        grid=Grid(
            available=bool(grid.get("available", True)),
            house_load_w=float(grid.get("house_load_w", 800.0)),
        ),
        site=site,
        sites=sites,
        device_configs=by_table,
    )


def load_scenario(path: Path) -> ScenarioConfig:
    """Read and validate a TOML scenario file."""
    with path.open("rb") as file:
        return parse_scenario(tomllib.load(file))


class Simulation(SimulationTwins):
    """Runs every device of a scenario on loopback until stopped."""

    def __init__(
        self,
        config: ScenarioConfig,
        *,
        control_port: int | None = None,
        clock: SimClock | None = None,
    ) -> None:
        """Build the devices; nothing listens before :meth:`start`.

        ``clock`` replaces the scenario's real-time clock, e.g. by one that follows a
        co-simulation's virtual time.
        """
        self.config = config
        self.clock = clock or SimClock(config.speed)
        self.grid = config.grid
        self.control_port = control_port if control_port is not None else config.control_port
        self.twins_by_table: dict[str, dict[str, Any]] = {
            kind.table: {
                device.name: kind.build(device, self.clock, self.grid)
                for device in config.configs_of(kind)
            }
            for kind in twin_kinds()
        }
        """Every family's twins by scenario table, then by device name."""
        self.devices: dict[str, SimDevice] = {
            name: twin for twins in self.twins_by_table.values() for name, twin in twins.items()
        }
        self.chargers: dict[str, ChargerTwin[Any]] = {
            name: twin for name, twin in self.devices.items() if isinstance(twin, ChargerTwin)
        }
        self.site = SiteTwin(config.site)
        self.sites = {name: SiteTwin(site) for name, site in config.sites.items()}
        self._housekeeping: asyncio.Task[None] | None = None
        self._api_runner: Any = None

    def twins_of[TwinT: Twin[Any]](self, kind: TwinKind[Any, TwinT]) -> dict[str, TwinT]:
        """The simulation's twins of one family, by name."""
        return kind.twins(self.twins_by_table)

    async def start(self) -> None:
        """Start every device, the control API (if a port is set) and housekeeping."""
        for device in self.devices.values():
            await device.start()
        if self.control_port is not None:
            from .control_api import start_control_api  # noqa: PLC0415

            self._api_runner, self.control_port = await start_control_api(self, self.control_port)
        self._housekeeping = asyncio.create_task(self._housekeep(), name="simulator-housekeeping")

    async def stop(self) -> None:
        """Stop everything; ports are released."""
        if self._housekeeping is not None:
            self._housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._housekeeping
            self._housekeeping = None
        if self._api_runner is not None:
            await self._api_runner.cleanup()
            self._api_runner = None
        for device in self.devices.values():
            await device.stop()

    async def tick(self) -> None:
        """Run one housekeeping pass now (tests use it to apply faults at once)."""
        for device in self.devices.values():
            await device.housekeeping()
        for site in (self.site, *self.sites.values()):
            sources = site.config.sources
            chargers = [
                twin for name, twin in self.chargers.items() if sources is None or name in sources
            ]
            site.housekeeping(
                vehicle_power_w=sum(twin.actual_power_w for twin in chargers),
                grid_available=self.grid.available,
                capacity_w=sum(
                    twin.rated_discharge_w
                    for twin in chargers
                    if twin.actual_power_w <= -SUPPLYING_W
                ),
            )

    async def _housekeep(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:
                _LOGGER.exception("Simulator housekeeping failed")
            await asyncio.sleep(HOUSEKEEPING_INTERVAL_S)

    def set_grid(self, available: bool) -> None:
        """Cut or restore the utility supply."""
        if self.grid.available and not available:
            self.grid.outages += 1
        if self.grid.available != available:
            for site in (self.site, *self.sites.values()):
                site.grid_changed(available)
        self.grid.available = available

    def describe(self) -> dict[str, Any]:
        """The whole world as JSON-ready data."""
        return {
            "clock": {"sim_time_s": round(self.clock.now(), 3), "speed": self.clock.speed},
            "grid": {
                "available": self.grid.available,
                "house_load_w": self.grid.house_load_w,
                "outages": self.grid.outages,
            },
            "devices": {name: device.describe() for name, device in self.devices.items()},
            "site": self.site.describe(self.grid.available),
            "sites": {
                name: site.describe(self.grid.available) for name, site in self.sites.items()
            },
        }
