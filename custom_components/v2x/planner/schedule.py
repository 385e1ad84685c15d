"""When things happen in a V2B plan: its steps, a tick's work, a car's next departure.

Pure functions, no Home Assistant imports.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Final

import numpy as np
from numpy.typing import NDArray

from .series import floor_to_step, instant

STEP: Final = timedelta(minutes=15)
HORIZON_STEPS: Final = 96
DEPARTURE_GRACE: Final = timedelta(hours=2)
RELEARN_EVERY: Final = timedelta(hours=6)
"""How often the building's load profile is learned again from its history."""


@dataclass(frozen=True, slots=True)
class TickWork:
    """What a building's regular tick has to do."""

    step: datetime
    """The step ``now`` is in."""
    relearn: bool
    """The load profile is due to be learned again."""
    new_step: bool
    """A step began since the last plan: book the one that ended, plan the new one."""
    replan: bool
    """Plan again (a new step, or a car came, went, or changed its availability)."""


def tick_work(
    now: datetime,
    *,
    planned_step: datetime | None,
    learned_at: datetime | None,
    presence_changed: bool,
) -> TickWork:
    """What is due at ``now``, for a building last planned for ``planned_step``.

    Learning waits for the first one (made at start); a building never planned plans.
    """
    step = floor_to_step(now, STEP)
    relearn = learned_at is not None and instant(now) - instant(learned_at) >= RELEARN_EVERY
    new_step = planned_step is None or instant(step) != instant(planned_step)
    return TickWork(step, relearn=relearn, new_step=new_step, replan=new_step or presence_changed)


def parse_time(value: object, fallback: object) -> time:
    """A time of day from its ISO text, else the fallback's."""
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        return time.fromisoformat(str(fallback))


def todays_steps(starts: list[datetime]) -> NDArray[np.bool_]:
    """The steps of the first step's day: the window the demand charge is planned on.

    The horizon runs into tomorrow, where the plan knows no cars (they have not
    arrived yet), so tomorrow's peak looks unavoidable and would make shaving today's
    worthless. Tomorrow's peak is for tomorrow's plans, made once the cars are back.
    """
    today = starts[0].date()
    return np.array([start.date() == today for start in starts], dtype=bool)


def next_departure(now: datetime, daily: time, override: datetime | None) -> datetime:
    """The car's next departure: the override while in the future, else the daily time.

    Within :data:`DEPARTURE_GRACE` after today's departure time the car is overdue: its
    owner may leave any minute, so it departs at the end of the coming step (kept at its
    target, charged if short) instead of tomorrow, which would free it for discharging.
    """
    if override is not None and instant(override) > instant(now):
        return override
    today = now.replace(hour=daily.hour, minute=daily.minute, second=0, microsecond=0)
    if today <= now < today + DEPARTURE_GRACE:
        return now + STEP
    return today if today > now else today + timedelta(days=1)
