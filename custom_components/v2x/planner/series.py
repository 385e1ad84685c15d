"""Time series for the planner: step times, tariffs, learned load profiles, forecasts.

Everything here works on plain datetimes (timezone-aware) and numbers so that the
Home Assistant layer only has to read states and statistics.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta, tzinfo
import math

import numpy as np

from .model import FloatArray

SLOTS_PER_DAY = 96  # 15-minute slots


def instant(moment: datetime) -> datetime:
    """``moment`` in UTC, for comparing and subtracting as real time.

    Python compares and subtracts two local times of one zone by their wall clock,
    which is an hour off across a daylight-saving change and ambiguous in a repeated
    autumn hour.
    """
    return moment.astimezone(UTC)


def step_starts(start: datetime, steps: int, step: timedelta) -> list[datetime]:
    """The start time of each step of a horizon beginning at ``start`` (timezone-aware).

    Steps are exactly ``step`` apart in real time, also across a daylight-saving
    change (the arithmetic is done in UTC); each start is given back as a local time
    in ``start``'s zone, with ``fold=1`` in the second pass of a repeated hour.
    """
    zone = _zone_of(start)
    origin = instant(start)
    return [(origin + index * step).astimezone(zone) for index in range(steps)]


def floor_to_step(moment: datetime, step: timedelta) -> datetime:
    """The start of the step containing ``moment``: steps of ``step`` from local midnight.

    ``moment`` must be timezone-aware. The steps are counted in real time from the
    start of ``moment``'s local day, so ``0 <= moment - result < step`` holds in real
    time also on a daylight-saving day; a moment in the second pass of a repeated hour
    (``fold=1``) gets a step in that same pass. The result is in ``moment``'s zone.
    """
    zone = _zone_of(moment)
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0, fold=0)
    origin = instant(midnight)
    elapsed = (instant(moment) - origin) // step
    return (origin + elapsed * step).astimezone(zone)


def steps_until(start: datetime, moment: datetime, step: timedelta) -> int:
    """Whole steps of ``step`` from ``start`` to ``moment`` in real time (rounded down).

    Use it to turn a time into a step index of :func:`step_starts`: subtracting two
    local times of one zone directly measures wall-clock time, which is an hour off
    across a daylight-saving change. Negative when ``moment`` is before ``start``.
    """
    _zone_of(start)
    _zone_of(moment)
    return (instant(moment) - instant(start)) // step


def _zone_of(moment: datetime) -> tzinfo:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"a timezone-aware time is needed, got {moment.isoformat()}")
    return moment.tzinfo


@dataclass(frozen=True, slots=True)
class TariffPeriod:
    """A time-of-use period: a price between two times of day on some weekdays.

    ``end`` before ``start`` wraps past midnight; weekdays are 0 (Monday) to 6.
    """

    start: time
    end: time
    price: float
    weekdays: frozenset[int] = frozenset(range(7))

    def covers(self, moment: datetime) -> bool:
        """True when ``moment`` (local time) falls inside this period."""
        clock = moment.time().replace(tzinfo=None)
        if self.start <= self.end:
            inside = self.start <= clock < self.end
            day = moment.weekday()
        else:
            inside = clock >= self.start or clock < self.end
            day = moment.weekday() if clock >= self.start else (moment.weekday() - 1) % 7
        return inside and day in self.weekdays


@dataclass(frozen=True, slots=True)
class TimeOfUseTariff:
    """A default price with periods that override it (the first match wins)."""

    default_price: float
    periods: tuple[TariffPeriod, ...] = ()

    def price_at(self, moment: datetime) -> float:
        """Price of energy bought at ``moment``."""
        for period in self.periods:
            if period.covers(moment):
                return period.price
        return self.default_price

    def prices(self, starts: Sequence[datetime]) -> FloatArray:
        """Price for each step start."""
        return np.asarray([self.price_at(moment) for moment in starts], dtype=np.float64)


def _slot(moment: datetime) -> tuple[int, int]:
    return moment.weekday(), (moment.hour * 60 + moment.minute) // 15


@dataclass(slots=True)
class LoadProfile:
    """Average load per weekday and 15-minute slot, learned from past measurements.

    Slots never seen fall back to the same time of day on other weekdays, then
    to the overall average, so a profile learned from a few days still answers.
    """

    sums: FloatArray = field(default_factory=lambda: np.zeros((7, SLOTS_PER_DAY)))
    counts: FloatArray = field(default_factory=lambda: np.zeros((7, SLOTS_PER_DAY)))

    def add(self, moment: datetime, value_kw: float, weight: float = 1.0) -> None:
        """Add one measurement taken at ``moment`` (local time)."""
        if not math.isfinite(value_kw):
            return
        day, slot = _slot(moment)
        self.sums[day, slot] += value_kw * weight
        self.counts[day, slot] += weight

    @classmethod
    def learn(cls, samples: Iterable[tuple[datetime, float]]) -> LoadProfile:
        """A profile from (local time, kW) samples."""
        profile = cls()
        for moment, value in samples:
            profile.add(moment, value)
        return profile

    @property
    def empty(self) -> bool:
        """True before anything was learned."""
        return not self.counts.any()

    @property
    def days_learned(self) -> int:
        """Weekdays with at least one measurement."""
        return int(np.count_nonzero(self.counts.sum(axis=1)))

    def average(self) -> FloatArray:
        """Mean per weekday and slot, with the documented fallbacks filled in."""
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = self.sums / self.counts
            by_slot = self.sums.sum(axis=0) / self.counts.sum(axis=0)
        overall = float(self.sums.sum() / self.counts.sum()) if not self.empty else 0.0
        by_slot = np.where(np.isfinite(by_slot), by_slot, overall)
        return np.where(np.isfinite(mean), mean, by_slot[None, :])

    def forecast(self, starts: Sequence[datetime]) -> FloatArray:
        """Expected load at each step start."""
        average = self.average()
        return np.asarray([average[_slot(moment)] for moment in starts], dtype=np.float64)


_START_KEYS = ("start", "datetime", "from", "time", "period_start", "startsAt", "start_time")
_VALUE_KEYS = ("value", "price", "total", "power", "load", "native_value")


def _parse_time(raw: object) -> datetime | None:
    if isinstance(raw, datetime):
        return raw if raw.tzinfo else None
    if isinstance(raw, str):
        try:
            parsed = datetime.fromisoformat(raw)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else None
    return None


def _parse_number(raw: object) -> float | None:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def parse_forecast(items: object) -> list[tuple[datetime, float]]:
    """(start, value) pairs from a forecast attribute, sorted; unusable items skipped.

    Accepts the common shapes: a list of mappings with a start key (``start``,
    ``datetime``, ``from``, ``startsAt``...) and a value key (``value``, ``price``,
    ``total``...). Times must carry a timezone.
    """
    if not isinstance(items, Sequence) or isinstance(items, str):
        return []
    points = []
    for item in items:
        if not isinstance(item, Mapping):
            continue
        start = next((_parse_time(item[k]) for k in _START_KEYS if k in item), None)
        value = next((_parse_number(item[k]) for k in _VALUE_KEYS if k in item), None)
        if start is not None and value is not None:
            points.append((start, value))
    return sorted(points, key=lambda point: instant(point[0]))


def sample_forecast(
    points: Sequence[tuple[datetime, float]], starts: Sequence[datetime], max_gap: timedelta
) -> FloatArray:
    """Value of the forecast at each step start (NaN where it has nothing).

    A point holds until the next one, or for ``max_gap`` after the last. Times are
    compared as instants (in UTC): two local times in the same zone would otherwise
    be compared by their wall clock, which is ambiguous in a repeated autumn hour.
    """
    result = np.full(len(starts), np.nan)
    if not points:
        return result
    times = [instant(point[0]) for point in points]
    for index, start in enumerate(starts):
        moment = instant(start)
        position = _last_at_or_before(times, moment)
        if position < 0:
            continue
        holds_until = times[position + 1] if position + 1 < len(times) else times[-1] + max_gap
        if moment < holds_until:
            result[index] = points[position][1]
    return result


def _last_at_or_before(times: Sequence[datetime], moment: datetime) -> int:
    low, high = 0, len(times)
    while low < high:
        middle = (low + high) // 2
        if times[middle] <= moment:
            low = middle + 1
        else:
            high = middle
    return low - 1


def fill_missing(values: FloatArray, fallback: FloatArray) -> FloatArray:
    """``values`` with every NaN replaced by the fallback at the same step."""
    return np.where(np.isnan(values), fallback, values)
