"""Vehicle-to-building planner on a 1 MW office day (issue 6).

Usage: python -m benchmarks.v2b_planner [--repeats 50] [--large-repeats 10] [--seed 1]
       [--chart docs/images/v2b_planned_day.svg]

Needs demandlib (install with ``.venv/bin/pip install -r requirements_bench.txt``).

The building is the BDEW G1 standard load profile (offices) of demandlib for a summer
Wednesday, 15-minute steps from midnight, with seeded Gaussian noise and scaled so
that the day's peak is exactly 1 MW, the size Nissan's Atsugi V2B trial implies
(25.6 kW was 2.5 % of its peak). Six 40 kWh cars on 6 kW bidirectional chargers
arrive between 8:00 and 9:00 at 50-70 % and must be full when they leave between
17:30 and 18:30. The day is planned with :func:`custom_components.v2x.planner.lp.solve`
and compared with plug-and-charge; the solve is then timed for this case and for
50 cars over 288 five-minute steps. The script exits with status 1 (after printing)
when a goal is missed, and writes an SVG chart of the planned day.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
import importlib
from importlib import metadata
import math
from pathlib import Path
import platform
import resource
import sys
import time as clock
import tracemalloc
from typing import Any
import warnings

import numpy as np

from custom_components.v2x.planner import lp
from custom_components.v2x.planner.baseline import Comparison, compare, plug_and_charge_kw
from custom_components.v2x.planner.model import FloatArray, Plan, PlanInput, VehicleSpec
from custom_components.v2x.planner.series import TariffPeriod, TimeOfUseTariff, step_starts

from . import svgchart

DAY = date(2025, 7, 16)
"""A Wednesday in July (no public holiday; BDEW summer season)."""
BUILDING_PEAK_KW = 1000.0
NOISE_SD = 0.015
"""Relative standard deviation of the noise added to each 15-minute value."""

CARS = 6
LARGE_CARS = 50
CAPACITY_KWH = 40.0
CHARGER_KW = 6.0
ARRIVAL_H = (8.0, 9.0)
DEPARTURE_H = (17.5, 18.5)
ARRIVAL_SOC = (0.5, 0.7)
TARGET_KWH = 40.0
RESERVE_KWH = 12.0
ROUND_TRIP = 0.85
WEAR_PER_KWH = 0.02

OFF_PEAK = 0.10
SHOULDER = 0.18
PEAK = 0.32
PEAK_HOURS = (13, 19)
OFF_PEAK_HOURS = (22, 8)
WEEKDAYS = frozenset(range(5))
DEMAND_CHARGE_PER_KW = 18.0
"""Per kW of the month's highest step of import, every hour of every day."""
BILLED_PEAK_KW = 0.0
TARIFF = TimeOfUseTariff(
    default_price=SHOULDER,
    periods=(
        TariffPeriod(time(OFF_PEAK_HOURS[0]), time(OFF_PEAK_HOURS[1]), OFF_PEAK),
        TariffPeriod(time(PEAK_HOURS[0]), time(PEAK_HOURS[1]), PEAK, WEEKDAYS),
    ),
)
WORKING_DAYS = 250
MONTHS = 12

ATSUGI_KW = 25.6
CHART_HOURS = (6, 20)
SHAVING_GOAL = 0.90
SMALL_GOAL_S = 0.050
LARGE_GOAL_S = 1.0


def tariff_text() -> str:
    """The tariff in one paragraph (printed next to the results)."""
    return (
        f"off-peak {OFF_PEAK:.2f} $/kWh {OFF_PEAK_HOURS[0]}:00-{OFF_PEAK_HOURS[1]}:00 every "
        f"day; peak {PEAK:.2f} $/kWh {PEAK_HOURS[0]}:00-{PEAK_HOURS[1]}:00 Mon-Fri; shoulder "
        f"{SHOULDER:.2f} $/kWh otherwise; demand charge {DEMAND_CHARGE_PER_KW:.0f} $/kW per "
        "month on the highest step of grid import at any hour; peak already billed this "
        f"month {BILLED_PEAK_KW:.0f} kW (the planned day is treated as the one that sets "
        "the month's peak)"
    )


def _demandlib_bdew() -> Any:
    """The ``demandlib.bdew`` module (untyped and not installed in CI, hence Any)."""
    return importlib.import_module("demandlib.bdew")


def office_day_kw(day: date, rng: np.random.Generator) -> tuple[FloatArray, float]:
    """The G1 profile of ``day`` (96 steps) with noise, scaled to a 1 MW peak.

    Also returns the annual consumption (kWh) the noiseless scaled profile implies.
    """
    bdew = _demandlib_bdew()
    with warnings.catch_warnings():
        # demandlib 0.2.2 turns every warning into an error process-wide
        # (warnings.simplefilter("error") in ElecSlp); keep that inside this block.
        profiles = bdew.ElecSlp(day.year, holidays={}).get_scaled_power_profiles({"g1": 1.0})
    start = (day - date(day.year, 1, 1)).days * 96
    index = profiles.index[start]
    if (index.year, index.month, index.day, index.hour) != (day.year, day.month, day.day, 0):
        raise RuntimeError(f"demandlib's index does not start {day} at position {start}")
    shape = np.asarray(profiles["g1"].to_numpy()[start : start + 96], dtype=np.float64)
    annual_kwh = BUILDING_PEAK_KW / float(shape.max())
    noisy = shape / shape.max() * (1.0 + NOISE_SD * rng.standard_normal(shape.size))
    return noisy * (BUILDING_PEAK_KW / noisy.max()), annual_kwh


def to_steps(load_15min: FloatArray, minutes: int) -> FloatArray:
    """The 15-minute series linearly interpolated to ``minutes`` (between step centres)."""
    centres = np.arange(load_15min.size) * 15.0 + 7.5
    steps = load_15min.size * 15 // minutes
    values: FloatArray = np.interp(np.arange(steps) * minutes + minutes / 2, centres, load_15min)
    return values


def fleet(rng: np.random.Generator, count: int, minutes: int) -> tuple[VehicleSpec, ...]:
    """``count`` identical cars with seeded arrival, departure and arrival charge."""
    per_hour = 60 // minutes
    arrival = rng.integers(int(ARRIVAL_H[0] * per_hour), int(ARRIVAL_H[1] * per_hour) + 1, count)
    departure = rng.integers(
        int(DEPARTURE_H[0] * per_hour), int(DEPARTURE_H[1] * per_hour) + 1, count
    )
    soc = rng.uniform(*ARRIVAL_SOC, count)
    return tuple(
        VehicleSpec(
            vehicle_id=f"car{index + 1}",
            capacity_kwh=CAPACITY_KWH,
            energy_kwh=float(soc[index] * CAPACITY_KWH),
            departure_step=int(departure[index]),
            target_kwh=TARGET_KWH,
            reserve_kwh=RESERVE_KWH,
            max_charge_kw=CHARGER_KW,
            max_discharge_kw=CHARGER_KW,
            arrival_step=int(arrival[index]),
            round_trip_efficiency=ROUND_TRIP,
            wear_cost_per_kwh=WEAR_PER_KWH,
        )
        for index in range(count)
    )


def day_input(load: FloatArray, minutes: int, cars: tuple[VehicleSpec, ...]) -> PlanInput:
    """The planner's input for the day: load, the tariff's prices, the cars."""
    midnight = datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC)
    starts = step_starts(midnight, load.size, timedelta(minutes=minutes))
    return PlanInput(
        step_h=minutes / 60,
        load_kw=load,
        price=TARIFF.prices(starts),
        vehicles=cars,
        demand_charge_per_kw=DEMAND_CHARGE_PER_KW,
        billed_peak_kw=BILLED_PEAK_KW,
    )


def reachable_reduction_kw(data: PlanInput) -> float:
    """The largest peak reduction the cars' energy and chargers allow, cost ignored.

    Same cars and targets, no energy prices or wear: the plan minimises the peak only.
    """
    cars = tuple(replace(car, wear_cost_per_kwh=0.0) for car in data.vehicles)
    peak_only = PlanInput(
        step_h=data.step_h,
        load_kw=data.load_kw,
        price=np.zeros(data.steps),
        vehicles=cars,
        demand_charge_per_kw=1.0,
    )
    plan = lp.solve(peak_only)
    return float(data.load_kw.max()) - plan.peak_kw


@dataclass(frozen=True, slots=True)
class Timing:
    """Wall time of :func:`lp.solve` (validation, model build, HiGHS, read-back)."""

    first_s: float
    median_s: float
    p95_s: float
    max_s: float
    build_median_s: float
    columns: int
    rows: int
    traced_peak_bytes: int
    """tracemalloc's peak during one solve (Python and NumPy allocations, not HiGHS's)."""


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[int(0.95 * (len(ordered) - 1))]


def time_solve(data: PlanInput, repeats: int) -> tuple[Plan, Timing]:
    """Solve ``repeats`` times after a first solve (timed too: the 6-car one is cold)."""
    started = clock.perf_counter()
    plan = lp.solve(data)
    first = clock.perf_counter() - started
    solves, builds = [], []
    for _ in range(repeats):
        started = clock.perf_counter()
        lp.solve(data)
        solves.append(clock.perf_counter() - started)
    for _ in range(max(repeats // 5, 3)):
        started = clock.perf_counter()
        program = lp.build(data)
        builds.append(clock.perf_counter() - started)
    tracemalloc.start()
    lp.solve(data)
    traced_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return plan, Timing(
        first_s=first,
        median_s=float(np.median(solves)),
        p95_s=_p95(solves),
        max_s=max(solves),
        build_median_s=float(np.median(builds)),
        columns=program.layout.columns,
        rows=int(program.row_lower.size),
        traced_peak_bytes=traced_peak,
    )


@dataclass(slots=True)
class Report:
    """Rows of the printed table and the goals checked on the way."""

    rows: list[tuple[str, str, str, str]]
    missed: list[str]

    def add(self, metric: str, value: str, goal: str = "", met: bool | None = None) -> None:
        """One row; a goal with ``met`` False is remembered as missed."""
        mark = "" if met is None else ("yes" if met else "**no**")
        self.rows.append((metric, value, goal, mark))
        if met is False:
            self.missed.append(metric)

    def print(self) -> None:
        """The rows as a Markdown table."""
        print("| metric | value | goal | met |")
        print("|---|---|---|---|")
        for row in self.rows:
            print("| " + " | ".join(row) + " |")

    def exit(self) -> None:
        """Say whether every goal was met; exit with status 1 when one was missed."""
        if self.missed:
            print("Goals missed: " + "; ".join(self.missed))
            sys.exit(1)
        print("Every goal met.")


def _money(value: float) -> str:
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def _mib(size: float) -> str:
    return f"{size / 2**20:.1f} MiB"


def day_report(
    report: Report, data: PlanInput, comparison: Comparison, reachable_kw: float, plan: Plan
) -> None:
    """The rows about the 6-car day: peaks, costs, savings, departures."""
    ceiling = sum(car.max_discharge_kw for car in data.vehicles)
    reduction = comparison.peak_reduction_kw
    planned, baseline = comparison.planned, comparison.plug_and_charge
    report.add("building-only peak", f"{comparison.building_only_peak_kw:.1f} kW")
    report.add("planned peak", f"{planned.peak_kw:.1f} kW")
    report.add("peak with plug-and-charge", f"{baseline.peak_kw:.1f} kW")
    goal_kw = SHAVING_GOAL * min(ceiling, reachable_kw)
    report.add(
        "peak reduction (building-only peak - planned peak)",
        f"{reduction:.1f} kW ({reduction / comparison.building_only_peak_kw:.1%} of the peak)",
        f">= {goal_kw:.1f} kW",
        reduction >= goal_kw - 1e-6,
    )
    report.add("discharge ceiling (6 x 6 kW) / Atsugi", f"{ceiling:.0f} kW / {ATSUGI_KW} kW")
    report.add("reduction the cars' energy allows (peak-only solve)", f"{reachable_kw:.1f} kW")
    report.add(
        "reduction as share of the ceiling",
        f"{reduction / ceiling:.1%} (Atsugi: {ATSUGI_KW / ceiling:.1%})",
        f">= {SHAVING_GOAL:.0%} when energy allows",
        reduction >= goal_kw - 1e-6,
    )
    report.add(
        "energy cost per day: plan / plug-and-charge",
        f"{_money(planned.energy_cost)} / {_money(baseline.energy_cost)}",
    )
    report.add(
        "demand charge (month, this day's peak): plan / plug-and-charge",
        f"{_money(planned.demand_cost)} / {_money(baseline.demand_cost)}",
    )
    energy_saved = baseline.energy_cost - planned.energy_cost
    demand_saved = baseline.demand_cost - planned.demand_cost
    report.add(
        "savings vs plug-and-charge: energy per day / demand charge per month",
        f"{_money(energy_saved)} / {_money(demand_saved)}",
        "total >= 0",
        comparison.savings >= -1e-6,
    )
    annual = energy_saved * WORKING_DAYS + demand_saved * MONTHS
    report.add(
        f"annualised ({WORKING_DAYS} such working days, demand charge x {MONTHS} months)",
        _money(annual),
    )
    short = [car.vehicle_id for car in plan.vehicles if car.shortfall_kwh > 1e-3]
    report.add(
        "cars at target when they leave",
        f"{len(plan.vehicles) - len(short)} of {len(plan.vehicles)}",
        "all",
        not short,
    )
    report.add(
        "largest charge-and-discharge overlap of one car in one step",
        f"{plan.simultaneous_kw:.4f} kW",
        "< 0.001 kW",
        plan.simultaneous_kw < 1e-3,
    )


def timing_report(report: Report, label: str, timing: Timing, goal_s: float) -> None:
    """The rows about one timed case."""
    report.add(f"{label}: LP size", f"{timing.columns:,} columns, {timing.rows:,} rows")
    report.add(
        f"{label}: solve median / p95 / max",
        f"{_ms(timing.median_s)} / {_ms(timing.p95_s)} / {_ms(timing.max_s)}",
        f"p95 < {_ms(goal_s)}",
        timing.p95_s < goal_s,
    )
    report.add(
        f"{label}: first solve of this case / model build median",
        f"{_ms(timing.first_s)} / {_ms(timing.build_median_s)}",
    )
    report.add(f"{label}: tracemalloc peak of one solve", _mib(timing.traced_peak_bytes))


def car_table(plan: Plan, data: PlanInput) -> None:
    """Arrival, departure and charge of every car."""
    print("| car | plugged in | leaves | arrives at | lowest while plugged in | leaves at |")
    print("|---|---|---|---|---|---|")
    for car, spec in zip(plan.vehicles, data.vehicles, strict=True):
        plugged = car.energy_kwh[spec.arrival_step : car.departure_step + 1]
        arrive = svgchart.clock(spec.arrival_step * data.step_h)
        leave = svgchart.clock(car.departure_step * data.step_h)
        print(
            f"| {car.vehicle_id} | {arrive} | {leave} | {spec.energy_kwh / CAPACITY_KWH:.1%} | "
            f"{plugged.min() / CAPACITY_KWH:.1%} | {car.departure_energy_kwh / CAPACITY_KWH:.1%} |"
        )


def chart(data: PlanInput, plan: Plan, comparison: Comparison, path: Path) -> None:
    """The planned day: grid import against the building and plug-and-charge, car power."""
    first, last = (round(hour / data.step_h) for hour in CHART_HOURS)
    shown = slice(first, last)
    hours = [index * data.step_h for index in range(first, last + 1)]
    cars_kw = np.sum([car.power_kw for car in plan.vehicles], axis=0)
    baseline_cars_kw = plug_and_charge_kw(data).sum(axis=0)
    baseline = comparison.plug_and_charge
    top = max(1100.0, math.ceil(baseline.peak_kw / 50) * 50 + 50)
    ceiling = sum(car.max_discharge_kw for car in data.vehicles)
    at_target = sum(car.shortfall_kwh <= 1e-3 for car in plan.vehicles)
    figure = svgchart.Chart(
        title=f"V2B plan of a 1 MW office day: {len(plan.vehicles)} cars x "
        f"{CAPACITY_KWH:.0f} kWh on {CHARGER_KW:.0f} kW chargers",
        subtitle=(
            f"BDEW G1 {DAY.isoformat()} + {NOISE_SD:.1%} noise; peak "
            f"{comparison.building_only_peak_kw:.0f} \u2192 {plan.peak_kw:.0f} kW "
            f"(-{comparison.peak_reduction_kw:.1f} of {ceiling:.0f} kW possible); "
            f"plug-and-charge {baseline.peak_kw:.0f} kW; {at_target}/{len(plan.vehicles)} "
            "cars at target at departure"
        ),
        x_edges=hours,
        x_label=f"time of day ({CHART_HOURS[0]:02d}:00-{CHART_HOURS[1]:02d}:00 shown; "
        "no car is plugged in outside it)",
        x_ticks=[float(hour) for hour in range(CHART_HOURS[0], CHART_HOURS[1] + 1)],
        bands=(
            svgchart.Band(
                float(PEAK_HOURS[0]),
                float(PEAK_HOURS[1]),
                f"peak tariff {PEAK:.2f} $/kWh",
            ),
        ),
        panels=(
            svgchart.Panel(
                series=(
                    svgchart.Series(
                        "building alone", _values(data.load_kw[shown]), "#8a8a8a", "area", 1.2
                    ),
                    svgchart.Series(
                        "plug-and-charge import",
                        _values(baseline.grid_kw[shown]),
                        "#d62728",
                        width=1.6,
                        dash="6 4",
                    ),
                    svgchart.Series(
                        "planned grid import", _values(plan.grid_kw[shown]), "#1f5fbf", width=2.4
                    ),
                ),
                y_label="grid import (kW)",
                y_range=(600.0, top),
                markers=(
                    svgchart.Marker(
                        baseline.peak_kw, f"plug-and-charge {baseline.peak_kw:.0f} kW", "#d62728"
                    ),
                    svgchart.Marker(
                        comparison.building_only_peak_kw,
                        f"building {comparison.building_only_peak_kw:.0f} kW",
                        "#555555",
                    ),
                    svgchart.Marker(plan.peak_kw, f"planned {plan.peak_kw:.0f} kW", "#1f5fbf"),
                ),
                weight=2.4,
            ),
            svgchart.Panel(
                series=(
                    svgchart.Series(
                        "cars charging (plan)",
                        _values(cars_kw[shown]),
                        "#2ca02c",
                        "bars",
                        negative_color="#ff7f0e",
                        negative_label="cars discharging (plan)",
                    ),
                    svgchart.Series(
                        "cars, plug-and-charge",
                        _values(baseline_cars_kw[shown]),
                        "#d62728",
                        width=1.2,
                        dash="6 4",
                    ),
                ),
                y_label="cars (kW)",
            ),
        ),
    )
    svgchart.write(figure, path)


def _values(array: FloatArray) -> list[float]:
    return [float(value) for value in array]


def _max_rss_kib() -> int:
    """The process's peak resident set so far (KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _versions() -> str:
    names = ("highspy", "numpy", "demandlib", "pandas")
    return ", ".join(f"{name} {metadata.version(name)}" for name in names)


def main() -> None:
    """Plan the day, time the solves, print the tables, write the chart."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=50, help="timed 6 x 96 solves")
    parser.add_argument("--large-repeats", type=int, default=10, help="timed 50 x 288 solves")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--chart", type=Path, default=Path("docs/images/v2b_planned_day.svg"))
    args = parser.parse_args()

    rss_imports_kib = _max_rss_kib()
    rng = np.random.default_rng(args.seed)
    load, annual_kwh = office_day_kw(DAY, rng)
    rss_profile_kib = _max_rss_kib()
    data = day_input(load, 15, fleet(rng, CARS, 15))
    large = day_input(to_steps(load, 5), 5, fleet(rng, LARGE_CARS, 5))

    plan, timing = time_solve(data, args.repeats)
    comparison = compare(data, plan)
    reachable = reachable_reduction_kw(data)
    large_plan, large_timing = time_solve(large, args.large_repeats)
    large_comparison = compare(large, large_plan)
    rss_end_kib = _max_rss_kib()

    print(
        f"# v2b_planner: seed {args.seed}, {args.repeats} timed solves of 6 x 96, "
        f"{args.large_repeats} of 50 x 288; {_versions()}, Python "
        f"{platform.python_version()}, {platform.machine()}"
    )
    print(
        f"Building: demandlib BDEW G1, {DAY.isoformat()} ({DAY:%A}), 96 x 15 min, "
        f"{NOISE_SD:.1%} noise, scaled to a {BUILDING_PEAK_KW:.0f} kW peak "
        f"(about {annual_kwh / 1000:,.0f} MWh a year); 5-minute case: the same day "
        "interpolated, same 1 MW building."
    )
    print(
        f"Cars: {CAPACITY_KWH:.0f} kWh, {CHARGER_KW:.0f} kW charge and discharge, arrive "
        f"{svgchart.clock(ARRIVAL_H[0])}-{svgchart.clock(ARRIVAL_H[1])} at "
        f"{ARRIVAL_SOC[0]:.0%}-{ARRIVAL_SOC[1]:.0%}, leave "
        f"{svgchart.clock(DEPARTURE_H[0])}-{svgchart.clock(DEPARTURE_H[1])}, target "
        f"{TARGET_KWH:.0f} kWh, reserve {RESERVE_KWH:.0f} kWh, round trip {ROUND_TRIP}, "
        f"wear {WEAR_PER_KWH} $/kWh discharged."
    )
    print(f"Tariff: {tariff_text()}.")
    print()
    report = Report([], [])
    day_report(report, data, comparison, reachable, plan)
    timing_report(report, "6 cars x 96 steps", timing, SMALL_GOAL_S)
    timing_report(report, "50 cars x 288 steps", large_timing, LARGE_GOAL_S)
    large_short = sum(car.shortfall_kwh > 1e-3 for car in large_plan.vehicles)
    large_ceiling = LARGE_CARS * CHARGER_KW
    report.add(
        "50 cars x 288 steps: peak reduction / cars at target",
        f"{large_comparison.peak_reduction_kw:.1f} kW of {large_ceiling:.0f} kW / "
        f"{LARGE_CARS - large_short} of {LARGE_CARS}",
        "all at target",
        large_short == 0,
    )
    report.add(
        "process peak RSS (ru_maxrss): after imports / after demandlib / at the end",
        " / ".join(_mib(kib * 1024) for kib in (rss_imports_kib, rss_profile_kib, rss_end_kib)),
    )
    report.print()
    print()
    car_table(plan, data)
    chart(data, plan, comparison, args.chart)
    print()
    print(f"Chart written to {args.chart}.")
    report.exit()


if __name__ == "__main__":
    main()
