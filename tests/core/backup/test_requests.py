"""When a backup request (start, end, drill) is refused, and with which reason."""

from __future__ import annotations

import pytest

from custom_components.v2x.backup.machine import (
    BackupMachine,
    BackupState,
    MachineConfig,
    MoveTransferSwitch,
    Observation,
    SourceObservation,
)
from custom_components.v2x.backup.requests import (
    NOTHING_SEEN,
    RequestKind,
    drill_refusal,
    end_refusal,
    request_refusal,
    start_refusal,
    submit,
)


def _never() -> bool:
    raise AssertionError("the sources are not asked when the state already refuses")


@pytest.mark.parametrize("state", [BackupState.GRID, BackupState.OUTAGE])
def test_start(state: BackupState) -> None:
    assert start_refusal(state, lambda: True) is None
    assert start_refusal(state, lambda: False) == "no_usable_source"


@pytest.mark.parametrize(
    "state", [s for s in BackupState if s not in (BackupState.GRID, BackupState.OUTAGE)]
)
def test_start_while_busy(state: BackupState) -> None:
    assert start_refusal(state, _never) == "backup_busy"


@pytest.mark.parametrize("state", list(BackupState))
def test_end(state: BackupState) -> None:
    idle = state in (BackupState.GRID, BackupState.OUTAGE, BackupState.RETURNING)
    assert end_refusal(state) == ("not_on_backup" if idle else None)


def test_drill() -> None:
    assert drill_refusal(True, BackupState.GRID, lambda: True) is None
    assert drill_refusal(True, BackupState.GRID, lambda: False) == "no_usable_source"
    assert drill_refusal(False, BackupState.GRID, _never) == "drill_needs_grid"
    assert drill_refusal(None, BackupState.GRID, _never) == "drill_needs_grid"
    assert drill_refusal(True, BackupState.ON_VEHICLE_POWER, _never) == "backup_busy"
    assert drill_refusal(False, BackupState.OUTAGE, _never) == "drill_needs_grid"


def test_each_kind_is_judged_by_its_rule() -> None:
    # A start and an end on the machine's state; a drill on what the person saw.
    seen_outage = (False, BackupState.OUTAGE)
    assert request_refusal("start", BackupState.GRID, lambda: True, seen_outage) is None
    assert request_refusal("end", BackupState.GRID, _never, seen_outage) == "not_on_backup"
    assert request_refusal("drill", BackupState.GRID, _never, seen_outage) == "drill_needs_grid"
    assert request_refusal("drill", BackupState.OUTAGE, lambda: True, NOTHING_SEEN) is None


CAR = SourceObservation(
    available=True, soc_pct=60.0, floor_pct=30.0, capacity_kwh=40.0, max_discharge_w=6000
)
ON_GRID = Observation(
    grid_available=True, switch_on_vehicle=False, sources={"car": CAR}, load_w=1000.0
)


@pytest.mark.parametrize(("kind", "drill"), [("start", False), ("drill", True)])
def test_an_accepted_request_reaches_the_machine(kind: RequestKind, drill: bool) -> None:
    machine = BackupMachine(MachineConfig(sources=("car",)), 0.0)
    submit(machine, kind, 120.0)
    actions = machine.step(ON_GRID, 0.0)
    assert MoveTransferSwitch(True) in actions  # the switchover begins
    assert machine.drill is drill
    submit(machine, "end")
    assert MoveTransferSwitch(False) in machine.step(ON_GRID, 1.0)
