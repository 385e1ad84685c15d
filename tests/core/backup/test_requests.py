"""When a backup request (start, end, drill) is refused, and with which reason."""

from __future__ import annotations

import pytest

from custom_components.v2x.backup.machine import BackupState
from custom_components.v2x.backup.requests import drill_refusal, end_refusal, start_refusal


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
