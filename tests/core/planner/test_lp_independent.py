"""The planner's LP against an independent formulation solved by a different algorithm.

The model below is written from the reference (planner.md section 2) and the
documented behaviour of ``lp.py``, with explicit loops over cars and steps into a
sparse matrix, and solved with ``scipy.optimize.linprog(method="highs-ipm")``
(interior point + crossover), while ``lp.solve`` uses HiGHS's simplex through
highspy. Equal optima mean both encode the same problem.

Billing is written per interval, by walking the steps (``billing_intervals``): the
peak is at least each billed interval's average import, its past part included.

No car charging another is written here in full from the start, a binary on every
step, and solved by ``scipy.optimize.milp``; ``lp.solve`` adds binaries only where its
relaxation moved energy from car to car. Equal optima mean the lazy rounds lose
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
import math

from hypothesis import HealthCheck, given, settings
import numpy as np
import pytest
from scipy import sparse  # type: ignore[import-untyped]
from scipy.optimize import (  # type: ignore[import-untyped]
    Bounds,
    LinearConstraint,
    linprog,
    milp,
)

from custom_components.v2x.planner import lp
from custom_components.v2x.planner.baseline import compare
from custom_components.v2x.planner.model import (
    FloatArray,
    Plan,
    PlanInput,
    PlannerInputError,
    VehicleSpec,
)

from .scenarios import (
    ATSUGI_CARS,
    ATSUGI_MAX_DISCHARGE_KW,
    atsugi_input,
    car,
    clipped_departure,
    plan_inputs,
    without_minimums,
)

EPSILON = 1e-4
FEASIBILITY_TOL = 1e-6

Key = tuple[str, int, int]


@dataclass
class IndependentModel:
    """min cost @ x  s.t.  eq_matrix @ x = eq_rhs, ub_matrix @ x <= ub_rhs, bounds."""

    columns: dict[Key, int] = field(default_factory=dict)
    cost: list[float] = field(default_factory=list)
    bounds: list[tuple[float, float | None]] = field(default_factory=list)
    eq_entries: list[tuple[int, int, float]] = field(default_factory=list)
    eq_rhs: list[float] = field(default_factory=list)
    ub_entries: list[tuple[int, int, float]] = field(default_factory=list)
    ub_rhs: list[float] = field(default_factory=list)
    binaries: list[int] = field(default_factory=list)

    def variable(self, key: Key, cost: float, low: float, high: float | None) -> int:
        index = len(self.cost)
        self.columns[key] = index
        self.cost.append(cost)
        self.bounds.append((low, high))
        return index

    def equal(self, terms: list[tuple[int, float]], rhs: float) -> None:
        row = len(self.eq_rhs)
        self.eq_entries += [(row, column, value) for column, value in terms]
        self.eq_rhs.append(rhs)

    def at_most(self, terms: list[tuple[int, float]], rhs: float) -> None:
        row = len(self.ub_rhs)
        self.ub_entries += [(row, column, value) for column, value in terms]
        self.ub_rhs.append(rhs)

    @staticmethod
    def _matrix(entries: list[tuple[int, int, float]], rows: int, columns: int) -> sparse.csr_array:
        if not entries:
            return sparse.csr_array((rows, columns))
        row, column, value = zip(*entries, strict=True)
        return sparse.coo_array((value, (row, column)), shape=(rows, columns)).tocsr()

    @property
    def eq_matrix(self) -> sparse.csr_array:
        return self._matrix(self.eq_entries, len(self.eq_rhs), len(self.cost))

    @property
    def ub_matrix(self) -> sparse.csr_array:
        return self._matrix(self.ub_entries, len(self.ub_rhs), len(self.cost))

    def binary(self, key: Key) -> int:
        index = self.variable(key, 0.0, 0.0, 1.0)
        self.binaries.append(index)
        return index

    def solve(self) -> float:
        """Optimal objective by interior point, or by branch and bound with binaries."""
        if self.binaries:
            return self._solve_milp()
        result = linprog(
            np.asarray(self.cost),
            A_ub=self.ub_matrix if self.ub_rhs else None,
            b_ub=np.asarray(self.ub_rhs) if self.ub_rhs else None,
            A_eq=self.eq_matrix,
            b_eq=np.asarray(self.eq_rhs),
            bounds=self.bounds,
            method="highs-ipm",
        )
        assert result.status == 0, result.message
        return float(result.fun)

    def _solve_milp(self) -> float:
        integrality = np.zeros(len(self.cost))
        integrality[self.binaries] = 1
        low = [bound[0] for bound in self.bounds]
        high = [np.inf if bound[1] is None else bound[1] for bound in self.bounds]
        constraints = [LinearConstraint(self.eq_matrix, self.eq_rhs, self.eq_rhs)]
        if self.ub_rhs:
            constraints.append(LinearConstraint(self.ub_matrix, -np.inf, self.ub_rhs))
        result = milp(
            np.asarray(self.cost),
            constraints=constraints,
            integrality=integrality,
            bounds=Bounds(low, high),
            options={"mip_rel_gap": 1e-9},
        )
        assert result.status == 0, result.message
        return float(result.fun)

    def violations(self, x: FloatArray) -> dict[str, float]:
        """Largest violation of each constraint family at the point ``x``."""
        low = np.asarray([bound[0] for bound in self.bounds])
        high = np.asarray([math.inf if bound[1] is None else bound[1] for bound in self.bounds])
        eq = self.eq_matrix @ x - np.asarray(self.eq_rhs)
        ub = (self.ub_matrix @ x - np.asarray(self.ub_rhs)) if self.ub_rhs else np.zeros(1)
        return {
            "bounds": float(max(np.max(low - x, initial=0.0), np.max(x - high, initial=0.0))),
            "equalities": float(np.max(np.abs(eq), initial=0.0)),
            "inequalities": float(np.max(ub, initial=0.0)),
        }

    def value(self, x: FloatArray) -> float:
        return float(np.asarray(self.cost) @ x)


def one_way(vehicle: VehicleSpec) -> float:
    return math.sqrt(vehicle.round_trip_efficiency)


def usable(limit_kw: float, minimum_kw: float) -> float:
    """A charger that cannot run as low as it starts does not run at all."""
    return limit_kw if limit_kw >= minimum_kw else 0.0


def add_car(
    model: IndependentModel,
    v: int,
    vehicle: VehicleSpec,
    price: list[float],
    dt: float,
    penalty: float,
) -> tuple[list[int], list[int]]:
    """One car's columns and rows; returns its charge and discharge columns."""
    steps = len(price)
    max_charge = usable(vehicle.max_charge_kw, vehicle.min_charge_kw)
    max_discharge = usable(vehicle.max_discharge_kw, vehicle.min_discharge_kw)
    eta = one_way(vehicle)
    # A stationary battery is plugged in from now to the horizon's end (and after it).
    arrival = 0 if vehicle.stationary else vehicle.arrival_step
    departure = steps if vehicle.stationary else clipped_departure(vehicle, steps)
    initial = min(vehicle.energy_kwh, vehicle.capacity_kwh)
    car_charge: list[int] = []
    car_discharge: list[int] = []
    energy: list[int] = []
    for t in range(steps + 1):
        if t <= arrival:
            low, high = initial, initial
        elif t <= departure:
            # planner.md 2.3 (6): reserve and capacity on (arrival, departure]; the floor rises
            # at full charging power for a car that arrives below its reserve.
            rising = initial + eta * max_charge * dt * (t - arrival)
            low, high = min(vehicle.reserve_kwh, rising), vehicle.capacity_kwh
        else:
            low, high = 0.0, vehicle.capacity_kwh  # gone: the energy just stays
        energy.append(model.variable(("energy", v, t), 0.0, low, high))
    for t in range(steps):
        present = arrival <= t < departure
        charge_high = max_charge if present else 0.0
        discharge_high = max_discharge if present else 0.0
        car_charge.append(model.variable(("charge", v, t), dt * EPSILON, 0.0, charge_high))
        car_discharge.append(
            model.variable(
                ("discharge", v, t),
                dt * (vehicle.wear_cost_per_kwh + EPSILON),
                0.0,
                discharge_high,
            )
        )
        # e[t+1] = e[t] + dt * (eta * charge - discharge / eta)
        model.equal(
            [
                (energy[t + 1], 1.0),
                (energy[t], -1.0),
                (car_charge[t], -dt * eta),
                (car_discharge[t], dt / eta),
            ],
            0.0,
        )
    cheapest = min(max(float(p), 0.0) for p in price)
    if vehicle.stationary:
        # No target, no shortfall: its reserve is the floor above. What it holds at the
        # end, up to its capacity, is worth buying it back at the cheapest price.
        kept = model.variable(("kept", v, 0), -cheapest / eta, 0.0, vehicle.capacity_kwh)
        model.at_most([(kept, 1.0), (energy[steps], -1.0)], 0.0)
        return car_charge, car_discharge
    short = model.variable(("shortfall", v, 0), penalty, 0.0, None)
    due = vehicle.target_kwh
    if vehicle.departure_step > steps:
        # Leaving after the horizon: at its end the car must be where charging at full
        # power for half the time left brings it to its target, and what it has there,
        # up to the target, is worth what buying it back at the cheapest price costs.
        later_h = (vehicle.departure_step - steps) * dt
        due = max(vehicle.target_kwh - 0.5 * eta * max_charge * later_h, 0.0)
        kept = model.variable(("kept", v, 0), -cheapest / eta, 0.0, vehicle.target_kwh)
        model.at_most([(kept, 1.0), (energy[departure], -1.0)], 0.0)
    # e[departure] + shortfall >= due
    model.at_most([(energy[departure], -1.0), (short, -1.0)], -due)
    return car_charge, car_discharge


def independent_model(data: PlanInput) -> IndependentModel:
    """Section 2 of planner.md, written out step by step."""
    steps, dt = data.steps, data.step_h
    price = [max(float(p), 0.0) for p in data.price]
    if data.export_price is None:
        export_price = [0.0] * steps
    else:
        export_price = [min(max(float(p), 0.0), price[t]) for t, p in enumerate(data.export_price)]
    load = [max(float(value), -data.export_limit_kw) for value in data.load_kw]
    billed = [True] * steps if data.demand_mask is None else [bool(m) for m in data.demand_mask]
    worst_wear = max((v.wear_cost_per_kwh for v in data.vehicles), default=0.0)
    penalty = 1e3 * (1.0 + max(price) + data.demand_charge_per_kw / dt + worst_wear)

    model = IndependentModel()
    peak = model.variable(("peak", 0, 0), data.demand_charge_per_kw, data.billed_peak_kw, None)
    grid_in, grid_out, over = [], [], []
    for t in range(steps):
        grid_in.append(model.variable(("import", 0, t), dt * price[t], 0.0, None))
        grid_out.append(
            model.variable(("export", 0, t), -dt * export_price[t], 0.0, data.export_limit_kw)
        )
        if data.import_limit_kw is not None:
            over.append(model.variable(("over", 0, t), dt * penalty, 0.0, None))

    charge: list[list[int]] = []
    discharge: list[list[int]] = []
    for v, vehicle in enumerate(data.vehicles):
        car_charge, car_discharge = add_car(model, v, vehicle, price, dt, penalty)
        charge.append(car_charge)
        discharge.append(car_discharge)

    for t in range(steps):
        # import - export = load + sum(charge - discharge)
        terms = [(grid_in[t], 1.0), (grid_out[t], -1.0)]
        for v in range(len(data.vehicles)):
            terms += [(charge[v][t], -1.0), (discharge[v][t], 1.0)]
        model.equal(terms, load[t])
        if data.import_limit_kw is not None:
            model.at_most([(grid_in[t], 1.0), (over[t], -1.0)], data.import_limit_kw)
        if not data.allow_transfer and data.vehicles:
            model.at_most(
                [(discharge[v][t], 1.0) for v in range(len(data.vehicles))], max(load[t], 0.0)
            )
            # All cars charge (mode 1) or all discharge (mode 0) in a step.
            mode = model.binary(("mode", 0, t))
            for v, vehicle in enumerate(data.vehicles):
                high_charge = usable(vehicle.max_charge_kw, vehicle.min_charge_kw)
                high_discharge = usable(vehicle.max_discharge_kw, vehicle.min_discharge_kw)
                model.at_most([(charge[v][t], 1.0), (mode, -high_charge)], 0.0)
                model.at_most([(discharge[v][t], 1.0), (mode, high_discharge)], high_discharge)
    add_previous(model, data, charge, discharge)
    for steps_in, hours, so_far in billing_intervals(data):
        if any(billed[t] for t in steps_in):
            # The interval's average import (its past part included) is at most the peak.
            terms = [(grid_in[t], dt / hours) for t in steps_in]
            model.at_most([*terms, (peak, -1.0)], -so_far / hours)
    return model


def add_previous(
    model: IndependentModel, data: PlanInput, charge: list[list[int]], discharge: list[list[int]]
) -> None:
    """Stay close to the previous plan: |charge - discharge - previous| costs 1e-5/kWh."""
    for v, vehicle in enumerate(data.vehicles):
        before = (data.previous_kw or {}).get(vehicle.vehicle_id)
        if before is None:
            continue
        for t in range(data.steps):
            if not math.isnan(float(before[t])):
                up = model.variable(("above", v, t), data.step_h * 1e-5, 0.0, None)
                down = model.variable(("below", v, t), data.step_h * 1e-5, 0.0, None)
                model.equal(
                    [(charge[v][t], 1.0), (discharge[v][t], -1.0), (up, -1.0), (down, 1.0)],
                    float(before[t]),
                )


def billing_intervals(data: PlanInput) -> list[tuple[list[int], float, float]]:
    """Each billing interval the horizon touches: its steps, the hours its average is
    taken over, and the import already known in it (the first one's past steps).

    Counted by walking the steps: an interval closes after ``billing_steps`` steps, the
    first one ``billing_offset`` steps early; the last one ends with the horizon."""
    intervals: list[tuple[list[int], float, float]] = []
    current: list[int] = []
    past = data.billing_offset
    for t in range(data.steps):
        current.append(t)
        if len(current) + past == data.billing_steps or t == data.steps - 1:
            so_far = data.billing_so_far_kwh if not intervals else 0.0
            intervals.append((current, (len(current) + past) * data.step_h, so_far))
            current, past = [], 0
    return intervals


def billed_peak(data: PlanInput, grid_kw: FloatArray) -> float:
    """The highest billed interval average of a grid series, at least the peak billed."""
    billed = data.billed_steps
    averages = [
        (so_far + sum(max(float(grid_kw[t]), 0.0) * data.step_h for t in steps_in)) / hours
        for steps_in, hours, so_far in billing_intervals(data)
        if any(billed[t] for t in steps_in)
    ]
    return max([data.billed_peak_kw, *averages])


def plan_point(model: IndependentModel, data: PlanInput, plan: Plan) -> FloatArray:
    """The plan written as a point of the independent model."""
    x = np.zeros(len(model.cost))
    columns = model.columns
    grid_import = np.maximum(plan.grid_kw, 0.0)
    x[columns["peak", 0, 0]] = billed_peak(data, plan.grid_kw)
    for t in range(data.steps):
        x[columns["import", 0, t]] = grid_import[t]
        x[columns["export", 0, t]] = max(-float(plan.grid_kw[t]), 0.0)
        if data.import_limit_kw is not None:
            x[columns["over", 0, t]] = plan.import_excess_kw[t]
    for v, vehicle_plan in enumerate(plan.vehicles):
        vehicle = data.vehicles[v]
        if ("shortfall", v, 0) in columns:
            x[columns["shortfall", v, 0]] = vehicle_plan.shortfall_kwh
        if ("kept", v, 0) in columns:
            most = vehicle.capacity_kwh if vehicle.stationary else vehicle.target_kwh
            kept = min(float(vehicle_plan.energy_kwh[data.steps]), most)
            x[columns["kept", v, 0]] = kept
        for t in range(data.steps + 1):
            x[columns["energy", v, t]] = vehicle_plan.energy_kwh[t]
        for t in range(data.steps):
            power = float(vehicle_plan.power_kw[t])
            x[columns["charge", v, t]] = max(power, 0.0)
            x[columns["discharge", v, t]] = max(-power, 0.0)
    for (kind, v, t), column in columns.items():
        if kind in ("above", "below"):
            before = (data.previous_kw or {})[data.vehicles[v].vehicle_id][t]
            moved = float(plan.vehicles[v].power_kw[t]) - float(before)
            x[column] = max(moved, 0.0) if kind == "above" else max(-moved, 0.0)
        if kind == "mode":  # some car charges in step t
            charging = [float(vehicle.power_kw[t]) for vehicle in plan.vehicles]
            x[column] = float(max(charging, default=0.0) > lp.RULE_TOLERANCE_KW)
    return x


def assert_same_optimum(data: PlanInput) -> Plan:
    """Solve both ways; the optima agree and the plan is a feasible optimal point."""
    plan = lp.solve(data)
    assert plan.status == "optimal"
    model = independent_model(data)
    optimum = model.solve()
    assert plan.objective == pytest.approx(optimum, rel=1e-6, abs=1e-6)

    x = plan_point(model, data, plan)
    scale = max(1.0, float(np.max(np.abs(data.load_kw), initial=0.0)))
    for family, violation in model.violations(x).items():
        assert violation <= FEASIBILITY_TOL * scale, family
    assert model.value(x) == pytest.approx(optimum, rel=1e-6, abs=1e-6)
    return plan


def test_atsugi_office_day() -> None:
    data = atsugi_input()
    plan = assert_same_optimum(data)
    assert plan.feasible
    assert len(plan.vehicles) == ATSUGI_CARS
    for vehicle, vehicle_plan in zip(data.vehicles, plan.vehicles, strict=True):
        assert vehicle_plan.departure_energy_kwh >= vehicle.target_kwh - 1e-6
    comparison = compare(data, plan)
    # Six cars present through the whole afternoon peak shave it by their full discharge
    # power (the 36 kW ceiling planner.md reports for 15-minute steps), never more.
    ceiling = ATSUGI_CARS * ATSUGI_MAX_DISCHARGE_KW
    assert comparison.peak_reduction_kw == pytest.approx(ceiling, abs=1e-4)
    assert comparison.peak_reduction_kw <= ceiling + 1e-6
    assert comparison.savings > 0
    discharged = [float(-np.minimum(v.power_kw, 0.0).sum()) for v in plan.vehicles]
    assert sum(discharged) > 0


def test_import_limit_that_must_be_exceeded() -> None:
    steps = 12
    load = np.full(steps, 50.0)
    load[4:8] = 120.0  # 40 kW above the limit, one car can cover 6 kW
    data = PlanInput(
        step_h=0.5,
        load_kw=load,
        price=np.full(steps, 0.2),
        vehicles=(car("a", departure_step=steps, energy_kwh=30.0, target_kwh=20.0),),
        import_limit_kw=80.0,
        demand_charge_per_kw=5.0,
    )
    plan = assert_same_optimum(data)
    assert not plan.feasible
    assert plan.import_excess_kw[4:8] == pytest.approx(np.full(4, 34.0), abs=1e-6)
    assert np.all(plan.import_excess_kw[:4] < 1e-9)
    assert np.all(plan.import_excess_kw[8:] < 1e-9)
    assert plan.vehicles[0].power_kw[4:8] == pytest.approx(np.full(4, -6.0), abs=1e-6)


def test_target_out_of_reach_reports_shortfall() -> None:
    data = PlanInput(
        step_h=1.0,
        load_kw=np.full(8, 20.0),
        price=np.full(8, 0.3),
        vehicles=(
            car("slow", energy_kwh=10.0, target_kwh=40.0, max_charge_kw=3.0, departure_step=4),
            car("fine", energy_kwh=20.0, target_kwh=25.0, departure_step=8),
        ),
    )
    plan = assert_same_optimum(data)
    slow = plan.vehicle("slow")
    expected = 10.0 + 0.9 * 3.0 * 4  # sqrt(0.81) = 0.9 one way, flat out for four hours
    assert slow.departure_energy_kwh == pytest.approx(expected, abs=1e-6)
    assert slow.shortfall_kwh == pytest.approx(40.0 - expected, abs=1e-6)
    assert plan.vehicle("fine").shortfall_kwh < 1e-9
    assert not plan.feasible


def test_car_arriving_below_its_reserve() -> None:
    data = PlanInput(
        step_h=0.5,
        load_kw=np.full(16, 30.0),
        price=np.r_[np.full(8, 0.4), np.full(8, 0.1)],
        vehicles=(
            car("low", energy_kwh=4.0, reserve_kwh=12.0, arrival_step=2, departure_step=16),
            car("high", energy_kwh=30.0, departure_step=16),
        ),
        demand_charge_per_kw=2.0,
    )
    plan = assert_same_optimum(data)
    low = plan.vehicle("low")
    # Flat out from arrival (6 kW * 0.9 * 0.5 h = 2.7 kWh a step) until the reserve; the
    # energy is dear in the first half, so no more than the reserve is bought there.
    assert low.energy_kwh[:3] == pytest.approx([4.0, 4.0, 4.0])
    assert low.energy_kwh[3:6] == pytest.approx([6.7, 9.4, 12.0], abs=1e-6)
    assert low.power_kw[2:5] == pytest.approx([6.0, 6.0, 2.6 / 0.45], abs=1e-6)
    assert low.power_kw[:2] == pytest.approx([0.0, 0.0])
    assert np.all(low.energy_kwh[6:] >= 12.0 - 1e-6)


def test_export_price_and_negative_load() -> None:
    steps = 12
    load = np.array([10.0, 5.0, -10.0, -40.0, -60.0, -35.0, -5.0, 20.0, 40.0, 60.0, 30.0, 10.0])
    price = np.array([0.1, 0.1, 0.1, 0.05, -0.02, 0.05, 0.1, 0.3, 0.3, 0.3, 0.2, 0.1])
    export = np.array([0.04, 0.04, 0.04, 0.04, 0.04, 0.08, 0.04, 0.5, 0.5, 0.04, 0.04, 0.04])
    data = PlanInput(
        step_h=1.0,
        load_kw=load,
        price=price,
        export_price=export,
        export_limit_kw=20.0,
        vehicles=(car("a", energy_kwh=15.0, departure_step=steps, target_kwh=30.0),),
        demand_charge_per_kw=1.0,
    )
    plan = assert_same_optimum(data)
    assert np.all(plan.grid_kw >= -20.0 - 1e-6)
    # Surplus beyond the export limit is curtailed, so the car charges from it for free.
    assert plan.vehicles[0].power_kw[3:6] == pytest.approx([6.0, 6.0, 6.0], abs=1e-6)
    assert plan.feasible


def _donor_and_taker(taker_target_kwh: float) -> tuple[VehicleSpec, VehicleSpec]:
    """A full car that may give 30 kWh, and a nearly empty one that wants some."""
    return (
        car("donor", energy_kwh=40.0, target_kwh=10.0, departure_step=6),
        car(
            "taker",
            energy_kwh=5.0,
            target_kwh=taker_target_kwh,
            departure_step=6,
            reserve_kwh=0.0,
        ),
    )


def test_transfer_between_cars_allowed() -> None:
    data = PlanInput(
        step_h=1.0,
        load_kw=np.full(6, 10.0),
        price=np.full(6, 0.2),
        vehicles=_donor_and_taker(40.0),
        import_limit_kw=10.0,
        allow_transfer=True,
    )
    plan = assert_same_optimum(data)
    assert float(plan.vehicle("donor").power_kw.min()) < -1.0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan_inputs(min_cars=2, max_cars=3))
def test_random_cases_match(data: PlanInput) -> None:
    assert_same_optimum(without_minimums(data))


def below_minimum_kw(data: PlanInput, plan: Plan) -> float:
    """The largest planned setpoint that is neither off nor at least its minimum."""
    worst = 0.0
    for vehicle, vehicle_plan in zip(data.vehicles, plan.vehicles, strict=True):
        for power in vehicle_plan.power_kw:
            minimum = vehicle.min_charge_kw if power > 0 else vehicle.min_discharge_kw
            if lp.RULE_TOLERANCE_KW < abs(power) < minimum - lp.RULE_TOLERANCE_KW:
                worst = max(worst, abs(float(power)))
    return worst


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan_inputs(min_cars=1, max_cars=3))
def test_minimum_powers_are_rounded_into_a_feasible_plan(data: PlanInput) -> None:
    """Setpoints below a charger's minimum are rounded (on or off) and solved again:
    the plan is still a feasible point of the whole problem, costs no less than its
    optimum without minimums, and what is left below a minimum is reported."""
    plan = lp.solve(data)
    model = independent_model(data)
    x = plan_point(model, data, plan)
    scale = max(1.0, float(np.max(np.abs(data.load_kw), initial=0.0)))
    for family, violation in model.violations(x).items():
        assert violation <= FEASIBILITY_TOL * scale, family
    assert model.value(x) == pytest.approx(plan.objective, rel=1e-6, abs=1e-6)
    assert plan.objective >= model.solve() - 1e-6 * max(1.0, abs(plan.objective))
    assert plan.below_minimum_kw == pytest.approx(below_minimum_kw(data, plan), abs=1e-9)


def _steps_with_transfer(plan: Plan) -> list[int]:
    """Steps in which one car charges while another discharges."""
    power = np.asarray([vehicle.power_kw for vehicle in plan.vehicles])
    charging = (power > lp.RULE_TOLERANCE_KW).any(axis=0)
    discharging = (power < -lp.RULE_TOLERANCE_KW).any(axis=0)
    return [int(step) for step in np.flatnonzero(charging & discharging)]


def test_no_car_charges_another() -> None:
    """Filling one car under a demand charge: the linear relaxation fills it from the
    other car through the building and keeps the peak at the load; the plan must not,
    and pays for it with a higher peak."""
    data = PlanInput(
        step_h=1.0,
        load_kw=np.full(6, 10.0),
        price=np.full(6, 0.2),
        vehicles=_donor_and_taker(25.0),
        demand_charge_per_kw=3.0,
    )
    relaxed = lp.solve(replace(data, allow_transfer=True))
    assert relaxed.transfer_kw > 1.0
    assert _steps_with_transfer(relaxed)
    plan = assert_same_optimum(data)
    assert plan.binary_steps > 0
    assert plan.transfer_kw < 1e-6
    assert _steps_with_transfer(plan) == []
    assert plan.objective > relaxed.objective + 1e-3  # the rule has a price here
    assert plan.vehicle("taker").shortfall_kwh < 1e-6  # the departure still comes first
    assert plan.peak_kw > relaxed.peak_kw + 1.0


def test_setpoints_below_the_minimum_are_rounded() -> None:
    """A peak 0.5 kW above the rest: the relaxation shaves it with a discharge no Quasar
    can run (it starts at 6 A, 1.38 kW); rounded, the car stays off in that step."""
    load = np.full(8, 20.0)
    load[5] = 20.5
    vehicle = car("ev", energy_kwh=20.0, target_kwh=20.0, departure_step=8)
    data = PlanInput(
        step_h=1.0,
        load_kw=load,
        price=np.full(8, 0.2),
        vehicles=(replace(vehicle, min_charge_kw=1.38, min_discharge_kw=1.38),),
        demand_charge_per_kw=10.0,
    )
    relaxed = lp.solve(data, exact=False)
    assert 0.1 < -float(relaxed.vehicles[0].power_kw.min()) < 1.0
    assert relaxed.below_minimum_kw > 0.1
    plan = lp.solve(data)
    assert plan.below_minimum_kw == 0.0
    running = np.abs(plan.vehicles[0].power_kw)
    assert np.all((running < lp.RULE_TOLERANCE_KW) | (running >= 1.38 - 1e-9))
    assert plan.peak_kw == pytest.approx(20.5, abs=1e-6)  # not worth a 1.38 kW hour


def test_a_small_need_is_charged_at_the_minimum() -> None:
    """A car 0.5 kWh short: the relaxation spreads it thin; rounded, it charges at the
    minimum for part of the day and leaves at its target."""
    vehicle = car("ev", energy_kwh=29.5, target_kwh=30.0, departure_step=8)
    data = PlanInput(
        step_h=1.0,
        load_kw=np.full(8, 20.0),
        price=np.full(8, 0.2),
        vehicles=(replace(vehicle, min_charge_kw=1.38, min_discharge_kw=1.38),),
        demand_charge_per_kw=10.0,
    )
    relaxed = lp.solve(data, exact=False)
    assert relaxed.below_minimum_kw > 0.0
    plan = lp.solve(data)
    assert plan.below_minimum_kw == 0.0
    assert plan.vehicles[0].shortfall_kwh < 1e-6
    running = np.abs(plan.vehicles[0].power_kw)
    assert np.all((running < lp.RULE_TOLERANCE_KW) | (running >= 1.38 - 1e-9))


def test_a_charger_whose_limit_is_below_its_minimum_does_not_run() -> None:
    data = PlanInput(
        step_h=1.0,
        load_kw=np.full(8, 20.0),
        price=np.full(8, 0.2),
        vehicles=(car("ev", energy_kwh=10.0, max_charge_kw=1.0, min_charge_kw=1.4),),
    )
    plan = assert_same_optimum(data)
    assert np.all(np.abs(plan.vehicles[0].power_kw) < 1e-9)
    assert plan.vehicles[0].shortfall_kwh == pytest.approx(20.0, abs=1e-6)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan_inputs(min_cars=1, max_cars=3))
def test_planning_on_the_intervals_is_never_dearer(data: PlanInput) -> None:
    """The step plan is a feasible point of the interval model: never a better one."""
    data = without_minimums(replace(data, billing_steps=max(data.billing_steps, 2)))
    data = replace(data, billing_offset=min(data.billing_offset, data.billing_steps - 1))
    per_interval = lp.solve(data)
    per_step = lp.solve(replace(data, billing_steps=1, billing_offset=0, billing_so_far_kwh=0.0))
    model = independent_model(data)
    step_point = plan_point(model, data, per_step)
    assert per_interval.objective <= model.value(step_point) + 1e-6 * max(
        1.0, abs(per_interval.objective)
    )
    # The plan reports the peak as the independent walk over the intervals finds it.
    assert max(per_interval.peak_kw, data.billed_peak_kw) == pytest.approx(
        billed_peak(data, per_interval.grid_kw), rel=1e-9, abs=1e-9
    )


def _weekend_day(departure_step: int) -> PlanInput:
    """A day of cheap nights and dear afternoons; a car at 40 % that wants 90 %."""
    hours = np.arange(96) / 4
    return PlanInput(
        step_h=0.25,
        load_kw=np.full(96, 50.0),
        price=np.where((hours >= 13) & (hours < 19), 0.30, 0.10),
        vehicles=(
            car(
                "ev",
                energy_kwh=16.0,
                target_kwh=36.0,
                reserve_kwh=12.0,
                departure_step=departure_step,
                wear_cost_per_kwh=0.02,
            ),
        ),
    )


def test_a_car_leaving_after_the_weekend_is_not_filled_today() -> None:
    """Leaving in 60 h, the car need not be full by the plan's end. What it holds there is
    worth what buying it back at the cheapest price costs (0.10 / 0.9 per kWh stored), so
    it sells to the building what the afternoon price repays (0.30 x 0.9, less 0.02 of
    wear): it charges only at night and discharges only in the afternoon, and ends the
    plan at its reserve, not at the 36 kWh a departure within the plan must have."""
    plan = assert_same_optimum(_weekend_day(departure_step=240))
    vehicle = plan.vehicles[0]
    assert vehicle.beyond_horizon
    assert vehicle.shortfall_kwh == 0.0
    dear = plan.price > 0.2
    assert np.all(vehicle.power_kw[dear] <= 1e-6)
    assert np.all(vehicle.power_kw[~dear] >= -1e-6)
    assert float(vehicle.power_kw.min()) < -1.0
    assert vehicle.departure_energy_kwh == pytest.approx(12.0, abs=1e-6)


def test_a_car_leaving_soon_after_the_horizon_is_most_of_the_way_there() -> None:
    """Leaving 4 h after the plan's end, it must be there within half of 4 h at 6 kW (0.9
    one way) of its target: 36 - 10.8 kWh; leaving within the plan, at its target."""
    later = assert_same_optimum(_weekend_day(departure_step=96 + 16)).vehicles[0]
    assert later.beyond_horizon
    assert later.departure_energy_kwh == pytest.approx(36.0 - 0.5 * 0.9 * 6.0 * 4, abs=1e-6)
    within = assert_same_optimum(_weekend_day(departure_step=96)).vehicles[0]
    assert not within.beyond_horizon
    assert within.departure_energy_kwh == pytest.approx(36.0, abs=1e-6)


def _rolled(departure_step: int, *, clip_to_horizon: bool) -> tuple[float, float]:
    """Re-plan every step from Friday 18:00 to the departure, carrying out each first step.

    Prices: 0.10 at night (00:00-07:00), 0.30 13:00-19:00, 0.20 else; the building draws
    50 kW. Returns the energy at departure and what the car's charging cost.
    ``clip_to_horizon`` plans as before: the departure moved to the horizon's end.
    """
    step_h, horizon = 0.25, 96
    hour = (18 + np.arange(departure_step + horizon) * step_h) % 24
    price = np.where(hour < 7, 0.10, np.where((hour >= 13) & (hour < 19), 0.30, 0.20))
    energy, cost = 16.0, 0.0
    for now in range(departure_step):
        left = departure_step - now
        spec = car(
            "ev",
            energy_kwh=energy,
            target_kwh=36.0,
            reserve_kwh=12.0,
            departure_step=min(left, horizon) if clip_to_horizon else left,
        )
        data = PlanInput(
            step_h=step_h,
            load_kw=np.full(horizon, 50.0),
            price=price[now : now + horizon],
            vehicles=(spec,),
        )
        power = float(lp.solve(data).vehicles[0].power_kw[0])
        eta = spec.one_way_efficiency
        energy += step_h * (eta * power if power > 0 else power / eta)
        cost += step_h * power * float(price[now])
    return energy, cost


def test_rolling_plans_bring_a_weekend_car_to_its_target() -> None:
    """Later plans do what the first one left: at departure (Monday 06:00) the car is at
    its target, and its charging cost no more than planning it full by each plan's end
    (here the same: with the same prices every day, that plan too charges at night and
    sells to the building in the afternoon)."""
    departure = 60 * 4
    energy, cost = _rolled(departure, clip_to_horizon=False)
    assert energy == pytest.approx(36.0, abs=1e-6)
    before_energy, before_cost = _rolled(departure, clip_to_horizon=True)
    assert before_energy == pytest.approx(36.0, abs=1e-6)
    assert cost <= before_cost + 1e-6


def _twins_shaving() -> PlanInput:
    """Two identical cars shave a 4 h peak that needs less than both can give: any split
    of the discharge between them costs the same."""
    load = np.where((np.arange(32) >= 12) & (np.arange(32) < 28), 60.0, 40.0)
    twin = {"energy_kwh": 30.0, "target_kwh": 20.0, "reserve_kwh": 10.0, "departure_step": 32}
    return PlanInput(
        step_h=0.25,
        load_kw=load,
        price=np.full(32, 0.2),
        vehicles=(car("left", **twin), car("right", **twin)),
        demand_charge_per_kw=10.0,
    )


def test_of_equal_plans_the_closest_to_the_previous_is_kept() -> None:
    """Solved again with the mirror image of its own plan as the previous one, the plan
    becomes that mirror image: it costs the same, and it is what the cars were told."""
    data = _twins_shaving()
    first = lp.solve(data)
    left, right = (vehicle.power_kw for vehicle in first.vehicles)
    assert not np.allclose(left, right, atol=1e-3)  # an uneven split, a vertex
    mirrored = replace(data, previous_kw={"left": right, "right": left})
    again = assert_same_optimum(mirrored)
    assert again.vehicle("left").power_kw == pytest.approx(right, abs=1e-6)
    assert again.vehicle("right").power_kw == pytest.approx(left, abs=1e-6)
    assert again.peak_kw == pytest.approx(first.peak_kw, abs=1e-9)
    assert again.energy_cost == pytest.approx(first.energy_cost, abs=1e-9)
    # Where it had no plan (NaN), nothing holds the car.
    partly = {"left": np.where(np.arange(32) < 16, right, np.nan)}
    assert_same_optimum(replace(data, previous_kw=partly))


def test_the_previous_plan_never_outweighs_a_real_cost() -> None:
    """A previous plan that discharged through a now cheaper afternoon is not followed
    where following it costs anything: the new plan is the optimum without it."""
    data = _twins_shaving()
    without = lp.solve(data)
    wasteful = {"left": np.full(32, -6.0), "right": np.full(32, 6.0)}
    plan = assert_same_optimum(replace(data, previous_kw=wasteful))
    assert plan.peak_kw == pytest.approx(without.peak_kw, abs=1e-6)
    assert plan.energy_cost == pytest.approx(without.energy_cost, abs=1e-4)


@pytest.mark.parametrize(
    "previous",
    [
        {"left": np.zeros(31)},
        {"left": np.zeros((32, 1))},
        {"left": [0.0] * 32},
        {"left": np.full(32, 2e6)},
        {"left": np.full(32, np.inf)},
    ],
)
def test_a_previous_plan_that_cannot_be_is_refused(previous: dict[str, object]) -> None:
    with pytest.raises(PlannerInputError, match="previous plan of left"):
        lp.solve(replace(_twins_shaving(), previous_kw=previous))  # type: ignore[arg-type]
