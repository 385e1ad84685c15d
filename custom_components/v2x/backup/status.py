"""What a backup site's entities show, from the machine and what it observed.

Pure, no Home Assistant imports.
"""

from __future__ import annotations

from dataclasses import dataclass

from .machine import BackupMachine, BackupState, Observation
from .runtime import runtime_minutes


@dataclass(frozen=True, slots=True)
class SiteStatus:
    """What the site's entities show."""

    state: BackupState
    alarm: str | None
    drill: bool
    grid_available: bool | None
    on_vehicle_power: bool
    active_source: str | None
    load_w: float
    energy_kwh: float | None
    runtime_min: float | None
    automatic: bool


def site_status(
    machine: BackupMachine,
    observation: Observation,
    *,
    active_source_name: str | None,
    automatic: bool,
) -> SiteStatus:
    """The site's status: the machine's state, the energy left and how long it lasts."""
    energy = machine.energy_kwh(observation)
    return SiteStatus(
        state=machine.state,
        alarm=machine.alarm,
        drill=machine.drill,
        grid_available=observation.grid_available,
        on_vehicle_power=machine.on_vehicle_power,
        active_source=active_source_name,
        load_w=observation.load_w,
        energy_kwh=energy,
        runtime_min=runtime_minutes(energy, observation.load_w),
        automatic=automatic,
    )
