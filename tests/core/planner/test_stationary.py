"""A stationary battery in the plan: constructed cases, validation, guard and baseline.

The random cases (``scenarios.vehicles`` draws a stationary battery one time in four)
are checked against the independent model in ``test_lp_independent`` and against the
invariants in ``test_lp_invariants``; here are the cases whose outcome is known.
"""

from __future__ import annotations

from dataclasses import replace
import math

import numpy as np
import pytest

from custom_components.v2x.planner import lp
from custom_components.v2x.planner.baseline import plug_and_charge_kw
from custom_components.v2x.planner.guard import BillingInterval, guard, guard_cars
from custom_components.v2x.planner.model import PlanInput, PlannerInputError
from custom_components.v2x.planner.policy import vehicle_spec

from .scenarios import battery, car
from .test_lp_independent import assert_same_optimum

TOL = 1e-6
STEPS = 24
CHEAP, DEAR = 0.10, 0.30
PEAK = slice(12, 16)


def _office_day(*vehicles: object, demand_charge: float = 5.0) -> PlanInput:
    """24 hours: 20 kW with a 26 kW peak from 12:00 to 16:00; cheap before 07:00 and
    from 20:00, dear in between; a demand charge on every hour."""
    load = np.full(STEPS, 20.0)
    load[PEAK] = 26.0
    price = np.full(STEPS, DEAR)
    price[:7] = price[20:] = CHEAP
    return PlanInput(
        step_h=1.0,
        load_kw=load,
        price=price,
        vehicles=tuple(vehicles),  # type: ignore[arg-type]
        demand_charge_per_kw=demand_charge,
    )


def test_a_stationary_battery_cuts_the_peak() -> None:
    """At its reserve in the morning, it charges in the cheap hours, discharges at the
    peak, and ends no lower than its reserve; it never has a departure or a shortfall."""
    data = _office_day(battery("battery", energy_kwh=2.0))
    plan = assert_same_optimum(data)
    planned = plan.vehicle("battery")
    power, energy = planned.power_kw, planned.energy_kwh
    assert np.all(power[PEAK] < -0.5)  # every peak hour
    charging = np.flatnonzero(power > TOL)
    assert charging.size
    assert np.all(data.price[charging] == CHEAP)  # off-peak only
    assert float(power[:7].sum()) > 0.0
    assert np.all(energy >= 2.0 - TOL)
    assert energy[-1] >= 2.0 - TOL
    # All it can hold above its reserve, delivered over the four peak hours.
    usable_ac = (10.0 - 2.0) * math.sqrt(0.9)
    assert plan.peak_kw == pytest.approx(26.0 - usable_ac / 4, abs=1e-6)
    assert planned.stationary
    assert planned.beyond_horizon
    assert planned.shortfall_kwh == 0.0
    assert planned.departure_step == STEPS
    assert planned.target_kwh == 2.0
    assert plan.feasible


def test_a_stationary_battery_is_neither_emptied_nor_filled_for_nothing() -> None:
    """A flat price and no demand charge: what it holds at the end is worth what it
    would cost to buy back, so discharging it saves nothing and charging it gains
    nothing. (Valued at 0, it would be emptied to its reserve.)"""
    flat = replace(_office_day(battery(), demand_charge=0.0), price=np.full(STEPS, 0.2))
    plan = assert_same_optimum(flat)
    assert np.all(np.abs(plan.vehicles[0].power_kw) < TOL)
    # A price dear enough to beat the round trip (0.1 / 0.9 per kWh back) is worth it.
    price = flat.price.copy()
    price[-1] = 0.3
    late = assert_same_optimum(replace(flat, price=price))
    assert float(late.vehicles[0].power_kw[-1]) < -1.0
    assert float(late.vehicles[0].energy_kwh[-1]) >= 2.0 - TOL


def test_a_full_stationary_battery_sells_in_dear_hours_what_it_buys_back_cheap() -> None:
    """Full, no demand charge: a kWh discharged in a dear hour saves more than buying it
    back at the cheapest price costs (0.3 * 0.95 > 0.1 / 0.95), so it ends at its reserve,
    having discharged only in dear hours and never above its capacity."""
    data = _office_day(battery(energy_kwh=10.0), demand_charge=0.0)
    plan = assert_same_optimum(data)
    power, energy = plan.vehicles[0].power_kw, plan.vehicles[0].energy_kwh
    assert np.all(energy <= 10.0 + TOL)
    assert energy[-1] == pytest.approx(2.0, abs=1e-6)
    assert np.all(power[data.price == CHEAP] >= -TOL)
    assert np.all(power <= TOL)


def test_a_stationary_battery_never_charges_a_car() -> None:
    """Under an import limit a car must charge; the battery could feed it through the
    building (the relaxation does), but no car charges while a battery discharges."""
    data = PlanInput(
        step_h=1.0,
        load_kw=np.full(6, 10.0),
        price=np.full(6, 0.2),
        vehicles=(
            battery("battery", energy_kwh=10.0, max_discharge_kw=6.0),
            car("car", energy_kwh=5.0, target_kwh=25.0, departure_step=6, reserve_kwh=0.0),
        ),
        demand_charge_per_kw=3.0,
    )
    relaxed = lp.solve(replace(data, allow_transfer=True))
    assert relaxed.transfer_kw > 1.0
    plan = assert_same_optimum(data)
    assert plan.transfer_kw < TOL
    power = np.asarray([v.power_kw for v in plan.vehicles])
    assert not np.any((power > TOL).any(axis=0) & (power < -TOL).any(axis=0))
    assert plan.vehicle("car").shortfall_kwh < TOL


def test_a_stationary_battery_runs_at_its_minimum_or_not_at_all() -> None:
    """A peak 0.5 kW high for one hour: not worth a 1 kW minimum discharge for a hour
    and its recharge; every setpoint is 0 or at least the minimum."""
    load = np.full(8, 20.0)
    load[3] = 22.5
    data = PlanInput(
        step_h=1.0,
        load_kw=load,
        price=np.full(8, 0.2),
        vehicles=(battery(min_charge_kw=1.0, min_discharge_kw=1.0),),
        demand_charge_per_kw=10.0,
    )
    plan = lp.solve(data)
    assert plan.below_minimum_kw == 0.0
    running = np.abs(plan.vehicles[0].power_kw)
    assert np.all((running < lp.RULE_TOLERANCE_KW) | (running >= 1.0 - 1e-9))
    assert float(plan.vehicles[0].power_kw[3]) <= -1.0 + 1e-9
    assert np.all(plan.vehicles[0].energy_kwh >= 2.0 - TOL)


def test_a_stationary_battery_below_its_reserve_charges_back_first() -> None:
    data = _office_day(battery(energy_kwh=0.5))
    plan = assert_same_optimum(data)
    planned = plan.vehicles[0]
    # 1.5 kWh to its reserve at 3 kW * sqrt(0.9): flat out in the first hour.
    assert float(planned.power_kw[0]) == pytest.approx(3.0, abs=1e-6)
    assert np.all(planned.energy_kwh[1:] >= 2.0 - TOL)
    assert planned.shortfall_kwh == 0.0


# -- validation -----------------------------------------------------------------------------


def test_a_stationary_battery_needs_no_departure_arrival_or_target() -> None:
    """Ignored, so not validated: a past departure, an arrival after the horizon, a NaN
    target. The plan is the one with plain values."""
    odd = replace(battery(), departure_step=-5, arrival_step=99, target_kwh=math.nan)
    odd.validate(STEPS)
    plain = replace(battery(), departure_step=0, arrival_step=0, target_kwh=0.0)
    first = lp.solve(_office_day(odd)).vehicles[0]
    second = lp.solve(_office_day(plain)).vehicles[0]
    assert first.power_kw == pytest.approx(second.power_kw, abs=1e-9)
    # The same numbers on a car are refused.
    with pytest.raises(PlannerInputError, match="target_kwh must be finite"):
        replace(odd, stationary=False).validate(STEPS)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"reserve_kwh": 12.0}, "reserve must be between 0 and the capacity"),
        ({"reserve_kwh": -1.0}, "reserve must be between 0 and the capacity"),
        ({"capacity_kwh": 0.0}, "capacity must be positive"),
        ({"energy_kwh": 10.5}, "stored energy must be between 0 and the capacity"),
        ({"energy_kwh": -0.5}, "stored energy must be between 0 and the capacity"),
        ({"max_charge_kw": -1.0}, "charger limits must not be negative"),
        ({"max_discharge_kw": -1.0}, "charger limits must not be negative"),
        ({"min_charge_kw": -1.0}, "minimum powers must not be negative"),
        ({"min_discharge_kw": -1.0}, "minimum powers must not be negative"),
        ({"round_trip_efficiency": 0.0}, "round-trip efficiency must be in (0, 1]"),
        ({"round_trip_efficiency": 1.2}, "round-trip efficiency must be in (0, 1]"),
        ({"wear_cost_per_kwh": -0.1}, "wear cost must not be negative"),
        ({"max_discharge_kw": 2e6}, "capacity and charger limits must be below 1e+06"),
        ({"reserve_kwh": math.nan}, "reserve_kwh must be finite"),
        ({"energy_kwh": math.inf}, "energy_kwh must be finite"),
    ],
)
def test_stationary_battery_validation(overrides: dict[str, float], message: str) -> None:
    spec = battery("storage", **overrides)
    with pytest.raises(PlannerInputError) as caught:
        spec.validate(STEPS)
    assert str(caught.value).startswith("vehicle storage: ")
    assert message in str(caught.value)
    with pytest.raises(PlannerInputError, match="vehicle storage: "):
        lp.solve(_office_day(spec))


def test_stationary_must_be_a_bool() -> None:
    spec = replace(battery(), stationary="yes")  # type: ignore[arg-type]
    with pytest.raises(PlannerInputError, match="vehicle battery: stationary must be a bool"):
        spec.validate(STEPS)


# -- guard, baseline, policy ----------------------------------------------------------------


def test_the_guard_holds_the_peak_with_a_stationary_battery_above_its_reserve() -> None:
    """It needs no departure: leaving now with its reserve as its target, the guard never
    makes it charge and uses what it holds above the reserve, no more."""
    data = _office_day(battery(energy_kwh=6.0))
    plan = lp.solve(data)
    (guarded,) = guard_cars(data.vehicles, plan, soc_pct={"battery": 30.5}, hours_to_departure={})
    assert guarded.target_kwh == guarded.reserve_kwh == 2.0
    assert guarded.hours_to_departure == 0.0
    assert guarded.must_charge_kw(0.25) == 0.0
    # 3 kWh in it (30 % of 10): 1 kWh above its reserve, for a quarter of an hour.
    assert guarded.energy_kwh == pytest.approx(3.0)
    room = (3.0 - 2.0) * math.sqrt(0.9) / 0.25
    interval = BillingInterval(length_h=0.25, elapsed_h=0.0, imported_kwh=0.0)
    decision = guard(
        [replace(guarded, planned_kw=2.0)], load_kw=30.0, target_peak_kw=25.0, interval=interval
    )
    assert decision.setpoints_kw["battery"] == pytest.approx(-min(3.0, room), abs=1e-6)
    low = replace(guarded, planned_kw=0.0, energy_kwh=2.0)
    stuck = guard([low], load_kw=30.0, target_peak_kw=25.0, interval=interval)
    assert stuck.setpoints_kw["battery"] == 0.0


def test_plug_and_charge_only_brings_a_stationary_battery_to_its_reserve() -> None:
    data = replace(_office_day(battery(energy_kwh=1.0), car("car", departure_step=20)))
    power = plug_and_charge_kw(data)
    delivered = float(power[0].sum()) * data.step_h * math.sqrt(0.9)
    assert delivered == pytest.approx(1.0)
    assert float(plug_and_charge_kw(_office_day(battery(energy_kwh=6.0))).sum()) == 0.0


def test_vehicle_spec_of_a_stationary_battery() -> None:
    spec = vehicle_spec(
        "storage",
        soc_pct=50.0,
        capacity_kwh=10.0,
        reserve_pct=20.0,
        target_pct=80.0,
        departure_step=7,
        max_charge_w=3000,
        max_discharge_w=3000,
        efficiency_pct=90.0,
        wear_cost_per_kwh=0.0,
        min_power_w=100,
        stationary=True,
    )
    assert spec.stationary
    assert spec.departure_step == 0
    assert spec.target_kwh == pytest.approx(2.0)  # its reserve: it has no target
    assert spec.reserve_kwh == pytest.approx(2.0)
    assert (spec.min_charge_kw, spec.min_discharge_kw) == (0.1, 0.1)
    spec.validate(STEPS)
