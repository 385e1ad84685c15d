"""The real-time peak guard: examples a building meets, and the rules on any input."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings, strategies as st
import numpy as np
import pytest

from custom_components.v2x.planner import lp
from custom_components.v2x.planner.guard import (
    BillingInterval,
    GuardAction,
    GuardCar,
    guard,
    guard_cars,
    guard_target_kw,
)
from custom_components.v2x.planner.model import PlanInput, PlannerInputError

from .scenarios import car as plan_car

QUARTER = 0.25


def _car(vid: str, planned_kw: float, **changes: float) -> GuardCar:
    """A 40 kWh Leaf at 60 % on a ±6 kW charger, 30 % reserve, 90 % wanted in 8 h."""
    values = {
        "max_charge_kw": 6.0,
        "max_discharge_kw": 6.0,
        "energy_kwh": 24.0,
        "reserve_kwh": 12.0,
        "target_kwh": 36.0,
        "hours_to_departure": 8.0,
        **changes,
    }
    return GuardCar(vehicle_id=vid, planned_kw=planned_kw, **values)


def _start(imported_kwh: float = 0.0, elapsed_h: float = 0.0) -> BillingInterval:
    return BillingInterval(length_h=QUARTER, elapsed_h=elapsed_h, imported_kwh=imported_kwh)


def test_the_plan_stands_when_the_load_is_as_forecast() -> None:
    decision = guard(
        [_car("a", -3.0), _car("b", -3.0)], load_kw=100.0, target_peak_kw=95.0, interval=_start()
    )
    assert decision.action is GuardAction.FOLLOW
    assert decision.setpoints_kw == {"a": -3.0, "b": -3.0}
    assert decision.over_kw == 0.0


def test_a_load_above_forecast_cuts_charging_first() -> None:
    # The plan charges both cars at 6 kW; the load is 10 kW higher than it expected.
    decision = guard(
        [_car("a", 6.0), _car("b", 6.0)], load_kw=102.0, target_peak_kw=104.0, interval=_start()
    )
    assert decision.action is GuardAction.CUT_CHARGING
    assert sum(decision.setpoints_kw.values()) == pytest.approx(2.0)
    assert decision.import_kw == pytest.approx(104.0)


def test_charging_a_departure_needs_is_kept() -> None:
    # Car a leaves in 2 h needing 12 kWh: it must charge at 6 kW all the way.
    leaving = _car("a", 6.0, hours_to_departure=2.0)
    decision = guard(
        [leaving, _car("b", 6.0)], load_kw=102.0, target_peak_kw=100.0, interval=_start()
    )
    assert decision.setpoints_kw["a"] == pytest.approx(6.0)
    assert decision.setpoints_kw["b"] == pytest.approx(0.0)
    # Car b could discharge, but not while a charges: a car never charges another.
    assert decision.action is GuardAction.OVER
    assert decision.over_kw == pytest.approx(8.0)


def test_discharge_is_raised_once_nothing_charges() -> None:
    decision = guard(
        [_car("a", -1.0), _car("b", 0.0)], load_kw=110.0, target_peak_kw=100.0, interval=_start()
    )
    assert decision.action is GuardAction.DISCHARGE
    assert sum(decision.setpoints_kw.values()) == pytest.approx(-10.0)
    assert decision.over_kw == pytest.approx(0.0)


def test_a_reading_within_the_tolerance_leaves_the_plan_alone() -> None:
    # The plan holds the import at its 104 kW peak; the load reads 0.3 kW high.
    cars = [_car("a", 6.0), _car("b", 6.0)]
    within = guard(cars, load_kw=92.3, target_peak_kw=104.0, interval=_start(), tolerance_kw=0.5)
    assert within.action is GuardAction.FOLLOW
    assert within.setpoints_kw == {"a": 6.0, "b": 6.0}
    # Two kW high is past it: the whole excess is cut, not only what exceeds the tolerance.
    past = guard(cars, load_kw=94.0, target_peak_kw=104.0, interval=_start(), tolerance_kw=0.5)
    assert past.action is GuardAction.CUT_CHARGING
    assert past.import_kw == pytest.approx(104.0)
    # Late in the interval the same reading moves the average less: it is left alone.
    late = _start(imported_kwh=104.0 * 0.2, elapsed_h=0.2)
    assert guard(
        cars, load_kw=94.0, target_peak_kw=104.0, interval=late, tolerance_kw=0.5
    ).action is (GuardAction.FOLLOW)


def test_within_the_tolerance_nothing_is_discharged_either() -> None:
    # Nothing charges, the load is 0.3 kW over: the plan's discharge stands, and a
    # building with no car at all is not "over" for being within its tolerance.
    cars = [_car("a", -2.0)]
    decision = guard(cars, load_kw=102.3, target_peak_kw=100.0, interval=_start(), tolerance_kw=0.5)
    assert (decision.action, decision.setpoints_kw) == (GuardAction.FOLLOW, {"a": -2.0})
    alone = guard([], load_kw=100.3, target_peak_kw=100.0, interval=_start(), tolerance_kw=0.5)
    assert alone.action is GuardAction.FOLLOW


def test_a_negative_tolerance_is_refused() -> None:
    with pytest.raises(PlannerInputError, match="tolerance_kw"):
        guard([], load_kw=1.0, target_peak_kw=1.0, interval=_start(), tolerance_kw=-1.0)


def test_the_interval_average_is_what_is_held() -> None:
    # Ten minutes at 120 kW already: the last five minutes may import only 60 kW.
    interval = _start(imported_kwh=120.0 * 10 / 60, elapsed_h=10 / 60)
    assert interval.allowed_import_kw(100.0) == pytest.approx(60.0)
    decision = guard([_car("a", 0.0)], load_kw=64.0, target_peak_kw=100.0, interval=interval)
    assert decision.setpoints_kw["a"] == pytest.approx(-4.0)


def test_never_below_the_reserve_or_past_what_the_target_allows() -> None:
    low = _car("a", -6.0, energy_kwh=12.2)  # 0.2 kWh above its reserve
    decision = guard([low], load_kw=200.0, target_peak_kw=100.0, interval=_start())
    assert -decision.setpoints_kw["a"] * QUARTER <= 0.2 + 1e-9
    short = _car("b", 0.0, energy_kwh=30.0, hours_to_departure=1.0)  # needs all its hour
    decision = guard([short], load_kw=200.0, target_peak_kw=100.0, interval=_start())
    assert decision.setpoints_kw["b"] >= 0.0


def test_the_cars_never_export() -> None:
    decision = guard([_car("a", 0.0)], load_kw=2.0, target_peak_kw=0.0, interval=_start())
    assert decision.setpoints_kw["a"] == pytest.approx(-2.0)
    assert decision.import_kw == pytest.approx(0.0)


def test_a_plan_that_moves_energy_between_cars_is_netted() -> None:
    decision = guard(
        [_car("a", 6.0), _car("b", -4.0)], load_kw=50.0, target_peak_kw=60.0, interval=_start()
    )
    assert decision.setpoints_kw == {"a": 6.0, "b": 0.0}


@pytest.mark.parametrize(
    ("car", "field"),
    [
        (_car("x", float("nan")), "planned_kw"),
        (_car("x", 0.0, max_charge_kw=-1.0), "max_charge_kw"),
        (_car("x", 0.0, hours_to_departure=-1.0), "hours_to_departure"),
        (_car("x", 0.0, one_way_efficiency=0.0), "one_way_efficiency"),
        (_car("x", 0.0, energy_kwh=-1.0), "energy_kwh"),
    ],
)
def test_bad_cars_are_refused_by_name(car: GuardCar, field: str) -> None:
    with pytest.raises(PlannerInputError, match=field):
        guard([car], load_kw=10.0, target_peak_kw=10.0, interval=_start())


@pytest.mark.parametrize(
    ("interval", "field"),
    [
        (BillingInterval(length_h=0.0, elapsed_h=0.0, imported_kwh=0.0), "length_h"),
        (BillingInterval(length_h=0.25, elapsed_h=0.3, imported_kwh=0.0), "elapsed_h"),
        (BillingInterval(length_h=0.25, elapsed_h=0.1, imported_kwh=float("inf")), "imported"),
    ],
)
def test_bad_intervals_are_refused_by_name(interval: BillingInterval, field: str) -> None:
    with pytest.raises(PlannerInputError, match=field):
        guard([], load_kw=10.0, target_peak_kw=10.0, interval=interval)


def test_a_bad_load_is_refused() -> None:
    with pytest.raises(PlannerInputError, match="load_kw"):
        guard([], load_kw=float("nan"), target_peak_kw=10.0, interval=_start())
    with pytest.raises(PlannerInputError, match="below 1e"):
        guard([], load_kw=1e21, target_peak_kw=10.0, interval=_start())


def _clamped(cars: list[GuardCar], hours: float) -> dict[str, float]:
    """The plan's setpoints within each car's room, netted (what the guard starts from)."""
    powers = {
        car.vehicle_id: min(max(car.planned_kw, -car.may_discharge_kw(hours)), car.max_charge_kw)
        for car in cars
    }
    if any(power > 1e-9 for power in powers.values()):
        powers = {vid: max(power, 0.0) for vid, power in powers.items()}
    return powers


cars_strategy = st.lists(
    st.builds(
        _car,
        st.uuids().map(str),
        st.floats(-8, 8),
        max_charge_kw=st.floats(0, 11),
        max_discharge_kw=st.floats(0, 11),
        energy_kwh=st.floats(0, 40),
        reserve_kwh=st.floats(0, 20),
        target_kwh=st.floats(0, 40),
        hours_to_departure=st.floats(0, 60),
    ),
    max_size=8,
    unique_by=lambda car: car.vehicle_id,
)


@settings(max_examples=300, deadline=None)
@given(
    cars=cars_strategy,
    load_kw=st.floats(-20, 300),
    target_kw=st.floats(0, 300),
    elapsed_min=st.floats(0, 15),
    imported_kw=st.floats(-20, 300),
    tolerance_kw=st.sampled_from([0.0, 0.5, 5.0]),
)
def test_rules_on_any_input(
    cars: list[GuardCar],
    load_kw: float,
    target_kw: float,
    elapsed_min: float,
    imported_kw: float,
    tolerance_kw: float,
) -> None:
    interval = _start(imported_kwh=imported_kw * elapsed_min / 60, elapsed_h=elapsed_min / 60)
    decision = guard(
        cars,
        load_kw=load_kw,
        target_peak_kw=target_kw,
        interval=interval,
        tolerance_kw=tolerance_kw,
    )
    hours = interval.remaining_h or interval.length_h
    powers = decision.setpoints_kw
    assert set(powers) == {car.vehicle_id for car in cars}
    # Never one car charging another.
    assert not (any(p > 1e-9 for p in powers.values()) and any(p < -1e-9 for p in powers.values()))
    for car in cars:
        power = powers[car.vehicle_id]
        assert power <= car.max_charge_kw + 1e-9
        assert -power <= car.may_discharge_kw(hours) + 1e-9  # reserve and target kept
        # Charging is only cut down to what the departure still needs.
        needed = min(car.must_charge_kw(hours), max(car.planned_kw, 0.0))
        if needed > 1e-9:
            assert power >= needed - 1e-9
    # The guard never discharges into the grid beyond the plan's own choice.
    discharge = -sum(p for p in powers.values() if p < 0)
    planned_discharge = -sum(min(car.planned_kw, 0.0) for car in cars)
    assert discharge <= max(load_kw, 0.0) + planned_discharge + 1e-6
    # Within the tolerance the plan's setpoints stand (only netted and clamped).
    within = (load_kw + sum(_clamped(cars, hours).values()) - decision.allowed_import_kw) * (
        interval.remaining_h / interval.length_h
    ) <= tolerance_kw
    if within:
        assert decision.action is GuardAction.FOLLOW
    # Held (to the tolerance, while the plan is followed), or reported as over.
    if decision.action is GuardAction.FOLLOW:
        left = interval.remaining_h / interval.length_h
        assert (decision.import_kw - decision.allowed_import_kw) * left <= tolerance_kw + 1e-6
    elif decision.action is not GuardAction.OVER:
        assert decision.import_kw <= decision.allowed_import_kw + 1e-6
    else:
        assert decision.over_kw > 0


def _office() -> PlanInput:
    """Four steps at 100 kW, a demand charge, one car present and one that is not planned."""
    return PlanInput(
        step_h=QUARTER,
        load_kw=np.array([100.0, 120.0, 100.0, 100.0]),
        price=np.full(4, 0.2),
        vehicles=(plan_car("in", departure_step=4, energy_kwh=30.0, target_kwh=20.0),),
        demand_charge_per_kw=15.0,
        demand_mask=np.array([True, True, True, False]),
    )


def test_the_target_is_the_plans_peak_while_the_demand_charge_applies() -> None:
    data = _office()
    plan = lp.solve(data)
    assert guard_target_kw(data, plan) == pytest.approx(plan.peak_kw)
    assert plan.peak_kw < 120.0  # the car shaves the 120 kW step
    # An import limit below the peak caps it; outside the window only the limit is held.
    assert guard_target_kw(replace(data, import_limit_kw=105.0), plan) == 105.0
    outside = replace(data, demand_mask=np.array([False, True, True, False]))
    assert guard_target_kw(outside, plan) is None
    assert guard_target_kw(replace(outside, import_limit_kw=130.0), plan) == 130.0
    assert guard_target_kw(replace(data, demand_charge_per_kw=0.0), plan) is None


def test_guard_cars_read_the_soc_now_and_skip_cars_not_planned() -> None:
    data = _office()
    plan = lp.solve(data)
    extra = plan_car("not planned", departure_step=4)
    cars = guard_cars(
        (*data.vehicles, extra),
        plan,
        soc_pct={"in": 50.0},
        hours_to_departure={"in": -0.1, "not planned": 1.0},
    )
    assert [c.vehicle_id for c in cars] == ["in"]
    (only,) = cars
    assert only.planned_kw == pytest.approx(float(plan.vehicle("in").power_kw[0]))
    assert only.energy_kwh == pytest.approx(0.495 * 40.0)  # the low end of "50 %"
    assert only.hours_to_departure == 0.0  # overdue: leaving now
    assert only.one_way_efficiency == pytest.approx(0.9)
    # Without a reading the plan's energy stands; without a departure the car is skipped.
    unknown = guard_cars(data.vehicles, plan, soc_pct={}, hours_to_departure={"in": 1.0})
    assert unknown[0].energy_kwh == pytest.approx(30.0)
    assert guard_cars(data.vehicles, plan, soc_pct={}, hours_to_departure={}) == []
