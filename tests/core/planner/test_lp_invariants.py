"""Properties every plan must have, input validation and the solver's status handling."""

from __future__ import annotations

from dataclasses import replace
import math

import highspy
from hypothesis import HealthCheck, assume, given, settings
import numpy as np
import pytest

from custom_components.v2x.planner import lp
from custom_components.v2x.planner.baseline import compare, plug_and_charge_kw
from custom_components.v2x.planner.model import (
    Plan,
    PlanInput,
    PlannerInputError,
    VehiclePlan,
    VehicleSpec,
)

from .scenarios import (
    car,
    clipped_departure,
    due_kwh,
    leaves_below_reserve,
    plan_inputs,
    reachable_kwh,
    without_minimums,
)

TOL = 1e-6
PROPERTY_SETTINGS = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def _scale(data: PlanInput) -> float:
    return max(1.0, float(np.max(np.abs(data.load_kw), initial=0.0)))


def check_vehicle(vehicle: VehicleSpec, plan: VehiclePlan, data: PlanInput) -> None:
    """Invariants of one car's schedule."""
    steps, dt = data.steps, data.step_h
    eta = math.sqrt(vehicle.round_trip_efficiency)
    power, energy = plan.power_kw, plan.energy_kwh
    arrival = vehicle.arrival_step
    departure = clipped_departure(vehicle, steps)
    assert plan.departure_step == departure
    assert power.shape == (steps,)
    assert energy.shape == (steps + 1,)

    # Charger limits, and nothing at all outside the window.
    assert np.all(power <= vehicle.usable_charge_kw + TOL)
    assert np.all(power >= -vehicle.usable_discharge_kw - TOL)
    assert np.all(power[:arrival] == 0.0)
    assert np.all(power[departure:] == 0.0)
    initial = min(vehicle.energy_kwh, vehicle.capacity_kwh)
    assert energy[: arrival + 1] == pytest.approx(np.full(arrival + 1, initial), abs=TOL)
    assert energy[departure:] == pytest.approx(np.full(steps + 1 - departure, energy[departure]))

    # Capacity, and the dynamics: the energy change matches the sign of the power, which is
    # only possible when the car never charges and discharges in the same step.
    assert np.all(energy <= vehicle.capacity_kwh + TOL)
    assert np.all(energy >= -TOL)
    expected_change = dt * (eta * np.maximum(power, 0.0) + np.minimum(power, 0.0) / eta)
    assert np.diff(energy) == pytest.approx(expected_change, abs=TOL)

    # Reserve: once reached it is kept; below it the car only charges, flat out or just
    # enough to get back to it.
    reached = False
    for t in range(arrival, steps + 1):
        if energy[t] >= vehicle.reserve_kwh - TOL:
            reached = True
        if reached:
            assert energy[t] >= vehicle.reserve_kwh - TOL, (vehicle, t)
        elif t < departure:
            needed = (vehicle.reserve_kwh - energy[t]) / (eta * dt)
            assert power[t] >= min(vehicle.usable_charge_kw, needed) - TOL, (vehicle, t)

    # Departure target (soft): the shortfall is exactly what is missing (for a car leaving
    # after the horizon, of what it must have at the horizon's end).
    due = due_kwh(vehicle, steps, dt)
    # A stationary battery never leaves: no departure in the horizon, nothing short.
    assert plan.stationary == vehicle.stationary
    assert plan.beyond_horizon == (vehicle.stationary or vehicle.departure_step > steps)
    missing = max(0.0, due - plan.departure_energy_kwh)
    assert plan.shortfall_kwh == pytest.approx(missing, abs=TOL)
    if vehicle.stationary:
        assert plan.shortfall_kwh == 0.0
        assert plan.target_kwh == vehicle.reserve_kwh
    else:
        assert plan.target_kwh == vehicle.target_kwh
    reachable = reachable_kwh(vehicle, steps, dt)
    if reachable < due - TOL:
        assert plan.shortfall_kwh > 0
        assert plan.shortfall_kwh >= due - reachable - TOL
    if data.import_limit_kw is None and reachable >= due:
        assert plan.shortfall_kwh < TOL
        assert plan.departure_energy_kwh >= due - TOL


def check_plan(data: PlanInput, plan: Plan) -> None:
    """Invariants of the whole plan."""
    scale = _scale(data)
    assert plan.status == "optimal"
    assert plan.simultaneous_kw < TOL
    if not data.allow_transfer:
        assert plan.transfer_kw < TOL  # no car charges while another discharges
    assert [v.vehicle_id for v in plan.vehicles] == [v.vehicle_id for v in data.vehicles]
    for vehicle, vehicle_plan in zip(data.vehicles, plan.vehicles, strict=True):
        check_vehicle(vehicle, vehicle_plan, data)

    load = np.maximum(data.load_kw, -data.export_limit_kw)
    cars_kw = sum((v.power_kw for v in plan.vehicles), np.zeros(data.steps))
    assert plan.grid_kw == pytest.approx(load + cars_kw, abs=TOL * scale)
    assert np.all(plan.grid_kw >= -data.export_limit_kw - TOL * scale)
    if not data.allow_transfer:
        discharged = sum(
            (np.maximum(-v.power_kw, 0.0) for v in plan.vehicles), np.zeros(data.steps)
        )
        assert np.all(discharged <= np.maximum(load, 0.0) + TOL * scale)

    # Import above the limit is exactly what the grid takes beyond it.
    if data.import_limit_kw is None:
        assert np.all(plan.import_excess_kw == 0.0)
    else:
        beyond = np.maximum(plan.grid_kw - data.import_limit_kw, 0.0)
        assert plan.import_excess_kw == pytest.approx(beyond, abs=TOL * scale)

    # The cars cannot shave more than all their dischargers together.
    comparison = compare(data, plan)
    most = sum(v.max_discharge_kw for v in data.vehicles)
    assert comparison.peak_reduction_kw <= most + TOL * scale

    # Plan.feasible says what the schedule shows.
    short = any(
        planned.departure_energy_kwh < due_kwh(car, data.steps, data.step_h) - 1e-3
        for car, planned in zip(data.vehicles, plan.vehicles, strict=True)
    )
    limit = math.inf if data.import_limit_kw is None else data.import_limit_kw
    over = bool(np.any(plan.grid_kw > limit + 1e-3))
    assert plan.feasible == (not short and not over)


@PROPERTY_SETTINGS
@given(plan_inputs(min_cars=0, max_cars=3))
def test_every_plan_keeps_the_invariants(data: PlanInput) -> None:
    check_plan(data, lp.solve(data))


@PROPERTY_SETTINGS
@given(plan_inputs(min_cars=1, max_cars=3, import_limit=False))
def test_reachable_targets_are_met_without_import_limit(data: PlanInput) -> None:
    plan = lp.solve(data)
    check_plan(data, plan)
    reachable = [
        reachable_kwh(v, data.steps, data.step_h) >= due_kwh(v, data.steps, data.step_h)
        for v in data.vehicles
    ]
    assert plan.feasible == all(reachable)


@PROPERTY_SETTINGS
@given(plan_inputs(min_cars=1, max_cars=3, import_limit=True))
def test_import_above_the_limit_only_when_unavoidable(data: PlanInput) -> None:
    # No car is forced to charge (all at or above their reserve), so only the building's
    # own load beyond the limit can push the import over it.
    assume(all(v.energy_kwh >= v.reserve_kwh for v in data.vehicles))
    # Nor by a minimum power: a car that needs less than its charger's minimum charges
    # at the minimum, and that can go over the limit (a shortfall would cost as much).
    data = without_minimums(data)
    plan = lp.solve(data)
    check_plan(data, plan)
    assert data.import_limit_kw is not None
    load = np.maximum(data.load_kw, -data.export_limit_kw)
    unavoidable = np.maximum(load - data.import_limit_kw, 0.0)
    tol = TOL * _scale(data)
    assert plan.import_excess_kw.sum() <= unavoidable.sum() + tol
    if all(v.round_trip_efficiency < 1 for v in data.vehicles):
        # With losses, moving excess import from one step to another through a battery
        # costs more penalty than any price or demand charge can repay. (A lossless car may
        # move it for free, so the total above is all that holds then.)
        assert np.all(plan.import_excess_kw <= unavoidable + tol)


@PROPERTY_SETTINGS
@given(plan_inputs(min_cars=1, max_cars=3, import_limit=False, negative_prices=False))
def test_plan_costs_no_more_than_plug_and_charge(data: PlanInput) -> None:
    # Plug-and-charge would charge a car whose charger's limit is below its minimum (it
    # cannot run): it is a point of the plan's problem only without minimums.
    data = without_minimums(data)
    plan = lp.solve(data)
    comparison = compare(data, plan)
    # Plug-and-charge is a point of the LP with the same shortfall, so it can only beat the
    # plan by the tiny throughput tie-break the LP also pays on its charging.
    tie_break = lp.TIE_BREAK_PER_KWH * data.step_h * float(plug_and_charge_kw(data).sum())
    assert comparison.planned.total_cost <= (
        comparison.plug_and_charge.total_cost + tie_break + TOL * _scale(data)
    )
    assert comparison.savings >= -tie_break - TOL * _scale(data)


def test_no_cars_leaves_the_building_alone() -> None:
    load = np.array([5.0, -12.0, 30.0, 8.0])
    data = PlanInput(
        step_h=0.5,
        load_kw=load,
        price=np.array([0.1, 0.2, 0.3, 0.4]),
        vehicles=(),
        export_limit_kw=10.0,
        demand_charge_per_kw=3.0,
        demand_mask=np.array([True, True, False, True]),
    )
    plan = lp.solve(data)
    assert plan.grid_kw == pytest.approx([5.0, -10.0, 30.0, 8.0])
    assert plan.peak_kw == pytest.approx(8.0)
    assert plan.energy_cost == pytest.approx(0.5 * (0.5 + 9.0 + 3.2))
    assert plan.objective == pytest.approx(0.5 * (0.5 + 9.0 + 3.2) + 3.0 * 8.0)
    assert plan.feasible
    assert plan.vehicles == ()
    assert plan.solve_time_s > 0


def test_billed_peak_floor_stops_needless_shaving() -> None:
    # The month's peak is already 100 kW: shaving today's 60 kW peak earns nothing, so the
    # car (with a wear cost) stays idle; without the floor it discharges at the peak.
    load = np.array([20.0, 60.0, 20.0, 20.0])
    cars = (car("a", departure_step=4, energy_kwh=30.0, target_kwh=20.0, wear_cost_per_kwh=0.15),)
    base = PlanInput(
        step_h=1.0, load_kw=load, price=np.full(4, 0.1), vehicles=cars, demand_charge_per_kw=10.0
    )
    floored = lp.solve(replace(base, billed_peak_kw=100.0))
    assert np.all(np.abs(floored.vehicles[0].power_kw) < TOL)
    assert floored.peak_kw == pytest.approx(60.0)
    shaved = lp.solve(base)
    assert shaved.vehicles[0].power_kw[1] == pytest.approx(-6.0)
    assert shaved.peak_kw == pytest.approx(54.0)


def test_demand_mask_limits_the_peak_to_its_window() -> None:
    load = np.array([80.0, 40.0, 40.0, 40.0])
    data = PlanInput(
        step_h=1.0,
        load_kw=load,
        price=np.full(4, 0.1),
        vehicles=(car("a", departure_step=4, energy_kwh=30.0, target_kwh=30.0),),
        demand_charge_per_kw=10.0,
        demand_mask=np.array([False, True, True, True]),
    )
    plan = lp.solve(data)
    # The unbilled 80 kW step is where the car charges flat out; it gives the energy back
    # evenly over the billed steps, which lowers their peak by 6 * 0.81 / 3 kW.
    assert plan.vehicles[0].power_kw == pytest.approx([6.0, -1.62, -1.62, -1.62], abs=TOL)
    assert plan.peak_kw == pytest.approx(40.0 - 1.62)
    assert plan.grid_kw[0] == pytest.approx(86.0)


def test_vehicle_lookup() -> None:
    data = PlanInput(
        step_h=1.0,
        load_kw=np.full(4, 10.0),
        price=np.full(4, 0.1),
        vehicles=(car("a", departure_step=4), car("b", departure_step=2)),
    )
    plan = lp.solve(data)
    assert plan.vehicle("b").departure_step == 2
    assert plan.vehicle("a") is plan.vehicles[0]
    with pytest.raises(KeyError):
        plan.vehicle("c")


def test_feasible_flag() -> None:
    vehicle = VehiclePlan("a", np.zeros(2), np.array([10.0, 10.0, 10.0]), 2, 10.0, 0.0)
    plan = Plan(
        status="optimal",
        step_h=1.0,
        load_kw=np.zeros(2),
        grid_kw=np.zeros(2),
        price=np.zeros(2),
        vehicles=(vehicle,),
        peak_kw=0.0,
        import_excess_kw=np.zeros(2),
        energy_cost=0.0,
        objective=0.0,
        solve_time_s=0.0,
    )
    assert plan.feasible
    assert vehicle.departure_energy_kwh == 10.0
    assert not replace(plan, import_excess_kw=np.array([0.0, 0.01])).feasible
    short = replace(vehicle, shortfall_kwh=0.5)
    assert not replace(plan, vehicles=(short,)).feasible
    assert replace(plan, vehicles=(replace(vehicle, shortfall_kwh=1e-4),)).feasible


# --- input validation -------------------------------------------------------------------


def _input(**overrides: object) -> PlanInput:
    base = PlanInput(
        step_h=0.25,
        load_kw=np.full(4, 10.0),
        price=np.full(4, 0.2),
        vehicles=(car("a", departure_step=4),),
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"load_kw": np.zeros(0), "price": np.zeros(0)}, "at least one step"),
        ({"step_h": 0.0}, "positive length"),
        ({"price": np.full(3, 0.2)}, "price must have one value per step (4)"),
        ({"export_price": np.zeros(5)}, "export price must have one value per step"),
        ({"demand_mask": np.ones(3, dtype=bool)}, "demand mask must have one value per step"),
        ({"load_kw": np.array([1.0, math.nan, 1.0, 1.0])}, "load_kw must be finite"),
        ({"price": np.array([1.0, math.inf, 1.0, 1.0])}, "price must be finite"),
        ({"import_limit_kw": -1.0}, "import limit must not be negative"),
        ({"time_limit_s": -1.0}, "time limit must not be negative"),
        ({"export_limit_kw": -1.0}, "must not be negative"),
        ({"demand_charge_per_kw": -1.0}, "must not be negative"),
        ({"billed_peak_kw": -1.0}, "must not be negative"),
        ({"vehicles": (car("a"), car("a"))}, "vehicle ids must be unique"),
        ({"vehicles": (car("x", capacity_kwh=0.0),)}, "vehicle x: capacity must be positive"),
        # What once got through without a word, or failed deep in NumPy (issue 16).
        ({"load_kw": [10.0, 10.0, 10.0, 10.0]}, "load_kw must be one-dimensional NumPy arrays"),
        ({"load_kw": np.full((4, 1), 10.0)}, "load_kw must be one-dimensional"),
        ({"price": 0.2}, "price must be one-dimensional"),
        ({"demand_mask": np.array(["a", "b", "c", "d"])}, "demand_mask must be one-dimensional"),
        ({"load_kw": np.array([10.0, 1e21, 10.0, 10.0])}, "load_kw beyond ±1e+06 cannot be real"),
        ({"price": np.full(4, -2e6)}, "price beyond"),
        ({"billed_peak_kw": 5e6}, "billed_peak_kw beyond"),
    ],
)
def test_plan_input_validation(overrides: dict[str, object], message: str) -> None:
    data = _input(**overrides)
    with pytest.raises(PlannerInputError) as caught:
        data.validate()
    assert message in str(caught.value)
    # build() and solve() validate first.
    with pytest.raises(PlannerInputError):
        lp.solve(data)


def test_valid_input_passes() -> None:
    data = _input(import_limit_kw=0.0, demand_mask=np.array([1, 0, 1, 0]))
    data.validate()
    assert data.billed_steps.tolist() == [True, False, True, False]
    assert data.export_prices.tolist() == [0.0] * 4
    assert _input().billed_steps.tolist() == [True] * 4
    assert _input(export_price=np.array([1, 2, 3, 4])).export_prices.dtype == np.float64


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"capacity_kwh": -5.0}, "capacity must be positive"),
        ({"capacity_kwh": math.nan}, "capacity_kwh must be finite"),
        ({"reserve_kwh": 50.0}, "reserve must be between 0 and the capacity"),
        ({"reserve_kwh": -1.0}, "reserve must be between 0 and the capacity"),
        ({"target_kwh": 41.0}, "target must be between 0 and the capacity"),
        ({"energy_kwh": 40.1}, "stored energy must be between 0 and the capacity"),
        ({"energy_kwh": -0.1}, "stored energy must be between 0 and the capacity"),
        ({"max_charge_kw": -1.0}, "charger limits must not be negative"),
        ({"max_discharge_kw": -1.0}, "charger limits must not be negative"),
        ({"round_trip_efficiency": 0.0}, "round-trip efficiency must be in (0, 1]"),
        ({"round_trip_efficiency": 1.1}, "round-trip efficiency must be in (0, 1]"),
        ({"wear_cost_per_kwh": -0.01}, "wear cost must not be negative"),
        ({"arrival_step": 25}, "arrival must lie within the horizon"),
        ({"arrival_step": -1}, "arrival must lie within the horizon"),
        ({"departure_step": -1}, "departure must not lie in the past"),
        ({"arrival_step": 3, "departure_step": 1}, "departure must not be before arrival"),
        ({"reserve_kwh": 31.0}, "reserve must not be above the target"),
        ({"max_charge_kw": 2e6}, "capacity and charger limits must be below 1e+06"),
    ],
)
def test_vehicle_validation(overrides: dict[str, float], message: str) -> None:
    vehicle = car("ev7", **overrides)
    with pytest.raises(PlannerInputError) as caught:
        vehicle.validate(24)
    assert str(caught.value).startswith("vehicle ev7: ")
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("field", "value"), [("arrival_step", 2.5), ("departure_step", 7.9), ("arrival_step", True)]
)
def test_fractional_steps_are_refused(field: str, value: object) -> None:
    # They used to be truncated without a word.
    vehicle = replace(car("ev7"), **{field: value})  # type: ignore[arg-type]
    name = field.removesuffix("_step")
    with pytest.raises(PlannerInputError, match=f"{name} must be whole step"):
        vehicle.validate(24)


def test_vehicle_validation_lists_every_problem() -> None:
    vehicle = car("ev", reserve_kwh=-1.0, max_charge_kw=-1.0, wear_cost_per_kwh=-1.0)
    with pytest.raises(PlannerInputError) as caught:
        vehicle.validate(24)
    assert str(caught.value) == (
        "vehicle ev: reserve must be between 0 and the capacity, "
        "charger limits must not be negative, wear cost must not be negative"
    )


def test_vehicle_validation_accepts_edges() -> None:
    # Stored energy may exceed the capacity by 0.1 % (sensor rounding); arrival may be the
    # end of the horizon; a round trip of 1 is lossless.
    vehicle = car("ev", energy_kwh=40.039, arrival_step=24, round_trip_efficiency=1.0)
    vehicle.validate(24)
    assert vehicle.one_way_efficiency == 1.0
    assert car("ev", round_trip_efficiency=0.64).one_way_efficiency == pytest.approx(0.8)


def test_energy_above_capacity_is_clipped() -> None:
    data = _input(vehicles=(car("a", energy_kwh=40.03, target_kwh=40.0, departure_step=4),))
    plan = lp.solve(data)
    assert plan.vehicles[0].energy_kwh[0] == pytest.approx(40.0)
    assert plan.feasible


def test_departure_before_arrival_is_refused() -> None:
    # It used to be planned as an empty window, the car silently short at "departure".
    data = _input(
        vehicles=(car("a", arrival_step=3, departure_step=1, energy_kwh=20.0, target_kwh=25.0),)
    )
    with pytest.raises(PlannerInputError, match="vehicle a: departure must not be before"):
        lp.solve(data)


# --- solver status --------------------------------------------------------------------


def test_no_plan_raises_planner_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def infeasible(self: highspy.Highs) -> highspy.HighsModelStatus:
        return highspy.HighsModelStatus.kInfeasible

    monkeypatch.setattr(highspy.Highs, "getModelStatus", infeasible)
    with pytest.raises(lp.PlannerError, match="HiGHS found no plan: Infeasible"):
        lp.solve(_input())


def test_time_limit_with_a_feasible_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    def stopped(self: highspy.Highs) -> highspy.HighsModelStatus:
        return highspy.HighsModelStatus.kTimeLimit

    monkeypatch.setattr(highspy.Highs, "getModelStatus", stopped)
    plan = lp.solve(_input())
    assert plan.status == "time_limit"
    assert plan.vehicles[0].power_kw.shape == (4,)


def test_simultaneous_charge_and_discharge_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    # An optimum never overlaps (checked above), so feed solve() a doctored solution to see
    # that an overlap would be measured and reported rather than hidden.
    run = lp._Solver.run
    layout = lp.build(_input()).layout

    def overlapping(self: lp._Solver, time_limit_s: float) -> lp.Result | None:
        result = run(self, time_limit_s)
        assert result is not None
        solution, status, objective = result
        solution = solution.copy()
        solution[layout.charge()[0, 1]] += 0.7
        solution[layout.discharge()[0, 1]] += 0.7
        return solution, status, objective

    monkeypatch.setattr(lp._Solver, "run", overlapping)
    plan = lp.solve(_input(), exact=False)
    assert plan.simultaneous_kw == pytest.approx(0.7)


def test_time_limit_without_a_plan() -> None:
    with pytest.raises(lp.PlannerError, match="Time limit reached"):
        lp.solve(_input(time_limit_s=0.0))


def test_layout_columns_do_not_overlap() -> None:
    layout = lp.Layout(steps=5, vehicles=2)
    columns = np.concatenate(
        [
            layout.charge().ravel(),
            layout.discharge().ravel(),
            layout.energy().ravel(),
            layout.grid_import(),
            layout.grid_export(),
            layout.import_excess(),
            [layout.peak],
            layout.shortfall(),
            layout.kept(),
        ]
    )
    assert sorted(columns.tolist()) == list(range(layout.columns))
    assert layout.columns == 2 * (3 * 5 + 1) + 3 * 5 + 1 + 2 + 2


# --- regressions ------------------------------------------------------------------------


def test_car_leaving_before_reaching_its_reserve_still_gets_a_plan() -> None:
    # The reserve floor used to keep rising after departure: PlannerError (infeasible).
    vehicle = car(
        "a", energy_kwh=0.0, reserve_kwh=10.0, target_kwh=10.0, max_charge_kw=1.0, departure_step=2
    )
    data = PlanInput(
        step_h=1.0, load_kw=np.full(5, 10.0), price=np.full(5, 0.2), vehicles=(vehicle,)
    )
    assert leaves_below_reserve(vehicle, data.steps, data.step_h)
    plan = lp.solve(data)
    assert plan.vehicles[0].departure_energy_kwh == pytest.approx(1.8)
    assert plan.vehicles[0].shortfall_kwh == pytest.approx(8.2)


def _degenerate_grid_split(price: float, export_price: float) -> PlanInput:
    # The car must charge 6 kW while the building exports 2 kW: net import 4 kW. With the
    # export price clipped up to the import price (or both clipped to 0) the LP is
    # indifferent between importing 4 kW and importing 9 kW while exporting 5 kW.
    return PlanInput(
        step_h=0.25,
        load_kw=np.array([-2.0]),
        price=np.array([price]),
        export_price=np.array([export_price]),
        export_limit_kw=5.0,
        vehicles=(car("a", energy_kwh=20.0, target_kwh=21.35, departure_step=1),),
    )


@pytest.mark.parametrize(("price", "export_price"), [(0.35, 0.46), (-0.1, 0.0)])
def test_reported_cost_and_peak_follow_the_net_grid(price: float, export_price: float) -> None:
    data = _degenerate_grid_split(price, export_price)
    plan = lp.solve(data)
    assert plan.grid_kw == pytest.approx([4.0])
    assert plan.peak_kw == pytest.approx(4.0)
    assert plan.energy_cost == pytest.approx(0.25 * price * 4.0)
    # The plan and the comparison read the same net series through the same function.
    planned = compare(data, plan).planned
    assert (plan.peak_kw, plan.energy_cost) == (planned.peak_kw, planned.energy_cost)


def test_import_excess_follows_the_net_grid() -> None:
    # Same tie, with an import limit between the net import (4 kW) and the split (9 kW).
    data = replace(_degenerate_grid_split(0.35, 0.46), import_limit_kw=5.0)
    plan = lp.solve(data)
    assert plan.grid_kw == pytest.approx([4.0])
    assert plan.import_excess_kw.tolist() == [0.0]
    assert plan.feasible


def test_plan_cost_and_peak_match_the_comparison() -> None:
    # On an ordinary day too, solve() and compare() report one cost and one peak.
    load = np.array([30.0, 55.0, 80.0, 40.0, -5.0, 20.0])
    data = PlanInput(
        step_h=0.5,
        load_kw=load,
        price=np.array([0.1, 0.3, 0.4, 0.2, 0.1, 0.1]),
        export_price=np.full(6, 0.05),
        export_limit_kw=10.0,
        demand_charge_per_kw=8.0,
        demand_mask=np.array([0, 1, 1, 1, 0, 0], dtype=bool),
        vehicles=(car("a", energy_kwh=30.0, target_kwh=30.0, departure_step=6),),
    )
    plan = lp.solve(data)
    planned = compare(data, plan).planned
    assert plan.peak_kw == planned.peak_kw
    assert plan.energy_cost == planned.energy_cost
    assert plan.peak_kw == pytest.approx(float(np.maximum(plan.grid_kw[1:4], 0.0).max()))


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"vehicles": (car("a", max_charge_kw=math.nan),)}, "vehicle a: max_charge_kw"),
        ({"vehicles": (car("a", max_discharge_kw=math.nan),)}, "vehicle a: max_discharge_kw"),
        ({"vehicles": (car("a", wear_cost_per_kwh=math.nan),)}, "vehicle a: wear_cost_per_kwh"),
        ({"vehicles": (car("a", capacity_kwh=math.inf),)}, "vehicle a: capacity_kwh"),
        ({"vehicles": (car("a", energy_kwh=math.nan),)}, "vehicle a: energy_kwh"),
        ({"vehicles": (car("a", target_kwh=math.nan),)}, "vehicle a: target_kwh"),
        ({"vehicles": (car("a", reserve_kwh=-math.inf),)}, "vehicle a: reserve_kwh"),
        (
            {"vehicles": (car("a", round_trip_efficiency=math.nan),)},
            "vehicle a: round_trip_efficiency",
        ),
        ({"export_price": np.array([math.nan, 0.0, 0.0, 0.0])}, "plan input: export_price"),
        ({"load_kw": np.array([0.0, 0.0, -math.inf, 0.0])}, "plan input: load_kw"),
        ({"price": np.array([0.0, math.nan, 0.0, 0.0])}, "plan input: price"),
        ({"import_limit_kw": math.nan}, "plan input: import_limit_kw"),
        ({"export_limit_kw": math.nan}, "plan input: export_limit_kw"),
        ({"export_limit_kw": math.inf}, "plan input: export_limit_kw"),
        ({"demand_charge_per_kw": math.nan}, "plan input: demand_charge_per_kw"),
        ({"billed_peak_kw": math.nan}, "plan input: billed_peak_kw"),
        ({"step_h": math.inf}, "plan input: step_h"),
        ({"step_h": math.nan}, "plan input: step_h"),
        ({"time_limit_s": math.nan}, "plan input: time_limit_s"),
    ],
)
def test_non_finite_numbers_are_rejected(overrides: dict[str, object], field: str) -> None:
    data = _input(**overrides)
    with pytest.raises(PlannerInputError, match="must be finite") as caught:
        data.validate()
    assert str(caught.value).startswith(field)
    with pytest.raises(PlannerInputError):
        lp.solve(data)


def test_every_non_finite_field_is_named() -> None:
    vehicle = car("ev", max_charge_kw=math.nan, wear_cost_per_kwh=math.inf)
    with pytest.raises(PlannerInputError) as caught:
        vehicle.validate(24)
    assert str(caught.value) == (
        "vehicle ev: max_charge_kw, wear_cost_per_kwh must be finite (NaN or infinity given)"
    )
    data = _input(billed_peak_kw=math.nan, import_limit_kw=math.inf)
    with pytest.raises(PlannerInputError) as caught:
        data.validate()
    assert str(caught.value) == (
        "plan input: import_limit_kw, billed_peak_kw must be finite (NaN or infinity given)"
    )
