"""When a person's or an automation's backup request is refused, as pure rules.

Each rule returns the translation key of the reason, or None when the request may go
to the machine. ``usable`` says whether any source could supply the site now; it is
asked last, only when nothing else refuses the request. No Home Assistant imports.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from .machine import BackupState

STARTABLE: Final = frozenset({BackupState.GRID, BackupState.OUTAGE})
NOT_ON_BACKUP: Final = frozenset({BackupState.GRID, BackupState.OUTAGE, BackupState.RETURNING})


def start_refusal(state: BackupState, usable: Callable[[], bool]) -> str | None:
    """A manual start: only from the grid or an outage not yet switched, with a source."""
    if state not in STARTABLE:
        return "backup_busy"
    if not usable():
        return "no_usable_source"
    return None


def end_refusal(state: BackupState) -> str | None:
    """A manual end: only while the site is on (or switching to) vehicle power."""
    if state in NOT_ON_BACKUP:
        return "not_on_backup"
    return None


def drill_refusal(
    grid_available: bool | None, state: BackupState, usable: Callable[[], bool]
) -> str | None:
    """A drill rehearses the switchover: only on a present grid, idle, with a source."""
    if grid_available is not True:
        return "drill_needs_grid"
    if state is not BackupState.GRID:
        return "backup_busy"
    if not usable():
        return "no_usable_source"
    return None
