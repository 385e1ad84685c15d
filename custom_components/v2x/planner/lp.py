"""The exact vehicle-to-building linear program, solved with HiGHS (``highspy``).

Minimise energy cost + demand charge + battery wear (+ a tiny throughput tie-break
and large penalties on the two soft constraints) subject to the building balance,
the grid limits, the peak epigraph floored at the peak already billed, each car's
energy dynamics with its efficiencies, its reserve and its charger limits, and a
soft departure target whose shortfall is reported per car.

With non-negative prices (clipped for the optimiser), a positive tie-break and lossy
batteries, charging and discharging one car in the same step only wastes energy, so
an optimum never does it; the solution is checked and the overlap reported
(:attr:`Plan.simultaneous_kw`). Cars charging one another is another matter: in a
step where one must charge and the peak is binding, the relaxation fills it from
another car through the building. Forbidding that is not linear (all cars charge or
all discharge in a step), so it is made exact only where the relaxation does it: such
a step gets one charge-or-discharge binary and HiGHS solves again, until no step moves
energy from car to car. Each round only adds constraints the final plan keeps, so it
is optimal for the whole problem (to HiGHS's MIP gap). Most plans need no round.

A stationary battery (:attr:`.model.VehicleSpec.stationary`) is a car plugged in
for the whole horizon that leaves after it with nothing due: it keeps its reserve, is
in the no-transfer rule and the minimum powers like any car, and what it holds at the
end is valued like a late car's kept energy, up to its capacity.

A charger's minimum power is rounded, not solved exactly (semi-continuous setpoints
ran HiGHS's branch and bound into its time limit on a 6-car day): setpoints below it
are turned on or off and the plan solved again (:func:`_keep_rules`); what is left is
made runnable where it is sent (:func:`.policy.runnable_w`, the guard). A charger whose
limit is below its minimum does not run at all.

The matrix is built with vectorised NumPy (no Python loop over steps) directly in
HiGHS's row-wise sparse format. Solving is blocking CPU work: call :func:`solve`
from an executor, never from an event loop.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
import math
import time
from typing import Final

import highspy
import numpy as np
from numpy.typing import NDArray

from .baseline import outcome
from .model import FloatArray, Plan, PlanInput, VehiclePlan

TIE_BREAK_PER_KWH: Final = 1e-4
PENALTY_SCALE: Final = 1e3
MIP_REL_GAP: Final = 1e-6
RULE_TOLERANCE_KW: Final = 1e-6
"""Power below this is off, for the real-charger rules."""
STABILITY_PER_KWH: Final = 1e-5
"""What each kWh a setpoint moves from the previous plan costs: a tie-break only (a
tenth of the throughput one), so that of equal plans the closest to the last is kept."""
AFTER_HORIZON_SHARE: Final = 0.5
"""A car leaving after the horizon must be, at its end, where charging at full power for
this share of the time left after it brings it to its target: later plans, which see
its departure, do the rest, with time to spare for a peak or a limit."""
RULE_ROUNDS: Final = 16
"""Solves after the first that :func:`solve` may spend on the real-charger rules."""
_INF: Final = float(highspy.kHighsInf)
IntArray = NDArray[np.int64]


class PlannerError(RuntimeError):
    """HiGHS found no plan (should not happen: every hard constraint has a slack)."""


@dataclass(frozen=True, slots=True)
class Layout:
    """Where each variable lives in the column vector."""

    steps: int
    vehicles: int
    tracked: int = 0
    """(car, step) pairs with a previous plan's power to stay close to."""

    @property
    def block(self) -> int:
        """Columns per car: charge (T), discharge (T), energy (T + 1)."""
        return 3 * self.steps + 1

    def charge(self) -> IntArray:
        """Charge-power columns, shape (vehicles, steps)."""
        return self._car_columns(0, self.steps)

    def discharge(self) -> IntArray:
        """Discharge-power columns, shape (vehicles, steps)."""
        return self._car_columns(self.steps, self.steps)

    def energy(self) -> IntArray:
        """Stored-energy columns, shape (vehicles, steps + 1)."""
        return self._car_columns(2 * self.steps, self.steps + 1)

    def _car_columns(self, offset: int, width: int) -> IntArray:
        cars = np.arange(self.vehicles, dtype=np.int64)[:, None] * self.block
        return cars + offset + np.arange(width, dtype=np.int64)[None, :]

    @property
    def _site(self) -> int:
        return self.vehicles * self.block

    def grid_import(self) -> IntArray:
        """Grid import columns (steps)."""
        return self._site + np.arange(self.steps, dtype=np.int64)

    def grid_export(self) -> IntArray:
        """Grid export columns (steps)."""
        return self.grid_import() + self.steps

    def import_excess(self) -> IntArray:
        """Import-above-limit slack columns (steps)."""
        return self.grid_import() + 2 * self.steps

    @property
    def peak(self) -> int:
        """The billed-peak column."""
        return self._site + 3 * self.steps

    def shortfall(self) -> IntArray:
        """Departure shortfall columns (vehicles)."""
        return self.peak + 1 + np.arange(self.vehicles, dtype=np.int64)

    def kept(self) -> IntArray:
        """Energy kept for a departure beyond the horizon, valued (vehicles)."""
        return self.shortfall() + self.vehicles

    def above_previous(self) -> IntArray:
        """How far each tracked setpoint lies above the previous plan's (tracked)."""
        return self.peak + 1 + 2 * self.vehicles + np.arange(self.tracked, dtype=np.int64)

    def below_previous(self) -> IntArray:
        """How far each tracked setpoint lies below the previous plan's (tracked)."""
        return self.above_previous() + self.tracked

    @property
    def columns(self) -> int:
        """Number of columns."""
        return self.peak + 1 + 2 * self.vehicles + 2 * self.tracked


@dataclass(slots=True)
class _Rows:
    """Constraint rows collected as coordinate triplets, then packed row-wise."""

    rows: list[IntArray]
    cols: list[IntArray]
    values: list[FloatArray]
    lower: list[FloatArray]
    upper: list[FloatArray]
    count: int = 0

    def add(
        self,
        terms: list[tuple[IntArray, IntArray | FloatArray | float]],
        lower: FloatArray | float,
        upper: FloatArray | float,
        shape: tuple[int, ...],
    ) -> None:
        """Add one row per element of ``shape``; each term is (columns, coefficients)."""
        size = int(np.prod(shape))
        row_ids = self.count + np.arange(size, dtype=np.int64).reshape(shape)
        for columns, coefficients in terms:
            cols = np.broadcast_to(columns, shape)
            self.rows.append(row_ids.ravel())
            self.cols.append(cols.ravel())
            self.values.append(np.broadcast_to(coefficients, shape).astype(np.float64).ravel())
        self.lower.append(np.broadcast_to(lower, (size,)).astype(np.float64))
        self.upper.append(np.broadcast_to(upper, (size,)).astype(np.float64))
        self.count += size

    def add_sparse(
        self,
        row: IntArray,
        columns: IntArray,
        coefficients: FloatArray,
        lower: FloatArray,
        upper: FloatArray,
    ) -> None:
        """Add ``lower.size`` rows from triplets; ``row`` numbers them from 0."""
        self.rows.append(self.count + row)
        self.cols.append(columns)
        self.values.append(coefficients.astype(np.float64))
        self.lower.append(lower.astype(np.float64))
        self.upper.append(upper.astype(np.float64))
        self.count += lower.size

    def matrix(self) -> tuple[IntArray, IntArray, FloatArray]:
        """Row starts, column indices and values (CSR) of all rows."""
        rows = np.concatenate(self.rows)
        cols = np.concatenate(self.cols)
        values = np.concatenate(self.values)
        order = np.argsort(rows, kind="stable")
        counts = np.bincount(rows, minlength=self.count)
        starts = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        return starts, cols[order], values[order]


@dataclass(frozen=True, slots=True)
class LinearProgram:
    """The model as arrays: minimise cost @ x subject to the bounds and rows."""

    layout: Layout
    cost: FloatArray
    col_lower: FloatArray
    col_upper: FloatArray
    row_lower: FloatArray
    row_upper: FloatArray
    starts: IntArray
    indices: IntArray
    values: FloatArray
    window: NDArray[np.bool_]
    """Car present per step, shape (vehicles, steps)."""
    departure: IntArray
    """Departure step of each car, clipped to [arrival, steps]."""
    minimum: FloatArray
    """Each column's least non-zero value (a charger's minimum power; 0 elsewhere)."""
    integrality: NDArray[np.uint8] | None = None
    """HiGHS variable types, when some columns are discrete."""


def build(data: PlanInput) -> LinearProgram:
    """Build the linear program of ``data`` (validated first)."""
    data.validate()
    steps, cars, dt = data.steps, len(data.vehicles), data.step_h
    previous = _previous(data)
    tracked = np.flatnonzero(~np.isnan(previous))
    layout = Layout(steps, cars, tracked.size)
    xc, xd, energy = layout.charge(), layout.discharge(), layout.energy()
    gp, gm, excess = layout.grid_import(), layout.grid_export(), layout.import_excess()
    shortfall, kept = layout.shortfall(), layout.kept()
    spec = _VehicleArrays.of(data)
    load = np.maximum(data.load_kw.astype(np.float64), -data.export_limit_kw)
    price = np.maximum(data.price.astype(np.float64), 0.0)
    export_price = np.minimum(np.maximum(data.export_prices, 0.0), price)
    penalty = PENALTY_SCALE * (
        1.0 + float(price.max()) + data.demand_charge_per_kw / dt + float(spec.wear.max(initial=0))
    )

    cost = np.zeros(layout.columns)
    cost[xc] = dt * TIE_BREAK_PER_KWH
    cost[xd] = dt * (spec.wear[:, None] + TIE_BREAK_PER_KWH)
    cost[gp] = dt * price
    cost[gm] = -dt * export_price
    cost[excess] = dt * penalty
    cost[layout.peak] = data.demand_charge_per_kw
    cost[shortfall] = penalty
    cost[kept] = -spec.kept_value(price)
    cost[layout.above_previous()] = cost[layout.below_previous()] = dt * STABILITY_PER_KWH

    lower = np.zeros(layout.columns)
    upper = np.full(layout.columns, _INF)
    step_index = np.arange(steps)[None, :]
    window = (step_index >= spec.arrival[:, None]) & (step_index < spec.departure[:, None])
    upper[xc] = np.where(window, spec.max_charge[:, None], 0.0)
    upper[xd] = np.where(window, spec.max_discharge[:, None], 0.0)
    lower[energy], upper[energy] = _energy_bounds(spec, steps, dt)
    upper[gm] = data.export_limit_kw
    if data.import_limit_kw is None:
        upper[excess] = 0.0
    lower[layout.peak] = data.billed_peak_kw
    upper[kept] = np.where(spec.beyond, spec.kept_up_to, 0.0)

    rows = _Rows([], [], [], [], [])
    # Building balance: import - export - sum(charge) + sum(discharge) = load.
    balance_terms: list[tuple[IntArray, IntArray | FloatArray | float]] = [
        (gp, 1.0),
        (gm, -1.0),
    ]
    for car in range(cars):
        balance_terms += [(xc[car], -1.0), (xd[car], 1.0)]
    rows.add(balance_terms, load, load, (steps,))
    if data.import_limit_kw is not None:
        rows.add([(gp, 1.0), (excess, -1.0)], -_INF, data.import_limit_kw, (steps,))
    _peak_rows(rows, data, layout)
    _car_rows(rows, layout, spec, dt)
    _previous_rows(rows, layout, previous.ravel()[tracked], tracked)
    if not data.allow_transfer and cars:
        rows.add([(xd[car], 1.0) for car in range(cars)], -_INF, np.maximum(load, 0.0), (steps,))

    starts, indices, values = rows.matrix()
    return LinearProgram(
        layout=layout,
        cost=cost,
        col_lower=lower,
        col_upper=upper,
        row_lower=np.concatenate(rows.lower),
        row_upper=np.concatenate(rows.upper),
        starts=starts,
        indices=indices,
        values=values,
        window=window,
        departure=spec.departure,
        minimum=_minimum(layout, spec),
    )


def _car_rows(rows: _Rows, layout: Layout, spec: _VehicleArrays, dt: float) -> None:
    """Each car's energy over the steps, its departure, and what it keeps after one."""
    energy, cars = layout.energy(), layout.vehicles
    car_axis = (cars, layout.steps)
    # Energy: e[t+1] - e[t] - dt*eta*charge + dt/eta*discharge = 0.
    eta = spec.efficiency[:, None]
    rows.add(
        [
            (energy[:, 1:], 1.0),
            (energy[:, :-1], -1.0),
            (layout.charge(), np.broadcast_to(-dt * eta, car_axis)),
            (layout.discharge(), np.broadcast_to(dt / eta, car_axis)),
        ],
        0.0,
        0.0,
        car_axis,
    )
    departure_energy = energy[np.arange(cars), spec.departure]
    rows.add([(departure_energy, 1.0), (layout.shortfall(), 1.0)], spec.due, _INF, (cars,))
    # What a car leaving after the horizon keeps at its end is worth (up to its target;
    # a stationary battery's up to its capacity).
    rows.add([(layout.kept(), 1.0), (departure_energy, -1.0)], -_INF, 0.0, (cars,))


def _previous(data: PlanInput) -> FloatArray:
    """The previous plan's power per car and step (NaN where there is none to keep)."""
    previous = np.full((len(data.vehicles), data.steps), np.nan)
    for index, car in enumerate(data.vehicles):
        power = (data.previous_kw or {}).get(car.vehicle_id)
        if power is not None:
            previous[index] = power
    return previous


def _previous_rows(rows: _Rows, layout: Layout, previous: FloatArray, tracked: IntArray) -> None:
    """``charge - discharge - above + below = previous`` for each tracked (car, step).

    ``tracked`` numbers (car, step) pairs row by row (``car * steps + step``).
    """
    pairs = np.arange(tracked.size, dtype=np.int64)
    rows.add_sparse(
        np.tile(pairs, 4),
        np.concatenate(
            [
                layout.charge().ravel()[tracked],
                layout.discharge().ravel()[tracked],
                layout.above_previous(),
                layout.below_previous(),
            ]
        ),
        np.repeat([1.0, -1.0, -1.0, 1.0], tracked.size),
        previous,
        previous,
    )


def _peak_rows(rows: _Rows, data: PlanInput, layout: Layout) -> None:
    """The peak epigraph: the peak column at least every billed interval's average import.

    One row per billed block: ``peak - sum(dt / length * import) >= so_far / length``
    (with one step per interval, ``peak >= import`` of each billed step).
    """
    blocks = data.billing_blocks()
    billed = np.flatnonzero(blocks.billed)
    row_of_block = np.full(blocks.billed.size, -1, dtype=np.int64)
    row_of_block[billed] = np.arange(billed.size, dtype=np.int64)
    steps = np.flatnonzero(blocks.billed[blocks.of_step])
    block = blocks.of_step[steps]
    rows.add_sparse(
        np.concatenate([np.arange(billed.size, dtype=np.int64), row_of_block[block]]),
        np.concatenate([np.full(billed.size, layout.peak), layout.grid_import()[steps]]),
        np.concatenate([np.ones(billed.size), -data.step_h / blocks.length_h[block]]),
        blocks.so_far_kwh[billed] / blocks.length_h[billed],
        np.full(billed.size, _INF),
    )


def _minimum(layout: Layout, spec: _VehicleArrays) -> FloatArray:
    """Each column's least non-zero value: the chargers' minimum power, 0 elsewhere."""
    minimum = np.zeros(layout.columns)
    minimum[layout.charge()] = spec.min_charge[:, None]
    minimum[layout.discharge()] = spec.min_discharge[:, None]
    return minimum


@dataclass(frozen=True, slots=True)
class _VehicleArrays:
    capacity: FloatArray
    initial: FloatArray
    reserve: FloatArray
    target: FloatArray
    max_charge: FloatArray
    max_discharge: FloatArray
    min_charge: FloatArray
    min_discharge: FloatArray
    efficiency: FloatArray
    wear: FloatArray
    arrival: IntArray
    departure: IntArray
    due: FloatArray
    """The energy each car must have at its (clipped) departure: its target, or for a
    car leaving after the horizon what it could not charge in part of the time between
    the horizon's end and its departure (:data:`AFTER_HORIZON_SHARE`)."""
    beyond: NDArray[np.bool_]
    """Cars that leave after the horizon's end, and the stationary batteries."""
    kept_up_to: FloatArray
    """How much of what each car holds at the horizon's end is valued: a late car's
    target, a stationary battery's capacity."""

    def kept_value(self, price: FloatArray) -> FloatArray:
        """What a kWh kept at the horizon's end is worth, per car.

        What putting it back would cost at the horizon's cheapest price (0 for a car
        leaving within the horizon).
        """
        cheapest = float(price.min()) if price.size else 0.0
        return np.where(self.beyond, cheapest / self.efficiency, 0.0)

    @classmethod
    def of(cls, data: PlanInput) -> _VehicleArrays:
        cars = data.vehicles

        def column(values: list[float]) -> FloatArray:
            return np.asarray(values, dtype=np.float64)

        capacity = column([car.capacity_kwh for car in cars])
        stationary = np.asarray([car.stationary for car in cars], dtype=bool)
        # A stationary battery is there from now on and stays after the horizon.
        arrival = np.asarray(
            [0 if car.stationary else car.arrival_step for car in cars], dtype=np.int64
        )
        departure = np.asarray(
            [data.steps + 1 if car.stationary else car.departure_step for car in cars],
            dtype=np.int64,
        )
        reserve = column([car.reserve_kwh for car in cars])
        target = np.where(stationary, reserve, column([car.target_kwh for car in cars]))
        max_charge = column([car.usable_charge_kw for car in cars])
        efficiency = column([car.one_way_efficiency for car in cars])
        beyond = departure > data.steps
        after_h = np.maximum(departure - data.steps, 0) * data.step_h
        later = AFTER_HORIZON_SHARE * efficiency * max_charge * after_h
        # Nothing is due of a stationary battery: its reserve is a bound on its energy.
        due = np.where(beyond, np.maximum(target - later, 0.0), target)
        return cls(
            capacity=capacity,
            initial=np.minimum(column([car.energy_kwh for car in cars]), capacity),
            reserve=reserve,
            target=target,
            max_charge=max_charge,
            max_discharge=column([car.usable_discharge_kw for car in cars]),
            min_charge=column([car.min_charge_kw for car in cars]),
            min_discharge=column([car.min_discharge_kw for car in cars]),
            efficiency=efficiency,
            wear=column([car.wear_cost_per_kwh for car in cars]),
            arrival=arrival,
            departure=np.clip(departure, arrival, data.steps),
            due=np.where(stationary, 0.0, due),
            beyond=beyond,
            kept_up_to=np.where(stationary, capacity, target),
        )


def _energy_bounds(spec: _VehicleArrays, steps: int, dt: float) -> tuple[FloatArray, FloatArray]:
    """Bounds on stored energy, shape (vehicles, steps + 1).

    Until its arrival a car keeps its initial energy. While plugged in it stays
    between its reserve and its capacity; a car that arrives below its reserve
    must charge at full power until it is back at the reserve (the floor rises
    as fast as the charger can lift it), so it is never discharged below it.
    """
    t = np.arange(steps + 1)[None, :]
    since_arrival = np.maximum(t - spec.arrival[:, None], 0)
    reachable = spec.initial[:, None] + (
        spec.efficiency[:, None] * spec.max_charge[:, None] * dt * since_arrival
    )
    floor = np.minimum(spec.reserve[:, None], reachable)
    floor = np.where(t > spec.departure[:, None], 0.0, floor)  # gone: the energy just stays
    before = t <= spec.arrival[:, None]
    lower = np.where(before, spec.initial[:, None], floor)
    upper = np.where(before, spec.initial[:, None], spec.capacity[:, None])
    return lower, upper


def solve(data: PlanInput, *, exact: bool = True) -> Plan:
    """Build and solve the plan of ``data``; blocking (run it in an executor).

    ``exact=False`` returns the linear relaxation as it is, cars charging one another
    allowed in any step (to measure what forbidding it costs).

    The grid is reported as the net exchange (import minus export): the LP's import
    and export columns may both be positive in a tie, which no meter would see. The
    peak, the energy cost and the import above the limit all follow from that net
    series, the peak and cost through :func:`.baseline.outcome` so that the plan and
    the comparison with plug-and-charge cannot disagree.
    """
    started = time.perf_counter()
    relaxed = build(data)
    solver = _Solver(relaxed)
    first = solver.run(data.time_limit_s)
    if first is None:
        raise PlannerError(f"HiGHS found no plan: {solver.status_text}")
    found = _Discrete.none()
    if exact:
        first, found = _keep_rules(relaxed, data, solver, first, started + data.time_limit_s)
    solution, status, objective = first
    solution = solution[: relaxed.layout.columns]
    layout = relaxed.layout
    charge = solution[layout.charge()]
    discharge = solution[layout.discharge()]
    energy = solution[layout.energy()]
    shortfall = solution[layout.shortfall()]
    grid_kw = solution[layout.grid_import()] - solution[layout.grid_export()]
    planned = outcome(data, grid_kw)
    limit = math.inf if data.import_limit_kw is None else data.import_limit_kw
    import_excess: FloatArray = np.maximum(grid_kw - limit, 0.0)
    vehicles = tuple(
        VehiclePlan(
            vehicle_id=car.vehicle_id,
            power_kw=charge[index] - discharge[index],
            energy_kwh=energy[index],
            departure_step=int(relaxed.departure[index]),
            target_kwh=car.reserve_kwh if car.stationary else car.target_kwh,
            shortfall_kwh=0.0 if car.stationary else max(0.0, float(shortfall[index])),
            beyond_horizon=car.stationary or car.departure_step > data.steps,
            stationary=car.stationary,
        )
        for index, car in enumerate(data.vehicles)
    )
    power = _power_columns(layout)
    below = solution[power][_below_minimum(relaxed, solution, power)]
    return Plan(
        status=status,
        step_h=data.step_h,
        load_kw=data.load_kw.astype(np.float64),
        grid_kw=grid_kw,
        price=data.price.astype(np.float64),
        vehicles=vehicles,
        peak_kw=planned.peak_kw,
        import_excess_kw=import_excess,
        energy_cost=planned.energy_cost,
        objective=objective,
        solve_time_s=time.perf_counter() - started,
        simultaneous_kw=float(np.minimum(charge, discharge).max(initial=0.0)),
        transfer_kw=float(np.minimum(charge.sum(axis=0), discharge.sum(axis=0)).max(initial=0.0)),
        below_minimum_kw=float(below.max(initial=0.0)),
        binary_steps=int(found.steps.size),
    )


def _power_columns(layout: Layout) -> IntArray:
    """Every charge and discharge column."""
    return np.concatenate([layout.charge().ravel(), layout.discharge().ravel()])


def _below_minimum(
    program: LinearProgram, solution: FloatArray, columns: IntArray
) -> NDArray[np.bool_]:
    """Which power ``columns`` run, but below their charger's minimum."""
    value, minimum = solution[columns], program.minimum[columns]
    return (value > RULE_TOLERANCE_KW) & (value < minimum - RULE_TOLERANCE_KW)


@dataclass(frozen=True, slots=True)
class _Discrete:
    """Steps where the plan must keep the no-transfer rule exactly.

    Found where the relaxation broke it: a binary each, every car charges or every car
    discharges in that step.
    """

    steps: IntArray

    @classmethod
    def none(cls) -> _Discrete:
        """No step yet."""
        return cls(np.empty(0, dtype=np.int64))

    def with_broken(
        self, program: LinearProgram, solution: FloatArray, *, allow_transfer: bool
    ) -> _Discrete:
        """These steps and those where ``solution`` moves energy from car to car.

        ``self`` when it moves none in a step that has no binary yet.
        """
        layout = program.layout
        if allow_transfer or not layout.vehicles:
            return self
        on = solution > RULE_TOLERANCE_KW
        both = on[layout.charge()].any(axis=0) & on[layout.discharge()].any(axis=0)
        steps = np.union1d(self.steps, np.flatnonzero(both).astype(np.int64))
        return self if steps.size == self.steps.size else _Discrete(steps)

    def program(self, relaxed: LinearProgram) -> LinearProgram:
        """``relaxed`` with a binary b for each of these steps.

        The charge of every car present then <= its limit * b, and its discharge <= its
        limit * (1 - b).
        """
        if not self.steps.size:
            return relaxed
        layout = relaxed.layout
        base = layout.columns
        count = self.steps.size
        car = np.repeat(np.arange(layout.vehicles, dtype=np.int64), count)
        step = np.tile(self.steps, layout.vehicles)
        binary = base + np.tile(np.arange(count, dtype=np.int64), layout.vehicles)
        present = relaxed.window[car, step]
        car, step, binary = car[present], step[present], binary[present]
        charge, discharge = layout.charge()[car, step], layout.discharge()[car, step]
        # A column's upper bound is its limit (0 where rounding turned it off).
        charge_limit, discharge_limit = relaxed.col_upper[charge], relaxed.col_upper[discharge]
        pairs = car.size
        row_columns = np.concatenate(
            [
                np.stack([charge, binary], axis=1).ravel(),
                np.stack([discharge, binary], axis=1).ravel(),
            ]
        )
        row_values = np.concatenate(
            [
                np.stack([np.ones(pairs), -charge_limit], axis=1).ravel(),
                np.stack([np.ones(pairs), discharge_limit], axis=1).ravel(),
            ]
        )
        nonzeros = int(relaxed.starts[-1])
        new_starts = nonzeros + 2 * np.arange(1, 2 * pairs + 1, dtype=np.int64)
        integrality = np.zeros(base + count, dtype=np.uint8)
        integrality[base:] = int(highspy.HighsVarType.kInteger)
        return replace(
            relaxed,
            cost=np.concatenate([relaxed.cost, np.zeros(count)]),
            col_lower=np.concatenate([relaxed.col_lower, np.zeros(count)]),
            col_upper=np.concatenate([relaxed.col_upper, np.ones(count)]),
            row_lower=np.concatenate([relaxed.row_lower, np.full(2 * pairs, -_INF)]),
            row_upper=np.concatenate([relaxed.row_upper, np.zeros(pairs), discharge_limit]),
            starts=np.concatenate([relaxed.starts, new_starts]),
            indices=np.concatenate([relaxed.indices[:nonzeros], row_columns]),
            values=np.concatenate([relaxed.values[:nonzeros], row_values]),
            integrality=integrality,
        )


Result = tuple[FloatArray, str, float]
"""Column values, ``optimal`` or ``time_limit``, and the objective."""


def _keep_rules(
    relaxed: LinearProgram,
    data: PlanInput,
    solver: _Solver,
    result: Result,
    deadline: float,
) -> tuple[Result, _Discrete]:
    """The plan with no car charging another, and setpoints off or at least the minimum.

    Each round either gives a step where a car charged another its binary (a new model),
    or, once none does, fixes the setpoints below their charger's minimum on or off
    (:func:`_rounded`) and solves again from the last basis. Rounding is not exact: when
    a round finds no plan, costs a departure, import above the limit or an overlap
    (:func:`_worse`), or time or rounds run out, the last plan in which no car charges
    another is kept, and what is left below a minimum is reported
    (:attr:`Plan.below_minimum_kw`) and made runnable where it is sent.
    """
    found = _Discrete.none()
    lower, upper = relaxed.col_lower.copy(), relaxed.col_upper.copy()
    kept: Result | None = None
    for _ in range(RULE_ROUNDS):
        if result[1] != "optimal":
            break
        more = found.with_broken(relaxed, result[0], allow_transfer=data.allow_transfer)
        rounding = more is found
        if rounding:
            kept = result
            columns, low, high = _rounded(relaxed, result[0], upper)
            if not columns.size:
                break
            solver.change_bounds(columns, low, high)
        else:
            found = more
            solver = _Solver(found.program(replace(relaxed, col_lower=lower, col_upper=upper)))
        again = solver.run(max(deadline - time.perf_counter(), 0.0))
        if again is None or (rounding and _worse(relaxed, again[0], result[0])):
            break
        if rounding:
            lower[columns], upper[columns] = low, high
        result = again
    return (kept or result), found


def _worse(program: LinearProgram, solution: FloatArray, before: FloatArray) -> bool:
    """Whether rounding cost a departure, import above the limit, or made a car overlap.

    A charger's minimum must never cost a car its departure target.
    """
    layout = program.layout
    for columns in (layout.shortfall(), layout.import_excess()):
        if float(solution[columns].sum()) > float(before[columns].sum()) + 1e-6:
            return True
    # Nor may a car charge and discharge at once to burn energy a minimum forced out.
    overlap = np.minimum(solution[layout.charge()], solution[layout.discharge()])
    return bool(overlap.max(initial=0.0) > RULE_TOLERANCE_KW)


def _rounded(
    program: LinearProgram, solution: FloatArray, upper: FloatArray
) -> tuple[IntArray, FloatArray, FloatArray]:
    """The columns to fix for setpoints below their minimum, and their new bounds.

    Discharging first, since charging is often there only to pay a discharge back:
    per car, as many of its small discharges as carry their energy at the minimum
    (to the nearest) are turned on, the largest first, the car's charging off in those
    steps, and the rest off. Once no discharge is small, charging likewise, rounded
    up, so that the departure keeps its energy.
    """
    layout = program.layout
    on: list[IntArray] = []
    off: list[IntArray] = []
    for columns, others, charging in (
        (layout.discharge(), layout.charge(), False),
        (layout.charge(), layout.discharge(), True),
    ):
        if on or off:
            break
        value, minimum = solution[columns], program.minimum[columns]
        small = _below_minimum(program, solution, columns)
        for car in np.flatnonzero(small.any(axis=1)):
            chosen = np.flatnonzero(small[car])
            ratio = float(value[car, chosen].sum()) / float(minimum[car, 0])
            count = math.ceil(ratio - 1e-9) if charging else round(ratio)
            ranked = chosen[np.argsort(-value[car, chosen], kind="stable")]
            on.append(np.stack([columns[car, ranked[:count]], others[car, ranked[:count]]]))
            off.append(columns[car, ranked[count:]])
    if not on:
        empty = np.empty(0, dtype=np.int64)
        return empty, np.empty(0), np.empty(0)
    turned_on = np.concatenate([pair[0] for pair in on])
    other_off = np.concatenate([pair[1] for pair in on])
    turned_off = np.concatenate([other_off, *off])
    columns = np.concatenate([turned_on, turned_off])
    low = np.concatenate([program.minimum[turned_on], np.zeros(turned_off.size)])
    high = np.concatenate([upper[turned_on], np.zeros(turned_off.size)])
    return columns, low, high


class _Solver:
    """One HiGHS model, kept so that a bound change re-solves from the last basis."""

    def __init__(self, program: LinearProgram) -> None:
        lp = highspy.HighsLp()
        lp.num_col_ = int(program.cost.size)
        lp.num_row_ = int(program.row_lower.size)
        lp.col_cost_ = program.cost
        lp.col_lower_ = program.col_lower
        lp.col_upper_ = program.col_upper
        lp.row_lower_ = program.row_lower
        lp.row_upper_ = program.row_upper
        lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
        lp.a_matrix_.num_col_ = lp.num_col_
        lp.a_matrix_.num_row_ = lp.num_row_
        lp.a_matrix_.start_ = program.starts
        lp.a_matrix_.index_ = program.indices
        lp.a_matrix_.value_ = program.values
        if program.integrality is not None:
            lp.integrality_ = [highspy.HighsVarType(int(kind)) for kind in program.integrality]
        self._highs = highspy.Highs()  # type: ignore[no-untyped-call]
        self._highs.setOptionValue("output_flag", False)
        self._highs.setOptionValue("mip_rel_gap", MIP_REL_GAP)
        self._highs.passModel(lp)

    @property
    def status_text(self) -> str:
        """HiGHS's word for how the last run ended."""
        return str(self._highs.modelStatusToString(self._highs.getModelStatus()))

    def change_bounds(self, columns: IntArray, lower: FloatArray, upper: FloatArray) -> None:
        """New bounds for ``columns`` (the next run starts from the last basis)."""
        order = np.argsort(columns, kind="stable")  # HiGHS takes a set in ascending order
        status = self._highs.changeColsBounds(
            int(columns.size), columns[order], lower[order], upper[order]
        )
        if status != highspy.HighsStatus.kOk:
            raise PlannerError(f"HiGHS refused new bounds: {status}")

    def run(self, time_limit_s: float) -> Result | None:
        """Solve; None when HiGHS found no plan (infeasible, or out of time without one)."""
        highs = self._highs
        highs.setOptionValue("time_limit", float(time_limit_s))
        highs.run()
        model_status = highs.getModelStatus()
        has_solution = highs.getInfo().primal_solution_status == 2  # kSolutionStatusFeasible
        if model_status == highspy.HighsModelStatus.kOptimal:
            status = "optimal"
        elif model_status == highspy.HighsModelStatus.kTimeLimit and has_solution:
            status = "time_limit"
        else:
            return None
        solution = np.asarray(highs.getSolution().col_value, dtype=np.float64)
        return solution, status, float(highs.getInfo().objective_function_value)
