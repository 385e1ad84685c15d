"""Scenarios shared by the planner tests: a fixed office day and random small cases."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta
import math
from zoneinfo import ZoneInfo

from hypothesis import strategies as st
import numpy as np

from custom_components.v2x.planner.model import PlanInput, VehicleSpec
from custom_components.v2x.planner.series import (
    TariffPeriod,
    TimeOfUseTariff,
    step_starts,
)

TOKYO = ZoneInfo("Asia/Tokyo")
ATSUGI_CARS = 6
ATSUGI_MAX_DISCHARGE_KW = 6.0


def office_load_kw(hour: float) -> float:
    """A ~1 MW office: about 420 kW at night, ~1 MW mid-afternoon, a lunch dip."""
    base = 420.0
    if 7.0 <= hour <= 20.0:
        bump = float(max(0.0, math.sin(math.pi * (hour - 7.0) / 13.0)) ** 0.6)
        lunch = 40.0 * math.exp(-(((hour - 12.25) / 0.5) ** 2))
        return base + 590.0 * bump - lunch
    return base


def atsugi_input() -> PlanInput:
    """Six 40 kWh cars on 6 kW bidirectional chargers at a ~1 MW office, 96 x 15 min.

    Tariff (currency/kWh): 0.12 off-peak 22:00-08:00, 0.22 day, 0.35 peak 13:00-16:00 on
    weekdays; demand charge 17 per kW in the 08:00-22:00 window. Tuesday 15 July 2025.
    """
    start = datetime(2025, 7, 15, tzinfo=TOKYO)
    starts = step_starts(start, 96, timedelta(minutes=15))
    weekdays = frozenset(range(5))
    tariff = TimeOfUseTariff(
        default_price=0.22,
        periods=(
            TariffPeriod(time(13), time(16), 0.35, weekdays),
            TariffPeriod(time(22), time(8), 0.12),
        ),
    )
    rng = np.random.default_rng(2013)
    load = np.asarray(
        [office_load_kw(moment.hour + moment.minute / 60) for moment in starts], dtype=np.float64
    ) + rng.normal(0.0, 8.0, 96)
    mask = np.asarray([8 <= moment.hour < 22 for moment in starts], dtype=bool)
    arrivals = (32, 33, 34, 34, 35, 36)  # 08:00 .. 09:00
    departures = (70, 71, 72, 72, 73, 74)  # 17:30 .. 18:30
    initial = (22.0, 26.0, 30.0, 18.0, 24.0, 28.0)
    vehicles = tuple(
        VehicleSpec(
            vehicle_id=f"leaf{index + 1}",
            capacity_kwh=40.0,
            energy_kwh=initial[index],
            departure_step=departures[index],
            target_kwh=38.0,
            reserve_kwh=12.0,
            max_charge_kw=6.0,
            max_discharge_kw=ATSUGI_MAX_DISCHARGE_KW,
            arrival_step=arrivals[index],
            round_trip_efficiency=0.85,
            wear_cost_per_kwh=0.02,
        )
        for index in range(ATSUGI_CARS)
    )
    return PlanInput(
        step_h=0.25,
        load_kw=load,
        price=tariff.prices(starts),
        vehicles=vehicles,
        demand_charge_per_kw=17.0,
        demand_mask=mask,
    )


def car(vehicle_id: str = "ev", **overrides: float) -> VehicleSpec:
    """A plain 40 kWh car present the whole day, with keyword overrides."""
    values: dict[str, float] = {
        "capacity_kwh": 40.0,
        "energy_kwh": 20.0,
        "departure_step": 24,
        "target_kwh": 30.0,
        "reserve_kwh": 10.0,
        "max_charge_kw": 6.0,
        "max_discharge_kw": 6.0,
        "arrival_step": 0,
        "round_trip_efficiency": 0.81,
        "wear_cost_per_kwh": 0.0,
        "min_charge_kw": 0.0,
        "min_discharge_kw": 0.0,
    }
    values.update(overrides)
    return VehicleSpec(
        vehicle_id=vehicle_id,
        capacity_kwh=values["capacity_kwh"],
        energy_kwh=values["energy_kwh"],
        departure_step=int(values["departure_step"]),
        target_kwh=values["target_kwh"],
        reserve_kwh=values["reserve_kwh"],
        max_charge_kw=values["max_charge_kw"],
        max_discharge_kw=values["max_discharge_kw"],
        arrival_step=int(values["arrival_step"]),
        round_trip_efficiency=values["round_trip_efficiency"],
        wear_cost_per_kwh=values["wear_cost_per_kwh"],
        min_charge_kw=values["min_charge_kw"],
        min_discharge_kw=values["min_discharge_kw"],
    )


def clipped_departure(vehicle: VehicleSpec, steps: int) -> int:
    """Departure step clipped to [arrival, steps], as the model defines it (the
    horizon's end for a stationary battery, which never leaves)."""
    if vehicle.stationary:
        return steps
    return min(max(vehicle.departure_step, vehicle.arrival_step), steps)


def battery(vehicle_id: str = "battery", **overrides: float) -> VehicleSpec:
    """A stationary 10 kWh battery with a 2 kWh reserve on a 3 kW inverter.

    Its departure and target are left at values no car could have: a stationary
    battery's are ignored.
    """
    values: dict[str, float] = {
        "capacity_kwh": 10.0,
        "energy_kwh": 6.0,
        "reserve_kwh": 2.0,
        "max_charge_kw": 3.0,
        "max_discharge_kw": 3.0,
        "round_trip_efficiency": 0.9,
        "wear_cost_per_kwh": 0.0,
        "min_charge_kw": 0.0,
        "min_discharge_kw": 0.0,
    }
    values.update(overrides)
    return VehicleSpec(
        vehicle_id=vehicle_id,
        capacity_kwh=values["capacity_kwh"],
        energy_kwh=values["energy_kwh"],
        departure_step=-1,
        target_kwh=math.nan,
        reserve_kwh=values["reserve_kwh"],
        max_charge_kw=values["max_charge_kw"],
        max_discharge_kw=values["max_discharge_kw"],
        round_trip_efficiency=values["round_trip_efficiency"],
        wear_cost_per_kwh=values["wear_cost_per_kwh"],
        min_charge_kw=values["min_charge_kw"],
        min_discharge_kw=values["min_discharge_kw"],
        stationary=True,
    )


def reachable_kwh(vehicle: VehicleSpec, steps: int, step_h: float) -> float:
    """Most energy the car can hold when it leaves (charging flat out all the time)."""
    window = clipped_departure(vehicle, steps) - vehicle.arrival_step
    return min(
        vehicle.capacity_kwh,
        vehicle.energy_kwh
        + vehicle.one_way_efficiency * vehicle.usable_charge_kw * step_h * window,
    )


def due_kwh(vehicle: VehicleSpec, steps: int, step_h: float) -> float:
    """What the car must hold at its clipped departure: its target, or, when it leaves
    after the horizon, what half the time after the horizon at full power cannot add.
    Nothing for a stationary battery (its reserve is a floor, not a target)."""
    if vehicle.stationary:
        return 0.0
    if vehicle.departure_step <= steps:
        return vehicle.target_kwh
    later_kwh = (
        vehicle.one_way_efficiency
        * vehicle.usable_charge_kw
        * step_h
        * (vehicle.departure_step - steps)
    )
    return max(vehicle.target_kwh - later_kwh / 2, 0.0)


def leaves_below_reserve(vehicle: VehicleSpec, steps: int, step_h: float) -> bool:
    """A car that arrives below its reserve and leaves (inside the horizon) before reaching it.

    The reserve floor used to keep rising after departure, when the car can no longer
    charge, which made the program infeasible (see test_lp_invariants).
    """
    return (
        clipped_departure(vehicle, steps) < steps
        and reachable_kwh(vehicle, steps, step_h) < vehicle.reserve_kwh - 1e-9
    )


def _hundredths(low: int, high: int) -> st.SearchStrategy[float]:
    return st.integers(low, high).map(lambda value: value / 100)


@st.composite
def vehicles(draw: st.DrawFn, vehicle_id: str, steps: int, step_h: float) -> VehicleSpec:
    """A random car the planner accepts: its target at or above its reserve, and it
    leaves no earlier than it arrives (the planner refuses anything else).

    One in four is a stationary battery: there from step 0, its departure and target
    drawn anywhere (even in the past, or below its reserve), since they are ignored.
    """
    capacity = draw(st.integers(10, 80)) * 1.0
    reserve = capacity * draw(_hundredths(0, 50))
    stationary = draw(st.integers(0, 3)) == 0
    if stationary:
        target = capacity * draw(_hundredths(0, 100))
        arrival = 0
        departure = draw(st.integers(-3, steps + 4))
    else:
        target = max(capacity * draw(_hundredths(0, 100)), reserve)
        arrival = draw(st.integers(0, steps))
        departure = draw(st.integers(arrival, steps + 4))
    return VehicleSpec(
        vehicle_id=vehicle_id,
        capacity_kwh=capacity,
        energy_kwh=capacity * draw(_hundredths(0, 100)),
        departure_step=departure,
        target_kwh=target,
        reserve_kwh=reserve,
        max_charge_kw=draw(st.sampled_from([0.0, 3.7, 6.0, 7.4, 11.0])),
        max_discharge_kw=draw(st.sampled_from([0.0, 3.7, 6.0, 11.0])),
        arrival_step=arrival,
        round_trip_efficiency=draw(_hundredths(70, 100)),
        wear_cost_per_kwh=draw(_hundredths(0, 10)),
        # Most chargers in the field have a minimum (a Quasar's 6 A); some start at 0,
        # and one above the car's own limit means the charger cannot run at all.
        min_charge_kw=draw(st.sampled_from([0.0, 1.4, 4.0, 8.0])),
        min_discharge_kw=draw(st.sampled_from([0.0, 1.4, 4.0])),
        stationary=stationary,
    )


@st.composite
def plan_inputs(
    draw: st.DrawFn,
    *,
    min_cars: int = 1,
    max_cars: int = 3,
    min_steps: int = 8,
    max_steps: int = 24,
    import_limit: bool | None = None,
    negative_prices: bool = True,
) -> PlanInput:
    """A random small planning problem.

    ``import_limit``: True always sets one, False never, None lets hypothesis choose.
    ``negative_prices`` allows negative import and arbitrary export prices.
    """
    steps = draw(st.integers(min_steps, max_steps))
    step_h = draw(st.sampled_from([0.25, 0.5, 1.0]))
    count = draw(st.integers(min_cars, max_cars))
    cars = tuple(draw(vehicles(f"car{index}", steps, step_h)) for index in range(count))
    load = np.asarray(draw(st.lists(_hundredths(-3000, 8000), min_size=steps, max_size=steps)))
    low_price = -20 if negative_prices else 0
    price = np.asarray(draw(st.lists(_hundredths(low_price, 60), min_size=steps, max_size=steps)))
    export_price = None
    if draw(st.booleans()):
        export = draw(st.lists(_hundredths(low_price, 70), min_size=steps, max_size=steps))
        export_price = np.asarray(export)
        if not negative_prices:
            export_price = np.minimum(export_price, price)
    use_limit = draw(st.booleans()) if import_limit is None else import_limit
    mask = None
    if draw(st.booleans()):
        mask = np.asarray(draw(st.lists(st.booleans(), min_size=steps, max_size=steps)))
    billing_steps = draw(st.sampled_from([1, 1, 2, 3, 4]))
    billing_offset = draw(st.integers(0, billing_steps - 1))
    return PlanInput(
        step_h=step_h,
        load_kw=load,
        price=price,
        vehicles=cars,
        export_price=export_price,
        export_limit_kw=draw(st.sampled_from([0.0, 5.0, 30.0])),
        import_limit_kw=draw(_hundredths(0, 7000)) if use_limit else None,
        demand_charge_per_kw=draw(_hundredths(0, 2000)),
        billed_peak_kw=draw(_hundredths(0, 6000)),
        demand_mask=mask,
        allow_transfer=draw(st.booleans()),
        billing_steps=billing_steps,
        billing_offset=billing_offset,
        billing_so_far_kwh=draw(_hundredths(0, 3000)) * step_h * billing_offset,
    )


def without_minimums(data: PlanInput) -> PlanInput:
    """The same problem on chargers that run at any power."""
    cars = tuple(replace(v, min_charge_kw=0.0, min_discharge_kw=0.0) for v in data.vehicles)
    return replace(data, vehicles=cars)
