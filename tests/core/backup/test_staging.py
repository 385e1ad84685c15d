"""Critical loads back one by one after switchover, and a load that trips the supply."""

from __future__ import annotations

from dataclasses import replace

from custom_components.v2x.backup.machine import (
    Action,
    BackupMachine,
    BackupState,
    MachineConfig,
    MoveTransferSwitch,
    Observation,
    ReportLoadLeftOff,
    ReportShortfall,
    RestoreLoad,
    ShedLoad,
    SourceObservation,
    StartSource,
)

from .observations import BATTERY, CAR

CONFIG = MachineConfig(
    sources=("car", "battery"),
    sheddable_loads=("switch.heater",),
    critical_loads=("switch.elevator", "switch.lights", "switch.pump"),
    stage_critical=True,
    load_restore_gap_s=2.0,
    restore_delay_s=60.0,
    recover_after_s=30.0,
)


def _obs(
    grid: bool, switch: bool, load_w: float = 1500.0, **changed: SourceObservation
) -> Observation:
    sources = {"car": CAR, "battery": BATTERY} | changed
    return Observation(grid, switch, sources, load_w, load_measured=True)


def _loads(actions: list[Action]) -> list[tuple[str, str]]:
    out = []
    for action in actions:
        if isinstance(action, ShedLoad):
            out.append(("off", action.entity_id))
        elif isinstance(action, RestoreLoad):
            out.append(("on", action.entity_id))
    return out


def _switched_over(config: MachineConfig = CONFIG) -> tuple[BackupMachine, list[Action]]:
    machine = BackupMachine(config, 0.0)
    machine.step(_obs(True, False), 0.0)
    cut = machine.step(_obs(False, False), 1.0)
    cut += machine.step(_obs(False, False), 2.0)
    return machine, cut


def test_critical_loads_go_off_with_the_rest_and_come_back_one_by_one() -> None:
    machine, cut = _switched_over()
    assert ReportLoadLeftOff(None) in cut  # a new outage: every load a new chance
    assert _loads(cut) == [
        ("off", "switch.heater"),
        ("off", "switch.elevator"),
        ("off", "switch.lights"),
        ("off", "switch.pump"),
    ]
    # The switch confirms: the car starts and the first critical load comes back with it.
    first = machine.step(_obs(False, True), 2.5)
    kinds = [type(a) for a in first]
    assert kinds.index(StartSource) < kinds.index(RestoreLoad)
    assert _loads(first) == [("on", "switch.elevator")]
    assert _loads(machine.step(_obs(False, True), 4.0)) == []  # the gap is 2 s
    # Not discharging yet: the next one waits for the supply.
    idle = replace(CAR, discharging=False)
    assert _loads(machine.step(_obs(False, True, car=idle), 4.6)) == []
    assert machine.next_deadline() is not None
    assert _loads(machine.step(_obs(False, True), 4.7)) == [("on", "switch.lights")]
    assert _loads(machine.step(_obs(False, True), 6.7)) == [("on", "switch.pump")]
    assert _loads(machine.step(_obs(False, True), 20.0)) == []  # the heater stays off
    assert machine.state is BackupState.ON_VEHICLE_POWER


def test_no_load_comes_back_while_the_sources_fall_short() -> None:
    machine, _ = _switched_over()
    machine.step(_obs(False, True), 2.5)  # the elevator back
    short = machine.step(_obs(False, True, load_w=7000.0), 5.0)
    assert ReportShortfall("car", 6000, 7000) in short
    assert _loads(short) == []
    assert _loads(machine.step(_obs(False, True, load_w=7000.0), 9.0)) == []
    # The site's load model (no sensor) counts every load as on: it holds nothing back.
    modelled = replace(_obs(False, True, load_w=7000.0), load_measured=False)
    assert _loads(machine.step(modelled, 9.5)) == [("on", "switch.lights")]


def test_a_load_that_trips_the_supply_three_times_is_left_off() -> None:
    config = replace(CONFIG, critical_loads=("switch.elevator",), recover_after_s=0.0)
    machine, _ = _switched_over(config)
    lost = replace(CAR, available=False)
    now = 2.5
    back = machine.step(_obs(False, True), now)
    for trip in (1, 2, 3):
        assert ("on", "switch.elevator") in _loads(back), trip
        # The car drops out 1 s later: the elevator tripped it. Off again.
        tripped = machine.step(_obs(False, True, car=lost), now + 1.0)
        assert ("off", "switch.elevator") in _loads(tripped)
        if trip < 3:
            assert not [a for a in tripped if isinstance(a, ReportLoadLeftOff)]
        # The car is back a second later; the elevator is tried again the gap after the trip.
        assert _loads(machine.step(_obs(False, True), now + 2.0)) == []
        now += 3.0
        back = machine.step(_obs(False, True), now)
    assert ReportLoadLeftOff("switch.elevator", 3) in tripped
    assert _loads(machine.step(_obs(False, True), now + 10.0)) == []  # left off
    # On the grid it comes back (it tripped the cars, not the grid).
    machine.step(_obs(True, True), now + 11.0)
    returning = machine.step(_obs(True, True), now + 72.0)
    assert MoveTransferSwitch(False) in returning
    assert _loads(machine.step(_obs(True, False), now + 73.0)) == [("on", "switch.elevator")]
    assert _loads(machine.step(_obs(True, False), now + 75.0)) == [("on", "switch.heater")]


def test_a_failure_long_after_a_load_came_back_is_no_trip() -> None:
    machine, _ = _switched_over(replace(CONFIG, critical_loads=("switch.elevator",)))
    machine.step(_obs(False, True), 2.5)
    later = machine.step(_obs(False, True, car=replace(CAR, available=False)), 30.0)
    assert _loads(later) == []


def test_staging_survives_a_restart() -> None:
    machine, _ = _switched_over()
    machine.step(_obs(False, True), 2.5)  # the elevator back, two to go
    snapshot = machine.snapshot()
    assert snapshot["session"]["staged"] == ["switch.lights", "switch.pump"]
    again = BackupMachine.restore(CONFIG, snapshot, 100.0)
    first = again.step(_obs(False, True), 100.0)
    assert _loads(first) == [("on", "switch.lights")]
    # Back on the grid later: what is still off comes back, critical ones first.
    snapshot = again.snapshot()
    tripped = {**snapshot["session"], "trips": {"switch.pump": 2, "gone": 1}}
    restored = BackupMachine.restore(CONFIG, {**snapshot, "session": tripped}, 200.0)
    assert restored.snapshot()["session"]["trips"] == {"switch.pump": 2}


def test_without_staging_critical_loads_stay_on() -> None:
    machine, cut = _switched_over(replace(CONFIG, stage_critical=False))
    assert _loads(cut) == [("off", "switch.heater")]
    assert not [a for a in cut if isinstance(a, ReportLoadLeftOff)]
    assert _loads(machine.step(_obs(False, True), 2.5)) == []
