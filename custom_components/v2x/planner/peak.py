"""The peak already billed in the current period, tracked from the building meter.

Utilities bill the demand charge on the highest average import over a demand
interval (15 minutes by default; 30 in Japan and the UK) within the billing period.
The tracker averages the meter's readings over each interval (time-weighted), keeps
the highest completed average, and starts over when a new billing period begins.
Pure and serialisable so that the Home Assistant layer can restore it after a restart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from .guard import BillingInterval
from .model import PlannerInputError
from .series import floor_to_step, instant

DEMAND_INTERVALS_MIN: tuple[int, ...] = (15, 30, 60)
DEFAULT_INTERVAL_MIN = 15
"""The interval of a tracker saved before the interval could be chosen."""
"""The demand intervals a tariff may bill (minutes, each a whole number of 15-minute
plan steps, starting on the hour)."""


def period_start(moment: datetime, billing_day: int) -> date:
    """First day of the billing period containing ``moment`` (day 1-28 of a month).

    The billing period follows the local calendar, so ``moment`` is read as a local time.
    """
    day = moment.date()
    if day.day >= billing_day:
        return day.replace(day=billing_day)
    previous_month = day.replace(day=1) - timedelta(days=1)
    return previous_month.replace(day=billing_day)


@dataclass(frozen=True, slots=True)
class PlanBilling:
    """What a plan needs of the billing: the peak so far and the interval under way."""

    peak_kw: float
    steps: int
    """Plan steps per demand interval."""
    offset: int
    """Steps of the interval under way before the plan's first step."""
    so_far_kwh: float
    """Import in those steps."""


@dataclass(slots=True)
class PeakTracker:
    """Highest average import (kW) over a demand interval in the current billing period.

    Readings are timezone-aware local times. Intervals start every
    :attr:`interval_min` minutes from local midnight (see
    :func:`.series.floor_to_step`), but readings and intervals are ordered and
    measured as instants: in a repeated autumn hour two readings with the same
    wall-clock time are an hour apart, and each pass has its own intervals
    (``peak_at`` keeps the ``fold`` and the UTC offset of its pass).
    """

    billing_day: int = 1
    interval_min: int = DEFAULT_INTERVAL_MIN
    """The demand interval the tariff averages over, in minutes."""
    period: date | None = None
    peak_kw: float = 0.0
    peak_at: datetime | None = None
    _interval: datetime | None = None
    _energy_kwh: float = 0.0
    _covered_h: float = 0.0
    _last: tuple[datetime, float] | None = None

    def __post_init__(self) -> None:
        """Only the intervals a tariff bills (see :data:`DEMAND_INTERVALS_MIN`)."""
        if self.interval_min not in DEMAND_INTERVALS_MIN:
            raise PlannerInputError(
                f"demand interval must be one of {DEMAND_INTERVALS_MIN} minutes,"
                f" not {self.interval_min!r}"
            )

    @property
    def interval(self) -> timedelta:
        """The demand interval."""
        return timedelta(minutes=self.interval_min)

    def add(self, moment: datetime, import_kw: float) -> None:
        """Record that the building imported ``import_kw`` from ``moment`` on."""
        if self._last is not None and instant(moment) > instant(self._last[0]):
            self._accumulate(self._last[0], moment, self._last[1])
        self._last = (moment, max(import_kw, 0.0))
        self._roll_period(moment)

    def _accumulate(self, start: datetime, end: datetime, kw: float) -> None:
        zone = end.tzinfo
        position, stop_at = instant(start), instant(end)
        while position < stop_at:
            interval = floor_to_step(position.astimezone(zone), self.interval)
            if self._interval is None or instant(interval) != instant(self._interval):
                self._close_interval()
                self._interval = interval
            stop = min(stop_at, instant(interval) + self.interval)
            hours = (stop - position).total_seconds() / 3600
            self._energy_kwh += kw * hours
            self._covered_h += hours
            position = stop

    def _close_interval(self) -> None:
        """Take the finished interval's average into the peak (if it was measured)."""
        if self._interval is not None and self._covered_h > 0:
            average = self._energy_kwh / self._covered_h
            period = period_start(self._interval, self.billing_day)
            if self.period is None or period > self.period:
                # A new billing period began (possibly during a gap in the readings).
                self.peak_kw, self.peak_at, self.period = 0.0, None, period
            if period == self.period and average > self.peak_kw:
                self.peak_kw, self.peak_at = average, self._interval
        self._energy_kwh = self._covered_h = 0.0

    def _roll_period(self, moment: datetime) -> None:
        current = period_start(moment, self.billing_day)
        if self.period != current:
            if self.period is not None:
                self.peak_kw, self.peak_at = 0.0, None
            self.period = current

    def current_average_kw(self) -> float | None:
        """Average import of the interval in progress (None before a reading)."""
        if self._covered_h <= 0:
            return None
        return self._energy_kwh / self._covered_h

    def interval_so_far(self, moment: datetime) -> BillingInterval:
        """The interval under way at ``moment``: how long it has run, what it imported.

        The reading in force counts up to ``moment``. The part of the interval before
        the first reading (Home Assistant started within it) is left out: the interval
        is as long as the part that was or will be measured, so the guard holds that
        part's average at the target.
        """
        start = floor_to_step(moment, self.interval)
        elapsed_h = (instant(moment) - instant(start)).total_seconds() / 3600
        energy, covered = 0.0, 0.0
        if self._interval is not None and instant(self._interval) == instant(start):
            energy, covered = self._energy_kwh, self._covered_h
        if self._last is not None and instant(self._last[0]) < instant(moment):
            since = max(instant(self._last[0]), instant(start))
            hours = (instant(moment) - since).total_seconds() / 3600
            energy, covered = energy + self._last[1] * hours, covered + hours
        unmeasured_h = max(elapsed_h - covered, 0.0)
        return BillingInterval(
            length_h=self.interval.total_seconds() / 3600 - unmeasured_h,
            elapsed_h=elapsed_h - unmeasured_h,
            imported_kwh=energy,
        )

    def plan_billing(self, start: datetime, now: datetime, step: timedelta) -> PlanBilling:
        """How a plan of ``step`` steps from ``start`` (``now`` or just before) is billed.

        The interval under way began ``offset`` steps before ``start``; what it imported
        in them is estimated from what the meter measured so far in it (up to ``now``),
        else from the reading in force, else taken as nothing.
        """
        steps = max(1, round(self.interval / step))
        offset = round((instant(start) - instant(floor_to_step(start, self.interval))) / step)
        so_far = self.interval_so_far(now)
        if so_far.elapsed_h > 0:
            average = so_far.imported_kwh / so_far.elapsed_h
        else:
            average = self._last[1] if self._last is not None else 0.0
        return PlanBilling(
            peak_kw=self.peak_kw,
            steps=steps,
            offset=offset % steps,
            so_far_kwh=average * offset * step.total_seconds() / 3600,
        )

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly copy (the interval in progress is not kept)."""
        return {
            "billing_day": self.billing_day,
            "interval_min": self.interval_min,
            "period": self.period.isoformat() if self.period else None,
            "peak_kw": self.peak_kw,
            "peak_at": self.peak_at.isoformat() if self.peak_at else None,
        }

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], billing_day: int, interval_min: int = DEFAULT_INTERVAL_MIN
    ) -> PeakTracker:
        """Restore a tracker; a changed billing day or interval starts a new period.

        A tracker saved before the interval was configurable kept 15-minute averages.
        """
        tracker = cls(billing_day=billing_day, interval_min=interval_min)
        saved_interval = data.get("interval_min", DEFAULT_INTERVAL_MIN)
        if data.get("billing_day") != billing_day or saved_interval != interval_min:
            return tracker
        try:
            tracker.period = date.fromisoformat(data["period"]) if data.get("period") else None
            tracker.peak_kw = float(data.get("peak_kw", 0.0))
            peak_at = data.get("peak_at")
            tracker.peak_at = datetime.fromisoformat(peak_at) if peak_at else None
        except (TypeError, ValueError):
            return cls(billing_day=billing_day, interval_min=interval_min)
        return tracker
