"""Whether a backup site is ready for an outage, and why not, as pure rules.

Checked all the time, before an outage comes: every source answers locally and is not
in error, none is at its floor, the transfer switch answers, the grid signal is known,
the energy above the floors lasts the wanted time at the site's load, and nothing in
the chain (switch, its position, the grid signal, the load sensor) needs the internet,
which an outage takes away with the power. No Home Assistant imports.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from .machine import SourceObservation


class Problem(StrEnum):
    """Why a site is not ready (each one a translated text in the UI)."""

    SOURCE_UNAVAILABLE = "source_unavailable"
    """A source does not answer, is in error, or has no car plugged in."""
    SOURCE_AT_RESERVE = "source_at_reserve"
    SOURCE_SOC_UNKNOWN = "source_soc_unknown"
    SWITCH_UNAVAILABLE = "switch_unavailable"
    GRID_SIGNAL_UNKNOWN = "grid_signal_unknown"
    SUPPLY_TOO_SMALL = "supply_too_small"
    """The sources cannot give the site's peak power (an elevator's motor start): no one
    of them alone, or (sharing the load) not all of them together."""
    ENERGY_SHORT = "energy_short"
    """The energy above the floors lasts less than the wanted time at the site's load."""
    NEEDS_INTERNET = "needs_internet"


@dataclass(frozen=True, slots=True)
class Readiness:
    """The verdict and what stands in its way."""

    problems: tuple[Problem, ...]
    sources_unavailable: tuple[str, ...] = ()
    sources_at_reserve: tuple[str, ...] = ()
    sources_soc_unknown: tuple[str, ...] = ()
    needs_internet: tuple[str, ...] = ()
    """Entities of the chain whose integration works through the internet."""
    runtime_h: float | None = None
    wanted_h: float = 0.0
    supply_w: int = 0
    """The most the answering sources can give: the largest alone, or (sharing) all."""
    peak_load_w: float = 0.0

    @property
    def ready(self) -> bool:
        """Ready: nothing stands in the way."""
        return not self.problems


def readiness(
    sources: Mapping[str, SourceObservation],
    *,
    names: Mapping[str, str],
    switch_answers: bool,
    grid_known: bool,
    energy_kwh: float | None,
    load_w: float,
    wanted_h: float,
    needs_internet: Sequence[str] = (),
    peak_load_w: float = 0.0,
    share_load: bool = False,
) -> Readiness:
    """Whether the site is ready; ``sources`` in priority order, ``names`` for people.

    ``peak_load_w`` is the most the site draws at once: the sources must be able to
    give it, one of them alone, or all of them together when they share the load.
    """
    unavailable, at_reserve, unknown = [], [], []
    for source, seen in sources.items():
        name = names.get(source, source)
        if not seen.available or seen.absent:
            unavailable.append(name)
        elif seen.soc_pct is None:
            unknown.append(name)
        elif seen.at_floor:
            at_reserve.append(name)
    powers = [s.max_discharge_w for s in sources.values() if s.available and not s.absent]
    supply = sum(powers) if share_load else max(powers, default=0)
    runtime_h = None
    if energy_kwh is not None and load_w > 0:
        runtime_h = energy_kwh * 1000 / load_w
    problems = [
        problem
        for problem, present in (
            (Problem.SOURCE_UNAVAILABLE, bool(unavailable) or not sources),
            (Problem.SOURCE_AT_RESERVE, bool(at_reserve)),
            (Problem.SOURCE_SOC_UNKNOWN, bool(unknown)),
            (Problem.SWITCH_UNAVAILABLE, not switch_answers),
            (Problem.GRID_SIGNAL_UNKNOWN, not grid_known),
            (Problem.SUPPLY_TOO_SMALL, 0 < supply < peak_load_w),
            (
                Problem.ENERGY_SHORT,
                wanted_h > 0 and runtime_h is not None and runtime_h < wanted_h,
            ),
            (Problem.NEEDS_INTERNET, bool(needs_internet)),
        )
        if present
    ]
    return Readiness(
        problems=tuple(problems),
        sources_unavailable=tuple(unavailable),
        sources_at_reserve=tuple(at_reserve),
        sources_soc_unknown=tuple(unknown),
        needs_internet=tuple(needs_internet),
        runtime_h=runtime_h,
        wanted_h=wanted_h,
        supply_w=supply,
        peak_load_w=peak_load_w,
    )
