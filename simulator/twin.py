"""What every simulated device (a "twin") shares.

:class:`Twin` is the common set-up: the static config, the clock and the grid, the
write log, the device's own simulated time and the fixed-step physics loop
(:meth:`Twin.advance`), and the interface the world (:mod:`simulator.world`) and the
control API (:mod:`simulator.control_api`) use. :class:`ChargerTwin` adds the car
behind a vehicle charger. Server lifecycles are per transport: Modbus TCP twins share
:class:`simulator.modbus_twin.ModbusTwin`; the HTTP and UDP twins run their own.

How a twin becomes part of the simulator (scenario table, control API) is in
:mod:`simulator.registry` and :mod:`simulator.twins`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

from .battery import Battery
from .clock import SimClock
from .faults import Fault
from .records import WriteRecord

if TYPE_CHECKING:
    from .world import Grid

MAX_STEP_S = 1.0
"""The longest physics step (simulated seconds): jumps in time are integrated in steps."""


class TwinConfig(Protocol):
    """What every twin's config dataclass has."""

    @property
    def name(self) -> str:
        """The device's name in the scenario (unique in it)."""
        ...


class ChargerConfig(TwinConfig, Protocol):
    """A vehicle charger's config: the car behind it."""

    @property
    def car(self) -> Battery:
        """The car's battery."""
        ...

    @property
    def plugged(self) -> bool:
        """Whether the car is plugged in at the start."""
        ...


@dataclass(frozen=True, slots=True)
class DeviceRequest:
    """A control-API request to one device's own endpoint (no HTTP types)."""

    query: Mapping[str, str]
    body: dict[str, Any]
    """The JSON object of a POST (empty for GET and DELETE)."""


@dataclass(frozen=True, slots=True)
class DeviceEndpoint[TwinT]:
    """A control-API endpoint a twin adds under ``/devices/{name}/<path>``.

    ``handle`` returns the JSON-ready answer; a ValueError or TypeError is a 400 with
    its message. Another device asked for ``path`` answers 404 with
    ``'<name>' <refusal>``.
    """

    method: Literal["GET", "POST", "DELETE"]
    path: str
    handle: Callable[[TwinT, DeviceRequest], object]
    refusal: str = "has no such endpoint"


class SimDevice(Protocol):
    """What the world and the control API need from every simulated device."""

    endpoints: ClassVar[tuple[DeviceEndpoint[Any], ...]]
    writes: list[WriteRecord]

    @property
    def name(self) -> str:
        """The device's name in the scenario."""
        ...

    @property
    def address(self) -> tuple[str, int]:
        """Where it serves: host and (bound) port."""
        ...

    def banner(self) -> str:
        """One line for the command line: what serves where."""
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


class Twin[ConfigT: TwinConfig]:
    """The common part of every simulated device.

    Subclasses implement :meth:`_step` (the physics of ``dt`` simulated seconds) and
    the serving and fault methods of :class:`SimDevice`; they may list extra
    control-API ``endpoints``.
    """

    endpoints: ClassVar[tuple[DeviceEndpoint[Any], ...]] = ()
    label: ClassVar[str] = "Device"
    """What the command line calls the device when it starts."""

    def __init__(self, config: ConfigT, clock: SimClock, grid: Grid | None = None) -> None:
        """Attach the device to the world; without a ``grid`` the supply is always there."""
        self.config = config
        self.clock = clock
        self.grid = grid
        self.writes: list[WriteRecord] = []
        self._time = clock.now()

    @property
    def name(self) -> str:
        """The device's name in the scenario."""
        return self.config.name

    @property
    def grid_available(self) -> bool:
        """Whether the utility supply is there (always, without a grid)."""
        return self.grid is None or self.grid.available

    @property
    def address(self) -> tuple[str, int]:
        """Where the device serves: host and (bound) port."""
        raise NotImplementedError

    def banner(self) -> str:
        """One line for the command line: what serves where."""
        host, port = self.address
        return f"{self.label} {self.name!r} on {host}:{port}"

    # -- physics -----------------------------------------------------------------------

    def advance(self) -> None:
        """Bring the physics up to the current simulated time, in steps of at most 1 s.

        A step also ends at each of :meth:`_step_events` that falls inside it;
        :meth:`_stepped` runs after each step.
        """
        now = self.clock.now()
        while self._time < now:
            dt = min(MAX_STEP_S, now - self._time)
            for event in self._step_events():
                if self._time < event < self._time + dt:
                    dt = event - self._time
            self._step(dt)
            self._time += dt
            self._stepped()

    def _step(self, dt: float) -> None:
        """Advance the physics by ``dt`` simulated seconds from ``self._time``."""
        raise NotImplementedError

    def _step_events(self) -> Iterable[float]:
        """Simulated times a step must not run past (timers, phase ends)."""
        return ()

    def _stepped(self) -> None:
        """Called after each step, once ``self._time`` has moved on."""

    # -- serving, faults and the control API (see SimDevice) ---------------------------

    async def start(self) -> None:
        """Start serving."""
        raise NotImplementedError

    async def stop(self) -> None:
        """Stop serving."""
        raise NotImplementedError

    async def housekeeping(self) -> None:
        """Advance physics and expire faults."""
        raise NotImplementedError

    def apply_fault(self, fault: Fault) -> None:
        """Inject a fault."""
        raise NotImplementedError

    def clear_faults(self) -> None:
        """Remove every fault."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """A JSON-ready summary (``GET /state``)."""
        raise NotImplementedError

    def update_state(self, payload: dict[str, Any]) -> None:
        """``POST /devices/{name}/state``: change the device's world."""
        raise NotImplementedError


class ChargerTwin[ConfigT: ChargerConfig](Twin[ConfigT]):
    """A vehicle charger with its car: the car's battery, the plug and the AC power.

    ``actual_power_w`` is positive while the car charges; the world sums it over a
    site's chargers (a site's ``sources`` may only name chargers).
    """

    def __init__(self, config: ConfigT, clock: SimClock, grid: Grid | None = None) -> None:
        """The car as the scenario has it; no power flows yet."""
        super().__init__(config, clock, grid)
        self.battery = config.car
        self.plugged = config.plugged
        self.actual_power_w = 0.0
        self.soc_glitch_reads = 0

    @property
    def rated_discharge_w(self) -> float:
        """The most the charger gives the house: an islanding unit powers it up to this."""
        raise NotImplementedError  # pragma: no cover - every charger twin says


def scenario_car(raw: dict[str, Any]) -> Battery:
    """A charger's ``[<table>.car]`` scenario table as a Battery (``plugged`` aside)."""
    allowed = {"capacity_kwh", "soc_pct", "efficiency", "charge_cap_pct", "discharge_floor_pct"}
    unknown = set(raw) - allowed - {"plugged"}
    if unknown:
        raise ValueError(f"unknown car keys: {sorted(unknown)}")
    return Battery(**{k: float(v) for k, v in raw.items() if k in allowed})


def with_car(item: dict[str, Any]) -> dict[str, Any]:
    """A charger's scenario entry with its ``[x.car]`` table turned into a Battery."""
    entry = dict(item)
    car = dict(entry.pop("car", {}))
    return entry | {"car": scenario_car(car), "plugged": bool(car.get("plugged", True))}
