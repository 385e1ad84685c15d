"""Billing as tariffs bill: the demand charge on the highest interval average, not step.

A plan at 5-minute steps under a 15-minute tariff, or at 15-minute steps under a
30-minute one (Japan's high-voltage contracts), is billed on the average import of each
demand interval; the interval under way when the plan starts already holds what the
building imported before it.
"""

from __future__ import annotations

from dataclasses import replace
import math

import numpy as np
import pytest

from custom_components.v2x.planner import lp
from custom_components.v2x.planner.baseline import compare, outcome
from custom_components.v2x.planner.model import BillingBlocks, PlanInput, PlannerInputError

from .scenarios import car

FIVE_MINUTES_H = 5 / 60


def _day(load: list[float], price: list[float], **changes: object) -> PlanInput:
    data = PlanInput(
        step_h=FIVE_MINUTES_H,
        load_kw=np.asarray(load, dtype=float),
        price=np.asarray(price, dtype=float),
        vehicles=(),
        demand_charge_per_kw=10.0,
    )
    return replace(data, **changes)  # type: ignore[arg-type]


def test_blocks_of_a_horizon_that_starts_and_ends_inside_an_interval() -> None:
    data = _day(
        [1.0] * 7,
        [0.1] * 7,
        billing_steps=3,
        billing_offset=1,
        billing_so_far_kwh=2.0,
        demand_mask=np.array([False, False, False, False, False, True, False]),
    )
    blocks = BillingBlocks.of(data)
    assert blocks.of_step.tolist() == [0, 0, 1, 1, 1, 2, 2]
    # The first interval counts its past step; the last is cut short by the horizon.
    assert blocks.length_h == pytest.approx(np.array([3, 3, 2]) * FIVE_MINUTES_H)
    assert blocks.so_far_kwh.tolist() == [2.0, 0.0, 0.0]
    assert blocks.billed.tolist() == [False, False, True]
    imports = np.array([6.0, 12.0, 30.0, 30.0, 0.0, 9.0, 3.0])
    averages = blocks.averages(imports, FIVE_MINUTES_H)
    assert averages == pytest.approx(
        [(2.0 + 18 * FIVE_MINUTES_H) / (3 * FIVE_MINUTES_H), 20.0, 6.0]
    )
    assert blocks.peak_kw(imports, FIVE_MINUTES_H) == pytest.approx(6.0)


def test_one_step_per_interval_bills_the_highest_step() -> None:
    data = _day([40.0, 90.0, 60.0], [0.1] * 3)
    assert outcome(data, data.load_kw).peak_kw == 90.0
    assert outcome(replace(data, billing_steps=3), data.load_kw).peak_kw == pytest.approx(190 / 3)


def test_charging_goes_where_the_interval_average_is_low() -> None:
    """A 5-minute spike in the first quarter hour, a lower second one, a cheaper first.

    Billed per step, the spike sets the peak at 80 kW, so any charging in the cheap
    first quarter hour looks free of demand charge; billed as the tariff bills, the
    first quarter hour averages 60 kW and charging there raises it. The interval plan
    charges in the second quarter hour and keeps the bill at 60 kW; the step plan
    costs 2 kW of demand charge more (at 10/kW) to save 0.05 per kWh.
    """
    data = _day(
        [50.0, 50.0, 80.0, 40.0, 40.0, 40.0],
        [0.10, 0.10, 0.10, 0.15, 0.15, 0.15],
        vehicles=(
            car(
                "leaf",
                energy_kwh=10.0,
                target_kwh=10.5,
                departure_step=6,
                max_discharge_kw=0.0,
                reserve_kwh=0.0,
                round_trip_efficiency=1.0,
            ),
        ),
        billing_steps=3,
    )
    per_interval = lp.solve(data)
    per_step = lp.solve(replace(data, billing_steps=1))
    charged_first = float(per_step.vehicle("leaf").power_kw[:3].sum())
    assert charged_first == pytest.approx(6.0)  # 0.5 kWh in the cheap quarter hour
    assert per_interval.vehicle("leaf").power_kw[:3] == pytest.approx(0.0, abs=1e-6)
    assert per_interval.peak_kw == pytest.approx(60.0)
    billed_step_plan = outcome(data, per_step.grid_kw)
    assert billed_step_plan.peak_kw == pytest.approx(62.0)
    assert billed_step_plan.total_cost > outcome(data, per_interval.grid_kw).total_cost + 19.0


def test_the_past_of_the_interval_under_way_counts() -> None:
    # Two of the interval's three steps are past at 90 kW: the first step's import
    # decides how far above 60 kW the average of the interval ends.
    data = _day(
        [30.0, 30.0, 30.0, 30.0],
        [0.1] * 4,
        billing_steps=3,
        billing_offset=2,
        billing_so_far_kwh=2 * 90.0 * FIVE_MINUTES_H,
        vehicles=(car("leaf", energy_kwh=20.0, target_kwh=10.0, departure_step=4),),
    )
    plan = lp.solve(data)
    first = float(plan.grid_kw[0])
    assert plan.peak_kw == pytest.approx((180.0 + first) / 3)
    assert first == pytest.approx(24.0)  # the car discharges into the first step
    assert compare(data, plan).building_only_peak_kw == pytest.approx(70.0)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"billing_steps": 0}, "billing_steps must be a whole number from 1"),
        ({"billing_steps": 97}, "billing_steps must be a whole number from 1"),
        ({"billing_steps": 1.5}, "billing_steps must be a whole number from 1"),
        ({"billing_steps": True}, "billing_steps must be a whole number from 1"),
        ({"billing_steps": 3, "billing_offset": 3}, "billing_offset a whole number below it"),
        ({"billing_steps": 3, "billing_offset": -1}, "billing_offset a whole number below it"),
        ({"billing_so_far_kwh": -1.0}, "billing_so_far_kwh must be between 0"),
        ({"billing_so_far_kwh": 2e6}, "billing_so_far_kwh must be between 0"),
        ({"billing_so_far_kwh": math.nan}, "billing_so_far_kwh must be finite"),
    ],
)
def test_a_billing_interval_that_cannot_be_is_refused(
    changes: dict[str, object], message: str
) -> None:
    data = _day([10.0, 10.0], [0.1, 0.1], **changes)
    with pytest.raises(PlannerInputError, match=message):
        lp.solve(data)
