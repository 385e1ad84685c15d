"""The drill report: each step of a rehearsed switchover, timed (pure)."""

from __future__ import annotations

from custom_components.v2x.backup.drill import DrillTimeline
from custom_components.v2x.backup.machine import BackupState, Observation, SourceObservation


def _obs(switch: bool | None, discharging: bool = False) -> Observation:
    car = SourceObservation(available=True, soc_pct=80.0, floor_pct=30.0, discharging=discharging)
    return Observation(True, switch, {"car": car}, 1000.0, True)


def test_a_drill_is_timed_step_by_step() -> None:
    drill = DrillTimeline(requested_at=100.0)
    steps = [
        (100.0, BackupState.GRID, None, _obs(False)),  # asked, not yet stepped
        (100.1, BackupState.SWITCHING, None, _obs(False)),
        (100.6, BackupState.ON_VEHICLE_POWER, "car", _obs(True)),
        (101.4, BackupState.ON_VEHICLE_POWER, "car", _obs(True, discharging=True)),
        (160.0, BackupState.RETURNING, "car", _obs(False, discharging=True)),
    ]
    for now, state, active, observation in steps:
        assert not drill.note(state, active, None, observation, now)
    assert drill.note(BackupState.GRID, None, None, _obs(False), 161.0)
    assert drill.report("Leaf", 161.0) == {
        "switch_s": 0.6,
        "supplying_s": 0.6,
        "discharging_s": 1.4,
        "duration_s": 61.0,
        "source": "Leaf",
        "alarm": None,
        "passed": True,
    }


def test_a_drill_that_never_switched_says_so() -> None:
    drill = DrillTimeline(requested_at=0.0)
    assert not drill.note(BackupState.SWITCHING, None, None, _obs(False), 0.1)
    alarm = "transfer_switch_not_confirmed"
    assert not drill.note(BackupState.ALARM, None, alarm, _obs(False), 10.2)
    assert drill.note(BackupState.GRID, None, None, _obs(False), 12.0)
    report = drill.report(None, 12.0)
    assert report["alarm"] == alarm
    assert report["passed"] is False
    assert (report["switch_s"], report["supplying_s"], report["discharging_s"]) == (None,) * 3


def test_not_over_before_it_started() -> None:
    """The step right after the request still sees the grid state: not the end."""
    drill = DrillTimeline(requested_at=0.0)
    assert not drill.note(BackupState.GRID, None, None, _obs(False), 0.0)
