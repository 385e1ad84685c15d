"""What a backup site's entities show, from the machine and what it observed.

Pure, no Home Assistant imports.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .machine import BackupMachine, BackupState, Observation
from .readiness import Readiness, readiness
from .runtime import runtime_minutes


@dataclass(frozen=True, slots=True)
class SourceFloor:
    """One source as the site will use it: where it stops, and what it holds above that."""

    name: str
    soc_pct: float | None
    floor_pct: float
    """The SoC it is never discharged at or below: the higher of the site's reserve and
    the source's own (a charger's reserve, a battery's minimum)."""
    energy_kwh: float | None
    """Energy above that floor (None when it cannot be told)."""


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
    sources: tuple[SourceFloor, ...] = ()
    """Every source in priority order, with the floor the site will use for it."""
    readiness: Readiness | None = None
    """Whether the site is ready for an outage, and why not."""
    supplying_sources: tuple[str, ...] = ()
    """Every source supplying now (the active one first, then those sharing the load)."""


@dataclass(frozen=True, slots=True)
class ReadinessCheck:
    """What the readiness check needs beyond the machine and its observation."""

    switch_answers: bool
    wanted_h: float
    needs_internet: tuple[str, ...] = ()
    peak_load_w: float | None = None
    """The most the site draws at once (None: its load now)."""
    share_load: bool = False
    """Whether the sources supply together (then all of them must give the peak)."""


def site_status(
    machine: BackupMachine,
    observation: Observation,
    *,
    active_source_name: str | None,
    automatic: bool,
    source_names: Mapping[str, str] | None = None,
    check: ReadinessCheck | None = None,
) -> SiteStatus:
    """The site's status: the machine's state, the energy left and how long it lasts."""
    energy = machine.energy_kwh(observation)
    names = source_names or {}
    ready = None
    if check is not None:
        ready = readiness(
            observation.sources,
            names=names,
            switch_answers=check.switch_answers,
            grid_known=observation.grid_available is not None,
            energy_kwh=energy,
            load_w=observation.load_w,
            wanted_h=check.wanted_h,
            needs_internet=check.needs_internet,
            peak_load_w=observation.load_w if check.peak_load_w is None else check.peak_load_w,
            share_load=check.share_load,
        )
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
        sources=tuple(
            SourceFloor(
                name=names.get(source, source),
                soc_pct=seen.soc_pct,
                floor_pct=seen.floor_pct,
                energy_kwh=seen.energy_kwh,
            )
            for source, seen in observation.sources.items()
        ),
        readiness=ready,
        supplying_sources=tuple(names.get(s, s) for s in machine.supplying_sources),
    )
