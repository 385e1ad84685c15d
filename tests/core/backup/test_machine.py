"""The backup state machine: scenarios, and safety invariants over random event sequences."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.v2x.backup.machine import (
    EVENT_BACKUP_ENDED,
    EVENT_BACKUP_STARTED,
    EVENT_PARK_REQUESTED,
    EVENT_RESERVE_REACHED,
    EVENT_SOURCE_FAILED,
    Action,
    AdjustSource,
    BackupMachine,
    BackupState,
    ClearAlarm,
    FireEvent,
    MachineConfig,
    MoveTransferSwitch,
    Observation,
    RaiseAlarm,
    ReportLoadLeftOff,
    ReportShortfall,
    RestoreLoad,
    RestoreSource,
    ShedLoad,
    SourceObservation,
    StartSource,
    StopSource,
)
from custom_components.v2x.backup.runtime import (
    ElevatorModel,
    describe_runtime,
    energy_above_floor_kwh,
    runtime_minutes,
    total_energy_kwh,
)

CONFIG = MachineConfig(
    sources=("car", "battery"),
    sheddable_loads=("switch.heater", "switch.ev_charger"),
    outage_debounce_s=0.5,
    restore_delay_s=60.0,
    confirm_timeout_s=10.0,
    start_grace_s=30.0,
    park_warning_min=10.0,
)


def _source(soc: float | None = 60.0, **kwargs: object) -> SourceObservation:
    values: dict[str, object] = {
        "available": True,
        "soc_pct": soc,
        "floor_pct": 30.0,
        "capacity_kwh": 40.0,
        "max_discharge_w": 6000,
        "discharging": True,
    } | kwargs
    return SourceObservation(**values)  # type: ignore[arg-type]


def _obs(
    grid: bool | None,
    switch: bool | None,
    sources: dict[str, SourceObservation] | None = None,
    load_w: float = 1500.0,
    automatic: bool = True,
) -> Observation:
    if sources is None:
        sources = {
            "car": _source(),
            "battery": _source(80.0, capacity_kwh=2.0, max_discharge_w=800),
        }
    return Observation(grid, switch, sources, load_w, automatic)


def _state(machine: BackupMachine) -> BackupState:
    """The machine's state (a call, so the type checker does not narrow it)."""
    return machine.state


def _events(actions: Sequence[Action]) -> list[tuple[str, str]]:
    return [(a.event, a.reason) for a in actions if isinstance(a, FireEvent)]


def test_outage_switchover_and_return() -> None:
    """Lose the grid, switch, supply from the car, wait for a stable grid, return."""
    m = BackupMachine(CONFIG, 0.0)
    assert m.step(_obs(True, False), 0.0) == []
    assert m.step(_obs(False, False), 1.0) == []
    assert _state(m) is BackupState.OUTAGE
    actions = m.step(_obs(False, False), 1.6)
    assert actions == [
        MoveTransferSwitch(True),
        ShedLoad("switch.heater"),
        ShedLoad("switch.ev_charger"),
    ]
    assert _state(m) is BackupState.SWITCHING
    assert m.step(_obs(False, False), 2.0) == []  # not confirmed yet: no discharge
    actions = m.step(_obs(False, True), 2.2)
    assert actions == [
        FireEvent(EVENT_BACKUP_STARTED, "grid_lost"),
        StartSource("car", 1500, 30.0),
    ]
    assert _state(m) is BackupState.ON_VEHICLE_POWER
    assert m.active_source == "car"
    assert m.on_vehicle_power
    # Load following with a deadband.
    assert m.step(_obs(False, True, load_w=1550), 3.0) == []
    assert m.step(_obs(False, True, load_w=2500), 4.0) == [AdjustSource("car", 2500)]
    # Grid back, but flapping: no switching until it stays.
    assert m.step(_obs(True, True, load_w=2500), 100.0) == []
    assert _state(m) is BackupState.GRID_BACK
    assert m.step(_obs(False, True, load_w=2500), 130.0) == []
    assert _state(m) is BackupState.ON_VEHICLE_POWER
    assert m.step(_obs(True, True, load_w=2500), 140.0) == []
    assert m.step(_obs(True, True, load_w=2500), 199.0) == []
    actions = m.step(_obs(True, True, load_w=2500), 200.0)
    # The car keeps the circuit powered while the switch travels...
    assert actions == [MoveTransferSwitch(False)]
    assert _state(m) is BackupState.RETURNING
    assert m.active_source == "car"
    # ...and stops in the step that sees the switch on the grid side.
    actions = m.step(_obs(True, False), 201.0)
    assert actions == [
        StopSource("car"),
        RestoreLoad("switch.ev_charger"),
        RestoreLoad("switch.heater"),
        RestoreSource("car"),
        RestoreSource("battery"),
        FireEvent(EVENT_BACKUP_ENDED, "grid_restored"),
    ]
    assert _state(m) is BackupState.GRID


def _returned(config: MachineConfig) -> tuple[BackupMachine, list[Action]]:
    """An outage carried by the car, the grid back for the restore delay, switched back."""
    m = BackupMachine(config, 0.0)
    m.step(_obs(True, False), 0.0)
    m.step(_obs(False, False), 1.0)
    m.step(_obs(False, False), 1.6)
    m.step(_obs(False, True), 2.2)
    m.step(_obs(True, True), 10.0)
    m.step(_obs(True, True), 70.0)
    assert _state(m) is BackupState.RETURNING
    return m, m.step(_obs(True, False), 71.0)


def test_shed_loads_come_back_one_by_one() -> None:
    """With a gap, the loads come back in turn on the grid, each at its deadline."""
    staged = replace(CONFIG, load_restore_gap_s=2.0)
    m, actions = _returned(staged)
    loads = [a for a in actions if isinstance(a, RestoreLoad)]
    assert loads == [RestoreLoad("switch.ev_charger")]  # the last shed comes back first
    assert _state(m) is BackupState.GRID
    assert m.step(_obs(True, False), 72.9) == []
    assert m.snapshot()["restore_queue"] == ["switch.heater"]
    assert m.step(_obs(True, False), 73.0) == [RestoreLoad("switch.heater")]
    assert m.step(_obs(True, False), 80.0) == []
    assert "restore_queue" not in m.snapshot()
    # Without a gap, together, as before.
    _, together = _returned(CONFIG)
    assert [a for a in together if isinstance(a, RestoreLoad)] == [
        RestoreLoad("switch.ev_charger"),
        RestoreLoad("switch.heater"),
    ]


def test_a_new_outage_keeps_the_rest_off() -> None:
    """The grid fails again before the second load is back: it stays off, to be shed."""
    m, _ = _returned(replace(CONFIG, load_restore_gap_s=2.0))
    m.step(_obs(False, False), 72.0)
    actions = m.step(_obs(False, False), 73.0)
    assert RestoreLoad("switch.heater") not in actions
    assert "restore_queue" not in m.snapshot()


def test_loads_still_to_come_back_survive_a_restart() -> None:
    staged = replace(CONFIG, load_restore_gap_s=2.0)
    m, _ = _returned(staged)
    restored = BackupMachine.restore(staged, m.snapshot(), 500.0)
    assert restored.step(_obs(True, False), 500.0) == [RestoreLoad("switch.heater")]


def test_short_blip_is_ignored() -> None:
    """A grid blip shorter than the debounce changes nothing."""
    m = BackupMachine(CONFIG, 0.0)
    m.step(_obs(False, False), 1.0)
    assert m.step(_obs(True, False), 1.3) == []
    assert _state(m) is BackupState.GRID


def test_switch_not_confirmed_raises_alarm_and_never_discharges() -> None:
    """No confirmation in time: alarm, no source started; a late confirmation recovers."""
    m = BackupMachine(CONFIG, 0.0)
    m.step(_obs(False, False), 0.0)
    m.step(_obs(False, False), 1.0)
    actions = m.step(_obs(False, False), 11.5)
    assert actions == [RaiseAlarm("transfer_switch_not_confirmed")]
    assert _state(m) is BackupState.ALARM
    assert m.alarm == "transfer_switch_not_confirmed"
    assert m.step(_obs(False, False), 20.0) == []
    actions = m.step(_obs(False, True), 21.0)
    assert actions[:2] == [ClearAlarm(), FireEvent(EVENT_BACKUP_STARTED, "grid_lost")]
    assert isinstance(actions[2], StartSource)


def test_alarm_returns_when_grid_is_stable() -> None:
    """Stuck in alarm while the grid comes back: go back to the grid."""
    m = BackupMachine(CONFIG, 0.0)
    m.step(_obs(False, False), 0.0)
    m.step(_obs(False, False), 1.0)
    m.step(_obs(False, False), 12.0)
    m.step(_obs(True, False), 20.0)
    actions = m.step(_obs(True, False), 80.0)
    assert actions == [MoveTransferSwitch(False)]
    actions = m.step(_obs(True, False), 81.0)
    # Backup never started (the switch never confirmed): no "ended" event either.
    assert _events(actions) == []
    assert ClearAlarm() in actions
    assert _state(m) is BackupState.GRID


def test_switch_moved_by_hand_stops_discharge() -> None:
    """Someone moves the switch back while supplying: stop at once, alarm."""
    m = BackupMachine(CONFIG, 0.0)
    m.request_start()
    m.step(_obs(True, False), 0.0)
    m.step(_obs(True, True), 1.0)
    actions = m.step(_obs(True, False), 2.0)
    assert actions == [StopSource("car"), RaiseAlarm("transfer_switch_moved")]
    assert _state(m) is BackupState.ALARM


def test_return_not_confirmed() -> None:
    """The switch does not go back: alarm; its confirmation later completes the return."""
    m = BackupMachine(CONFIG, 0.0)
    m.request_start()
    m.step(_obs(True, False), 0.0)
    m.step(_obs(True, True), 1.0)
    m.request_end()
    m.step(_obs(True, True), 2.0)
    assert m.step(_obs(True, True), 13.0) == [RaiseAlarm("transfer_switch_not_returned")]
    actions = m.step(_obs(True, False), 14.0)
    assert (EVENT_BACKUP_ENDED, "manual") in _events(actions)
    assert _state(m) is BackupState.GRID


def test_failover_then_reserve() -> None:
    """The car drops out, the battery takes over, then reaches its floor."""
    m = BackupMachine(CONFIG, 0.0)
    m.step(_obs(False, False), 0.0)
    m.step(_obs(False, False), 1.0)
    m.step(_obs(False, True), 2.0)
    gone = {
        "car": _source(available=False),
        "battery": _source(80.0, capacity_kwh=2.0, max_discharge_w=800),
    }
    actions = m.step(_obs(False, True, gone), 3.0)
    assert actions == [
        StopSource("car"),
        FireEvent(EVENT_SOURCE_FAILED, "unavailable", "car"),
        StartSource("battery", 800, 30.0),
        # 800 W cannot carry the 1500 W load: said, never silent.
        ReportShortfall("battery", 800, 1500),
    ]
    # The battery runs down while the car is still unreachable: its energy is not
    # known to be gone, so this is no reserve (no false alarm), the site keeps looking.
    empty = {"car": _source(available=False), "battery": _source(30.0, capacity_kwh=2.0)}
    actions = m.step(_obs(False, True, empty), 4.0)
    assert actions == [StopSource("battery"), ReportShortfall(None)]
    assert _state(m) is BackupState.NO_SOURCE
    # Now the car is read again, at its floor too: that is the reserve.
    drained = {"car": _source(30.0, available=True), "battery": _source(30.0, capacity_kwh=2.0)}
    actions = m.step(_obs(False, True, drained), 5.0)
    assert actions == [
        FireEvent(EVENT_PARK_REQUESTED, "reserve_reached"),
        FireEvent(EVENT_RESERVE_REACHED, "reserve"),
    ]
    empty = drained
    assert _state(m) is BackupState.RESERVE_REACHED
    assert m.active_source is None
    # The grid comes back: return after the restore delay.
    m.step(_obs(True, True, empty), 10.0)
    assert m.step(_obs(True, True, empty), 71.0) == [MoveTransferSwitch(False)]


def test_source_that_never_discharges_fails_over() -> None:
    """A source that does not start discharging within the grace time is given up."""
    m = BackupMachine(CONFIG, 0.0)
    idle = {"car": _source(discharging=False), "battery": _source(80.0, capacity_kwh=2.0)}
    m.step(_obs(False, False, idle), 0.0)
    m.step(_obs(False, False, idle), 1.0)
    m.step(_obs(False, True, idle), 2.0)
    actions = m.step(_obs(False, True, idle), 40.0)
    assert FireEvent(EVENT_SOURCE_FAILED, "not_discharging", "car") in actions
    assert StartSource("battery", 1500, 30.0) in actions


def test_all_sources_failing_waits_for_one_to_recover() -> None:
    """Every source failed: no false reserve; the car is retried once healthy again."""
    m = BackupMachine(MachineConfig(sources=("car",), recover_after_s=30.0), 0.0)
    m.step(_obs(False, False, {"car": _source()}), 0.0)
    m.step(_obs(False, False, {"car": _source()}), 1.0)
    m.step(_obs(False, True, {"car": _source()}), 2.0)
    actions = m.step(_obs(False, True, {"car": _source(available=False, healthy_s=0)}), 3.0)
    assert _events(actions) == [(EVENT_SOURCE_FAILED, "unavailable")]
    assert _state(m) is BackupState.NO_SOURCE
    # It answers again, but is trusted only after 30 s of healthy polls.
    assert m.step(_obs(False, True, {"car": _source(healthy_s=10.0)}), 13.0) == []
    actions = m.step(_obs(False, True, {"car": _source(healthy_s=30.0)}), 33.0)
    assert actions == [StartSource("car", 1500, 30.0)]
    assert _state(m) is BackupState.ON_VEHICLE_POWER


def test_no_usable_source_does_not_switch() -> None:
    """Never move the circuit to a dead side: everything at its floor at the outage."""
    m = BackupMachine(CONFIG, 0.0)
    empty = {"car": _source(20.0), "battery": _source(10.0)}
    m.step(_obs(False, False, empty), 0.0)
    actions = m.step(_obs(False, False, empty), 1.0)
    assert not any(isinstance(a, MoveTransferSwitch) for a in actions)
    assert (EVENT_RESERVE_REACHED, "no_source_available") in _events(actions)
    assert _state(m) is BackupState.RESERVE_REACHED


def test_a_site_that_never_switched_is_not_on_vehicle_power_and_needs_no_return() -> None:
    """Cars below their reserve at the cut: the circuit stays on the grid side. The site
    says so (not *on vehicle power*), and when the grid is back it sends no switch
    command: there is nothing to move back (issue 20's reserve case)."""
    m = BackupMachine(CONFIG, 0.0)
    empty = {"car": _source(25.0), "battery": _source(10.0)}
    sent: list[Action] = []
    sent += m.step(_obs(False, False, empty), 0.0)
    sent += m.step(_obs(False, False, empty), 1.0)
    assert _state(m) is BackupState.RESERVE_REACHED
    assert not m.on_vehicle_power
    # A restart keeps knowing it.
    restored = BackupMachine.restore(CONFIG, m.snapshot(), 2.0)
    assert not restored.on_vehicle_power
    for t in (10.0, 50.0, 70.0, 75.0):
        sent += m.step(_obs(True, False, empty), t)
    assert _state(m) is BackupState.GRID
    assert not any(isinstance(a, MoveTransferSwitch) for a in sent)
    assert (EVENT_BACKUP_ENDED, "grid_restored") in _events(sent)


def test_a_site_at_its_reserve_after_supplying_is_on_vehicle_power_and_returns() -> None:
    """The other reserve: the car ran down on vehicle power; the switch goes back."""
    m = BackupMachine(CONFIG, 0.0)
    low = {"car": _source(31.0), "battery": _source(10.0)}
    m.step(_obs(False, False, low), 0.0)
    m.step(_obs(False, False, low), 1.0)
    m.step(_obs(False, True, low), 2.0)
    assert _state(m) is BackupState.ON_VEHICLE_POWER
    drained = {"car": _source(30.0), "battery": _source(10.0)}
    m.step(_obs(False, True, drained), 3.0)
    assert _state(m) is BackupState.RESERVE_REACHED
    assert m.on_vehicle_power
    sent: list[Action] = []
    for t in (10.0, 50.0, 71.0):
        sent += m.step(_obs(True, True, drained), t)
    assert MoveTransferSwitch(False) in sent


def test_park_warning_before_the_energy_runs_out() -> None:
    """Low runtime left: ask the elevator to park, once."""
    m = BackupMachine(CONFIG, 0.0)
    low = {"car": _source(33.0, capacity_kwh=4.0), "battery": _source(30.0)}
    m.step(_obs(False, False, low), 0.0)
    m.step(_obs(False, False, low), 1.0)
    actions = m.step(_obs(False, True, low, load_w=1500), 2.0)
    # 3 % of 4 kWh = 120 Wh at 1.5 kW = 4.8 minutes < 10
    assert (EVENT_PARK_REQUESTED, "energy_low") in _events(actions)
    assert (EVENT_PARK_REQUESTED, "energy_low") not in _events(m.step(_obs(False, True, low), 3.0))


def test_automatic_off_waits_for_a_request() -> None:
    """With automatic backup off an outage waits; start_backup starts it."""
    m = BackupMachine(CONFIG, 0.0)
    m.step(_obs(False, False, automatic=False), 0.0)
    assert m.step(_obs(False, False, automatic=False), 5.0) == []
    assert _state(m) is BackupState.OUTAGE
    m.request_start()
    actions = m.step(_obs(False, False, automatic=False), 6.0)
    assert MoveTransferSwitch(True) in actions
    m.step(_obs(False, True, automatic=False), 7.0)
    m.step(_obs(True, True, automatic=False), 8.0)
    assert m.step(_obs(True, True, automatic=False), 68.0)[-1] == MoveTransferSwitch(False)


def test_manual_end_during_an_outage_holds_off() -> None:
    """Ending a backup by hand during an outage does not restart it automatically."""
    config = replace(CONFIG, outage_debounce_s=0.0)
    m = BackupMachine(config, 0.0)
    m.step(_obs(False, False), 0.0)
    m.step(_obs(False, True), 1.0)
    m.request_end()
    m.step(_obs(False, True), 2.0)
    actions = m.step(_obs(False, False), 3.0)
    assert (EVENT_BACKUP_ENDED, "manual") in _events(actions)
    assert _state(m) is BackupState.OUTAGE
    assert m.step(_obs(False, False), 100.0) == []
    m.step(_obs(True, False), 200.0)  # the grid returns; the next outage is handled again
    assert MoveTransferSwitch(True) in m.step(_obs(False, False), 300.0)


def test_manual_start_with_grid_present_runs_until_end() -> None:
    """A manual start while the grid is present runs until end_backup."""
    m = BackupMachine(CONFIG, 0.0)
    m.request_start()
    m.step(_obs(True, False), 0.0)
    actions = m.step(_obs(True, True), 1.0)
    assert (EVENT_BACKUP_STARTED, "manual") in _events(actions)
    assert m.step(_obs(True, True), 500.0) == []
    assert _state(m) is BackupState.ON_VEHICLE_POWER
    m.request_end()
    assert m.step(_obs(True, True), 501.0) == [MoveTransferSwitch(False)]
    m.request_end()  # ignored while returning
    assert m.step(_obs(True, True), 502.0) == []
    assert StopSource("car") in m.step(_obs(True, False), 503.0)


def test_drill_rehearses_and_returns() -> None:
    """A drill switches over with the grid present and returns after its duration."""
    m = BackupMachine(CONFIG, 0.0)
    m.request_drill(120.0)
    m.step(_obs(True, False), 0.0)
    assert m.drill
    actions = m.step(_obs(True, True), 1.0)
    assert (EVENT_BACKUP_STARTED, "drill") in _events(actions)
    assert m.step(_obs(True, True), 60.0) == []
    assert m.step(_obs(True, True), 121.0) == [MoveTransferSwitch(False)]
    actions = m.step(_obs(True, False), 122.0)
    assert actions[0] == StopSource("car")
    assert (EVENT_BACKUP_ENDED, "drill_complete") in _events(actions)


def test_drill_refused_during_outage_and_becomes_real() -> None:
    """No drill without grid; a grid loss during a drill turns it into a real backup."""
    m = BackupMachine(CONFIG, 0.0)
    m.step(_obs(False, False, automatic=False), 0.0)
    m.request_drill(60.0)
    assert m.step(_obs(False, False, automatic=False), 1.0) == []
    m2 = BackupMachine(CONFIG, 0.0)
    m2.request_drill(60.0)
    m2.step(_obs(True, False), 0.0)
    m2.step(_obs(True, True), 1.0)
    m2.step(_obs(False, True), 30.0)
    assert not m2.drill
    assert m2.step(_obs(False, True), 100.0) == []  # the drill's end does not end a real outage
    assert _state(m2) is BackupState.ON_VEHICLE_POWER


def test_snapshot_and_restore_keep_vehicle_power() -> None:
    """After a restart mid-outage the source restarts; the switch stays until stable."""
    m = BackupMachine(CONFIG, 0.0)
    m.step(_obs(False, False), 0.0)
    m.step(_obs(False, False), 1.0)
    m.step(_obs(False, True), 2.0)
    snapshot = m.snapshot()
    restored = BackupMachine.restore(CONFIG, snapshot, 1000.0)
    assert _state(restored) is BackupState.ON_VEHICLE_POWER
    unowned = {"car": _source(owned=False), "battery": _source(80.0, capacity_kwh=2.0)}
    actions = restored.step(_obs(True, True, unowned), 1000.0)
    assert actions == [StartSource("car", 1500, 30.0)]  # re-started, not switched back
    assert _state(restored) is BackupState.GRID_BACK
    assert restored.step(_obs(True, True), 1059.0) == []
    assert restored.step(_obs(True, True), 1060.0) == [MoveTransferSwitch(False)]
    actions = restored.step(_obs(True, False), 1061.0)
    assert RestoreLoad("switch.heater") in actions  # shed loads remembered across the restart


@pytest.mark.parametrize(
    ("state", "expected"),
    [("switching", MoveTransferSwitch(True)), ("returning", MoveTransferSwitch(False))],
)
def test_restore_recommands_a_moving_switch(state: str, expected: MoveTransferSwitch) -> None:
    """A restart while the switch was moving commands it again."""
    restored = BackupMachine.restore(CONFIG, {"state": state, "session": None}, 5.0)
    assert restored.step(_obs(False, None), 5.0)[0] == expected


def test_restore_of_garbage_starts_clean() -> None:
    """An unreadable snapshot starts in grid; a drill does not outlive a restart."""
    assert BackupMachine.restore(CONFIG, {"state": "bogus"}, 0.0).state is BackupState.GRID
    assert BackupMachine.restore(CONFIG, {}, 0.0).state is BackupState.GRID
    drill = BackupMachine.restore(
        CONFIG,
        {"state": "on_vehicle_power", "session": {"reason": "drill", "drill": True}},
        10.0,
    )
    actions = drill.step(_obs(True, True), 10.0)
    assert actions == [MoveTransferSwitch(False)]
    alarm = BackupMachine.restore(CONFIG, {"state": "alarm", "alarm": "x"}, 0.0)
    assert alarm.alarm == "x"


def test_runtime_helpers() -> None:
    """Energy, runtime and the building manager's wording."""
    assert energy_above_floor_kwh(60, 30, 20) == pytest.approx(6.0)
    assert energy_above_floor_kwh(None, 30, 20) is None
    assert energy_above_floor_kwh(20, 30, 20) == 0.0
    assert total_energy_kwh([1.0, None, 2.0]) == 3.0
    assert total_energy_kwh([None]) is None
    assert runtime_minutes(2.0, 1000) == 120.0
    assert runtime_minutes(2.0, 0) is None
    assert ElevatorModel().average_w == 1450.0
    assert describe_runtime(580) == "about 9 h 40 min"
    assert describe_runtime(120) == "about 2 h"
    assert describe_runtime(7.4) == "about 7 min"
    assert describe_runtime(None) is None


# -- property-based: random worlds -----------------------------------------------------


@dataclass
class World:
    """A small world the machine runs in: grid, switch, sources with physics."""

    grid: bool = True
    automatic: bool = True
    switch_on_vehicle: bool = False
    switch_works: bool = True
    pending_switch: tuple[float, bool] | None = None
    socs: dict[str, float] = field(default_factory=lambda: {"car": 50.0, "battery": 60.0})
    available: dict[str, bool] = field(default_factory=lambda: {"car": True, "battery": True})
    power: dict[str, float] = field(default_factory=lambda: {"car": 0.0, "battery": 0.0})

    def apply(self, kind: str, value: float, machine: BackupMachine) -> None:
        """One random event."""
        requests: dict[str, Callable[[], None]] = {
            "start": machine.request_start,
            "end": machine.request_end,
            "drill": lambda: machine.request_drill(value),
        }
        if kind in requests:
            requests[kind]()
        elif kind.startswith("grid_"):
            self.grid = kind == "grid_on"
        elif kind.startswith("switch_"):
            self.switch_works = kind == "switch_fixed"
        elif kind.startswith("automatic_"):
            self.automatic = kind == "automatic_on"
        else:
            name, change = kind.split("_")
            self.available[name] = change == "back"


@st.composite
def timelines(draw: st.DrawFn) -> list[tuple[float, str, object]]:
    """Random events over two simulated hours."""
    kinds = st.sampled_from(
        ["grid_off", "grid_on", "switch_breaks", "switch_fixed", "car_lost", "car_back",
         "battery_lost", "start", "end", "drill", "automatic_off", "automatic_on"]
    )  # fmt: skip
    events = draw(st.lists(st.tuples(st.floats(0, 7200), kinds, st.floats(1, 600)), max_size=25))
    return sorted(events, key=lambda event: event[0])


def _run(
    events: list[tuple[float, str, object]],
    socs: tuple[float, float],
    *,
    horizon_s: float = 7200.0,
    dt: float = 5.0,
    load_w: float = 2000.0,
    sheddable: tuple[str, ...] = ("switch.a",),
    load_restore_gap_s: float = 0.0,
    share_load: bool = False,
    peak_load_w: float = 0.0,
    running: list[tuple[float, dict[str, float]]] | None = None,
    critical: tuple[str, ...] = (),
) -> tuple[list[tuple[float, Action, Observation]], BackupMachine, list[tuple[float, bool]]]:
    config = MachineConfig(
        sources=("car", "battery"),
        sheddable_loads=sheddable,
        restore_delay_s=60.0,
        confirm_timeout_s=10.0,
        start_grace_s=30.0,
        load_restore_gap_s=load_restore_gap_s,
        share_load=share_load,
        peak_load_w=peak_load_w,
        critical_loads=critical,
        stage_critical=bool(critical),
    )
    machine = BackupMachine(config, 0.0)
    world = World(socs={"car": socs[0], "battery": socs[1]})
    grid_log: list[tuple[float, bool]] = [(0.0, True)]
    log: list[tuple[float, Action, Observation]] = []
    queue = list(events)
    t = 0.0
    while t <= horizon_s:
        while queue and queue[0][0] <= t:
            _, kind, value = queue.pop(0)
            world.apply(kind, float(value), machine)  # type: ignore[arg-type]
            if kind.startswith("grid_"):
                grid_log.append((t, world.grid))
        if world.pending_switch and world.pending_switch[0] <= t and world.switch_works:
            world.switch_on_vehicle = world.pending_switch[1]
            world.pending_switch = None
        sources = {
            name: SourceObservation(
                available=world.available[name],
                soc_pct=world.socs[name],
                floor_pct=30.0,
                capacity_kwh=40.0 if name == "car" else 2.0,
                max_discharge_w=6000 if name == "car" else 800,
                min_discharge_w=1380 if name == "car" else 0,  # a Quasar's 6 A
                discharging=world.power[name] > 0,
            )
            for name in ("car", "battery")
        }
        obs = Observation(
            world.grid,
            world.switch_on_vehicle,
            sources,
            load_w,
            world.automatic,
            load_measured=True,
        )
        for action in machine.step(obs, t):
            log.append((t, action, obs))
            if isinstance(action, MoveTransferSwitch):
                world.pending_switch = (t + 2.0, action.to_vehicle)
            elif isinstance(action, StartSource | AdjustSource):
                world.power[action.source] = action.power_w
            elif isinstance(action, StopSource):
                world.power[action.source] = 0.0
        if running is not None:
            running.append((t, {name: p for name, p in world.power.items() if p > 0}))
        if obs.switch_on_vehicle is False:
            # Nothing keeps discharging once the circuit is seen on the grid side.
            assert not any(world.power.values()), (t, world.power)
        for name in ("car", "battery"):
            capacity = 40.0 if name == "car" else 2.0
            world.socs[name] -= world.power[name] * dt / 3600.0 / 1000.0 / capacity * 100.0
        t += dt
    return log, machine, grid_log


CONFIG_MIN_POWER_W = MachineConfig(sources=()).min_power_w


def _grid_present_since(grid_log: list[tuple[float, bool]], t: float) -> float | None:
    """When the grid last became present before t (None if absent at t)."""
    since = None
    for when, present in grid_log:
        if when > t:
            break
        since = when if present else None
    return since


@settings(max_examples=150, deadline=None)
@given(
    events=timelines(),
    socs=st.tuples(st.floats(0, 100), st.floats(0, 100)),
    load_w=st.floats(0, 8000),
    share=st.booleans(),
    peak=st.sampled_from([0.0, 7000.0]),
)
def test_safety_invariants(
    events: list[tuple[float, str, object]],
    socs: tuple[float, float],
    load_w: float,
    share: bool,
    peak: float,
) -> None:
    """For any sequence of outages, faults and requests, the safety rules hold."""
    running: list[tuple[float, dict[str, float]]] = []
    log, machine, grid_log = _run(
        events, socs, load_w=load_w, share_load=share, peak_load_w=peak, running=running
    )
    deadband = MachineConfig(sources=()).load_deadband_w
    minimum = {"car": 1380, "battery": 500}
    for t, powers in running:
        # Alone unless sharing; sharing, together no more than the load (or what their
        # minimums make them give), give or take the deadband each.
        assert share or len(powers) <= 1, (t, powers)
        floor = sum(minimum[name] for name in powers)
        assert sum(powers.values()) <= max(load_w, floor) + deadband * len(powers), (t, powers)
    manual_or_drill = any(kind in ("start", "end", "drill") for _, kind, _ in events)
    active: set[str] = set()
    for t, action, obs in log:
        if isinstance(action, StartSource | AdjustSource):
            # A power the source runs at: from its minimum (or the site's) to its maximum.
            seen = obs.sources[action.source]
            least = min(max(seen.min_discharge_w, CONFIG_MIN_POWER_W), seen.max_discharge_w)
            assert least <= action.power_w <= seen.max_discharge_w
        if isinstance(action, StartSource):
            seen = obs.sources[action.source]
            # Never start into an unswitched circuit, never at or below the floor.
            assert obs.switch_on_vehicle is True
            assert seen.soc_pct is None or seen.soc_pct > action.floor_pct
            assert seen.available
            active.add(action.source)
        elif isinstance(action, AdjustSource):
            assert obs.switch_on_vehicle is True
            assert action.source in active
        elif isinstance(action, StopSource):
            active.discard(action.source)
        elif (
            isinstance(action, MoveTransferSwitch)
            and not action.to_vehicle
            and not manual_or_drill
            and obs.grid_available
        ):
            since = _grid_present_since(grid_log, t)
            assert since is not None
            assert t - since >= 60.0  # no chatter: the grid stayed for the restore delay
    # "Ended" only closes a session that started or hit the reserve.
    fired = [a.event for _, a, _ in log if isinstance(a, FireEvent)]
    assert fired.count(EVENT_BACKUP_ENDED) <= fired.count(EVENT_BACKUP_STARTED) + fired.count(
        EVENT_RESERVE_REACHED
    )
    # Every source still running belongs to a site on vehicle power.
    if active:
        assert machine.on_vehicle_power or machine.state in (
            BackupState.ALARM,
            BackupState.RETURNING,  # the source supplies until the switch has moved
        )


@settings(max_examples=100, deadline=None)
@given(
    events=timelines(),
    socs=st.tuples(st.floats(31, 100), st.floats(31, 100)),
    gap=st.sampled_from([5.0, 10.0, 30.0]),
)
def test_staged_restore_never_onto_vehicle_power(
    events: list[tuple[float, str, object]], socs: tuple[float, float], gap: float
) -> None:
    """Shed loads come back only with the circuit on the grid side, one per gap at most,
    each at most once per time it was shed; and the safety rules hold as ever."""
    loads = ("switch.a", "switch.b", "switch.c")
    log, _, _ = _run(events, socs, sheddable=loads, load_restore_gap_s=gap)
    last_restore: float | None = None
    off: set[str] = set()
    for t, action, obs in log:
        if isinstance(action, ShedLoad):
            off.add(action.entity_id)
            last_restore = None  # a new session: its own first load comes back at once
        elif isinstance(action, RestoreLoad):
            assert obs.switch_on_vehicle is not True
            assert action.entity_id in off
            off.discard(action.entity_id)
            if last_restore is not None and obs.grid_available:
                assert t - last_restore >= gap - 1e-9
            last_restore = t


@settings(max_examples=100, deadline=None)
@given(
    events=timelines(),
    socs=st.tuples(st.floats(31, 100), st.floats(31, 100)),
    gap=st.sampled_from([5.0, 10.0, 30.0]),
    load_w=st.floats(0, 8000),
)
def test_critical_loads_come_back_on_vehicle_power_only_as_the_rules_allow(
    events: list[tuple[float, str, object]], socs: tuple[float, float], gap: float, load_w: float
) -> None:
    """On vehicle power only critical loads come back: a gap apart, never while the sources
    fall short, never one left off for tripping the supply; the sheddable one never."""
    critical = ("switch.c1", "switch.c2", "switch.c3")
    log, _, _ = _run(events, socs, load_restore_gap_s=gap, load_w=load_w, critical=critical)
    last: float | None = None
    short = False
    left_off: set[str] = set()
    for t, action, obs in log:
        if isinstance(action, ShedLoad) and action.entity_id == "switch.a":
            last, left_off = None, set()  # a new outage
        elif isinstance(action, ReportShortfall):
            short = action.source is not None
        elif isinstance(action, ReportLoadLeftOff) and action.entity_id is not None:
            left_off.add(action.entity_id)
        elif isinstance(action, RestoreLoad) and obs.switch_on_vehicle is True:
            assert action.entity_id in critical
            assert action.entity_id not in left_off
            assert not short
            assert last is None or t - last >= gap - 1e-9
            last = t


@settings(max_examples=100, deadline=None)
@given(
    outage_at=st.floats(0, 600),
    socs=st.tuples(st.floats(31, 100), st.floats(31, 100)),
    failures=st.lists(st.sampled_from(["car_lost", "battery_lost"]), max_size=2),
)
def test_every_endless_outage_ends_at_the_reserve(
    outage_at: float, socs: tuple[float, float], failures: list[str]
) -> None:
    """With no grid for ever the sources run down and the outage ends at the reserve."""
    events: list[tuple[float, str, object]] = [(outage_at, "grid_off", 0.0)]
    events += [(outage_at + 100 * (i + 1), kind, 0.0) for i, kind in enumerate(failures)]
    # 6 kW from 40 kWh (at most 70 % above the 30 % floor, < 5 h), then 800 W from 2 kWh.
    log, machine, _ = _run(events, socs, horizon_s=30_000.0, dt=20.0, load_w=6000.0)
    started = [a for _, a, _ in log if isinstance(a, FireEvent) and a.event == EVENT_BACKUP_STARTED]
    reserve = [
        a for _, a, _ in log if isinstance(a, FireEvent) and a.event == EVENT_RESERVE_REACHED
    ]
    assert started
    parks = [a for _, a, _ in log if isinstance(a, FireEvent) and a.event == EVENT_PARK_REQUESTED]
    if failures:
        # A source that was lost is not known to be empty: no reserve, no false alarm
        # (the park request comes only from the energy left in the sources still read).
        assert machine.state is BackupState.NO_SOURCE
        assert not reserve
        assert len(parks) <= 1
    else:
        assert machine.state is BackupState.RESERVE_REACHED
        assert len(reserve) == 1
        assert len(parks) == 1


def test_next_deadline() -> None:
    """The machine says when a timer is due next."""
    m = BackupMachine(CONFIG, 0.0)
    assert m.next_deadline() is None
    m.step(_obs(True, False), 0.0)
    assert m.next_deadline() == 60.0  # restore delay counted from the first grid sighting
    m.step(_obs(False, False), 100.0)
    assert m.next_deadline() == 100.5  # the outage debounce
    m.step(_obs(False, False), 100.5)
    assert m.next_deadline() == 110.5  # the switch confirmation timeout
    m.step(_obs(False, True), 101.0)
    assert m.next_deadline() == 131.0  # the source's start grace
    m3 = BackupMachine(CONFIG, 0.0)
    m3.step(_obs(False, False), 0.0)
    assert m3.next_deadline() == 0.5  # the debounce, then the start-up wait
    m3.step(_obs(False, False), 0.5)
    m3.step(_obs(False, True), 0.6)
    assert m3.next_deadline() == 15.0
    m2 = BackupMachine(CONFIG, -100.0)
    m2.request_drill(30.0)
    m2.step(_obs(True, False), 0.0)
    m2.step(_obs(True, True), 1.0)
    assert m2.next_deadline() == 30.0  # the drill's end


# -- restarts, first readings, flaky sources ----------------------------------------


def _supplying_from_car(config: MachineConfig = CONFIG) -> BackupMachine:
    m = BackupMachine(config, -100.0)
    m.step(_obs(False, False), 0.0)
    m.step(_obs(False, False), 1.0)
    m.step(_obs(False, True), 2.0)
    assert m.active_source == "car"
    return m


def test_restart_readopts_the_source_that_was_supplying() -> None:
    """After a restart the car is taken over again once read; nothing else is started."""
    before = _supplying_from_car()
    snapshot = before.snapshot()
    assert snapshot["session"]["active"] == "car"
    m = BackupMachine.restore(CONFIG, snapshot, 500.0)
    unread = {
        "car": _source(available=False, known=False),
        "battery": _source(80.0, capacity_kwh=2.0, max_discharge_w=800),
    }
    # The car is not read yet: no verdict, no fallback, no false alarm.
    assert m.step(_obs(False, True, unread), 500.1) == []
    assert m.active_source == "car"
    # Its first reading arrives (still discharging, unowned): taken over.
    unowned = {
        "car": _source(owned=False),
        "battery": _source(80.0, capacity_kwh=2.0, max_discharge_w=800),
    }
    actions = m.step(_obs(False, True, unowned), 501.0)
    assert actions == [StartSource("car", 1500, 30.0)]
    assert _state(m) is BackupState.ON_VEHICLE_POWER
    assert m.step(_obs(False, True), 502.0) == []


def test_restart_car_stopped_by_its_watchdog_is_restarted() -> None:
    """A car its watchdog stopped during the downtime is started again, not failed."""
    m = BackupMachine.restore(CONFIG, _supplying_from_car().snapshot(), 500.0)
    stopped = {
        "car": _source(discharging=False, owned=False),
        "battery": _source(80.0, capacity_kwh=2.0),
    }
    assert m.step(_obs(False, True, stopped), 501.0) == [StartSource("car", 1500, 30.0)]


def test_restart_car_found_at_its_floor_hands_over() -> None:
    """A car that crossed its floor during the downtime is stopped; the battery takes over."""
    m = BackupMachine.restore(CONFIG, _supplying_from_car().snapshot(), 500.0)
    low = {
        "car": _source(29.9),
        "battery": _source(80.0, capacity_kwh=2.0, max_discharge_w=2000),
    }
    assert m.step(_obs(False, True, low), 501.0) == [
        StopSource("car"),
        StartSource("battery", 1500, 30.0),
    ]


def test_restart_waits_for_the_preferred_source_then_gives_up_on_it() -> None:
    """A preferred source not read yet holds back the fallback, for the start-up wait only."""
    m = BackupMachine(CONFIG, 0.0)
    unread = {
        "car": _source(available=False, known=False),
        "battery": _source(80.0, capacity_kwh=2.0, max_discharge_w=2000),
    }
    m.step(_obs(False, False, unread), 0.0)
    actions = m.step(_obs(False, False, unread), 1.0)
    assert actions[0] == MoveTransferSwitch(True)  # the battery could supply
    assert not any(isinstance(a, StartSource) for a in m.step(_obs(False, True, unread), 2.0))
    assert m.next_deadline() == 15.0
    # Never read within the wait: the battery supplies; no failure event for the car.
    actions = m.step(_obs(False, True, unread), 15.0)
    assert actions == [StartSource("battery", 1500, 30.0)]
    # The car shows up later, healthy: after the recovery time it takes over.
    late = {"car": _source(healthy_s=10.0), "battery": _source(80.0, capacity_kwh=2.0)}
    assert m.step(_obs(False, True, late), 30.0) == []
    late = {"car": _source(healthy_s=31.0), "battery": _source(80.0, capacity_kwh=2.0)}
    assert m.step(_obs(False, True, late), 51.0) == [
        StopSource("battery"),
        StartSource("car", 1500, 30.0),
    ]


def test_preferred_source_back_with_hysteresis() -> None:
    """The car fails, the battery takes over; the car is back only after 30 s healthy."""
    m = _supplying_from_car()
    lost = {
        "car": _source(available=False, healthy_s=0.0),
        "battery": _source(80.0, capacity_kwh=2.0, max_discharge_w=2000),
    }
    actions = m.step(_obs(False, True, lost), 3.0)
    assert StartSource("battery", 1500, 30.0) in actions
    flapping = {
        "car": _source(healthy_s=5.0),
        "battery": _source(80.0, capacity_kwh=2.0, max_discharge_w=2000),
    }
    assert m.step(_obs(False, True, flapping), 20.0) == []
    assert m.active_source == "battery"
    healthy = {
        "car": _source(healthy_s=30.0),
        "battery": _source(80.0, capacity_kwh=2.0, max_discharge_w=2000),
    }
    # Healthy for 30 s, but failed only 27 s ago: still not.
    assert m.step(_obs(False, True, healthy), 30.0) == []
    assert m.step(_obs(False, True, healthy), 33.0) == [
        StopSource("battery"),
        StartSource("car", 1500, 30.0),
    ]


def test_shortfall_said_and_cleared() -> None:
    """A source that cannot carry the load is reported once, and cleared when it can."""
    small = {"car": _source(max_discharge_w=1000), "battery": _source(80.0, capacity_kwh=2.0)}
    m = BackupMachine(CONFIG, -100.0)
    m.step(_obs(False, False, small, load_w=1500.0), 0.0)
    m.step(_obs(False, False, small, load_w=1500.0), 1.0)
    actions = m.step(_obs(False, True, small, load_w=1500.0), 2.0)
    assert actions == [
        FireEvent(EVENT_BACKUP_STARTED, "grid_lost"),
        StartSource("car", 1000, 30.0),
        ReportShortfall("car", 1000, 1500),
    ]
    assert m.step(_obs(False, True, small, load_w=1500.0), 3.0) == []
    assert m.step(_obs(False, True, small, load_w=900.0), 4.0) == [
        AdjustSource("car", 900),
        ReportShortfall(None),
    ]


def test_a_source_is_never_asked_less_than_it_runs_at() -> None:
    """A charger with a minimum (a Quasar's 1380 W) supplies a small load at that minimum.

    The site's own floor (500 W) is below it; the load, when it grows past it, is followed.
    """
    quasar = {"car": _source(min_discharge_w=1380), "battery": _source(80.0, capacity_kwh=2.0)}
    m = BackupMachine(CONFIG, -100.0)
    m.step(_obs(False, False, quasar, load_w=600.0), 0.0)
    m.step(_obs(False, False, quasar, load_w=600.0), 1.0)
    actions = m.step(_obs(False, True, quasar, load_w=600.0), 2.0)
    assert StartSource("car", 1380, 30.0) in actions
    assert m.step(_obs(False, True, quasar, load_w=900.0), 3.0) == []
    assert m.step(_obs(False, True, quasar, load_w=2500.0), 4.0) == [AdjustSource("car", 2500)]
    assert m.step(_obs(False, True, quasar, load_w=700.0), 5.0) == [AdjustSource("car", 1380)]


def test_snapshot_from_before_ownership_was_stored_restores() -> None:
    """A snapshot written by an older version (no active source) still restores safely."""
    old = {
        "state": "on_vehicle_power",
        "alarm": None,
        "session": {"reason": "grid_lost", "given_up": ["battery"], "shed": ["switch.heater"]},
    }
    m = BackupMachine.restore(CONFIG, old, 0.0)
    assert m.active_source is None
    actions = m.step(_obs(False, True), 1.0)
    assert actions == [StartSource("car", 1500, 30.0)]


# -- property: restarts and flaky sources at random moments ---------------------------


@dataclass
class FlakyWorld:
    """Sources that stop answering for a while; Home Assistant restarts at random."""

    socs: dict[str, float]
    down_until: dict[str, float] = field(default_factory=dict)
    healthy_since: dict[str, float] = field(default_factory=dict)
    unread_until: dict[str, float] = field(default_factory=dict)
    power: dict[str, float] = field(default_factory=dict)


@settings(max_examples=150, deadline=None)
@given(
    socs=st.tuples(st.floats(20, 100), st.floats(20, 100)),
    outage=st.tuples(st.floats(0, 300), st.floats(300, 4000)),
    restarts=st.lists(st.floats(0, 4000), max_size=4),
    drops=st.lists(
        st.tuples(st.sampled_from(["car", "battery"]), st.floats(0, 4000), st.floats(1, 120)),
        max_size=5,
    ),
)
def test_invariants_through_restarts_and_flaky_sources(
    socs: tuple[float, float],
    outage: tuple[float, float],
    restarts: list[float],
    drops: list[tuple[str, float, float]],
) -> None:
    """Whatever restarts and drop-outs happen: never below a floor, never a source
    unread or unreachable started, never two sources at once, never a false reserve."""
    config = MachineConfig(
        sources=("car", "battery"), restore_delay_s=60.0, start_grace_s=30.0,
        startup_wait_s=15.0, recover_after_s=30.0,
    )  # fmt: skip
    world = FlakyWorld(socs={"car": socs[0], "battery": socs[1]})
    for name in ("car", "battery"):
        world.healthy_since[name] = 0.0
        world.power[name] = 0.0
    machine = BackupMachine(config, 0.0)
    pending_restarts = sorted(restarts)
    t, dt = 0.0, 2.0
    reserve_events = 0
    while t <= 4500.0:
        if pending_restarts and pending_restarts[0] <= t:
            pending_restarts.pop(0)
            machine = BackupMachine.restore(config, machine.snapshot(), t)
            for name in ("car", "battery"):
                world.unread_until[name] = t + 3.0  # first polls after the restart
        sources = _flaky_sources(world, drops, t)
        grid = not (outage[0] <= t < outage[1])
        obs = Observation(grid, machine.on_vehicle_power, sources, 700.0)
        for action in machine.step(obs, t):
            reserve_events += _carry_out(world, action, sources)
        running = [name for name, p in world.power.items() if p > 0]
        assert len(running) <= 1
        if running:
            assert machine.active_source == running[0]
        for name in ("car", "battery"):
            capacity = 40.0 if name == "car" else 2.0
            if world.power[name] > 0:
                world.socs[name] -= world.power[name] * dt / 3600.0 / 1000.0 / capacity * 100.0
                # Never far below the floor: stopped on the first reading at or below it.
                assert world.socs[name] > 30.0 - 1.0
        t += dt
    assert reserve_events <= 1


def _flaky_sources(
    world: FlakyWorld, drops: list[tuple[str, float, float]], t: float
) -> dict[str, SourceObservation]:
    for name, start, length in drops:
        if start <= t < start + length:
            world.down_until[name] = start + length
            world.healthy_since[name] = start + length
    sources = {}
    for name in ("car", "battery"):
        known = t >= world.unread_until.get(name, 0.0)
        up = t >= world.down_until.get(name, 0.0)
        sources[name] = SourceObservation(
            available=known and up,
            soc_pct=world.socs[name],
            floor_pct=30.0,
            capacity_kwh=40.0 if name == "car" else 2.0,
            max_discharge_w=6000 if name == "car" else 800,
            discharging=world.power[name] > 0,
            known=known,
            healthy_s=max(0.0, t - world.healthy_since[name]) if up else 0.0,
        )
    return sources


def _carry_out(world: FlakyWorld, action: Action, sources: dict[str, SourceObservation]) -> int:
    """Apply one action to the world and check it; 1 for a reserve event."""
    if isinstance(action, StartSource):
        seen = sources[action.source]
        assert seen.known
        assert seen.available
        assert seen.soc_pct is not None
        assert seen.soc_pct > action.floor_pct
        world.power[action.source] = action.power_w
    elif isinstance(action, StopSource):
        world.power[action.source] = 0.0
    elif isinstance(action, FireEvent) and action.event == EVENT_RESERVE_REACHED:
        # Only when every source is read and at its floor.
        assert all(s.known and s.at_floor for s in sources.values())
        return 1
    return 0


def test_takeover_keeps_the_power_until_the_load_is_read() -> None:
    """After a restart the load sensor has no reading yet: the car keeps its power."""
    before = BackupMachine(CONFIG, -100.0)
    before.step(_obs(False, False, load_w=2500.0), 0.0)
    before.step(_obs(False, False, load_w=2500.0), 1.0)
    before.step(_obs(False, True, load_w=2500.0), 2.0)
    m = BackupMachine.restore(CONFIG, before.snapshot(), 500.0)
    unowned = {"car": _source(owned=False), "battery": _source(80.0, capacity_kwh=2.0)}
    unread = Observation(False, True, unowned, 1000.0, load_known=False)
    actions = m.step(unread, 501.0)
    assert actions == [StartSource("car", 2500, 30.0)]  # not the 1000 W estimate
    assert m.step(unread, 502.0) == []  # no adjustment to the estimate either
    actions = m.step(_obs(False, True, load_w=1800.0), 503.0)
    assert actions == [AdjustSource("car", 1800)]


def test_a_fallback_short_of_power_hands_back_sooner() -> None:
    """The battery cannot carry the load: the car, healthy again, takes over after 5 s."""
    m = _supplying_from_car()
    lost = {"car": _source(available=False, healthy_s=0.0), "battery": _source(80.0)}
    small = dict(lost, battery=_source(80.0, capacity_kwh=2.0, max_discharge_w=800))
    actions = m.step(_obs(False, True, small), 3.0)
    assert ReportShortfall("battery", 800, 1500) in actions
    back = dict(small, car=_source(healthy_s=5.0))
    assert m.step(_obs(False, True, back), 7.0) == []  # failed only 4 s ago
    actions = m.step(_obs(False, True, back), 8.0)
    assert actions[:2] == [StopSource("battery"), StartSource("car", 1500, 30.0)]


def test_a_restored_source_without_any_soc_is_not_waited_for() -> None:
    """Taken over after a restart, idle and with no SoC to go by: the battery supplies."""
    m = BackupMachine.restore(CONFIG, _supplying_from_car().snapshot(), 500.0)
    blind = {
        "car": _source(None, discharging=False),
        "battery": _source(80.0, capacity_kwh=2.0, max_discharge_w=2000),
    }
    actions = m.step(_obs(False, True, blind), 501.0)
    assert actions == [
        StopSource("car"),
        FireEvent(EVENT_SOURCE_FAILED, "unavailable", "car"),
        StartSource("battery", 1500, 30.0),
    ]


def test_takeover_waits_for_the_switch_position_and_a_lost_session_is_retaken() -> None:
    """The car answers before the switch's position entity: no take-over into an
    unknown circuit, and none forgotten either; a session lost later is re-taken."""
    m = BackupMachine.restore(CONFIG, _supplying_from_car().snapshot(), 500.0)
    stopped = {
        "car": _source(discharging=False, owned=False),
        "battery": _source(80.0, capacity_kwh=2.0),
    }
    assert m.step(_obs(False, None, stopped), 501.0) == []
    assert m.step(_obs(False, True, stopped), 502.0) == [StartSource("car", 1500, 30.0)]
    running = dict(stopped, car=_source())
    assert m.step(_obs(False, True, running), 503.0) == []
    lost = dict(stopped, car=_source(owned=False))
    assert m.step(_obs(False, True, lost), 503.5) == []  # asked 1.5 s ago: give it time
    assert m.step(_obs(False, True, lost), 504.5) == [StartSource("car", 1500, 30.0)]
