"""The outage state machine of a backup site, as pure logic.

Inputs are observations (grid present?, transfer-switch position, each source's
state, the site load, whether automatic backup is on) and requests (start, end,
drill). Outputs are actions for the Home Assistant layer to carry out. Time is a
number of seconds passed in by the caller. No Home Assistant imports.

States::

    grid --(grid lost)--> outage --(debounce)--> switching --(switch confirmed)-->
    on_vehicle_power --(grid back)--> grid_back --(stable for the restore delay)-->
    returning --(switch confirmed back)--> grid

plus ``reserve_reached`` (every source is known to be down to its floor),
``no_source`` (on the vehicle side, but no source can supply right now: the site
keeps looking, a failed source is retried once it has been healthy for a while)
and ``alarm`` (the transfer switch did not confirm, or moved by itself).

Safety rules the machine enforces (and the property tests check):

* a source is started or adjusted only while the switch is confirmed on vehicle
  power, and only if its SoC is known and above its floor (reserve);
* the switch goes back to the grid only after the grid has been present for the
  whole restore delay (or on an explicit end/drill end), so a flapping grid never
  makes it chatter; the source supplies until the switch has left the vehicle side
  and is stopped in the step that sees it there;
* a source that fails, or reaches its floor, hands over to the next one; when every
  source is known to be at its floor the outage ends at the reserve, with a
  ``v2x_reserve_reached`` event: never because a source has not been read yet;
* after a start or a restart the machine waits (at most ``startup_wait_s``) for a
  preferred source's first reading before it starts a less preferred one, and a
  source that was supplying before the restart is taken over again (re-adopted);
* a failed source becomes eligible again after it has been healthy for
  ``recover_after_s``; a preferred source that is back takes over from a fallback;
* sharing (``share_load``), the next eligible sources in priority order supply
  alongside the active one while the load is more than those before them give, each
  within its own limits, under the same rules (started only into a confirmed switch,
  let go at a failure or at their floor, stopped with the active one);
* staging (``stage_critical``), the critical loads go off at switchover and come back
  on vehicle power one at a time, only with a source supplying (the next one only
  once it is seen discharging, never during a shortfall); a load after which a source
  fails within ``trip_window_s`` goes off again, and after ``max_trips`` stays off.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
import math
from typing import Any, Final

from .runtime import energy_above_floor_kwh, runtime_minutes, total_energy_kwh
from .sharing import Limits, sources_needed, split_load

EVENT_BACKUP_STARTED: Final = "v2x_backup_started"
EVENT_BACKUP_ENDED: Final = "v2x_backup_ended"
EVENT_RESERVE_REACHED: Final = "v2x_reserve_reached"
EVENT_SOURCE_FAILED: Final = "v2x_source_failed"
EVENT_PARK_REQUESTED: Final = "v2x_elevator_park_requested"
EVENTS: Final = (
    EVENT_BACKUP_STARTED,
    EVENT_BACKUP_ENDED,
    EVENT_RESERVE_REACHED,
    EVENT_SOURCE_FAILED,
    EVENT_PARK_REQUESTED,
)


class BackupState(StrEnum):
    """Where the site stands."""

    GRID = "grid"
    OUTAGE = "outage"
    SWITCHING = "switching"
    ON_VEHICLE_POWER = "on_vehicle_power"
    GRID_BACK = "grid_back"
    RETURNING = "returning"
    RESERVE_REACHED = "reserve_reached"
    NO_SOURCE = "no_source"
    ALARM = "alarm"


ON_VEHICLE_SIDE: Final = frozenset(
    {
        BackupState.ON_VEHICLE_POWER,
        BackupState.GRID_BACK,
        BackupState.RESERVE_REACHED,
        BackupState.NO_SOURCE,
    }
)
_SUPPLYING: Final = frozenset({BackupState.ON_VEHICLE_POWER, BackupState.GRID_BACK})


@dataclass(frozen=True, slots=True)
class MachineConfig:
    """Static settings of one site."""

    sources: tuple[str, ...]
    sheddable_loads: tuple[str, ...] = ()
    outage_debounce_s: float = 0.5
    restore_delay_s: float = 60.0
    confirm_timeout_s: float = 10.0
    start_grace_s: float = 150.0
    park_warning_min: float = 10.0
    load_deadband_w: float = 100.0
    min_power_w: int = 500
    startup_wait_s: float = 15.0
    recover_after_s: float = 30.0
    load_restore_gap_s: float = 0.0
    """On the return, the shed loads come back one at a time this far apart (0: together),
    so that their starting currents do not all hit the supply at once."""
    share_load: bool = False
    """Whether sources supply together when one cannot carry the load (the next in
    priority order joins when those before it are at their limit)."""
    peak_load_w: float = 0.0
    """The most the site draws at once (an elevator's motor start; 0: not known).
    Sharing, the sources it takes stand by for it (see :meth:`BackupMachine._shares`)."""
    critical_loads: tuple[str, ...] = ()
    """The critical loads in the user's order."""
    stage_critical: bool = False
    """Whether the critical loads are switched off with the sheddable ones at switchover
    and come back one at a time (``load_restore_gap_s`` apart) once a source supplies."""
    trip_window_s: float = 10.0
    """A source that fails this soon after a load came back on vehicle power was tripped
    by that load."""
    max_trips: int = 3
    """A load that trips the supply this often in one outage is left off."""


@dataclass(frozen=True, slots=True)
class SourceObservation:
    """What the site knows about one source right now."""

    available: bool
    soc_pct: float | None
    floor_pct: float
    capacity_kwh: float | None = None
    max_discharge_w: int = 0
    min_discharge_w: int = 0
    """The least power the source runs at (a charger's minimum): it is never asked less."""
    discharging: bool = False
    known: bool = True
    """Whether the source has been read (or found failed) since Home Assistant started."""
    healthy_s: float = math.inf
    """How long the source has answered every poll."""
    absent: bool = False
    """Read, and there is nothing to discharge (no vehicle plugged in, or it refuses)."""
    owned: bool = True
    """Whether the source runs the site's own session (False after a restart, or when
    its session was lost): the active source is then taken over again."""

    @property
    def at_floor(self) -> bool:
        """Whether the source is at or below the SoC it must never go under."""
        return self.soc_pct is not None and self.soc_pct <= self.floor_pct

    @property
    def usable(self) -> bool:
        """Whether the source may be asked to supply the site (its SoC known, above its floor)."""
        return (
            self.available
            and self.soc_pct is not None
            and not self.at_floor
            and self.max_discharge_w > 0
        )

    @property
    def energy_kwh(self) -> float | None:
        """Energy above the floor, if it can be told."""
        return energy_above_floor_kwh(self.soc_pct, self.floor_pct, self.capacity_kwh)


@dataclass(frozen=True, slots=True)
class Observation:
    """Everything the machine looks at in one step."""

    grid_available: bool | None
    switch_on_vehicle: bool | None
    sources: Mapping[str, SourceObservation]
    load_w: float
    automatic: bool = True
    load_known: bool = True
    """False while the site's load sensor has no reading (just after a restart): the
    power a running source supplies is kept rather than replaced by an estimate."""
    load_measured: bool = False
    """Whether ``load_w`` is a load sensor's reading (not the site's load model)."""


@dataclass(frozen=True, slots=True)
class MoveTransferSwitch:
    """Command the transfer switch (True: protected circuit on vehicle power)."""

    to_vehicle: bool


@dataclass(frozen=True, slots=True)
class StartSource:
    """Discharge ``source`` at ``power_w``, never below ``floor_pct``."""

    source: str
    power_w: int
    floor_pct: float


@dataclass(frozen=True, slots=True)
class AdjustSource:
    """Follow the load: new discharge power for the running source."""

    source: str
    power_w: int


@dataclass(frozen=True, slots=True)
class StopSource:
    """Stop discharging ``source``."""

    source: str


@dataclass(frozen=True, slots=True)
class RestoreSource:
    """The grid is back: put ``source`` back as it was before the site used it."""

    source: str


@dataclass(frozen=True, slots=True)
class ShedLoad:
    """Switch a sheddable load off."""

    entity_id: str


@dataclass(frozen=True, slots=True)
class RestoreLoad:
    """Switch a shed load on again."""

    entity_id: str


@dataclass(frozen=True, slots=True)
class ReportLoadLeftOff:
    """A load tripped the supply ``trips`` times and is left off.

    ``entity_id`` None: a new outage, every load gets a new chance.
    """

    entity_id: str | None
    trips: int = 0


@dataclass(frozen=True, slots=True)
class FireEvent:
    """Tell automations what happened."""

    event: str
    reason: str
    source: str | None = None


@dataclass(frozen=True, slots=True)
class ReportShortfall:
    """The supplying sources cannot carry the load (``source`` None: they can again)."""

    source: str | None
    available_w: int = 0
    load_w: int = 0
    sharing: tuple[str, ...] = ()
    """The sources supplying alongside ``source`` (their power is in ``available_w``)."""


@dataclass(frozen=True, slots=True)
class RaiseAlarm:
    """Something needs a person: the transfer switch did not do what it was told."""

    reason: str


@dataclass(frozen=True, slots=True)
class ClearAlarm:
    """The alarm condition is over."""


type Action = (
    MoveTransferSwitch
    | StartSource
    | AdjustSource
    | StopSource
    | RestoreSource
    | ShedLoad
    | RestoreLoad
    | ReportLoadLeftOff
    | FireEvent
    | ReportShortfall
    | RaiseAlarm
    | ClearAlarm
)


@dataclass(slots=True)
class _Session:
    """One backup session (an outage, a drill or a manual start)."""

    reason: str
    drill: bool = False
    manual: bool = False
    drill_until: float | None = None
    active: str | None = None
    active_power_w: int = 0
    active_since: float = 0.0
    helpers: dict[str, int] = field(default_factory=dict)
    """Sources supplying alongside the active one (sharing), and their power."""
    helper_since: dict[str, float] = field(default_factory=dict)
    unreachable: dict[str, float] = field(default_factory=dict)
    """Sources that stopped answering, and when: retried once healthy for a while."""
    given_up: list[str] = field(default_factory=list)
    """Sources that did not discharge when asked: not asked again in this session."""
    drained: list[str] = field(default_factory=list)
    """Sources that reached their floor in this session."""
    shortfall: str | None = None
    shed: list[str] = field(default_factory=list)
    staged: list[str] = field(default_factory=list)
    """Critical loads switched off at switchover, to come back on vehicle power in order."""
    stage_next_at: float | None = None
    last_restored: tuple[str, float] | None = None
    """The load that came back last on vehicle power, and when (a trip is blamed on it)."""
    trips: dict[str, int] = field(default_factory=dict)
    left_off: list[str] = field(default_factory=list)
    park_warned: bool = False
    started: bool = False
    reached_end: bool = False
    end_reason: str = "grid_restored"
    switched: bool = False
    """The transfer switch was sent to the vehicle side in this session (a session that
    found every source at its floor never moves it)."""


class BackupMachine:
    """The outage logic of one site."""

    def __init__(self, config: MachineConfig, now: float) -> None:
        """Start in ``grid``; the first observation corrects that if needed."""
        self.config = config
        self.state = BackupState.GRID
        self.alarm: str | None = None
        self._session: _Session | None = None
        self._grid: bool | None = None
        self._grid_lost_at: float | None = None
        self._grid_ok_since: float | None = None
        self._switch_commanded_at = now
        self._switch_target: bool | None = None
        self._pending_recommand = False
        self._held_off = False  # ended by hand during this outage: no automatic restart
        self._requests: list[tuple[str, float]] = []
        self._started_at = now
        self._startup_over = False
        self._adopting = False  # restored with a supplying source: take it over again
        self._restore_queue: list[str] = []
        """Shed loads still to come back on the grid, in order."""
        self._restore_next_at: float | None = None

    # -- requests ------------------------------------------------------------------

    def request_start(self) -> None:
        """Start backup now (service, or automatic backup off during an outage)."""
        self._requests.append(("start", 0.0))

    def request_end(self) -> None:
        """End backup now and go back to the grid."""
        self._requests.append(("end", 0.0))

    def request_drill(self, duration_s: float) -> None:
        """Rehearse the switchover while the grid is present, for ``duration_s``."""
        self._requests.append(("drill", duration_s))

    # -- introspection ---------------------------------------------------------------

    @property
    def active_source(self) -> str | None:
        """The source supplying the site now."""
        return self._session.active if self._session else None

    @property
    def supplying_sources(self) -> tuple[str, ...]:
        """Every source the site has supplying now: the active one, then those sharing."""
        session = self._session
        if session is None or session.active is None:
            return ()
        return (session.active, *session.helpers)

    @property
    def drill(self) -> bool:
        """Whether the running session is a drill."""
        return bool(self._session and self._session.drill)

    @property
    def on_vehicle_power(self) -> bool:
        """Whether the protected circuit is (meant to be) on the vehicle side.

        Not at the reserve of a session that never moved the switch: every source was
        at its floor when the grid went, so the circuit stayed on the (dead) grid side.
        """
        if self.state is BackupState.RESERVE_REACHED:
            return self._session is None or self._session.switched
        return self.state in ON_VEHICLE_SIDE

    def next_deadline(self) -> float | None:
        """The next moment a timer may change something (debounce, timeouts, delays)."""
        deadlines: list[float] = []
        session = self._session
        if self.state is BackupState.OUTAGE and self._grid_lost_at is not None:
            deadlines.append(self._grid_lost_at + self.config.outage_debounce_s)
        if self.state in (BackupState.SWITCHING, BackupState.RETURNING):
            deadlines.append(self._switch_commanded_at + self.config.confirm_timeout_s)
        if self._grid is True and self._grid_ok_since is not None:
            deadlines.append(self._grid_ok_since + self.config.restore_delay_s)
        if session is not None:
            if session.drill and session.drill_until is not None:
                deadlines.append(session.drill_until)
            if session.active is not None:
                deadlines.append(session.active_since + self.config.start_grace_s)
            deadlines.extend(t + self.config.start_grace_s for t in session.helper_since.values())
        if not self._startup_over and self.state is not BackupState.GRID:
            deadlines.append(self._started_at + self.config.startup_wait_s)
        if self._restore_queue and self._restore_next_at is not None:
            deadlines.append(self._restore_next_at)
        if session is not None and session.staged and session.stage_next_at is not None:
            deadlines.append(session.stage_next_at)
        return min(deadlines) if deadlines else None

    def snapshot(self) -> dict[str, Any]:
        """What must survive a restart."""
        session = self._session
        return {
            "state": self.state.value,
            "alarm": self.alarm,
            **({"restore_queue": list(self._restore_queue)} if self._restore_queue else {}),
            "session": None
            if session is None
            else {
                "reason": session.reason,
                "drill": session.drill,
                "manual": session.manual,
                "active": session.active,
                "active_power_w": session.active_power_w,
                **({"helpers": dict(session.helpers)} if session.helpers else {}),
                "unreachable": list(session.unreachable),
                "given_up": list(session.given_up),
                "drained": list(session.drained),
                "shed": list(session.shed),
                **({"staged": list(session.staged)} if session.staged else {}),
                **({"trips": dict(session.trips)} if session.trips else {}),
                **({"left_off": list(session.left_off)} if session.left_off else {}),
                "park_warned": session.park_warned,
                "started": session.started,
                "reached_end": session.reached_end,
                "switched": session.switched,
            },
        }

    @classmethod
    def restore(
        cls, config: MachineConfig, snapshot: Mapping[str, Any], now: float
    ) -> BackupMachine:
        """Rebuild after a restart. Timers restart now; nothing is switched back blindly.

        A site that was on vehicle power stays there: the source that was supplying
        is taken over again once it has been read (it may still be discharging, or
        its watchdog may have stopped it), no other source is judged before its
        first reading (for at most ``startup_wait_s``), and the switch only goes
        back after the grid has been present for the whole restore delay, counted
        from the restart.
        """
        machine = cls(config, now)
        try:
            state = BackupState(snapshot["state"])
        except (KeyError, ValueError):
            return machine
        raw = snapshot.get("session")
        if isinstance(raw, Mapping):
            sources = config.sources

            def _known(key: str) -> list[str]:
                return [s for s in raw.get(key, []) if s in sources]

            loads = (*config.sheddable_loads, *config.critical_loads)

            active = raw.get("active")
            power = raw.get("active_power_w")
            helpers = raw.get("helpers", {})
            if not isinstance(helpers, Mapping):
                helpers = {}
            helpers = {
                source: watts
                for source, watts in helpers.items()
                if active in sources
                and source in sources
                and source != active
                and isinstance(watts, int)
            }
            machine._session = _Session(
                reason=str(raw.get("reason", "grid_lost")),
                drill=bool(raw.get("drill", False)),
                manual=bool(raw.get("manual", False)),
                active=active if active in sources else None,
                active_power_w=power if isinstance(power, int) else 0,
                active_since=now - RETAKE_AFTER_S,  # take it over at its first reading
                helpers=helpers,
                helper_since=dict.fromkeys(helpers, now - RETAKE_AFTER_S),
                # Failures are counted again from the restart.
                unreachable=dict.fromkeys(_known("unreachable"), now),
                given_up=_known("given_up"),
                drained=_known("drained"),
                shed=[e for e in raw.get("shed", []) if e in loads],
                staged=[e for e in raw.get("staged", []) if e in config.critical_loads],
                trips={
                    e: n
                    for e, n in dict(raw.get("trips", {})).items()
                    if e in loads and isinstance(n, int)
                },
                left_off=[e for e in raw.get("left_off", []) if e in loads],
                park_warned=bool(raw.get("park_warned", False)),
                started=bool(raw.get("started", False)),
                reached_end=bool(raw.get("reached_end", False)),
                # Saved before the key existed: the switch may have moved, so say it did.
                switched=bool(raw.get("switched", True)),
            )
        if state is not BackupState.GRID and machine._session is None:
            machine._session = _Session(reason="restored")
        if machine._session is not None and machine._session.drill:
            # The drill's clock did not survive: end it as soon as possible.
            machine._session.drill_until = now
        machine.alarm = snapshot.get("alarm")
        if state in (BackupState.GRID_BACK, BackupState.NO_SOURCE):
            state = BackupState.ON_VEHICLE_POWER
        machine.state = state
        machine._adopting = machine.active_source is not None
        if state is BackupState.SWITCHING:
            machine._switch_target = True
        elif state is BackupState.RETURNING:
            machine._switch_target = False
        elif state is BackupState.ALARM:
            machine._switch_target = True
        machine._pending_recommand = state in (BackupState.SWITCHING, BackupState.RETURNING)
        queue = snapshot.get("restore_queue", [])
        if state is BackupState.GRID and isinstance(queue, list):
            # Loads still to come back: at once after the restart, then the gap apart.
            machine._restore_queue = [e for e in queue if e in config.sheddable_loads]
        return machine

    # -- the step --------------------------------------------------------------------

    def step(self, obs: Observation, now: float) -> list[Action]:
        """Look at the world once; return what to do."""
        actions: list[Action] = []
        if now - self._started_at >= self.config.startup_wait_s:
            self._startup_over = True
        if obs.grid_available is not None:
            self._track_grid(obs.grid_available, now)
        if self._pending_recommand and self._switch_target is not None:
            self._pending_recommand = False
            self._move_switch(self._switch_target, now, actions)
        self._restore_due_loads(now, actions)
        for request, value in self._requests:
            self._handle_request(request, value, obs, now, actions)
        self._requests.clear()
        handler = {
            BackupState.GRID: self._in_grid,
            BackupState.OUTAGE: self._in_outage,
            BackupState.SWITCHING: self._in_switching,
            BackupState.ON_VEHICLE_POWER: self._in_supplying,
            BackupState.GRID_BACK: self._in_supplying,
            BackupState.RETURNING: self._in_returning,
            BackupState.RESERVE_REACHED: self._in_reserve_reached,
            BackupState.NO_SOURCE: self._in_supplying,
            BackupState.ALARM: self._in_alarm,
        }[self.state]
        handler(obs, now, actions)
        return actions

    def _restore_due_loads(self, now: float, actions: list[Action]) -> None:
        """The next queued load back on, when its time has come and the grid carries it.

        Once the site leaves the grid (a new outage) the rest stay off: the new
        session sheds them and brings them back itself.
        """
        if not self._restore_queue:
            return
        if self.state is not BackupState.GRID:
            self._restore_queue, self._restore_next_at = [], None
            return
        if self._restore_next_at is not None and now < self._restore_next_at:
            return
        actions.append(RestoreLoad(self._restore_queue.pop(0)))
        self._restore_next_at = (
            now + self.config.load_restore_gap_s if self._restore_queue else None
        )

    def _restore_loads(self, loads: Sequence[str], now: float, actions: list[Action]) -> None:
        """Bring the shed loads back: all at once, or one now and the rest the gap apart.

        All at once as well when the grid is not there (a backup ended by hand in an
        outage): no supply is there to spare their starting currents.
        """
        gap = self.config.load_restore_gap_s
        if gap <= 0 or self._grid is not True or len(loads) <= 1:
            actions.extend(RestoreLoad(entity_id) for entity_id in loads)
            return
        actions.append(RestoreLoad(loads[0]))
        self._restore_queue, self._restore_next_at = list(loads[1:]), now + gap

    def _track_grid(self, available: bool, now: float) -> None:
        if available and self._grid is not True:
            self._grid_ok_since = now
            self._grid_lost_at = None
            self._held_off = False
        elif not available and self._grid is not False:
            self._grid_lost_at = now
            self._grid_ok_since = None
        self._grid = available

    def _grid_stable(self, now: float) -> bool:
        return (
            self._grid is True
            and self._grid_ok_since is not None
            and now - self._grid_ok_since >= self.config.restore_delay_s
        )

    def _handle_request(
        self, request: str, value: float, obs: Observation, now: float, actions: list[Action]
    ) -> None:
        if request == "end":
            if self._session is not None and self.state is not BackupState.RETURNING:
                self._session.end_reason = "manual"
                self._begin_return(now, actions)
            return
        if self.state not in (BackupState.GRID, BackupState.OUTAGE):
            return
        if not any(obs.sources.get(s, _GONE).usable for s in self.config.sources):
            return  # nothing could supply the circuit (the caller says so to the user)
        if request == "drill":
            if self._grid is not True:
                return
            self._session = _Session(reason="drill", drill=True, drill_until=now + value)
            self._session.end_reason = "drill_complete"
        else:
            self._session = _Session(reason="manual", manual=self._grid is True)
        self._begin_switching(obs, now, actions)

    # -- states ----------------------------------------------------------------------

    def _in_grid(self, obs: Observation, now: float, actions: list[Action]) -> None:
        if self._grid is False:
            self.state = BackupState.OUTAGE
            self._in_outage(obs, now, actions)

    def _in_outage(self, obs: Observation, now: float, actions: list[Action]) -> None:
        if self._grid is True:
            self.state = BackupState.GRID
            return
        lost_at = self._grid_lost_at if self._grid_lost_at is not None else now
        if obs.automatic and not self._held_off and now - lost_at >= self.config.outage_debounce_s:
            self._session = _Session(reason="grid_lost")
            self._begin_switching(obs, now, actions)

    def _begin_switching(self, obs: Observation, now: float, actions: list[Action]) -> None:
        session = self._require_session()
        if not any(obs.sources.get(s, _GONE).usable for s in self.config.sources):
            # Nothing could supply the circuit: do not move it to a dead side. Only
            # when every source is known to be at its floor is that the reserve;
            # otherwise keep looking (a source not read yet, or failed for now).
            if self._all_drained(obs, session):
                self._enter_reserve_reached(session, "no_source_available", actions)
            return
        self.state = BackupState.SWITCHING
        self._move_switch(True, now, actions)
        staged = self.config.critical_loads if self.config.stage_critical else ()
        if staged and not session.started:
            actions.append(ReportLoadLeftOff(None))  # a new outage: every load a new chance
        for entity_id in (*self.config.sheddable_loads, *staged):
            if entity_id not in session.shed:
                session.shed.append(entity_id)
                actions.append(ShedLoad(entity_id))
                if entity_id in staged:
                    session.staged.append(entity_id)
        self._in_switching(obs, now, actions)

    def _in_switching(self, obs: Observation, now: float, actions: list[Action]) -> None:
        session = self._require_session()
        if obs.switch_on_vehicle is True:
            self._enter_supplying(session, obs, now, actions)
        elif now - self._switch_commanded_at >= self.config.confirm_timeout_s:
            self._raise(BackupState.ALARM, "transfer_switch_not_confirmed", actions)

    def _in_supplying(self, obs: Observation, now: float, actions: list[Action]) -> None:
        session = self._require_session()
        if obs.switch_on_vehicle is False:
            # Never discharge into a circuit that is not on the vehicle side.
            self._stop_active(session, actions)
            self._raise(BackupState.ALARM, "transfer_switch_moved", actions)
            return
        if session.drill and self._grid is False:
            session.drill = False  # a real outage during a drill: keep going for real
            session.end_reason = "grid_restored"
        if session.drill and session.drill_until is not None and now >= session.drill_until:
            self._begin_return(now, actions)
            return
        if not (session.drill or session.manual):
            if self._grid is True:
                self.state = BackupState.GRID_BACK
                if self._grid_stable(now):
                    self._begin_return(now, actions)
                    return
            else:
                self.state = BackupState.ON_VEHICLE_POWER
        self._manage_source(session, obs, now, actions)
        if self.state in _SUPPLYING:
            self._restore_staged(session, obs, now, actions)
            self._warn_if_running_out(session, obs, actions)

    def _in_returning(self, obs: Observation, now: float, actions: list[Action]) -> None:
        session = self._require_session()
        if obs.switch_on_vehicle is False:
            self._stop_active(session, actions)
            self._clear_shortfall(session, actions)  # nothing supplies any more
            # Critical loads first, in the user's order, then the shed ones, last shed first.
            critical = [e for e in self.config.critical_loads if e in session.shed]
            rest = [e for e in reversed(session.shed) if e not in critical]
            self._restore_loads([*critical, *rest], now, actions)
            if self._grid is True:
                actions.extend(RestoreSource(source) for source in self.config.sources)
            if session.started or session.reached_end:
                actions.append(FireEvent(EVENT_BACKUP_ENDED, session.end_reason))
            self._session = None
            self.state = BackupState.GRID if self._grid is not False else BackupState.OUTAGE
            if self.state is BackupState.OUTAGE:
                # Ended by hand during an outage: no automatic restart for this one.
                self._held_off = True
            if self.alarm is not None:
                self.alarm = None
                actions.append(ClearAlarm())
        elif now - self._switch_commanded_at >= self.config.confirm_timeout_s:
            self._raise(BackupState.ALARM, "transfer_switch_not_returned", actions)

    def _in_reserve_reached(self, obs: Observation, now: float, actions: list[Action]) -> None:
        session = self._require_session()
        if not self._may_return(session, now):
            return
        if session.switched:
            self._begin_return(now, actions)
            return
        # The switch never left the grid side: nothing to move back, no load was shed.
        actions.append(FireEvent(EVENT_BACKUP_ENDED, session.end_reason))
        self._session = None
        self.state = BackupState.GRID

    def _in_alarm(self, obs: Observation, now: float, actions: list[Action]) -> None:
        session = self._require_session()
        if self._switch_target is True and obs.switch_on_vehicle is True:
            self.alarm = None
            actions.append(ClearAlarm())
            self._enter_supplying(session, obs, now, actions)
        elif self._switch_target is False and obs.switch_on_vehicle is False:
            self.state = BackupState.RETURNING
            self._in_returning(obs, now, actions)
        elif self._switch_target is True and self._may_return(session, now):
            self._begin_return(now, actions)

    # -- helpers ---------------------------------------------------------------------

    def _enter_supplying(
        self, session: _Session, obs: Observation, now: float, actions: list[Action]
    ) -> None:
        self.state = BackupState.ON_VEHICLE_POWER
        if not session.started:
            session.started = True
            actions.append(FireEvent(EVENT_BACKUP_STARTED, session.reason))
        self._in_supplying(obs, now, actions)

    def _may_return(self, session: _Session, now: float) -> bool:
        """Grid present, and for an outage, present for the whole restore delay."""
        if session.manual or session.drill:
            return self._grid is True
        return self._grid_stable(now)

    def _require_session(self) -> _Session:
        if self._session is None:  # pragma: no cover - every caller sets one first
            self._session = _Session(reason="grid_lost")
        return self._session

    def _move_switch(self, to_vehicle: bool, now: float, actions: list[Action]) -> None:
        if to_vehicle and self._session is not None:
            self._session.switched = True
        self._switch_target = to_vehicle
        self._switch_commanded_at = now
        actions.append(MoveTransferSwitch(to_vehicle))

    def _raise(self, state: BackupState, reason: str, actions: list[Action]) -> None:
        self.state = state
        if self.alarm != reason:
            self.alarm = reason
            actions.append(RaiseAlarm(reason))

    def _begin_return(self, now: float, actions: list[Action]) -> None:
        # The source keeps the circuit powered until the switch has left the vehicle
        # side (a break-before-make switch then cuts it off): stopping it first would
        # leave the circuit dark for the switch's travel time.
        self.state = BackupState.RETURNING
        self._move_switch(False, now, actions)

    def _stop_active(self, session: _Session, actions: list[Action]) -> None:
        if session.active is not None:
            actions.append(StopSource(session.active))
            session.active = None
        self._stop_helpers(session, actions)

    def _stop_helpers(self, session: _Session, actions: list[Action]) -> None:
        actions.extend(StopSource(helper) for helper in session.helpers)
        session.helpers.clear()
        session.helper_since.clear()

    def _manage_source(
        self, session: _Session, obs: Observation, now: float, actions: list[Action]
    ) -> None:
        if self.state is BackupState.NO_SOURCE:
            self.state = BackupState.ON_VEHICLE_POWER
        self._judge_helpers(session, obs, now, actions)
        if session.active is None or not self._keep_active(session, obs, now, actions):
            self._choose_and_start(session, obs, now, actions)
        if session.active is None:
            self._stop_helpers(session, actions)
            return
        self._follow_load(session, obs, now, actions)
        self._check_shortfall(session, obs, actions)

    def _keep_active(
        self, session: _Session, obs: Observation, now: float, actions: list[Action]
    ) -> bool:
        """Keep the active source; False once it has been let go."""
        active = session.active
        if active is None:  # pragma: no cover - the caller checks
            return False
        seen = obs.sources.get(active, _GONE)
        if self._adopting:
            if not seen.known and not self._startup_over:
                return True  # not read yet since the restart: do not judge it
            self._adopting = False
        failure = self._failure(seen, session.active_since, now)
        if failure is None and self._retake_due(seen, session.active_since, obs, now):
            # Supplying before a restart, or its session lost: take it over again (it
            # may still be discharging unowned, or its watchdog may have stopped it).
            self._start(session, active, obs, now, actions)
            return True
        if failure is None and self._recovered_preferred(session, obs, active, now) is None:
            return True
        # Failed, at its floor, or a preferred source is healthy again: let go.
        session.active = None
        self._let_go(session, active, failure, now, actions)
        return False

    def _judge_helpers(
        self, session: _Session, obs: Observation, now: float, actions: list[Action]
    ) -> None:
        """Let go of the sharing sources that failed; retake those that lost their session."""
        for helper, since in list(session.helper_since.items()):
            seen = obs.sources.get(helper, _GONE)
            if not seen.known and not self._startup_over:
                continue  # not read yet since the restart: do not judge it
            failure = self._failure(seen, since, now)
            if failure is None:
                if self._retake_due(seen, since, obs, now):
                    session.helper_since[helper] = now
                    actions.append(StartSource(helper, session.helpers[helper], seen.floor_pct))
                continue
            del session.helpers[helper], session.helper_since[helper]
            self._let_go(session, helper, failure, now, actions)

    def _retake_due(
        self, seen: SourceObservation, since: float, obs: Observation, now: float
    ) -> bool:
        """Whether a supplying source runs no session of the site's and is asked again now."""
        return (
            not seen.owned
            and seen.usable
            and obs.switch_on_vehicle is True
            and now - since >= RETAKE_AFTER_S
        )

    def _let_go(
        self,
        session: _Session,
        source: str,
        failure: str | None,
        now: float,
        actions: list[Action],
    ) -> None:
        """Stop a supplying source, and note why (None: a preferred one takes over)."""
        actions.append(StopSource(source))
        if failure == "reserve":
            session.drained.append(source)
        elif failure is not None:
            if failure == "unavailable":
                session.unreachable[source] = now
            else:
                session.given_up.append(source)
            actions.append(FireEvent(EVENT_SOURCE_FAILED, failure, source))
            self._count_trip(session, now, actions)

    def _restore_staged(
        self, session: _Session, obs: Observation, now: float, actions: list[Action]
    ) -> None:
        """The next critical load back on vehicle power, once the supply carries it.

        The first with the source that starts; each next one the gap later, only while
        the active source discharges and the measured load is no more than the sources
        give.
        """
        active = session.active
        if not session.staged or active is None or obs.switch_on_vehicle is not True:
            return
        if session.shortfall is not None and obs.load_measured:
            # The sources carry less than the measured load already: nothing more. (A
            # model's load counts every load as on: it says nothing of what is off.)
            return
        if session.stage_next_at is not None and now < session.stage_next_at:
            return
        if session.last_restored is not None and not obs.sources.get(active, _GONE).discharging:
            return
        entity_id = session.staged.pop(0)
        session.shed.remove(entity_id)
        session.last_restored = (entity_id, now)
        session.stage_next_at = now + self.config.load_restore_gap_s
        actions.append(RestoreLoad(entity_id))

    def _count_trip(self, session: _Session, now: float, actions: list[Action]) -> None:
        """A source failed just after a load came back on vehicle power: that load tripped it.

        Off again; tried once more after the others, or left off.
        """
        last = session.last_restored
        if last is None or now - last[1] > self.config.trip_window_s:
            return
        entity_id = last[0]
        session.last_restored = None
        trips = session.trips[entity_id] = session.trips.get(entity_id, 0) + 1
        session.shed.append(entity_id)
        actions.append(ShedLoad(entity_id))
        session.stage_next_at = now + self.config.load_restore_gap_s
        if trips >= self.config.max_trips:
            session.left_off.append(entity_id)
            actions.append(ReportLoadLeftOff(entity_id, trips))
        else:
            session.staged.append(entity_id)

    def _follow_load(
        self, session: _Session, obs: Observation, now: float, actions: list[Action]
    ) -> None:
        """Follow the load: each supplying source at its share; sharing ones join and leave."""
        active = session.active
        if active is None or not obs.load_known:
            return  # no load reading (just after a restart): keep what runs
        if not all(obs.sources.get(s, _GONE).known for s in self.supplying_sources):
            return  # a supplying source not read since the restart: keep what runs
        shares = self._shares(session, obs, now)
        deadband = self.config.load_deadband_w
        if abs(shares[active] - session.active_power_w) >= deadband:
            session.active_power_w = shares[active]
            actions.append(AdjustSource(active, shares[active]))
        for helper in [h for h in session.helpers if h not in shares]:
            del session.helpers[helper], session.helper_since[helper]
            actions.append(StopSource(helper))
        for source, power in shares.items():
            if source == active:
                continue
            if source in session.helpers:
                if abs(power - session.helpers[source]) >= deadband:
                    session.helpers[source] = power
                    actions.append(AdjustSource(source, power))
                continue
            seen = obs.sources.get(source, _GONE)
            session.helpers[source], session.helper_since[source] = power, now
            session.unreachable.pop(source, None)
            actions.append(StartSource(source, power, seen.floor_pct))

    def _shares(self, session: _Session, obs: Observation, now: float) -> dict[str, int]:
        """Each supplying source's power: the active one's, then the sharing ones'.

        Sharing, the other sources join in priority order as far as the load needs them.
        """
        active = session.active
        if active is None:  # pragma: no cover - the callers check
            return {}
        chain = [active]
        if self.config.share_load and obs.switch_on_vehicle is True:
            chain += [
                source
                for source in self.config.sources
                if source != active
                and (
                    source in session.helpers
                    or self._eligible(session, source, obs.sources.get(source, _GONE), now)
                )
            ]
        limits = [self._limits(obs.sources.get(source, _GONE)) for source in chain]
        running = [source == active or source in session.helpers for source in chain]
        deadband = self.config.load_deadband_w
        needed = sources_needed(obs.load_w, limits, running, deadband)
        peak = self.config.peak_load_w
        if peak > obs.load_w:
            # A peak comes faster than a load reading (an elevator's start): the sources
            # it takes run already, so that they carry it the moment it comes; each one
            # only while the load now keeps every one at its minimum (else one would
            # feed another).
            for more in range(needed + 1, sources_needed(peak, limits, running, deadband) + 1):
                margin = deadband if running[more - 1] else -deadband
                if sum(limit.least_w for limit in limits[:more]) > obs.load_w + margin:
                    break
                needed = more
        return dict(zip(chain[:needed], split_load(obs.load_w, limits[:needed]), strict=True))

    def _limits(self, source: SourceObservation) -> Limits:
        least = max(self.config.min_power_w, source.min_discharge_w)
        return Limits(least_w=min(least, source.max_discharge_w), most_w=source.max_discharge_w)

    def _failure(self, seen: SourceObservation, since: float, now: float) -> str | None:
        """Why a supplying source (asked to since ``since``) must be let go, if it must."""
        if not seen.available:
            return "unavailable"
        if seen.at_floor:
            return "reserve"
        if seen.soc_pct is None and not seen.discharging:
            # Idle with no SoC (and none to assume): it cannot be started safely now.
            # Like an unreachable one, it is retried once it can be judged again.
            return "unavailable"
        if not seen.discharging and now - since >= self.config.start_grace_s:
            return "not_discharging"
        return None

    def _choose_and_start(
        self, session: _Session, obs: Observation, now: float, actions: list[Action]
    ) -> None:
        if obs.switch_on_vehicle is not True:
            return  # start a source only into a circuit confirmed on the vehicle side
        wait, choice = self._choose(session, obs, now)
        if wait and session.helpers:
            # A source sharing the load goes on supplying it, alone, while the site
            # waits for a preferred one's first reading.
            helper = next(iter(session.helpers))
            session.active, session.active_since = helper, session.helper_since.pop(helper)
            session.active_power_w = session.helpers.pop(helper)
            return
        if wait:
            return
        if choice is not None:
            self._start(session, choice, obs, now, actions)
            return
        self._clear_shortfall(session, actions)
        if self._all_drained(obs, session):
            self._enter_reserve_reached(session, "reserve", actions)
        elif self.state is not BackupState.GRID_BACK:
            # Nothing can supply now, but not every source is at its floor: keep
            # looking; a failed source is retried once it has been healthy a while.
            self.state = BackupState.NO_SOURCE

    def _eligible(
        self,
        session: _Session,
        source: str,
        seen: SourceObservation,
        now: float,
        recover: float | None = None,
    ) -> bool:
        if not seen.usable or source in session.drained or source in session.given_up:
            return False
        failed_at = session.unreachable.get(source)
        recover = self._recover_s(session) if recover is None else recover
        return failed_at is None or (now - failed_at >= recover and seen.healthy_s >= recover)

    def _recover_s(self, session: _Session) -> float:
        """How long a failed source must be healthy before it is used again.

        A fallback that cannot carry the load hands back sooner.
        """
        if session.shortfall is not None:
            return min(self.config.recover_after_s, SHORTFALL_RECOVER_S)
        return self.config.recover_after_s

    def _choose(self, session: _Session, obs: Observation, now: float) -> tuple[bool, str | None]:
        """(wait, source): the most preferred eligible source, or wait for an unread one.

        Until the start-up wait is over a source that has not been read yet holds
        back every less preferred one.
        """
        for source in self.config.sources:
            seen = obs.sources.get(source, _GONE)
            if not seen.known and not self._startup_over:
                return True, None
            if self._eligible(session, source, seen, now):
                return False, source
        return False, None

    def _recovered_preferred(
        self, session: _Session, obs: Observation, active: str, now: float
    ) -> str | None:
        """A source preferred to ``active`` that has been healthy long enough to take over."""
        for source in self.config.sources:
            if source == active:
                return None
            seen = obs.sources.get(source, _GONE)
            recover = self._recover_s(session)
            if (
                source not in session.helpers  # supplying already: no need to hand over
                and seen.known
                and self._eligible(session, source, seen, now, recover)
                and seen.healthy_s >= recover
            ):
                return source
        return None  # pragma: no cover - the active source is always one of them

    def _start(
        self, session: _Session, source: str, obs: Observation, now: float, actions: list[Action]
    ) -> None:
        seen = obs.sources.get(source, _GONE)
        power = self._power_for(seen, obs.load_w)
        if not obs.load_known and source == session.active and session.active_power_w > 0:
            # Taken over after a restart before the load sensor has a reading: keep
            # what it supplied, not the estimate (which may be far below the load).
            power = min(seen.max_discharge_w, session.active_power_w)
        session.active, session.active_power_w, session.active_since = source, power, now
        session.helpers.pop(source, None)
        session.helper_since.pop(source, None)
        session.unreachable.pop(source, None)
        actions.append(StartSource(source, power, seen.floor_pct))

    def _check_shortfall(self, session: _Session, obs: Observation, actions: list[Action]) -> None:
        """Say so when the supplying sources cannot carry the load (never silently)."""
        source = session.active
        if source is None or not obs.load_known:
            return
        capacity = sum(obs.sources.get(s, _GONE).max_discharge_w for s in self.supplying_sources)
        short = obs.load_w > capacity + self.config.load_deadband_w
        if short and session.shortfall != source:
            session.shortfall = source
            actions.append(
                ReportShortfall(source, capacity, int(obs.load_w), tuple(session.helpers))
            )
        elif not short:
            self._clear_shortfall(session, actions)

    def _clear_shortfall(self, session: _Session, actions: list[Action]) -> None:
        if session.shortfall is not None:
            session.shortfall = None
            actions.append(ReportShortfall(None))

    def _all_drained(self, obs: Observation, session: _Session) -> bool:
        """Whether every source is known to be at its floor (the reserve, truly)."""
        for source in self.config.sources:
            if source in session.drained:
                continue
            seen = obs.sources.get(source, _GONE)
            if not (seen.known and (seen.at_floor or seen.absent)):
                return False
        return True

    def _power_for(self, source: SourceObservation, load_w: float) -> int:
        return split_load(load_w, [self._limits(source)])[0]

    def _enter_reserve_reached(self, session: _Session, reason: str, actions: list[Action]) -> None:
        if not session.park_warned:
            session.park_warned = True
            actions.append(FireEvent(EVENT_PARK_REQUESTED, "reserve_reached"))
        self.state = BackupState.RESERVE_REACHED
        session.reached_end = True
        actions.append(FireEvent(EVENT_RESERVE_REACHED, reason))

    def _warn_if_running_out(
        self, session: _Session, obs: Observation, actions: list[Action]
    ) -> None:
        if session.park_warned:
            return
        remaining = runtime_minutes(self.energy_kwh(obs, session), obs.load_w)
        if remaining is not None and remaining <= self.config.park_warning_min:
            session.park_warned = True
            actions.append(FireEvent(EVENT_PARK_REQUESTED, "energy_low"))

    def energy_kwh(self, obs: Observation, session: _Session | None = None) -> float | None:
        """Energy above the floors of the sources still in play."""
        drained = (session or self._session or _Session(reason="")).drained
        return total_energy_kwh(
            seen.energy_kwh
            for source, seen in obs.sources.items()
            if source in self.config.sources and source not in drained and seen.available
        )


RETAKE_AFTER_S: Final = 2.0
"""A source asked to supply is asked again only this long after, if its session is gone."""
SHORTFALL_RECOVER_S: Final = 5.0
"""How long a recovered preferred source must be healthy to relieve a fallback that
cannot carry the load (instead of the full recovery time)."""
_GONE: Final = SourceObservation(available=False, soc_pct=None, floor_pct=100.0, known=False)
