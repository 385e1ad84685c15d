"""The simulated world: a clock, the grid, and every simulated device."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
import logging
from pathlib import Path
import tomllib
from typing import Any, Protocol

from .battery import Battery
from .bluetti import BluettiConfig, BluettiTwin
from .clock import SimClock
from .echonet import EchonetConfig, EchonetTwin
from .faults import Fault
from .quasar import QuasarConfig, QuasarTwin
from .site import LoadConfig, SiteConfig, SiteTwin
from .sunspec import SunSpecConfig, SunSpecTwin
from .zendure import ZendureConfig, ZendureTwin

_LOGGER = logging.getLogger(__name__)
HOUSEKEEPING_INTERVAL_S = 0.05


class SimDevice(Protocol):
    """What the world and the control API need from every simulated device."""

    @property
    def name(self) -> str:
        """The device's name in the scenario."""
        ...

    async def start(self) -> None:
        """Start serving."""
        ...

    async def stop(self) -> None:
        """Stop serving."""
        ...

    async def housekeeping(self) -> None:
        """Advance physics and expire faults."""
        ...

    def apply_fault(self, fault: Fault) -> None:
        """Inject a fault."""
        ...

    def clear_faults(self) -> None:
        """Remove every fault."""
        ...

    def describe(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        ...

    def update_state(self, payload: dict[str, Any]) -> None:
        """Change the device's world (plug, loads, SoC); raise ValueError on bad input."""
        ...


@dataclass(slots=True)
class Grid:
    """The utility supply of the simulated site."""

    available: bool = True
    house_load_w: float = 800.0
    outages: int = 0


@dataclass(slots=True)
class ScenarioConfig:
    """A parsed scenario."""

    speed: float = 1.0
    control_port: int | None = 8099
    grid: Grid = field(default_factory=Grid)
    quasars: list[QuasarConfig] = field(default_factory=list)
    zendures: list[ZendureConfig] = field(default_factory=list)
    bluettis: list[BluettiConfig] = field(default_factory=list)
    sunspecs: list[SunSpecConfig] = field(default_factory=list)
    echonets: list[EchonetConfig] = field(default_factory=list)
    site: SiteConfig = field(default_factory=SiteConfig)
    sites: dict[str, SiteConfig] = field(default_factory=dict)
    """Further named sites on the same grid (``[sites.<name>]``)."""


def _site(raw: dict[str, Any], chargers: set[str]) -> SiteConfig:
    """A ``[site]`` or ``[sites.<name>]`` table."""
    entry = dict(raw)
    loads = [LoadConfig(**load) for load in entry.pop("loads", [])]
    site = SiteConfig(switch_delay_s=float(entry.pop("switch_delay_s", 0.2)))
    if "sources" in entry:
        sources = tuple(str(name) for name in entry.pop("sources"))
        if unknown := sorted(set(sources) - chargers):
            raise ValueError(f"site sources are not chargers of the scenario: {unknown}")
        site.sources = sources
    if entry:
        raise ValueError(f"unknown site keys: {sorted(entry)}")
    if loads:
        site.loads = loads
    return site


def _battery(raw: dict[str, Any]) -> Battery:
    allowed = {"capacity_kwh", "soc_pct", "efficiency", "charge_cap_pct", "discharge_floor_pct"}
    unknown = set(raw) - allowed - {"plugged"}
    if unknown:
        raise ValueError(f"unknown car keys: {sorted(unknown)}")
    return Battery(**{k: float(v) for k, v in raw.items() if k in allowed})


def _with_car(item: dict[str, Any]) -> dict[str, Any]:
    """A charger's scenario entry with its ``[x.car]`` table turned into a Battery."""
    entry = dict(item)
    car = dict(entry.pop("car", {}))
    return entry | {"car": _battery(car), "plugged": bool(car.get("plugged", True))}


def parse_scenario(raw: dict[str, Any]) -> ScenarioConfig:
    """Validate a scenario mapping (as read from TOML)."""
    control = raw.get("control", {})
    grid = raw.get("grid", {})
    quasars = [QuasarConfig(**_with_car(item)) for item in raw.get("quasar", [])]
    sunspecs = [SunSpecConfig(**_with_car(item)) for item in raw.get("sunspec", [])]
    echonets = []
    for item in raw.get("echonet", []):
        entry = _with_car(item)
        if "identification" in entry:
            entry["identification"] = bytes.fromhex(str(entry["identification"]))
        echonets.append(EchonetConfig(**entry))
    zendures = [ZendureConfig(**item) for item in raw.get("zendure", [])]
    bluettis = [BluettiConfig(**item) for item in raw.get("bluetti", [])]
    configs: list[QuasarConfig | SunSpecConfig | EchonetConfig | ZendureConfig | BluettiConfig]
    configs = [*quasars, *sunspecs, *echonets, *zendures, *bluettis]
    names = [config.name for config in configs]
    if len(names) != len(set(names)):
        raise ValueError("device names must be unique")
    chargers = {c.name for c in quasars} | {c.name for c in sunspecs} | {c.name for c in echonets}
    site = _site(raw.get("site", {}), chargers)
    sites = {str(name): _site(table, chargers) for name, table in raw.get("sites", {}).items()}
    return ScenarioConfig(
        speed=float(raw.get("speed", 1.0)),
        control_port=control.get("port", 8099),
        grid=Grid(
            available=bool(grid.get("available", True)),
            house_load_w=float(grid.get("house_load_w", 800.0)),
        ),
        quasars=quasars,
        zendures=zendures,
        bluettis=bluettis,
        sunspecs=sunspecs,
        echonets=echonets,
        site=site,
        sites=sites,
    )


def load_scenario(path: Path) -> ScenarioConfig:
    """Read and validate a TOML scenario file."""
    with path.open("rb") as file:
        return parse_scenario(tomllib.load(file))


class Simulation:
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
        self.quasars = {q.name: QuasarTwin(q, self.clock, self.grid) for q in config.quasars}
        self.zendures = {z.name: ZendureTwin(z, self.clock, self.grid) for z in config.zendures}
        self.bluettis = {b.name: BluettiTwin(b, self.clock, self.grid) for b in config.bluettis}
        self.sunspecs = {s.name: SunSpecTwin(s, self.clock, self.grid) for s in config.sunspecs}
        self.echonets = {e.name: EchonetTwin(e, self.clock, self.grid) for e in config.echonets}
        self.chargers: dict[str, QuasarTwin | SunSpecTwin | EchonetTwin] = {
            **self.quasars,
            **self.sunspecs,
            **self.echonets,
        }
        self.devices: dict[str, SimDevice] = {**self.chargers, **self.zendures, **self.bluettis}
        self.site = SiteTwin(config.site)
        self.sites = {name: SiteTwin(site) for name, site in config.sites.items()}
        self._housekeeping: asyncio.Task[None] | None = None
        self._api_runner: Any = None

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
            vehicle_power = sum(
                twin.actual_power_w
                for name, twin in self.chargers.items()
                if sources is None or name in sources
            )
            site.housekeeping(vehicle_power_w=vehicle_power, grid_available=self.grid.available)

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
