"""The report of a drill: how long each step of a switchover took, as measured.

A drill rehearses an outage with the grid present. :class:`DrillTimeline` is fed every
step of the site (the machine's state and what it observed) from the moment the drill
was asked for, and says when the transfer switch confirmed the vehicle side, when the
first source was asked to supply and when it was seen discharging; when the drill is
over it gives the report (``v2x_drill_report``). No Home Assistant imports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from .machine import BackupState, Observation

EVENT_DRILL_REPORT: Final = "v2x_drill_report"


@dataclass(slots=True)
class DrillTimeline:
    """One drill, from the request on (times monotonic, seconds)."""

    requested_at: float
    switched_at: float | None = None
    """When the switch was first seen on the vehicle side."""
    supplying_at: float | None = None
    """When the site first had a source supplying (the machine on vehicle power)."""
    discharging_at: float | None = None
    """When the supplying source was first seen discharging."""
    source: str | None = None
    alarm: str | None = None
    """An alarm the drill raised (the switch did not move, say)."""
    started: bool = False
    """Whether the drill got under way (the machine left the grid state)."""

    def note(
        self,
        state: BackupState,
        active: str | None,
        alarm: str | None,
        observation: Observation,
        now: float,
    ) -> bool:
        """One step of the site; True once the drill is over (back on the grid)."""
        if state is not BackupState.GRID:
            self.started = True
        if self.switched_at is None and observation.switch_on_vehicle is True:
            self.switched_at = now
        if self.supplying_at is None and active is not None and state in _SUPPLYING:
            self.supplying_at, self.source = now, active
        if (
            self.discharging_at is None
            and active is not None
            and observation.sources.get(active) is not None
            and observation.sources[active].discharging
        ):
            self.discharging_at = now
        self.alarm = self.alarm or alarm
        return self.started and state is BackupState.GRID

    def report(self, source_name: str | None, ended_at: float) -> dict[str, Any]:
        """What the drill measured, in seconds from the request (None: never happened)."""

        def since(moment: float | None) -> float | None:
            return None if moment is None else round(moment - self.requested_at, 3)

        return {
            "switch_s": since(self.switched_at),
            "supplying_s": since(self.supplying_at),
            "discharging_s": since(self.discharging_at),
            "duration_s": since(ended_at),
            "source": source_name,
            "alarm": self.alarm,
            "passed": self.alarm is None and self.discharging_at is not None,
        }


_SUPPLYING: Final = frozenset(
    {BackupState.ON_VEHICLE_POWER, BackupState.GRID_BACK, BackupState.RETURNING}
)
