"""Step times, tariffs, learned load profiles and forecasts."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
import itertools
import math
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from custom_components.v2x.planner.series import (
    SLOTS_PER_DAY,
    LoadProfile,
    TariffPeriod,
    TimeOfUseTariff,
    fill_missing,
    floor_to_step,
    parse_forecast,
    sample_forecast,
    step_starts,
)

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
TOKYO = ZoneInfo("Asia/Tokyo")
QUARTER = timedelta(minutes=15)
# 2025-07-14 is a Monday.
MONDAY = datetime(2025, 7, 14, tzinfo=AMSTERDAM)


def at(day_offset: int, hour: int, minute: int = 0, zone: ZoneInfo = AMSTERDAM) -> datetime:
    """Local time on MONDAY + day_offset days."""
    return datetime(2025, 7, 14 + day_offset, hour, minute, tzinfo=zone)


# --- step times -------------------------------------------------------------------------


def test_step_starts() -> None:
    start = datetime(2025, 7, 15, 23, 30, tzinfo=TOKYO)
    starts = step_starts(start, 4, QUARTER)
    assert starts == [
        datetime(2025, 7, 15, 23, 30, tzinfo=TOKYO),
        datetime(2025, 7, 15, 23, 45, tzinfo=TOKYO),
        datetime(2025, 7, 16, 0, 0, tzinfo=TOKYO),
        datetime(2025, 7, 16, 0, 15, tzinfo=TOKYO),
    ]
    assert step_starts(start, 0, QUARTER) == []
    assert step_starts(start, 2, timedelta(hours=1))[1] == datetime(
        2025, 7, 16, 0, 30, tzinfo=TOKYO
    )


@pytest.mark.parametrize(
    ("moment", "step", "expected"),
    [
        (datetime(2025, 7, 15, 10, 37, 12, 500, tzinfo=TOKYO), QUARTER, (10, 30)),
        (datetime(2025, 7, 15, 10, 45, tzinfo=TOKYO), QUARTER, (10, 45)),
        (datetime(2025, 7, 15, 10, 59, 59, tzinfo=TOKYO), timedelta(hours=1), (10, 0)),
        (datetime(2025, 7, 15, 0, 4, tzinfo=AMSTERDAM), timedelta(minutes=5), (0, 0)),
        (datetime(2025, 7, 15, 23, 59, tzinfo=AMSTERDAM), timedelta(minutes=5), (23, 55)),
    ],
)
def test_floor_to_step(moment: datetime, step: timedelta, expected: tuple[int, int]) -> None:
    floored = floor_to_step(moment, step)
    assert (floored.hour, floored.minute, floored.second, floored.microsecond) == (
        *expected,
        0,
        0,
    )
    assert floored.date() == moment.date()
    assert floored.tzinfo is moment.tzinfo
    assert timedelta(0) <= moment - floored < step


def test_floor_to_step_on_the_spring_forward_day() -> None:
    # 30 March 2025: Amsterdam skips 02:00-03:00; 03:20 CEST is two real hours after 01:20.
    moment = datetime(2025, 3, 30, 3, 20, tzinfo=AMSTERDAM)
    floored = floor_to_step(moment, QUARTER)
    assert floored == datetime(2025, 3, 30, 3, 15, tzinfo=AMSTERDAM)
    assert floored.utcoffset() == timedelta(hours=2)


# --- tariffs ----------------------------------------------------------------------------

WEEKDAYS = frozenset(range(5))


def test_period_within_a_day() -> None:
    peak = TariffPeriod(time(13), time(16), 0.35, WEEKDAYS)
    assert peak.covers(at(1, 13))
    assert peak.covers(at(1, 15, 59))
    assert not peak.covers(at(1, 12, 59))
    assert not peak.covers(at(1, 16))  # the end is exclusive
    assert not peak.covers(at(5, 14))  # Saturday
    assert TariffPeriod(time(13), time(16), 0.35).covers(at(5, 14))


def test_period_wrapping_midnight_belongs_to_the_evening_it_starts() -> None:
    # Weeknights: Monday 22:00 to Tuesday 06:00 ... Friday 22:00 to Saturday 06:00.
    night = TariffPeriod(time(22), time(6), 0.12, WEEKDAYS)
    assert night.covers(at(0, 22))  # Monday evening
    assert night.covers(at(1, 3))  # Tuesday early morning: Monday night
    assert night.covers(at(4, 23, 30))  # Friday evening
    assert night.covers(at(5, 5, 59))  # Saturday early morning: Friday night
    assert not night.covers(at(5, 6))  # end is exclusive
    assert not night.covers(at(5, 22))  # Saturday evening
    assert not night.covers(at(0, 3))  # Monday early morning: Sunday night
    assert not night.covers(at(1, 12))
    assert not night.covers(at(1, 21, 59))


def test_period_uses_local_clock() -> None:
    night = TariffPeriod(time(22), time(6), 0.12)
    moment = datetime(2025, 7, 15, 14, 0, tzinfo=UTC)  # 23:00 in Tokyo, 16:00 in Amsterdam
    assert night.covers(moment.astimezone(TOKYO))
    assert not night.covers(moment.astimezone(AMSTERDAM))


def test_time_of_use_prices() -> None:
    tariff = TimeOfUseTariff(
        default_price=0.22,
        periods=(
            TariffPeriod(time(13), time(16), 0.35, WEEKDAYS),
            TariffPeriod(time(12), time(17), 0.30),  # shadowed by the first on weekdays
            TariffPeriod(time(22), time(8), 0.12),
        ),
    )
    starts = [at(0, 7), at(0, 8), at(0, 12), at(0, 13), at(0, 16), at(0, 22), at(5, 14)]
    prices = tariff.prices(starts)
    assert prices.dtype == np.float64
    assert prices.tolist() == [0.12, 0.22, 0.30, 0.35, 0.30, 0.12, 0.30]
    assert tariff.price_at(at(0, 10)) == 0.22
    assert TimeOfUseTariff(0.5).prices([at(0, 1), at(3, 2)]).tolist() == [0.5, 0.5]
    assert TimeOfUseTariff(0.5).prices([]).shape == (0,)


# --- load profile -----------------------------------------------------------------------


def test_empty_profile_forecasts_zero() -> None:
    profile = LoadProfile()
    assert profile.empty
    assert profile.days_learned == 0
    average = profile.average()
    assert average.shape == (7, SLOTS_PER_DAY)
    assert np.all(average == 0.0)
    assert profile.forecast([at(0, 8), at(3, 17)]).tolist() == [0.0, 0.0]


def test_profile_learns_weekday_slots_and_falls_back() -> None:
    profile = LoadProfile.learn(
        [
            (at(0, 8, 0), 10.0),  # Monday 08:00 slot
            (at(7, 8, 14), 20.0),  # next Monday, same slot
            (at(2, 8, 5), 40.0),  # Wednesday 08:00 slot
            (at(2, 12, 0), 100.0),  # Wednesday noon
            (at(2, 12, 1), math.nan),  # ignored
            (at(2, 12, 2), math.inf),  # ignored
        ]
    )
    assert not profile.empty
    assert profile.days_learned == 2
    forecast = profile.forecast(
        [
            at(0, 8, 10),  # Monday 08:00 slot: mean of its own samples
            at(2, 8, 0),  # Wednesday 08:00 slot
            at(1, 8, 0),  # Tuesday 08:00: same slot on other days
            at(0, 12, 0),  # Monday noon: only Wednesday has it
            at(4, 3, 0),  # never seen at 03:00: overall mean
        ]
    )
    overall = (10.0 + 20.0 + 40.0 + 100.0) / 4
    assert forecast.tolist() == pytest.approx([15.0, 40.0, 70.0 / 3, 100.0, overall])


def test_profile_weights_and_timezone() -> None:
    profile = LoadProfile()
    profile.add(at(0, 9, 0, TOKYO), 10.0, weight=3.0)
    profile.add(at(0, 9, 7, TOKYO), 30.0)
    profile.add(at(0, 9, 8, TOKYO), math.nan, weight=100.0)
    assert profile.counts[0, 36] == 4.0
    assert profile.forecast([at(0, 9, 14, TOKYO)])[0] == pytest.approx(15.0)
    assert profile.days_learned == 1
    # A sample late on Sunday lands in Sunday's last slot.
    profile.add(datetime(2025, 7, 20, 23, 59, tzinfo=TOKYO), 1.0)
    assert profile.counts[6, SLOTS_PER_DAY - 1] == 1.0
    assert profile.days_learned == 2


# --- forecasts --------------------------------------------------------------------------


def test_parse_forecast_key_spellings_and_sorting() -> None:
    items = [
        {"start": "2025-07-14T10:00:00+02:00", "value": 1.0},
        {"datetime": "2025-07-14T09:00:00+02:00", "price": "2.5"},
        {"from": "2025-07-14T08:00:00+02:00", "total": 3},
        {"startsAt": "2025-07-14T07:00:00+02:00", "total": 4.0},
        {"period_start": "2025-07-14T06:00:00+02:00", "power": 5.0},
        {"start_time": datetime(2025, 7, 14, 5, tzinfo=AMSTERDAM), "native_value": 6.0},
        {"time": "2025-07-14T02:00:00Z", "load": 7.0},  # 04:00 local,
    ]
    points = parse_forecast(items)
    assert [value for _, value in points] == [7.0, 6.0, 5.0, 4.0, 3.0, 2.5, 1.0]
    assert points[0][0] == datetime(2025, 7, 14, 2, tzinfo=UTC)
    assert points[-1][0] == datetime(2025, 7, 14, 10, tzinfo=AMSTERDAM)
    assert all(isinstance(value, float) for _, value in points)


@pytest.mark.parametrize(
    "item",
    [
        {"start": "2025-07-14T10:00:00", "value": 1.0},  # naive string
        {"start": datetime(2025, 7, 14, 10), "value": 1.0},  # naive datetime  # noqa: DTZ001
        {"start": "tomorrow at ten", "value": 1.0},
        {"start": 1752480000, "value": 1.0},  # a timestamp is not a time here
        {"start": "2025-07-14T10:00:00+02:00", "value": "n/a"},
        {"start": "2025-07-14T10:00:00+02:00", "value": None},
        {"start": "2025-07-14T10:00:00+02:00", "value": True},
        {"start": "2025-07-14T10:00:00+02:00", "value": "nan"},
        {"start": "2025-07-14T10:00:00+02:00", "value": math.inf},
        {"start": "2025-07-14T10:00:00+02:00", "value": [1.0]},
        {"start": "2025-07-14T10:00:00+02:00"},  # no value
        {"value": 1.0},  # no start
        {"end": "2025-07-14T10:00:00+02:00", "pv_estimate": 1.0},  # unknown keys
        "2025-07-14T10:00:00+02:00",
        3.0,
        None,
    ],
)
def test_parse_forecast_skips_unusable_items(item: object) -> None:
    good = {"start": "2025-07-14T11:00:00+02:00", "value": 2.0}
    points = parse_forecast([item, good])
    assert points == [(datetime(2025, 7, 14, 11, tzinfo=AMSTERDAM), 2.0)]


@pytest.mark.parametrize(
    "items",
    [
        None,
        "2025-07-14T11:00:00+02:00",
        {"start": "2025-07-14T11:00:00+02:00", "value": 2},
        42,
        b"x",
    ],
)
def test_parse_forecast_needs_a_list(items: object) -> None:
    assert parse_forecast(items) == []


def test_parse_forecast_accepts_tuples() -> None:
    items = ({"start": "2025-07-14T11:00:00+09:00", "value": 2},)
    assert parse_forecast(items) == [(datetime(2025, 7, 14, 11, tzinfo=TOKYO), 2.0)]


def test_sample_forecast_holds_each_point_until_the_next() -> None:
    points = [(at(0, 1), 1.0), (at(0, 2), 2.0), (at(0, 4), 4.0)]
    starts = step_starts(at(0, 0, 30), 10, timedelta(minutes=30))
    # 00:30 01:00 01:30 02:00 02:30 03:00 03:30 04:00 04:30 05:00
    values = sample_forecast(points, starts, timedelta(hours=1))
    expected = [math.nan, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0, 4.0, 4.0, math.nan]
    np.testing.assert_array_equal(values, expected)
    # A longer max_gap only extends the last point.
    longer = sample_forecast(points, starts, timedelta(hours=2))
    np.testing.assert_array_equal(longer, [*expected[:-1], 4.0])


def test_sample_forecast_edge_cases() -> None:
    starts = step_starts(at(0, 0), 4, QUARTER)
    assert np.all(np.isnan(sample_forecast([], starts, QUARTER)))
    assert sample_forecast([], [], QUARTER).shape == (0,)
    # Points in another zone are compared as instants.
    utc_point = [(datetime(2025, 7, 13, 22, 15, tzinfo=UTC), 9.0)]  # 00:15 in Amsterdam
    np.testing.assert_array_equal(
        sample_forecast(utc_point, starts, QUARTER), [math.nan, 9.0, math.nan, math.nan]
    )
    # Several points on the same start: the last one wins.
    same = [(at(0, 0), 1.0), (at(0, 0), 2.0)]
    assert sample_forecast(same, starts[:1], QUARTER).tolist() == [2.0]


def test_fill_missing() -> None:
    values = np.array([1.0, math.nan, 3.0, math.nan])
    fallback = np.array([10.0, 20.0, 30.0, 40.0])
    assert fill_missing(values, fallback).tolist() == [1.0, 20.0, 3.0, 40.0]
    assert fill_missing(np.full(2, math.nan), np.zeros(2)).tolist() == [0.0, 0.0]
    assert np.isnan(values[1])  # the input is left alone


# --- known production bugs (strict xfail: they start failing once the bug is fixed) ------


@pytest.mark.xfail(
    strict=True,
    reason="step_starts adds wall-clock time to an aware local datetime: across a DST change "
    "the steps are not `step` apart in real time (nonexistent 02:xx times in spring, the "
    "repeated hour skipped in autumn)",
)
@pytest.mark.parametrize("day", [30, 26], ids=["spring", "autumn"])
def test_step_starts_are_evenly_spaced_across_dst(day: int) -> None:
    month = 3 if day == 30 else 10
    starts = step_starts(datetime(2025, month, day, 1, 30, tzinfo=AMSTERDAM), 8, QUARTER)
    instants = [moment.astimezone(UTC) for moment in starts]
    gaps = {later - earlier for earlier, later in itertools.pairwise(instants)}
    assert gaps == {QUARTER}


@pytest.mark.xfail(
    strict=True,
    reason="floor_to_step drops fold=1: in the repeated autumn hour it returns a time an "
    "hour earlier than the step that contains the moment",
)
def test_floor_to_step_in_the_repeated_autumn_hour() -> None:
    # 26 October 2025: 02:00-03:00 happens twice in Amsterdam; take the second (CET) pass.
    moment = datetime(2025, 10, 26, 1, 20, tzinfo=UTC).astimezone(AMSTERDAM)
    assert moment.fold == 1
    floored = floor_to_step(moment, QUARTER)
    assert moment.astimezone(UTC) - floored.astimezone(UTC) == timedelta(minutes=5)
