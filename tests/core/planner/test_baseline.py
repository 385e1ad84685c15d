"""The plug-and-charge baseline and the cost/peak comparison."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from custom_components.v2x.planner import lp
from custom_components.v2x.planner.baseline import (
    Comparison,
    Outcome,
    compare,
    outcome,
    plug_and_charge_kw,
)
from custom_components.v2x.planner.model import FloatArray, Plan, PlanInput, VehicleSpec

from .scenarios import car


def _input(vehicles: tuple[VehicleSpec, ...], steps: int = 8, step_h: float = 0.5) -> PlanInput:
    return PlanInput(
        step_h=step_h,
        load_kw=np.full(steps, 10.0),
        price=np.full(steps, 0.2),
        vehicles=vehicles,
    )


def _plan(data: PlanInput, grid_kw: FloatArray) -> Plan:
    return Plan(
        status="optimal",
        step_h=data.step_h,
        load_kw=data.load_kw,
        grid_kw=grid_kw,
        price=data.price,
        vehicles=(),
        peak_kw=0.0,
        import_excess_kw=np.zeros(data.steps),
        energy_cost=0.0,
        objective=0.0,
        solve_time_s=0.0,
    )


def test_full_power_from_arrival_with_partial_last_step() -> None:
    # 10 kWh into the battery at 0.9 one way is 11.11 kWh from the grid: three full
    # half-hour steps of 3 kWh, then 2.11 kWh.
    data = _input((car("a", energy_kwh=20.0, target_kwh=30.0, arrival_step=2, departure_step=8),))
    power = plug_and_charge_kw(data)
    assert power.shape == (1, 8)
    expected = [0.0, 0.0, 6.0, 6.0, 6.0, (10.0 / 0.9 - 9.0) / 0.5, 0.0, 0.0]
    assert power[0] == pytest.approx(expected)
    stored = 0.9 * power[0].sum() * 0.5
    assert stored == pytest.approx(10.0)


def test_efficiency_sets_the_energy_drawn() -> None:
    data = _input((car("a", energy_kwh=20.0, target_kwh=30.0, round_trip_efficiency=0.64),))
    power = plug_and_charge_kw(data)
    assert power[0].sum() * 0.5 == pytest.approx(10.0 / 0.8)
    lossless = _input((car("a", energy_kwh=20.0, target_kwh=30.0, round_trip_efficiency=1.0),))
    assert plug_and_charge_kw(lossless)[0].sum() * 0.5 == pytest.approx(10.0)


def test_window_too_short_charges_flat_out_until_departure() -> None:
    data = _input((car("a", energy_kwh=0.0, target_kwh=40.0, arrival_step=1, departure_step=4),))
    assert plug_and_charge_kw(data)[0] == pytest.approx([0, 6, 6, 6, 0, 0, 0, 0])


def test_departure_beyond_the_horizon_is_clipped() -> None:
    data = _input((car("a", energy_kwh=0.0, target_kwh=40.0, arrival_step=5, departure_step=50),))
    assert plug_and_charge_kw(data)[0] == pytest.approx([0, 0, 0, 0, 0, 6, 6, 6])


@pytest.mark.parametrize(
    "vehicle",
    [
        car("at-target", energy_kwh=30.0, target_kwh=30.0),
        car("above-target", energy_kwh=35.0, target_kwh=30.0),
        car("empty-window", energy_kwh=0.0, arrival_step=4, departure_step=4),
        car("leaves-before-arrival", energy_kwh=0.0, arrival_step=5, departure_step=2),
        car("arrives-at-end", energy_kwh=0.0, arrival_step=8),
        car("no-charger", energy_kwh=0.0, max_charge_kw=0.0),
    ],
    ids=lambda vehicle: vehicle.vehicle_id,
)
def test_no_charging(vehicle: VehicleSpec) -> None:
    other = car("other", energy_kwh=29.0, target_kwh=30.0)
    power = plug_and_charge_kw(_input((vehicle, other)))
    assert np.all(power[0] == 0.0)
    assert power[1, 0] == pytest.approx(1.0 / 0.9 / 0.5)


def test_no_cars() -> None:
    assert plug_and_charge_kw(_input(())).shape == (0, 8)


def test_outcome_peak_energy_and_demand_cost() -> None:
    data = PlanInput(
        step_h=0.5,
        load_kw=np.zeros(4),
        price=np.array([0.1, 0.2, 0.3, 0.4]),
        vehicles=(),
        export_price=np.full(4, 0.05),
        demand_charge_per_kw=10.0,
        billed_peak_kw=15.0,
        demand_mask=np.array([True, True, False, True]),
    )
    grid = np.array([10.0, -5.0, 30.0, 20.0])
    result = outcome(data, grid)
    assert isinstance(result, Outcome)
    assert result.peak_kw == 20.0  # the 30 kW step lies outside the demand window
    assert result.energy_cost == pytest.approx(0.5 * (1.0 + 9.0 + 8.0 - 0.25))
    assert result.demand_cost == pytest.approx(10.0 * (20.0 - 15.0))
    assert result.total_cost == pytest.approx(8.875 + 50.0)
    assert result.grid_kw is grid

    # Below the billed peak the demand charge adds nothing.
    below = outcome(replace(data, billed_peak_kw=25.0), grid)
    assert below.demand_cost == 0.0
    # Without a window every step counts; without an export price exports earn nothing.
    everywhere = outcome(replace(data, demand_mask=None), grid)
    assert everywhere.peak_kw == 30.0
    assert everywhere.demand_cost == pytest.approx(150.0)
    unpaid = outcome(replace(data, export_price=None), grid)
    assert unpaid.energy_cost == pytest.approx(0.5 * 18.0)


def test_outcome_of_pure_export_has_no_peak() -> None:
    data = PlanInput(
        step_h=1.0,
        load_kw=np.zeros(2),
        price=np.full(2, 0.3),
        vehicles=(),
        export_price=np.full(2, 0.1),
        demand_charge_per_kw=10.0,
    )
    result = outcome(data, np.array([-4.0, -6.0]))
    assert result.peak_kw == 0.0
    assert result.demand_cost == 0.0
    assert result.energy_cost == pytest.approx(-1.0)


def test_compare_against_building_and_plug_and_charge() -> None:
    data = PlanInput(
        step_h=1.0,
        load_kw=np.array([50.0, 80.0, -40.0, 60.0]),
        price=np.array([0.1, 0.3, 0.1, 0.2]),
        vehicles=(car("a", energy_kwh=20.0, target_kwh=29.0, departure_step=4),),
        export_price=np.full(4, 0.05),
        export_limit_kw=10.0,
        demand_charge_per_kw=5.0,
        demand_mask=np.array([True, False, True, True]),
    )
    planned = np.array([50.0, 80.0, 0.0, 54.0])
    comparison = compare(data, _plan(data, planned))
    assert isinstance(comparison, Comparison)
    # The building alone: exports clipped at 10 kW, peak 60 kW in the window.
    assert comparison.building_only_peak_kw == 60.0
    assert comparison.peak_reduction_kw == pytest.approx(6.0)
    # Plug and charge: 10 kWh from the grid, 6 kW then 4 kW on top of the building.
    baseline = comparison.plug_and_charge
    assert baseline.grid_kw == pytest.approx([56.0, 84.0, -10.0, 60.0])
    assert baseline.peak_kw == 60.0
    assert baseline.energy_cost == pytest.approx(5.6 + 25.2 - 0.5 + 12.0)
    assert baseline.demand_cost == pytest.approx(300.0)
    assert comparison.planned.energy_cost == pytest.approx(5.0 + 24.0 + 0.0 + 10.8)
    assert comparison.planned.demand_cost == pytest.approx(270.0)
    assert comparison.savings == pytest.approx((42.3 + 300.0) - (39.8 + 270.0))


def test_compare_with_a_solved_plan() -> None:
    load = np.array([20.0, 20.0, 70.0, 70.0, 20.0, 20.0])
    data = PlanInput(
        step_h=1.0,
        load_kw=load,
        price=np.full(6, 0.2),
        vehicles=(car("a", energy_kwh=30.0, target_kwh=30.0, departure_step=6),),
        demand_charge_per_kw=10.0,
    )
    plan = lp.solve(data)
    comparison = compare(data, plan)
    assert comparison.building_only_peak_kw == 70.0
    assert comparison.peak_reduction_kw == pytest.approx(6.0)
    assert comparison.plug_and_charge.total_cost == pytest.approx(0.2 * 220.0 + 700.0)
    assert comparison.savings > 50.0
    assert comparison.planned.peak_kw == pytest.approx(plan.peak_kw)
