"""Runtime estimates for a backup site: how long the energy above the reserve lasts.

Pure functions, no Home Assistant imports.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ElevatorModel:
    """A simple elevator load: standby power plus energy per trip times trips per hour.

    Defaults describe a 9-person traction elevator in a mid-rise building
    (assumption, not a measurement): 250 W standby (controller, lighting,
    ventilation), 60 Wh per trip, 20 trips an hour, 8 kW while its motor starts (more
    than one 6 kW V2H unit gives).
    """

    standby_w: float = 250.0
    trip_wh: float = 60.0
    trips_per_hour: float = 20.0
    peak_w: float = 8000.0
    """The most it draws at once (the motor starting a full car)."""

    @property
    def average_w(self) -> float:
        """Average power drawn over an hour."""
        return self.standby_w + self.trip_wh * self.trips_per_hour


def energy_above_floor_kwh(
    soc_pct: float | None, floor_pct: float, capacity_kwh: float | None
) -> float | None:
    """Energy stored above ``floor_pct``; None when SoC or capacity is unknown."""
    if soc_pct is None or capacity_kwh is None:
        return None
    return max(0.0, (soc_pct - floor_pct) / 100.0 * capacity_kwh)


def total_energy_kwh(energies: Iterable[float | None]) -> float | None:
    """Sum of the known energies; None if none is known."""
    known = [energy for energy in energies if energy is not None]
    return sum(known) if known else None


def runtime_minutes(energy_kwh: float | None, load_w: float) -> float | None:
    """Minutes the energy lasts at ``load_w``; None when it cannot be told."""
    if energy_kwh is None or load_w <= 0:
        return None
    return energy_kwh * 1000.0 / load_w * 60.0


def describe_runtime(minutes: float | None) -> str | None:
    """A building manager's reading: 'about 9 h 40 min'."""
    if minutes is None:
        return None
    rounded = round(minutes / 5.0) * 5 if minutes >= 60 else round(minutes)
    hours, mins = divmod(int(rounded), 60)
    if hours and mins:
        return f"about {hours} h {mins} min"
    if hours:
        return f"about {hours} h"
    return f"about {mins} min"
