"""When a person's or an automation's backup request is refused, as pure rules.

Each rule returns the translation key of the reason, or None when the request may go
to the machine. ``usable`` says whether any source could supply the site now; it is
asked last, only when nothing else refuses the request. :func:`request_refusal` picks
the rule for a request's kind and :func:`submit` hands an accepted one to the machine.
No Home Assistant imports.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, Literal

from .machine import BackupMachine, BackupState

type RequestKind = Literal["start", "end", "drill"]
type Seen = tuple[bool | None, BackupState]
"""What the person asking saw: whether the grid was there, and the site's state."""

NOTHING_SEEN: Final[Seen] = (True, BackupState.GRID)
"""What a person is taken to have seen before the site published anything."""

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


def request_refusal(
    kind: RequestKind, state: BackupState, usable: Callable[[], bool], seen: Seen
) -> str | None:
    """Why a request of ``kind`` is refused now, or None.

    A start and an end are judged on the machine's state; a drill on what the person
    saw when asking, so that a grid that failed a moment ago is not rehearsed on.
    """
    if kind == "start":
        return start_refusal(state, usable)
    if kind == "end":
        return end_refusal(state)
    return drill_refusal(*seen, usable)


def submit(machine: BackupMachine, kind: RequestKind, duration_s: float = 0.0) -> None:
    """Hand an accepted request to the machine; it acts on the next step."""
    if kind == "start":
        machine.request_start()
    elif kind == "end":
        machine.request_end()
    else:
        machine.request_drill(duration_s)
