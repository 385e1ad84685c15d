"""What a backup site knows and decides about its sources, as pure rules.

The Home Assistant layer reads each source (a charger with a car, or a battery)
and builds a :class:`~.machine.SourceObservation` from it with these rules: when a
source counts as healthy, when it is absent, its floor, whether it discharges, a
cautious SoC while a charger reports none, and which source may discharge at all.
:class:`SourceBook` is the site's bookkeeping about its sources (commands that
failed, batteries it switched on, the last SoC of each charger, stray stops sent),
the part of it a restart needs saved and restored. No Home Assistant imports.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
import math
from typing import Any, Final

from .machine import Action, AdjustSource, BackupState, StartSource
from .restore import Before, restore_before
from .runtime import ElevatorModel

PRESUMED_MARGIN_S: Final = 1.0
"""An unreachable charger is taken as stopped this long after its watchdog would have."""

SUPPLYING_STATES: Final = frozenset(
    {
        BackupState.ON_VEHICLE_POWER,
        BackupState.GRID_BACK,
        BackupState.RETURNING,  # the source supplies until the switch has moved
    }
)
"""The states in which the supplying sources may discharge (switch confirmed on the vehicle)."""

SESSION_STARTS: Final = frozenset({BackupState.GRID, BackupState.OUTAGE})
"""The states a backup session begins from: every source has a new chance there."""

FAILOVER_STATES: Final = frozenset({BackupState.ON_VEHICLE_POWER, BackupState.GRID_BACK})
"""The states in which a failed command makes the site step again at once (to fail over)."""


@dataclass(frozen=True, slots=True)
class Health:
    """How a source answers: whether it can be judged, is healthy, and for how long."""

    known: bool
    healthy: bool
    healthy_s: float


def judge_health(
    *,
    known: bool,
    failed: bool,
    healthy_for_s: float,
    now: float,
    command_failed_at: float | None,
    recover_after_s: float,
) -> Health:
    """A source's health from its polls' record (failures judged with hysteresis).

    One missed poll is not a failure (``failed`` says whether the polls failed); a
    failed command counts as one until the source has been healthy for the recovery
    time again.
    """
    since_command = math.inf if command_failed_at is None else now - command_failed_at
    return Health(
        known=known,
        healthy=not failed and since_command >= recover_after_s,
        healthy_s=min(healthy_for_s, since_command),
    )


def charger_absent(vehicle_connected: bool | None, dischargeable: bool | None) -> bool:
    """A charger read, with nothing to discharge: no car plugged in, or the car refuses."""
    return vehicle_connected is False or dischargeable is False


def charger_floor_pct(site_reserve_pct: float, charger_reserve_pct: float) -> float:
    """A car is never discharged below the higher of the site's and its charger's reserve."""
    return max(site_reserve_pct, charger_reserve_pct)


def battery_floor_pct(site_reserve_pct: float, device_min_soc_pct: float | None) -> float:
    """A battery is never discharged below the site's reserve or its own minimum."""
    return max(site_reserve_pct, device_min_soc_pct or 0.0)


def battery_discharging(power_w: float, output_power_w: float | None) -> bool:
    """A battery discharges when power leaves it or its output delivers power."""
    return power_w < 0 or (output_power_w or 0) > 0


def presumed_supplying(
    now: float,
    last_success: float | None,
    watchdog_s: float | None,
    supplying: bool,
    margin_s: float = PRESUMED_MARGIN_S,
) -> bool:
    """Whether an unreachable charger still supplies on its own.

    A charger that no longer answers (the network, not the charger) goes on at its
    last setpoint until its own watchdog stops it: starting another source before
    then would run two in parallel. So it stays the site's source until its
    watchdog time has passed since its last answer, then it counts as failed.
    Chargers without a watchdog are judged at once.
    """
    if last_success is None or not watchdog_s or not supplying:
        return False
    return now - last_success < watchdog_s + margin_s


def cautious_soc_pct(
    soc_pct: float, read_at: float, now: float, max_discharge_w: float, capacity_kwh: float
) -> float | None:
    """A SoC read at ``read_at`` minus the most the car could have given since at full power.

    None when the capacity is unknown (the estimate cannot be made).
    """
    if capacity_kwh <= 0:
        return None
    worst_kwh = max_discharge_w / 1000 * max(0.0, now - read_at) / 3600
    return soc_pct - worst_kwh / capacity_kwh * 100


def credit_watched_idle(
    memory: tuple[float, float], idle_seen_at: float | None, now: float, *, idle_now: bool
) -> tuple[tuple[float, float], float | None]:
    """A remembered SoC reading, its time moved on by the time the car was seen idle.

    :func:`cautious_soc_pct` takes the car to have given its full power ever since the
    reading; a charger polled every second and reporting no power flow has given none
    while it was watched. So each look that finds it idle, after one that found it
    idle too, moves the reading's time on by the time between the two: the estimate
    keeps what the car may have given while nobody was looking (Home Assistant down,
    the charger not answering), and no more. Returns the reading and when it was last
    seen idle (None: not idle now).
    """
    soc, read_at = memory
    if not idle_now:
        return memory, None
    if idle_seen_at is not None and idle_seen_at >= read_at:
        read_at = min(read_at + max(now - idle_seen_at, 0.0), now)
    return (soc, read_at), now


def allowed_to_supply(
    state: BackupState, supplying: Iterable[str], switch_on_vehicle: bool | None
) -> frozenset[str]:
    """The sources that may discharge now: those supplying, with the switch confirmed."""
    if state in SUPPLYING_STATES and switch_on_vehicle is True:
        return frozenset(supplying)
    return frozenset()


def estimated_load_w(building: bool, elevator: ElevatorModel, house_load_w: float) -> float:
    """The load model: a building's elevator on average, else the house load option."""
    return elevator.average_w if building else house_load_w


def site_load(measured_w: float | None, estimated_w: float, has_sensor: bool) -> tuple[float, bool]:
    """The load to plan for and whether it is known.

    A measured load wins; without one the model stands in, and the load counts as
    known only when the site has no sensor at all (the model is all there is).
    """
    if measured_w is not None:
        return measured_w, True
    return estimated_w, not has_sensor


@dataclass(slots=True)
class SourceBook:
    """The site's bookkeeping about its sources."""

    started: set[str] = field(default_factory=set)
    """Batteries the site switched on (it may switch them off again)."""
    soc_memory: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Last SoC read from each charger, and when (wall clock): kept across restarts."""
    command_failed: dict[str, float] = field(default_factory=dict)
    """When a start or adjust command to a source last failed (monotonic)."""
    stray_stops: dict[str, float] = field(default_factory=dict)
    failures_seen: dict[str, int] = field(default_factory=dict)
    before: dict[str, Before] = field(default_factory=dict)
    """How each source the site used was before it first asked it to supply: put back
    when the backup ends (kept across restarts)."""
    resumable: dict[str, tuple[object, str | None]] = field(default_factory=dict)
    """The session (and its owner) that ran on a charger before the site took it over:
    given back as the very same session, so that whoever started it still owns it. Not
    kept across a restart (no session is)."""
    release_pending: set[str] = field(default_factory=set)
    """Chargers to hand back to their own logic once the site's recharge is over."""
    idle_seen: dict[str, float] = field(default_factory=dict)
    """When each charger was last seen idle (wall clock; not kept across a restart)."""

    @classmethod
    def restore(cls, saved: Mapping[str, Any], sources: Iterable[str]) -> SourceBook:
        """The saved part of a book, for the site's current sources only."""
        known = set(sources)
        book = cls(
            started={s for s in saved.get("started_batteries", []) if s in known},
            release_pending={s for s in saved.get("release_pending", []) if s in known},
        )
        records = saved.get("before", {})
        if isinstance(records, dict):
            for source, record in records.items():
                before = restore_before(record) if isinstance(record, dict) else None
                if source in known and before is not None:
                    book.before[source] = before
        memory = saved.get("soc_memory", {})
        if isinstance(memory, dict):
            book.soc_memory = {
                source: (float(value[0]), float(value[1]))
                for source, value in memory.items()
                if source in known and isinstance(value, list) and len(value) == 2
            }
        return book

    def saved(self) -> dict[str, Any]:
        """What a restart needs."""
        return {
            "started_batteries": sorted(self.started),
            "soc_memory": {s: list(v) for s, v in self.soc_memory.items()},
            "before": {s: before.saved() for s, before in self.before.items()},
            "release_pending": sorted(self.release_pending),
        }

    def new_session(self) -> None:
        """A new backup session gives every source a new chance."""
        self.command_failed.clear()

    def before_step(self, state: BackupState) -> None:
        """Before the machine steps from ``state``: a session about to begin is a new one."""
        if state in SESSION_STARTS:
            self.new_session()

    def action_failed(self, action: Action, now: float) -> None:
        """An action failed: a start or adjust counts its source as failed.

        The machine then moves on to the next source, and retries this one once it has
        been healthy a while; a switch, a load or an event counts against no source.
        """
        if isinstance(action, StartSource | AdjustSource):
            self.fail_command(action.source, now)

    def fail_over_now(self, state: BackupState) -> bool:
        """Whether to step again at once: a source failed while the site depends on one."""
        return bool(self.command_failed) and state in FAILOVER_STATES

    def fail_command(self, source: str, now: float) -> None:
        """A command to ``source`` failed: it counts as failed until healthy a while."""
        self.command_failed[source] = now

    def remember_soc(self, source: str, soc_pct: float, at: float) -> bool:
        """Keep a charger's latest SoC reading; True for its first one."""
        first = source not in self.soc_memory
        self.soc_memory[source] = (soc_pct, at)
        return first

    def missed_poll(self, source: str, consecutive_failures: int) -> bool:
        """Whether the source missed a poll since it was last looked at."""
        missed = consecutive_failures > self.failures_seen.get(source, 0)
        self.failures_seen[source] = consecutive_failures
        return missed

    def stray_stop_due(self, source: str, now: float, retry_s: float) -> bool:
        """Whether a stop may be sent to a stray source now (and note that it is)."""
        last = self.stray_stops.get(source)
        if last is not None and now - last < retry_s:
            return False
        self.stray_stops[source] = now
        return True


def strays_to_stop(
    sources: Iterable[str],
    allowed: Collection[str],
    is_stray: Callable[[str], bool],
    book: SourceBook,
    *,
    now: float,
    retry_s: float,
) -> list[str]:
    """The sources to stop now: discharging unasked, and not stopped in the last ``retry_s``.

    ``allowed``: the sources that may discharge (:func:`allowed_to_supply`).
    """
    return [
        source
        for source in sources
        if source not in allowed and is_stray(source) and book.stray_stop_due(source, now, retry_s)
    ]
