"""A car's next departure, today's steps, times of day from the options."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from custom_components.v2x.planner.schedule import (
    DEPARTURE_GRACE,
    RELEARN_EVERY,
    STEP,
    next_departure,
    parse_time,
    tick_work,
    todays_steps,
)
from custom_components.v2x.planner.series import step_starts

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 11, 18, 14, 5, tzinfo=TOKYO)


def test_departure_later_today_or_tomorrow() -> None:
    assert next_departure(NOW, time(17, 30), None) == NOW.replace(hour=17, minute=30, second=0)
    tomorrow = next_departure(NOW.replace(hour=20), time(7, 30), None)
    assert tomorrow == datetime(2026, 11, 19, 7, 30, tzinfo=TOKYO)


def test_overdue_car_leaves_at_the_end_of_the_coming_step() -> None:
    assert next_departure(NOW, time(14, 0), None) == NOW + STEP
    after_grace = NOW.replace(hour=14) + DEPARTURE_GRACE
    assert next_departure(after_grace, time(14, 0), None) == datetime(
        2026, 11, 19, 14, 0, tzinfo=TOKYO
    )


def test_an_override_wins_while_it_is_ahead() -> None:
    override = NOW + timedelta(hours=1)
    assert next_departure(NOW, time(17, 0), override) == override
    past = NOW - timedelta(minutes=1)
    assert next_departure(NOW, time(17, 0), past) == NOW.replace(hour=17, minute=0, second=0)


def test_todays_steps_end_at_midnight() -> None:
    starts = step_starts(NOW.replace(hour=23, minute=0), 8, STEP)
    assert todays_steps(starts).tolist() == [True] * 4 + [False] * 4


def test_parse_time_falls_back() -> None:
    assert parse_time("07:45", "08:00") == time(7, 45)
    assert parse_time("7 o'clock", "08:00") == time(8, 0)
    assert parse_time(None, "08:00:00") == time(8, 0)


def test_a_building_never_planned_plans_and_waits_to_learn() -> None:
    work = tick_work(NOW, planned_step=None, learned_at=None, presence_changed=False)
    assert work.step == NOW.replace(minute=0)
    assert (work.new_step, work.replan, work.relearn) == (True, True, False)


def test_the_same_step_plans_again_only_when_a_car_changed() -> None:
    step = NOW.replace(minute=0)
    quiet = tick_work(NOW, planned_step=step, learned_at=NOW, presence_changed=False)
    assert (quiet.new_step, quiet.replan, quiet.relearn) == (False, False, False)
    moved = tick_work(NOW, planned_step=step, learned_at=NOW, presence_changed=True)
    assert (moved.new_step, moved.replan) == (False, True)


def test_a_new_step_books_and_plans_and_learning_is_due_after_six_hours() -> None:
    step = NOW.replace(minute=0)
    later = NOW + STEP
    work = tick_work(
        later, planned_step=step, learned_at=later - RELEARN_EVERY, presence_changed=False
    )
    assert work.step == step + STEP
    assert (work.new_step, work.replan, work.relearn) == (True, True, True)
    early = tick_work(
        later,
        planned_step=step,
        learned_at=later - RELEARN_EVERY + timedelta(seconds=1),
        presence_changed=False,
    )
    assert early.relearn is False


def test_the_same_instant_in_another_zone_is_the_same_step() -> None:
    step_utc = NOW.replace(minute=0).astimezone(ZoneInfo("UTC"))
    work = tick_work(NOW, planned_step=step_utc, learned_at=None, presence_changed=False)
    assert work.new_step is False
