"""Today's ledger: what the steps past cost, and what today is expected to cost and save."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from custom_components.v2x.planner.baseline import Comparison, Outcome
from custom_components.v2x.planner.ledger import Ledger, import_cost
from custom_components.v2x.planner.model import FloatArray, Plan

TOKYO = ZoneInfo("Asia/Tokyo")
STEP = timedelta(minutes=15)


def _plan(grid_kw: list[float], price: list[float]) -> Plan:
    grid: FloatArray = np.array(grid_kw)
    return Plan(
        status="optimal",
        step_h=0.25,
        load_kw=grid,
        grid_kw=grid,
        price=np.array(price),
        vehicles=(),
        peak_kw=float(grid.max()),
        import_excess_kw=np.zeros(len(grid)),
        energy_cost=0.0,
        objective=0.0,
        solve_time_s=0.0,
    )


def _comparison(baseline_kw: list[float], demand_saved: float) -> Comparison:
    grid: FloatArray = np.array(baseline_kw)
    return Comparison(
        planned=Outcome(grid_kw=grid, peak_kw=0.0, energy_cost=0.0, demand_cost=1.0),
        plug_and_charge=Outcome(
            grid_kw=grid, peak_kw=0.0, energy_cost=0.0, demand_cost=1.0 + demand_saved
        ),
        building_only_peak_kw=0.0,
    )


def test_import_cost_counts_imports_only() -> None:
    plan = _plan([10.0, -4.0, 8.0], [0.2, 0.3, 0.5])
    assert import_cost(plan, plan.grid_kw, slice(0, 2)) == pytest.approx(0.25 * 0.2 * 10.0)
    mask = np.array([False, True, True])
    assert import_cost(plan, plan.grid_kw, mask) == pytest.approx(0.25 * 0.5 * 8.0)


def test_close_step_books_the_first_step_of_the_plan_in_force() -> None:
    ledger = Ledger()
    plan = _plan([10.0, 20.0], [0.2, 0.2])
    comparison = _comparison([12.0, 20.0], 0.0)
    start = datetime(2026, 11, 18, 14, 0, tzinfo=TOKYO)
    ledger.close_step(plan, comparison, None, start)  # nothing in force yet
    assert (ledger.day, ledger.cost) == ("2026-11-18", 0.0)
    ledger.close_step(plan, comparison, start, start + STEP)
    assert ledger.cost == pytest.approx(0.25 * 0.2 * 10.0)
    assert ledger.baseline_cost == pytest.approx(0.25 * 0.2 * 12.0)
    ledger.close_step(None, None, start + STEP, start + 2 * STEP)  # no plan: nothing
    assert ledger.cost == pytest.approx(0.5)


def test_a_new_day_starts_over_and_yesterday_is_not_booked() -> None:
    ledger = Ledger("2026-11-18", 3.0, 4.0)
    plan = _plan([10.0], [0.2])
    before_midnight = datetime(2026, 11, 18, 23, 45, tzinfo=TOKYO)
    ledger.close_step(plan, _comparison([10.0], 0.0), before_midnight, before_midnight + STEP)
    assert ledger.as_dict() == {"day": "2026-11-19", "cost": 0.0, "baseline_cost": 0.0}


def test_expected_today() -> None:
    ledger = Ledger("2026-11-18", 1.0, 2.0)
    start = datetime(2026, 11, 18, 23, 30, tzinfo=TOKYO)
    plan = _plan([10.0, 10.0, 50.0], [0.2, 0.2, 0.2])  # the last step is tomorrow
    cost, savings = ledger.expected_today(plan, _comparison([20.0, 20.0, 0.0], 5.0), start, STEP)
    assert cost is not None
    assert cost == pytest.approx(1.0 + 0.25 * 0.2 * 20.0)
    assert savings == pytest.approx(2.0 + 0.25 * 0.2 * 40.0 - cost + 5.0)
    assert ledger.expected_today(None, None, start, STEP) == (None, None)


def test_round_trip() -> None:
    ledger = Ledger("2026-11-18", 1.5, 2.5)
    assert Ledger.from_dict(ledger.as_dict()) == ledger
    assert Ledger.from_dict({}) == Ledger()
