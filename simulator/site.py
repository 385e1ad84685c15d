"""The simulated house or building: a transfer switch and the loads on the protected circuit.

Home Assistant reaches them over the control API (RESTful switches and sensors in
the demo), like it would reach any smart relay:

    GET  /site                        the site: grid, switch position, loads, protected load
    GET  /site/transfer_switch        {"on": <relay>, "position": "grid"|"vehicle"}
    POST /site/transfer_switch        {"on": true|false}; the switch moves after ``switch_delay_s``
    GET  /site/loads/{name}           {"on": ..., "power_w": ...}
    POST /site/loads/{name}           {"on": true|false}
    GET  /site/events                 what happened when (for benchmarks)

A scenario can add further sites (``[sites.<name>]``, e.g. a building next door on the
same grid); each is reached at ``/sites/<name>`` (``/sites/<name>/transfer_switch``,
``/sites/<name>/loads/{load}``, ``/sites/<name>/events``) with the same answers. There
is one utility grid: a cut reaches every site. A site's optional ``sources`` lists the
chargers (by device name) whose vehicle power counts for it, e.g. for the
``discharge_started`` event after a cut; without it every charger counts.

A load may start in peaks (``peak_w`` for ``peak_s`` every ``trip_every_s``, an
elevator's motor starting a car), an event ``load_peak`` each time. On vehicle power
the circuit is islanded: each charger that supplies it (discharging) powers it up to
its rating, as an islanding V2H unit does; when the protected load is more than the
ratings of the chargers supplying it, the circuit is **overloaded** (a real unit trips)
and the event log says so (``overload``, then ``overload_end`` with how long it
lasted). The switchover itself (the circuit dark until the first car supplies it) is
not an overload: each time the switch has moved to the vehicle side, ``island_supplied``
marks the first moment a car supplies the circuit, and overloads count from there.

The transfer switch is modelled as a smart relay driving a contactor: ``on`` is the
relay's own state, which (like any smart relay's) follows a command at once;
``position`` is the contactor's auxiliary contact, which changes ``switch_delay_s``
later, when the protected circuit has really moved. An installation that wants the
real position confirmed reads ``position`` (the demo's "Transfer switch position").

Every event is time-stamped with the process-independent monotonic clock
(``time.monotonic``), so a benchmark in another process can compare its own times.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import math
import time
from typing import Any


@dataclass(slots=True)
class LoadConfig:
    """A load on the protected circuit."""

    name: str
    power_w: float
    critical: bool = False
    on: bool = True
    peak_w: float = 0.0
    """What the load draws in a peak (0: no peaks)."""
    peak_s: float = 0.0
    trip_every_s: float = 0.0
    """A peak of ``peak_s`` begins every ``trip_every_s`` (from the simulator's start)."""

    def power_at(self, since_start_s: float) -> float:
        """What the load draws ``since_start_s`` after the simulator started (when on)."""
        if (
            self.peak_w > 0
            and self.trip_every_s > 0
            and since_start_s % self.trip_every_s < self.peak_s
        ):
            return self.peak_w
        return self.power_w


def _default_loads() -> list[LoadConfig]:
    return [
        # 9-person elevator: 250 W standby + 60 Wh x 20 trips an hour on average.
        LoadConfig("elevator", 1450.0, critical=True),
        LoadConfig("lights", 200.0, critical=True),
        LoadConfig("heater", 2000.0),
        LoadConfig("ev_charger", 3700.0),
    ]


@dataclass(slots=True)
class SiteConfig:
    """The protected circuit of the simulated site."""

    switch_delay_s: float = 0.2
    loads: list[LoadConfig] = field(default_factory=_default_loads)
    sources: tuple[str, ...] | None = None
    """The chargers whose power feeds this site (by device name); None: every charger."""


def parse_site(raw: dict[str, Any], chargers: set[str]) -> SiteConfig:
    """A ``[site]`` or ``[sites.<name>]`` scenario table; ``chargers``: the scenario's."""
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


@dataclass(slots=True)
class SiteEvent:
    """Something that happened on the site."""

    kind: str
    wall: float
    detail: str = ""


class SiteTwin:
    """Transfer switch, loads and the events a benchmark needs."""

    def __init__(self, config: SiteConfig) -> None:
        """Start on the grid with every load on."""
        self.config = config
        self.on_vehicle = False
        self.relay_on = False
        self.loads = {load.name: load for load in config.loads}
        self.events: list[SiteEvent] = []
        self._pending: tuple[float, bool] | None = None
        self._discharge_seen = True  # nothing to look for until the grid is cut
        self._started = time.monotonic()
        self._peaking: set[str] = set()
        self._overload_since: float | None = None
        self._island_supplied = False

    @property
    def protected_load_w(self) -> float:
        """What the protected circuit draws now."""
        since = time.monotonic() - self._started
        return sum(load.power_at(since) for load in self.loads.values() if load.on)

    def command_switch(self, on_vehicle: bool) -> None:
        """A command from Home Assistant; the switch moves after its delay."""
        now = time.monotonic()
        self.events.append(SiteEvent("switch_command", now, "vehicle" if on_vehicle else "grid"))
        self.relay_on = on_vehicle
        self._pending = (now + self.config.switch_delay_s, on_vehicle)
        self._move_if_due(now)

    def set_load(self, name: str, on: bool) -> None:
        """Switch a load."""
        if name not in self.loads:
            raise KeyError(name)
        self.loads[name].on = on
        self.events.append(SiteEvent("load_on" if on else "load_off", time.monotonic(), name))

    def grid_changed(self, available: bool) -> None:
        """Record a grid cut or restoration."""
        self.events.append(
            SiteEvent("grid_restored" if available else "grid_cut", time.monotonic())
        )
        if not available:
            self._discharge_seen = False

    def housekeeping(
        self, *, vehicle_power_w: float, grid_available: bool, capacity_w: float = math.inf
    ) -> None:
        """Move a pending switch; note when the vehicle starts supplying after a cut.

        ``capacity_w``: the ratings of the chargers discharging now (what they can give
        an islanded circuit together).
        """
        now = time.monotonic()
        self._move_if_due(now)
        if not self._discharge_seen and not grid_available and vehicle_power_w <= -100.0:
            self._discharge_seen = True
            self.events.append(SiteEvent("discharge_started", now, f"{vehicle_power_w:.0f} W"))
        self._note_peaks(now)
        load = self.protected_load_w
        islanded = self.on_vehicle and not grid_available
        if islanded and not self._island_supplied and capacity_w > 0:
            self._island_supplied = True
            self.events.append(SiteEvent("island_supplied", now, f"{capacity_w:.0f} W"))
        over = islanded and self._island_supplied and load > capacity_w
        if over and self._overload_since is None:
            self._overload_since = now
            self.events.append(SiteEvent("overload", now, f"{load:.0f} W > {capacity_w:.0f} W"))
        elif not over and self._overload_since is not None:
            lasted = now - self._overload_since
            self._overload_since = None
            self.events.append(SiteEvent("overload_end", now, f"{lasted:.3f} s"))

    def _note_peaks(self, now: float) -> None:
        since = now - self._started
        for load in self.loads.values():
            peaking = load.on and load.peak_w > 0 and load.power_at(since) == load.peak_w
            if peaking and load.name not in self._peaking:
                self._peaking.add(load.name)
                self.events.append(SiteEvent("load_peak", now, load.name))
            elif not peaking:
                self._peaking.discard(load.name)

    def _move_if_due(self, now: float) -> None:
        if self._pending is not None and now >= self._pending[0]:
            self.on_vehicle = self._pending[1]
            self._pending = None
            self._island_supplied = False
            self.events.append(
                SiteEvent("switch_moved", now, "vehicle" if self.on_vehicle else "grid")
            )

    def describe(self, grid_available: bool) -> dict[str, Any]:
        """A JSON-ready summary (also what the demo's REST sensors read)."""
        return {
            "grid": grid_available,
            "transfer_switch": "vehicle" if self.on_vehicle else "grid",
            "protected_load_w": self.protected_load_w,
            "loads": {
                name: {"on": load.on, "power_w": load.power_w, "critical": load.critical}
                for name, load in self.loads.items()
            },
        }
