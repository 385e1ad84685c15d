"""The building's plan executed by Home Assistant on simulated chargers, in virtual time.

``test_afternoon_follows_the_plan`` runs in every test run (about 20 s). The whole-day
benchmark (``python -m benchmarks.v2b_closed_loop``) runs the same co-simulation
through ``test_day_for_the_benchmark``, which is skipped unless the benchmark asks.
"""

from __future__ import annotations

from datetime import date, time
import json
import os
from pathlib import Path
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import numpy as np
import pytest

from custom_components.v2x.devices import quasar

from .closed_loop import Car, CoSimulation, Day, DayResult

# An office afternoon: 100 kW, a 140 kW peak 14:00-15:00, then 90 kW until night.
AFTERNOON = np.interp(np.arange(96) / 4, [0, 13, 14, 15, 15.5, 24], [90, 100, 140, 140, 90, 90])
BENCHMARK_ENV = "V2X_CLOSED_LOOP_DAY"


def _afternoon(actual_load_kw: np.ndarray[Any, np.dtype[np.float64]] | None = None) -> Day:
    """A Wednesday (the peak price applies) 13:30-16:45, two cars in since midnight."""
    return Day(
        day=date(2026, 11, 18),
        base_load_kw=AFTERNOON,
        actual_load_kw=actual_load_kw,
        start=time(13, 30),
        end=time(16, 45),
        cars=(
            Car("bay 1", time(0), time(16, 30), 80.0),
            Car("bay 2", time(0), time(16, 40), 75.0),
        ),
    )


async def _run(hass: HomeAssistant, freezer: FrozenDateTimeFactory, day: Day) -> DayResult:
    loop = CoSimulation(hass, freezer, day)
    await loop.async_start()
    try:
        return await loop.async_run()
    finally:
        await loop.async_stop()


@pytest.mark.timeout(600)
async def test_afternoon_follows_the_plan(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, allow_loopback: None
) -> None:
    result = await _run(hass, freezer, _afternoon())

    assert result.ticks == 3 * 3600 + 15 * 60
    assert result.watchdog_expiries == 0
    # Every tick settled before the clock moved on: the day did not depend on how fast
    # this machine is.
    assert result.late_settles == 0
    # The cars discharged through the 140 kW hour: the building peaked near 134 kW,
    # as the plan said once both cars were in.
    assert result.morning_planned_peak_kw is not None
    assert result.measured_peak_kw < 135.0
    assert result.measured_peak_kw == pytest.approx(result.morning_planned_peak_kw, abs=0.5)
    assert min(step.vehicles_kw for step in result.steps) < -5.0
    # Every step after the first drew what its plan said, to 0.25 kW (of 12 kW of cars),
    # also the one where both cars left.
    errors = result.step_errors_kw()
    moved = result.step_errors_kw(car_moved=True)
    assert (len(errors), len(moved)) == (len(result.steps) - 2, 1)
    assert max(errors + moved) < 0.25
    # Both cars left at their target.
    assert [departure.name for departure in result.departures] == ["bay 1", "bay 2"]
    for departure in result.departures:
        assert departure.soc_pct >= departure.target_soc_pct - 0.1, departure


@pytest.mark.timeout(600)
async def test_the_guard_holds_the_peak_when_the_load_is_not_the_forecast(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, allow_loopback: None
) -> None:
    """The forecast misses 5 kW for the last 10 minutes of a peak step (14:20-14:30).

    The step's plan was made at 14:15, before the load rose, so only the real-time
    guard can hold the 15-minute average: it raises the cars' discharge within seconds
    (the plan discharges them at about 3 kW each; they can do 6).
    """
    actual = np.repeat(AFTERNOON, 15)
    surprise = slice(14 * 60 + 20, 14 * 60 + 30)
    actual[surprise] += 5.0
    result = await _run(hass, freezer, _afternoon(actual_load_kw=actual))

    assert result.late_settles == 0
    step = next(step for step in result.steps if step.start.time() == time(14, 15))
    assert step.planned_kw is not None
    # Unguarded, the step would have averaged 5 kW x 10/15 = 3.3 kW above its plan; the
    # guard lets it end within its tolerance (0.5 % of the peak, 0.67 kW).
    unguarded_kw = step.planned_kw + 5.0 * 10 / 15
    assert step.measured_kw < step.planned_kw + 0.005 * step.planned_kw < unguarded_kw
    assert result.guard_ticks.get("discharge", 0) > 8 * 60
    # "Over" (the cars at their limit): with a charger's minimum, what is left is room a
    # charger cannot run (a car with less than its 1.38 kW minimum to give stops), and
    # how long that lasts depends on the SoC the cars reach (up to half an hour here on
    # the newest Home Assistant, whose polls land a tick apart; in passing on 2025.4).
    # No step's average ends more than that minimum above its plan.
    excess = [s.measured_kw - s.planned_kw for s in result.steps[1:] if s.planned_kw is not None]
    assert max(excess) < quasar.MIN_POWER_W / 1000
    assert result.guard_ticks.get("over", 0) <= 31 * 60
    # The extra discharge is recharged before the cars leave, so later plans hold a
    # slightly higher peak; the day's peak stays well below what the surprise alone made.
    # With the Quasar's minimum the room a car has below it is lost: 135.40 kW on 2025.4,
    # 136.68 kW on the newest release (benchmarks/RESULTS.md), 137.45 kW unguarded.
    assert result.measured_peak_kw < unguarded_kw - 0.5
    # Both cars left at their target.
    for departure in result.departures:
        assert departure.soc_pct >= departure.target_soc_pct - 0.1, departure


@pytest.mark.skipif(BENCHMARK_ENV not in os.environ, reason="run by benchmarks.v2b_closed_loop")
async def test_day_for_the_benchmark(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, allow_loopback: None
) -> None:
    """The benchmark's day: scenario from the JSON file it names, results next to it."""
    path = Path(os.environ[BENCHMARK_ENV])
    scenario = json.loads(await hass.async_add_executor_job(path.read_text, "utf-8"))
    day = Day(
        day=date.fromisoformat(scenario["day"]),
        base_load_kw=np.asarray(scenario["base_load_kw"], dtype=np.float64),
        cars=tuple(
            Car(
                car["name"],
                time.fromisoformat(car["arrival"]),
                time.fromisoformat(car["departure"]),
                float(car["arrival_soc_pct"]),
                float(car["target_soc_pct"]),
                float(car["reserve_soc_pct"]),
                float(car["capacity_kwh"]),
            )
            for car in scenario["cars"]
        ),
        charger_w=int(scenario["charger_w"]),
        offpeak_price=float(scenario["offpeak_price"]),
        peak_price=float(scenario["peak_price"]),
        peak_hours=(
            time.fromisoformat(scenario["peak_start"]),
            time.fromisoformat(scenario["peak_end"]),
        ),
        demand_charge_per_kw=float(scenario["demand_charge_per_kw"]),
    )
    result = await _run(hass, freezer, day)
    output = path.with_suffix(".result.json")
    await hass.async_add_executor_job(output.write_text, json.dumps(result.as_dict()), "utf-8")
    assert result.steps
