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
    full = {"energy_kwh": 39.0, "target_kwh": 30.0}  # 9 kWh each above what they need
    decision = guard(
        [_car("a", -1.0, **full), _car("b", 0.0, **full)],
        load_kw=110.0,
        target_peak_kw=100.0,
        interval=_start(),
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
    spare = _car("a", 0.0, energy_kwh=38.0)
    decision = guard([spare], load_kw=64.0, target_peak_kw=100.0, interval=interval)
    assert decision.setpoints_kw["a"] == pytest.approx(-4.0)


def test_never_below_the_reserve_or_past_what_the_target_allows() -> None:
    low = _car("a", -6.0, energy_kwh=12.2)  # 0.2 kWh above its reserve
    decision = guard([low], load_kw=200.0, target_peak_kw=100.0, interval=_start())
    assert -decision.setpoints_kw["a"] * QUARTER <= 0.2 + 1e-9
    short = _car("b", 0.0, energy_kwh=30.0, hours_to_departure=1.0)  # needs all its hour
    decision = guard([short], load_kw=200.0, target_peak_kw=100.0, interval=_start())
    assert decision.setpoints_kw["b"] >= 0.0


def test_the_cars_never_export() -> None:
    spare = _car("a", 0.0, energy_kwh=38.0)
    decision = guard([spare], load_kw=2.0, target_peak_kw=0.0, interval=_start())
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


def test_the_guard_takes_no_energy_that_would_have_to_be_charged_back() -> None:
    # 24 kWh of 36 wanted, 8 h to go, the load 20 kW over: the trusting guard takes 6 kW
    # from it (it counts on charging back later); the cautious one does not, since it
    # would charge back at the peak, and keeps the car on its steady 1.5 kW instead.
    planned = _car("a", -2.0)
    assert planned.may_discharge_kw(QUARTER) == 6.0
    assert planned.spare_kw(QUARTER) == 0.0
    trusting = guard([planned], load_kw=120.0, target_peak_kw=100.0, interval=_start())
    assert trusting.setpoints_kw["a"] == pytest.approx(-6.0)
    cautious = guard(
        [planned], load_kw=120.0, target_peak_kw=100.0, interval=_start(), cautious=True
    )
    assert cautious.setpoints_kw == {"a": pytest.approx(1.5)}
    assert cautious.action is GuardAction.OVER
    # Above its target it may: 1 kWh over a quarter hour is 4 kW at the charger.
    above = _car("a", -2.0, energy_kwh=37.0)
    raised = guard([above], load_kw=120.0, target_peak_kw=100.0, interval=_start(), cautious=True)
    assert raised.setpoints_kw["a"] == pytest.approx(-4.0)


def test_a_car_the_plan_leaves_idle_is_charged_what_its_departure_needs() -> None:
    # 12 kWh missing at 6 kW: 2 h 15 min to go leaves a quarter hour of slack, 2.1 h
    # none: 12 - 6 * 1.85 = 0.9 kWh in the next quarter hour, 3.6 kW.
    assert _car("a", 0.0, hours_to_departure=2.25).must_charge_kw(QUARTER) == pytest.approx(0.0)
    later = _car("a", 0.0, hours_to_departure=2.1)
    assert later.must_charge_kw(QUARTER) == pytest.approx(3.6)
    # Cautious, the plan (15 minutes old) holding it at 0 kW is overruled, over the
    # target or not, at its steady rate (12 kWh over 2.1 h), which is more.
    decision = guard([later], load_kw=99.0, target_peak_kw=100.0, interval=_start(), cautious=True)
    assert decision.setpoints_kw["a"] == pytest.approx(12 / 2.1)
    assert decision.action is GuardAction.OVER


def test_the_margin_brings_the_target_forward() -> None:
    # Half an hour in hand: the car of the test above is already behind, at full power.
    car = _car("a", 0.0, hours_to_departure=2.1, margin_h=0.5)
    assert car.must_charge_kw(QUARTER) == pytest.approx(6.0)
    assert _car("a", 0.0, hours_to_departure=3.0, margin_h=0.5).must_charge_kw(
        QUARTER
    ) == pytest.approx(0.0)
    # Behind its margin even for the refill a discharge counts on.
    assert _car("a", 0.0, hours_to_departure=2.5, margin_h=0.5).may_discharge_kw(QUARTER) == 0.0
    # The margin is for what the guard adds: the plan's own discharge is held to the
    # departure itself, the guard's extra to the margin.
    edge = _car("a", -4.0, hours_to_departure=2.5, margin_h=0.5)
    assert edge.may_discharge_kw(QUARTER, margin_h=0.0) == pytest.approx(6.0)
    decision = guard([edge], load_kw=120.0, target_peak_kw=100.0, interval=_start())
    assert decision.setpoints_kw == {"a": -4.0}
    assert decision.action is GuardAction.OVER
    # A car leaving now charges nothing: nothing charged now arrives in time.
    assert _car("a", 0.0, hours_to_departure=0.0, margin_h=0.5).must_charge_kw(QUARTER) == 0.0
    with pytest.raises(PlannerInputError, match="margin_h"):
        _car("a", 0.0, margin_h=-1.0).validate()


def test_steady_charging_spreads_the_need_over_the_stay() -> None:
    # 12 kWh missing, at its target half an hour before it leaves in 8.5 h: 1.5 kW.
    car = _car("a", 0.0, hours_to_departure=8.5, margin_h=0.5)
    assert car.steady_kw() == pytest.approx(1.5)
    steady = guard([car], load_kw=150.0, target_peak_kw=100.0, interval=_start(), cautious=True)
    assert steady.setpoints_kw["a"] == pytest.approx(1.5)  # kept even over the target
    plain = guard([car], load_kw=150.0, target_peak_kw=100.0, interval=_start())
    assert plain.setpoints_kw["a"] == pytest.approx(-6.0)  # trusting the refill
    assert _car("a", 0.0, energy_kwh=36.0).steady_kw() == 0.0
    assert _car("a", 0.0, hours_to_departure=0.25, margin_h=0.5).steady_kw() == 6.0


def test_charging_beyond_the_need_stays_under_the_ceiling() -> None:
    # The plan expects a 110 kW peak later and charges under it now; the peak billed so
    # far is 96 kW: charging past that would raise the bill if the peak never comes.
    cars = [_car("a", 6.0), _car("b", 6.0)]
    decision = guard(
        cars, load_kw=90.0, target_peak_kw=110.0, interval=_start(), charge_ceiling_kw=96.0
    )
    assert decision.action is GuardAction.CUT_CHARGING
    assert decision.import_kw == pytest.approx(96.0)
    assert decision.target_peak_kw == 110.0
    # What a departure needs is charged even over the ceiling.
    leaving = [_car("a", 6.0, hours_to_departure=2.0), _car("b", 6.0)]
    needed = guard(
        leaving, load_kw=95.0, target_peak_kw=110.0, interval=_start(), charge_ceiling_kw=96.0
    )
    assert needed.setpoints_kw == pytest.approx({"a": 6.0, "b": 0.0})
    # No ceiling, or one at the target: the target alone.
    same = guard(
        cars, load_kw=90.0, target_peak_kw=110.0, interval=_start(), charge_ceiling_kw=110.0
    )
    assert same.action is GuardAction.FOLLOW
    assert same.import_kw == pytest.approx(102.0)
    with pytest.raises(PlannerInputError, match="charge_ceiling_kw"):
        guard(cars, load_kw=90.0, target_peak_kw=110.0, interval=_start(), charge_ceiling_kw=-1)


def test_a_bad_load_is_refused() -> None:
    with pytest.raises(PlannerInputError, match="load_kw"):
        guard([], load_kw=float("nan"), target_peak_kw=10.0, interval=_start())
    with pytest.raises(PlannerInputError, match="below 1e"):
        guard([], load_kw=1e21, target_peak_kw=10.0, interval=_start())


def test_setpoints_are_ones_a_charger_can_run() -> None:
    """A Quasar will not run below 6 A (about 1.4 kW): a smaller setpoint is 0, or the
    minimum when the departure needs the charging now."""
    minimum = {"min_charge_kw": 1.4, "min_discharge_kw": 1.4}
    cars = [
        _car("full", 0.5, energy_kwh=36.0, **minimum),  # at its target: needs nothing
        _car("late", 0.5, energy_kwh=30.0, hours_to_departure=0.25, **minimum),
    ]
    decision = guard(cars, load_kw=50.0, target_peak_kw=95.0, interval=_start())
    assert decision.setpoints_kw == {"full": 0.0, "late": 1.4}
    assert decision.action is GuardAction.FOLLOW
    # The guard wants 0.8 kW more than the plan: a car with the room runs at the
    # minimum, one with 0.2 kWh above its reserve has not the room and stays off.
    cars = [_car("a", 0.0, **minimum)]
    decision = guard(cars, load_kw=95.8, target_peak_kw=95.0, interval=_start())
    assert decision.setpoints_kw == {"a": -1.4}
    assert decision.action is GuardAction.DISCHARGE
    cars = [_car("a", 0.0, energy_kwh=12.2, **minimum)]
    decision = guard(cars, load_kw=95.8, target_peak_kw=95.0, interval=_start())
    assert decision.setpoints_kw == {"a": 0.0}
    assert decision.action is GuardAction.OVER


def test_a_minimum_that_takes_the_interval_over_is_reported() -> None:
    late = _car("late", 0.5, energy_kwh=30.0, hours_to_departure=0.25, min_charge_kw=4.0)
    decision = guard([late], load_kw=94.0, target_peak_kw=95.0, interval=_start())
    assert decision.setpoints_kw == {"late": 4.0}
    assert decision.action is GuardAction.OVER
    assert decision.over_kw == pytest.approx(3.0)


def _clamped(cars: list[GuardCar], hours: float, *, cautious: bool) -> dict[str, float]:
    """The plan's setpoints within each car's room, netted (what the guard starts from)."""
    powers = {}
    for car in cars:
        power = min(
            max(car.planned_kw, -car.may_discharge_kw(hours, margin_h=0.0)), car.max_charge_kw
        )
        need = max(car.must_charge_kw(hours), car.steady_kw()) if cautious else 0.0
        powers[car.vehicle_id] = max(power, need) if need > 1e-9 else power
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
        margin_h=st.sampled_from([0.0, 0.5]),
        min_charge_kw=st.sampled_from([0.0, 0.0, 1.4, 4.0]),
        min_discharge_kw=st.sampled_from([0.0, 0.0, 1.4, 4.0]),
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
    cautious=st.booleans(),
)
def test_rules_on_any_input(
    cars: list[GuardCar],
    load_kw: float,
    target_kw: float,
    elapsed_min: float,
    imported_kw: float,
    tolerance_kw: float,
    cautious: bool,
) -> None:
    interval = _start(imported_kwh=imported_kw * elapsed_min / 60, elapsed_h=elapsed_min / 60)
    decision = guard(
        cars,
        load_kw=load_kw,
        target_peak_kw=target_kw,
        interval=interval,
        tolerance_kw=tolerance_kw,
        cautious=cautious,
    )
    hours = interval.remaining_h or interval.length_h
    powers = decision.setpoints_kw
    assert set(powers) == {car.vehicle_id for car in cars}
    # Never one car charging another.
    assert not (any(p > 1e-9 for p in powers.values()) and any(p < -1e-9 for p in powers.values()))
    for car in cars:
        power = powers[car.vehicle_id]
        assert power <= car.max_charge_kw + 1e-9
        # A setpoint the charger can run: off, or at least its minimum.
        minimum = car.min_charge_kw if power > 0 else car.min_discharge_kw
        assert power == 0.0 or abs(power) >= minimum - 1e-9
        runs = car.min_charge_kw <= car.max_charge_kw
        # Reserve and target kept: the plan's own discharge to the departure, what the
        # guard adds to the margin before it.
        assert -power <= car.may_discharge_kw(hours, margin_h=0.0) + 1e-9
        assert -power <= max(-car.planned_kw, car.may_discharge_kw(hours)) + 1e-9
        # What the departure still needs is charged, whatever the plan said.
        if cautious:
            # What the departure needs, and the steady share, whatever the plan said;
            # beyond the plan's own discharge, only energy that needs no charging back.
            need = max(car.must_charge_kw(hours), car.steady_kw())
            if need > 1e-9 and runs:
                assert power >= min(need, car.max_charge_kw) - 1e-9
            assert -power <= max(-car.planned_kw, car.spare_kw(hours)) + 1e-9
        else:
            # Charging is only cut down to what the departure still needs.
            needed = min(car.must_charge_kw(hours), max(car.planned_kw, 0.0))
            if needed > 1e-9 and runs:
                assert power >= needed - 1e-9
    # The guard never discharges into the grid beyond the plan's own choice.
    discharge = -sum(p for p in powers.values() if p < 0)
    planned_discharge = -sum(min(car.planned_kw, 0.0) for car in cars)
    assert discharge <= max(load_kw, 0.0) + planned_discharge + 1e-6
    # Within the tolerance the plan's setpoints stand (only netted and clamped), unless
    # a minimum power takes the import over.
    within = (
        load_kw
        + sum(_clamped(cars, hours, cautious=cautious).values())
        - decision.allowed_import_kw
    ) * (interval.remaining_h / interval.length_h) <= tolerance_kw
    if within:
        assert decision.action in (GuardAction.FOLLOW, GuardAction.OVER)
        if decision.action is GuardAction.OVER:
            assert any(max(car.min_charge_kw, car.min_discharge_kw) > 0 for car in cars)
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
    assert unknown[0].margin_h == 0.0
    margined = guard_cars(
        data.vehicles, plan, soc_pct={}, hours_to_departure={"in": 1.0}, margin_h=0.5
    )
    assert margined[0].margin_h == 0.5
    assert guard_cars(data.vehicles, plan, soc_pct={}, hours_to_departure={}) == []
