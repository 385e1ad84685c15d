"""The load and prices a plan is made on: forecast, learned profile or measurement; nowcast."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from custom_components.v2x.planner.nowcast import load_forecast, prices
from custom_components.v2x.planner.series import LoadProfile, step_starts

TOKYO = ZoneInfo("Asia/Tokyo")
STEP = timedelta(minutes=15)
START = datetime(2026, 11, 18, 8, 0, tzinfo=TOKYO)
STARTS = step_starts(START, 4, STEP)


def test_nothing_known() -> None:
    load, source = load_forecast(STARTS, STEP, measured_kw=None, profile=LoadProfile())
    assert source == "none"
    assert load.tolist() == [0.0] * 4


def test_measured_now_stands_for_every_step() -> None:
    load, source = load_forecast(STARTS, STEP, measured_kw=30.0, profile=LoadProfile())
    assert source == "measured"
    assert load.tolist() == [30.0] * 4


def _ramp_profile() -> LoadProfile:
    """A learned morning ramp: 10 kW at 07:45, then 20, 30, 40, 50 kW."""
    ramp = step_starts(START - STEP, 5, STEP)
    return LoadProfile.learn([(moment, 10.0 * (i + 1)) for i, moment in enumerate(ramp)])


def test_learned_profile_and_the_nowcast() -> None:
    profile = _ramp_profile()
    load, source = load_forecast(STARTS, STEP, measured_kw=None, profile=profile)
    assert source == "learned"
    assert load.tolist() == pytest.approx([20.0, 30.0, 40.0, 50.0])
    # A reading taken in the step under way moves that step to the reading.
    load, _ = load_forecast(
        STARTS, STEP, measured_kw=25.0, profile=profile, reading_at=START + timedelta(minutes=1)
    )
    assert load.tolist() == pytest.approx([25.0, 30.0, 40.0, 50.0])
    # A reading from the step that just ended is moved by the ramp to this one.
    load, _ = load_forecast(
        STARTS, STEP, measured_kw=12.0, profile=profile, reading_at=START - timedelta(minutes=1)
    )
    assert load[0] == pytest.approx(12.0 + 20.0 - 10.0)


def test_a_forecast_entity_wins_where_it_tells() -> None:
    points = [(START, 5.0), (START + STEP, 6.0)]
    load, source = load_forecast(
        STARTS,
        STEP,
        measured_kw=None,
        profile=_ramp_profile(),
        forecast=points,
        forecast_scale=2.0,
    )
    assert source == "forecast"
    assert load[:2].tolist() == pytest.approx([10.0, 12.0])


def test_prices() -> None:
    tariff = np.array([0.2, 0.2, 0.3, 0.3])
    assert prices(STARTS, STEP, tariff, [], None).tolist() == pytest.approx(tariff.tolist())
    assert prices(STARTS, STEP, tariff, [], 0.5).tolist() == pytest.approx([0.5, 0.2, 0.3, 0.3])
    forecast = [(START + STEP, 0.1)]
    values = prices(STARTS, STEP, tariff, forecast, 0.5)
    assert values[0] == pytest.approx(0.5)
    assert values[1] == pytest.approx(0.1)
