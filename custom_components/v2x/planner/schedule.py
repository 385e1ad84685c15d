"""When things happen in a V2B plan: its steps, today's steps, a car's next departure.

Pure functions, no Home Assistant imports.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Final

import numpy as np
from numpy.typing import NDArray

from .series import instant

STEP: Final = timedelta(minutes=15)
HORIZON_STEPS: Final = 96
DEPARTURE_GRACE: Final = timedelta(hours=2)


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
