"""The billed-peak tracker: time-weighted demand-interval averages within a billing period."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
import json
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from custom_components.v2x.planner.model import PlannerInputError
from custom_components.v2x.planner.peak import PeakTracker, period_start

TOKYO = ZoneInfo("Asia/Tokyo")
AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def at(day: int, hour: int, minute: int = 0, month: int = 7) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=TOKYO)


@pytest.mark.parametrize(
    ("moment", "billing_day", "expected"),
    [
        (at(14, 10), 1, date(2025, 7, 1)),
        (at(14, 10), 14, date(2025, 7, 14)),
        (at(14, 10), 15, date(2025, 6, 15)),
        (at(5, 0, month=3), 10, date(2025, 2, 10)),
        (datetime(2025, 1, 5, tzinfo=TOKYO), 10, date(2024, 12, 10)),
        (datetime(2025, 12, 31, 23, 59, tzinfo=TOKYO), 28, date(2025, 12, 28)),
    ],
)
def test_period_start(moment: datetime, billing_day: int, expected: date) -> None:
    assert period_start(moment, billing_day) == expected


def test_time_weighted_interval_average() -> None:
    tracker = PeakTracker()
    assert tracker.current_average_kw() is None
    tracker.add(at(14, 10, 0), 40.0)
    assert tracker.period == date(2025, 7, 1)
    assert tracker.current_average_kw() is None
    tracker.add(at(14, 10, 5), 100.0)
    assert tracker.current_average_kw() == pytest.approx(40.0)
    tracker.add(at(14, 10, 15), 20.0)
    # (40 kW * 5 min + 100 kW * 10 min) / 15 min; not billed until the interval is over.
    assert tracker.current_average_kw() == pytest.approx(80.0)
    assert tracker.peak_kw == 0.0
    tracker.add(at(14, 10, 20), 20.0)
    assert tracker.peak_kw == pytest.approx(80.0)
    assert tracker.peak_at == at(14, 10, 0)
    assert tracker.current_average_kw() == pytest.approx(20.0)


def test_highest_completed_interval_is_kept() -> None:
    tracker = PeakTracker()
    for minute, kw in [(0, 30.0), (15, 90.0), (30, 60.0), (45, 120.0), (50, 0.0)]:
        tracker.add(at(14, 9, minute), kw)
    tracker.add(at(14, 10, 1), 0.0)
    # 09:45-10:00 averaged 120 kW for 5 min and 0 kW for 10 min.
    assert tracker.peak_kw == pytest.approx(90.0)
    assert tracker.peak_at == at(14, 9, 15)


def test_a_gap_holds_the_last_reading() -> None:
    tracker = PeakTracker()
    tracker.add(at(14, 10, 0), 50.0)
    tracker.add(at(14, 11, 0), 10.0)
    assert tracker.peak_kw == pytest.approx(50.0)
    assert tracker.peak_at == at(14, 10, 0)  # the first of the equal intervals
    assert tracker.current_average_kw() == pytest.approx(50.0)  # 10:45 still open


def test_exports_count_as_zero_import() -> None:
    tracker = PeakTracker()
    tracker.add(at(14, 10, 0), -30.0)
    tracker.add(at(14, 10, 10), 30.0)
    tracker.add(at(14, 10, 20), 0.0)
    assert tracker.peak_kw == pytest.approx(10.0)


def test_readings_out_of_order_do_not_accumulate() -> None:
    tracker = PeakTracker()
    tracker.add(at(14, 10, 0), 50.0)
    tracker.add(at(14, 9, 0), 500.0)  # an older reading replaces the last one, adds nothing
    assert tracker.current_average_kw() is None
    tracker.add(at(14, 9, 10), 0.0)
    assert tracker.current_average_kw() == pytest.approx(500.0)


def test_new_billing_period_starts_over() -> None:
    tracker = PeakTracker(billing_day=15)
    tracker.add(at(14, 23, 0), 200.0)
    tracker.add(at(14, 23, 30), 10.0)
    assert tracker.peak_kw == pytest.approx(200.0)
    assert tracker.period == date(2025, 6, 15)
    tracker.add(at(15, 0, 1), 10.0)
    assert tracker.period == date(2025, 7, 15)
    assert tracker.peak_kw == 0.0
    assert tracker.peak_at is None
    tracker.add(at(15, 0, 20), 10.0)
    # The first interval of the new period is billed in it.
    assert tracker.peak_kw == pytest.approx(10.0)
    assert tracker.peak_at == at(15, 0, 0)


def test_dict_round_trip() -> None:
    tracker = PeakTracker(billing_day=5)
    tracker.add(at(14, 10, 0), 70.0)
    tracker.add(at(14, 10, 20), 0.0)
    saved = tracker.as_dict()
    assert saved == {
        "billing_day": 5,
        "interval_min": 15,
        "period": "2025-07-05",
        "peak_kw": pytest.approx(70.0),
        "peak_at": "2025-07-14T10:00:00+09:00",
    }
    restored = PeakTracker.from_dict(json.loads(json.dumps(saved)), 5)
    assert restored.period == date(2025, 7, 5)
    assert restored.peak_kw == pytest.approx(70.0)
    assert restored.peak_at == at(14, 10, 0)
    # It carries on in the same period: lower intervals keep the peak, higher ones raise it.
    restored.add(at(14, 12, 0), 30.0)
    restored.add(at(14, 12, 30), 90.0)
    restored.add(at(14, 12, 50), 0.0)
    assert restored.peak_kw == pytest.approx(90.0)
    assert restored.peak_at == at(14, 12, 30)


def test_empty_tracker_as_dict() -> None:
    assert PeakTracker().as_dict() == {
        "billing_day": 1,
        "interval_min": 15,
        "period": None,
        "peak_kw": 0.0,
        "peak_at": None,
    }
    restored = PeakTracker.from_dict({"billing_day": 1}, 1)
    assert (restored.period, restored.peak_kw, restored.peak_at) == (None, 0.0, None)


@pytest.mark.parametrize(
    "data",
    [
        {"billing_day": 3, "period": "2025-07-01", "peak_kw": 70.0, "peak_at": None},  # changed
        {"billing_day": 1, "period": "July", "peak_kw": 70.0},
        {"billing_day": 1, "period": "2025-07-01", "peak_kw": "lots"},
        {"billing_day": 1, "period": "2025-07-01", "peak_kw": None},
        {"billing_day": 1, "period": "2025-07-01", "peak_kw": 1.0, "peak_at": "noon"},
        {"billing_day": 1, "period": 20250701, "peak_kw": 1.0},
    ],
)
def test_unusable_saved_data_starts_fresh(data: dict[str, Any]) -> None:
    restored = PeakTracker.from_dict(data, 1)
    assert restored.billing_day == 1
    assert (restored.period, restored.peak_kw, restored.peak_at) == (None, 0.0, None)


def test_gap_across_the_billing_day_bills_the_new_period_intervals() -> None:
    tracker = PeakTracker(billing_day=1)
    tracker.add(datetime(2025, 7, 31, 23, 30, tzinfo=TOKYO), 100.0)
    tracker.add(datetime(2025, 8, 1, 0, 20, tzinfo=TOKYO), 10.0)
    # 00:00-00:15 on 1 August averaged 100 kW and is complete.
    assert tracker.period == date(2025, 8, 1)
    assert tracker.peak_kw == pytest.approx(100.0)


# --- daylight-saving changes ------------------------------------------------------------
# 26 October 2025: 02:00-03:00 happens twice in Amsterdam, first CEST (UTC+2), then CET.


def autumn(hour: int, minute: int) -> datetime:
    """A local time on 26 October 2025 in Amsterdam, given by its UTC time."""
    return datetime(2025, 10, 26, hour, minute, tzinfo=UTC).astimezone(AMSTERDAM)


def test_the_repeated_autumn_hour_is_measured_in_real_time() -> None:
    tracker = PeakTracker()
    # Every reading holds 15 real minutes: 02:30, 02:45 (CEST), 02:00, 02:15 (CET), 02:30.
    readings = [(autumn(0, 30), 10.0), (autumn(0, 45), 60.0), (autumn(1, 0), 20.0)]
    readings += [(autumn(1, 15), 30.0), (autumn(1, 30), 0.0)]
    assert [moment.fold for moment, _ in readings] == [0, 0, 1, 1, 1]
    previous: float | None = None
    for moment, kw in readings:
        tracker.add(moment, kw)
        # Each reading is later than the one before, although its wall clock may be
        # earlier: the previous reading filled the interval just ended.
        assert tracker.current_average_kw() == previous
        previous = kw
    # Four complete intervals averaged 10, 60, 20 and 30 kW: the CEST 02:45 one is the peak.
    assert tracker.peak_kw == pytest.approx(60.0)
    assert tracker.peak_at is not None
    assert tracker.peak_at.astimezone(UTC) == datetime(2025, 10, 26, 0, 45, tzinfo=UTC)
    assert tracker.as_dict()["peak_at"] == "2025-10-26T02:45:00+02:00"


def test_a_peak_in_the_second_pass_keeps_its_offset() -> None:
    tracker = PeakTracker()
    tracker.add(autumn(0, 50), 40.0)  # 02:50 CEST
    tracker.add(autumn(1, 5), 90.0)  # 02:05 CET, 15 real minutes later
    tracker.add(autumn(1, 20), 0.0)  # 02:20 CET
    # 02:45-03:00 CEST: 40 kW for 10 min. 02:00-02:15 CET: 40 kW for 5 min, 90 kW for 10.
    assert tracker.peak_kw == pytest.approx((40.0 * 5 + 90.0 * 10) / 15)
    assert tracker.peak_at is not None
    assert tracker.peak_at.fold == 1
    assert tracker.as_dict()["peak_at"] == "2025-10-26T02:00:00+01:00"
    assert tracker.current_average_kw() == pytest.approx(90.0)  # 02:15 CET, 5 min at 90 kW
    restored = PeakTracker.from_dict(json.loads(json.dumps(tracker.as_dict())), 1)
    assert restored.peak_at is not None
    assert restored.peak_at.astimezone(UTC) == tracker.peak_at.astimezone(UTC)


def test_a_reading_in_the_second_pass_is_not_out_of_order() -> None:
    tracker = PeakTracker()
    tracker.add(autumn(0, 50), 40.0)  # 02:50 CEST
    tracker.add(autumn(1, 5), 90.0)  # 02:05 CET: earlier on the wall clock, later in fact
    tracker.add(autumn(1, 6), 0.0)
    # The first 02:45 (CEST) interval closed at 02:00 CET with 40 kW over 10 minutes.
    assert tracker.peak_kw == pytest.approx(40.0)
    assert tracker.peak_at == autumn(0, 45)
    assert tracker.current_average_kw() == pytest.approx((40.0 * 5 + 90.0) / 6)


def test_spring_forward_intervals() -> None:
    # 30 March 2025: 02:00 CET is 03:00 CEST; the hour between never happens.
    tracker = PeakTracker()
    start = datetime(2025, 3, 30, 1, 45, tzinfo=AMSTERDAM)
    after_gap = (start.astimezone(UTC) + timedelta(minutes=15)).astimezone(AMSTERDAM)
    assert (after_gap.hour, after_gap.minute) == (3, 0)
    tracker.add(start, 0.0)
    tracker.add(datetime(2025, 3, 30, 1, 55, tzinfo=AMSTERDAM), 90.0)
    tracker.add(after_gap, 0.0)
    tracker.add(datetime(2025, 3, 30, 3, 20, tzinfo=AMSTERDAM), 0.0)
    # 01:45-02:00 CET averaged 30 kW; the 90 kW reading held 5 real minutes, not through
    # a missing hour of 02:xx intervals.
    assert tracker.peak_kw == pytest.approx(30.0)
    assert tracker.peak_at == start
    assert tracker.current_average_kw() == pytest.approx(0.0)


def test_interval_so_far_counts_the_reading_in_force() -> None:
    tracker = PeakTracker()
    tracker.add(at(14, 10, 14), 100.0)  # in the 10:00 interval, in force until 10:16
    tracker.add(at(14, 10, 16), 60.0)
    # At 10:21 the 10:15 interval has run 6 minutes: one at 100 kW, five at 60 kW.
    interval = tracker.interval_so_far(at(14, 10, 21))
    assert interval.length_h == pytest.approx(0.25)
    assert interval.elapsed_h == pytest.approx(0.1)
    assert interval.imported_kwh == pytest.approx(100 / 60 + 60 * 5 / 60)


def test_interval_so_far_before_any_reading_counts_from_the_first() -> None:
    tracker = PeakTracker()
    assert tracker.interval_so_far(at(14, 10, 0)).elapsed_h == 0.0
    # Home Assistant started at 10:05: the interval is what is measured of it.
    tracker.add(at(14, 10, 5), 50.0)
    interval = tracker.interval_so_far(at(14, 10, 8))
    assert interval.length_h == pytest.approx(10 / 60)
    assert interval.elapsed_h == pytest.approx(3 / 60)
    assert interval.imported_kwh == pytest.approx(2.5)
    # Holding 52 kW over the 10 measured minutes: the 3 at 50 kW are made up in the 7 left.
    assert interval.allowed_import_kw(52.0) == pytest.approx((52 * 10 - 50 * 3) / 7)


def test_a_30_minute_demand_interval_averages_half_hours() -> None:
    tracker = PeakTracker(interval_min=30)
    tracker.add(at(14, 10, 0), 100.0)
    tracker.add(at(14, 10, 10), 40.0)
    tracker.add(at(14, 10, 30), 40.0)
    tracker.add(at(14, 10, 35), 40.0)
    # 10:00-10:30: 100 kW for 10 min and 40 kW for 20; a 15-minute tariff would bill 80.
    assert tracker.peak_kw == pytest.approx(60.0)
    assert tracker.peak_at == at(14, 10, 0)
    interval = tracker.interval_so_far(at(14, 10, 45))
    assert interval.length_h == pytest.approx(0.5)
    assert interval.elapsed_h == pytest.approx(0.25)


def test_a_saved_peak_of_another_interval_starts_over() -> None:
    tracker = PeakTracker()
    tracker.add(at(14, 10, 0), 70.0)
    tracker.add(at(14, 10, 20), 0.0)
    saved = json.loads(json.dumps(tracker.as_dict()))
    assert PeakTracker.from_dict(saved, 1, 15).peak_kw == pytest.approx(70.0)
    fresh = PeakTracker.from_dict(saved, 1, 30)
    assert (fresh.interval_min, fresh.peak_kw, fresh.period) == (30, 0.0, None)
    # A tracker saved before the interval was an option kept 15-minute averages.
    del saved["interval_min"]
    assert PeakTracker.from_dict(saved, 1, 15).peak_kw == pytest.approx(70.0)
    assert PeakTracker.from_dict(saved, 1, 60).peak_kw == 0.0


@pytest.mark.parametrize("minutes", [0, 5, 20, 45, 120, -15])
def test_only_a_tariffs_demand_intervals(minutes: int) -> None:
    with pytest.raises(PlannerInputError, match="demand interval"):
        PeakTracker(interval_min=minutes)


def test_plan_billing_of_a_plan_inside_a_half_hour() -> None:
    tracker = PeakTracker(interval_min=30)
    tracker.add(at(14, 10, 0), 90.0)
    tracker.add(at(14, 10, 10), 30.0)
    # Planned at 10:20 from the 10:15 step: one step of the interval is past, its import
    # estimated from the 20 minutes measured (90 kW for 10, 30 for 10: 60 kW average).
    billing = tracker.plan_billing(at(14, 10, 15), at(14, 10, 20), timedelta(minutes=15))
    assert (billing.steps, billing.offset) == (2, 1)
    assert billing.so_far_kwh == pytest.approx(60.0 * 0.25)
    # From the half hour, nothing of the interval is past.
    billing = tracker.plan_billing(at(14, 10, 30), at(14, 10, 31), timedelta(minutes=15))
    assert (billing.steps, billing.offset, billing.so_far_kwh) == (2, 0, 0.0)
    # Five-minute steps in an hour's interval: 20:45 is nine steps into it.
    hourly = PeakTracker(interval_min=60)
    hourly.add(at(14, 20, 45), 12.0)
    billing = hourly.plan_billing(at(14, 20, 45), at(14, 20, 45), timedelta(minutes=5))
    assert (billing.steps, billing.offset) == (12, 9)
    assert billing.so_far_kwh == pytest.approx(12.0 * 0.75)  # the reading in force
    assert PeakTracker().plan_billing(at(14, 9, 0), at(14, 9, 1), timedelta(minutes=15)) == (
        billing.__class__(peak_kw=0.0, steps=1, offset=0, so_far_kwh=0.0)
    )
