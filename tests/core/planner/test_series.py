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
    steps_until,
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


# --- daylight-saving changes ------------------------------------------------------------
# 30 March 2025: Amsterdam skips 02:00-03:00. 26 October 2025: 02:00-03:00 happens twice
# (first CEST, fold=0, then CET, fold=1).


@pytest.mark.parametrize("day", [30, 26], ids=["spring", "autumn"])
def test_step_starts_are_evenly_spaced_across_dst(day: int) -> None:
    month = 3 if day == 30 else 10
    starts = step_starts(datetime(2025, month, day, 1, 30, tzinfo=AMSTERDAM), 8, QUARTER)
    instants = [moment.astimezone(UTC) for moment in starts]
    gaps = {later - earlier for earlier, later in itertools.pairwise(instants)}
    assert gaps == {QUARTER}
    assert all(moment.tzinfo is AMSTERDAM for moment in starts)


def test_step_starts_skip_the_missing_spring_hour() -> None:
    starts = step_starts(datetime(2025, 3, 30, 1, 30, tzinfo=AMSTERDAM), 4, QUARTER)
    assert [(moment.hour, moment.minute) for moment in starts] == [
        (1, 30),
        (1, 45),
        (3, 0),
        (3, 15),
    ]
    assert [moment.utcoffset() for moment in starts] == [timedelta(hours=h) for h in (1, 1, 2, 2)]


def test_step_starts_pass_the_repeated_autumn_hour_twice() -> None:
    starts = step_starts(datetime(2025, 10, 26, 1, 45, tzinfo=AMSTERDAM), 10, QUARTER)
    clock = [(moment.hour, moment.minute, moment.fold) for moment in starts]
    assert clock == [
        (1, 45, 0),
        (2, 0, 0),
        (2, 15, 0),
        (2, 30, 0),
        (2, 45, 0),
        (2, 0, 1),
        (2, 15, 1),
        (2, 30, 1),
        (2, 45, 1),
        (3, 0, 0),
    ]
    assert starts[5].utcoffset() == timedelta(hours=1)
    # A day with the repeated hour has 100 quarter-hour steps, one with the gap 92.
    autumn = step_starts(datetime(2025, 10, 26, tzinfo=AMSTERDAM), 101, QUARTER)
    assert autumn[100] == datetime(2025, 10, 27, tzinfo=AMSTERDAM)
    spring = step_starts(datetime(2025, 3, 30, tzinfo=AMSTERDAM), 93, QUARTER)
    assert spring[92] == datetime(2025, 3, 31, tzinfo=AMSTERDAM)


def test_floor_to_step_in_the_repeated_autumn_hour() -> None:
    # 26 October 2025: 02:00-03:00 happens twice in Amsterdam; take the second (CET) pass.
    moment = datetime(2025, 10, 26, 1, 20, tzinfo=UTC).astimezone(AMSTERDAM)
    assert moment.fold == 1
    floored = floor_to_step(moment, QUARTER)
    assert moment.astimezone(UTC) - floored.astimezone(UTC) == timedelta(minutes=5)
    assert (floored.hour, floored.minute, floored.fold) == (2, 15, 1)
    assert floored.tzinfo is AMSTERDAM
    # The first (CEST) pass floors into its own pass.
    first = floor_to_step(datetime(2025, 10, 26, 2, 20, tzinfo=AMSTERDAM), QUARTER)
    assert first.astimezone(UTC) == datetime(2025, 10, 26, 0, 15, tzinfo=UTC)
    assert first.fold == 0


@pytest.mark.parametrize(
    "moment_utc",
    [
        datetime(2025, 3, 29, 22, 59, tzinfo=UTC) + index * timedelta(minutes=7)
        for index in range(60)
    ]
    + [
        datetime(2025, 10, 25, 21, 59, tzinfo=UTC) + index * timedelta(minutes=7)
        for index in range(60)
    ],
    ids=lambda moment: moment.strftime("%m-%dT%H:%MZ"),
)
def test_floor_to_step_holds_in_real_time_around_dst(moment_utc: datetime) -> None:
    moment = moment_utc.astimezone(AMSTERDAM)
    floored = floor_to_step(moment, QUARTER)
    assert timedelta(0) <= moment_utc - floored.astimezone(UTC) < QUARTER
    assert floored.tzinfo is AMSTERDAM
    assert floored.minute % 15 == 0
    assert (floored.second, floored.microsecond) == (0, 0)
    # The step start is one of the horizon's step starts from local midnight.
    # (Compared in UTC: equal wall clocks in one zone compare equal whatever their fold.)
    midnight = moment.replace(hour=0, minute=0, fold=0)
    starts = [start.astimezone(UTC) for start in step_starts(midnight, 100, QUARTER)]
    assert floored.astimezone(UTC) in starts


def test_floor_to_step_uses_the_local_midnight() -> None:
    # India is UTC+05:30: hourly steps start on the local hour, not on the UTC hour.
    kolkata = ZoneInfo("Asia/Kolkata")
    floored = floor_to_step(datetime(2025, 7, 15, 10, 59, tzinfo=kolkata), timedelta(hours=1))
    assert (floored.hour, floored.minute) == (10, 0)


@pytest.mark.parametrize(
    ("start", "moment", "expected"),
    [
        # 22:00 CET the night before spring forward to 07:30 CEST: 8.5 real hours (wall: 9.5).
        (
            datetime(2025, 3, 29, 22, tzinfo=AMSTERDAM),
            datetime(2025, 3, 30, 7, 30, tzinfo=AMSTERDAM),
            34,
        ),
        # The same wall-clock night in autumn is 10.5 real hours long.
        (
            datetime(2025, 10, 25, 22, tzinfo=AMSTERDAM),
            datetime(2025, 10, 26, 7, 30, tzinfo=AMSTERDAM),
            42,
        ),
        (datetime(2025, 7, 15, 10, tzinfo=TOKYO), datetime(2025, 7, 15, 10, 14, tzinfo=TOKYO), 0),
        (datetime(2025, 7, 15, 10, tzinfo=TOKYO), datetime(2025, 7, 15, 9, 59, tzinfo=TOKYO), -1),
        (datetime(2025, 7, 15, 10, tzinfo=TOKYO), datetime(2025, 7, 15, 1, 30, tzinfo=UTC), 2),
    ],
)
def test_steps_until(start: datetime, moment: datetime, expected: int) -> None:
    assert steps_until(start, moment, QUARTER) == expected
    # It is the index of the step start at or before the moment.
    if expected >= 0:
        starts = [t.astimezone(UTC) for t in step_starts(start, expected + 2, QUARTER)]
        assert starts[expected] <= moment.astimezone(UTC) < starts[expected + 1]


def test_naive_times_are_rejected() -> None:
    naive = datetime(2025, 7, 15, 10, 0)  # noqa: DTZ001
    with pytest.raises(ValueError, match="timezone-aware"):
        floor_to_step(naive, QUARTER)
    with pytest.raises(ValueError, match="timezone-aware"):
        step_starts(naive, 2, QUARTER)
    with pytest.raises(ValueError, match="timezone-aware"):
        steps_until(datetime(2025, 7, 15, tzinfo=TOKYO), naive, QUARTER)


def test_tariff_and_profile_read_the_local_clock_in_both_passes() -> None:
    # A tariff and a learned profile are defined in local time: both passes of the
    # repeated hour get the price and the load of 02:xx.
    starts = step_starts(datetime(2025, 10, 26, 1, 45, tzinfo=AMSTERDAM), 10, QUARTER)
    tariff = TimeOfUseTariff(0.2, (TariffPeriod(time(2), time(3), 0.5),))
    assert tariff.prices(starts).tolist() == [0.2] + [0.5] * 8 + [0.2]
    profile = LoadProfile()
    profile.add(datetime(2025, 10, 19, 2, 15, tzinfo=AMSTERDAM), 7.0)  # a Sunday
    profile.add(datetime(2025, 10, 19, 3, 0, tzinfo=AMSTERDAM), 1.0)
    forecast = profile.forecast(starts)
    assert forecast[2] == forecast[6] == 7.0
    assert forecast[9] == 1.0


def test_sample_forecast_in_the_repeated_autumn_hour() -> None:
    # Points in the same zone as the steps: the first-pass 02:30 (CEST) point must not
    # stand for the second-pass 02:00-02:30 (CET), which comes an hour later.
    first = datetime(2025, 10, 26, 2, 30, tzinfo=AMSTERDAM)
    second = datetime(2025, 10, 26, 2, 30, fold=1, tzinfo=AMSTERDAM)
    points = [(second, 2.0), (first, 1.0)]  # out of order, as a sensor might give them
    assert [
        value
        for _, value in parse_forecast(
            [{"start": moment, "value": value} for moment, value in points]
        )
    ] == [1.0, 2.0]
    starts = step_starts(datetime(2025, 10, 26, 2, 0, tzinfo=AMSTERDAM), 8, QUARTER)
    # 02:00 02:15 02:30 02:45 (CEST) 02:00 02:15 02:30 02:45 (CET)
    values = sample_forecast(sorted(points, key=lambda p: p[0].astimezone(UTC)), starts, QUARTER)
    np.testing.assert_array_equal(values, [math.nan, math.nan, 1.0, 1.0, 1.0, 1.0, 2.0, math.nan])
